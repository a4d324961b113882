/* Unit tests of controller/serve's pure parts and of the server itself on
 * loopback: listen addresses, the metrics from a journal, routing, methods,
 * tokens and limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include "common/clock.h"
#include "common/log.h"
#include "controller/state/journal.h"
#include "controller/serve/serve.h"
#include "controller/state/backups.h"
#include "health/http.h"
#include "testutil.h"

static char *dir;

static int setup(void **state)
{
	dir = tu_mkdtemp("serve");
	return 0;
}

static int teardown(void **state)
{
	int rc = tu_rm_rf(dir);

	free(dir);
	dir = NULL;
	return rc;
}

static void serve__listen_addresses(void **s)
{
	vd_error err = VD_ERROR_INIT;
	char addr[64];
	uint16_t port;
	bool lo;

	assert_int_equal(vd_serve_parse_listen("127.0.0.1:9180", addr, sizeof(addr), &port, &lo, &err), 0);
	assert_string_equal(addr, "127.0.0.1");
	assert_int_equal(port, 9180);
	assert_true(lo);
	assert_int_equal(vd_serve_parse_listen("0.0.0.0:80", addr, sizeof(addr), &port, &lo, &err), 0);
	assert_false(lo);
	assert_int_equal(vd_serve_parse_listen("[::1]:0", addr, sizeof(addr), &port, &lo, &err), 0);
	assert_string_equal(addr, "::1");
	assert_true(lo);
	assert_int_equal(vd_serve_parse_listen("localhost:80", addr, sizeof(addr), &port, &lo, &err),
			 VD_EINVAL);
	assert_non_null(strstr(vd_error_msg(&err), "is not an IP address"));
	assert_int_equal(vd_serve_parse_listen("127.0.0.1:99999", addr, sizeof(addr), &port, &lo, &err),
			 VD_EINVAL);
	assert_int_equal(vd_serve_parse_listen("9180", addr, sizeof(addr), &port, &lo, &err), VD_EINVAL);
	assert_int_equal(vd_serve_parse_listen(":9180", addr, sizeof(addr), &port, &lo, &err), VD_EINVAL);
	vd_error_release(&err);
}

static void write_journal(void)
{
	vd_error err = VD_ERROR_INIT;
	vd_journal j = VD_JOURNAL_INIT;
	vd_kvs f = { NULL, 0 };

	assert_int_equal(vd_journal_open(dir, "d1", &j, &err), 0);
	vd_kvs_add(&f, "type", "APP_ONLY");
	vd_kvs_add(&f, "duration_ms", "42000");
	assert_int_equal(vd_journal_write(&j, "deploy", "begin", NULL, &err), 0);
	assert_int_equal(vd_journal_write(&j, "deploy", "done", &f, &err), 0);
	assert_int_equal(vd_journal_write(&j, "rollback", "done", NULL, &err), 0);
	assert_int_equal(vd_journal_write(&j, "deploy", "failed", &f, &err), 0);
	vd_kvs_release(&f);
	vd_journal_close(&j);
}

static void serve__metrics_from_the_journal(void **s)
{
	vd_error err = VD_ERROR_INIT;
	vd_buf out = VD_BUF_INIT;

	write_journal();
	assert_int_equal(vd_serve_metrics(dir, "{\"probes\":[{\"service\":\"db\",\"name\":\"pg\\\"x\","
					  "\"status\":\"ok\",\"latency_ms\":12}]}", &out, &err), 0);
	assert_non_null(strstr(vd_buf_cstr(&out), "voxdeploy_deploys_total{type=\"APP_ONLY\",result=\"done\"} 1\n"));
	assert_non_null(strstr(vd_buf_cstr(&out), "voxdeploy_deploys_total{type=\"APP_ONLY\",result=\"failed\"} 1\n"));
	assert_non_null(strstr(vd_buf_cstr(&out), "voxdeploy_rollbacks_total 1\n"));
	assert_non_null(strstr(vd_buf_cstr(&out), "voxdeploy_deploy_duration_seconds_bucket{le=\"60\"} 2\n"));
	assert_non_null(strstr(vd_buf_cstr(&out), "voxdeploy_deploy_duration_seconds_bucket{le=\"30\"} 0\n"));
	assert_non_null(strstr(vd_buf_cstr(&out), "voxdeploy_deploy_duration_seconds_count 2\n"));
	assert_non_null(strstr(vd_buf_cstr(&out), "voxdeploy_probe_up{service=\"db\",probe=\"pg\\\"x\"} 1\n"));
	assert_non_null(strstr(vd_buf_cstr(&out), "voxdeploy_probe_latency_seconds{service=\"db\",probe=\"pg\\\"x\"} 0.012000\n"));
	vd_buf_release(&out);
	/* no journal yet: still valid metrics */
	assert_int_equal(vd_serve_metrics("/nonexistent", NULL, &out, &err), 0);
	assert_non_null(strstr(vd_buf_cstr(&out), "voxdeploy_build_info{version="));
	vd_buf_release(&out);
}

