#include "health/wait.h"
#include "common/buf.h"
#include "common/clock.h"
#include "common/log.h"
#include "docker_api/events.h"
#include "health/http.h"
#include "health/owncheck.h"
#include "health/postgres.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- the pure verdict ----------------------------------------------------- */

void vd_health_track_update(vd_health_track *t, const vd_health_result *r, uint64_t now_ms)
{
	t->runs++;
	t->status = r->status;
	t->certain = r->status != VD_HEALTH_OK && r->certain;
	if (r->status == VD_HEALTH_OK) {
		if (!t->passing) {
			t->passing = true;
			t->ok_since_ms = now_ms;
		}
		t->ok_last_ms = now_ms;
	} else {
		t->passing = false;
	}
}

uint64_t vd_health_track_stable_ms(const vd_health_track *t, uint64_t now_ms)
{
	uint64_t end;

	if (!t->passing)
		return 0;
	end = t->continuous ? now_ms : t->ok_last_ms;
	return end > t->ok_since_ms ? end - t->ok_since_ms : 0;
}

vd_health_verdict vd_health_judge(const vd_health_track *t, size_t n, uint64_t now_ms,
				  uint64_t stable_for_ms, uint64_t deadline_at_ms, bool once,
				  size_t *culprit, uint64_t *wake_in_ms)
{
	uint64_t wake_at = deadline_at_ms, least = UINT64_MAX;
	size_t i, first_bad = n, least_i = n, first_unrun = n;
	bool all = true;

	if (wake_in_ms)
		*wake_in_ms = UINT64_MAX;
	for (i = 0; i < n; i++)
		if (t[i].runs && t[i].certain) {
			if (once) {
				/* the first certain failure names the verdict,
				 * once every probe has said something */
				if (first_bad == n)
					first_bad = i;
				continue;
			}
			if (culprit)
				*culprit = i;
			return VD_VERDICT_UNHEALTHY;
		}
	for (i = 0; i < n; i++) {
		uint64_t stable = vd_health_track_stable_ms(&t[i], now_ms);

		if (once) {
			if (!t[i].runs) {
				all = false;
				if (first_unrun == n)
					first_unrun = i;
			} else if (t[i].status != VD_HEALTH_OK && first_bad == n) {
				first_bad = i;
			}
			continue;
		}
		if (!t[i].passing) {
			all = false;
			if (first_bad == n)
				first_bad = i;
			continue;
		}
		if (stable < least) {
			least = stable;
			least_i = i;
		}
		if (stable < stable_for_ms) {
			all = false;
			/* a continuous track gets there without a new result */
			if (t[i].continuous && t[i].ok_since_ms + stable_for_ms < wake_at)
				wake_at = t[i].ok_since_ms + stable_for_ms;
		}
	}
	if (once && all) {
		if (first_bad == n)
			return VD_VERDICT_HEALTHY;
		if (culprit)
			*culprit = first_bad;
		return VD_VERDICT_UNHEALTHY;
	}
	if (!once && all)
		return VD_VERDICT_HEALTHY;
	if (now_ms >= deadline_at_ms) {
		if (culprit)
			*culprit = first_bad < n ? first_bad : first_unrun < n ? first_unrun :
				   least_i < n ? least_i : 0;
		return VD_VERDICT_UNHEALTHY;
	}
	if (wake_in_ms && wake_at != UINT64_MAX)
		*wake_in_ms = wake_at > now_ms ? wake_at - now_ms : 0;
	return VD_VERDICT_PENDING;
}

/* --- the loop ------------------------------------------------------------- */

struct slot {
	const vd_probe *p;
	vd_health_result last;
	bool has_result;
	bool running;
	uint64_t started_ms;
	uint64_t next_due_ms;        /* UINT64_MAX: never again */
	vd_postgres_check *pg;
	/* container */
	char *id;                    /* full id, once inspected */
	bool has_baseline;
	int64_t baseline;
	bool event_fatal;            /* die/oom/destroy/unhealthy seen */
	char event_detail[96];
	/* resources: each sample is a non-blocking call (the engine may hold
	 * a one-shot stats answer up to a second, until its next sample) */
	vd_container_sample prev;
	bool have_prev;
	vd_docker_stream *stats;
	vd_docker_req stats_req;
	vd_buf stats_path;
	vd_buf stats_body;
	size_t fd_off, fd_n;         /* its entries in this round's poll */
	/* container: own checks while the engine says starting */
	bool engine_starting;        /* the latest inspect said so */
	vd_health_result engine;     /* that inspect's own judgement */
	vd_owncheck_cmd oc_cmd;
	bool oc_have_cmd;
	bool oc_off;                 /* not here: the engine's status decides */
	vd_owncheck *oc;             /* the run in flight */
	uint64_t oc_due_ms;          /* the next run */
	vd_owncheck_result oc_last;
	bool oc_has_last;
	bool oc_capped;              /* the run in flight was given less than its
	                              * timeout: the wait's deadline comes first */
	bool oc_told;                /* the first pass was told */
	size_t oc_fd_off, oc_fd_n;
};

/* How often a cancellable wait looks at its flag. */
#define CANCEL_POLL_MS 100

