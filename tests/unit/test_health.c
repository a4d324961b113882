/* Unit tests: health results, the container / resources / http judgements,
 * conninfo and URL handling without secrets, the stability window and the
 * verdict, and the report as JSON and as a table.  Needs nothing running
 * (the two "refused" cases talk to a closed port on 127.0.0.1). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/clock.h"
#include "common/log.h"
#include "health/http.h"
#include "health/postgres.h"
#include "health/probe.h"
#include "health/report.h"
#include "health/wait.h"
#include "testutil.h"

/* A port nothing listens on (the discard service, never run here). */
#define CLOSED_PORT "9"

/* --- inspect answers as Docker 20.10 writes them (trimmed) --------------- */

static char *inspect_json(const char *status, bool running, bool restarting, bool oom,
			  int exit_code, int restarts, const char *health, const char *output,
			  const char *started)
{
	char *s = NULL;
	char hbuf[512] = "";

	if (health)
		snprintf(hbuf, sizeof(hbuf),
			 ",\"Health\":{\"Status\":\"%s\",\"FailingStreak\":3,\"Log\":[{\"ExitCode\":1,"
			 "\"Output\":\"first\\n\"},{\"ExitCode\":1,\"Output\":\"%s\"}]}",
			 health, output ? output : "");
	assert_true(asprintf(&s,
		"{\"Id\":\"4f2a9c1d6e0b4f2a9c1d6e0b\",\"Name\":\"/vox_app\",\"Image\":\"sha256:abc\","
		"\"RestartCount\":%d,\"State\":{\"Status\":\"%s\",\"Running\":%s,\"Paused\":false,"
		"\"Restarting\":%s,\"OOMKilled\":%s,\"Dead\":false,\"Pid\":%d,\"ExitCode\":%d,"
		"\"Error\":\"\",\"StartedAt\":\"%s\",\"FinishedAt\":\"0001-01-01T00:00:00Z\"%s},"
		"\"Config\":{\"Image\":\"app:1\",\"Labels\":{}},\"NetworkSettings\":{\"Networks\":{}}}",
		restarts, status, running ? "true" : "false", restarting ? "true" : "false",
		oom ? "true" : "false", running ? 42 : 0, exit_code, started, hbuf) > 0);
	return s;
}

static void eval_inspect(const char *json, bool has_baseline, int64_t baseline,
			 vd_health_result *res)
{
	vd_container_info info;
	vd_error err = VD_ERROR_INIT;

	assert_int_equal(vd_container_info_parse(json, &info, &err), 0);
	memset(res, 0, sizeof(*res));
	vd_probe_container_eval(&info, has_baseline, baseline, res);
	vd_container_info_release(&info);
}

#define STARTED "2026-01-02T03:04:05.123456789Z"
#define NEVER "0001-01-01T00:00:00Z"

static void health__container_running_without_healthcheck(void **state)
{
	char *j = inspect_json("running", true, false, false, 0, 0, NULL, NULL, STARTED);
	vd_health_result r;

	eval_inspect(j, false, 0, &r);
	assert_int_equal(r.status, VD_HEALTH_OK);
	assert_false(r.certain);
	assert_non_null(strstr(r.detail, "running"));
	free(j);
}

static void health__container_healthy_and_starting(void **state)
{
	char *j = inspect_json("running", true, false, false, 0, 0, "healthy", "ok\\n", STARTED);
	vd_health_result r;

	eval_inspect(j, true, 0, &r);
	assert_int_equal(r.status, VD_HEALTH_OK);
	assert_non_null(strstr(r.detail, "healthy"));
	free(j);

	j = inspect_json("running", true, false, false, 0, 0, "starting", "", STARTED);
	eval_inspect(j, true, 0, &r);
	assert_int_equal(r.status, VD_HEALTH_FAILING);
	assert_false(r.certain);   /* it may still become healthy */
	assert_non_null(strstr(r.detail, "starting"));
	free(j);
}

static void health__container_unhealthy_is_certain_with_output(void **state)
{
	char *j = inspect_json("running", true, false, false, 0, 0, "unhealthy",
			       "curl: (7) refused\\nsecond line: port 8080 closed\\n", STARTED);
	vd_health_result r;

	eval_inspect(j, true, 0, &r);
	assert_int_equal(r.status, VD_HEALTH_FAILING);
	assert_true(r.certain);
	/* the last output line, on one line */
	assert_non_null(strstr(r.detail, "port 8080 closed"));
	assert_null(strstr(r.detail, "refused"));
	assert_null(strchr(r.detail, '\n'));
	free(j);
}

static void health__container_exited_created_oom_restarting(void **state)
{
	vd_health_result r;
	char *j;

	j = inspect_json("exited", false, false, false, 3, 0, NULL, NULL, STARTED);
	eval_inspect(j, true, 0, &r);
	assert_int_equal(r.status, VD_HEALTH_FAILING);
	assert_true(r.certain);
	assert_non_null(strstr(r.detail, "exit code 3"));
	free(j);

	/* created, never started: not certain (it may yet be started) */
	j = inspect_json("created", false, false, false, 0, 0, NULL, NULL, NEVER);
	eval_inspect(j, true, 0, &r);
	assert_int_equal(r.status, VD_HEALTH_FAILING);
	assert_false(r.certain);
	assert_non_null(strstr(r.detail, "not started"));
	free(j);

	j = inspect_json("exited", false, false, true, 137, 0, NULL, NULL, STARTED);
	eval_inspect(j, true, 0, &r);
	assert_true(r.certain);
	assert_non_null(strstr(r.detail, "OOM"));
	free(j);

	j = inspect_json("restarting", true, true, false, 1, 0, NULL, NULL, STARTED);
	eval_inspect(j, false, 0, &r);
	assert_true(r.certain);
	assert_non_null(strstr(r.detail, "restarting"));
	free(j);
}

