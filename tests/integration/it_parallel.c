/* FULL_RESTART's starts along the depends_on graph, end to end: the real
 * binary on a real stack of fourteen services and a real git repository.
 *
 *   postgres (HEALTHCHECK, named volume, rows)
 *     ├─ seed   one-shot `sh -c "exit 0"`, restart "no"      (service_healthy)
 *     ├─ c1 ── c2 ── c3                                        (healthy, healthy, started;
 *     │                                                          c3 also seed completed)
 *     ├─ f1 … f8  busybox httpd, HEALTHCHECK every 1 s          (service_healthy each)
 *     └─ app      built FROM the busybox fixture: seed completed, c1 healthy, f8 healthy
 *
 * The order is checked from the engine's own event stream (GET /events,
 * read live from before the deploy until after it: the engine keeps only
 * 256 past events and the health checks alone make dozens a second), never
 * from wall-clock durations. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <libpq-fe.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/json.h"
#include "docker_api/container.h"
#include "docker_api/events.h"
#include "docker_api/image.h"
#include "docker_api/volume.h"
#include "integration/itest.h"
#include "integration/itest_pg.h"
#include "gitrepo.h"
#include "testutil.h"

#define LABEL_PROJECT "com.docker.compose.project"
#define LABEL_SERVICE "com.docker.compose.service"
#define PARALLEL 8
#define NONE INT64_MAX

static struct repo repo;
static char project[64], state_dir[300], out_path[300], err_path[300];
static char commit[VD_SHA_HEX];
static int pg_port;
static char *out_text, *err_text;
static const char *fault;   /* VOXDEPLOY_FAULT for the next run */
/* whether the fixture images had a voxdeploy-previous tag before this run
 * (a deploy tags what runs; the tag is removed at the end when it was ours) */
static bool had_previous[2];

/* ------------------------------------------------------------------ the graph */

enum cond { STARTED, HEALTHY, COMPLETED };

static const char *const cond_name[] = { "service_started", "service_healthy",
					 "service_completed_successfully" };

struct dep {
	const char *service, *on;
	enum cond cond;
};

/* The stack's depends_on, the compose file is written from it. */
static const struct dep deps[] = {
	{ "seed", "postgres", HEALTHY },
	{ "c1", "postgres", HEALTHY },
	{ "c2", "c1", HEALTHY },
	{ "c3", "c2", STARTED },
	{ "c3", "seed", COMPLETED },
	{ "f1", "postgres", HEALTHY },
	{ "f2", "postgres", HEALTHY },
	{ "f3", "postgres", HEALTHY },
	{ "f4", "postgres", HEALTHY },
	{ "f5", "postgres", HEALTHY },
	{ "f6", "postgres", HEALTHY },
	{ "f7", "postgres", HEALTHY },
	{ "f8", "postgres", HEALTHY },
	{ "app", "seed", COMPLETED },
	{ "app", "c1", HEALTHY },
	{ "app", "f8", HEALTHY },
};
#define N_DEPS (sizeof(deps) / sizeof(deps[0]))

static const char *const services[] = { "postgres", "seed", "c1", "c2", "c3", "f1", "f2",
					"f3", "f4", "f5", "f6", "f7", "f8", "app" };
#define N_SERVICES (sizeof(services) / sizeof(services[0]))

static const char *const fan[] = { "f1", "f2", "f3", "f4", "f5", "f6", "f7", "f8" };
#define N_FAN (sizeof(fan) / sizeof(fan[0]))

/* the one-shot: exited 0 is its healthy */
static bool one_shot(const char *service)
{
	return !strcmp(service, "seed");
}

/* ------------------------------------------------------------------ running the binary */