/* The catalogue of dumps (state/backups.h) and what /metrics says of it:
 * newest first per service, pruning, partial files, unknown ids. */
static void serve__backup_catalogue_and_metrics(void **s)
{
	static const char *const ids[] = { "a-postgres", "b-postgres", "c-other", "d-postgres" };
	static const char *const created[] = { "2026-12-01T10:00:00.000Z", "2026-12-02T10:00:00.000Z",
					       "2026-12-02T11:00:00.000Z", "2026-12-03T10:00:00.500Z" };
	vd_error err = VD_ERROR_INIT;
	vd_backup_info b, *all = NULL;
	vd_buf out = VD_BUF_INIT;
	char *path;
	size_t n = 0, i;

	for (i = 0; i < 4; i++) {
		memset(&b, 0, sizeof(b));
		snprintf(b.id, sizeof(b.id), "%s", ids[i]);
		snprintf(b.service, sizeof(b.service), "%s", strchr(ids[i], '-') + 1);
		snprintf(b.database, sizeof(b.database), "vd");
		snprintf(b.created, sizeof(b.created), "%s", created[i]);
		b.bytes = 1000 * (i + 1);
		b.ms = 1500;
		assert_int_equal(vd_backup_write_info(dir, &b, &err), 0);
		path = vd_backup_path(dir, ids[i], ".dump");
		tu_write_str(dir, strstr(path, "backups/"), "PGDMP");
		free(path);
	}
	path = vd_backup_path(dir, "e-postgres", ".dump.partial");
	tu_write_str(dir, strstr(path, "backups/"), "PGD");
	free(path);
	assert_int_equal(vd_backup_list(dir, &all, &n, &err), 0);
	assert_int_equal(n, 4);
	assert_string_equal(all[0].id, "d-postgres");
	assert_string_equal(all[1].id, "c-other");
	assert_int_equal(all[0].ms, 1500);
	free(all);
	assert_int_equal(vd_serve_metrics(dir, NULL, &out, &err), 0);
	assert_non_null(strstr(vd_buf_cstr(&out), "voxdeploy_backup_last_bytes{service=\"postgres\"} 4000\n"));
	assert_non_null(strstr(vd_buf_cstr(&out), "voxdeploy_backup_last_bytes{service=\"other\"} 3000\n"));
	assert_non_null(strstr(vd_buf_cstr(&out), "voxdeploy_backup_last_age_seconds{service=\"postgres\"} "));
	vd_buf_release(&out);
	/* keep 1 of postgres: the two older go, other stays */
	assert_int_equal(vd_backup_prune(dir, "postgres", 1, &err), 0);
	assert_int_equal(vd_backup_list(dir, &all, &n, &err), 0);
	assert_int_equal(n, 2);
	free(all);
	assert_int_equal(vd_backup_find(dir, "d-postgres", &b, &err), 0);
	assert_int_equal(vd_backup_find(dir, "a-postgres", &b, &err), VD_ENOTFOUND);
	assert_non_null(strstr(vd_error_msg(&err), "the newest: d-postgres"));
	vd_error_release(&err);
	assert_int_equal(vd_backup_clean_partial(dir), 1);
	assert_int_equal(vd_backup_clean_partial(dir), 0);
}

