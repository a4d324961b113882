/* voxdeploy — the swap's database dumps (rollout/backup.h): before a
 * FULL_RESTART stops a PostgreSQL service, while an APP_ONLY deploy's app is
 * stopped, put back on a rollback (restore_on_rollback), and named in the
 * failure message. */
#include "controller/rollout/swap_private.h"
#include "common/buf.h"
#include "common/clock.h"
#include "controller/model/spec.h"
#include "controller/model/stack.h"
#include "docker_api/swarm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One dump of t from container (on a swarm: from the stack's service,
 * through a helper pulled with registry_auth), told as the step "backup"
 * (begin, then done or failed); the service's oldest dumps beyond
 * backup.keep go. */
static int dump_told(vd_swap *w, const vd_backup_target *t, const char *container,
		     const char *registry_auth, vd_backup_info *out, vd_error *err)
{
	uint64_t t0 = vd_now_ms();
	vd_error e = VD_ERROR_INIT;
	int rc;

	if ((rc = vd_progress_stepf(w->o->progress, "backup", "begin", t->service, 0, err,
				    "pg_dump -Fc of database %s", t->database)))
		return rc;
	if (w->o->swarm)
		rc = vd_backup_swarm_dump(w->d, w->c, w->o->registry, registry_auth, w->o->state_dir, t,
					  w->o->deploy_id, w->o->backup_timeout_ms, out, err);
	else
		rc = vd_backup_dump(w->d, w->o->state_dir, t, container, NULL, w->o->deploy_id,
				    w->o->backup_timeout_ms, out, err);
	if (rc) {
		vd_progress_stepf(w->o->progress, "backup", "failed", t->service, t0, &e, "%s",
				  vd_error_msg(err));
		vd_error_release(&e);
		return rc;
	}
	vd_backup_prune(w->o->state_dir, t->service,
			w->o->backup_keep > 0 ? w->o->backup_keep : VD_CONFIG_DEFAULT_BACKUP_KEEP, &e);
	vd_error_release(&e);
	return vd_progress_stepf(w->o->progress, "backup", "done", t->service, t0, err,
				 "%s: %llu bytes in %.1f s", out->id, (unsigned long long)out->bytes,
				 (double)out->ms / 1000.0);
}

/* Dump b put back into container, told as the step "restore_db". */
static int restore_told(vd_swap *w, const vd_backup_info *b, const vd_backup_target *t,
			const char *container, vd_error *err)
{
	uint64_t t0 = vd_now_ms();
	vd_error e = VD_ERROR_INIT;
	int rc;

	vd_progress_stepf(w->o->progress, "restore_db", "begin", b->service, 0, &e, "%s into %.12s",
			  b->id, container ? container : "?");
	vd_error_release(&e);
	rc = t && container ? vd_backup_restore(w->d, w->o->state_dir, b, t, container, NULL,
						w->o->backup_timeout_ms, err)
			    : vd_error_set(err, VD_EINVAL, "no credentials or container for %s",
					   b->service);
	vd_progress_stepf(w->o->progress, "restore_db", rc ? "failed" : "done", b->service, t0, &e,
			  "%s", rc ? vd_error_msg(err) : b->id);
	vd_error_release(&e);
	return rc;
}

/* The database of v, dumped while its writers (the services that depend
 * on it, stopped at the levels before) are down and it still runs. */
int vd_swap_dump_before_stop(vd_swap *w, struct vd_swap_svc *v, vd_error *err)
{
	const vd_backup_target *t = w->o->backup && w->o->full && v->old_id && v->old_running
				    ? vd_backup_targets_get(w->o->backup, v->s->name) : NULL;
	int rc;

	if (!t)
		return 0;
	if ((rc = dump_told(w, t, v->old_id, NULL, &v->dump, err)))
		return vd_error_prefix(err, "nothing was replaced");
	v->dumped = true;
	return 0;
}

/* APP_ONLY: the databases the app writes, dumped while it is stopped; they
 * are no service of this swap and go on running. */
int vd_swap_dump_side(vd_swap *w, vd_error *err)
{
	size_t i;

	if (w->o->full || !w->o->backup || !w->o->backup->len || w->side_dumps)
		return 0;
	w->side_dumps = calloc(w->o->backup->len, sizeof(*w->side_dumps));
	if (!w->side_dumps)
		return vd_error_set(err, VD_ENOMEM, "out of memory");
	for (i = 0; i < w->o->backup->len; i++) {
		const vd_backup_target *t = &w->o->backup->items[i];
		char *cname = vd_spec_service_container_name(w->c, t->service);
		int rc = cname ? dump_told(w, t, cname, NULL, &w->side_dumps[w->n_side_dumps], err)
			       : vd_error_set(err, VD_ENOMEM, "out of memory");

		free(cname);
		if (rc)
			return vd_error_prefix(err, "the app was stopped and is started again");
		w->n_side_dumps++;
	}
	return 0;
}