static void health__container_crash_loop_against_baseline(void **state)
{
	char *j = inspect_json("running", true, false, false, 1, 4, NULL, NULL, STARTED);
	vd_health_result r;

	/* restarts 4 against a baseline of 4: fine */
	eval_inspect(j, true, 4, &r);
	assert_int_equal(r.status, VD_HEALTH_OK);
	/* no baseline: the first inspect sets it, nothing to compare */
	eval_inspect(j, false, 0, &r);
	assert_int_equal(r.status, VD_HEALTH_OK);
	/* against 2: it restarted twice during the watch */
	eval_inspect(j, true, 2, &r);
	assert_int_equal(r.status, VD_HEALTH_FAILING);
	assert_true(r.certain);
	assert_non_null(strstr(r.detail, "crash loop"));
	assert_non_null(strstr(r.detail, "2 times"));
	free(j);
}

/* --- results --------------------------------------------------------------- */

static void health__result_one_line_redacted_and_capped(void **state)
{
	vd_health_result r;
	char big[1200];

	memset(&r, 0, sizeof(r));
	vd_secret_clear();
	assert_int_equal(vd_secret_add("s3cr3t-pw"), 0);
	vd_health_result_set(&r, VD_HEALTH_FAILING, "  line one\n\tline  two: s3cr3t-pw\r\n");
	assert_string_equal(r.detail, "line one line two: ***");
	assert_int_equal(r.status, VD_HEALTH_FAILING);

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	vd_health_result_set(&r, VD_HEALTH_OK, "%s", big);
	assert_int_equal(strlen(r.detail), VD_HEALTH_DETAIL_MAX - 1);
	assert_string_equal(r.detail + strlen(r.detail) - 3, "...");

	/* a cut never splits a UTF-8 character */
	memset(big, 0, sizeof(big));
	for (size_t i = 0; i + 2 < 900; i += 2)
		memcpy(big + i, "\xc3\xa9", 2);  /* é */
	vd_health_result_set(&r, VD_HEALTH_OK, "%s", big);
	{
		size_t l = strlen(r.detail) - 3;

		assert_int_equal(l % 2, 0);
	}
	vd_secret_clear();
}

static void health__status_and_kind_names(void **state)
{
	vd_probe p;

	memset(&p, 0, sizeof(p));
	assert_string_equal(vd_health_status_name(VD_HEALTH_OK), "ok");
	assert_string_equal(vd_health_status_name(VD_HEALTH_FAILING), "failing");
	assert_string_equal(vd_health_status_name(VD_HEALTH_ERROR), "error");
	assert_string_equal(vd_health_status_name(VD_HEALTH_PENDING), "pending");
	assert_string_equal(vd_health_verdict_name(VD_VERDICT_UNHEALTHY), "unhealthy");
	p.kind = VD_PROBE_POSTGRES;
	assert_string_equal(vd_probe_name(&p), "postgres");
	p.name = "db";
	assert_string_equal(vd_probe_name(&p), "db");
}

/* --- resources --------------------------------------------------------------- */

static void health__resources_thresholds(void **state)
{
	vd_probe p;
	vd_container_sample a, b;
	vd_health_result r;

	memset(&p, 0, sizeof(p));
	memset(&a, 0, sizeof(a));
	memset(&r, 0, sizeof(r));
	p.kind = VD_PROBE_RESOURCES;
	p.resources.ref = "app";
	a.cpu_total = 1000000000ull;
	a.system_cpu = 100000000000ull;
	a.online_cpus = 2;
	a.has_memory = true;
	a.mem_limit = 100ull << 20;
	a.mem_usage = 60ull << 20;
	a.mem_inactive_file = 10ull << 20;
	b = a;
	b.cpu_total += 500000000ull;      /* 0.5 s of 10 s system time × 2 CPUs */
	b.system_cpu += 10000000000ull;   /* → 10 % */

	vd_probe_resources_eval(&p, &a, &b, &r);
	assert_int_equal(r.status, VD_HEALTH_OK);
	assert_non_null(strstr(r.detail, "50.0 MiB of 100.0 MiB (50.0%)"));
	assert_non_null(strstr(r.detail, "cpu 10.0%"));

	p.resources.max_memory_percent = 40;
	vd_probe_resources_eval(&p, &a, &b, &r);
	assert_int_equal(r.status, VD_HEALTH_FAILING);
	assert_non_null(strstr(r.detail, "memory above 40%"));

	p.resources.max_memory_percent = 90;
	p.resources.max_cpu_percent = 5;
	vd_probe_resources_eval(&p, &a, &b, &r);
	assert_int_equal(r.status, VD_HEALTH_FAILING);
	assert_non_null(strstr(r.detail, "cpu above 5%"));

	b.has_memory = false;
	vd_probe_resources_eval(&p, &a, &b, &r);
	assert_int_equal(r.status, VD_HEALTH_FAILING);
}

/* --- http ---------------------------------------------------------------------- */