/* A request to the server under test: its status; an answer must come. */
static long get(uint16_t port, const char *method, const char *path, const char *header, vd_buf *body)
{
	long code = tu_http_request(port, method, path, header, 10, body);

	if (!code)
		fail_msg("%s %s: no answer", method, path);
	return code;
}

static int report_ok(void *ctx, vd_buf *out, vd_error *err)
{
	int *calls = ctx;

	(*calls)++;
	return vd_buf_puts(out, "{\"healthy\":true,\"secret\":\"s3cret-token-value\"}");
}

static void serve__endpoints(void **s)
{
	vd_serve_options o = { "127.0.0.1:0", "0123456789abcdef-token", dir, 60000, report_ok, NULL, NULL };
	const char *auth = "Authorization: Bearer 0123456789abcdef-token";
	vd_error err = VD_ERROR_INIT;
	vd_buf body = VD_BUF_INIT;
	vd_serve *srv = NULL;
	uint16_t port;
	int calls = 0;

	o.ctx = &calls;
	write_journal();
	vd_secret_add("s3cret-token-value");
	assert_int_equal(vd_serve_start(&o, &srv, &err), 0);
	port = vd_serve_port(srv);
	assert_true(port > 0);
	/* the token */
	assert_int_equal(get(port, "GET", "/healthz", NULL, &body), 401);
	assert_int_equal(get(port, "GET", "/healthz", "Authorization: Bearer wrong", &body), 401);
	assert_int_equal(get(port, "GET", "/healthz", auth, &body), 200);
	assert_string_equal(vd_buf_cstr(&body), "{\"status\":\"ok\"}\n");
	/* the report is cached for the TTL; fresh=1 asks again; secrets redacted */
	assert_int_equal(get(port, "GET", "/v1/report", auth, &body), 200);
	assert_int_equal(get(port, "GET", "/v1/report", auth, &body), 200);
	assert_int_equal(calls, 1);
	assert_int_equal(get(port, "GET", "/v1/report?fresh=1", auth, &body), 200);
	assert_int_equal(calls, 2);
	assert_null(strstr(vd_buf_cstr(&body), "s3cret-token-value"));
	assert_non_null(strstr(vd_buf_cstr(&body), "***"));
	assert_int_equal(get(port, "GET", "/v1/report?fresh=yes", auth, &body), 400);
	/* the journal */
	assert_int_equal(get(port, "GET", "/v1/deployments?limit=2", auth, &body), 200);
	assert_non_null(strstr(vd_buf_cstr(&body), "\"step\":\"rollback\""));
	assert_null(strstr(vd_buf_cstr(&body), "\"state\":\"begin\""));
	assert_int_equal(get(port, "GET", "/v1/deployments?limit=0", auth, &body), 400);
	assert_int_equal(get(port, "GET", "/v1/deployments?limit=99999", auth, &body), 400);
	assert_int_equal(get(port, "GET", "/metrics", auth, &body), 200);
	assert_non_null(strstr(vd_buf_cstr(&body), "voxdeploy_rollbacks_total 1"));
	/* everything else */
	assert_int_equal(get(port, "GET", "/nope", auth, &body), 404);
	assert_int_equal(get(port, "GET", "/../../etc/passwd", auth, &body), 404);
	assert_int_equal(get(port, "POST", "/healthz", auth, &body), 405);
	assert_int_equal(get(port, "DELETE", "/v1/report", auth, &body), 405);
	assert_int_equal(get(port, "HEAD", "/healthz", auth, &body), 200);
	vd_serve_stop(srv);
	vd_secret_clear();
	vd_buf_release(&body);

	/* off loopback without a token: refused before listening */
	o.listen = "0.0.0.0:0";
	o.token = NULL;
	assert_int_equal(vd_serve_start(&o, &srv, &err), VD_EINVAL);
	assert_non_null(strstr(vd_error_msg(&err), "needs a bearer token"));
	vd_error_release(&err);
}

/* What `serve --check` does: the HTTP probe with the bearer token as a
 * request header (and without it: 401, failing), the token never in a
 * result. */
