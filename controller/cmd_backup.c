/* voxdeploy backup, backups, restore: the database dumps of
 * controller/rollout/backup.h by hand. */
#include "controller/cli.h"
#include "common/clock.h"
#include "common/json.h"
#include "common/log.h"
#include "controller/config/config.h"
#include "controller/model/project.h"
#include "controller/model/spec.h"
#include "controller/rollout/backup.h"
#include "controller/rollout/swap.h"
#include "controller/rollout/probe_list.h"
#include "controller/rollout/progress.h"
#include "controller/state/lock.h"
#include "controller/state/state.h"
#include "docker_api/swarm.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* What each command opens: the project, its voxdeploy.yml and compose
 * model, the state directory, the engine, and the databases dumps are
 * made of (`backup: false` turns off the automatic dumps, not these). */
struct ctx {
	vd_project proj;
	vd_config_bundle b;
	char *state_dir;
	vd_docker *docker;
	vd_backup_targets targets;
	bool swarm;
};

static int open_ctx(vd_cli *cli, struct ctx *x, vd_error *err)
{
	vd_config on;
	int r;

	if ((r = vd_cli_open_project(cli, &x->proj, &x->state_dir, &x->docker, err)) ||
	    (r = vd_config_bundle_load(&x->proj, &x->b, err)))
		return r;
	if (!x->b.model)
		return vd_error_set(err, VD_EINVAL, "no compose file in %s (give -f FILE)", x->proj.dir);
	if ((r = vd_swap_on_swarm(x->docker, x->b.config, x->proj.name, &x->swarm, err)))
		return r;
	on = *x->b.config;
	on.backup.enabled = true;
	r = vd_backup_targets_find(&on, x->b.model, vd_env_lookup_process_then, &x->b.dotenv,
				   &x->targets, err);
	if (!r && !x->targets.len)
		r = vd_error_set(err, VD_EINVAL, "no PostgreSQL service in the compose file (one whose "
				 "image is postgres, or that a postgres probe in voxdeploy.yml names)");
	return r;
}

static void close_ctx(struct ctx *x)
{
	vd_backup_targets_release(&x->targets);
	vd_config_bundle_release(&x->b);
	vd_project_release(&x->proj);
	vd_docker_free(x->docker);
	free(x->state_dir);
}

/* --- backup ----------------------------------------------------------------- */

