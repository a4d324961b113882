/* Integration tests: own runs of a container's HEALTHCHECK while the real
 * engine says `starting` (health/owncheck.h through vd_health_wait).
 *
 * Every container has the HEALTHCHECK cadence of upstream VoxPersona's bot
 * (interval 30 s, start_period 60 s), so within these tests' deadlines the
 * engine never runs a check itself and its status stays `starting`: any
 * healthy verdict is the own run's.  Containers carry io.voxdeploy.test=1
 * and this run's project label; itest_group_teardown removes them, and the
 * one image built here is removed by the test that builds it. */
#include "itest.h"
#include "common/buf.h"
#include "common/json.h"
#include "docker_api/build.h"
#include "docker_api/events.h"
#include "docker_api/image.h"
#include "health/owncheck.h"
#include "health/report.h"
#include "health/wait.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* interval 30 s, start_period 60 s; test and timeout spliced in */
#define SLOW_HC(test, timeout_ns) \
	"\"Healthcheck\":{\"Test\":" test ",\"Interval\":30000000000," \
	"\"StartPeriod\":60000000000,\"Timeout\":" timeout_ns ",\"Retries\":3}"

struct notes {
	int done, skipped;
	char last[VD_HEALTH_DETAIL_MAX];
};

static void on_note(void *ctx, const vd_probe *p, const char *state, const char *detail)
{
	struct notes *n = ctx;

	if (!strcmp(state, "done"))
		n->done++;
	else if (!strcmp(state, "skipped"))
		n->skipped++;
	snprintf(n->last, sizeof(n->last), "%s", detail);
	fprintf(stderr, "# note %s %s: %s\n", p->service, state, detail);
}

static vd_probe container_probe(const char *service, const char *ref)
{
	vd_probe p;

	memset(&p, 0, sizeof(p));
	p.kind = VD_PROBE_CONTAINER;
	p.service = service;
	p.container.ref = ref;
	return p;
}

static char *start(const char *suffix, const char *script, const char *extra)
{
	vd_error err = VD_ERROR_INIT;
	char *id = itest_create(suffix, script, extra);

	itest_ok(vd_container_start(itest_docker(), id, &err), &err);
	return id;
}

static int wait_fast(const char *id, uint64_t deadline_ms, uint64_t fast_ms, struct notes *n,
		     vd_health_report *rep, vd_error *err)
{
	vd_health_wait_opts o = VD_HEALTH_WAIT_OPTS_INIT;
	vd_probe p = container_probe("app", id);
	int rc;

	memset(n, 0, sizeof(*n));
	o.deadline_ms = deadline_ms;
	o.stable_for_ms = 1000;
	o.fast_check_ms = fast_ms;
	o.on_note = on_note;
	o.note_ctx = n;
	rc = vd_health_wait(itest_docker(), &p, 1, &o, rep, err);
	if (rc == 0 || rc == VD_EUNHEALTHY)
		fprintf(stderr, "# %s after %llu ms: %s | %s\n", vd_health_verdict_name(rep->verdict),
			(unsigned long long)rep->elapsed_ms, rep->reason,
			rep->len ? rep->entries[0].result.detail : "");
	return rc;
}

/* The processes the engine lists in the container, as one text. */
static char *top(const char *id)
{
	vd_error err = VD_ERROR_INIT;
	vd_buf path = VD_BUF_INIT, out = VD_BUF_INIT;

	assert_int_equal(vd_docker_path(&path, "/containers/", id, "/top"), 0);
	itest_ok(vd_docker_get(itest_docker(), vd_buf_cstr(&path), NULL, &out, &err), &err);
	vd_buf_release(&path);
	return vd_buf_detach(&out);
}

static const char *engine_health(const char *id, char *out, size_t size)
{
	vd_container_info info;
	vd_error err = VD_ERROR_INIT;

	itest_ok(vd_container_inspect(itest_docker(), id, &info, &err), &err);
	snprintf(out, size, "%s", info.health ? info.health : "");
	vd_container_info_release(&info);
	return out;
}

