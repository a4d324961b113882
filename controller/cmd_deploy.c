#include "controller/cli.h"
#include "controller/rollout/deploy.h"
#include "controller/model/project.h"
#include "controller/plan/rules.h"
#include "controller/state/state.h"
#include "common/json.h"
#include "common/log.h"

#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(f,
		"usage: voxdeploy deploy [--to REV] [--type T] [--fetch [REMOTE]] [--dry-run]\n"
		"                        [--actor WHO] [--note TEXT] [--force] [--rules-only] [--json]\n"
		"\n"
		"Take the server from the deployed commit to the target: plan the type from the\n"
		"changed files, build the images while the running containers keep serving, put\n"
		"new containers in place of the old ones (kept aside, stopped), and prove the\n"
		"stack healthy.  When anything fails after the first container was touched, the\n"
		"previous containers, images and checkout are restored and proven healthy.\n"
		"\n"
		"  --to REV          the target (default: HEAD of the checkout, or with --fetch the\n"
		"                    fetched tip of the checked-out branch)\n"
		"  --type T          auto | full | app-only | no-restart (default auto: the plan's)\n"
		"  --fetch [REMOTE]  fetch REMOTE (default origin) first; --fetch=REMOTE works too\n"
		"  --dry-run         print the plan and every step that would be taken; change nothing\n"
		"  --actor WHO       who asked (the CI passes the GitHub actor), in the journal\n"
		"  --note TEXT       why (the CI passes the run's URL), in the journal\n"
		"  --force           discard local edits of tracked files in the checkout\n"
		"  --rules-only      plan by the file patterns alone (see voxdeploy plan --help)\n"
		"  --json            one JSON object per step on stdout, then the result\n"
		"\n"
		"Progress goes to stderr, one line per step with the time since the start.  Every\n"
		"step is written to $STATE_DIR/journal.jsonl before it is taken.\n"
		"\n"
		"exit: 0 deployed (or nothing to do) · 1 failed, the previous version restored and\n"
		"healthy · 2 bad input, nothing changed · 3 failed and the restore failed too ·\n"
		"75 another deploy holds the lock\n");
}


static bool shown_at_begin(const char *step)
{
	static const char *const steps[] = { "fetch", "build", "stop", "health", "depends_on", "rollback" };
	size_t i;

	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		if (!strcmp(step, steps[i]))
			return true;
	return false;
}

static void on_event(void *ctx, const vd_deploy_event *ev)
{
	vd_cli *cli = ctx;

	if (cli->json) {
		yajl_gen g = vd_jgen_new();
		vd_buf out = VD_BUF_INIT;

		if (!g)
			return;
		yajl_gen_map_open(g);
		vd_jgen_kstr(g, "deploy_id", ev->deploy_id);
		vd_jgen_kstr(g, "step", ev->step);
		vd_jgen_kstr(g, "state", ev->state);
		if (ev->service)
			vd_jgen_kstr(g, "service", ev->service);
		if (ev->detail)
			vd_jgen_kstr(g, "detail", ev->detail);
		vd_jgen_kint(g, "elapsed_ms", (long long)ev->elapsed_ms);
		if (ev->step_ms)
			vd_jgen_kint(g, "step_ms", (long long)ev->step_ms);
		yajl_gen_map_close(g);
		if (!vd_jgen_finish(g, &out)) {
			vd_buf_putc(&out, '\n');
			vd_print_text(cli->out, vd_buf_cstr(&out));
			fflush(cli->out);
		}
		vd_buf_release(&out);
		return;
	}
	if (cli->verbosity < 0)
		return;
	if (!strcmp(ev->state, "begin") && !shown_at_begin(ev->step) && cli->verbosity < 1)
		return;
	{
		char dur[32] = "";

		if (ev->step_ms)
			snprintf(dur, sizeof(dur), " (%.2fs)", ev->step_ms / 1000.0);
		vd_print(cli->err, "[%7.2fs] %-10s %-7s %s%s%s%s\n", ev->elapsed_ms / 1000.0, ev->step,
			 ev->state, ev->service ? ev->service : "",
			 ev->service && ev->detail ? ": " : "", ev->detail ? ev->detail : "", dur);
	}
}

static const char *outcome_name(vd_deploy_outcome o)
{
	return o == VD_DEPLOY_DONE ? "done" : o == VD_DEPLOY_FAILED ? "failed" : "restore_failed";
}

void vd_deploy_progress_for(vd_cli *cli, vd_deploy_progress_fn *fn, void **ctx)
{
	*fn = on_event;
	*ctx = cli;
}

