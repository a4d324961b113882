#include "controller/cli.h"
#include "controller/rollout/deploy.h"

#include <string.h>

static void usage(FILE *f)
{
	fprintf(f,
		"usage: voxdeploy rollback [--to DEPLOY_ID|COMMIT] [--actor WHO] [--note TEXT]\n"
		"                          [--lock-wait D] [--json]\n"
		"\n"
		"Recreate the app service from an image voxdeploy kept, without building:\n"
		"stop-first as a deploy does, proven healthy, restored by itself when the\n"
		"retained version is not healthy either.  Journalled like a deploy.\n"
		"\n"
		"  --to DEPLOY_ID  the version that deploy brought (see voxdeploy history)\n"
		"  --to COMMIT     the image built from that commit (<image>:voxdeploy-<sha12>)\n"
		"  (no --to)       the image that ran before the last deploy\n"
		"                  (<image>:voxdeploy-previous)\n"
		"  --lock-wait D   wait up to D (90s, 10m) for a running deploy to end\n"
		"\n"
		"Each deploy keeps the last deploy.retain_images images (default 5) by their\n"
		"voxdeploy-<sha12> tags; an unknown or deleted version exits 2 and lists the\n"
		"retained ones.  On a swarm (deploy.backend) no --to is the app service's\n"
		"previous spec, and --to the image that version pushed to deploy.registry.\n"
		"\n"
		"exit: 0 rolled back · 1 the retained version was not healthy, the running one\n"
		"restored · 2 bad input, nothing changed · 3 the restore failed too · 75 locked\n"
		"(another deploy runs, or deploys are held: voxdeploy lock)\n");
}

int vd_cmd_rollback(vd_cli *cli)
{
	vd_error err = VD_ERROR_INIT;
	vd_deploy_options o;
	const char *lock_wait = NULL;
	const vd_cli_opt opts[] = {
		{ "--to", NULL, &o.to, NULL, false, false },
		{ "--actor", NULL, &o.actor, NULL, false, false },
		{ "--note", NULL, &o.note, NULL, false, false },
		{ "--lock-wait", NULL, &lock_wait, NULL, false, false },
		{ NULL, NULL, NULL, NULL, false, false },
	};
	int rc;

	memset(&o, 0, sizeof(o));
	if (vd_cli_wants_help(cli)) {
		usage(cli->out);
		return VD_EXIT_OK;
	}
	if (vd_cli_args(cli, opts, &err) || vd_cli_lock_wait(cli, lock_wait, &o, &err))
		rc = vd_cli_fail(cli, &err);
	else
		rc = vd_cli_deploy(cli, &o, true);
	vd_error_release(&err);
	return rc;
}