static int vd(const char *first, ...)
{
	const char *argv[32], *env[2];
	char fault_env[128];
	struct tu_proc p = { argv, NULL, out_path, err_path, env, true };
	va_list ap;
	int n = 0, status;

	argv[n++] = VD_BINARY;
	argv[n++] = "-C";
	argv[n++] = repo.dir;
	argv[n++] = "--state-dir";
	argv[n++] = state_dir;
	argv[n++] = first;
	va_start(ap, first);
	while (n < 31 && (argv[n] = va_arg(ap, const char *)))
		n++;
	va_end(ap);
	argv[n] = NULL;
	env[0] = NULL;
	if (fault) {
		snprintf(fault_env, sizeof(fault_env), "VOXDEPLOY_FAULT=%s", fault);
		env[0] = fault_env;
		env[1] = NULL;
	}
	status = tu_wait(tu_spawn(&p), 600, first);
	free(out_text);
	free(err_text);
	out_text = tu_slurp(out_path);
	err_text = tu_slurp(err_path);
	if (getenv("VD_TEST_VERBOSE"))
		fprintf(stderr, "--- %s\n%s%s", first, err_text, out_text);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

static bool has(const char *text, const char *needle)
{
	if (!strstr(text, needle))
		fprintf(stderr, "expected '%s' in:\n%s\n", needle, text);
	return strstr(text, needle) != NULL;
}

#define put(...) repo_putf(&repo, __VA_ARGS__)

/* ------------------------------------------------------------------ the stack */

static const char *const dockerfile =
	"FROM %s\n"
	"COPY src/ /www/\n"
	"HEALTHCHECK --interval=1s --timeout=2s --retries=2 CMD wget -q -O- http://127.0.0.1:8080/health || exit 1\n"
	"CMD [\"httpd\", \"-f\", \"-p\", \"8080\", \"-h\", \"/www\"]\n";

static void put_depends_on(FILE *f, const char *service)
{
	size_t i;
	bool any = false;

	for (i = 0; i < N_DEPS; i++) {
		if (strcmp(deps[i].service, service))
			continue;
		if (!any)
			fprintf(f, "    depends_on:\n");
		any = true;
		fprintf(f, "      %s:\n        condition: %s\n", deps[i].on, cond_name[deps[i].cond]);
	}
}

/* The compose file; broken names the one service whose HEALTHCHECK asks for
 * a page httpd does not have (NULL: none). */
static void write_stack(const char *broken)
{
	char *text = NULL;
	size_t len = 0, i;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	fprintf(f,
		"name: %s\n"
		"services:\n"
		"  postgres:\n"
		"    image: %s\n"
		"    environment:\n"
		"      POSTGRES_USER: vd\n"
		"      POSTGRES_PASSWORD: ${DB_PASSWORD}\n"
		"      POSTGRES_DB: vd\n"
		"    ports: [\"127.0.0.1:${PG_PORT}:5432\"]\n"
		"    volumes: [pgdata:/var/lib/postgresql/data]\n"
		"    healthcheck:\n"
		"      test: [\"CMD\", \"pg_isready\", \"-U\", \"vd\", \"-h\", \"127.0.0.1\"]\n"
		"      interval: 1s\n"
		"      timeout: 3s\n"
		"      retries: 30\n"
		"    labels: [io.voxdeploy.test=1]\n"
		"  seed:\n"
		"    image: %s\n"
		"    command: sh -c \"exit 0\"\n"
		"    restart: \"no\"\n"
		"    labels: [io.voxdeploy.test=1]\n",
		project, itest_postgres_image(), itest_busybox_image());
	put_depends_on(f, "seed");
	for (i = 0; i < N_SERVICES; i++) {
		const char *s = services[i];

		if (!strcmp(s, "postgres") || !strcmp(s, "seed") || !strcmp(s, "app"))
			continue;
		fprintf(f,
			"  %s:\n"
			"    image: %s\n"
			"    command: [\"sh\", \"-c\", \"mkdir -p /www && echo ok > /www/health && "
			"exec httpd -f -p 8080 -h /www\"]\n"
			"    stop_grace_period: 1s\n"
			"    healthcheck:\n"
			"      test: [\"CMD-SHELL\", \"wget -q -O- http://127.0.0.1:8080/%s\"]\n"
			"      interval: 1s\n"
			"      timeout: 2s\n"
			"      retries: 2\n"
			"    labels: [io.voxdeploy.test=1]\n",
			s, itest_busybox_image(), broken && !strcmp(broken, s) ? "broken" : "health");
		put_depends_on(f, s);
	}
	fprintf(f,
		"  app:\n"
		"    build: .\n"
		"    stop_grace_period: 1s\n"
		"    labels: [io.voxdeploy.test=1]\n");
	put_depends_on(f, "app");
	fprintf(f,
		"networks:\n"
		"  default:\n"
		"    labels: {io.voxdeploy.test: \"1\"}\n"
		"volumes:\n"
		"  pgdata:\n"
		"    labels: {io.voxdeploy.test: \"1\"}\n");
	assert_int_equal(fclose(f), 0);
	put("docker-compose.yml", "%s", text);
	free(text);
}

/* ------------------------------------------------------------------ the engine's events */

enum ev_kind { EV_CREATE, EV_START, EV_DIE, EV_HEALTHY, EV_UNHEALTHY, EV_EXEC_START, EV_EXEC_DIE,
	       EV_CONNECT };

struct rec_ev {
	enum ev_kind kind;
	char id[72];        /* the container's */
	char service[48];   /* "" on network events */
	char exec_id[72];   /* exec_start, exec_die */
	int exit_code;      /* die, exec_die; -1 when the engine gave none */
	bool check;         /* an exec_start running a HEALTHCHECK's command */
	int64_t t;          /* the engine's timeNano */
};

/* A thread reads the engine's events of this project (container events by
 * its label, the connects of its network) while a run goes on. */
static struct {
	pthread_t thread;
	bool running;
	volatile int stop;
	pthread_mutex_t mu;
	struct rec_ev *v;
	size_t n, cap;
	int64_t since, skip_upto;
	int rc;
	char err[300];
} rec = { .mu = PTHREAD_MUTEX_INITIALIZER };

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int rec_event(const vd_event *ev, void *ctx, vd_error *err)
{
	struct rec_ev e;
	char net[128];
	const char *a = ev->action ? ev->action : "", *v;

	(void)ctx;
	(void)err;
	if (rec.stop)
		return VD_EVENTS_STOP;
	if (ev->time_nano <= rec.skip_upto || !ev->type || !ev->actor_id)
		return 0;  /* read before a resumed stream */
	memset(&e, 0, sizeof(e));
	e.exit_code = -1;
	e.t = ev->time_nano;
	if (!strcmp(ev->type, "network")) {
		snprintf(net, sizeof(net), "%s_default", project);
		v = vd_event_attr(ev, "container");
		if (strcmp(a, "connect") || !v || !vd_event_attr(ev, "name") ||
		    strcmp(vd_event_attr(ev, "name"), net))
			return 0;
		e.kind = EV_CONNECT;
		snprintf(e.id, sizeof(e.id), "%s", v);
	} else if (!strcmp(ev->type, "container")) {
		v = vd_event_attr(ev, LABEL_PROJECT);
		if (!v || strcmp(v, project) || !vd_event_attr(ev, LABEL_SERVICE))
			return 0;
		snprintf(e.id, sizeof(e.id), "%s", ev->actor_id);
		snprintf(e.service, sizeof(e.service), "%s", vd_event_attr(ev, LABEL_SERVICE));
		if ((v = vd_event_attr(ev, "exitCode")))
			e.exit_code = atoi(v);
		if ((v = vd_event_attr(ev, "execID")))
			snprintf(e.exec_id, sizeof(e.exec_id), "%s", v);
		if (!strcmp(a, "create"))
			e.kind = EV_CREATE;
		else if (!strcmp(a, "start"))
			e.kind = EV_START;
		else if (!strcmp(a, "die"))
			e.kind = EV_DIE;
		else if (!strcmp(a, "health_status: healthy"))
			e.kind = EV_HEALTHY;
		else if (!strcmp(a, "health_status: unhealthy"))
			e.kind = EV_UNHEALTHY;
		else if (!strncmp(a, "exec_start: ", 12)) {
			e.kind = EV_EXEC_START;
			/* every HEALTHCHECK of the stack: pg_isready or wget */
			e.check = strstr(a, "pg_isready") || strstr(a, "wget -q -O- http://127.0.0.1:8080/");
		} else if (!strcmp(a, "exec_die"))
			e.kind = EV_EXEC_DIE;
		else
			return 0;
	} else {
		return 0;
	}
	pthread_mutex_lock(&rec.mu);
	if (rec.n == rec.cap) {
		size_t cap = rec.cap ? rec.cap * 2 : 1024;
		struct rec_ev *nv = realloc(rec.v, cap * sizeof(*nv));

		if (!nv) {
			pthread_mutex_unlock(&rec.mu);
			return VD_ENOMEM;
		}
		rec.v = nv;
		rec.cap = cap;
	}
	rec.v[rec.n++] = e;
	pthread_mutex_unlock(&rec.mu);
	return 0;
}

static void *rec_main(void *arg)
{
	static const char *const filters[] = { "type", "container", "type", "network", NULL };
	vd_docker *d = NULL;
	vd_error err = VD_ERROR_INIT;
	int64_t from = rec.since;
	char since[48];
	int rc;

	(void)arg;
	if ((rc = vd_docker_new(&d, NULL, &err)) || (rc = vd_docker_connect(d, &err)))
		goto out;
	while (!rec.stop) {
		vd_events_opts o = VD_EVENTS_OPTS_INIT;

		snprintf(since, sizeof(since), "%lld.%09lld", (long long)(from / 1000000000),
			 (long long)(from % 1000000000));
		o.since = since;
		o.filters = filters;
		o.idle_timeout_ms = 5000;
		rc = vd_events_read(d, &o, rec_event, NULL, &err);
		if (rc && rc != VD_ETIMEOUT)
			break;
		rc = 0;
		vd_error_release(&err);
		/* a quiet stream (or one the engine ended): read on from the
		 * last event kept, without keeping anything twice */
		pthread_mutex_lock(&rec.mu);
		if (rec.n) {
			from = rec.v[rec.n - 1].t;
			rec.skip_upto = from;
		}
		pthread_mutex_unlock(&rec.mu);
	}
out:
	if (rc) {
		rec.rc = rc;
		snprintf(rec.err, sizeof(rec.err), "%s", vd_error_msg(&err));
	}
	vd_error_release(&err);
	vd_docker_free(d);
	return NULL;
}

static void rec_stop(void)
{
	if (!rec.running)
		return;
	rec.stop = 1;
	pthread_join(rec.thread, NULL);
	rec.running = false;
}

/* Forget what was read and read from now on. */
static void rec_start(void)
{
	rec_stop();
	free(rec.v);
	rec.v = NULL;
	rec.n = rec.cap = 0;
	rec.stop = 0;
	rec.rc = 0;
	rec.err[0] = '\0';
	rec.since = now_ns();
	rec.skip_upto = 0;
	assert_int_equal(pthread_create(&rec.thread, NULL, rec_main, NULL), 0);
	rec.running = true;
}

static void rec_end(void)
{
	rec_stop();
	if (rec.rc)
		fail_msg("reading the engine's events: %d %s", rec.rc, rec.err);
}

/* The first event of a kind for a container (NONE: there is none). */
static int64_t ev_first(enum ev_kind kind, const char *id)
{
	size_t i;

	for (i = 0; i < rec.n; i++)
		if (rec.v[i].kind == kind && !strcmp(rec.v[i].id, id))
			return rec.v[i].t;
	return NONE;
}

/* The last network connect of a container before t: the start that ended
 * at t began then (the engine connects a container's networks inside its
 * start request, and nowhere else). */
static int64_t ev_connect_before(const char *id, int64_t t)
{
	int64_t found = NONE;
	size_t i;

	for (i = 0; i < rec.n; i++)
		if (rec.v[i].kind == EV_CONNECT && !strcmp(rec.v[i].id, id) && rec.v[i].t <= t)
			found = rec.v[i].t;
	return found;
}

/* A run of the container's HEALTHCHECK command that passed: the engine's
 * own run or voxdeploy's (health.fast_check runs the same command through
 * the exec API while the engine still says `starting`, and a passing run
 * releases service_healthy dependents, as the README says). */
static int64_t ev_check_passed(const char *id)
{
	int64_t best = NONE;
	size_t i, j;

	for (i = 0; i < rec.n; i++) {
		const struct rec_ev *e = &rec.v[i];

		if (e->kind != EV_EXEC_DIE || e->exit_code != 0 || strcmp(e->id, id) || !e->exec_id[0])
			continue;
		for (j = 0; j < i; j++)
			if (rec.v[j].kind == EV_EXEC_START && rec.v[j].check &&
			    !strcmp(rec.v[j].exec_id, e->exec_id)) {
				if (e->t < best)
					best = e->t;
				break;
			}
	}
	return best;
}

/* When a container's condition first held: its start (service_started);
 * the engine's `health_status: healthy` or an earlier passing run of its
 * HEALTHCHECK (service_healthy); its `die` with exitCode 0
 * (service_completed_successfully). */
static int64_t held_at(const char *id, enum cond c)
{
	size_t i;

	if (c == STARTED)
		return ev_first(EV_START, id);
	if (c == HEALTHY) {
		int64_t h = ev_first(EV_HEALTHY, id), p = ev_check_passed(id);

		return h < p ? h : p;
	}
	for (i = 0; i < rec.n; i++)
		if (rec.v[i].kind == EV_DIE && !strcmp(rec.v[i].id, id) && rec.v[i].exit_code == 0)
			return rec.v[i].t;
	return NONE;
}

/* ------------------------------------------------------------------ the containers */

static char *cname(const char *service)
{
	char *s = NULL;

	assert_true(asprintf(&s, "%s-%s-1", project, service) > 0);
	return s;
}

struct snap {
	char *id[N_SERVICES], *image[N_SERVICES];
};

static void snap_take(struct snap *s)
{
	size_t i;

	for (i = 0; i < N_SERVICES; i++) {
		vd_container_info info;
		vd_error err = VD_ERROR_INIT;
		char *name = cname(services[i]);

		if (vd_container_inspect(itest_docker(), name, &info, &err))
			fail_msg("%s: %s", name, vd_error_msg(&err));
		s->id[i] = strdup(info.id);
		s->image[i] = strdup(info.image_id);
		vd_container_info_release(&info);
		free(name);
	}
}

static void snap_free(struct snap *s)
{
	size_t i;

	for (i = 0; i < N_SERVICES; i++) {
		free(s->id[i]);
		free(s->image[i]);
	}
}

static int service_index(const char *service)
{
	size_t i;

	for (i = 0; i < N_SERVICES; i++)
		if (!strcmp(services[i], service))
			return (int)i;
	fail_msg("no service %s", service);
	return -1;
}

/* A service's container as it should be when the stack is up: running
 * (and, with health, healthy), the one-shot exited 0.  Returns why not, or
 * NULL. */
static const char *not_up(const char *service, const vd_container_info *info)
{
	if (one_shot(service))
		return info->running || strcmp(info->status, "exited") ? "not exited" :
		       info->exit_code ? "exited non-zero" : NULL;
	if (!info->running)
		return "not running";
	if (!info->health || strcmp(info->health, "healthy"))
		return "not healthy";
	return NULL;
}

/* Each service has exactly one container of the project, named as compose
 * names it, and nothing a swap names while it works is left; `up` also
 * wants it up.  Returns a reason or NULL; ids (may be NULL) gets the
 * containers' ids, in services' order. */
static char *stack_state(bool up, struct snap *ids)
{
	vd_container_array list = { NULL, 0 };
	vd_error err = VD_ERROR_INIT;
	char label[200], *why = NULL;
	const char *pairs[3] = { "label", label, NULL };
	size_t i, k, count[N_SERVICES] = { 0 };

	snprintf(label, sizeof(label), "%s=%s", LABEL_PROJECT, project);
	itest_ok(vd_container_list(itest_docker(), true, pairs, &list, &err), &err);
	for (i = 0; i < list.len && !why; i++) {
		const char *svc = vd_kvs_get(&list.items[i].labels, LABEL_SERVICE);

		if (strstr(list.items[i].name, "-voxdeploy-"))
			assert_true(asprintf(&why, "left over: %s", list.items[i].name) > 0);
		else if (!svc)
			assert_true(asprintf(&why, "no service label: %s", list.items[i].name) > 0);
		else
			count[service_index(svc)]++;
	}
	vd_container_array_release(&list);
	for (k = 0; k < N_SERVICES && !why; k++) {
		vd_container_info info;
		char *name = cname(services[k]);
		const char *bad;

		if (count[k] != 1)
			assert_true(asprintf(&why, "%s has %zu containers", services[k], count[k]) > 0);
		else if (vd_container_inspect(itest_docker(), name, &info, &err))
			assert_true(asprintf(&why, "%s: %s", name, vd_error_msg(&err)) > 0);
		else {
			if (up && (bad = not_up(services[k], &info)))
				assert_true(asprintf(&why, "%s: %s (%s, health %s)", name, bad, info.status,
						     info.health ? info.health : "none") > 0);
			if (ids) {
				ids->id[k] = strdup(info.id);
				ids->image[k] = strdup(info.image_id);
			}
			vd_container_info_release(&info);
		}
		free(name);
	}
	vd_error_release(&err);
	return why;
}

/* The stack is up; the engine may still say `starting` for a moment after a
 * run proved a container healthy by its own check, so this waits for the
 * engine (a bound against hanging, not a speed requirement). */
static void assert_stack_up(struct snap *ids)
{
	char *why = NULL;
	int tries;

	for (tries = 0; tries < 120; tries++) {
		free(why);
		if (!(why = stack_state(true, NULL)))
			break;
		usleep(500 * 1000);
	}
	if (why)
		fail_msg("the stack is not up: %s", why);
	if (ids && (why = stack_state(true, ids)))
		fail_msg("the stack is not up: %s", why);
}

/* ------------------------------------------------------------------ PostgreSQL */

static PGconn *pg(void)
{
	return itest_pg_connect(pg_port, "s3cret-pg");
}

static long pg_rows(void)
{
	return itest_pg_count(pg_port, "s3cret-pg", "SELECT count(*) FROM notes WHERE body LIKE 'parallel-%'");
}

/* ------------------------------------------------------------------ what the events must show */

/* A dependent's start never comes before its dependency's condition held:
 * for every depends_on of the stack, the engine's `start` of the
 * dependent's (current) container is later than the moment the condition
 * held on the dependency's (current) container. */
static void assert_starts_follow_the_graph(const char *what)
{
	struct snap now;
	size_t i;

	memset(&now, 0, sizeof(now));
	snap_take(&now);
	for (i = 0; i < N_DEPS; i++) {
		const char *sid = now.id[service_index(deps[i].service)];
		const char *did = now.id[service_index(deps[i].on)];
		int64_t start = ev_first(EV_START, sid), held = held_at(did, deps[i].cond);

		if (start == NONE)
			fail_msg("%s: no start event for %s (%.12s)", what, deps[i].service, sid);
		if (held == NONE)
			fail_msg("%s: %s's %s never held (%.12s), yet %s started", what, deps[i].on,
				 cond_name[deps[i].cond], did, deps[i].service);
		if (start <= held)
			fail_msg("%s: %s started %lld us before %s's %s held", what, deps[i].service,
				 (long long)((held - start) / 1000), deps[i].on, cond_name[deps[i].cond]);
	}
	snap_free(&now);
}

/* The fan-out services started at once, and no more than deploy.parallel
 * at a time.
 *
 * The criterion uses only the engine's order of events, never durations:
 * the engine connects a container to its network inside the start request
 * (the network `connect` event) and logs `start` at the end of that same
 * request, so [connect, start] of a container lies within one start call.
 * Started one after another — each call answered before the next is made —
 * those intervals can never overlap; two that overlap prove two start calls
 * were in flight together.  So: some two fan-out services' [connect, start]
 * intervals overlap.  And since an interval lies within its call, the most
 * intervals open at one moment is a lower bound of the calls in flight: it
 * may never exceed deploy.parallel. */
static void assert_fan_out_at_once(const char *what)
{
	struct snap now;
	int64_t c[N_SERVICES], s[N_SERVICES], t0 = NONE;
	size_t i, j, pairs = 0, most = 0;

	memset(&now, 0, sizeof(now));
	snap_take(&now);
	for (i = 0; i < N_SERVICES; i++) {
		s[i] = ev_first(EV_START, now.id[i]);
		c[i] = s[i] == NONE ? NONE : ev_connect_before(now.id[i], s[i]);
		if (s[i] == NONE || c[i] == NONE)
			fail_msg("%s: no connect/start events for %s (%.12s)", what, services[i], now.id[i]);
		if (c[i] < t0)
			t0 = c[i];
	}
	for (i = 0; i < N_SERVICES; i++) {
		size_t open = 0;

		for (j = 0; j < N_SERVICES; j++)
			if (c[j] <= c[i] && c[i] < s[j])
				open++;
		if (open > most)
			most = open;
	}
	for (i = 0; i < N_FAN; i++)
		for (j = i + 1; j < N_FAN; j++) {
			int a = service_index(fan[i]), b = service_index(fan[j]);

			if (c[a] < s[b] && c[b] < s[a])
				pairs++;
		}
	fprintf(stderr, "# %s: %zu overlapping pairs of fan-out starts, at most %zu starts at once\n", what,
		pairs, most);
	if (!pairs || most > PARALLEL || getenv("VD_TEST_VERBOSE"))
		for (i = 0; i < N_SERVICES; i++)
			fprintf(stderr, "#   %-8s start call %8.1f .. %8.1f ms\n", services[i],
				(double)(c[i] - t0) / 1e6, (double)(s[i] - t0) / 1e6);
	if (!pairs)
		fail_msg("%s: the fan-out services started one after another", what);
	if (most > PARALLEL)
		fail_msg("%s: %zu starts at once, deploy.parallel is %d", what, most, PARALLEL);
	snap_free(&now);
}

/* ------------------------------------------------------------------ set-up */

static bool image_exists(const char *ref)
{
	vd_image_info info;
	vd_error err = VD_ERROR_INIT;

	if (vd_image_inspect(itest_docker(), ref, &info, &err)) {
		vd_error_release(&err);
		return false;
	}
	vd_image_info_release(&info);
	return true;
}

/* "voxdeploy-test/busybox:1" → "voxdeploy-test/busybox:voxdeploy-previous" */
static void previous_ref(const char *image, char *out, size_t size)
{
	const char *colon = strrchr(image, ':'), *slash = strrchr(image, '/');
	int len = colon && (!slash || colon > slash) ? (int)(colon - image) : (int)strlen(image);

	snprintf(out, size, "%.*s:voxdeploy-previous", len, image);
}

static int setup(void **state)
{
	char ref[300];

	(void)state;
	snprintf(project, sizeof(project), "%s", itest_project());
	previous_ref(itest_busybox_image(), ref, sizeof(ref));
	had_previous[0] = image_exists(ref);
	previous_ref(itest_postgres_image(), ref, sizeof(ref));
	had_previous[1] = image_exists(ref);
	repo_init(&repo);
	snprintf(state_dir, sizeof(state_dir), "%s/.state", repo.dir);
	snprintf(out_path, sizeof(out_path), "%s.out", repo.dir);
	snprintf(err_path, sizeof(err_path), "%s.err", repo.dir);
	pg_port = tu_free_port();
	put(".gitignore", ".env\n.state/\n");
	put("Dockerfile", dockerfile, itest_busybox_image());
	/* this run's own content: BuildKit's cache outlives a run */
	put("src/health", "ok\n");
	put("src/version", "1 %s\n", project);
	put("README.md", "# fourteen services\n");
	put("voxdeploy.yml",
	    "health:\n"
	    "  stable_for: 1s\n"
	    "deploy:\n"
	    "  parallel: %d\n", PARALLEL);
	write_stack(NULL);
	repo_commit(&repo, commit);
	tu_write_fmt(repo.dir, ".env", "DB_PASSWORD=s3cret-pg\nPG_PORT=%d\n", pg_port);
	return 0;
}

static int teardown(void **state)
{
	char ref[300];
	vd_error err = VD_ERROR_INIT;

	rec_stop();
	free(rec.v);
	rec.v = NULL;
	itest_remove_project(project);
	/* the fixtures' voxdeploy-previous tags, when this run made them */
	previous_ref(itest_busybox_image(), ref, sizeof(ref));
	if (!had_previous[0] && image_exists(ref) && vd_image_remove(itest_docker(), ref, false, true, &err))
		fprintf(stderr, "cleanup: %s\n", vd_error_msg(&err));
	vd_error_release(&err);
	previous_ref(itest_postgres_image(), ref, sizeof(ref));
	if (!had_previous[1] && image_exists(ref) && vd_image_remove(itest_docker(), ref, false, true, &err))
		fprintf(stderr, "cleanup: %s\n", vd_error_msg(&err));
	vd_error_release(&err);
	if (tu_rm_rf(out_path) || tu_rm_rf(err_path))
		fprintf(stderr, "rm failed: %s\n", out_path);
	repo_free(&repo);
	free(out_text);
	free(err_text);
	out_text = err_text = NULL;
	return itest_group_teardown(state);
}

/* ------------------------------------------------------------------ the cases */

/* A first deploy and a FULL_RESTART: both start along the graph, the
 * fan-out at once. */
static void full_restart_starts_along_the_graph(void **state)
{
	PGconn *conn;
	PGresult *r;

	(void)state;
	rec_start();
	assert_int_equal(vd("deploy", "--actor", "tester", NULL), 0);
	rec_end();
	assert_true(has(err_text, "FULL_RESTART"));
	assert_stack_up(NULL);
	/* rows the later cases keep (before anything here may fail) */
	conn = pg();
	r = PQexec(conn, "CREATE TABLE notes (id serial primary key, body text); "
			 "INSERT INTO notes (body) VALUES ('parallel-a'), ('parallel-b'), ('parallel-c')");
	assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
	PQclear(r);
	PQfinish(conn);
	assert_starts_follow_the_graph("first deploy");
	assert_fan_out_at_once("first deploy");

	/* a code commit, deployed as a FULL_RESTART */
	put("src/version", "2 %s\n", project);
	repo_commit(&repo, commit);
	rec_start();
	assert_int_equal(vd("deploy", "--type", "full", NULL), 0);
	rec_end();
	assert_true(has(err_text, "FULL_RESTART"));
	assert_stack_up(NULL);
	assert_starts_follow_the_graph("deploy --type full");
	assert_fan_out_at_once("deploy --type full");
	assert_int_equal(pg_rows(), 3);
	{
		vd_container_info info;
		vd_error err = VD_ERROR_INIT;
		char *name = cname("app");
		const char *c;

		itest_ok(vd_container_inspect(itest_docker(), name, &info, &err), &err);
		c = vd_kvs_get(&info.labels, "io.voxdeploy.commit");
		assert_non_null(c);
		assert_string_equal(c, commit);
		vd_container_info_release(&info);
		free(name);
	}
}

/* One fan-out service's new version never gets healthy: the deploy fails,
 * what waited for it never starts, and the previous version runs again,
 * every container the one it was, the database's volume and rows kept. */
static void unhealthy_branch_restores_everything(void **state)
{
	struct snap before, after;
	vd_volume_info vol;
	vd_error err = VD_ERROR_INIT;
	char vname[200], ref[200], *vmount;
	size_t i, new_apps = 0;
	int f8 = service_index("f8"), app = service_index("app");

	(void)state;
	assert_stack_up(NULL);
	memset(&before, 0, sizeof(before));
	memset(&after, 0, sizeof(after));
	snap_take(&before);
	snprintf(vname, sizeof(vname), "%s_pgdata", project);
	itest_ok(vd_volume_inspect(itest_docker(), vname, &vol, &err), &err);
	vmount = strdup(vol.mountpoint);
	vd_volume_info_release(&vol);

	write_stack("f8");
	repo_commit(&repo, commit);
	rec_start();
	assert_int_equal(vd("deploy", NULL), 1);
	rec_end();
	assert_true(has(err_text, "FULL_RESTART"));
	assert_true(has(err_text, "f8"));
	assert_true(has(out_text, "previous version runs and is healthy"));

	/* every service's previous container runs again, from its image */
	assert_stack_up(&after);
	for (i = 0; i < N_SERVICES; i++) {
		if (strcmp(after.id[i], before.id[i]))
			fail_msg("%s: %.12s runs, %.12s ran before", services[i], after.id[i], before.id[i]);
		if (strcmp(after.image[i], before.image[i]))
			fail_msg("%s: image %.19s, %.19s before", services[i], after.image[i], before.image[i]);
	}
	snprintf(ref, sizeof(ref), "%s-app:latest", project);
	{
		vd_image_info img;

		itest_ok(vd_image_inspect(itest_docker(), ref, &img, &err), &err);
		assert_string_equal(img.id, before.image[app]);
		vd_image_info_release(&img);
	}
	/* the database: the same named volume, its rows */
	itest_ok(vd_volume_inspect(itest_docker(), vname, &vol, &err), &err);
	assert_string_equal(vol.mountpoint, vmount);
	vd_volume_info_release(&vol);
	free(vmount);
	assert_int_equal(pg_rows(), 3);

	/* the engine's account: f8's new container went unhealthy by its own
	 * HEALTHCHECK, and the app, which waits for f8 healthy, was created
	 * for the swap but never started: the failure stopped the scheduling */
	for (i = 0; i < rec.n; i++) {
		const struct rec_ev *e = &rec.v[i];

		if (e->kind == EV_UNHEALTHY && !strcmp(e->service, "f8") && strcmp(e->id, before.id[f8]))
			break;
	}
	if (i == rec.n)
		fail_msg("no health_status: unhealthy for f8's new container");
	for (i = 0; i < rec.n; i++) {
		const struct rec_ev *e = &rec.v[i];

		if (e->kind != EV_CREATE || strcmp(e->service, "app") || !strcmp(e->id, before.id[app]))
			continue;
		new_apps++;
		if (ev_first(EV_START, e->id) != NONE)
			fail_msg("the app's new container %.12s started, though f8 never got healthy", e->id);
	}
	assert_true(new_apps >= 1);
	snap_free(&before);
	snap_free(&after);

	/* the good stack again, for what follows */
	write_stack(NULL);
	repo_commit(&repo, commit);
}

/* What the killed deploy's journal says was starting when it died: the
 * services whose `start begin` has no `start done` (told, not asserted:
 * which starts are under way at that moment is the engine's timing). */
static void tell_starts_under_way(void)
{
	char path[400], *text, *line, *save = NULL, id[64] = "";
	char begun[N_SERVICES] = { 0 };
	vd_error err = VD_ERROR_INIT;
	size_t i, n = 0;

	snprintf(path, sizeof(path), "%s/journal.jsonl", state_dir);
	if (!(text = tu_slurp(path)))
		return;
	/* the killed deploy wrote the last line */
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		yajl_val v = vd_json_parse(line, &err);
		const char *d, *step, *st, *svc;

		vd_error_release(&err);
		if (!v)
			continue;
		d = vd_json_str(v, "deploy_id");
		step = vd_json_str(v, "step");
		st = vd_json_str(v, "state");
		svc = vd_json_str(v, "service");
		if (d && strcmp(d, id)) {
			snprintf(id, sizeof(id), "%s", d);
			memset(begun, 0, sizeof(begun));
		}
		for (i = 0; svc && step && st && !strcmp(step, "start") && i < N_SERVICES; i++)
			if (!strcmp(svc, services[i]))
				begun[i] = !strcmp(st, "begin");
		yajl_tree_free(v);
	}
	fprintf(stderr, "# killed at start:done:f4; starts under way then:");
	for (i = 0; i < N_SERVICES; i++)
		if (begun[i]) {
			fprintf(stderr, " %s", services[i]);
			n++;
		}
	fprintf(stderr, "%s\n", n ? "" : " none");
	free(text);
}