struct waiter {
	vd_docker *d;
	const volatile int *cancel;
	struct slot *slots;
	vd_health_track *tracks;
	size_t n;
	bool once;
	uint64_t t0;
	uint64_t deadline_at;
	uint64_t deadline_ms;
	uint64_t stable_for_ms;
	uint64_t fast_check_ms;
	void (*on_note)(void *ctx, const vd_probe *p, const char *state, const char *detail);
	void *note_ctx;
	vd_http_runner *http;
	/* the event stream */
	bool events_tried;
	bool events_up;
	bool events_used;            /* the stream was open at some point */
	vd_docker_stream *stream;
	vd_docker_req ev_req;
	vd_buf ev_query;
	vd_events_parser parser;
	double wall_t0;
};

static uint64_t probe_interval(const vd_probe *p)
{
	return p->interval_ms ? p->interval_ms : VD_PROBE_DEFAULT_INTERVAL_MS;
}

static uint64_t sample_gap(const vd_probe *p)
{
	return p->resources.sample_ms ? p->resources.sample_ms : 1000;
}

/* A run's timeout t, never past the deadline. */
static uint64_t run_timeout_ms(const struct waiter *w, uint64_t t, uint64_t now)
{
	uint64_t left = w->deadline_at > now ? w->deadline_at - now : 1;

	return t < left ? t : left;
}

/* One run's timeout: the probe's, never past the deadline. */
static uint64_t run_timeout(const struct waiter *w, const vd_probe *p, uint64_t now)
{
	return run_timeout_ms(w, p->timeout_ms ? p->timeout_ms : VD_PROBE_DEFAULT_TIMEOUT_MS, now);
}

/* A healthy container whose events are watched is inspected this many
 * times less often: a die, oom, destroy or unhealthy event brings the next
 * inspect at once, so the inspect is only a safety net — and twenty-five
 * inspects a second keep a busy engine busier while the last containers
 * start. */
#define WATCHED_POLL_FACTOR 4

static void record(struct waiter *w, size_t i, const vd_health_result *res, uint64_t now)
{
	struct slot *s = &w->slots[i];
	uint64_t next, every = probe_interval(s->p);

	s->last = *res;
	s->has_result = true;
	s->running = false;
	vd_health_track_update(&w->tracks[i], res, now);
	if (w->once) {
		s->next_due_ms = UINT64_MAX;
		return;
	}
	if (w->events_up && s->p->kind == VD_PROBE_CONTAINER && s->id && res->status == VD_HEALTH_OK)
		every *= WATCHED_POLL_FACTOR;
	next = s->started_ms + every;
	s->next_due_ms = next > now ? next : now;
}

/* --- own checks (health/owncheck.h) --------------------------------------- */