void vd_deploy_print_result(vd_cli *cli, bool dry_run, const vd_deploy_result *res)
{
	if (cli->json) {
		yajl_gen g = vd_jgen_new();
		vd_buf out = VD_BUF_INIT;

		if (!g)
			return;
		yajl_gen_map_open(g);
		vd_jgen_kstr(g, "deploy_id", res->deploy_id);
		vd_jgen_kstr(g, "result", outcome_name(res->outcome));
		vd_jgen_kbool(g, "dry_run", dry_run);
		vd_jgen_kstr(g, "type", vd_tier_name(res->plan.type));
		vd_jgen_kstr(g, "from", res->plan.from[0] ? res->plan.from : NULL);
		vd_jgen_kstr(g, "to", res->plan.to[0] ? res->plan.to : NULL);
		vd_jgen_kstr(g, "reason", res->plan.reason);
		if (res->failure)
			vd_jgen_kstr(g, "failure", res->failure);
		yajl_gen_map_close(g);
		if (!vd_jgen_finish(g, &out)) {
			vd_buf_putc(&out, '\n');
			vd_print_text(cli->out, vd_buf_cstr(&out));
		}
		vd_buf_release(&out);
		return;
	}
	if (res->outcome == VD_DEPLOY_DONE)
		vd_print(cli->out, "%s %s %s %.12s -> %.12s\n", dry_run ? "would deploy" : "deployed",
			 res->deploy_id, vd_tier_name(res->plan.type),
			 res->plan.from[0] ? res->plan.from : "(nothing)", res->plan.to);
	else if (res->outcome == VD_DEPLOY_FAILED)
		vd_print(cli->out, "deploy %s FAILED: %s\nthe previous version runs and is healthy\n",
			 res->deploy_id, res->failure ? res->failure : "");
	else
		vd_print(cli->out, "deploy %s FAILED and the restore FAILED too: %s\nthe server needs a "
			 "person: see `voxdeploy status` and `voxdeploy history`\n",
			 res->deploy_id, res->failure ? res->failure : "");
}

int vd_deploy_exit_code(vd_cli *cli, vd_error *err)
{
	/* an interrupted deploy that could not be undone */
	if (err->code == VD_EUNHEALTHY) {
		vd_print(cli->err, "voxdeploy: %s\n", vd_error_msg(err));
		return VD_EXIT_RESTORE_FAILED;
	}
	/* nothing was changed: bad input, a broken target, leftovers */
	if (err->code == VD_ENOTFOUND || err->code == VD_ECONFLICT) {
		vd_print(cli->err, "voxdeploy: %s\n", vd_error_msg(err));
		return VD_EXIT_USAGE;
	}
	return vd_cli_fail(cli, err);
}

/* --fetch takes an optional REMOTE: --fetch=REMOTE, or the next word when
 * it is not an option. */
static int parse(vd_cli *cli, vd_deploy_options *o, const char **type, vd_error *err)
{
	int a;

	for (a = 1; a < cli->argc; a++) {
		const char *arg = cli->argv[a];
		const char **value = NULL;

		if (!strcmp(arg, "--to"))
			value = &o->to;
		else if (!strcmp(arg, "--type"))
			value = type;
		else if (!strcmp(arg, "--actor"))
			value = &o->actor;
		else if (!strcmp(arg, "--note"))
			value = &o->note;
		else if (!strcmp(arg, "--fetch") || !strncmp(arg, "--fetch=", 8)) {
			o->fetch = true;
			if (arg[7] == '=')
				o->remote = arg + 8;
			else if (a + 1 < cli->argc && cli->argv[a + 1][0] != '-')
				o->remote = cli->argv[++a];
			if (o->remote && !o->remote[0])
				return vd_error_set(err, VD_EINVAL, "deploy: --fetch= needs a remote name");
			continue;
		} else if (!strcmp(arg, "--dry-run")) {
			o->dry_run = true;
			continue;
		} else if (!strcmp(arg, "--force")) {
			o->force_checkout = true;
			continue;
		} else if (!strcmp(arg, "--rules-only")) {
			o->rules_only = true;
			continue;
		} else {
			return vd_error_set(err, VD_EINVAL,
					    "deploy: unknown argument '%s' (see voxdeploy deploy --help)", arg);
		}
		if (a + 1 >= cli->argc)
			return vd_error_set(err, VD_EINVAL, "deploy: %s needs a value", arg);
		*value = cli->argv[++a];
		if (value != &o->note && !**value)
			return vd_error_set(err, VD_EINVAL, "deploy: %s needs a value", arg);
	}
	return 0;
}

int vd_cmd_deploy(vd_cli *cli)
{
	vd_error err = VD_ERROR_INIT;
	vd_project proj = { NULL, NULL, 0, NULL };
	vd_deploy_options o;
	vd_deploy_result res;
	vd_docker *docker = NULL;
	char *state_dir = NULL;
	const char *type = NULL;
	bool is_auto = true;
	int rc;

	memset(&o, 0, sizeof(o));
	memset(&res, 0, sizeof(res));
	if (vd_cli_wants_help(cli)) {
		usage(cli->out);
		return VD_EXIT_OK;
	}
	if (parse(cli, &o, &type, &err) ||
	    (type && vd_tier_parse_type(type, &is_auto, &o.forced_type, &err)))
		goto fail;
	o.forced = !is_auto;
	if (vd_cli_open_project(cli, &proj, &state_dir, &docker, &err))
		goto fail;
	o.project = &proj;
	o.state_dir = state_dir;
	vd_deploy_progress_for(cli, &o.progress, &o.progress_ctx);
	if (vd_deploy_run(docker, &o, &res, &err))
		goto fail;
	vd_deploy_print_result(cli, o.dry_run, &res);
	rc = (int)res.outcome;
	goto done;
fail:
	rc = vd_deploy_exit_code(cli, &err);
done:
	vd_deploy_result_release(&res);
	vd_docker_free(docker);
	vd_project_release(&proj);
	free(state_dir);
	vd_error_release(&err);
	return rc;
}