static void health__http_eval(void **state)
{
	static const long ok_or_204[] = { 200, 204 };
	vd_probe p;
	vd_health_result r;
	const char *body = "{\"status\":\"ok\"}";

	memset(&p, 0, sizeof(p));
	memset(&r, 0, sizeof(r));
	p.kind = VD_PROBE_HTTP;
	p.http.url = "http://127.0.0.1/healthz";
	vd_http_eval(&p, 200, NULL, 0, false, &r);
	assert_int_equal(r.status, VD_HEALTH_OK);
	vd_http_eval(&p, 500, NULL, 0, false, &r);
	assert_int_equal(r.status, VD_HEALTH_FAILING);
	assert_string_equal(r.detail, "HTTP 500 (expected 2xx)");
	vd_http_eval(&p, 301, NULL, 0, false, &r);
	assert_int_equal(r.status, VD_HEALTH_FAILING);

	p.http.expect_status = ok_or_204;
	p.http.n_expect_status = 2;
	vd_http_eval(&p, 204, NULL, 0, false, &r);
	assert_int_equal(r.status, VD_HEALTH_OK);
	vd_http_eval(&p, 201, NULL, 0, false, &r);
	assert_string_equal(r.detail, "HTTP 201 (expected 200,204)");

	p.http.body_contains = "\"ok\"";
	vd_http_eval(&p, 200, body, strlen(body), false, &r);
	assert_int_equal(r.status, VD_HEALTH_OK);
	p.http.body_contains = "ready";
	vd_http_eval(&p, 200, body, strlen(body), true, &r);
	assert_int_equal(r.status, VD_HEALTH_FAILING);
	assert_non_null(strstr(r.detail, "lacks \"ready\""));
	assert_non_null(strstr(r.detail, "first bytes"));
}

static void health__http_target_hides_credentials(void **state)
{
	char out[256];

	vd_http_target("https://bot:hunter22@example.org:8443/healthz?token=abc#x", out, sizeof(out));
	assert_string_equal(out, "https://example.org:8443/healthz");
	vd_http_target("http://[::1]:8080", out, sizeof(out));
	assert_string_equal(out, "http://[::1]:8080");
	vd_http_target("no scheme at all", out, sizeof(out));
	assert_string_equal(out, "no scheme at all");
}

static void health__http_validate(void **state)
{
	vd_probe p;
	vd_error err = VD_ERROR_INIT;

	memset(&p, 0, sizeof(p));
	p.kind = VD_PROBE_HTTP;
	p.name = "bot";
	assert_int_equal(vd_probe_validate(&p, &err), VD_EINVAL);
	assert_non_null(strstr(vd_error_msg(&err), "probe bot"));
	p.http.url = "ftp://example.org/x";
	assert_int_equal(vd_probe_validate(&p, &err), VD_EINVAL);
	assert_non_null(strstr(vd_error_msg(&err), "scheme"));
	p.http.url = "http://exa mple.org:99999/";
	assert_int_equal(vd_probe_validate(&p, &err), VD_EINVAL);
	assert_non_null(strstr(vd_error_msg(&err), "malformed url"));
	p.http.url = "http://127.0.0.1:8080/healthz";
	p.http.method = "get";
	assert_int_equal(vd_probe_validate(&p, &err), VD_EINVAL);
	p.http.method = "HEAD";
	assert_int_equal(vd_probe_validate(&p, &err), 0);

	/* the URL's password becomes a secret */
	vd_secret_clear();
	p.http.url = "http://u:pa55word-x@127.0.0.1/";
	assert_int_equal(vd_probe_validate(&p, &err), 0);
	{
		vd_buf b = VD_BUF_INIT;

		assert_int_equal(vd_secret_redact("pw is pa55word-x", &b), 0);
		assert_string_equal(vd_buf_cstr(&b), "pw is ***");
		vd_buf_release(&b);
	}
	vd_secret_clear();
	vd_error_release(&err);
}

static void health__http_refused_is_failing(void **state)
{
	vd_probe p;
	vd_health_result r;

	memset(&p, 0, sizeof(p));
	p.kind = VD_PROBE_HTTP;
	p.http.url = "http://127.0.0.1:" CLOSED_PORT "/";
	vd_http_probe_run(&p, 3000, &r);
	assert_int_equal(r.status, VD_HEALTH_FAILING);
	assert_non_null(strstr(r.detail, "connect"));
}

/* --- postgres ------------------------------------------------------------------- */

static void health__postgres_validate_masks_and_registers(void **state)
{
	vd_error err = VD_ERROR_INIT;
	vd_buf b = VD_BUF_INIT;
	char t[128];

	vd_secret_clear();
	assert_int_equal(vd_postgres_validate("host=db user=u password=Tr1cky-pw dbname=app", &err),
			 0);
	assert_int_equal(vd_secret_redact("x Tr1cky-pw y", &b), 0);
	assert_string_equal(vd_buf_cstr(&b), "x *** y");
	vd_buf_clear(&b);

	/* a URI's password too */
	assert_int_equal(vd_postgres_validate("postgresql://u:Ur1-secret@db:5433/app?sslmode=disable",
					      &err), 0);
	assert_int_equal(vd_secret_redact("Ur1-secret", &b), 0);
	assert_string_equal(vd_buf_cstr(&b), "***");

	/* a fragment libpq quotes may be a piece of the password: masked */
	assert_int_equal(vd_postgres_validate("host=db password=open sesame", &err), VD_EINVAL);
	assert_non_null(strstr(vd_error_msg(&err), "malformed conninfo"));
	assert_null(strstr(vd_error_msg(&err), "sesame"));
	assert_null(strchr(vd_error_msg(&err), '\n'));
	assert_int_equal(vd_postgres_validate("host=db nosuchkey=1", &err), VD_EINVAL);

	vd_postgres_target("host=db port=5433 user=u password=x dbname=app", t, sizeof(t));
	assert_string_equal(t, "db:5433/app");
	vd_postgres_target("postgresql://u:pw@10.0.0.2/app", t, sizeof(t));
	assert_string_equal(t, "10.0.0.2:5432/app");
	vd_postgres_target("user=vox", t, sizeof(t));
	assert_string_equal(t, "localhost:5432/vox");
	vd_buf_release(&b);
	vd_error_release(&err);
	vd_secret_clear();
}

