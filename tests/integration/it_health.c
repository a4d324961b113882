/* Integration tests: health probes and vd_health_wait() against the real
 * engine and a real PostgreSQL container (itest_postgres_image()).
 *
 * Everything runs on a network this file creates, with ports published on
 * 127.0.0.1 only; every container and the network carry io.voxdeploy.test=1
 * and this run's compose project label, and itest_group_teardown removes
 * them.  Tests assert verdicts and reasons, never wall-clock speed: "before
 * the deadline" shows as a reason that is not the deadline's. */
#include "itest.h"
#include "common/clock.h"
#include "common/json.h"
#include "common/log.h"
#include "docker_api/events.h"
#include "docker_api/network.h"
#include "health/http.h"
#include "health/postgres.h"
#include "health/probe.h"
#include "health/report.h"
#include "health/wait.h"

#include <ctype.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char net_name[160];
static char *pg_id, *web_id, *hang_id;
static char pg_port[16], web_port[16], hang_port[16];
static char pg_password[64];
static char conninfo[256];
static char url_ok[128], url_500[128], url_hang[128], url_slow[128];

/* The web server: a page at /, a CGI answering 500 at /cgi-bin/fail
 * (busybox httpd turns a CGI's "Status:" line into the status line) and one
 * answering after 5 s at /cgi-bin/slow. */
static const char web_script[] =
	"mkdir -p /www/cgi-bin && echo hello-vox > /www/index.html && "
	"printf '#!/bin/sh\\necho \"Status: 500 Internal Server Error\"\\n"
	"echo \"Content-Type: text/plain\"\\necho\\necho boom\\n' > /www/cgi-bin/fail && "
	"printf '#!/bin/sh\\nsleep 5\\necho \"Content-Type: text/plain\"\\necho\\necho late\\n' "
	"> /www/cgi-bin/slow && "
	"chmod +x /www/cgi-bin/fail /www/cgi-bin/slow && exec httpd -f -p 8080 -h /www";

static char *labels_json(void)
{
	char *s = NULL;

	assert_true(asprintf(&s, "{\"io.voxdeploy.test\":\"1\",\"com.docker.compose.project\":\"%s\"}",
			     itest_project()) > 0);
	return s;
}

/* HostConfig publishing `port` on 127.0.0.1 (a free port the engine picks)
 * on our network. */
static char *host_config(const char *port, const char *extra)
{
	char *s = NULL;

	assert_true(asprintf(&s,
		"\"ExposedPorts\":{\"%s/tcp\":{}},\"HostConfig\":{\"NetworkMode\":\"%s\","
		"\"PortBindings\":{\"%s/tcp\":[{\"HostIp\":\"127.0.0.1\",\"HostPort\":\"\"}]}%s%s}",
		port, net_name, port, extra ? "," : "", extra ? extra : "") > 0);
	return s;
}

/* The host port the engine published for `port`/tcp. */
static void published_port(const char *id, const char *port, char out[16])
{
	vd_container_info info;
	vd_error err = VD_ERROR_INIT;
	char key[32];
	yajl_val b;

	snprintf(key, sizeof(key), "%s/tcp", port);
	itest_ok(vd_container_inspect(itest_docker(), id, &info, &err), &err);
	b = vd_json_idx(vd_json_at(info.raw, "NetworkSettings", "Ports", key, NULL), 0);
	assert_non_null(vd_json_str(b, "HostPort"));
	snprintf(out, 16, "%s", vd_json_str(b, "HostPort"));
	vd_container_info_release(&info);
}

static char *start_busybox(const char *suffix, const char *script, const char *extra_config)
{
	vd_error err = VD_ERROR_INIT;
	char *id = itest_create(suffix, script, extra_config);

	itest_ok(vd_container_start(itest_docker(), id, &err), &err);
	return id;
}

