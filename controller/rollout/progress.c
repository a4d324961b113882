#include "controller/rollout/progress.h"
#include "common/clock.h"

#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Several threads start containers at once (swap_start.c): one record and
 * one line at a time. */
static pthread_mutex_t told = PTHREAD_MUTEX_INITIALIZER;

const char *vd_deploy_outcome_name(vd_deploy_outcome o)
{
	return o == VD_DEPLOY_DONE ? "done" : o == VD_DEPLOY_FAILED ? "failed" : "restore_failed";
}

#ifdef VD_FAULT_INJECTION
/* Tests kill a deploy at a step boundary, right after the journal record. */
static void fault_point(const char *step, const char *state, const char *service)
{
	const char *want = getenv("VOXDEPLOY_FAULT");
	char here[256];

	if (!want)
		return;
	snprintf(here, sizeof(here), "%s:%s", step, state);
	if (!strcmp(want, here))
		raise(SIGKILL);
	snprintf(here, sizeof(here), "%s:%s:%s", step, state, service ? service : "");
	if (!strcmp(want, here))
		raise(SIGKILL);
}
#else
#define fault_point(step, state, service) ((void)0)
#endif

int vd_progress_step(vd_progress *p, const char *step, const char *state, const char *service,
		     const char *detail, uint64_t started, vd_error *err)
{
	return vd_progress_step_with(p, step, state, service, detail, started, NULL, err);
}

void vd_progress_tell(vd_progress *p, const char *step, const char *state, const char *service,
		      const char *detail, uint64_t step_ms)
{
	vd_deploy_event ev = { p->deploy_id, step, state, service, detail, 0, step_ms };

	ev.elapsed_ms = vd_now_ms() - p->t0;
	pthread_mutex_lock(&told);
	if (p->fn)
		p->fn(p->ctx, &ev);
	pthread_mutex_unlock(&told);
}

int vd_progress_step_with(vd_progress *p, const char *step, const char *state, const char *service,
			  const char *detail, uint64_t started, const vd_kvs *extra, vd_error *err)
{
	size_t i;
	vd_deploy_event ev = { p->deploy_id, step, state, service, detail, 0, 0 };
	vd_kvs f = { NULL, 0 };
	char ms[32];
	int rc = 0;

	ev.elapsed_ms = vd_now_ms() - p->t0;
	ev.step_ms = started ? vd_now_ms() - started : 0;
	if (p->journal && p->journal->fd >= 0) {
		snprintf(ms, sizeof(ms), "%llu", (unsigned long long)ev.step_ms);
		if ((service && vd_kvs_add(&f, "service", service)) ||
		    (detail && vd_kvs_add(&f, "detail", detail)) ||
		    (started && vd_kvs_add(&f, "step_ms", ms)))
			rc = vd_error_set(err, VD_ENOMEM, "out of memory");
		for (i = 0; !rc && extra && i < extra->len; i++)
			if (vd_kvs_add(&f, extra->items[i].key, extra->items[i].value))
				rc = vd_error_set(err, VD_ENOMEM, "out of memory");
		pthread_mutex_lock(&told);
		if (!rc)
			rc = vd_journal_write(p->journal, step, state, &f, err);
		vd_kvs_release(&f);
		if (rc) {
			pthread_mutex_unlock(&told);
			return rc;
		}
		if (p->fault_points)
			fault_point(step, state, service);
	} else {
		pthread_mutex_lock(&told);
	}
	if (p->fn)
		p->fn(p->ctx, &ev);
	pthread_mutex_unlock(&told);
	return 0;
}

int vd_progress_finish(vd_progress *p, const char *state, const vd_progress_summary *s,
		       vd_error *err)
{
	vd_kvs f = { NULL, 0 };
	char ms[32];
	int rc;

	if (!p->journal || p->journal->fd < 0)
		return 0;
	snprintf(ms, sizeof(ms), "%llu", (unsigned long long)(vd_now_ms() - p->t0));
	if (vd_kvs_add(&f, "type", s->type ? s->type : "NONE") ||
	    vd_kvs_add(&f, "from", s->from ? s->from : "") || vd_kvs_add(&f, "to", s->to ? s->to : "") ||
	    vd_kvs_add(&f, "duration_ms", ms) || (s->actor && vd_kvs_add(&f, "actor", s->actor)) ||
	    (s->note && vd_kvs_add(&f, "note", s->note)) ||
	    (s->detail && vd_kvs_add(&f, "detail", s->detail)))
		rc = vd_error_set(err, VD_ENOMEM, "out of memory");
	else {
		pthread_mutex_lock(&told);
		rc = vd_journal_write(p->journal, "deploy", state, &f, err);
		pthread_mutex_unlock(&told);
	}
	vd_kvs_release(&f);
	return rc;
}

int vd_progress_stepf(vd_progress *p, const char *step, const char *state, const char *service,
		      uint64_t started, vd_error *err, const char *fmt, ...)
{
	char detail[1024];
	va_list ap;

	if (!fmt)
		return vd_progress_step(p, step, state, service, NULL, started, err);
	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	return vd_progress_step(p, step, state, service, detail, started, err);
}