int vd_cmd_backup(vd_cli *cli)
{
	struct ctx x;
	vd_error err = VD_ERROR_INIT;
	vd_lock lock = VD_LOCK_INIT;
	const char *service = NULL;
	const vd_cli_opt opts[] = {
		{ "--service", "-s", &service, NULL, false, false },
		{ NULL, NULL, NULL, NULL, false, false },
	};
	yajl_gen g = NULL;
	vd_buf auth = VD_BUF_INIT;
	size_t i;
	int rc = VD_EXIT_OK;

	memset(&x, 0, sizeof(x));
	if (vd_cli_wants_help(cli)) {
		fprintf(cli->out,
			"usage: voxdeploy backup [--service NAME] [--json]\n\n"
			"Dump the project's PostgreSQL databases now, while everything runs (pg_dump's\n"
			"snapshot is consistent): pg_dump -Fc inside each PostgreSQL service's own\n"
			"container (on a swarm: in a helper container on the manager, from the\n"
			"service's image, on its network), into $STATE_DIR/backups.  The services:\n"
			"every one whose image is postgres, or that a postgres probe of voxdeploy.yml\n"
			"names (backup.services narrows them); the credentials: its POSTGRES_USER,\n"
			"POSTGRES_PASSWORD and POSTGRES_DB.  The newest backup.keep dumps (10) per\n"
			"service are kept.  A FULL_RESTART takes one by itself, after the writers\n"
			"stopped (on a swarm: before it changes a service).\n\n"
			"  --service NAME   only this service\n\n"
			"exit: 0, 1 when a dump failed (nothing kept of it), 2 for bad input, 75 when\n"
			"a deploy holds the lock\n");
		return VD_EXIT_OK;
	}
	if (vd_cli_args(cli, opts, &err) || open_ctx(cli, &x, &err))
		goto fail;
	if (service && !vd_backup_targets_get(&x.targets, service)) {
		vd_error_set(&err, VD_EINVAL, "backup: %s is no PostgreSQL service of the project",
			     service);
		goto fail;
	}
	/* the dump's helper on a swarm pulls the database's image with them */
	if (x.swarm && vd_config_registry_auth(x.b.config, &auth, &err))
		goto fail;
	if (vd_lock_acquire(x.state_dir, "backup", NULL, &lock, &err))
		goto fail;
	if (cli->json) {
		g = vd_jgen_new();
		yajl_gen_array_open(g);
	}
	for (i = 0; i < x.targets.len; i++) {
		const vd_backup_target *t = &x.targets.items[i];
		char *cname = vd_spec_service_container_name(x.b.model, t->service);
		vd_backup_info info;
		int r;

		if (service && strcmp(service, t->service)) {
			free(cname);
			continue;
		}
		vd_log_info("backup: dumping %s (database %s)%s", t->service, t->database,
			    x.swarm ? " from the swarm" : "");
		if (!cname)
			r = vd_error_set(&err, VD_ENOMEM, "out of memory");
		else if (x.swarm)
			r = vd_backup_swarm_dump(x.docker, x.b.model, x.b.config->deploy.registry.address,
						 auth.len ? vd_buf_cstr(&auth) : NULL, x.state_dir, t, NULL,
						 x.b.config->backup.timeout_ms, &info, &err);
		else
			r = vd_backup_dump(x.docker, x.state_dir, t, cname, NULL, NULL,
					   x.b.config->backup.timeout_ms, &info, &err);
		free(cname);
		if (r)
			break;
		vd_backup_prune(x.state_dir, t->service, x.b.config->backup.keep, &err);
		if (g)
			vd_backup_info_json(g, &info);
		else
			vd_print(cli->out, "%s  %s (database %s): %llu bytes in %.1f s\n", info.id,
				 info.service, info.database, (unsigned long long)info.bytes,
				 (double)info.ms / 1000.0);
	}
	vd_lock_release(&lock);
	if (err.code) {
		if (g)
			yajl_gen_free(g);
		goto fail;
	}
	if (g) {
		yajl_gen_array_close(g);
		vd_cli_print_json(cli, g);
	}
	goto done;
fail:
	rc = vd_cli_fail(cli, &err);
done:
	vd_buf_release(&auth);
	close_ctx(&x);
	vd_error_release(&err);
	return rc;
}

/* --- backups ---------------------------------------------------------------- */