static void serve__check_with_a_header(void **s)
{
	vd_serve_options o = { "127.0.0.1:0", "0123456789abcdef-token", dir, 0, NULL, NULL, NULL };
	const char *headers[] = { "Authorization: Bearer 0123456789abcdef-token" };
	vd_error err = VD_ERROR_INIT;
	vd_health_result res;
	vd_serve *srv = NULL;
	vd_probe p;
	char url[64];

	vd_secret_add("0123456789abcdef-token");
	assert_int_equal(vd_serve_start(&o, &srv, &err), 0);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/healthz", vd_serve_port(srv));
	memset(&p, 0, sizeof(p));
	p.kind = VD_PROBE_HTTP;
	p.http.url = url;
	p.http.body_contains = "\"ok\"";
	vd_http_probe_run(&p, 2000, &res);
	assert_int_equal(res.status, VD_HEALTH_FAILING);
	assert_non_null(strstr(res.detail, "401"));
	p.http.headers = headers;
	p.http.n_headers = 1;
	vd_http_probe_run(&p, 2000, &res);
	assert_int_equal(res.status, VD_HEALTH_OK);
	assert_null(strstr(res.detail, "abcdef-token"));
	vd_serve_stop(srv);
	vd_secret_clear();
}

/* A client that trickles its headers a byte at a time, each well within the
 * idle timeout, is cut off once the request has taken request_timeout_ms;
 * one that sends nothing at all too; a keep-alive connection serves several
 * requests; and the server answers afterwards. */
static void serve__slow_clients_are_cut_off(void **s)
{
	vd_serve_options o = { "127.0.0.1:0", NULL, dir, 0, NULL, NULL, NULL, 1000 };
	const char *req = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
	vd_error err = VD_ERROR_INIT;
	vd_buf body = VD_BUF_INIT;
	vd_serve *srv = NULL;
	uint64_t t0;
	size_t i;
	int slow, idle, closed = 0;

	assert_int_equal(vd_serve_start(&o, &srv, &err), 0);
	slow = tu_connect(vd_serve_port(srv));
	idle = tu_connect(vd_serve_port(srv));
	t0 = vd_now_ms();
	for (i = 0; req[i] && vd_now_ms() - t0 < 5000; i++) {
		if (send(slow, req + i, 1, MSG_NOSIGNAL) != 1 || tu_peer_closed(slow, 200)) {
			closed = 1;
			break;
		}
	}
	if (!closed)
		fail_msg("a client trickling its headers was still connected after %llu ms",
			 (unsigned long long)(vd_now_ms() - t0));
	assert_true(vd_now_ms() - t0 < 2500);
	/* the silent one went too */
	assert_true(tu_peer_closed(idle, 2000));
	close(slow);
	close(idle);
	/* keep-alive: two requests on one connection, a second apart */
	{
		CURL *h = curl_easy_init();
		char url[64];
		long n = 0;

		snprintf(url, sizeof(url), "http://127.0.0.1:%u/healthz", vd_serve_port(srv));
		curl_easy_setopt(h, CURLOPT_URL, url);
		curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, tu_curl_to_buf);
		curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
		assert_int_equal(curl_easy_perform(h), CURLE_OK);
		usleep(500 * 1000);
		assert_int_equal(curl_easy_perform(h), CURLE_OK);
		curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &n);
		assert_int_equal(n, 0);  /* the second reused the connection */
		curl_easy_cleanup(h);
	}
	assert_int_equal(get(vd_serve_port(srv), "GET", "/healthz", NULL, &body), 200);
	vd_serve_stop(srv);
	vd_buf_release(&body);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(serve__listen_addresses),
		cmocka_unit_test_setup_teardown(serve__check_with_a_header, setup, teardown),
		cmocka_unit_test_setup_teardown(serve__metrics_from_the_journal, setup, teardown),
		cmocka_unit_test_setup_teardown(serve__backup_catalogue_and_metrics, setup, teardown),
		cmocka_unit_test_setup_teardown(serve__endpoints, setup, teardown),
		cmocka_unit_test_setup_teardown(serve__slow_clients_are_cut_off, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
