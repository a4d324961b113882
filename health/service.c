/* voxdeploy — the service probe: whether a Swarm service has converged on
 * its current spec (health/probe.h). */
#include <stdio.h>
#include <string.h>

#include "common/clock.h"
#include "health/probe.h"

static bool is(const char *s, const char *word)
{
	return s && !strcmp(s, word);
}

/* A paused update or rollback, or a rollback nobody here asked for: no
 * waiting mends it. */
static bool settled_badly(const vd_probe *p, const vd_service_info *svc, vd_health_result *out)
{
	const char *st = svc->update_state, *msg = svc->update_message ? svc->update_message : "";

	if (is(st, "paused"))
		vd_health_result_set(out, VD_HEALTH_FAILING, "update paused: %s", msg);
	else if (is(st, "rollback_paused"))
		vd_health_result_set(out, VD_HEALTH_FAILING, "rollback paused: %s", msg);
	else if (!p->swarm.after_rollback && !p->swarm.steady && is(st, "rollback_started"))
		vd_health_result_set(out, VD_HEALTH_FAILING, "the swarm is rolling the update back: %s",
				     msg);
	else if (!p->swarm.after_rollback && !p->swarm.steady && is(st, "rollback_completed"))
		vd_health_result_set(out, VD_HEALTH_FAILING, "the swarm rolled the update back: %s", msg);
	else
		return false;
	out->certain = true;
	return true;
}

/* Whether the update (or the rollback asked for) is over. */
static bool update_over(const vd_probe *p, const vd_service_info *svc)
{
	const char *st = svc->update_state;

	return !st || !*st || is(st, "completed") ||
	       ((p->swarm.after_rollback || p->swarm.steady) && is(st, "rollback_completed"));
}

static const char *host_of(const vd_node_array *nodes, const vd_task_info *t)
{
	const vd_node_info *n = nodes && t->node_id ? vd_node_find(nodes, t->node_id) : NULL;

	return n && n->hostname ? n->hostname : t->node_id ? t->node_id : "no node";
}

/* A node that is known and not ready (down, disconnected): its tasks do
 * not count as running, whatever they last said. */
static bool node_lost(const vd_node_array *nodes, const vd_task_info *t)
{
	const vd_node_info *n = nodes && t->node_id ? vd_node_find(nodes, t->node_id) : NULL;

	return n && !is(n->state, "ready");
}

void vd_probe_service_eval(const vd_probe *p, const vd_service_info *svc, const vd_task_array *tasks,
			   const vd_node_array *nodes, vd_health_result *out)
{
	const vd_task_info *problem = NULL;
	char hosts[160] = "";
	int64_t running = 0, current = 0, stale = 0, want;
	size_t i, used = 0;

	out->status = VD_HEALTH_PENDING;
	out->certain = false;
	if (settled_badly(p, svc, out))
		return;
	for (i = 0; i < tasks->len; i++) {
		const vd_task_info *t = &tasks->items[i];

		if (!is(t->desired_state, "running") || (t->service_id && svc->id && strcmp(t->service_id, svc->id)))
			continue;
		if (t->force_update != svc->force_update || !t->image || !svc->image ||
		    strcmp(t->image, svc->image)) {
			stale++;
			continue;
		}
		current++;
		if (is(t->state, "running") && !node_lost(nodes, t)) {
			running++;
			if (used < sizeof(hosts))
				used += (size_t)snprintf(hosts + used, sizeof(hosts) - used, "%s%s",
							 used ? ", " : "", host_of(nodes, t));
		} else if (!problem || (!problem->error && t->error)) {
			problem = t;
		}
	}
	want = svc->replicas >= 0 ? svc->replicas : current;
	if (running == want && !stale && update_over(p, svc) && (svc->replicas >= 0 || want > 0)) {
		vd_health_result_set(out, VD_HEALTH_OK, "%lld/%lld tasks running%s%s", (long long)running,
				     (long long)want, running ? " on " : "", hosts);
		return;
	}
	if (problem) {
		/* the error, else what the swarm says of it ("no suitable node (...)") */
		const char *why = problem->error && *problem->error ? problem->error
				  : problem->message && *problem->message &&
						    (is(problem->state, "pending") || is(problem->state, "rejected") ||
						     is(problem->state, "failed"))
					  ? problem->message
					  : NULL;

		vd_health_result_set(out, VD_HEALTH_FAILING, "%lld/%lld tasks running; task %lld on %s: %s%s%s%s",
				     (long long)running, (long long)want, (long long)problem->slot,
				     host_of(nodes, problem), node_lost(nodes, problem) ? "node lost, " : "",
				     problem->state ? problem->state : "?", why ? ": " : "", why ? why : "");
	}
	else if (!update_over(p, svc) || stale)
		vd_health_result_set(out, VD_HEALTH_FAILING, "%s: %lld/%lld tasks of the new spec running, "
				     "%lld to replace%s%s", svc->update_state && *svc->update_state
							    ? svc->update_state : "updating",
				     (long long)running, (long long)want, (long long)stale,
				     svc->update_message ? "; " : "",
				     svc->update_message ? svc->update_message : "");
	else
		vd_health_result_set(out, VD_HEALTH_FAILING, "%lld/%lld tasks running", (long long)running,
				     (long long)(want ? want : 1));
}

void vd_probe_service_run(vd_docker *d, const vd_probe *p, vd_health_result *out)
{
	vd_service_info svc;
	vd_task_array tasks = { NULL, 0 };
	vd_node_array nodes = { NULL, 0 };
	vd_error err = VD_ERROR_INIT;
	uint64_t t0 = vd_now_ms();
	int r;

	memset(out, 0, sizeof(*out));
	memset(&svc, 0, sizeof(svc));
	r = vd_service_inspect(d, p->swarm.ref, &svc, &err);
	if (r == VD_ENOTFOUND) {
		out->certain = true;
		vd_health_result_set(out, VD_HEALTH_FAILING, "no such service: %s", p->swarm.ref);
	} else if (r || (r = vd_task_list(d, svc.id, &tasks, &err)) ||
		   (r = vd_node_list(d, &nodes, &err))) {
		vd_health_result_set(out, VD_HEALTH_ERROR, "%s", vd_error_msg(&err));
	} else {
		vd_probe_service_eval(p, &svc, &tasks, &nodes, out);
	}
	out->latency_ms = vd_now_ms() - t0;
	vd_service_info_release(&svc);
	vd_task_array_release(&tasks);
	vd_node_array_release(&nodes);
	vd_error_release(&err);
}