int vd_cmd_backups(vd_cli *cli)
{
	vd_error err = VD_ERROR_INIT;
	vd_backup_info *all = NULL;
	char *state_dir = NULL;
	size_t n = 0, i;
	int rc = VD_EXIT_OK;

	if (vd_cli_wants_help(cli)) {
		fprintf(cli->out,
			"usage: voxdeploy backups [--json]\n\n"
			"The database dumps kept in $STATE_DIR/backups, newest first: id, service,\n"
			"database, when, size, how long the dump took, and the deploy that took it.\n"
			"--json: an array of {\"id\",\"deploy_id\",\"service\",\"database\",\"created\",\n"
			"\"bytes\",\"seconds\"}.  Talks to nothing.\n");
		return VD_EXIT_OK;
	}
	if (vd_cli_args(cli, NULL, &err))
		goto fail;
	if (!(state_dir = vd_state_dir(cli->state_dir))) {
		vd_error_set(&err, VD_ENOMEM, "out of memory");
		goto fail;
	}
	if (vd_backup_list(state_dir, &all, &n, &err))
		goto fail;
	if (cli->json) {
		yajl_gen g = vd_jgen_new();

		yajl_gen_array_open(g);
		for (i = 0; i < n; i++)
			vd_backup_info_json(g, &all[i]);
		yajl_gen_array_close(g);
		vd_cli_print_json(cli, g);
	} else if (!n) {
		vd_print(cli->out, "no backups in %s/backups\n", state_dir);
	} else {
		vd_print(cli->out, "%-48s %-12s %-12s %-20s %12s %8s  %s\n", "ID", "SERVICE", "DATABASE",
			 "CREATED", "BYTES", "SECONDS", "DEPLOY");
		for (i = 0; i < n; i++)
			vd_print(cli->out, "%-48s %-12s %-12s %-20s %12llu %8.1f  %s\n", all[i].id,
				 all[i].service, all[i].database, all[i].created,
				 (unsigned long long)all[i].bytes, (double)all[i].ms / 1000.0,
				 all[i].deploy_id[0] ? all[i].deploy_id : "-");
	}
	goto done;
fail:
	rc = vd_cli_fail(cli, &err);
done:
	free(all);
	free(state_dir);
	vd_error_release(&err);
	return rc;
}

/* --- restore ---------------------------------------------------------------- */

static void print_step(void *ctx, const vd_deploy_event *ev)
{
	vd_cli *cli = ctx;

	fprintf(cli->err, "[%7.2fs] %-10s %-7s %s%s%s\n", (double)ev->elapsed_ms / 1000.0, ev->step,
		ev->state, ev->service ? ev->service : "", ev->detail ? ": " : "",
		ev->detail ? ev->detail : "");
}

/* Without --yes: ask on a terminal, refuse elsewhere. */
static int confirm(vd_cli *cli, const vd_backup_info *b, vd_error *err)
{
	char line[16];

	if (!isatty(STDIN_FILENO))
		return vd_error_set(err, VD_EINVAL, "restore: it replaces the contents of database %s; "
				    "give --yes to do it without a terminal", b->database);
	fprintf(cli->err, "Restore %s into %s (database %s)? Its current contents are replaced and "
		"the services that depend on it restart. [y/N] ", b->id, b->service, b->database);
	fflush(cli->err);
	if (!fgets(line, sizeof(line), stdin) || (line[0] != 'y' && line[0] != 'Y'))
		return vd_error_set(err, VD_EINVAL, "restore: not confirmed; nothing was changed");
	return 0;
}

