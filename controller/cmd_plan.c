#include "controller/cli.h"
#include "controller/config/config.h"
#include "controller/plan/gitsync.h"
#include "controller/plan/plan.h"
#include "controller/model/interpolate.h"
#include "controller/model/project.h"
#include "controller/plan/reach.h"
#include "controller/plan/rules.h"
#include "controller/state/state.h"
#include "common/log.h"

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

int vd_cmd_plan(vd_cli *cli)
{
	vd_error err = VD_ERROR_INIT;
	vd_project proj = { NULL, NULL, 0, NULL };
	vd_plan_options opts = { NULL, NULL, NULL, false, VD_TIER_APP_ONLY, NULL };
	vd_plan plan;
	vd_rules *rules = NULL;
	vd_docker *docker = NULL;
	vd_git *git = NULL;
	vd_config *config = NULL;
	char *deployed = NULL, *state_dir = NULL, *envpath = NULL;
	char to[VD_SHA_HEX];
	const char *type = NULL;
	bool is_auto = true, rules_only = false;
	vd_reach *reach = NULL;
	vd_kvs dotenv = { NULL, 0 };
	int a, rc = VD_EXIT_OK;

	memset(&plan, 0, sizeof(plan));
	if (vd_cli_wants_help(cli)) {
		usage(cli->out);
		return VD_EXIT_OK;
	}
	for (a = 1; a < cli->argc; a++) {
		const char *arg = cli->argv[a];
		const char **value = NULL;

		if (!strcmp(arg, "--from"))
			value = &opts.from;
		else if (!strcmp(arg, "--to"))
			value = &opts.to;
		else if (!strcmp(arg, "--type"))
			value = &type;
		else if (!strcmp(arg, "--rules-only")) {
			rules_only = true;
			continue;
		}
		else {
			vd_error_set(&err, VD_EINVAL, "plan: unknown argument '%s' (see voxdeploy plan --help)",
				     arg);
			goto fail;
		}
		if (a + 1 >= cli->argc) {
			vd_error_set(&err, VD_EINVAL, "plan: %s needs a value", arg);
			goto fail;
		}
		*value = cli->argv[++a];
	}
	if (type && vd_tier_parse_type(type, &is_auto, &opts.forced_type, &err))
		goto fail;
	opts.forced = !is_auto;
	if (vd_project_resolve(cli->dir, cli->compose_files, cli->n_compose_files, cli->project,
			       &proj, &err) ||
	    vd_git_open(proj.dir, &git, &err))
		goto fail;
	/* voxdeploy.yml as it is at the target commit (the deploy reads the
	 * same), interpolated with the shell's environment over the
	 * project's .env */
	if (vd_git_resolve(git, opts.to ? opts.to : "HEAD", to, &err))
		goto fail;
	if (asprintf(&envpath, "%s/.env", proj.dir) < 0) {
		envpath = NULL;
		vd_error_set(&err, VD_ENOMEM, "out of memory");
		goto fail;
	}
	if (vd_dotenv_load(envpath, false, vd_env_lookup_process_then, NULL, &dotenv, &err) ||
	    vd_config_load_commit(git, to, &proj, vd_env_lookup_process_then, &dotenv, &config, &err) ||
	    vd_config_rules(config, &rules, &err))
		goto fail;
	if (!config->image_aware)
		rules_only = true;
	opts.rules = rules;
	if (!opts.from) {
		state_dir = vd_state_dir(cli->state_dir);
		if (!state_dir) {
			vd_error_set(&err, VD_ENOMEM, "out of memory");
			goto fail;
		}
		/* the state file first; the engine only when it says nothing */
		if (vd_plan_deployed_commit(state_dir, NULL, proj.name, &deployed, &opts.from_source, &err))
			goto fail;
		if (!deployed) {
			if (vd_cli_docker(cli, &docker, &err) ||
			    vd_plan_deployed_commit(state_dir, docker, proj.name, &deployed,
						    &opts.from_source, &err)) {
				vd_error_prefix(&err, "cannot tell the deployed commit (give --from)");
				goto fail;
			}
		}
		opts.from = deployed;
	}
	if (!rules_only) {
		/* image-aware mode reads the target commit's compose files and
		 * Dockerfiles */
		if (vd_reach_new(git, to, &proj, vd_env_lookup_process_then, &dotenv, config->app_service,
				 &reach, &err))
			goto fail;
		opts.reach = reach;
	}
	if (vd_plan_make(git, &opts, &plan, &err))
		goto fail;
	if (cli->json) {
		vd_buf out = VD_BUF_INIT;

		if (vd_plan_json(&plan, &out)) {
			vd_error_set(&err, VD_ENOMEM, "out of memory");
			vd_buf_release(&out);
			goto fail;
		}
		vd_buf_putc(&out, '\n');
		vd_print_text(cli->out, vd_buf_cstr(&out));
		vd_buf_release(&out);
	} else {
		print_human(cli, &plan);
	}
	goto done;
fail:
	rc = vd_cli_fail(cli, &err);
done:
	vd_plan_release(&plan);
	vd_reach_free(reach);
	vd_kvs_release(&dotenv);
	vd_rules_free(rules);
	vd_config_free(config);
	free(envpath);
	vd_docker_free(docker);
	vd_git_free(git);
	vd_project_release(&proj);
	free(deployed);
	free(state_dir);
	vd_error_release(&err);
	return rc;
}