static char *start_postgres(void)
{
	vd_docker *d = itest_docker();
	vd_error err = VD_ERROR_INIT;
	char name[160], *labels = labels_json(), *hc = host_config("5432", NULL), *body = NULL;
	char *id = NULL;

	assert_true(asprintf(&body,
		"{\"Image\":\"%s\",\"Env\":[\"POSTGRES_USER=vd\",\"POSTGRES_PASSWORD=%s\","
		"\"POSTGRES_DB=app\"],\"Labels\":%s,%s}",
		itest_postgres_image(), pg_password, labels, hc) > 0);
	snprintf(name, sizeof(name), "%s_postgres", itest_project());
	itest_ok(vd_container_create(d, name, body, &id, &err), &err);
	itest_ok(vd_container_start(d, id, &err), &err);
	free(labels);
	free(hc);
	free(body);
	return id;
}

static int group_setup(void **state)
{
	vd_docker *d = itest_docker();
	vd_error err = VD_ERROR_INIT;
	char *labels = labels_json(), *body = NULL, *net_id = NULL, *hc;

	snprintf(net_name, sizeof(net_name), "%s_health", itest_project());
	snprintf(pg_password, sizeof(pg_password), "Pg-%d-%ld-secret", (int)getpid(),
		 (long)time(NULL));
	assert_true(asprintf(&body, "{\"Name\":\"%s\",\"Driver\":\"bridge\",\"CheckDuplicate\":true,"
				    "\"Labels\":%s}", net_name, labels) > 0);
	itest_ok(vd_network_create(d, body, &net_id, &err), &err);
	free(body);
	free(net_id);
	free(labels);

	pg_id = start_postgres();
	hc = host_config("8080", NULL);
	web_id = start_busybox("web", web_script, hc);
	free(hc);
	/* accepts a connection and never says a word */
	hc = host_config("8081", NULL);
	hang_id = start_busybox("hang", "sleep 600 | nc -l -p 8081", hc);
	free(hc);

	published_port(pg_id, "5432", pg_port);
	published_port(web_id, "8080", web_port);
	published_port(hang_id, "8081", hang_port);
	snprintf(conninfo, sizeof(conninfo),
		 "host=127.0.0.1 port=%s user=vd password=%s dbname=app sslmode=disable "
		 "connect_timeout=5", pg_port, pg_password);
	snprintf(url_ok, sizeof(url_ok), "http://127.0.0.1:%s/", web_port);
	snprintf(url_500, sizeof(url_500), "http://127.0.0.1:%s/cgi-bin/fail", web_port);
	snprintf(url_hang, sizeof(url_hang), "http://127.0.0.1:%s/", hang_port);
	snprintf(url_slow, sizeof(url_slow), "http://127.0.0.1:%s/cgi-bin/slow", web_port);
	return 0;
}