static void owncheck__cmd_shell_proves_a_starting_container(void **state)
{
	vd_error err = VD_ERROR_INIT;
	vd_health_report rep;
	struct notes n;
	char h[32], *procs;
	char *id = start("shell", "sleep 1; touch /tmp/ready; exec sleep 900",
			 SLOW_HC("[\"CMD-SHELL\",\"test -e /tmp/ready && echo ready\"]", "5000000000"));

	itest_ok(wait_fast(id, 20000, 250, &n, &rep, &err), &err);
	assert_int_equal(rep.verdict, VD_VERDICT_HEALTHY);
	assert_string_equal(rep.entries[0].result.engine_health, "starting");
	assert_string_equal(rep.entries[0].result.own_check, "passed");
	assert_int_equal(rep.entries[0].result.own_check_exit, 0);
	assert_non_null(strstr(rep.entries[0].result.detail, "own check passed"));
	assert_non_null(strstr(rep.entries[0].result.detail, "ready"));
	/* the first pass is told once, with its latency */
	assert_int_equal(n.done, 1);
	assert_non_null(strstr(n.last, "passed in"));
	/* the engine itself has not run a check yet: the verdict was ours */
	assert_string_equal(engine_health(id, h, sizeof(h)), "starting");
	procs = top(id);
	assert_null(strstr(procs, "test -e"));
	free(procs);
	vd_health_report_release(&rep);
	vd_error_release(&err);
	free(id);
}

/* CMD is an argv, run as the container's user, in its working directory,
 * with its environment. */
static void owncheck__cmd_runs_as_the_container_does(void **state)
{
	vd_error err = VD_ERROR_INIT;
	vd_health_report rep;
	struct notes n;
	char *id = start("argv", "sleep 1; touch /tmp/ready; exec sleep 900",
			 "\"User\":\"65534:65534\",\"WorkingDir\":\"/tmp\","
			 "\"Env\":[\"VD_MARK=from-the-container\"]," SLOW_HC(
			 "[\"CMD\",\"sh\",\"-c\",\"test $(id -u) = 65534 && "
			 "test \\\"$VD_MARK\\\" = from-the-container && test -e ready\"]",
			 "5000000000"));

	itest_ok(wait_fast(id, 20000, 250, &n, &rep, &err), &err);
	assert_string_equal(rep.entries[0].result.own_check, "passed");
	assert_string_equal(rep.entries[0].result.engine_health, "starting");
	vd_health_report_release(&rep);
	vd_error_release(&err);
	free(id);
}

/* Failing runs are no verdict: only the deadline (or the engine) ends it. */
static void owncheck__failing_check_is_no_verdict(void **state)
{
	vd_error err = VD_ERROR_INIT;
	vd_health_report rep;
	struct notes n;
	char *id = start("fails", "exec sleep 900",
			 SLOW_HC("[\"CMD-SHELL\",\"echo not ready yet; exit 1\"]", "5000000000"));

	assert_int_equal(wait_fast(id, 3000, 250, &n, &rep, &err), VD_EUNHEALTHY);
	assert_non_null(strstr(rep.reason, "deadline"));
	assert_false(rep.entries[0].result.certain);
	assert_string_equal(rep.entries[0].result.own_check, "failed");
	assert_int_equal(rep.entries[0].result.own_check_exit, 1);
	assert_non_null(strstr(rep.entries[0].result.detail, "not ready yet"));
	assert_true(rep.entries[0].runs > 3);  /* runs at the fast cadence */
	assert_int_equal(n.done, 0);
	vd_health_report_release(&rep);
	vd_error_release(&err);
	free(id);
}

/* The engine's exec events of some containers, for the runs' overlap. */
struct execs {
	char ids[8][65];
	size_t n_ids;
	bool open[8];
	int now, most, starts;
};

static int on_exec_event(const vd_event *ev, void *ctx, vd_error *err)
{
	struct execs *x = ctx;
	size_t i;

	(void)err;
	for (i = 0; i < x->n_ids && strcmp(x->ids[i], ev->actor_id); i++)
		;
	if (i == x->n_ids)
		return 0;
	if (!strncmp(ev->action, "exec_start", 10) && !x->open[i]) {
		x->open[i] = true;
		x->starts++;
		if (++x->now > x->most)
			x->most = x->now;
	} else if (!strncmp(ev->action, "exec_die", 8) && x->open[i]) {
		x->open[i] = false;
		x->now--;
	}
	return 0;
}

/* Eight containers starting at once, their checks slow and failing: the
 * wait runs at most four of them at a time (each an exec the busy engine
 * must serve), and every container gets its runs. */
