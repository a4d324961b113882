/* What deploy and rollback share at the command line: the run, and how it
 * is shown — one line per step on stderr (steps that take long are shown as
 * they begin, the rest as they end; -v shows every begin, -q none), or with
 * --json one object per step on stdout; then the result. */
#include "controller/cli.h"
#include "common/clock.h"
#include "common/json.h"
#include "common/log.h"
#include "controller/model/project.h"
#include "controller/plan/plan.h"

#include <stdlib.h>
#include <string.h>

static bool shown_at_begin(const char *step)
{
	static const char *const steps[] = { "lock", "fetch", "build", "stop", "health", "depends_on", "rollback" };
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
		vd_cli_print_json(cli, g);
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

static void print_result(vd_cli *cli, bool dry_run, const vd_deploy_result *res)
{
	if (cli->json) {
		yajl_gen g = vd_jgen_new();

		if (!g)
			return;
		yajl_gen_map_open(g);
		vd_jgen_kstr(g, "deploy_id", res->deploy_id);
		vd_jgen_kstr(g, "result", vd_deploy_outcome_name(res->outcome));
		vd_jgen_kbool(g, "dry_run", dry_run);
		vd_jgen_kstr(g, "type", vd_tier_name(res->plan.type));
		vd_jgen_kstr(g, "from", res->plan.from[0] ? res->plan.from : NULL);
		vd_jgen_kstr(g, "to", res->plan.to[0] ? res->plan.to : NULL);
		vd_jgen_kstr(g, "reason", res->plan.reason);
		vd_plan_gen_files(&res->plan, g);
		if (res->failure)
			vd_jgen_kstr(g, "failure", res->failure);
		yajl_gen_map_close(g);
		vd_cli_print_json(cli, g);
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

int vd_cli_lock_wait(vd_cli *cli, const char *text, vd_deploy_options *o, vd_error *err)
{
	if (!text)
		return 0;
	if (vd_duration_parse(text, &o->lock_wait_ms))
		return vd_error_set(err, VD_EINVAL,
				    "%s: --lock-wait: '%s' is no duration (say how long to wait: 90s, 10m, 1h)",
				    cli->command, text);
	return 0;
}

int vd_cli_deploy(vd_cli *cli, vd_deploy_options *o, bool rollback)
{
	vd_error err = VD_ERROR_INIT;
	vd_project proj = { NULL, NULL, 0, NULL };
	vd_deploy_result res;
	vd_docker *docker = NULL;
	char *state_dir = NULL;
	int rc;

	memset(&res, 0, sizeof(res));
	if (vd_cli_open_project(cli, &proj, &state_dir, &docker, &err))
		goto fail;
	o->project = &proj;
	o->state_dir = state_dir;
	o->progress = on_event;
	o->progress_ctx = cli;
	if (rollback ? vd_deploy_rollback(docker, o, &res, &err) : vd_deploy_run(docker, o, &res, &err))
		goto fail;
	print_result(cli, o->dry_run, &res);
	rc = (int)res.outcome;
	goto done;
fail:
	rc = vd_cli_fail(cli, &err);
done:
	vd_deploy_result_release(&res);
	vd_docker_free(docker);
	vd_project_release(&proj);
	free(state_dir);
	vd_error_release(&err);
	return rc;
}