static void note(struct waiter *w, const struct slot *s, const char *state, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void note(struct waiter *w, const struct slot *s, const char *state, const char *fmt, ...)
{
	vd_health_result tmp;
	char text[VD_HEALTH_DETAIL_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	memset(&tmp, 0, sizeof(tmp));
	vd_health_result_set(&tmp, VD_HEALTH_PENDING, "%s", text);  /* redacted */
	vd_log_debug("health: %s: own check %s: %s", vd_probe_name(s->p), state, tmp.detail);
	if (w->on_note)
		w->on_note(w->note_ctx, s->p, state, tmp.detail);
}

/* The container probe's result while the engine says starting: its own
 * judgement with the latest own run's. */
static void starting_result(const struct slot *s, vd_health_result *res)
{
	const vd_owncheck_result *o = &s->oc_last;

	*res = s->engine;
	if (!s->oc_has_last)
		return;
	snprintf(res->own_check, sizeof(res->own_check), "%s", vd_owncheck_outcome_name(o->outcome));
	res->own_check_exit = o->exit_code;
	res->own_check_ms = o->latency_ms;
	vd_health_result_set(res, o->outcome == VD_OWNCHECK_PASSED ? VD_HEALTH_OK : VD_HEALTH_FAILING,
			     "running, HEALTHCHECK starting; own check %s in %llu ms%s%s%s",
			     vd_owncheck_outcome_name(o->outcome), (unsigned long long)o->latency_ms,
			     o->detail[0] ? ": " : "", o->detail,
			     s->oc_off ? "; the engine's status decides" : "");
}

static bool oc_wanted(const struct waiter *w, const struct slot *s)
{
	return w->fast_check_ms && !s->oc_off && s->engine_starting && s->oc_have_cmd && s->id;
}

static void oc_done(struct waiter *w, size_t i, const vd_owncheck_result *r, uint64_t now)
{
	struct slot *s = &w->slots[i];
	vd_health_result res;

	if (r->outcome == VD_OWNCHECK_TIMEOUT && s->oc_capped && !w->once && s->oc_has_last) {
		/* cut short by the wait's own deadline: no news about the check,
		 * even when its process could not be stopped (not visible from
		 * here): the wait ends with the deadline anyway */
		s->oc_due_ms = now + w->fast_check_ms;
		return;
	}
	s->oc_last = *r;
	s->oc_has_last = true;
	s->oc_due_ms = now + w->fast_check_ms;
	switch (r->outcome) {
	case VD_OWNCHECK_PASSED:
		if (!s->oc_told) {
			s->oc_told = true;
			note(w, s, "done", "own HEALTHCHECK run passed in %llu ms, %.1f s into the "
			     "wait, while the engine said starting", (unsigned long long)r->latency_ms,
			     (double)(now - w->t0) / 1000.0);
		}
		/* proven once: keep it fresh at the probe's pace */
		s->oc_due_ms = now + probe_interval(s->p);
		break;
	case VD_OWNCHECK_FAILED:
		break;
	case VD_OWNCHECK_TIMEOUT:
		if (!r->left_running)
			break;
		/* no second run beside one still going */
		/* fall through */
	case VD_OWNCHECK_UNAVAILABLE:
		s->oc_off = true;
		note(w, s, "skipped", "own HEALTHCHECK run %s: %s; the engine's status decides",
		     vd_owncheck_outcome_name(r->outcome), r->detail);
		break;
	}
	if (!s->engine_starting)
		return;
	starting_result(s, &res);
	record(w, i, &res, now);
}

/* Own runs in flight at once in one wait: each is an exec the engine
 * must serve, and twenty containers starting together would otherwise ask
 * for eighty a second while the engine is busiest with their starts. */
#define OWN_CHECKS_AT_ONCE 4

static bool oc_room(const struct waiter *w)
{
	size_t i, n = 0;

	if (w->once)
		return true;  /* one run each, started with the report's inspects */
	for (i = 0; i < w->n; i++)
		n += w->slots[i].oc != NULL;
	return n < OWN_CHECKS_AT_ONCE;
}

/* Start a run when one is due and there is room; 0 or VD_ENOMEM. */
static int oc_begin(struct waiter *w, size_t i, uint64_t now, vd_error *err)
{
	struct slot *s = &w->slots[i];
	vd_owncheck_result res;
	int r;

	if (s->oc || !oc_wanted(w, s) || s->oc_due_ms > now || !oc_room(w))
		return 0;
	s->oc_capped = run_timeout_ms(w, s->oc_cmd.timeout_ms, now) < s->oc_cmd.timeout_ms;
	r = vd_owncheck_start(w->d, s->id, &s->oc_cmd, run_timeout_ms(w, s->oc_cmd.timeout_ms, now),
			      &s->oc, &res, err);
	if (r)
		return r;
	if (!s->oc)
		oc_done(w, i, &res, vd_now_ms());
	return 0;
}

static void oc_stop(struct slot *s)
{
	vd_owncheck_free(s->oc);
	s->oc = NULL;
}

/* What the inspect said about own checks: read the check when the engine
 * says starting; forget the runs once it says anything else. */
static void oc_follow(struct waiter *w, struct slot *s, const vd_container_info *info,
		      const vd_health_result *res)
{
	vd_error err = VD_ERROR_INIT;
	int r;

	s->engine = *res;
	s->engine_starting = info->raw && info->running && res->status == VD_HEALTH_FAILING &&
			     !res->certain && info->health && !strcmp(info->health, "starting");
	if (!s->engine_starting) {
		oc_stop(s);
		s->oc_has_last = false;
		return;
	}
	if (!w->fast_check_ms || s->oc_off || s->oc_have_cmd)
		return;
	r = vd_owncheck_cmd_from_inspect(info->raw, &s->oc_cmd, &err);
	if (r) {
		s->oc_off = true;
		note(w, s, "skipped", "own HEALTHCHECK run: %s; the engine's status decides",
		     vd_error_msg(&err));
	} else {
		s->oc_have_cmd = true;
	}
	vd_error_release(&err);
}

/* A container probe's inspect, with the restart count it is judged
 * against; on d, which may be another thread's connection. */
struct inspected {
	size_t slot;
	vd_probe p;
	vd_health_result res;
	vd_container_info info;
};

static void inspect_prepare(const struct slot *s, size_t i, struct inspected *in)
{
	memset(in, 0, sizeof(*in));
	in->slot = i;
	in->p = *s->p;
	in->p.container.has_restart_baseline = s->has_baseline;
	in->p.container.restart_baseline = s->baseline;
}

/* Several inspects at once, each thread on its own connection: the proof
 * of 25 containers is not 25 inspects in a row. */
#define INSPECT_PARALLEL 8

struct inspect_pool {
	const vd_docker *d;
	struct inspected *in;
	size_t n;
	size_t next;
	pthread_mutex_t mu;
};

static void *inspect_worker(void *arg)
{
	struct inspect_pool *pool = arg;
	vd_error err = VD_ERROR_INIT;
	vd_docker *own = NULL;

	if (vd_docker_clone(pool->d, &own, &err))
		own = NULL;  /* the inspects below say it, each as its probe's error */
	for (;;) {
		size_t k;

		pthread_mutex_lock(&pool->mu);
		k = pool->next++;
		pthread_mutex_unlock(&pool->mu);
		if (k >= pool->n)
			break;
		if (own) {
			vd_probe_container_run(own, &pool->in[k].p, &pool->in[k].res, &pool->in[k].info);
		} else {
			memset(&pool->in[k].info, 0, sizeof(pool->in[k].info));
			vd_health_result_set(&pool->in[k].res, VD_HEALTH_ERROR, "%s", vd_error_msg(&err));
		}
	}
	vd_docker_free(own);
	vd_error_release(&err);
	return NULL;
}

/* Inspect in[0..n) concurrently (on this thread when no other can be had). */
static void inspect_all(const vd_docker *d, struct inspected *in, size_t n)
{
	struct inspect_pool pool = { d, in, n, 0, PTHREAD_MUTEX_INITIALIZER };
	pthread_t t[INSPECT_PARALLEL];
	size_t k, started = 0;

	for (k = 0; k < n && k < INSPECT_PARALLEL; k++)
		if (!pthread_create(&t[started], NULL, inspect_worker, &pool))
			started++;
	for (k = 0; k < started; k++)
		pthread_join(t[k], NULL);
	for (k = pool.next; k < n; k++)  /* no thread: the ones left, in a row */
		vd_probe_container_run((vd_docker *)d, &in[k].p, &in[k].res, &in[k].info);
}

/* Judge an inspected container: own checks, events seen meanwhile, the
 * record.  Takes over in->info. */
static int run_container(struct waiter *w, struct inspected *in, vd_error *err)
{
	size_t i = in->slot;
	struct slot *s = &w->slots[i];
	vd_health_result res = in->res;
	vd_container_info info = in->info;
	int r = 0;

	memset(&in->info, 0, sizeof(in->info));
	if (info.id && !s->id) {
		s->id = info.id;
		info.id = NULL;
	}
	if (!s->has_baseline && info.raw) {
		s->has_baseline = true;
		s->baseline = info.restart_count;
	}
	oc_follow(w, s, &info, &res);
	vd_container_info_release(&info);
	if (s->event_fatal && !(res.status != VD_HEALTH_OK && res.certain)) {
		/* the event is the evidence; the inspect may have raced a
		 * restart that already brought it back */
		char now_detail[VD_HEALTH_DETAIL_MAX];

		snprintf(now_detail, sizeof(now_detail), "%s", res.detail);
		res.certain = true;
		vd_health_result_set(&res, VD_HEALTH_FAILING, "%s; now: %s", s->event_detail,
				     now_detail);
		s->engine_starting = false;
		oc_stop(s);
	}
	s->event_fatal = false;
	if (s->engine_starting && s->oc_has_last)
		starting_result(s, &res);
	if (w->once && oc_wanted(w, s)) {
		/* the one-shot report waits for one own run */
		s->running = true;
		r = oc_begin(w, i, 0, err);
		return r;
	}
	record(w, i, &res, vd_now_ms());
	return r;
}

static int on_stats_data(const char *data, size_t len, void *ctx, vd_error *err)
{
	struct slot *s = ctx;

	if (vd_buf_put(&s->stats_body, data, len))
		return vd_error_set(err, VD_ETOOBIG, "stats answer larger than %zu bytes",
				    s->stats_body.max);
	return 0;
}

static void start_resources(struct waiter *w, size_t i, uint64_t now)
{
	struct slot *s = &w->slots[i];
	vd_health_result res;
	vd_error err = VD_ERROR_INIT;
	int r;

	vd_buf_clear(&s->stats_path);
	vd_buf_clear(&s->stats_body);
	r = vd_docker_path(&s->stats_path, "/containers/", s->p->resources.ref, "/stats");
	memset(&s->stats_req, 0, sizeof(s->stats_req));
	s->stats_req.method = "GET";
	s->stats_req.path = vd_buf_cstr(&s->stats_path);
	s->stats_req.query = "stream=0&one-shot=1";
	s->stats_req.on_data = on_stats_data;
	s->stats_req.ctx = s;
	s->stats_req.deadline_ms = (long)run_timeout(w, s->p, now);
	s->stats_req.idle_timeout_ms = s->stats_req.deadline_ms;
	if (r)
		r = vd_error_set(&err, VD_ENOMEM, "out of memory");
	else
		r = vd_docker_stream_open(w->d, &s->stats_req, &s->stats, &err);
	if (r) {
		memset(&res, 0, sizeof(res));
		vd_health_result_set(&res, VD_HEALTH_ERROR, "stats of %s: %s", s->p->resources.ref,
				     vd_error_msg(&err));
		s->have_prev = false;
		record(w, i, &res, now);
	} else {
		s->running = true;
	}
	vd_error_release(&err);
}

/* A stats call ended (r: what vd_docker_stream_perform said). */
static void resources_done(struct waiter *w, size_t i, int r, vd_error *serr)
{
	struct slot *s = &w->slots[i];
	uint64_t now = vd_now_ms();
	vd_container_sample cur;
	vd_health_result res;
	vd_error err = VD_ERROR_INIT;

	vd_docker_stream_free(s->stats);
	s->stats = NULL;
	memset(&res, 0, sizeof(res));
	res.latency_ms = now - s->started_ms;
	if (r == VD_DOCKER_STREAM_END)
		r = vd_container_stats_parse(vd_buf_cstr(&s->stats_body), &cur, &err);
	else
		vd_error_set(&err, r, "%s", vd_error_msg(serr));
	if (r) {
		vd_health_result_set(&res, r == VD_ENOTFOUND ? VD_HEALTH_FAILING : VD_HEALTH_ERROR,
				     "stats of %s: %s", s->p->resources.ref, vd_error_msg(&err));
		s->have_prev = false;
		record(w, i, &res, now);
	} else if (!s->have_prev) {
		/* the first of two samples: the second comes sample_ms later,
		 * from the loop's timer, not from a sleep */
		s->prev = cur;
		s->have_prev = true;
		s->running = false;
		s->next_due_ms = s->started_ms + sample_gap(s->p);
	} else {
		vd_probe_resources_eval(s->p, &s->prev, &cur, &res);
		s->prev = cur;
		record(w, i, &res, now);
		if (!w->once && s->next_due_ms < s->started_ms + sample_gap(s->p))
			s->next_due_ms = s->started_ms + sample_gap(s->p);
	}
	vd_error_release(&err);
}

static bool container_due(const struct slot *s, uint64_t now)
{
	return s->p->kind == VD_PROBE_CONTAINER && !s->running && s->next_due_ms <= now;
}

/* The due container probes, inspected at once (several at a time), then
 * judged in order. */
static int run_containers(struct waiter *w, vd_error *err)
{
	uint64_t now = vd_now_ms();
	struct inspected *in;
	size_t i, n = 0, k;
	int r = 0;

	for (i = 0; i < w->n; i++)
		n += container_due(&w->slots[i], now);
	if (!n)
		return 0;
	if (!(in = calloc(n, sizeof(*in))))
		return vd_error_set(err, VD_ENOMEM, "out of memory");
	for (i = k = 0; i < w->n; i++)
		if (container_due(&w->slots[i], now)) {
			inspect_prepare(&w->slots[i], i, &in[k++]);
			w->slots[i].started_ms = now;
		}
	if (n == 1)
		vd_probe_container_run(w->d, &in[0].p, &in[0].res, &in[0].info);
	else
		inspect_all(w->d, in, n);
	for (k = 0; k < n; k++) {
		if (!r)
			r = run_container(w, &in[k], err);
		vd_container_info_release(&in[k].info);
	}
	free(in);
	return r;
}

static int start_due(struct waiter *w, vd_error *err)
{
	size_t i;
	int r;

	if ((r = run_containers(w, err)))
		return r;
	for (i = 0; i < w->n; i++) {
		struct slot *s = &w->slots[i];
		uint64_t now = vd_now_ms();
		vd_health_result res;

		if (!w->once && (r = oc_begin(w, i, now, err)))
			return r;
		if (s->running || s->next_due_ms > now || s->p->kind == VD_PROBE_CONTAINER)
			continue;
		s->started_ms = now;
		switch (s->p->kind) {
		case VD_PROBE_CONTAINER:
			break;
		case VD_PROBE_RESOURCES:
			start_resources(w, i, now);
			break;
		case VD_PROBE_SERVICE:
			vd_probe_service_run(w->d, s->p, &res);
			record(w, i, &res, vd_now_ms());
			break;
		case VD_PROBE_POSTGRES:
			r = vd_postgres_check_start(&s->pg, s->p, run_timeout(w, s->p, now), err);
			if (r == VD_ENOMEM)
				return r;
			if (r) {
				memset(&res, 0, sizeof(res));
				vd_health_result_set(&res, VD_HEALTH_ERROR, "%s", vd_error_msg(err));
				record(w, i, &res, now);
				break;
			}
			s->running = true;
			break;
		case VD_PROBE_HTTP:
			r = vd_http_runner_start(w->http, s->p, run_timeout(w, s->p, now), s, err);
			if (r)
				return r;
			s->running = true;
			break;
		}
	}
	return 0;
}

/* --- events --------------------------------------------------------------- */

/* The engine's health_status: healthy event for a container an inspect has
 * already judged (starting, or healthy), with nothing fatal seen since: the
 * engine's own verdict, believed without another inspect. */
static bool healthy_by_event(struct waiter *w, size_t i)
{
	struct slot *s = &w->slots[i];
	vd_health_result res;
	uint64_t now = vd_now_ms();

	if (w->once || s->running || !s->has_result || s->event_fatal || w->tracks[i].certain)
		return false;
	memset(&res, 0, sizeof(res));
	vd_health_result_set(&res, VD_HEALTH_OK, "running, healthy (the engine's health_status event)");
	oc_stop(s);
	s->oc_has_last = false;
	s->engine_starting = false;
	s->engine = res;
	s->started_ms = now;
	record(w, i, &res, now);
	return true;
}

static int on_event(const vd_event *ev, void *ctx, vd_error *err)
{
	struct waiter *w = ctx;
	size_t i;

	for (i = 0; i < w->n; i++) {
		struct slot *s = &w->slots[i];
		const char *a = ev->action;

		if (s->p->kind != VD_PROBE_CONTAINER || !s->id || strcmp(s->id, ev->actor_id))
			continue;
		if (!strcmp(a, "die") && s->p->container.one_shot && vd_event_attr(ev, "exitCode") &&
		    !strcmp(vd_event_attr(ev, "exitCode"), "0")) {
			/* a one-shot that completed: the inspect says so */
		} else if (!strcmp(a, "die")) {
			s->event_fatal = true;
			snprintf(s->event_detail, sizeof(s->event_detail), "died (exit code %s)",
				 vd_event_attr(ev, "exitCode") ? vd_event_attr(ev, "exitCode") : "?");
		} else if (!strcmp(a, "oom")) {
			s->event_fatal = true;
			snprintf(s->event_detail, sizeof(s->event_detail), "ran out of memory");
		} else if (!strcmp(a, "destroy")) {
			s->event_fatal = true;
			snprintf(s->event_detail, sizeof(s->event_detail), "was removed");
		} else if (!strcmp(a, "health_status: unhealthy")) {
			s->event_fatal = true;
			snprintf(s->event_detail, sizeof(s->event_detail), "HEALTHCHECK unhealthy");
		} else if (!strcmp(a, "health_status: healthy") && healthy_by_event(w, i)) {
			vd_log_debug("health: %s: healthy by its event", vd_probe_name(s->p));
			continue;
		}
		/* whatever it was, look now (once the run in hand is over) */
		s->next_due_ms = 0;
		vd_log_debug("health: %s: event %s", vd_probe_name(s->p), a);
	}
	return 0;
}

static int on_stream_data(const char *data, size_t len, void *ctx, vd_error *err)
{
	struct waiter *w = ctx;

	return vd_events_parser_feed(&w->parser, data, len, err);
}

static void set_continuous(struct waiter *w, bool on)
{
	size_t i;

	for (i = 0; i < w->n; i++)
		w->tracks[i].continuous = on && w->slots[i].p->kind == VD_PROBE_CONTAINER &&
					  w->slots[i].id;
}

static void events_down(struct waiter *w, const char *why)
{
	size_t i;

	if (why)
		vd_log_debug("health: event stream ended (%s); container probes are polled", why);
	vd_docker_stream_free(w->stream);
	w->stream = NULL;
	w->events_up = false;
	set_continuous(w, false);
	/* nothing tells of a change any more: inspect at the probes' pace */
	for (i = 0; i < w->n; i++)
		if (w->slots[i].p->kind == VD_PROBE_CONTAINER && !w->slots[i].running)
			w->slots[i].next_due_ms = w->slots[i].started_ms + probe_interval(w->slots[i].p);
}

/* Watch the containers' events from the start of the wait (the engine
 * replays what happened since, so nothing between the first inspect and
 * the stream's start is lost) until just after the deadline. */
static void events_open(struct waiter *w)
{
	/* health_status matches its three values by prefix */
	static const char *const events[] = { "die", "oom", "destroy", "start", "health_status" };
	const char **filters = NULL;
	vd_buf fjson = VD_BUF_INIT;
	vd_error err = VD_ERROR_INIT;
	char since[32], until[32];
	size_t i, k = 0;
	int r = 0;

	w->events_tried = true;
	if (!w->d)
		return;
	filters = calloc(2 * w->n + 16, sizeof(*filters));
	if (!filters)
		goto done;
	filters[k++] = "type";
	filters[k++] = "container";
	for (i = 0; i < w->n; i++)
		if (w->slots[i].p->kind == VD_PROBE_CONTAINER && w->slots[i].id) {
			filters[k++] = "container";
			filters[k++] = w->slots[i].id;
		}
	if (k == 2)
		goto done;  /* no container to watch */
	for (i = 0; i < sizeof(events) / sizeof(events[0]); i++) {
		filters[k++] = "event";
		filters[k++] = events[i];
	}
	filters[k] = NULL;
	r = vd_docker_query_add(&w->ev_query, "since", vd_events_timestamp(w->wall_t0, since));
	if (!r)
		r = vd_docker_query_add(&w->ev_query, "until",
					vd_events_timestamp(w->wall_t0 + (double)w->deadline_ms / 1000.0 + 2,
							    until));
	if (!r)
		r = vd_docker_filters_json(&fjson, filters);
	if (!r)
		r = vd_docker_query_add(&w->ev_query, "filters", vd_buf_cstr(&fjson));
	if (r)
		goto done;
	w->ev_req.method = "GET";
	w->ev_req.path = "/events";
	w->ev_req.query = vd_buf_cstr(&w->ev_query);
	w->ev_req.on_data = on_stream_data;
	w->ev_req.ctx = w;
	/* events are rare: silence is normal until the deadline */
	w->ev_req.idle_timeout_ms = (long)(w->deadline_ms + 10000);
	if (vd_docker_stream_open(w->d, &w->ev_req, &w->stream, &err)) {
		vd_log_debug("health: no event stream: %s", vd_error_msg(&err));
		goto done;
	}
	w->events_up = true;
	w->events_used = true;
	set_continuous(w, true);
done:
	free(filters);
	vd_buf_release(&fjson);
	vd_error_release(&err);
}

/* --- waiting ---------------------------------------------------------------- */

#define MAX_STREAM_FDS 8

static int wait_once(struct waiter *w, uint64_t wake_in, vd_error *err)
{
	struct pollfd *fds;
	size_t *owner, n = 0, n_ev = 0, n_pg, n_stats = 0, i;
	uint64_t now = vd_now_ms(), until = now + wake_in;
	long timeout;
	bool room;
	int r = 0;

	if (w->cancel && until > now + CANCEL_POLL_MS)
		until = now + CANCEL_POLL_MS;

	for (i = 0; i < w->n; i++)
		if (w->slots[i].stats || w->slots[i].oc)
			n_stats++;
	fds = calloc(w->n + (n_stats + 1) * MAX_STREAM_FDS, sizeof(*fds));
	owner = calloc(w->n + (n_stats + 1) * MAX_STREAM_FDS, sizeof(*owner));
	if (!fds || !owner) {
		r = vd_error_set(err, VD_ENOMEM, "out of memory");
		goto done;
	}
	if (wake_in == UINT64_MAX)
		until = w->deadline_at;
	if (w->deadline_at < until)
		until = w->deadline_at;
	room = oc_room(w);  /* when there is none, a run in flight wakes the loop */
	for (i = 0; i < w->n; i++) {
		const struct slot *s = &w->slots[i];

		if (!s->running && s->next_due_ms < until)
			until = s->next_due_ms;
		if (room && !w->once && !s->oc && oc_wanted(w, s) && s->oc_due_ms < until)
			until = s->oc_due_ms;
	}
	if (w->stream) {
		long t = vd_docker_stream_timeout(w->stream);

		n_ev = vd_docker_stream_pollfds(w->stream, fds, MAX_STREAM_FDS);
		if (now + (uint64_t)t < until)
			until = now + (uint64_t)t;
	}
	n = n_ev;
	for (i = 0; i < w->n; i++) {
		struct slot *s = &w->slots[i];
		long t;

		if (!s->stats)
			continue;
		s->fd_off = n;
		s->fd_n = vd_docker_stream_pollfds(s->stats, fds + n, MAX_STREAM_FDS);
		n += s->fd_n;
		t = vd_docker_stream_timeout(s->stats);
		if (now + (uint64_t)t < until)
			until = now + (uint64_t)t;
	}
	for (i = 0; i < w->n; i++) {
		struct slot *s = &w->slots[i];
		long t;

		if (!s->oc)
			continue;
		s->oc_fd_off = n;
		s->oc_fd_n = vd_owncheck_pollfds(s->oc, fds + n, MAX_STREAM_FDS);
		n += s->oc_fd_n;
		t = vd_owncheck_timeout(s->oc);
		if (now + (uint64_t)t < until)
			until = now + (uint64_t)t;
	}
	n_pg = n;
	for (i = 0; i < w->n; i++) {
		struct slot *s = &w->slots[i];
		uint64_t left;

		if (!s->pg)
			continue;
		left = vd_postgres_check_pollfd(s->pg, &fds[n]);
		if (now + left < until)
			until = now + left;
		if (fds[n].fd < 0) {
			until = now;  /* nothing to wait for: step at once */
			continue;
		}
		owner[n++] = i;
	}
	timeout = until > now ? (long)(until - now > 60000 ? 60000 : until - now) : 0;
	r = vd_http_runner_wait(w->http, fds, n, timeout, err);
	if (r)
		goto done;

	if (w->stream) {
		vd_error serr = VD_ERROR_INIT;
		int sr = vd_docker_stream_perform(w->stream, fds, n_ev, &serr);

		if (sr)
			events_down(w, sr == VD_DOCKER_STREAM_END ? "closed" : vd_error_msg(&serr));
		vd_error_release(&serr);
	}
	for (i = 0; i < w->n; i++) {
		struct slot *s = &w->slots[i];
		vd_error serr = VD_ERROR_INIT;
		int sr;

		if (!s->stats)
			continue;
		sr = vd_docker_stream_perform(s->stats, fds + s->fd_off, s->fd_n, &serr);
		if (sr)
			resources_done(w, i, sr, &serr);
		vd_error_release(&serr);
	}
	for (i = 0; i < w->n; i++) {
		struct slot *s = &w->slots[i];
		vd_owncheck_result res;

		if (s->oc && vd_owncheck_step(s->oc, fds + s->oc_fd_off, s->oc_fd_n, &res)) {
			oc_stop(s);
			oc_done(w, i, &res, vd_now_ms());
		}
	}
	for (i = 0; i < w->n; i++) {
		struct slot *s = &w->slots[i];
		vd_health_result res;
		short revents = 0;
		size_t j;

		if (!s->pg)
			continue;
		for (j = n_pg; j < n; j++)
			if (owner[j] == i)
				revents = fds[j].revents;
		if (vd_postgres_check_step(s->pg, revents, &res)) {
			vd_postgres_check_free(s->pg);
			s->pg = NULL;
			record(w, i, &res, vd_now_ms());
		}
	}
	for (;;) {
		vd_health_result res;
		void *tag;
		struct slot *s;

		if (!vd_http_runner_next(w->http, &tag, &res))
			break;
		s = tag;
		record(w, (size_t)(s - w->slots), &res, vd_now_ms());
	}
done:
	free(fds);
	free(owner);
	return r;
}

static void probe_label(const vd_probe *p, char *out, size_t size)
{
	if (p->service && *p->service && strcmp(p->service, vd_probe_name(p)))
		snprintf(out, size, "%s/%s", p->service, vd_probe_name(p));
	else
		snprintf(out, size, "%s", vd_probe_name(p));
}

static void seconds(uint64_t ms, char *out, size_t size)
{
	if (ms % 1000)
		snprintf(out, size, "%.1fs", (double)ms / 1000.0);
	else
		snprintf(out, size, "%llus", (unsigned long long)(ms / 1000));
}

static int build_report(struct waiter *w, vd_health_verdict v, size_t culprit, uint64_t now,
			vd_health_report *out)
{
	char label[160], dl[32], sf[32], st[32];
	size_t i;
	int r = 0;

	out->verdict = v;
	out->elapsed_ms = now - w->t0;
	out->stable_for_ms = w->once ? 0 : w->stable_for_ms;
	out->events = w->events_used;
	for (i = 0; i < w->n && !r; i++) {
		struct slot *s = &w->slots[i];
		vd_health_result res = s->last;

		if (!s->has_result) {
			memset(&res, 0, sizeof(res));
			if (v == VD_VERDICT_UNHEALTHY && now >= w->deadline_at)
				vd_health_result_set(&res, VD_HEALTH_FAILING,
						     "no answer before the deadline");
			else
				vd_health_result_set(&res, VD_HEALTH_PENDING, "not run: %s",
						     "the verdict came first");
		}
		r = vd_health_report_add(out, s->p, &res,
					 vd_health_track_stable_ms(&w->tracks[i], now),
					 w->tracks[i].runs);
	}
	if (r)
		return r;
	seconds(w->deadline_ms, dl, sizeof(dl));
	seconds(w->stable_for_ms, sf, sizeof(sf));
	if (v == VD_VERDICT_HEALTHY) {
		if (w->once || !w->stable_for_ms)
			return vd_health_report_set_reason(out, "every probe passed");
		return vd_health_report_set_reason(out, "every probe passed for %s", sf);
	}
	if (!w->n)
		return vd_health_report_set_reason(out, "no probes");
	probe_label(w->slots[culprit].p, label, sizeof(label));
	if (w->tracks[culprit].certain)
		return vd_health_report_set_reason(out, "%s: %s", label,
						   out->entries[culprit].result.detail);
	if (w->once && now < w->deadline_at)
		return vd_health_report_set_reason(out, "%s: %s", label,
						   out->entries[culprit].result.detail);
	if (w->tracks[culprit].passing) {
		seconds(vd_health_track_stable_ms(&w->tracks[culprit], now), st, sizeof(st));
		return vd_health_report_set_reason(out,
						   "deadline of %s passed before every probe was stable "
						   "for %s: %s passed for %s only", dl, sf, label, st);
	}
	return vd_health_report_set_reason(out, "deadline of %s passed: %s: %s", dl, label,
					   out->entries[culprit].result.detail);
}

static void waiter_release(struct waiter *w)
{
	size_t i;

	vd_docker_stream_free(w->stream);
	vd_events_parser_release(&w->parser);
	vd_buf_release(&w->ev_query);
	vd_http_runner_free(w->http);
	for (i = 0; w->slots && i < w->n; i++) {
		vd_postgres_check_free(w->slots[i].pg);
		vd_docker_stream_free(w->slots[i].stats);
		vd_buf_release(&w->slots[i].stats_path);
		vd_buf_release(&w->slots[i].stats_body);
		vd_owncheck_free(w->slots[i].oc);
		vd_owncheck_cmd_release(&w->slots[i].oc_cmd);
		free(w->slots[i].id);
	}
	free(w->slots);
	free(w->tracks);
}

int vd_health_wait(vd_docker *d, const vd_probe *probes, size_t n,
		   const vd_health_wait_opts *opts, vd_health_report *out, vd_error *err)
{
	static const vd_health_wait_opts defaults = VD_HEALTH_WAIT_OPTS_INIT;
	struct waiter w;
	vd_health_verdict v = VD_VERDICT_PENDING;
	size_t i, culprit = 0;
	uint64_t now, wake_in = UINT64_MAX;
	int r = 0;

	if (!opts)
		opts = &defaults;
	vd_health_report_init(out);
	memset(&w, 0, sizeof(w));
	vd_buf_init(&w.ev_query, 1 << 16);
	vd_events_parser_init(&w.parser, 0, on_event, &w);
	for (i = 0; i < n; i++) {
		r = vd_probe_validate(&probes[i], err);
		if (r)
			goto done;
		if (!d && (probes[i].kind == VD_PROBE_CONTAINER ||
			   probes[i].kind == VD_PROBE_RESOURCES || probes[i].kind == VD_PROBE_SERVICE)) {
			r = vd_error_set(err, VD_EINVAL, "probe %s: needs a Docker engine",
					 vd_probe_name(&probes[i]));
			goto done;
		}
	}
	w.d = d;
	w.cancel = opts->cancel;
	w.n = n;
	w.once = opts->once;
	w.deadline_ms = opts->deadline_ms ? opts->deadline_ms : VD_HEALTH_DEFAULT_DEADLINE_MS;
	w.stable_for_ms = opts->stable_for_ms;
	w.fast_check_ms = opts->fast_check_ms;
	w.on_note = opts->on_note;
	w.note_ctx = opts->note_ctx;
	w.t0 = vd_now_ms();
	w.wall_t0 = vd_events_now();
	w.deadline_at = w.t0 + w.deadline_ms;
	w.slots = calloc(n ? n : 1, sizeof(*w.slots));
	w.tracks = calloc(n ? n : 1, sizeof(*w.tracks));
	if (!w.slots || !w.tracks) {
		r = vd_error_set(err, VD_ENOMEM, "out of memory");
		goto done;
	}
	for (i = 0; i < n; i++) {
		w.slots[i].p = &probes[i];
		w.slots[i].has_baseline = probes[i].container.has_restart_baseline;
		w.slots[i].baseline = probes[i].container.restart_baseline;
		vd_buf_init(&w.slots[i].stats_path, 1 << 12);
		vd_buf_init(&w.slots[i].stats_body, 1 << 20);
	}
	r = vd_http_runner_new(&w.http, err);
	if (r)
		goto done;

	for (;;) {
		if (w.cancel && *w.cancel) {
			r = vd_error_set(err, VD_ETIMEOUT, "cancelled");
			goto done;
		}
		r = start_due(&w, err);
		if (r)
			goto done;
		now = vd_now_ms();
		v = vd_health_judge(w.tracks, n, now, w.stable_for_ms, w.deadline_at, w.once,
				    &culprit, &wake_in);
		if (v != VD_VERDICT_PENDING)
			break;
		if (!w.once && !w.events_tried)
			events_open(&w);
		r = wait_once(&w, wake_in, err);
		if (r)
			goto done;
	}
	now = vd_now_ms();
	r = build_report(&w, v, culprit, now, out);
	if (r) {
		r = vd_error_set(err, VD_ENOMEM, "out of memory");
		goto done;
	}
	if (v == VD_VERDICT_UNHEALTHY)
		r = vd_error_set(err, VD_EUNHEALTHY, "unhealthy: %s", out->reason);
done:
	waiter_release(&w);
	if (r && r != VD_EUNHEALTHY)
		vd_health_report_release(out);
	return r;
}

int vd_health_check(vd_docker *d, const vd_probe *probes, size_t n, uint64_t deadline_ms,
		    uint64_t fast_check_ms, vd_health_report *out, vd_error *err)
{
	vd_health_wait_opts o = VD_HEALTH_WAIT_OPTS_INIT;

	o.deadline_ms = deadline_ms;
	o.fast_check_ms = fast_check_ms;
	o.once = true;
	return vd_health_wait(d, probes, n, &o, out, err);
}
