/* voxdeploy — `voxdeploy restore`: a dump put back while the server runs
 * (rollout/backup.h): on one engine the writers' containers stop and start
 * again (vd_backup_put_back); on a swarm the writers' services scale to 0
 * and back (vd_backup_swarm_put_back). */
#include "controller/rollout/backup.h"
#include "common/clock.h"
#include "common/json.h"
#include "common/log.h"
#include "controller/model/spec.h"
#include "controller/model/stack.h"
#include "controller/rollout/progress.h"
#include "controller/rollout/prove.h"
#include "controller/rollout/swap.h"
#include "docker_api/container.h"
#include "docker_api/image.h"
#include "docker_api/swarm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* a writer's tasks, looked at this often until none runs */
#define STOPPED_POLL_MS 250

/* One service's container for the run. */
struct unit {
	const vd_compose_service *s;
	char *id;
	bool running;
};

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

static int oom(vd_error *err)
{
	return vd_error_set(err, VD_ENOMEM, "out of memory");
}

static int step(vd_progress *p, const char *name, const char *state, const char *service,
		uint64_t t, const char *detail)
{
	vd_error err = VD_ERROR_INIT;
	int r = vd_progress_step(p, name, state, service, detail, t, &err);

	vd_error_release(&err);
	return r;
}

/* The services proven after a restore (restore_rc, rerr: how the restore
 * itself went), and the verdict on the whole. */
static int prove_after(vd_docker *d, const vd_backup_put_back_options *o, const vd_prove_target *targets,
		       size_t nt, int restore_rc, const vd_error *rerr, vd_error *err)
{
	vd_prove_options po;
	vd_health_report rep;
	int r;

	vd_health_report_init(&rep);
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
				 restore_rc ? vd_error_msg(rerr) : o->backup->id, rep.reason);
	else if (!r && restore_rc)
		r = vd_error_set(err, restore_rc, "%s (the database is as it was; the services run "
				 "again and are healthy)", vd_error_msg(rerr));
	vd_health_report_release(&rep);
	return r;
}

