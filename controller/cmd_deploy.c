#include "controller/cli.h"
#include "controller/plan/rules.h"
#include "controller/rollout/deploy.h"

#include <string.h>

static void usage(FILE *f)
{
	fprintf(f,
		"usage: voxdeploy deploy [--to REV] [--type T] [--fetch [REMOTE]] [--dry-run]\n"
		"                        [--actor WHO] [--note TEXT] [--force] [--rules-only]\n"
		"                        [--lock-wait D] [--json]\n"
		"\n"
		"Take the server from the deployed commit to the target: plan the type from the\n"
		"changed files, build the images while the running containers keep serving, put\n"
		"new containers in place of the old ones (kept aside, stopped), and prove the\n"
		"stack healthy.  When anything fails after the first container was touched, the\n"
		"previous containers, images and checkout are restored and proven healthy.\n"
		"With deploy.backend swarm (voxdeploy.yml) the same on a Swarm manager: the\n"
		"image pushed to deploy.registry, the stack's services updated in dependency\n"
		"order, each converged before the next, rolled back to their previous spec on\n"
		"failure.\n"
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
		"  --lock-wait D     when another deploy runs, wait up to D (90s, 10m) for it to end\n"
		"                    instead of exiting 75 at once; a freeze (voxdeploy lock) is\n"
		"                    never waited out\n"
		"  --json            one JSON object per step on stdout, then the result\n"
		"\n"
		"Progress goes to stderr, one line per step with the time since the start.  Every\n"
		"step is written to $STATE_DIR/journal.jsonl before it is taken.\n"
		"\n"
		"exit: 0 deployed (or nothing to do) · 1 failed, the previous version restored and\n"
		"healthy · 2 bad input, nothing changed · 3 failed and the restore failed too ·\n"
		"75 another deploy holds the lock, or deploys are held (voxdeploy lock)\n");
}


/* --fetch takes an optional REMOTE: --fetch=REMOTE, or the next word when
 * it is not an option. */
static int parse(vd_cli *cli, vd_deploy_options *o, const char **type, vd_error *err)
{
	const char *lock_wait = NULL;
	const vd_cli_opt opts[] = {
		{ "--to", NULL, &o->to, NULL, false, false },
		{ "--type", NULL, type, NULL, false, false },
		{ "--actor", NULL, &o->actor, NULL, false, false },
		{ "--note", NULL, &o->note, NULL, true, false },
		{ "--fetch", NULL, &o->remote, &o->fetch, false, true },
		{ "--dry-run", NULL, NULL, &o->dry_run, false, false },
		{ "--force", NULL, NULL, &o->force_checkout, false, false },
		{ "--rules-only", NULL, NULL, &o->rules_only, false, false },
		{ "--lock-wait", NULL, &lock_wait, NULL, false, false },
		{ NULL, NULL, NULL, NULL, false, false },
	};

	return vd_cli_args(cli, opts, err) || vd_cli_lock_wait(cli, lock_wait, o, err);
}

int vd_cmd_deploy(vd_cli *cli)
{
	vd_error err = VD_ERROR_INIT;
	vd_deploy_options o;
	const char *type = NULL;
	bool is_auto = true;
	int rc;

	memset(&o, 0, sizeof(o));
	if (vd_cli_wants_help(cli)) {
		usage(cli->out);
		return VD_EXIT_OK;
	}
	if (parse(cli, &o, &type, &err) ||
	    (type && vd_tier_parse_type(type, &is_auto, &o.forced_type, &err))) {
		rc = vd_cli_fail(cli, &err);
	} else {
		o.forced = !is_auto;
		rc = vd_cli_deploy(cli, &o, false);
	}
	vd_error_release(&err);
	return rc;
}