static void health__postgres_version_format(void **state)
{
	char v[32];

	vd_postgres_version_format(150004, v, sizeof(v));
	assert_string_equal(v, "15.4");
	vd_postgres_version_format(90624, v, sizeof(v));
	assert_string_equal(v, "9.6.24");
	vd_postgres_version_format(0, v, sizeof(v));
	assert_string_equal(v, "unknown");
}

static void health__postgres_refused_is_failing_without_password(void **state)
{
	vd_probe p;
	vd_health_result r;

	memset(&p, 0, sizeof(p));
	p.kind = VD_PROBE_POSTGRES;
	p.name = "db";
	p.postgres.conninfo = "host=127.0.0.1 port=" CLOSED_PORT
			      " user=u password=zz-Secret-9 dbname=app sslmode=disable";
	vd_postgres_probe_run(&p, 3000, &r);
	assert_int_equal(r.status, VD_HEALTH_FAILING);
	assert_non_null(strstr(r.detail, "cannot connect"));
	assert_null(strstr(r.detail, "zz-Secret-9"));
	vd_secret_clear();
}

/* --- the verdict ------------------------------------------------------------------ */

static vd_health_result res_of(vd_health_status s, bool certain)
{
	vd_health_result r;

	memset(&r, 0, sizeof(r));
	r.status = s;
	r.certain = certain;
	return r;
}

static void health__track_stability_window(void **state)
{
	vd_health_track t = VD_HEALTH_TRACK_INIT;
	vd_health_result ok = res_of(VD_HEALTH_OK, false), bad = res_of(VD_HEALTH_FAILING, false);

	assert_int_equal(vd_health_track_stable_ms(&t, 100), 0);
	vd_health_track_update(&t, &ok, 1000);
	assert_int_equal(vd_health_track_stable_ms(&t, 5000), 0);   /* one pass: a point */
	vd_health_track_update(&t, &ok, 2000);
	vd_health_track_update(&t, &ok, 3000);
	assert_int_equal(vd_health_track_stable_ms(&t, 9000), 2000); /* first to latest pass */
	vd_health_track_update(&t, &bad, 4000);                      /* a break resets */
	assert_int_equal(vd_health_track_stable_ms(&t, 4000), 0);
	vd_health_track_update(&t, &ok, 5000);
	vd_health_track_update(&t, &ok, 6000);
	assert_int_equal(vd_health_track_stable_ms(&t, 6000), 1000);
	/* watched by events: passing holds until told otherwise */
	t.continuous = true;
	assert_int_equal(vd_health_track_stable_ms(&t, 8500), 3500);
	assert_int_equal(t.runs, 6);
}

static void health__judge_healthy_only_after_stable_for(void **state)
{
	vd_health_track t[2] = { VD_HEALTH_TRACK_INIT, VD_HEALTH_TRACK_INIT };
	vd_health_result ok = res_of(VD_HEALTH_OK, false);
	uint64_t wake;
	size_t culprit = 99;

	/* nothing yet */
	assert_int_equal(vd_health_judge(t, 2, 0, 3000, 60000, false, &culprit, &wake),
			 VD_VERDICT_PENDING);
	assert_int_equal(wake, 60000);
	vd_health_track_update(&t[0], &ok, 1000);
	vd_health_track_update(&t[1], &ok, 1000);
	assert_int_equal(vd_health_judge(t, 2, 1000, 3000, 60000, false, NULL, NULL),
			 VD_VERDICT_PENDING);
	vd_health_track_update(&t[0], &ok, 4000);
	vd_health_track_update(&t[1], &ok, 3500);
	/* t[1] has 2.5 s only */
	assert_int_equal(vd_health_judge(t, 2, 4000, 3000, 60000, false, NULL, NULL),
			 VD_VERDICT_PENDING);
	vd_health_track_update(&t[1], &ok, 4100);
	assert_int_equal(vd_health_judge(t, 2, 4100, 3000, 60000, false, NULL, NULL),
			 VD_VERDICT_HEALTHY);
	/* without a window, one pass each is enough */
	{
		vd_health_track u = VD_HEALTH_TRACK_INIT;

		vd_health_track_update(&u, &ok, 10);
		assert_int_equal(vd_health_judge(&u, 1, 10, 0, 60000, false, NULL, NULL),
				 VD_VERDICT_HEALTHY);
	}
	/* no probes at all */
	assert_int_equal(vd_health_judge(t, 0, 0, 3000, 60000, false, NULL, NULL),
			 VD_VERDICT_HEALTHY);
}

static void health__judge_continuous_wakes_at_window_end(void **state)
{
	vd_health_track t = VD_HEALTH_TRACK_INIT;
	vd_health_result ok = res_of(VD_HEALTH_OK, false);
	uint64_t wake = 0;

	t.continuous = true;
	vd_health_track_update(&t, &ok, 2000);
	assert_int_equal(vd_health_judge(&t, 1, 2500, 5000, 60000, false, NULL, &wake),
			 VD_VERDICT_PENDING);
	assert_int_equal(wake, 4500);   /* at 7000, without a new result */
	assert_int_equal(vd_health_judge(&t, 1, 7000, 5000, 60000, false, NULL, NULL),
			 VD_VERDICT_HEALTHY);
}