int vd_backup_put_back(vd_docker *d, const vd_backup_put_back_options *o, vd_error *err)
{
	const vd_compose *c = o->model;
	struct unit *u = calloc(c->n_services + 1, sizeof(*u));
	vd_prove_target *targets = calloc(c->n_services + 1, sizeof(*targets));
	vd_error rerr = VD_ERROR_INIT;
	size_t i, n = 0, nt = 0;
	uint64_t t;
	int r = 0, restore_rc = 0;

	if (!u || !targets) {
		r = oom(err);
		goto done;
	}
	/* the database first, then its dependents in dependency order */
	u[n++].s = vd_compose_service_find(c, o->target->service);
	for (i = 0; i < c->n_services; i++) {
		const vd_compose_service *s = vd_compose_ordered(c, i);

		if (vd_compose_depends(c, s, o->target->service))
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
	restore_rc = vd_backup_restore(d, o->state_dir, o->backup, o->target, u[0].id, NULL,
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
	r = prove_after(d, o, targets, nt, restore_rc, &rerr, err);
done:
	vd_error_release(&rerr);
	for (i = 0; u && i < n; i++)
		free(u[i].id);
	free(u);
	free(targets);
	return r;
}

/* --- on a swarm ------------------------------------------------------------ */

/* One writer: a service of the stack that depends on the database. */
struct writer {
	const vd_compose_service *s;
	char *name;              /* <project>_<service> */
	vd_service_info info;    /* before the restore */
	bool scaled;             /* scaled to 0 by this run */
};

/* The current spec with Replicas 0 and the restore's label, otherwise as it
 * is (the swarm keeps it as the previous spec afterwards). */
static int scaled_spec(yajl_val spec, const char *backup_id, vd_buf *out, vd_error *err)
{
	yajl_val labels = vd_json_get(spec, "Labels");
	yajl_gen g = vd_jgen_new();
	size_t i;

	if (!g)
		return oom(err);
	yajl_gen_map_open(g);
	for (i = 0; YAJL_IS_OBJECT(spec) && i < spec->u.object.len; i++) {
		const char *k = spec->u.object.keys[i];

		if (strcmp(k, "Mode") && strcmp(k, "Labels")) {
			vd_jgen_str(g, k);
			vd_jgen_value(g, spec->u.object.values[i]);
		}
	}
	vd_jgen_str(g, "Mode");
	yajl_gen_map_open(g);
	vd_jgen_str(g, "Replicated");
	yajl_gen_map_open(g);
	vd_jgen_kint(g, "Replicas", 0);
	yajl_gen_map_close(g);
	yajl_gen_map_close(g);
	vd_jgen_str(g, "Labels");
	yajl_gen_map_open(g);
	for (i = 0; YAJL_IS_OBJECT(labels) && i < labels->u.object.len; i++)
		if (strcmp(labels->u.object.keys[i], VD_RESTORE_LABEL)) {
			vd_jgen_str(g, labels->u.object.keys[i]);
			vd_jgen_value(g, labels->u.object.values[i]);
		}
	vd_jgen_kstr(g, VD_RESTORE_LABEL, backup_id);
	yajl_gen_map_close(g);
	yajl_gen_map_close(g);
	return vd_jgen_finish(g, out) ? oom(err) : 0;
}

/* The credentials for a writer's image: only the registry's own. */
static const char *auth_for(const vd_backup_put_back_options *o, const struct writer *w)
{
	return w->info.image && vd_image_from_registry(w->info.image, o->registry) ? o->registry_auth : NULL;
}

/* Until none of the writer's tasks runs (those told to shut down stop
 * within their grace period), at most until deadline. */
static int wait_stopped(vd_docker *d, const struct writer *w, uint64_t deadline, vd_error *err)
{
	const int running = vd_task_state_rank("running");

	for (;;) {
		vd_task_array tasks = { NULL, 0 };
		size_t i, alive = 0;
		int r = vd_task_list(d, w->info.id, &tasks, err);

		if (r)
			return r;
		for (i = 0; i < tasks.len; i++) {
			int k = vd_task_state_rank(tasks.items[i].state);

			alive += k >= 0 && k <= running;
		}
		vd_task_array_release(&tasks);
		if (!alive)
			return 0;
		if (vd_now_ms() >= deadline)
			return vd_error_set(err, VD_ETIMEOUT, "service %s: %zu task%s still running after it "
					    "was scaled to 0", w->name, alive, alive == 1 ? "" : "s");
		usleep(STOPPED_POLL_MS * 1000);
	}
}

static int scale_down(vd_docker *d, const vd_backup_put_back_options *o, struct writer *w, vd_error *err)
{
	vd_service_update_opts uo = { auth_for(o, w), false };
	vd_buf spec = VD_BUF_INIT;
	uint64_t deadline = vd_now_ms() + vd_config_stop_grace_ms(o->config, w->s) + 30000;
	int r;

	if ((r = scaled_spec(vd_json_get(w->info.raw, "Spec"), o->backup->id, &spec, err)) ||
	    (r = vd_service_update(d, w->info.id, w->info.version, vd_buf_cstr(&spec), &uo, err)))
		goto done;
	w->scaled = true;
	r = wait_stopped(d, w, deadline, err);
done:
	vd_buf_release(&spec);
	return r ? vd_error_prefix(err, "scale %s to 0", w->name) : 0;
}

int vd_backup_swarm_leftovers(vd_docker *d, const char *project, uint64_t deadline_ms,
			      struct vd_progress *progress, size_t *n, vd_error *err)
{
	vd_service_array list = { NULL, 0 };
	char ns[300];
	const char *filters[] = { "label", ns, "label", VD_RESTORE_LABEL, NULL };
	size_t i;
	int rc;

	*n = 0;
	snprintf(ns, sizeof(ns), VD_STACK_NAMESPACE_LABEL "=%s", project);
	if ((rc = vd_service_list(d, filters, &list, err)))
		return vd_error_prefix(err, "the services a restore scaled to 0");
	for (i = 0; i < list.len && !rc; i++) {
		const vd_service_info *s = &list.items[i];
		const char *by = vd_kvs_get(&s->labels, VD_RESTORE_LABEL);
		vd_error e = VD_ERROR_INIT;
		uint64_t t = vd_now_ms();

		if (!by)
			continue;
		vd_progress_stepf(progress, "restore", "begin", s->name, 0, &e, "left at 0 replicas by the "
				  "restore of %s, which did not finish: rollback=previous", by);
		vd_error_release(&e);
		rc = vd_swap_swarm_undo(d, s->id, s->name, false, NULL, deadline_ms, err);
		vd_progress_stepf(progress, "restore", rc ? "failed" : "done", s->name, t, &e, "%s",
				  rc ? vd_error_msg(err) : "its spec again");
		vd_error_release(&e);
		(*n)++;
	}
	vd_service_array_release(&list);
	return rc;
}

/* The database's service and the writers (dependency order) that are on the
 * swarm; nothing changed. */
static int find_writers(vd_docker *d, const vd_backup_put_back_options *o, struct writer *w, size_t *n,
			vd_error *err)
{
	const vd_compose *c = o->model;
	size_t i;
	int r;

	for (i = 0; i < c->n_services; i++) {
		const vd_compose_service *s = vd_compose_ordered(c, i);
		bool db = !strcmp(s->name, o->target->service);

		if (!db && !vd_compose_depends(c, s, o->target->service))
			continue;
		w[*n].s = s;
		if (!(w[*n].name = vd_stack_service_name(c, s->name)))
			return oom(err);
		r = vd_service_inspect(d, w[*n].name, &w[*n].info, err);
		if (r == VD_ENOTFOUND && db)
			return vd_error_set(err, VD_ECONFLICT, "the stack has no service %s: deploy it first "
					    "(nothing was changed)", w[*n].name);
		if (r == VD_ENOTFOUND) {  /* not deployed: nothing writes */
			vd_error_release(err);
			free(w[*n].name);
			memset(&w[*n], 0, sizeof(w[*n]));
			continue;
		}
		if (r)
			return r;
		if (!db && w[*n].info.replicas < 0)
			return vd_error_set(err, VD_EUNSUPPORTED, "%s runs in global mode, which cannot be "
					    "scaled to 0 while the dump goes back (nothing was changed)",
					    w[*n].name);
		if (db && !w[*n].info.replicas)
			return vd_error_set(err, VD_ECONFLICT, "%s is scaled to 0: start it first (nothing "
					    "was changed)", w[*n].name);
		(*n)++;
	}
	return 0;
}

int vd_backup_swarm_put_back(vd_docker *d, const vd_backup_put_back_options *o, vd_error *err)
{
	const vd_compose *c = o->model;
	struct writer *w = calloc(c->n_services + 1, sizeof(*w));
	vd_prove_target *targets = calloc(c->n_services + 1, sizeof(*targets));
	vd_error rerr = VD_ERROR_INIT;
	size_t i, n = 0, nt = 0, left;
	uint64_t t;
	int r = 0, restore_rc = 0;

	if (!w || !targets) {
		r = oom(err);
		goto done;
	}
	/* writers a killed restore left at 0 first get their spec back */
	if ((r = vd_backup_swarm_leftovers(d, c->name, o->config->health.deadline_ms, o->progress, &left, err)) ||
	    (r = find_writers(d, o, w, &n, err)))
		goto done;
	/* its writers scale to 0, last dependents first (the database is the
	 * first of them in dependency order) */
	for (i = n; i-- > 0;) {
		char what[64];

		if (!strcmp(w[i].s->name, o->target->service) || !w[i].info.replicas)
			continue;
		snprintf(what, sizeof(what), "scale to 0 (from %lld)", (long long)w[i].info.replicas);
		t = vd_now_ms();
		step(o->progress, "stop", "begin", w[i].s->name, 0, what);
		if ((r = scale_down(d, o, &w[i], err)))
			goto scale_up;
		step(o->progress, "stop", "done", w[i].s->name, t, NULL);
	}
	t = vd_now_ms();
	step(o->progress, "restore_db", "begin", o->target->service, 0, o->backup->id);
	restore_rc = vd_backup_swarm_restore(d, c, o->registry, o->registry_auth, o->state_dir, o->backup,
					     o->target, o->config->backup.timeout_ms, &rerr);
	step(o->progress, "restore_db", restore_rc ? "failed" : "done", o->target->service, t,
	     restore_rc ? vd_error_msg(&rerr) : o->backup->id);
scale_up:
	for (i = 0; i < n; i++) {
		vd_error e = VD_ERROR_INIT;

		if (!w[i].scaled)
			continue;
		t = vd_now_ms();
		if (vd_swap_swarm_undo(d, w[i].info.id, w[i].s->name, false, auth_for(o, &w[i]),
				       o->config->health.deadline_ms, &e))
			vd_log_error("restore: %s back to its spec: %s", w[i].name, vd_error_msg(&e));
		else
			step(o->progress, "start", "done", w[i].s->name, t, "rollback=previous: its spec again");
		vd_error_release(&e);
	}
	if (r)
		goto done;
	for (i = 0; i < n; i++)
		if (w[i].info.replicas) {
			targets[nt].service = w[i].s->name;
			targets[nt].id = w[i].info.id;
			targets[nt].swarm = true;
			targets[nt++].after_rollback = w[i].scaled;
		}
	r = prove_after(d, o, targets, nt, restore_rc, &rerr, err);
done:
	vd_error_release(&rerr);
	for (i = 0; w && i <= n; i++) {  /* (w[n]: one find_writers gave up on) */
		free(w[i].name);
		vd_service_info_release(&w[i].info);
	}
	free(w);
	free(targets);
	return r;
}
