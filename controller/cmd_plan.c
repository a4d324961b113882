#include "controller/cli.h"
#include "common/log.h"
#include "controller/model/project.h"
#include "controller/rollout/decide.h"
#include "controller/state/state.h"

#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(f,
		"usage: voxdeploy plan [--from REV] [--to REV] [--type T] [--rules-only] [--json]\n"
		"\n"
		"Decide the deployment type from the files changed between the deployed commit\n"
		"and the target commit; print the decision, the reason and every file with the\n"
		"rule that decided it.  Changes nothing.\n"
		"\n"
		"  --from REV     compare from this revision (default: the deployed commit from the\n"
		"                 state directory, else the io.voxdeploy.commit label of the\n"
		"                 project's containers; none: a first deploy, FULL_RESTART)\n"
		"  --to REV       the target (default: HEAD of the checkout)\n"
		"  --type T       auto | full | app-only | no-restart: a manual type overrides\n"
		"  --rules-only   decide by the file patterns alone (default: image-aware when\n"
		"                 the compose file builds services: a file COPY'd into an image or\n"
		"                 under a bind mount needs that service restarted; a file that\n"
		"                 reaches no image, mount or compose file needs no restart)\n"
		"\n"
		"types: NO_RESTART (docs only: nothing restarts), APP_ONLY (rebuild and recreate\n"
		"the app service), FULL_RESTART (rebuild and recreate every service).  The\n"
		"highest tier among the files wins.\n"
		"\n"
		"The patterns, the tier of unmatched files, image_aware and app_service come\n"
		"from voxdeploy.yml (or voxdeploy.yaml) as it is at the TARGET commit, read\n"
		"from git; see voxdeploy config.\n");
}

static void print_human(vd_cli *cli, const vd_plan *plan)
{
	int tier, width = 4;
	size_t i;

	for (i = 0; i < plan->n_files; i++)
		if ((int)strlen(plan->files[i].path) > width)
			width = (int)strlen(plan->files[i].path) > 60 ? 60 : (int)strlen(plan->files[i].path);
	vd_print(cli->out, "%s%s\n", vd_tier_name(plan->type), plan->forced ? " (forced)" : "");
	vd_print(cli->out, "  from   %s\n  to     %s\n  reason %s\n",
		 plan->from[0] ? plan->from : "(nothing deployed)", plan->to, plan->reason);
	for (tier = VD_TIER_FULL_RESTART; tier >= VD_TIER_NO_RESTART; tier--) {
		size_t n = 0;

		for (i = 0; i < plan->n_files; i++)
			n += plan->files[i].tier == (vd_tier)tier;
		if (!n)
			continue;
		vd_print(cli->out, "\n%s (%zu file%s)\n", vd_tier_name((vd_tier)tier), n, n == 1 ? "" : "s");
		for (i = 0; i < plan->n_files; i++) {
			const vd_plan_file *f = &plan->files[i];

			if (f->tier != (vd_tier)tier)
				continue;
			if (f->old_path)
				vd_print(cli->out, "  %-10s %s <- %s  [%s]\n", f->status, f->path, f->old_path,
					 f->rule);
			else
				vd_print(cli->out, "  %-10s %-*s  [%s]\n", f->status, width, f->path, f->rule);
		}
	}
}

/* The engine, connected only when the state file does not tell the
 * deployed commit. */
struct engine {
	vd_cli *cli;
	vd_docker *docker;
};

static int engine_of(void *ctx, vd_docker **out, vd_error *err)
{
	struct engine *e = ctx;

	if (!e->docker && vd_cli_docker(e->cli, &e->docker, err))
		return err->code;
	*out = e->docker;
	return 0;
}

int vd_cmd_plan(vd_cli *cli)
{
	vd_error err = VD_ERROR_INIT;
	vd_project proj = { NULL, NULL, 0, NULL };
	vd_decide_options opts;
	vd_decision dec;
	vd_git *git = NULL;
	struct engine engine = { cli, NULL };
	char *state_dir = NULL;
	const char *type = NULL;
	bool is_auto = true;
	int rc = VD_EXIT_OK;

	memset(&opts, 0, sizeof(opts));
	memset(&dec, 0, sizeof(dec));
	if (vd_cli_wants_help(cli)) {
		usage(cli->out);
		return VD_EXIT_OK;
	}
	{
		const vd_cli_opt opt[] = {
			{ "--from", NULL, &opts.from, NULL, false, false },
			{ "--to", NULL, &opts.to, NULL, false, false },
			{ "--type", NULL, &type, NULL, false, false },
			{ "--rules-only", NULL, NULL, &opts.rules_only, false, false },
			{ NULL, NULL, NULL, NULL, false, false },
		};

		if (vd_cli_args(cli, opt, &err))
			goto fail;
	}
	if (type && vd_tier_parse_type(type, &is_auto, &opts.forced_type, &err))
		goto fail;
	opts.forced = !is_auto;
	if (!(state_dir = vd_state_dir(cli->state_dir))) {
		vd_error_set(&err, VD_ENOMEM, "out of memory");
		goto fail;
	}
	if (vd_project_resolve(cli->dir, cli->compose_files, cli->n_compose_files, cli->project,
			       &proj, &err) ||
	    vd_git_open(proj.dir, &git, &err))
		goto fail;
	opts.project = &proj;
	opts.state_dir = state_dir;
	opts.engine = engine_of;
	opts.engine_ctx = &engine;
	/* the same decision a deploy to the same target makes */
	if (vd_decide(git, &opts, &dec, &err))
		goto fail;
	if (cli->json) {
		vd_buf out = VD_BUF_INIT;

		if (vd_plan_json(&dec.plan, &out)) {
			vd_error_set(&err, VD_ENOMEM, "out of memory");
			vd_buf_release(&out);
			goto fail;
		}
		vd_buf_putc(&out, '\n');
		vd_print_text(cli->out, vd_buf_cstr(&out));
		vd_buf_release(&out);
	} else {
		print_human(cli, &dec.plan);
	}
	goto done;
fail:
	rc = vd_cli_fail(cli, &err);
done:
	vd_decision_release(&dec);
	vd_docker_free(engine.docker);
	vd_git_free(git);
	vd_project_release(&proj);
	free(state_dir);
	vd_error_release(&err);
	return rc;
}
