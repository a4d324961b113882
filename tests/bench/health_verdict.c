/* Benchmark: how fast vd_health_wait() (health/wait.h) reaches its verdict
 * against the real engine.
 *
 *   healthy    a busybox container whose HEALTHCHECK starts passing after
 *              ~1 s (interval 100 ms, a start period so that the early
 *              failures do not count); latency = vd_health_wait() returning
 *              0 (stable_for 0) minus the timeNano of the engine's
 *              `health_status: healthy` event for it.  Target: median ≤ 50 ms.
 *   crash      a container that runs `exit 3`; latency = the unhealthy
 *              verdict minus the timeNano of its `die` event, with a 60 s
 *              deadline and a 3 s stability window (see below).  Target:
 *              median ≤ 1 s.
 *
 * The event times come from the engine's own event stream, read in a second
 * thread (its own client) opened before the container starts, filtered on
 * the container.  Both clocks are the same machine's wall clock.
 *
 * Every container carries io.voxdeploy.test=1 and a label unique to this run
 * (io.voxdeploy.bench=<run>); each is removed after its round, and whatever
 * is left with the run's label is removed at the end, pass or fail.
 * Prints the medians and p90s; no assertion on speed (exit 1 only when a
 * round could not be measured).
 *
 * usage: health_verdict [ROUNDS]   (default 20; DOCKER_HOST and
 *        VD_TEST_BUSYBOX_IMAGE as for the integration tests)
 */
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/json.h"
#include "common/log.h"
#include "docker_api/container.h"
#include "docker_api/docker.h"
#include "docker_api/events.h"
#include "health/probe.h"
#include "health/report.h"
#include "health/wait.h"

/* The crash case waits with a stability window: with stable_for 0 one
 * passing inspect is a healthy verdict, and an inspect that lands in the
 * instant between start and `exit 3` does pass (seen in 2 of 3 rounds
 * here), so "healthy" would be the right answer to the wrong question. */
#define CRASH_STABLE_FOR_MS 3000

static char run_label[64];
static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	interrupted = 1;
}

static int64_t wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static const char *busybox_image(void)
{
	const char *s = getenv("VD_TEST_BUSYBOX_IMAGE");

	return s && *s ? s : "voxdeploy-test/busybox:1";
}

/* ---- the event watcher (its own client, its own thread) ---- */

struct watch {
	vd_docker *d;
	const char *id;
	const char *action;        /* "health_status: healthy" or "die" */
	char since[32];
	int64_t event_ns;          /* 0 until seen */
	int rc;
	vd_error err;
};

static int on_event(const vd_event *ev, void *ctx, vd_error *err)
{
	struct watch *w = ctx;

	if (ev->action && !strcmp(ev->action, w->action)) {
		w->event_ns = ev->time_nano;
		return VD_EVENTS_STOP;
	}
	/* removed before the event came (a failed round): nothing more to see */
	return ev->action && !strcmp(ev->action, "destroy") ? VD_EVENTS_STOP : 0;
}

static void *watch_main(void *arg)
{
	struct watch *w = arg;
	const char *filters[] = { "type", "container", "container", w->id, NULL };
	vd_events_opts o = VD_EVENTS_OPTS_INIT;

	o.since = w->since;
	o.filters = filters;
	o.idle_timeout_ms = 70000;
	o.deadline_ms = 70000;
	w->rc = vd_events_read(w->d, &o, on_event, w, &w->err);
	return NULL;
}

/* ---- one round ---- */

static int create_container(vd_docker *d, const char *name, const char *script,
			    const char *extra, char **id, vd_error *err)
{
	vd_buf body = VD_BUF_INIT;
	int r;

	vd_buf_printf(&body,
		      "{\"Image\":\"%s\",\"Cmd\":[\"sh\",\"-c\",\"%s\"],"
		      "\"Labels\":{\"io.voxdeploy.test\":\"1\",\"io.voxdeploy.bench\":\"%s\"}%s%s}",
		      busybox_image(), script, run_label, extra ? "," : "", extra ? extra : "");
	r = vd_container_create(d, name, vd_buf_cstr(&body), id, err);
	vd_buf_release(&body);
	return r;
}

/* Start the container, wait for the verdict, return verdict time minus the
 * event's time in *out_ms.  want_rc: 0 or VD_EUNHEALTHY. */