static int group_teardown(void **state)
{
	free(pg_id);
	free(web_id);
	free(hang_id);
	return itest_group_teardown(state);
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

static vd_probe pg_probe(const char *ci)
{
	vd_probe p;

	memset(&p, 0, sizeof(p));
	p.kind = VD_PROBE_POSTGRES;
	p.name = "db";
	p.service = "postgres";
	p.interval_ms = 500;
	p.postgres.conninfo = ci;
	return p;
}

static vd_probe http_probe(const char *url)
{
	vd_probe p;

	memset(&p, 0, sizeof(p));
	p.kind = VD_PROBE_HTTP;
	p.name = "page";
	p.service = "web";
	p.interval_ms = 500;
	p.timeout_ms = 3000;
	p.http.url = url;
	return p;
}

static void assert_no_secret(const char *text)
{
	assert_null(strstr(text, pg_password));
}

/* --- the non-blocking event stream (docker_api) ---------------------------- */

struct seen {
	vd_buf actions;
};

static int on_event(const vd_event *ev, void *ctx, vd_error *err)
{
	struct seen *s = ctx;

	vd_buf_puts(&s->actions, ev->action);
	vd_buf_putc(&s->actions, '|');
	return !strcmp(ev->action, "start") ? VD_EVENTS_STOP : 0;
}

static int feed(const char *data, size_t len, void *ctx, vd_error *err)
{
	return vd_events_parser_feed(ctx, data, len, err);
}

static void health__stream_delivers_events_to_a_poll_loop(void **state)
{
	vd_docker *d = itest_docker();
	vd_error err = VD_ERROR_INIT;
	vd_docker_req req = { .method = "GET", .path = "/events" };
	vd_docker_stream *s = NULL;
	vd_events_parser parser;
	vd_buf q = VD_BUF_INIT, f = VD_BUF_INIT;
	struct seen seen;
	char since[32], until[32];
	char *id = itest_create("stream", "sleep 30", NULL);
	const char *filters[] = { "type", "container", "container", id, NULL };
	int r = 0, rounds = 0;

	vd_buf_init(&seen.actions, 0);
	vd_events_parser_init(&parser, 0, on_event, &seen);
	vd_docker_query_add(&q, "since", vd_events_timestamp(vd_events_now(), since));
	vd_docker_query_add(&q, "until", vd_events_timestamp(vd_events_now() + 30, until));
	vd_docker_filters_json(&f, filters);
	vd_docker_query_add(&q, "filters", vd_buf_cstr(&f));
	req.query = vd_buf_cstr(&q);
	req.on_data = feed;
	req.ctx = &parser;
	req.idle_timeout_ms = 30000;
	itest_ok(vd_docker_stream_open(d, &req, &s, &err), &err);
	/* the stream is open and this thread is free: a plain call meanwhile */
	itest_ok(vd_container_start(d, id, &err), &err);
	while (!r) {
		struct pollfd fds[8];
		size_t n = vd_docker_stream_pollfds(s, fds, 8);

		assert_true(poll(fds, n, (int)vd_docker_stream_timeout(s)) >= 0);
		r = vd_docker_stream_perform(s, fds, n, &err);
		rounds++;
	}
	assert_int_equal(r, VD_DOCKER_STREAM_END);   /* the callback stopped it */
	assert_true(vd_docker_stream_ended(s));
	assert_non_null(strstr(vd_buf_cstr(&seen.actions), "start|"));
	assert_true(rounds >= 1);
	vd_docker_stream_free(s);

	/* a stream that the engine refuses: the error comes through perform */
	req.path = "/containers/no-such-container-vd/logs";
	req.query = "stdout=1&follow=1";
	itest_ok(vd_docker_stream_open(d, &req, &s, &err), &err);
	r = 0;
	while (!r) {
		struct pollfd fds[8];
		size_t n = vd_docker_stream_pollfds(s, fds, 8);

		poll(fds, n, (int)vd_docker_stream_timeout(s));
		r = vd_docker_stream_perform(s, fds, n, &err);
	}
	assert_int_equal(r, VD_ENOTFOUND);
	assert_non_null(strstr(vd_error_msg(&err), "404"));
	vd_docker_stream_free(s);

	vd_events_parser_release(&parser);
	vd_buf_release(&seen.actions);
	vd_buf_release(&q);
	vd_buf_release(&f);
	vd_error_release(&err);
	free(id);
}

/* --- verdicts ------------------------------------------------------------------ */

static void health__healthy_stack(void **state)
{
	static const char hc[] =
		"\"Healthcheck\":{\"Test\":[\"CMD-SHELL\",\"wget -q -O- http://127.0.0.1:8080/ | grep -q hello\"],"
		"\"Interval\":500000000,\"Timeout\":2000000000,\"Retries\":3}";
	vd_docker *d = itest_docker();
	vd_error err = VD_ERROR_INIT;
	vd_health_report rep;
	vd_health_wait_opts o = VD_HEALTH_WAIT_OPTS_INIT;
	vd_buf json = VD_BUF_INIT, table = VD_BUF_INIT;
	char *extra = NULL, *hcfg = host_config("8080", NULL), *app_id, port[16], url[128];
	const char *pgv;
	vd_probe p[5];
	size_t i;

	/* an app with a HEALTHCHECK of its own, serving a page */
	assert_true(asprintf(&extra, "%s,%s", hc, hcfg) > 0);
	app_id = start_busybox("app", web_script, extra);
	published_port(app_id, "8080", port);
	snprintf(url, sizeof(url), "http://127.0.0.1:%s/", port);

	p[0] = container_probe("app", app_id);
	p[0].container.has_restart_baseline = true;
	p[0].container.restart_baseline = 0;
	p[1] = container_probe("postgres", pg_id);
	p[2] = pg_probe(conninfo);
	p[3] = http_probe(url);
	p[3].service = "app";
	p[3].http.body_contains = "hello-vox";
	memset(&p[4], 0, sizeof(p[4]));
	p[4].kind = VD_PROBE_RESOURCES;
	p[4].service = "app";
	p[4].resources.ref = app_id;
	p[4].resources.max_memory_percent = 99;
	p[4].resources.sample_ms = 300;
	p[4].interval_ms = 300;

	o.deadline_ms = 90000;   /* initdb of a fresh PostgreSQL takes a few seconds */
	o.stable_for_ms = 1500;
	itest_ok(vd_health_wait(d, p, 5, &o, &rep, &err), &err);
	assert_int_equal(rep.verdict, VD_VERDICT_HEALTHY);
	assert_true(rep.events);
	assert_int_equal(rep.len, 5);
	for (i = 0; i < rep.len; i++) {
		assert_int_equal(rep.entries[i].result.status, VD_HEALTH_OK);
		/* every one passed for the window (the container by its events) */
		assert_true(rep.entries[i].stable_ms >= 1500);
	}
	assert_non_null(strstr(rep.entries[0].result.detail, "healthy"));
	/* the server's own version: whichever major the fixture image holds */
	pgv = strstr(rep.entries[2].result.detail, "PostgreSQL ");
	assert_non_null(pgv);
	assert_true(isdigit((unsigned char)pgv[strlen("PostgreSQL ")]));
	assert_non_null(strstr(rep.entries[3].result.detail, "HTTP 200"));
	assert_non_null(strstr(rep.entries[4].result.detail, "memory"));
	assert_int_equal(vd_health_report_json(&rep, &json), 0);
	assert_int_equal(vd_health_report_table(&rep, &table), 0);
	assert_no_secret(vd_buf_cstr(&json));
	assert_no_secret(vd_buf_cstr(&table));
	assert_non_null(strstr(vd_buf_cstr(&table), "verdict: healthy"));
	vd_health_report_release(&rep);

	/* the same stack, checked once (what `voxdeploy health` does) */
	itest_ok(vd_health_check(d, p, 5, 30000, 0, &rep, &err), &err);
	assert_int_equal(rep.verdict, VD_VERDICT_HEALTHY);
	for (i = 0; i < rep.len; i++)
		assert_int_equal(rep.entries[i].runs, 1);
	vd_health_report_release(&rep);

	vd_buf_release(&json);
	vd_buf_release(&table);
	vd_error_release(&err);
	free(extra);
	free(hcfg);
	free(app_id);
}

static int wait_stable(vd_probe *p, size_t n, uint64_t deadline_ms, uint64_t stable_for_ms,
		       vd_health_report *rep, vd_error *err)
{
	vd_health_wait_opts o = VD_HEALTH_WAIT_OPTS_INIT;

	int rc;

	o.deadline_ms = deadline_ms;
	o.stable_for_ms = stable_for_ms;
	rc = vd_health_wait(itest_docker(), p, n, &o, rep, err);
	/* the verdict, its reason and the time to it, for the log */
	if (rc == 0 || rc == VD_EUNHEALTHY)
		fprintf(stderr, "# %s after %llu ms (deadline %llu ms): %s\n",
			vd_health_verdict_name(rep->verdict), (unsigned long long)rep->elapsed_ms,
			(unsigned long long)deadline_ms, rep->reason ? rep->reason : "");
	return rc;
}

static int wait_for(vd_probe *p, size_t n, uint64_t deadline_ms, vd_health_report *rep,
		    vd_error *err)
{
	return wait_stable(p, n, deadline_ms, 1000, rep, err);
}

/* A container that turns healthy during the wait: the engine's
 * health_status event is believed without another inspect (the detail says
 * so), and the stability window still holds from then. */
static void health__healthy_by_its_event(void **state)
{
	static const char hc[] =
		"\"Healthcheck\":{\"Test\":[\"CMD-SHELL\",\"test -f /tmp/ready\"],"
		"\"Interval\":500000000,\"Timeout\":2000000000,\"Retries\":20}";
	vd_error err = VD_ERROR_INIT;
	vd_health_report rep;
	char *id = start_busybox("late", "sleep 2; touch /tmp/ready; exec sleep 600", hc);
	vd_probe p = container_probe("late", id);

	(void)state;
	itest_ok(wait_stable(&p, 1, 60000, 1000, &rep, &err), &err);
	assert_int_equal(rep.verdict, VD_VERDICT_HEALTHY);
	assert_true(rep.events);
	if (!strstr(rep.entries[0].result.detail, "health_status event"))
		fail_msg("not by its event: %s", rep.entries[0].result.detail);
	assert_true(rep.entries[0].stable_ms >= 1000);
	vd_health_report_release(&rep);
	free(id);
}

static void health__healthcheck_never_passes(void **state)
{
	static const char hc[] =
		"\"Healthcheck\":{\"Test\":[\"CMD-SHELL\",\"echo not ready on 8080; exit 1\"],"
		"\"Interval\":300000000,\"Timeout\":1000000000,\"Retries\":2}";
	vd_error err = VD_ERROR_INIT;
	vd_health_report rep;
	char *id = start_busybox("sick", "sleep 600", hc);
	vd_probe p = container_probe("sick", id);

	/* a deadline far away: the verdict must come from the HEALTHCHECK */
	assert_int_equal(wait_for(&p, 1, 120000, &rep, &err), VD_EUNHEALTHY);
	assert_int_equal(rep.verdict, VD_VERDICT_UNHEALTHY);
	assert_null(strstr(rep.reason, "deadline"));
	assert_non_null(strstr(rep.reason, "HEALTHCHECK unhealthy"));
	assert_true(rep.entries[0].result.certain);
	assert_non_null(strstr(vd_error_msg(&err), "unhealthy"));
	vd_health_report_release(&rep);
	vd_error_release(&err);
	free(id);
}

static void health__app_exits_at_once(void **state)
{
	vd_error err = VD_ERROR_INIT;
	vd_health_report rep;
	char *id = start_busybox("exits", "echo bye; exit 3", NULL);
	vd_probe p[2];

	p[0] = container_probe("exits", id);
	p[1] = pg_probe(conninfo);   /* a healthy neighbour does not hold it up */
	assert_int_equal(wait_for(p, 2, 120000, &rep, &err), VD_EUNHEALTHY);
	assert_null(strstr(rep.reason, "deadline"));
	assert_non_null(strstr(rep.reason, "exit code 3"));
	assert_true(rep.entries[0].result.certain);
	vd_health_report_release(&rep);
	vd_error_release(&err);
	free(id);
}

static void health__crash_loop(void **state)
{
	static const char restart[] =
		"\"HostConfig\":{\"RestartPolicy\":{\"Name\":\"on-failure\",\"MaximumRetryCount\":0}}";
	vd_error err = VD_ERROR_INIT;
	vd_health_report rep;
	char *id = start_busybox("crashloop", "sleep 1; echo crash; exit 1", restart);
	vd_probe p = container_probe("crashloop", id);

	p.container.has_restart_baseline = true;
	p.container.restart_baseline = 0;
	/* it runs a second before each crash: a window shorter than that
	 * would rightly call it healthy before the first one */
	assert_int_equal(wait_stable(&p, 1, 120000, 10000, &rep, &err), VD_EUNHEALTHY);
	assert_null(strstr(rep.reason, "deadline"));
	assert_true(rep.entries[0].result.certain);
	assert_true(strstr(rep.reason, "died (exit code 1)") || strstr(rep.reason, "crash loop") ||
		    strstr(rep.reason, "restarting"));
	vd_health_report_release(&rep);

	/* a watch that starts once it has crashed meanwhile: its restart count
	 * is above the baseline the deployer took before starting it */
	{
		vd_container_info info;
		uint64_t until = vd_now_ms() + 60000;

		do {
			itest_ok(vd_container_inspect(itest_docker(), id, &info, &err), &err);
			if (info.restart_count > 0) {
				vd_container_info_release(&info);
				break;
			}
			vd_container_info_release(&info);
			/* waiting for the engine's own restart, not for a verdict */
			usleep(200000);
		} while (vd_now_ms() < until);
	}
	assert_int_equal(wait_stable(&p, 1, 120000, 10000, &rep, &err), VD_EUNHEALTHY);
	assert_null(strstr(rep.reason, "deadline"));
	assert_true(strstr(rep.reason, "crash loop") || strstr(rep.reason, "restarting") ||
		    strstr(rep.reason, "died"));
	vd_health_report_release(&rep);
	vd_error_release(&err);
	free(id);
}

static void health__postgres_wrong_password(void **state)
{
	vd_error err = VD_ERROR_INIT;
	vd_health_report rep;
	vd_health_result r;
	vd_buf json = VD_BUF_INIT;
	char bad[256], wrong[80];
	vd_probe p;

	/* the right password works (and the server is up) */
	p = pg_probe(conninfo);
	vd_postgres_probe_run(&p, 10000, &r);
	assert_int_equal(r.status, VD_HEALTH_OK);

	snprintf(wrong, sizeof(wrong), "Wrong-%s", pg_password);
	snprintf(bad, sizeof(bad), "host=127.0.0.1 port=%s user=vd password=%s dbname=app "
		 "sslmode=disable", pg_port, wrong);
	p = pg_probe(bad);
	vd_postgres_probe_run(&p, 10000, &r);
	assert_int_equal(r.status, VD_HEALTH_FAILING);
	assert_non_null(strstr(r.detail, "password authentication failed"));
	assert_null(strstr(r.detail, wrong));
	assert_no_secret(r.detail);

	assert_int_equal(wait_for(&p, 1, 2500, &rep, &err), VD_EUNHEALTHY);
	assert_non_null(strstr(rep.reason, "postgres/db"));
	assert_non_null(strstr(rep.reason, "password authentication failed"));
	assert_null(strstr(rep.reason, wrong));
	assert_null(strstr(vd_error_msg(&err), wrong));
	assert_int_equal(vd_health_report_json(&rep, &json), 0);
	assert_null(strstr(vd_buf_cstr(&json), wrong));
	vd_health_report_release(&rep);
	vd_buf_release(&json);
	vd_error_release(&err);
}

static void health__http_500(void **state)
{
	vd_error err = VD_ERROR_INIT;
	vd_health_report rep;
	vd_health_result r;
	vd_probe p = http_probe(url_500);

	vd_http_probe_run(&p, 5000, &r);
	assert_int_equal(r.status, VD_HEALTH_FAILING);
	assert_non_null(strstr(r.detail, "HTTP 500"));

	assert_int_equal(wait_for(&p, 1, 2500, &rep, &err), VD_EUNHEALTHY);
	assert_non_null(strstr(rep.reason, "HTTP 500"));
	assert_int_equal(rep.entries[0].result.status, VD_HEALTH_FAILING);
	vd_health_report_release(&rep);

	/* the same server's page passes */
	p = http_probe(url_ok);
	p.http.body_contains = "hello-vox";
	vd_http_probe_run(&p, 5000, &r);
	assert_int_equal(r.status, VD_HEALTH_OK);
	vd_error_release(&err);
}

static void health__deadline_with_a_probe_that_never_answers(void **state)
{
	vd_error err = VD_ERROR_INIT;
	vd_health_report rep;
	vd_probe p[2];

	p[0] = http_probe(url_hang);
	p[0].name = "silent";
	p[0].timeout_ms = 600000;   /* longer than the wait: the deadline must end it */
	p[1] = container_probe("postgres", pg_id);
	assert_int_equal(wait_for(p, 2, 3000, &rep, &err), VD_EUNHEALTHY);
	assert_int_equal(rep.verdict, VD_VERDICT_UNHEALTHY);
	assert_non_null(strstr(rep.reason, "deadline"));
	assert_non_null(strstr(rep.reason, "web/silent"));
	assert_int_equal(rep.entries[0].result.status, VD_HEALTH_FAILING);
	assert_int_equal(rep.entries[1].result.status, VD_HEALTH_OK);
	vd_health_report_release(&rep);
	vd_error_release(&err);
}

/* An endpoint that answers slower than the probe's timeout fails every run
 * by its timeout; the wait ends at its deadline saying so. */
static void health__endpoint_slower_than_its_timeout(void **state)
{
	vd_error err = VD_ERROR_INIT;
	vd_health_report rep;
	vd_health_result r;
	vd_probe p = http_probe(url_slow);

	p.name = "slow";
	p.timeout_ms = 400;
	vd_http_probe_run(&p, 400, &r);
	assert_int_equal(r.status, VD_HEALTH_FAILING);
	assert_non_null(strstr(r.detail, "no answer within 400 ms"));
	assert_int_equal(wait_for(&p, 1, 2500, &rep, &err), VD_EUNHEALTHY);
	assert_non_null(strstr(rep.reason, "deadline"));
	/* the latest run had its 400 ms, or what was left of the wait when the
	 * deadline came first (on a loaded machine the runs drift) */
	{
		const char *w = strstr(rep.entries[0].result.detail, "no answer within ");
		long ms;

		assert_non_null(w);
		ms = strtol(w + strlen("no answer within "), NULL, 10);
		assert_true(ms > 0 && ms <= 400);
	}
	assert_true(rep.entries[0].runs >= 2);   /* it ran again after its interval */
	vd_health_report_release(&rep);
	vd_error_release(&err);
}

/* A container filling its /dev/shm (tmpfs: charged to its memory cgroup)
 * to three quarters of its 64 MiB limit: above a 50 % threshold, under 95 %. */
static void health__memory_above_the_threshold(void **state)
{
	static const char hc[] = "\"HostConfig\":{\"Memory\":67108864,\"ShmSize\":134217728}";
	vd_error err = VD_ERROR_INIT;
	vd_health_report rep;
	vd_health_result r;
	vd_probe p[2];
	char *id = start_busybox("hog", "dd if=/dev/zero of=/dev/shm/fill bs=1M count=48 2>/dev/null; "
					"touch /tmp/full; sleep 600", hc);
	int tries;

	for (tries = 0; tries < 100; tries++) {
		vd_container_sample a;

		memset(&a, 0, sizeof(a));
		if (!vd_container_stats(itest_docker(), id, &a, &err) && vd_container_stats_mem_used(&a) > (40u << 20))
			break;
		vd_error_release(&err);
		usleep(100 * 1000);
	}
	memset(p, 0, sizeof(p));
	p[0].kind = VD_PROBE_RESOURCES;
	p[0].name = "memory";
	p[0].service = "hog";
	p[0].resources.ref = id;
	p[0].resources.max_memory_percent = 50;
	p[0].resources.sample_ms = 200;
	p[1] = p[0];
	p[1].name = "roomy";
	p[1].resources.max_memory_percent = 95;
	/* every probe once (what `voxdeploy health` does): a threshold is not a
	 * certain failure, a wait would end only at its deadline */
	assert_int_equal(vd_health_check(itest_docker(), p, 2, 15000, 0, &rep, &err), VD_EUNHEALTHY);
	fprintf(stderr, "# %s after %llu ms: %s\n", vd_health_verdict_name(rep.verdict),
		(unsigned long long)rep.elapsed_ms, rep.reason ? rep.reason : "");
	assert_int_equal(rep.entries[0].result.status, VD_HEALTH_FAILING);
	assert_non_null(strstr(rep.entries[0].result.detail, "memory"));
	assert_int_equal(rep.entries[1].result.status, VD_HEALTH_OK);
	assert_non_null(strstr(rep.reason, "hog/memory"));
	vd_health_report_release(&rep);
	(void)r;
	free(id);
	vd_error_release(&err);
}

static void health__missing_container_is_certain(void **state)
{
	vd_error err = VD_ERROR_INIT;
	vd_health_report rep;
	vd_probe p = container_probe("ghost", "vd-no-such-container-xyz");

	assert_int_equal(wait_for(&p, 1, 120000, &rep, &err), VD_EUNHEALTHY);
	assert_null(strstr(rep.reason, "deadline"));
	assert_non_null(strstr(rep.reason, "no such container"));
	vd_health_report_release(&rep);
	vd_error_release(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(health__stream_delivers_events_to_a_poll_loop),
		cmocka_unit_test(health__healthy_stack),
		cmocka_unit_test(health__healthy_by_its_event),
		cmocka_unit_test(health__healthcheck_never_passes),
		cmocka_unit_test(health__app_exits_at_once),
		cmocka_unit_test(health__crash_loop),
		cmocka_unit_test(health__postgres_wrong_password),
		cmocka_unit_test(health__http_500),
		cmocka_unit_test(health__deadline_with_a_probe_that_never_answers),
		cmocka_unit_test(health__missing_container_is_certain),
		cmocka_unit_test(health__endpoint_slower_than_its_timeout),
		cmocka_unit_test(health__memory_above_the_threshold),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