static void owncheck__runs_at_once_are_bounded(void **state)
{
	vd_health_wait_opts o = VD_HEALTH_WAIT_OPTS_INIT;
	vd_events_opts eo = VD_EVENTS_OPTS_INIT;
	vd_error err = VD_ERROR_INIT;
	vd_health_report rep;
	vd_probe probes[8];
	char *ids[8], since[32], until[32], name[32];
	const char *filters[] = { "type", "container", NULL };
	struct execs x;
	double t0 = vd_events_now() - 1, t1;
	size_t i;

	(void)state;
	memset(&x, 0, sizeof(x));
	for (i = 0; i < 8; i++) {
		snprintf(name, sizeof(name), "many%zu", i);
		ids[i] = start(name, "exec sleep 900",
			       SLOW_HC("[\"CMD-SHELL\",\"sleep 0.4; exit 1\"]", "5000000000"));
		probes[i] = container_probe("app", ids[i]);
		snprintf(x.ids[i], sizeof(x.ids[i]), "%s", ids[i]);
	}
	x.n_ids = 8;
	o.deadline_ms = 4000;
	o.fast_check_ms = 100;
	assert_int_equal(vd_health_wait(itest_docker(), probes, 8, &o, &rep, &err), VD_EUNHEALTHY);
	vd_health_report_release(&rep);
	vd_error_release(&err);
	t1 = vd_events_now() + 1;
	eo.since = vd_events_timestamp(t0, since);
	eo.until = vd_events_timestamp(t1, until);
	eo.filters = filters;
	eo.deadline_ms = 30000;
	itest_ok(vd_events_read(itest_docker(), &eo, on_exec_event, &x, &err), &err);
	fprintf(stderr, "# own runs: %d started, at most %d at once\n", x.starts, x.most);
	assert_true(x.most <= 4);
	assert_true(x.most >= 2);   /* they do overlap */
	assert_true(x.starts >= 8); /* each container's turn came */
	for (i = 0; i < 8; i++)
		free(ids[i]);
}

/* A run past its timeout is stopped: nothing of it is left in the container. */
static void owncheck__hanging_check_is_stopped(void **state)
{
	vd_error err = VD_ERROR_INIT;
	vd_health_report rep;
	struct notes n;
	char *procs;
	char *id = start("hangs", "exec sleep 900",
			 SLOW_HC("[\"CMD-SHELL\",\"echo waiting; sleep 777; true\"]", "700000000"));

	assert_int_equal(wait_fast(id, 4000, 250, &n, &rep, &err), VD_EUNHEALTHY);
	assert_non_null(strstr(rep.reason, "deadline"));
	assert_string_equal(rep.entries[0].result.own_check, "timeout");
	assert_non_null(strstr(rep.entries[0].result.detail, "stopped"));
	assert_int_equal(n.skipped, 0);
	procs = top(id);
	assert_null(strstr(procs, "sleep 777"));
	assert_non_null(strstr(procs, "sleep 900"));
	free(procs);
	vd_health_report_release(&rep);
	vd_error_release(&err);
	free(id);
}

/* An image without /bin/sh: CMD-SHELL cannot run; the engine's status
 * decides (it stays starting here, so the deadline ends the wait). */
