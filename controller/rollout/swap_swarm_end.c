/* voxdeploy — the end of a deploy on a Swarm manager (swap_swarm.c does the
 * rest): the wait for a service to converge, the proof of the stack, the
 * rollback of what the deploy touched (each updated service back to its
 * previous spec, each created one removed, last first, then proven),
 * `voxdeploy rollback` of the app's service, and what the result records:
 * the images, and where the services run (the notification's nodes).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/log.h"
#include "controller/rollout/prove.h"
#include "controller/rollout/swap_private.h"
#include "docker_api/swarm.h"
#include "health/wait.h"

/* Wait until a service converged (health/service.c's verdict), at most
 * deadline_ms; rollback: a rollback was asked for. */
static int converge_service(vd_docker *d, const char *ref, const char *service, bool rollback,
			    uint64_t deadline_ms, vd_error *err)
{
	vd_probe p;
	vd_health_wait_opts wo = VD_HEALTH_WAIT_OPTS_INIT;
	vd_health_report rep;
	int rc;

	vd_probe_service_init(&p, service, ref);
	p.swarm.after_rollback = rollback;
	wo.deadline_ms = deadline_ms;
	rc = vd_health_wait(d, &p, 1, &wo, &rep, err);
	vd_health_report_release(&rep);
	return rc;
}

int vd_swarm_converge(struct vd_swarm_swap *x, size_t i, bool rollback, vd_error *err)
{
	return converge_service(x->w->d, x->s[i].id, x->w->v[i].s->name, rollback, x->w->deadline_ms, err);
}

int vd_swap_swarm_undo(vd_docker *d, const char *ref, const char *service, bool remove,
		       const char *registry_auth, uint64_t deadline_ms, vd_error *err)
{
	vd_service_update_opts uo = { registry_auth, true };
	vd_service_info info;
	vd_buf spec = VD_BUF_INIT;
	yajl_gen g;
	int rc;

	if (remove)
		return vd_service_remove(d, ref, err);
	memset(&info, 0, sizeof(info));
	if ((rc = vd_service_inspect(d, ref, &info, err)))
		return rc;
	/* the swarm swaps in PreviousSpec; the body must be the current spec */
	if (!(g = vd_jgen_new())) {
		rc = vd_error_set(err, VD_ENOMEM, "out of memory");
	} else {
		vd_jgen_value(g, vd_json_get(info.raw, "Spec"));
		if ((rc = vd_jgen_finish(g, &spec)))
			vd_error_set(err, rc, "out of memory");
		else
			rc = vd_service_update(d, info.id, info.version, vd_buf_cstr(&spec), &uo, err);
	}
	if (!rc)
		rc = converge_service(d, info.id, service, true, deadline_ms ? deadline_ms : VD_SWARM_DEFAULT_DEADLINE_MS,
				      err);
	vd_service_info_release(&info);
	vd_buf_release(&spec);
	return rc;
}


/* ------------------------------------------------------------------ proof, undo */

int vd_swarm_prove(struct vd_swarm_swap *x, bool restored, vd_swap_result *out, vd_error *err)
{
	vd_swap *w = x->w;
	vd_prove_target *t = calloc(w->n + 1, sizeof(*t));
	size_t i, n = 0;
	int rc;

	if (!t)
		return vd_error_set(err, VD_ENOMEM, "out of memory");
	for (i = 0; i < w->n; i++) {
		if (!x->s[i].id || (restored && x->s[i].created))
			continue;
		t[n].service = w->v[i].s->name;
		t[n].id = x->s[i].id;
		t[n].swarm = true;
		t[n++].after_rollback = restored && x->s[i].updated;
	}
	if (restored && !n) {
		/* a first deploy undone: nothing ran before, nothing to prove */
		free(t);
		return 0;
	}
	rc = vd_swap_prove(w, t, n, out, err);
	free(t);
	return rc;
}

/* Every service this deploy updated back to its previous spec, the ones it
 * created removed, last first; then each rollback waited for.  Best effort:
 * the first failure is returned. */
