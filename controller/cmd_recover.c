#include "controller/cli.h"
#include "controller/config/config.h"
#include "controller/model/project.h"
#include "controller/rollout/recover.h"
#include "controller/state/state.h"
#include "common/json.h"
#include "common/log.h"

#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(f,
		"usage: voxdeploy recover [--json]\n"
		"\n"
		"Finish or undo a deploy that was interrupted (a crash, kill -9, the engine\n"
		"restarting).  The journal tells which deploy did not finish; the engine tells\n"
		"where it stood.  When the new containers are all in place, running and proven\n"
		"healthy, the deploy is completed; otherwise the new containers are removed, the\n"
		"old ones (kept aside as <name>-voxdeploy-old) renamed back, their images tagged\n"
		"back, started and proven healthy, and the checkout returns to the deployed\n"
		"commit.  On a swarm an interrupted deploy's services go back to their previous\n"
		"spec, and services a killed `voxdeploy restore` left at 0 replicas (their spec\n"
		"labelled io.voxdeploy.restore) go back to theirs.  Volumes are never removed.\n"
		"Running it again finds nothing to do; `voxdeploy deploy` runs it first by itself.\n"
		"\n"
		"exit: 0 nothing to do, completed or restored (the server is healthy) ·\n"
		"3 the restore failed (needs a person) · 75 a deploy holds the lock\n");
}

int vd_cmd_recover(vd_cli *cli)
{
	vd_error err = VD_ERROR_INIT;
	vd_project proj = { NULL, NULL, 0, NULL };
	vd_recover_options o;
	vd_recover_result res;
	vd_docker *docker = NULL;
	char *state_dir = NULL;
	int rc = VD_EXIT_OK;

	memset(&o, 0, sizeof(o));
	if (vd_cli_wants_help(cli)) {
		usage(cli->out);
		return VD_EXIT_OK;
	}
	if (vd_cli_args(cli, NULL, &err))
		goto fail;
	if (vd_cli_open_project(cli, &proj, &state_dir, &docker, &err))
		goto fail;
	o.project = &proj;
	o.state_dir = state_dir;
	o.fast_check_ms = VD_CONFIG_DEFAULT_FAST_CHECK_MS;
	if (vd_recover_run(docker, &o, &res, &err))
		goto fail;
	if (cli->json) {
		yajl_gen g = vd_jgen_new();

		if (g) {
			yajl_gen_map_open(g);
			vd_jgen_kstr(g, "result", vd_recover_outcome_name(res.outcome));
			vd_jgen_kstr(g, "deploy_id", res.deploy_id[0] ? res.deploy_id : NULL);
			vd_jgen_kstr(g, "detail", res.detail);
			yajl_gen_map_close(g);
			vd_cli_print_json(cli, g);
		}
	} else {
		vd_print(cli->out, "%s: %s\n", vd_recover_outcome_name(res.outcome), res.detail);
	}
	rc = res.outcome == VD_RECOVER_FAILED ? VD_EXIT_RESTORE_FAILED : VD_EXIT_OK;
	goto done;
fail:
	rc = vd_cli_fail(cli, &err);
done:
	vd_docker_free(docker);
	vd_project_release(&proj);
	free(state_dir);
	vd_error_release(&err);
	return rc;
}