static void owncheck__no_shell_falls_back_to_the_engine(void **state)
{
	vd_docker *d = itest_docker();
	vd_error err = VD_ERROR_INIT;
	vd_build_options bo = VD_BUILD_OPTIONS_INIT;
	vd_health_report rep;
	struct notes n;
	char dir[] = "/tmp/vd-it-noshell-XXXXXX", path[256], tag[160], *img = NULL, *body, *id;
	const char *tags[] = { tag, NULL };
	FILE *f;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/Dockerfile", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "FROM %s AS box\nFROM scratch\nCOPY --from=box /bin/busybox /busybox\n"
		   "CMD [\"/busybox\", \"sleep\", \"900\"]\n", itest_busybox_image());
	fclose(f);
	snprintf(tag, sizeof(tag), "voxdeploy-test/noshell-%s:1", itest_project());
	bo.context_dir = dir;
	bo.tags = tags;
	itest_ok(vd_build_run(d, &bo, &img, &err), &err);
	assert_true(asprintf(&body, "{\"Image\":\"%s\",\"Labels\":{\"io.voxdeploy.test\":\"1\","
			     "\"com.docker.compose.project\":\"%s\"},%s}", tag, itest_project(),
			     SLOW_HC("[\"CMD-SHELL\",\"true\"]", "5000000000")) > 0);
	snprintf(path, sizeof(path), "%s_noshell", itest_project());
	itest_ok(vd_container_create(d, path, body, &id, &err), &err);
	itest_ok(vd_container_start(d, id, &err), &err);

	assert_int_equal(wait_fast(id, 3000, 250, &n, &rep, &err), VD_EUNHEALTHY);
	assert_non_null(strstr(rep.reason, "deadline"));
	assert_int_equal(n.skipped, 1);
	assert_non_null(strstr(n.last, "engine's status decides"));
	assert_string_equal(rep.entries[0].result.own_check, "unavailable");
	assert_non_null(strstr(rep.entries[0].result.detail, "/bin/sh"));

	vd_error_release(&err);
	itest_ok(vd_container_remove(d, id, true, false, &err), &err);
	itest_ok(vd_image_remove(d, tag, true, false, &err), &err);
	unlink(strcat(strcpy(path, dir), "/Dockerfile"));
	rmdir(dir);
	vd_health_report_release(&rep);
	free(body);
	free(img);
	free(id);
}

/* fast_check 0: as before, the engine's status alone. */
static void owncheck__off_waits_for_the_engine(void **state)
{
	vd_error err = VD_ERROR_INIT;
	vd_health_report rep;
	struct notes n;
	char *id = start("off", "touch /tmp/ready; exec sleep 900",
			 SLOW_HC("[\"CMD-SHELL\",\"test -e /tmp/ready\"]", "5000000000"));

	assert_int_equal(wait_fast(id, 2500, 0, &n, &rep, &err), VD_EUNHEALTHY);
	assert_non_null(strstr(rep.reason, "deadline"));
	assert_string_equal(rep.entries[0].result.own_check, "");
	assert_non_null(strstr(rep.entries[0].result.detail, "HEALTHCHECK starting"));
	assert_int_equal(n.done + n.skipped, 0);
	vd_health_report_release(&rep);
	vd_error_release(&err);
	free(id);
}

/* The one-shot report (voxdeploy health) shows the engine's status and
 * one own run. */
static void owncheck__one_shot_report_runs_it_once(void **state)
{
	vd_error err = VD_ERROR_INIT;
	vd_health_report rep;
	vd_buf json = VD_BUF_INIT;
	char *id = start("once", "touch /tmp/ready; exec sleep 900",
			 SLOW_HC("[\"CMD-SHELL\",\"test -e /tmp/ready && echo fine\"]", "5000000000"));
	vd_probe p = container_probe("app", id);

	itest_ok(vd_health_check(itest_docker(), &p, 1, 10000, 250, &rep, &err), &err);
	assert_int_equal(rep.verdict, VD_VERDICT_HEALTHY);
	assert_int_equal(rep.entries[0].runs, 1);
	assert_int_equal(vd_health_report_json(&rep, &json), 0);
	assert_non_null(strstr(vd_buf_cstr(&json), "\"engine_health\":\"starting\""));
	assert_non_null(strstr(vd_buf_cstr(&json), "\"own_check\":{\"result\":\"passed\""));
	vd_buf_release(&json);
	vd_health_report_release(&rep);

	/* without own runs the same container is not healthy yet */
	assert_int_equal(vd_health_check(itest_docker(), &p, 1, 10000, 0, &rep, &err),
			 VD_EUNHEALTHY);
	assert_string_equal(rep.entries[0].result.own_check, "");
	vd_health_report_release(&rep);
	vd_error_release(&err);
	free(id);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(owncheck__cmd_shell_proves_a_starting_container),
		cmocka_unit_test(owncheck__cmd_runs_as_the_container_does),
		cmocka_unit_test(owncheck__failing_check_is_no_verdict),
		cmocka_unit_test(owncheck__hanging_check_is_stopped),
		cmocka_unit_test(owncheck__no_shell_falls_back_to_the_engine),
		cmocka_unit_test(owncheck__off_waits_for_the_engine),
		cmocka_unit_test(owncheck__one_shot_report_runs_it_once),
		cmocka_unit_test(owncheck__runs_at_once_are_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, itest_group_teardown);
}