static int round_once(vd_docker *d, vd_docker *dw, const char *kind, int i, const char *script,
		      const char *extra, const char *action, uint64_t stable_for_ms, int want_rc,
		      double *out_ms)
{
	vd_error err = VD_ERROR_INIT;
	vd_health_wait_opts wo = VD_HEALTH_WAIT_OPTS_INIT;
	vd_health_report rep;
	struct watch w = { 0 };
	pthread_t th;
	char name[128], *id = NULL;
	vd_probe p;
	int r, ok = -1;
	bool removed = false;
	int64_t verdict_ns;

	snprintf(name, sizeof(name), "vdbench_%s_%s_%d", run_label, kind, i);
	r = create_container(d, name, script, extra, &id, &err);
	if (r) {
		fprintf(stderr, "health_verdict: create %s: %s\n", name, vd_error_msg(&err));
		goto done;
	}
	w.d = dw;
	w.id = id;
	w.action = action;
	vd_events_timestamp(vd_events_now() - 1, w.since);
	if (pthread_create(&th, NULL, watch_main, &w)) {
		fprintf(stderr, "health_verdict: cannot start a thread\n");
		goto done;
	}
	r = vd_container_start(d, id, &err);
	if (r) {
		fprintf(stderr, "health_verdict: start %s: %s\n", name, vd_error_msg(&err));
		/* the watcher ends at its deadline; removing the container ends it sooner */
		removed = !vd_container_remove(d, id, true, true, &err);
		pthread_join(th, NULL);
		goto done;
	}

	memset(&p, 0, sizeof(p));
	p.kind = VD_PROBE_CONTAINER;
	p.name = kind;
	p.container.ref = id;
	wo.deadline_ms = 60000;
	wo.stable_for_ms = stable_for_ms;
	r = vd_health_wait(d, &p, 1, &wo, &rep, &err);
	verdict_ns = wall_ns();
	if (r == 0 || r == VD_EUNHEALTHY)
		vd_health_report_release(&rep);

	/* the healthy case may see its verdict before the event is read:
	 * the watcher still gets it from the stream */
	if (r != want_rc) {
		/* the event may never come: removing the container ends the watch */
		removed = !vd_container_remove(d, id, true, true, &err);
	}
	pthread_join(th, NULL);
	if (r != want_rc) {
		fprintf(stderr, "health_verdict: %s round %d: wait returned %d (%s), expected %d\n",
			kind, i, r, vd_error_msg(&err), want_rc);
		goto done;
	}
	if (!w.event_ns) {
		fprintf(stderr, "health_verdict: %s round %d: no '%s' event (%s)\n", kind, i, action,
			w.rc ? vd_error_msg(&w.err) : "stream ended");
		goto done;
	}
	*out_ms = (double)(verdict_ns - w.event_ns) / 1e6;
	ok = 0;
done:
	if (id && !removed && vd_container_remove(d, id, true, true, &err))
		fprintf(stderr, "health_verdict: remove %s: %s\n", name, vd_error_msg(&err));
	free(id);
	vd_error_release(&w.err);
	vd_error_release(&err);
	return ok;
}

/* Remove whatever this run left behind. */
static void cleanup(vd_docker *d)
{
	vd_error err = VD_ERROR_INIT;
	char label[96];
	const char *pairs[] = { "label", label, NULL };
	vd_container_array cl = { NULL, 0 };

	snprintf(label, sizeof(label), "io.voxdeploy.bench=%s", run_label);
	if (!vd_container_list(d, true, pairs, &cl, &err))
		for (size_t i = 0; i < cl.len; i++)
			vd_container_remove(d, cl.items[i].id, true, true, &err);
	vd_container_array_release(&cl);
	vd_error_release(&err);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void summary(const char *what, double *v, int n, double target_ms)
{
	double med, p90;

	if (!n) {
		printf("%s: no measurement\n", what);
		return;
	}
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	p90 = v[(n * 9 + 9) / 10 - 1];
	printf("%s: %d rounds, median %.1f ms, p90 %.1f ms, min %.1f ms, max %.1f ms "
	       "(target median <= %.0f ms: %s)\n",
	       what, n, med, p90, v[0], v[n - 1], target_ms, med <= target_ms ? "met" : "MISSED");
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 20, n_ok = 0, n_crash = 0, failed = 0;
	vd_error err = VD_ERROR_INIT;
	vd_docker *d = NULL, *dw = NULL;
	double *healthy = NULL, *crash = NULL;
	struct sigaction sa;

	if (rounds < 1) {
		fprintf(stderr, "usage: health_verdict [ROUNDS]\n");
		return 2;
	}
	snprintf(run_label, sizeof(run_label), "hv%dx%ld", (int)getpid(), (long)time(NULL));
	vd_log_set_level(VD_LOG_ERROR);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	if (vd_docker_new(&d, NULL, &err) || vd_docker_connect(d, &err) ||
	    vd_docker_new(&dw, NULL, &err) || vd_docker_connect(dw, &err)) {
		fprintf(stderr, "health_verdict: needs a Docker engine: %s\n", vd_error_msg(&err));
		vd_error_release(&err);
		vd_docker_free(d);
		vd_docker_free(dw);
		return 2;
	}
	healthy = calloc((size_t)rounds, sizeof(*healthy));
	crash = calloc((size_t)rounds, sizeof(*crash));
	if (!healthy || !crash)
		goto done;

	for (int i = 0; i < rounds && !interrupted; i++) {
		double ms;

		if (round_once(d, dw, "healthy", i, "sleep 1; : > /tmp/ready; exec sleep 600",
			       "\"Healthcheck\":{\"Test\":[\"CMD-SHELL\",\"[ -f /tmp/ready ]\"],"
			       "\"Interval\":100000000,\"Timeout\":2000000000,\"Retries\":3,"
			       "\"StartPeriod\":30000000000}",
			       "health_status: healthy", 0, 0, &ms) == 0)
			healthy[n_ok++] = ms;
		else
			failed++;
		fprintf(stderr, "healthy round %d/%d\n", i + 1, rounds);
	}
	for (int i = 0; i < rounds && !interrupted; i++) {
		double ms;

		if (round_once(d, dw, "crash", i, "exit 3", NULL, "die", CRASH_STABLE_FOR_MS,
			       VD_EUNHEALTHY, &ms) == 0)
			crash[n_crash++] = ms;
		else
			failed++;
		fprintf(stderr, "crash round %d/%d\n", i + 1, rounds);
	}

	summary("healthy: health_status event -> vd_health_wait healthy", healthy, n_ok, 50);
	summary("crash:   die event -> vd_health_wait unhealthy (stable_for 3 s)", crash, n_crash,
		1000);
done:
	cleanup(d);
	free(healthy);
	free(crash);
	vd_docker_free(d);
	vd_docker_free(dw);
	vd_error_release(&err);
	if (interrupted)
		return 130;
	return failed ? 1 : 0;
}