int vd_cmd_restore(vd_cli *cli)
{
	struct ctx x;
	vd_error err = VD_ERROR_INIT;
	vd_lock lock = VD_LOCK_INIT;
	vd_probe_list probes = VD_PROBES_INIT;
	vd_progress progress;
	vd_backup_info b;
	vd_backup_put_back_options o;
	vd_buf auth = VD_BUF_INIT;
	vd_cli args = *cli;
	char *argv[64];
	const char *id = NULL;
	bool yes = false;
	const vd_cli_opt opts[] = {
		{ "--yes", "-y", NULL, &yes, false, false },
		{ NULL, NULL, NULL, NULL, false, false },
	};
	int i, rc = VD_EXIT_OK;

	memset(&x, 0, sizeof(x));
	memset(&progress, 0, sizeof(progress));
	if (vd_cli_wants_help(cli)) {
		fprintf(cli->out,
			"usage: voxdeploy restore ID [--yes]\n\n"
			"Put a dump (voxdeploy backups lists them) back into its PostgreSQL service\n"
			"while the server runs: the services that depend on it stop, pg_restore\n"
			"--clean --if-exists --single-transaction runs inside the PostgreSQL\n"
			"container with the dump on its stdin, they start again and everything is\n"
			"proven healthy.  Without --yes it asks on a terminal and refuses elsewhere.\n"
			"On a swarm the services that depend on it scale to 0 (their spec labelled\n"
			"io.voxdeploy.restore=ID) until none of their tasks runs, pg_restore runs in a\n"
			"helper container on the manager (as backup's dump does), and they go back to\n"
			"their spec (rollback=previous); the swarm's previous spec of each is then the\n"
			"scaled-down one, so voxdeploy rollback refuses it (rollback --to works).  A\n"
			"restore that was killed leaves them at 0 with that label: voxdeploy recover\n"
			"(which every deploy runs first) or the next restore puts them back.  A writer\n"
			"in global mode cannot scale: refused.\n\n"
			"exit: 0 restored and healthy; 1 the restore failed (the database is as it\n"
			"was, one transaction) and the services are healthy again; 3 they are not;\n"
			"2 bad input (an unknown ID); 75 a deploy holds the lock\n");
		return VD_EXIT_OK;
	}
	/* the ID, then the options */
	argv[0] = cli->argv[0];
	args.argc = 1;
	for (i = 1; i < cli->argc && args.argc < 63; i++) {
		if (!id && cli->argv[i][0] != '-')
			id = cli->argv[i];
		else
			argv[args.argc++] = cli->argv[i];
	}
	argv[args.argc] = NULL;
	args.argv = argv;
	if (vd_cli_args(&args, opts, &err))
		goto fail;
	if (!id) {
		vd_error_set(&err, VD_EINVAL, "restore: which backup? (voxdeploy backups lists them)");
		goto fail;
	}
	if (open_ctx(cli, &x, &err) || vd_backup_find(x.state_dir, id, &b, &err))
		goto fail;
	if (!vd_backup_targets_get(&x.targets, b.service)) {
		vd_error_set(&err, VD_EINVAL, "restore: %s is no PostgreSQL service of the project now",
			     b.service);
		goto fail;
	}
	if (!yes && confirm(cli, &b, &err))
		goto fail;
	if ((x.swarm && vd_config_registry_auth(x.b.config, &auth, &err)) ||
	    vd_probe_list_build_on(x.b.config, x.b.model, x.swarm, vd_env_lookup_process_then, &x.b.dotenv,
				   &probes, &err) ||
	    vd_lock_acquire(x.state_dir, "restore", NULL, &lock, &err))
		goto fail;
	progress.deploy_id = b.id;
	progress.t0 = vd_now_ms();
	progress.fn = cli->json ? NULL : print_step;
	progress.ctx = cli;
	memset(&o, 0, sizeof(o));
	o.model = x.b.model;
	o.config = x.b.config;
	o.target = vd_backup_targets_get(&x.targets, b.service);
	o.backup = &b;
	o.state_dir = x.state_dir;
	o.probes = probes.items;
	o.n_probes = probes.len;
	o.progress = &progress;
	o.registry = x.b.config->deploy.registry.address;
	o.registry_auth = auth.len ? vd_buf_cstr(&auth) : NULL;
	if (x.swarm ? vd_backup_swarm_put_back(x.docker, &o, &err) : vd_backup_put_back(x.docker, &o, &err))
		goto fail;
	if (cli->json) {
		yajl_gen g = vd_jgen_new();

		yajl_gen_map_open(g);
		vd_jgen_kstr(g, "result", "restored");
		vd_jgen_kstr(g, "id", b.id);
		vd_jgen_kstr(g, "service", b.service);
		vd_jgen_kstr(g, "database", b.database);
		yajl_gen_map_close(g);
		vd_cli_print_json(cli, g);
	} else {
		vd_print(cli->out, "restored %s into %s (database %s); the services are healthy\n", b.id,
			 b.service, b.database);
	}
	goto done;
fail:
	rc = vd_cli_fail(cli, &err);
done:
	vd_lock_release(&lock);
	vd_buf_release(&auth);
	vd_probe_list_release(&probes);
	close_ctx(&x);
	vd_error_release(&err);
	return rc;
}