static void health__judge_certain_failure_ends_at_once(void **state)
{
	vd_health_track t[3] = { VD_HEALTH_TRACK_INIT, VD_HEALTH_TRACK_INIT, VD_HEALTH_TRACK_INIT };
	vd_health_result ok = res_of(VD_HEALTH_OK, false);
	vd_health_result crash = res_of(VD_HEALTH_FAILING, true);
	vd_health_result slow = res_of(VD_HEALTH_FAILING, false);
	size_t culprit = 99;

	vd_health_track_update(&t[0], &ok, 100);
	vd_health_track_update(&t[1], &slow, 100);
	/* failing but not certain: wait on */
	assert_int_equal(vd_health_judge(t, 3, 200, 0, 60000, false, &culprit, NULL),
			 VD_VERDICT_PENDING);
	vd_health_track_update(&t[2], &crash, 300);
	assert_int_equal(vd_health_judge(t, 3, 300, 0, 60000, false, &culprit, NULL),
			 VD_VERDICT_UNHEALTHY);
	assert_int_equal(culprit, 2);
	/* "certain" means nothing on a pass */
	{
		vd_health_track u = VD_HEALTH_TRACK_INIT;
		vd_health_result odd = res_of(VD_HEALTH_OK, true);

		vd_health_track_update(&u, &odd, 1);
		assert_false(u.certain);
	}
}

static void health__judge_deadline_names_the_culprit(void **state)
{
	vd_health_track t[2] = { VD_HEALTH_TRACK_INIT, VD_HEALTH_TRACK_INIT };
	vd_health_result ok = res_of(VD_HEALTH_OK, false);
	vd_health_result bad = res_of(VD_HEALTH_FAILING, false);
	size_t culprit = 99;

	vd_health_track_update(&t[0], &ok, 100);
	vd_health_track_update(&t[1], &bad, 100);
	assert_int_equal(vd_health_judge(t, 2, 1000, 0, 1000, false, &culprit, NULL),
			 VD_VERDICT_UNHEALTHY);
	assert_int_equal(culprit, 1);
	/* everything passes but one is not stable yet: the least stable */
	vd_health_track_update(&t[1], &ok, 900);
	vd_health_track_update(&t[0], &ok, 950);
	assert_int_equal(vd_health_judge(t, 2, 1000, 5000, 1000, false, &culprit, NULL),
			 VD_VERDICT_UNHEALTHY);
	assert_int_equal(culprit, 1);
	/* stable exactly at the deadline is healthy */
	assert_int_equal(vd_health_judge(t, 2, 1000, 0, 1000, false, &culprit, NULL),
			 VD_VERDICT_HEALTHY);
}

static void health__judge_once(void **state)
{
	vd_health_track t[2] = { VD_HEALTH_TRACK_INIT, VD_HEALTH_TRACK_INIT };
	vd_health_result ok = res_of(VD_HEALTH_OK, false);
	vd_health_result bad = res_of(VD_HEALTH_FAILING, false);
	size_t culprit = 99;

	vd_health_track_update(&t[0], &ok, 10);
	assert_int_equal(vd_health_judge(t, 2, 10, 5000, 1000, true, &culprit, NULL),
			 VD_VERDICT_PENDING);
	vd_health_track_update(&t[1], &ok, 20);
	/* no stability asked in once mode */
	assert_int_equal(vd_health_judge(t, 2, 20, 5000, 1000, true, &culprit, NULL),
			 VD_VERDICT_HEALTHY);
	vd_health_track_update(&t[0], &bad, 30);
	assert_int_equal(vd_health_judge(t, 2, 30, 5000, 1000, true, &culprit, NULL),
			 VD_VERDICT_UNHEALTHY);
	assert_int_equal(culprit, 0);
}

/* A one-shot run waits for every probe's result even after a certain
 * failure, so that the report says something about each. */
static void health__judge_once_runs_every_probe(void **state)
{
	vd_health_track t[3] = { VD_HEALTH_TRACK_INIT, VD_HEALTH_TRACK_INIT, VD_HEALTH_TRACK_INIT };
	vd_health_result ok = res_of(VD_HEALTH_OK, false);
	vd_health_result bad = res_of(VD_HEALTH_FAILING, false);
	vd_health_result crash = res_of(VD_HEALTH_FAILING, true);
	size_t culprit = 99;

	vd_health_track_update(&t[0], &bad, 10);
	vd_health_track_update(&t[1], &crash, 10);
	assert_int_equal(vd_health_judge(t, 3, 10, 0, 1000, true, &culprit, NULL),
			 VD_VERDICT_PENDING);
	vd_health_track_update(&t[2], &ok, 20);
	assert_int_equal(vd_health_judge(t, 3, 20, 0, 1000, true, &culprit, NULL),
			 VD_VERDICT_UNHEALTHY);
	assert_int_equal(culprit, 1);   /* the certain failure names it */
	/* at the deadline with a probe still out: the failure, else the silent one */
	t[2] = (vd_health_track)VD_HEALTH_TRACK_INIT;
	assert_int_equal(vd_health_judge(t, 3, 1000, 0, 1000, true, &culprit, NULL),
			 VD_VERDICT_UNHEALTHY);
	assert_int_equal(culprit, 1);
	t[0] = (vd_health_track)VD_HEALTH_TRACK_INIT;
	t[1] = (vd_health_track)VD_HEALTH_TRACK_INIT;
	vd_health_track_update(&t[0], &ok, 10);
	assert_int_equal(vd_health_judge(t, 3, 1000, 0, 1000, true, &culprit, NULL),
			 VD_VERDICT_UNHEALTHY);
	assert_int_equal(culprit, 1);
}

/* --- the report --------------------------------------------------------------------- */