/* On a swarm: every database dumped before the first service changes
 * (the writers run on: pg_dump's snapshot is consistent); a service the
 * stack does not have yet has nothing to dump.  Kept as side dumps: a
 * failure names them. */
int vd_swap_dump_swarm(vd_swap *w, const char *registry_auth, vd_error *err)
{
	size_t i;

	if (!w->o->backup || !w->o->backup->len || w->side_dumps)
		return 0;
	if (!(w->side_dumps = calloc(w->o->backup->len, sizeof(*w->side_dumps))))
		return vd_error_set(err, VD_ENOMEM, "out of memory");
	for (i = 0; i < w->o->backup->len; i++) {
		const vd_backup_target *t = &w->o->backup->items[i];
		char *svc = vd_stack_service_name(w->c, t->service);
		vd_service_info info;
		int rc;

		if (!svc)
			return vd_error_set(err, VD_ENOMEM, "out of memory");
		rc = vd_service_inspect(w->d, svc, &info, err);
		free(svc);
		if (rc == VD_ENOTFOUND) {
			vd_error_release(err);
			vd_progress_tell(w->o->progress, "backup", "skipped", t->service,
					 "not in the stack yet: nothing to dump", 0);
			continue;
		}
		if (rc)
			return vd_error_prefix(err, "nothing was changed");
		vd_service_info_release(&info);
		if ((rc = dump_told(w, t, NULL, registry_auth, &w->side_dumps[w->n_side_dumps], err)))
			return vd_error_prefix(err, "nothing was changed");
		w->n_side_dumps++;
	}
	return 0;
}

/* restore_on_rollback: the old PostgreSQL of v, started again, gets the
 * dump taken before it stopped, before anything that depends on it starts. */
int vd_swap_put_database_back(vd_swap *w, struct vd_swap_svc *v, vd_error *err)
{
	const vd_backup_target *t = vd_backup_targets_get(w->o->backup, v->s->name);
	int rc = t ? vd_swap_container_healthy(w, v->s->name, v->old_id, err) : 0;

	return rc ? rc : restore_told(w, &v->dump, t, v->old_id, err);
}

bool vd_swap_any_started(const vd_swap *w)
{
	size_t i;

	for (i = 0; i < w->n; i++)
		if (w->v[i].started)
			return true;
	return false;
}

/* A failed deploy that dumped names its dumps: put back, or how to. */
void vd_swap_tell_dumps(vd_swap *w, vd_swap_result *out)
{
	bool put_back = w->o->restore_on_rollback && !w->o->swarm &&
			(vd_swap_any_started(w) || w->released);
	const char *when = w->o->swarm ? "before the deploy changed a service"
				       : "while the app was stopped";
	vd_buf b = VD_BUF_INIT;
	size_t i;

	for (i = 0; i < w->n; i++) {
		const struct vd_swap_svc *v = &w->v[i];

		if (!v->dumped)
			continue;
		if (put_back && out->outcome == VD_DEPLOY_FAILED)
			vd_buf_printf(&b, "; %s's database was put back from %s", v->s->name, v->dump.id);
		else
			vd_buf_printf(&b, "; %s's database was dumped before it stopped: %s "
				      "(voxdeploy restore %s puts it back)", v->s->name, v->dump.id,
				      v->dump.id);
	}
	for (i = 0; i < w->n_side_dumps; i++)
		if (put_back && out->outcome == VD_DEPLOY_FAILED)
			vd_buf_printf(&b, "; %s's database was put back from %s", w->side_dumps[i].service,
				      w->side_dumps[i].id);
		else if (w->o->swarm)
			vd_buf_printf(&b, "; %s's database was dumped %s: %s (voxdeploy backups lists it)",
				      w->side_dumps[i].service, when, w->side_dumps[i].id);
		else
			vd_buf_printf(&b, "; %s's database was dumped %s: %s "
				      "(voxdeploy restore %s puts it back)", w->side_dumps[i].service, when,
				      w->side_dumps[i].id, w->side_dumps[i].id);
	if (b.len && out->failure) {
		char *s = NULL;

		if (asprintf(&s, "%s%s", out->failure, vd_buf_cstr(&b)) > 0) {
			free(out->failure);
			out->failure = s;
		}
	}
	vd_buf_release(&b);
}


/* APP_ONLY with restore_on_rollback: the side dumps put back into the
 * running PostgreSQL services before the old app starts again. */
int vd_swap_put_side_back(vd_swap *w, vd_error *err)
{
	size_t i;
	int first = 0;

	for (i = 0; i < w->n_side_dumps; i++) {
		const vd_backup_info *b = &w->side_dumps[i];
		char *cname = vd_spec_service_container_name(w->c, b->service);
		vd_error e = VD_ERROR_INIT;
		int rc = restore_told(w, b, vd_backup_targets_get(w->o->backup, b->service), cname, &e);

		if (rc && !first)
			first = vd_error_set(err, rc, "%s", vd_error_msg(&e));
		vd_error_release(&e);
		free(cname);
	}
	return first;
}