static int undo(struct vd_swarm_swap *x, vd_error *err)
{
	vd_swap *w = x->w;
	size_t i;
	int rc, first = 0;

	for (i = w->n; i-- > 0;) {
		struct vd_swarm_svc *s = &x->s[i];
		uint64_t t = vd_now_ms();
		vd_error e = VD_ERROR_INIT;

		if (!s->created && !s->updated)
			continue;
		vd_swap_step(w, "restore", "begin", &w->v[i], 0, &e, "%s: %s", s->name,
			     s->created ? "remove" : "rollback=previous");
		vd_error_release(&e);
		rc = vd_swap_swarm_undo(w->d, s->id, w->v[i].s->name, s->created, vd_swarm_auth_for(x, i),
					w->deadline_ms, &e);
		if (rc) {
			vd_error j = VD_ERROR_INIT;

			vd_swap_step(w, "restore", "failed", &w->v[i], t, &j, "%s", vd_error_msg(&e));
			vd_error_release(&j);
			if (!first) {
				first = rc;
				vd_error_set(err, rc, "service %s: %s", s->name, vd_error_msg(&e));
			}
		} else {
			vd_swap_step(w, "restore", "done", &w->v[i], t, &e, NULL);
		}
		vd_error_release(&e);
	}
	return first;
}

void vd_swarm_fail_with(vd_swap_result *out, const vd_error *why)
{
	free(out->failure);
	out->failure = strdup(vd_error_msg(why));
}

int vd_swarm_roll_back(struct vd_swarm_swap *x, vd_swap_result *out, vd_error *why)
{
	vd_error err = VD_ERROR_INIT;
	int rc;

	vd_swarm_fail_with(out, why);
	out->outcome = VD_DEPLOY_FAILED;
	vd_log(VD_LOG_ERROR, "deploy failed: %s; rolling the stack back", vd_error_msg(why));
	rc = undo(x, &err);
	if (!rc)
		rc = vd_swarm_prove(x, true, out, &err);
	out->restored = true;
	if (rc) {
		out->outcome = VD_DEPLOY_RESTORE_FAILED;
		vd_log(VD_LOG_ERROR, "the rollback failed too: %s", vd_error_msg(&err));
		free(out->failure);
		out->failure = NULL;
		if (asprintf(&out->failure, "%s; the rollback failed too: %s", vd_error_msg(why),
			     vd_error_msg(&err)) < 0)
			out->failure = NULL;
	}
	vd_error_release(&err);
	return 0;
}

static int hostname_cmp(const void *a, const void *b)
{
	const vd_node_info *x = *(const vd_node_info *const *)a, *y = *(const vd_node_info *const *)b;

	return strcmp(x->hostname ? x->hostname : "", y->hostname ? y->hostname : "");
}

/* Where the services this deploy touched run at its end, for the
 * notification: per node, by hostname, the services with a task running
 * there.  Best effort: what cannot be listed is left out. */
void vd_swarm_where_they_run(struct vd_swarm_swap *x, vd_swap_result *out)
{
	vd_swap *w = x->w;
	vd_node_array nodes = { NULL, 0 };
	const vd_node_info **order = NULL;
	vd_buf *on = NULL;
	bool *seen = NULL;         /* the service has a task on the node */
	vd_error e = VD_ERROR_INIT;
	size_t i, j, k;

	if (vd_node_list(w->d, &nodes, &e) || !(on = calloc(nodes.len + 1, sizeof(*on))) ||
	    !(order = calloc(nodes.len + 1, sizeof(*order))) || !(seen = calloc(nodes.len + 1, 1)))
		goto done;
	for (k = 0; k < nodes.len; k++)
		vd_buf_init(&on[k], 4096);
	for (i = 0; i < w->n; i++) {
		vd_task_array tasks = { NULL, 0 };

		if (!x->s[i].id || vd_task_list(w->d, x->s[i].id, &tasks, &e)) {
			vd_error_release(&e);
			continue;
		}
		memset(seen, 0, nodes.len);
		for (j = 0; j < tasks.len; j++) {
			const vd_task_info *t = &tasks.items[j];
			const vd_node_info *n = t->node_id ? vd_node_find(&nodes, t->node_id) : NULL;
			size_t at = n ? (size_t)(n - nodes.items) : 0;

			if (!n || seen[at] || !t->desired_state || strcmp(t->desired_state, "running") ||
			    !t->state || strcmp(t->state, "running"))
				continue;
			seen[at] = true;
			vd_buf_printf(&on[at], "%s%s", on[at].len ? " " : "", w->v[i].s->name);
		}
		vd_task_array_release(&tasks);
	}
	for (k = 0; k < nodes.len; k++)
		order[k] = &nodes.items[k];
	qsort(order, nodes.len, sizeof(*order), hostname_cmp);
	for (k = 0; k < nodes.len; k++) {
		const vd_buf *b = &on[order[k] - nodes.items];

		if (b->len && order[k]->hostname)
			vd_kvs_add(&out->nodes, order[k]->hostname, vd_buf_cstr(b));
	}
done:
	vd_error_release(&e);
	for (k = 0; on && k < nodes.len; k++)
		vd_buf_release(&on[k]);
	free(on);
	free(order);
	free(seen);
	vd_node_array_release(&nodes);
}

