/* voxdeploy — `voxdeploy restore`: a dump put back while the server runs
 * (rollout/backup.h, vd_backup_put_back). */
#include "controller/rollout/backup.h"
#include "common/clock.h"
#include "common/log.h"
#include "controller/model/spec.h"
#include "controller/rollout/progress.h"
#include "controller/rollout/prove.h"
#include "docker_api/container.h"

#include <stdlib.h>
#include <string.h>

/* One service's container for the run. */
struct unit {
	const vd_compose_service *s;
	char *id;
	bool running;
};

/* s depends on `on`, directly or through others (depth-bounded: a cycle
 * is refused by the model already). */
static bool depends(const vd_compose *c, const vd_compose_service *s, const char *on, int depth)
{
	size_t i;

	if (depth > 64)
		return false;
	for (i = 0; i < s->n_depends_on; i++) {
		const vd_compose_service *d = vd_compose_service_find(c, s->depends_on[i].service);

		if (!strcmp(s->depends_on[i].service, on) || (d && depends(c, d, on, depth + 1)))
			return true;
	}
	return false;
}

static int look_up(vd_docker *d, const vd_compose *c, struct unit *u, vd_error *err)
{
	vd_container_info info;
	char *name = vd_spec_container_name(c, u->s);
	int r;

	if (!name)
		return vd_error_set(err, VD_ENOMEM, "out of memory");
	r = vd_container_inspect(d, name, &info, err);
	if (r == VD_ENOTFOUND) {
		vd_error_release(err);
		r = 0;
	} else if (!r) {
		u->id = info.id;
		info.id = NULL;
		u->running = info.running;
		vd_container_info_release(&info);
	}
	free(name);
	return r;
}

static int step(vd_progress *p, const char *name, const char *state, const char *service,
		uint64_t t, const char *detail)
{
	vd_error err = VD_ERROR_INIT;
	int r = vd_progress_step(p, name, state, service, detail, t, &err);

	vd_error_release(&err);
	return r;
}

int vd_backup_put_back(vd_docker *d, const vd_backup_put_back_options *o, vd_error *err)
{
	const vd_compose *c = o->model;
	struct unit *u = calloc(c->n_services + 1, sizeof(*u));
	vd_prove_target *targets = calloc(c->n_services + 1, sizeof(*targets));
	vd_prove_options po;
	vd_health_report rep;
	vd_error rerr = VD_ERROR_INIT;
	size_t i, n = 0, nt = 0;
	uint64_t t;
	int r = 0, restore_rc = 0;

	vd_health_report_init(&rep);
	if (!u || !targets) {
		r = vd_error_set(err, VD_ENOMEM, "out of memory");
		goto done;
	}
	/* the database first, then its dependents in dependency order */
	u[n++].s = vd_compose_service_find(c, o->target->service);
	for (i = 0; i < c->n_services; i++) {
		const vd_compose_service *s = vd_compose_ordered(c, i);

		if (depends(c, s, o->target->service, 0))
			u[n++].s = s;
	}
	if (!u[0].s) {
		r = vd_error_set(err, VD_EINVAL, "no service %s in the compose file", o->target->service);
		goto done;
	}
	for (i = 0; i < n && !r; i++)
		r = look_up(d, c, &u[i], err);
	if (r)
		goto done;
	if (!u[0].running) {
		r = vd_error_set(err, VD_ECONFLICT, "%s is not running: start it first (nothing was "
				 "changed)", o->target->service);
		goto done;
	}
	/* its writers stop, last dependents first */
	for (i = n; i-- > 1;) {
		if (!u[i].running)
			continue;
		t = vd_now_ms();
		step(o->progress, "stop", "begin", u[i].s->name, 0, u[i].id);
		if ((r = vd_container_stop(d, u[i].id,
					   (int)((vd_config_stop_grace_ms(o->config, u[i].s) + 999) / 1000),
					   err)))
			goto start_again;
		step(o->progress, "stop", "done", u[i].s->name, t, NULL);
	}
	t = vd_now_ms();
	step(o->progress, "restore_db", "begin", o->target->service, 0, o->backup->id);
	restore_rc = vd_backup_restore(d, o->state_dir, o->backup, o->target, u[0].id,
				       o->config->backup.timeout_ms, &rerr);
	step(o->progress, "restore_db", restore_rc ? "failed" : "done", o->target->service, t,
	     restore_rc ? vd_error_msg(&rerr) : o->backup->id);
start_again:
	for (i = 1; i < n; i++) {
		vd_error e = VD_ERROR_INIT;

		if (!u[i].running)
			continue;
		t = vd_now_ms();
		if (vd_container_start(d, u[i].id, &e))
			vd_log_error("restore: start %s: %s", u[i].s->name, vd_error_msg(&e));
		else
			step(o->progress, "start", "done", u[i].s->name, t, NULL);
		vd_error_release(&e);
	}
	if (r)
		goto done;
	for (i = 0; i < n; i++)
		if (u[i].running) {
			targets[nt].service = u[i].s->name;
			targets[nt++].id = u[i].id;
		}
	memset(&po, 0, sizeof(po));
	po.targets = targets;
	po.n_targets = nt;
	po.probes = o->probes;
	po.n_probes = o->n_probes;
	po.deadline_ms = o->config->health.deadline_ms;
	po.stable_ms = o->config->health.stable_for_ms;
	po.fast_check_ms = o->config->health.fast_check_ms;
	r = vd_prove(d, o->progress, &po, &rep, err);
	if (r == VD_EUNHEALTHY)
		r = vd_error_set(err, VD_ERESTORE, "%s%s; the services are not healthy afterwards: %s",
				 restore_rc ? "the restore failed: " : "restored ",
				 restore_rc ? vd_error_msg(&rerr) : o->backup->id, rep.reason);
	else if (!r && restore_rc)
		r = vd_error_set(err, restore_rc, "%s (the database is as it was; the services run "
				 "again and are healthy)", vd_error_msg(&rerr));
done:
	vd_health_report_release(&rep);
	vd_error_release(&rerr);
	for (i = 0; u && i < n; i++)
		free(u[i].id);
	free(u);
	free(targets);
	return r;
}