static void fill_report(vd_health_report *rep)
{
	vd_probe app, db, web;
	vd_health_result r;

	memset(&app, 0, sizeof(app));
	memset(&db, 0, sizeof(db));
	memset(&web, 0, sizeof(web));
	app.kind = VD_PROBE_CONTAINER;
	app.service = "voxpersona";
	app.container.ref = "voxpersona_app";
	web.kind = VD_PROBE_HTTP;
	web.name = "bot";
	web.service = "voxpersona";
	web.http.url = "http://admin:Pw-In-Url-1@voxpersona:8080/healthz?k=v";
	db.kind = VD_PROBE_POSTGRES;
	db.name = "db";
	db.service = "postgres";
	db.postgres.conninfo = "host=postgres user=vox password=Db-Secret-7 dbname=vox";

	vd_health_report_init(rep);
	rep->verdict = VD_VERDICT_UNHEALTHY;
	rep->elapsed_ms = 812;
	rep->stable_for_ms = 5000;
	memset(&r, 0, sizeof(r));
	vd_health_result_set(&r, VD_HEALTH_OK, "running, healthy, restarts 0");
	r.latency_ms = 2;
	assert_int_equal(vd_health_report_add(rep, &app, &r, 4000, 5), 0);
	vd_health_result_set(&r, VD_HEALTH_FAILING, "cannot connect: password Db-Secret-7 rejected");
	r.latency_ms = 13;
	assert_int_equal(vd_health_report_add(rep, &db, &r, 0, 3), 0);
	vd_health_result_set(&r, VD_HEALTH_OK, "HTTP 200");
	r.latency_ms = 1;
	assert_int_equal(vd_health_report_add(rep, &web, &r, 3000, 4), 0);
	assert_int_equal(vd_health_report_set_reason(rep, "deadline of 60s passed:\n db: %s",
						     rep->entries[1].result.detail), 0);
}

static void health__report_json(void **state)
{
	vd_health_report rep;
	vd_buf out = VD_BUF_INIT;
	vd_error err = VD_ERROR_INIT;
	yajl_val v, svcs, probes;

	vd_secret_clear();
	/* registered by validation, as the wait does */
	assert_int_equal(vd_postgres_validate("password=Db-Secret-7", &err), 0);
	fill_report(&rep);
	assert_int_equal(vd_health_report_json(&rep, &out), 0);
	assert_null(strstr(vd_buf_cstr(&out), "Db-Secret-7"));
	assert_null(strstr(vd_buf_cstr(&out), "Pw-In-Url-1"));
	v = vd_json_parse(vd_buf_cstr(&out), &err);
	assert_non_null(v);
	assert_string_equal(vd_json_str(v, "verdict"), "unhealthy");
	assert_false(vd_json_bool(v, "healthy", true));
	assert_int_equal(vd_json_int(v, "elapsed_ms", 0), 812);
	assert_null(strchr(vd_json_str(v, "reason"), '\n'));
	svcs = vd_json_get(v, "services");
	assert_int_equal(vd_json_len(svcs), 2);
	/* grouped per service, in the order of their first probe */
	assert_string_equal(vd_json_str(vd_json_idx(svcs, 0), "service"), "voxpersona");
	assert_string_equal(vd_json_str(vd_json_idx(svcs, 0), "status"), "ok");
	probes = vd_json_get(vd_json_idx(svcs, 0), "probes");
	assert_int_equal(vd_json_len(probes), 2);
	assert_string_equal(vd_json_str(vd_json_idx(probes, 0), "probe"), "container");
	assert_string_equal(vd_json_str(vd_json_idx(probes, 1), "probe"), "bot");
	assert_string_equal(vd_json_str(vd_json_idx(probes, 1), "target"),
			    "http://voxpersona:8080/healthz");
	assert_int_equal(vd_json_int(vd_json_idx(probes, 0), "latency_ms", 0), 2);
	assert_string_equal(vd_json_str(vd_json_idx(svcs, 1), "service"), "postgres");
	assert_string_equal(vd_json_str(vd_json_idx(svcs, 1), "status"), "failing");
	probes = vd_json_get(vd_json_idx(svcs, 1), "probes");
	assert_string_equal(vd_json_str(vd_json_idx(probes, 0), "kind"), "postgres");
	assert_string_equal(vd_json_str(vd_json_idx(probes, 0), "target"), "postgres:5432/vox");
	assert_non_null(strstr(vd_json_str(vd_json_idx(probes, 0), "detail"), "***"));
	yajl_tree_free(v);
	vd_health_report_release(&rep);
	vd_buf_release(&out);
	vd_error_release(&err);
	vd_secret_clear();
}

static void health__report_table(void **state)
{
	vd_health_report rep;
	vd_buf out = VD_BUF_INIT;
	const char *t, *l2;

	fill_report(&rep);
	assert_int_equal(vd_health_report_table(&rep, &out), 0);
	t = vd_buf_cstr(&out);
	assert_true(!strncmp(t, "SERVICE     PROBE      KIND       STATUS   LATENCY  DETAIL\n",
			     strlen("SERVICE     PROBE      KIND       STATUS   LATENCY  DETAIL\n")));
	l2 = strchr(t, '\n') + 1;
	assert_true(!strncmp(l2, "voxpersona  container  container  ok          2 ms  running",
			     strlen("voxpersona  container  container  ok          2 ms  running")));
	assert_non_null(strstr(t, "postgres    db         postgres   failing    13 ms  cannot"));
	assert_non_null(strstr(t, "verdict: unhealthy (deadline of 60s passed: db: "));
	assert_non_null(strstr(t, "after 812 ms\n"));
	vd_health_report_release(&rep);
	vd_buf_release(&out);
	vd_secret_clear();
}

/* --- the wait, without an engine ------------------------------------------------------ */

