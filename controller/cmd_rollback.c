#include "controller/cli.h"
#include "controller/rollout/deploy.h"
#include "controller/model/project.h"
#include "controller/state/state.h"
#include "common/log.h"

#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(f,
		"usage: voxdeploy rollback [--to DEPLOY_ID|COMMIT] [--actor WHO] [--note TEXT] [--json]\n"
		"\n"
		"Recreate the app service from an image voxdeploy kept, without building:\n"
		"stop-first as a deploy does, proven healthy, restored by itself when the\n"
		"retained version is not healthy either.  Journalled like a deploy.\n"
		"\n"
		"  --to DEPLOY_ID  the version that deploy brought (see voxdeploy history)\n"
		"  --to COMMIT     the image built from that commit (<image>:voxdeploy-<sha12>)\n"
		"  (no --to)       the image that ran before the last deploy\n"
		"                  (<image>:voxdeploy-previous)\n"
		"\n"
		"Each deploy keeps the last deploy.retain_images images (default 5) by their\n"
		"voxdeploy-<sha12> tags; an unknown or deleted version exits 2 and lists the\n"
		"retained ones.\n"
		"\n"
		"exit: 0 rolled back · 1 the retained version was not healthy, the running one\n"
		"restored · 2 bad input, nothing changed · 3 the restore failed too · 75 locked\n");
}

int vd_cmd_rollback(vd_cli *cli)
{
	vd_error err = VD_ERROR_INIT;
	vd_project proj = { NULL, NULL, 0, NULL };
	vd_rollback_options o;
	vd_deploy_result res;
	vd_docker *docker = NULL;
	char *state_dir = NULL;
	int rc;

	memset(&o, 0, sizeof(o));
	memset(&res, 0, sizeof(res));
	if (vd_cli_wants_help(cli)) {
		usage(cli->out);
		return VD_EXIT_OK;
	}
	{
		const vd_cli_opt opts[] = {
			{ "--to", NULL, &o.to, NULL, false, false },
			{ "--actor", NULL, &o.actor, NULL, false, false },
			{ "--note", NULL, &o.note, NULL, false, false },
			{ NULL, NULL, NULL, NULL, false, false },
		};

		if (vd_cli_args(cli, opts, &err))
			goto fail;
	}
	if (vd_cli_open_project(cli, &proj, &state_dir, &docker, &err))
		goto fail;
	o.project = &proj;
	o.state_dir = state_dir;
	vd_cli_progress_for(cli, &o.progress, &o.progress_ctx);
	if (vd_deploy_rollback(docker, &o, &res, &err))
		goto fail;
	vd_cli_print_result(cli, false, &res);
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
