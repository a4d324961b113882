/* voxdeploy lock / unlock — hold deploys with a reason, and lift the hold. */
#include "controller/cli.h"
#include "common/log.h"
#include "controller/state/lock.h"
#include "controller/state/state.h"

#include <stdlib.h>
#include <string.h>

static void freeze_json(vd_cli *cli, const vd_freeze *f, const char *done)
{
	yajl_gen g = vd_jgen_new();

	yajl_gen_map_open(g);
	vd_jgen_kstr(g, "done", done);
	vd_jgen_kbool(g, "held", f->held);
	vd_jgen_kstr(g, "since", f->since);
	vd_jgen_kstr(g, "by", f->by);
	vd_jgen_kstr(g, "message", f->message);
	yajl_gen_map_close(g);
	vd_cli_print_json(cli, g);
}

/* Who holds deploys: --actor, else the user behind sudo, else the user. */
static const char *default_actor(void)
{
	const char *who = getenv("SUDO_USER");

	if (!who || !*who)
		who = getenv("USER");
	return who && *who ? who : NULL;
}

int vd_cmd_lock(vd_cli *cli)
{
	vd_error err = VD_ERROR_INIT;
	vd_freeze before, now;
	const char *message = NULL, *actor = NULL;
	const vd_cli_opt opts[] = {
		{ "--message", "-m", &message, NULL, false, false },
		{ "--actor", NULL, &actor, NULL, false, false },
		{ NULL, NULL, NULL, NULL, false, false },
	};
	char *dir = NULL;
	int rc = VD_EXIT_OK;

	before = (vd_freeze)VD_FREEZE_INIT;
	now = (vd_freeze)VD_FREEZE_INIT;
	if (vd_cli_wants_help(cli)) {
		fprintf(cli->out,
			"usage: voxdeploy lock [--message TEXT] [--actor WHO] [--json]\n"
			"\n"
			"Hold deploys: until `voxdeploy unlock`, every deploy and rollback is refused\n"
			"with exit 75 and prints when, by whom and why deploys are held (a release\n"
			"freeze, an incident, a migration done by hand).  A deploy already running\n"
			"finishes; `recover`, `backup` and `restore` still work.  Locking again\n"
			"replaces the message (and keeps it without --message).  The freeze is\n"
			"$STATE_DIR/freeze.\n"
			"\n"
			"  -m, --message TEXT  why deploys are held (shown to everyone refused)\n"
			"  --actor WHO         who holds them (default: SUDO_USER, else USER)\n"
			"\n"
			"exit: 0 held · 2 bad input\n");
		return VD_EXIT_OK;
	}
	if (vd_cli_args(cli, opts, &err))
		goto fail;
	if (!(dir = vd_state_dir(cli->state_dir))) {
		vd_error_set(&err, VD_ENOMEM, "out of memory");
		goto fail;
	}
	if (!actor)
		actor = default_actor();
	if (vd_freeze_read(dir, &before, &err))
		goto fail;
	/* held again: the freeze began when it began; a new message replaces
	 * the old, no message keeps it */
	if (!message && before.held)
		message = before.message;
	if (vd_freeze_hold(dir, before.since, message, actor, &err) || vd_freeze_read(dir, &now, &err))
		goto fail;
	if (cli->json)
		freeze_json(cli, &now, before.held ? "replaced" : "held");
	else
		vd_print(cli->out, "deploys %s since %s%s%s: %s\n",
			 before.held ? "were already held; held" : "held",
			 now.since, now.by ? " by " : "", now.by ? now.by : "",
			 now.message ? now.message : "no reason given");
	goto done;
fail:
	rc = vd_cli_fail(cli, &err);
done:
	vd_freeze_release(&before);
	vd_freeze_release(&now);
	free(dir);
	vd_error_release(&err);
	return rc;
}

int vd_cmd_unlock(vd_cli *cli)
{
	vd_error err = VD_ERROR_INIT;
	vd_freeze before = VD_FREEZE_INIT;
	char *dir = NULL;
	bool was = false;
	int rc = VD_EXIT_OK;

	if (vd_cli_wants_help(cli)) {
		fprintf(cli->out,
			"usage: voxdeploy unlock [--json]\n"
			"\n"
			"Lift the hold `voxdeploy lock` put on deploys.  Unlocking when nothing is\n"
			"held is no error.  (The lock a running deploy holds is not this one: it is\n"
			"released by the kernel when that deploy ends, however it ends.)\n"
			"\n"
			"exit: 0 lifted or nothing held · 2 bad input\n");
		return VD_EXIT_OK;
	}
	if (vd_cli_args(cli, NULL, &err))
		goto fail;
	if (!(dir = vd_state_dir(cli->state_dir))) {
		vd_error_set(&err, VD_ENOMEM, "out of memory");
		goto fail;
	}
	if (vd_freeze_read(dir, &before, &err) || vd_freeze_lift(dir, &was, &err))
		goto fail;
	if (cli->json) {
		vd_freeze none = VD_FREEZE_INIT;

		freeze_json(cli, &none, was ? "lifted" : "nothing held");
	} else if (was) {
		vd_print(cli->out, "deploys may run again (held since %s%s%s: %s)\n",
			 before.since ? before.since : "?", before.by ? " by " : "", before.by ? before.by : "",
			 before.message ? before.message : "no reason given");
	} else {
		vd_print(cli->out, "deploys were not held\n");
	}
	goto done;
fail:
	rc = vd_cli_fail(cli, &err);
done:
	vd_freeze_release(&before);
	free(dir);
	vd_error_release(&err);
	return rc;
}