/* What the state records of a done deploy: per service its image. */
int vd_swarm_finish(struct vd_swarm_swap *x, vd_swap_result *out, vd_error *err)
{
	vd_swap *w = x->w;
	size_t i;

	for (i = 0; i < w->n; i++) {
		const char *image = x->s[i].image ? x->s[i].image : w->v[i].s->image;

		if (vd_kvs_add(&out->images, w->v[i].s->name, image ? image : "") ||
		    vd_kvs_add(&out->containers, w->v[i].s->name, x->s[i].id ? x->s[i].id : ""))
			return vd_error_set(err, VD_ENOMEM, "out of memory");
	}
	out->outcome = VD_DEPLOY_DONE;
	return 0;
}

/* voxdeploy rollback: the app's service back to its previous spec (the
 * swarm keeps one), proven; when that version does not prove healthy the
 * service goes forward again (a second rollback=previous) and is proven. */
int vd_swarm_roll_back_app(struct vd_swarm_swap *x, vd_swap_result *out, vd_error *err)
{
	vd_swap *w = x->w;
	struct vd_swarm_svc *s = &x->s[0];
	vd_service_info info;
	vd_error why = VD_ERROR_INIT;
	uint64_t t = vd_now_ms();
	const char *commit, *restore;
	int rc;

	memset(&info, 0, sizeof(info));
	if ((rc = vd_service_inspect(w->d, s->name, &info, err))) {
		if (rc == VD_ENOTFOUND)
			rc = vd_error_set(err, VD_EINVAL, "service %s is not on the swarm: nothing to roll back",
					  s->name);
		goto done;
	}
	if (!info.has_previous) {
		rc = vd_error_set(err, VD_EINVAL, "service %s has no previous spec to go back to", s->name);
		goto done;
	}
	if ((restore = vd_json_str(vd_json_at(info.raw, "PreviousSpec", "Labels", (char *)NULL),
				   VD_RESTORE_LABEL))) {
		rc = vd_error_set(err, VD_EINVAL, "service %s: its previous spec is the scale-down of "
				  "`voxdeploy restore %s`, not an earlier version; voxdeploy rollback --to "
				  "DEPLOY_ID|COMMIT goes to one (voxdeploy history lists them); nothing was "
				  "changed", s->name, restore);
		goto done;
	}
	if (!(s->id = strdup(info.id))) {
		rc = vd_error_set(err, VD_ENOMEM, "out of memory");
		goto done;
	}
	s->updated = true;
	if ((rc = vd_swap_step(w, "update", "begin", &w->v[0], 0, err, "%s: rollback=previous, %s -> %s",
			       s->name, info.image ? info.image : "?",
			       info.previous_image ? info.previous_image : "?")))
		goto done;
	if (vd_swap_swarm_undo(w->d, s->id, w->v[0].s->name, false, vd_swarm_auth_for(x, 0), w->deadline_ms, &why) ||
	    vd_swarm_prove(x, true, out, &why)) {
		vd_swap_step(w, "update", "failed", &w->v[0], t, err, "%s", vd_error_msg(&why));
		rc = vd_swarm_roll_back(x, out, &why);
		goto done;
	}
	vd_service_info_release(&info);
	if ((rc = vd_service_inspect(w->d, s->id, &info, err)))
		goto done;
	commit = vd_kvs_get(&info.labels, "io.voxdeploy.commit");
	if (commit && !(out->image_commit = strdup(commit))) {
		rc = vd_error_set(err, VD_ENOMEM, "out of memory");
		goto done;
	}
	free(s->image);
	s->image = info.image ? strdup(info.image) : NULL;
	rc = vd_swarm_finish(x, out, err);
done:
	vd_service_info_release(&info);
	vd_error_release(&why);
	return rc;
}