static void health__wait_rejects_bad_probes(void **state)
{
	vd_probe p[2];
	vd_health_report rep;
	vd_error err = VD_ERROR_INIT;

	memset(p, 0, sizeof(p));
	p[0].kind = VD_PROBE_POSTGRES;
	p[0].name = "db";
	p[0].postgres.conninfo = "host=x bogus";
	p[1].kind = VD_PROBE_CONTAINER;
	p[1].container.ref = "app";
	assert_int_equal(vd_health_wait(NULL, p, 2, NULL, &rep, &err), VD_EINVAL);
	assert_non_null(strstr(vd_error_msg(&err), "probe db"));
	assert_int_equal(rep.len, 0);
	/* a container probe needs an engine */
	assert_int_equal(vd_health_wait(NULL, &p[1], 1, NULL, &rep, &err), VD_EINVAL);
	assert_non_null(strstr(vd_error_msg(&err), "engine"));
	vd_error_release(&err);
}

static void health__wait_deadline_with_refused_endpoint(void **state)
{
	vd_probe p;
	vd_health_report rep;
	vd_health_wait_opts o = VD_HEALTH_WAIT_OPTS_INIT;
	vd_error err = VD_ERROR_INIT;

	memset(&p, 0, sizeof(p));
	p.kind = VD_PROBE_HTTP;
	p.name = "api";
	p.service = "app";
	p.interval_ms = 200;
	p.http.url = "http://127.0.0.1:" CLOSED_PORT "/";
	o.deadline_ms = 700;
	assert_int_equal(vd_health_wait(NULL, &p, 1, &o, &rep, &err), VD_EUNHEALTHY);
	assert_int_equal(rep.verdict, VD_VERDICT_UNHEALTHY);
	assert_non_null(strstr(rep.reason, "deadline"));
	assert_non_null(strstr(rep.reason, "app/api"));
	assert_non_null(strstr(vd_error_msg(&err), rep.reason));
	assert_int_equal(rep.len, 1);
	assert_int_equal(rep.entries[0].result.status, VD_HEALTH_FAILING);
	/* it ran again and again, at its interval */
	assert_true(rep.entries[0].runs >= 2);
	vd_health_report_release(&rep);

	/* once: one run, the answer at once */
	assert_int_equal(vd_health_check(NULL, &p, 1, 5000, 0, &rep, &err), VD_EUNHEALTHY);
	assert_int_equal(rep.entries[0].runs, 1);
	assert_null(strstr(rep.reason, "deadline"));
	vd_health_report_release(&rep);
	vd_error_release(&err);
}


/* ------------------------------------------------------------------ the service probe */

struct recorded_swarm {
	vd_service_info svc;
	vd_task_array tasks;
	vd_node_array nodes;
};

static void load_swarm(struct recorded_swarm *r, const char *service_file)
{
	vd_error err = VD_ERROR_INIT;
	char *s = tu_read_data(VD_TEST_DATA, service_file), *t = tu_read_data(VD_TEST_DATA, "swarm_tasks_1.41.json"),
	     *n = tu_read_data(VD_TEST_DATA, "swarm_nodes_1.41.json");

	memset(r, 0, sizeof(*r));
	assert_int_equal(vd_service_info_parse(s, &r->svc, &err), 0);
	assert_int_equal(vd_task_list_parse(t, &r->tasks, &err), 0);
	assert_int_equal(vd_node_list_parse(n, &r->nodes, &err), 0);
	free(s);
	free(t);
	free(n);
}

static void release_swarm(struct recorded_swarm *r)
{
	vd_service_info_release(&r->svc);
	vd_task_array_release(&r->tasks);
	vd_node_array_release(&r->nodes);
}

static vd_health_result service_verdict(const vd_probe *p, struct recorded_swarm *r, bool with_nodes)
{
	vd_health_result res;

	memset(&res, 0, sizeof(res));
	vd_probe_service_eval(p, &r->svc, &r->tasks, with_nodes ? &r->nodes : NULL, &res);
	return res;
}

static void health__service_converged_and_not(void **state)
{
	vd_probe p = { .kind = VD_PROBE_SERVICE, .swarm = { "web", false } };
	struct recorded_swarm r;
	vd_health_result res;
	char *keep, *keep2;

	(void)state;
	load_swarm(&r, "swarm_service_1.41.json");
	/* two replicas, each running on a ready node, of the current spec */
	res = service_verdict(&p, &r, true);
	assert_int_equal(res.status, VD_HEALTH_OK);
	assert_string_equal(res.detail, "2/2 tasks running on vdswt-m1, vdswt-w2");
	assert_false(res.certain);
	/* without the nodes the ids stand in */
	res = service_verdict(&p, &r, false);
	assert_int_equal(res.status, VD_HEALTH_OK);
	assert_non_null(strstr(res.detail, "wvc9mw7j16ygit2k97vhkkmft"));

	/* a task still starting */
	keep = r.tasks.items[1].state;
	r.tasks.items[1].state = "starting";
	res = service_verdict(&p, &r, true);
	assert_int_equal(res.status, VD_HEALTH_FAILING);
	assert_string_equal(res.detail, "1/2 tasks running; task 2 on vdswt-w2: starting");
	assert_false(res.certain);
	/* one the swarm cannot place: what it says of it */
	r.tasks.items[1].state = "pending";
	keep2 = r.tasks.items[1].message;
	r.tasks.items[1].message = "no suitable node (max replicas per node limit exceed)";
	res = service_verdict(&p, &r, true);
	assert_string_equal(res.detail, "1/2 tasks running; task 2 on vdswt-w2: pending: no suitable node "
					"(max replicas per node limit exceed)");
	r.tasks.items[1].message = keep2;
	r.tasks.items[1].state = keep;

	/* a node that went down: its task does not count */
	keep = r.nodes.items[0].state;
	r.nodes.items[0].state = "down";
	res = service_verdict(&p, &r, true);
	assert_int_equal(res.status, VD_HEALTH_FAILING);
	assert_string_equal(res.detail, "1/2 tasks running; task 2 on vdswt-w2: node lost, running");
	r.nodes.items[0].state = keep;

	/* the service's spec moved on (a forced update): the old tasks are stale */
	r.svc.force_update = 1;
	r.svc.update_state = strdup("updating");
	res = service_verdict(&p, &r, true);
	assert_int_equal(res.status, VD_HEALTH_FAILING);
	assert_string_equal(res.detail, "updating: 0/2 tasks of the new spec running, 2 to replace");
	assert_false(res.certain);
	/* every task replaced, but the update's monitor period still runs */
	r.tasks.items[0].force_update = r.tasks.items[1].force_update = 1;
	res = service_verdict(&p, &r, true);
	assert_int_equal(res.status, VD_HEALTH_FAILING);
	free(r.svc.update_state);
	r.svc.update_state = strdup("completed");
	res = service_verdict(&p, &r, true);
	assert_int_equal(res.status, VD_HEALTH_OK);

	/* a global service wants what was scheduled, and at least one */
	r.svc.replicas = -1;
	res = service_verdict(&p, &r, true);
	assert_int_equal(res.status, VD_HEALTH_OK);
	assert_string_equal(res.detail, "2/2 tasks running on vdswt-m1, vdswt-w2");
	keep = r.tasks.items[0].desired_state;
	keep2 = r.tasks.items[1].desired_state;
	r.tasks.items[0].desired_state = r.tasks.items[1].desired_state = "shutdown";
	res = service_verdict(&p, &r, true);
	assert_int_equal(res.status, VD_HEALTH_FAILING);
	r.tasks.items[0].desired_state = keep;
	r.tasks.items[1].desired_state = keep2;
	release_swarm(&r);
}

