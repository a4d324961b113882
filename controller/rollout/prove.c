#include "controller/rollout/prove.h"
#include "common/clock.h"
#include "common/log.h"
#include "health/wait.h"

#include <stdlib.h>
#include <string.h>

#define DEFAULT_STABLE_MS 5000

static bool is_target(const vd_prove_options *o, const char *service)
{
	size_t i;

	for (i = 0; i < o->n_targets; i++)
		if (o->targets[i].service && !strcmp(o->targets[i].service, service))
			return true;
	return false;
}

void vd_prove_note(void *ctx, const vd_probe *p, const char *state, const char *detail)
{
	vd_error err = VD_ERROR_INIT;

	if (vd_progress_step(ctx, "fast_check", state, p->service, detail, 0, &err))
		vd_log_warn("%s", vd_error_msg(&err));
	vd_error_release(&err);
}

int vd_prove(vd_docker *d, vd_progress *progress, const vd_prove_options *o, vd_health_report *out,
	     vd_error *err)
{
	vd_probe *p = calloc(o->n_targets + o->n_probes + 1, sizeof(*p));
	vd_health_wait_opts wo = VD_HEALTH_WAIT_OPTS_INIT;
	uint64_t t = vd_now_ms();
	size_t i, n = 0;
	bool swarm = false;
	int rc;

	vd_health_report_init(out);
	if (!p)
		return vd_error_set(err, VD_ENOMEM, "out of memory");
	for (i = 0; i < o->n_targets; i++, n++) {
		p[n].service = o->targets[i].service;
		if (o->targets[i].swarm) {
			swarm = true;
			vd_probe_service_init(&p[n], o->targets[i].service, o->targets[i].id);
			p[n].swarm.after_rollback = o->targets[i].after_rollback;
			continue;
		}
		p[n].kind = VD_PROBE_CONTAINER;
		p[n].name = "container";
		p[n].container.ref = o->targets[i].id;
		p[n].container.has_restart_baseline = o->targets[i].fresh;
		p[n].container.one_shot = o->targets[i].one_shot;
	}
	for (i = 0; i < o->n_probes; i++) {
		const vd_probe *q = &o->probes[i];

		if ((q->kind == VD_PROBE_CONTAINER || q->kind == VD_PROBE_SERVICE) && q->service &&
		    is_target(o, q->service))
			continue;
		if (swarm && (q->kind == VD_PROBE_CONTAINER || q->kind == VD_PROBE_RESOURCES))
			continue;
		p[n++] = *q;
	}
	wo.deadline_ms = o->deadline_ms ? o->deadline_ms : VD_HEALTH_DEFAULT_DEADLINE_MS;
	wo.stable_for_ms = o->stable_ms ? o->stable_ms : DEFAULT_STABLE_MS;
	wo.fast_check_ms = o->fast_check_ms;
	wo.on_note = vd_prove_note;
	wo.note_ctx = progress;
	rc = vd_progress_stepf(progress, "health", "begin", NULL, 0, err,
			       "%zu probes, deadline %llu ms, stable %llu ms", n,
			       (unsigned long long)wo.deadline_ms, (unsigned long long)wo.stable_for_ms);
	if (!rc) {
		vd_health_report_release(out);
		rc = vd_health_wait(d, p, n, &wo, out, err);
		if (rc && rc != VD_EUNHEALTHY)
			vd_health_report_init(out);
	}
	free(p);
	if (rc == VD_EUNHEALTHY) {
		vd_error jerr = VD_ERROR_INIT;

		vd_progress_stepf(progress, "health", "failed", NULL, t, &jerr, "%s", vd_error_msg(err));
		vd_error_release(&jerr);
		return rc;
	}
	if (rc)
		return rc;
	return vd_progress_stepf(progress, "health", "done", NULL, t, err, "healthy after %llu ms",
				 (unsigned long long)out->elapsed_ms);
}