/* kill -9 right after a fan-out service's `start done` record, while the
 * others are starting: recover converges on one version of every service. */
static void killed_mid_fan_out_recovers(void **state)
{
	struct snap ids;
	yajl_val root, list;
	vd_error err = VD_ERROR_INIT;
	size_t i, k;

	(void)state;
#ifndef VD_FAULT_INJECTION
	skip();
#endif
	put("src/version", "3 %s\n", project);
	repo_commit(&repo, commit);
	fault = "start:done:f4";
	assert_int_equal(vd("deploy", "--type", "full", NULL), 128 + SIGKILL);
	fault = NULL;
	assert_true(has(err_text, "FULL_RESTART"));
	tell_starts_under_way();

	assert_int_equal(vd("recover", NULL), 0);
	if (!strstr(out_text, "completed") && !strstr(out_text, "restored"))
		fail_msg("recover did nothing after the kill: %s%s", err_text, out_text);
	memset(&ids, 0, sizeof(ids));
	assert_stack_up(&ids);
	assert_int_equal(pg_rows(), 3);

	/* status tells the same: one row a service, its container, up */
	assert_int_equal(vd("status", "--long", "--json", NULL), 0);
	root = vd_json_parse(out_text, &err);
	if (!root)
		fail_msg("status --json: %s: %s", vd_error_msg(&err), out_text);
	list = vd_json_get(root, "containers");
	assert_int_equal(vd_json_len(list), N_SERVICES);
	for (k = 0; k < N_SERVICES; k++) {
		size_t rows = 0;

		for (i = 0; i < vd_json_len(list); i++) {
			yajl_val c = vd_json_idx(list, i);
			const char *svc = vd_json_str(c, "service"), *st = vd_json_str(c, "state");
			const char *h = vd_json_str(c, "health"), *id = vd_json_str(c, "id");
			char *name = cname(services[k]);

			if (!svc || strcmp(svc, services[k])) {
				free(name);
				continue;
			}
			rows++;
			assert_non_null(id);
			assert_string_equal(id, ids.id[k]);
			assert_string_equal(vd_json_str(c, "name"), name);
			if (one_shot(services[k])) {
				assert_string_equal(st, "exited");
				assert_int_equal(vd_json_int(c, "exit_code", -1), 0);
			} else {
				assert_string_equal(st, "running");
				assert_non_null(h);
				assert_string_equal(h, "healthy");
			}
			free(name);
		}
		if (rows != 1)
			fail_msg("status lists %zu rows for %s", rows, services[k]);
	}
	yajl_tree_free(root);
	snap_free(&ids);

	assert_int_equal(vd("recover", NULL), 0);
	assert_true(has(out_text, "nothing"));
	/* and the next deploy goes through */
	assert_int_equal(vd("deploy", "--type", "full", NULL), 0);
	assert_stack_up(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(full_restart_starts_along_the_graph),
		cmocka_unit_test(unhealthy_branch_restores_everything),
		cmocka_unit_test(killed_mid_fan_out_recovers),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