static void health__service_paused_and_rolled_back(void **state)
{
	vd_probe p = { .kind = VD_PROBE_SERVICE, .swarm = { "rec", false } };
	struct recorded_swarm r;
	vd_health_result res;

	(void)state;
	/* an update the swarm paused after a task failed: no wait mends it */
	load_swarm(&r, "swarm_service_updated_1.41.json");
	res = service_verdict(&p, &r, true);
	assert_int_equal(res.status, VD_HEALTH_FAILING);
	assert_true(res.certain);
	assert_string_equal(res.detail, "update paused: update paused due to failure or early termination "
					"of task ek79nro0m0etp9n6jk5cks19t");
	release_swarm(&r);

	/* a rollback under way: a failure of the update, the way to the goal
	 * of a rollback voxdeploy asked for */
	load_swarm(&r, "swarm_service_rollback_1.41.json");
	res = service_verdict(&p, &r, true);
	assert_int_equal(res.status, VD_HEALTH_FAILING);
	assert_true(res.certain);
	assert_non_null(strstr(res.detail, "the swarm is rolling the update back: manually requested"));
	p.swarm.after_rollback = true;
	res = service_verdict(&p, &r, true);
	assert_int_equal(res.status, VD_HEALTH_FAILING);
	assert_false(res.certain);
	assert_non_null(strstr(res.detail, "rollback_started: 0/2 tasks"));
	free(r.svc.update_state);
	r.svc.update_state = strdup("rollback_completed");
	res = service_verdict(&p, &r, true);
	assert_false(res.certain);
	p.swarm.after_rollback = false;
	res = service_verdict(&p, &r, true);
	assert_true(res.certain);
	assert_non_null(strstr(res.detail, "the swarm rolled the update back"));
	/* health and serve look at the stack as it is: a rollback done is its
	 * state, its tasks say the rest (none of this service's are recorded) */
	p.swarm.steady = true;
	res = service_verdict(&p, &r, true);
	assert_false(res.certain);
	assert_string_equal(res.detail, "0/2 tasks running");
	release_swarm(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(health__container_running_without_healthcheck),
		cmocka_unit_test(health__service_converged_and_not),
		cmocka_unit_test(health__service_paused_and_rolled_back),
		cmocka_unit_test(health__container_healthy_and_starting),
		cmocka_unit_test(health__container_unhealthy_is_certain_with_output),
		cmocka_unit_test(health__container_exited_created_oom_restarting),
		cmocka_unit_test(health__container_crash_loop_against_baseline),
		cmocka_unit_test(health__result_one_line_redacted_and_capped),
		cmocka_unit_test(health__status_and_kind_names),
		cmocka_unit_test(health__resources_thresholds),
		cmocka_unit_test(health__http_eval),
		cmocka_unit_test(health__http_target_hides_credentials),
		cmocka_unit_test(health__http_validate),
		cmocka_unit_test(health__http_refused_is_failing),
		cmocka_unit_test(health__postgres_validate_masks_and_registers),
		cmocka_unit_test(health__postgres_version_format),
		cmocka_unit_test(health__postgres_refused_is_failing_without_password),
		cmocka_unit_test(health__track_stability_window),
		cmocka_unit_test(health__judge_healthy_only_after_stable_for),
		cmocka_unit_test(health__judge_continuous_wakes_at_window_end),
		cmocka_unit_test(health__judge_certain_failure_ends_at_once),
		cmocka_unit_test(health__judge_deadline_names_the_culprit),
		cmocka_unit_test(health__judge_once),
		cmocka_unit_test(health__judge_once_runs_every_probe),
		cmocka_unit_test(health__report_json),
		cmocka_unit_test(health__report_table),
		cmocka_unit_test(health__wait_rejects_bad_probes),
		cmocka_unit_test(health__wait_deadline_with_refused_endpoint),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
