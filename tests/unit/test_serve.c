/* Unit tests of controller/serve's pure parts and of the server itself on
 * loopback: listen addresses, the metrics from a journal, routing, methods,
 * tokens and limits; GET / with its login, sessions and headers, and a page
 * of a 10,000-record journal (the renderer itself: test_page.c). */
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
#include "controller/serve/session.h"
#include "controller/state/backups.h"
#include "controller/state/state.h"
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
	assert_null(strstr(vd_buf_cstr(&out), "voxdeploy_node_ready"));
	vd_buf_release(&out);
	/* on a swarm, per node: ready, and the stack's tasks running there */
	assert_int_equal(vd_serve_metrics("/nonexistent", "{\"services\":[],\"nodes\":["
					  "{\"node\":\"m1\",\"role\":\"manager\",\"state\":\"ready\",\"running\":{}},"
					  "{\"node\":\"w1\",\"role\":\"worker\",\"state\":\"ready\","
					  "\"running\":{\"app\":1,\"postgres\":1}},"
					  "{\"node\":\"w2\",\"role\":\"worker\",\"state\":\"down\","
					  "\"running\":{\"app\":2}}]}", &out, &err), 0);
	assert_non_null(strstr(vd_buf_cstr(&out), "voxdeploy_node_ready{node=\"m1\",role=\"manager\"} 1\n"));
	assert_non_null(strstr(vd_buf_cstr(&out), "voxdeploy_node_ready{node=\"w2\",role=\"worker\"} 0\n"));
	assert_non_null(strstr(vd_buf_cstr(&out), "voxdeploy_tasks_running{node=\"w1\",service=\"app\"} 1\n"));
	assert_non_null(strstr(vd_buf_cstr(&out), "voxdeploy_tasks_running{node=\"w1\",service=\"postgres\"} 1\n"));
	assert_non_null(strstr(vd_buf_cstr(&out), "voxdeploy_tasks_running{node=\"w2\",service=\"app\"} 2\n"));
	assert_null(strstr(vd_buf_cstr(&out), "voxdeploy_tasks_running{node=\"m1\""));
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

/* vd_cookie_get and the session store: lookups, expiry, dropping,
 * the oldest giving way when full. */
static void serve__cookies(void **s)
{
	char v[80], id[VD_SESSION_ID_LEN + 1], first[VD_SESSION_ID_LEN + 1];
	vd_sessions ss;
	int i;

	assert_true(vd_cookie_get("a=1; vd_session=abc ;b=2", "vd_session", v, sizeof(v)));
	assert_string_equal(v, "abc");
	assert_true(vd_cookie_get("vd_session=x", "vd_session", v, sizeof(v)));
	assert_string_equal(v, "x");
	assert_false(vd_cookie_get("my_vd_session=x; vd_sessionx=y", "vd_session", v, sizeof(v)));
	assert_false(vd_cookie_get("vd_session=0123456789", "vd_session", v, 4));
	vd_sessions_init(&ss, 0);
	assert_int_equal(vd_session_new(&ss, first), 0);
	assert_int_equal(strlen(first), VD_SESSION_ID_LEN);
	assert_true(vd_session_valid(&ss, first));
	assert_false(vd_session_valid(&ss, "00"));
	assert_false(vd_session_valid(&ss, NULL));
	memcpy(id, first, sizeof(id));
	id[0] = id[0] == 'a' ? 'b' : 'a';
	assert_false(vd_session_valid(&ss, id));
	/* bounded: the oldest goes */
	for (i = 0; i < VD_SESSION_MAX; i++) {
		usleep(1000);
		assert_int_equal(vd_session_new(&ss, id), 0);
	}
	assert_false(vd_session_valid(&ss, first));
	assert_true(vd_session_valid(&ss, id));
	vd_session_drop(&ss, id);
	assert_false(vd_session_valid(&ss, id));
	vd_sessions_release(&ss);
	/* expiring */
	vd_sessions_init(&ss, 50);
	assert_int_equal(vd_session_new(&ss, id), 0);
	assert_true(vd_session_valid(&ss, id));
	usleep(80 * 1000);
	assert_false(vd_session_valid(&ss, id));
	vd_sessions_release(&ss);
}

static size_t count_of(const char *hay, const char *needle)
{
	size_t n = 0;

	for (; (hay = strstr(hay, needle)); hay += strlen(needle))
		n++;
	return n;
}

struct reply {
	long status;
	vd_buf head, body;
};

static size_t to_buf(char *data, size_t size, size_t n, void *buf)
{
	return tu_curl_to_buf(data, size, n, buf);
}

/* A request with headers (NULL-terminated) and a body (or NULL). */
static void request(uint16_t port, const char *method, const char *path, const char *const *headers,
		    const char *body, struct reply *r)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	char url[256];

	snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", port, path);
	vd_buf_clear(&r->head);
	vd_buf_clear(&r->body);
	r->status = 0;
	for (; headers && *headers; headers++)
		h = curl_slist_append(h, *headers);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (body)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	if (!strcmp(method, "HEAD"))
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, to_buf);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &r->head);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, to_buf);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &r->body);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	if (!r->status)
		fail_msg("%s %s: no answer", method, path);
}

static const char *head_of(const struct reply *r, const char *name)
{
	return strcasestr(vd_buf_cstr(&r->head), name);
}

#define TOKEN "0123456789abcdef-token"
#define FORM "Content-Type: application/x-www-form-urlencoded"

/* GET / with a token set: the login form (401) until POST /login with the
 * right token gives a session cookie; a wrong token is refused (after a
 * pause); the cookie opens every endpoint until POST /logout; the page's
 * headers (CSP with a fresh nonce each time, nosniff, no-referrer,
 * no-store); the token never in a URL, never on the page. */
static void serve__page_and_login(void **s)
{
	vd_serve_options o = { "127.0.0.1:0", TOKEN, dir, 60000, report_ok, NULL, NULL };
	const char *form[] = { FORM, NULL }, *auth[] = { "Authorization: Bearer " TOKEN, NULL };
	const char *json[] = { "Content-Type: application/json", NULL };
	struct reply r = { 0, VD_BUF_INIT, VD_BUF_INIT };
	char cookie[200], *semi, nonce[40];
	const char *with_cookie[] = { cookie, NULL }, *p;
	vd_error err = VD_ERROR_INIT;
	vd_serve *srv = NULL;
	uint64_t t0;
	uint16_t port;
	int calls = 0;

	o.ctx = &calls;
	write_journal();
	vd_secret_add(TOKEN);
	assert_int_equal(vd_serve_start(&o, &srv, &err), 0);
	port = vd_serve_port(srv);
	/* no token: the form, as HTML with its policy */
	request(port, "GET", "/", NULL, NULL, &r);
	assert_int_equal(r.status, 401);
	assert_non_null(strstr(vd_buf_cstr(&r.body), "action=\"/login\""));
	assert_non_null(head_of(&r, "Content-Type: text/html; charset=utf-8"));
	assert_non_null(head_of(&r, "Content-Security-Policy: default-src 'none'; style-src 'nonce-"));
	request(port, "GET", "/v1/report", NULL, NULL, &r);
	assert_int_equal(r.status, 401);
	/* never through the URL */
	request(port, "GET", "/?token=" TOKEN, NULL, NULL, &r);
	assert_int_equal(r.status, 401);
	/* a wrong token: refused, after a pause */
	t0 = vd_now_ms();
	request(port, "POST", "/login", form, "token=wrong-token-0123456", &r);
	assert_int_equal(r.status, 401);
	assert_true(vd_now_ms() - t0 >= 400);
	assert_non_null(strstr(vd_buf_cstr(&r.body), "wrong token"));
	assert_null(head_of(&r, "Set-Cookie"));
	request(port, "POST", "/login", form, "token=" TOKEN "x", &r);
	assert_int_equal(r.status, 401);
	/* not a form; too large; elsewhere */
	request(port, "POST", "/login", json, "{\"token\":\"" TOKEN "\"}", &r);
	assert_int_equal(r.status, 415);
	{
		char big[VD_SERVE_MAX_FORM + 100];

		memset(big, 'a', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		memcpy(big, "token=", 6);
		request(port, "POST", "/login", form, big, &r);
		assert_int_equal(r.status, 413);
	}
	request(port, "POST", "/v1/report", form, "token=" TOKEN, &r);
	assert_int_equal(r.status, 405);
	/* the right token: a session cookie, back to the page */
	request(port, "POST", "/login", form, "other=1&token=" TOKEN, &r);
	assert_int_equal(r.status, 303);
	assert_non_null(head_of(&r, "Location: /\r\n"));
	p = head_of(&r, "Set-Cookie: vd_session=");
	assert_non_null(p);
	assert_non_null(strstr(p, "; HttpOnly; SameSite=Strict; Path=/"));
	snprintf(cookie, sizeof(cookie), "Cookie: %s", p + strlen("Set-Cookie: "));
	semi = strchr(cookie, ';');
	*semi = '\0';
	request(port, "GET", "/", with_cookie, NULL, &r);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(vd_buf_cstr(&r.body), "<section id=\"health\">"));
	assert_non_null(strstr(vd_buf_cstr(&r.body), "data-deploy=\"d1\""));
	assert_null(strstr(vd_buf_cstr(&r.body), TOKEN));
	assert_null(strstr(vd_buf_cstr(&r.body), strchr(cookie, '=') + 1));
	assert_non_null(head_of(&r, "X-Content-Type-Options: nosniff"));
	assert_non_null(head_of(&r, "Referrer-Policy: no-referrer"));
	assert_non_null(head_of(&r, "Cache-Control: no-store"));
	p = head_of(&r, "style-src 'nonce-");
	assert_non_null(p);
	snprintf(nonce, sizeof(nonce), "%.32s", p + strlen("style-src 'nonce-"));
	assert_non_null(strstr(vd_buf_cstr(&r.body), nonce));
	assert_int_equal(calls, 1);  /* the report /v1/report serves */
	/* the cached page, with a fresh nonce */
	request(port, "GET", "/", with_cookie, NULL, &r);
	assert_int_equal(r.status, 200);
	assert_null(strstr(vd_buf_cstr(&r.body), nonce));
	assert_null(strstr(vd_buf_cstr(&r.head), nonce));
	request(port, "GET", "/v1/report", with_cookie, NULL, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(calls, 1);
	request(port, "GET", "/", auth, NULL, &r);
	assert_int_equal(r.status, 200);
	request(port, "HEAD", "/", auth, NULL, &r);
	assert_int_equal(r.status, 200);
	/* logged out: the cookie opens nothing */
	request(port, "POST", "/logout", with_cookie, "", &r);
	assert_int_equal(r.status, 303);
	assert_non_null(head_of(&r, "Set-Cookie: vd_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"));
	request(port, "GET", "/", with_cookie, NULL, &r);
	assert_int_equal(r.status, 401);
	request(port, "GET", "/metrics", with_cookie, NULL, &r);
	assert_int_equal(r.status, 401);
	vd_serve_stop(srv);
	vd_secret_clear();
	vd_buf_release(&r.head);
	vd_buf_release(&r.body);
}

/* A journal of 10,000 records (400 deploys): the page shows the last 20 of
 * them, the newest first; what is deployed
 * is read from its own records even when it is older than those. */
static void serve__page_of_ten_thousand_records(void **s)
{
	vd_serve_options o = { "127.0.0.1:0", NULL, dir, 60000, report_ok, NULL, NULL };
	struct reply r = { 0, VD_BUF_INIT, VD_BUF_INIT };
	vd_error err = VD_ERROR_INIT;
	vd_serve *srv = NULL;
	vd_kvs f = { NULL, 0 };
	char id[VD_DEPLOY_ID_MAX], want[80];
	const char *steps[] = { "lock", "sync", "build", "tag", "create", "stop", "start", "health",
				"cleanup", "notify", "release", "backup" };
	int calls = 0, d, k;

	o.ctx = &calls;
	vd_kvs_add(&f, "type", "APP_ONLY");
	vd_kvs_add(&f, "duration_ms", "1000");
	for (d = 0; d < 400; d++) {
		vd_journal j = VD_JOURNAL_INIT;

		snprintf(id, sizeof(id), "20261203T000000Z-%06x", d);
		assert_int_equal(vd_journal_open(dir, id, &j, &err), 0);
		assert_int_equal(vd_journal_write(&j, "deploy", "begin", NULL, &err), 0);
		for (k = 0; k < 23; k++)
			assert_int_equal(vd_journal_write(&j, steps[k % 12], k % 2 ? "done" : "begin", NULL, &err), 0);
		assert_int_equal(vd_journal_write(&j, "deploy", d % 7 ? "done" : "failed", &f, &err), 0);
		vd_journal_close(&j);
	}
	snprintf(id, sizeof(id), "20261203T000000Z-%06x", 5);
	assert_int_equal(vd_state_update(dir, "demo", "0123456789abcdef0123456789abcdef01234567", id, NULL,
					 NULL, &err), 0);
	assert_int_equal(vd_serve_start(&o, &srv, &err), 0);
	/* (how fast: it_page, run alone, asserts under a second; here the
	 * unit suite runs in parallel on shared cores) */
	request(vd_serve_port(srv), "GET", "/", NULL, NULL, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(count_of(vd_buf_cstr(&r.body), "<li class=\"deploy"), 20);
	snprintf(want, sizeof(want), "data-deploy=\"20261203T000000Z-%06x\"", 399);
	assert_non_null(strstr(vd_buf_cstr(&r.body), want));
	snprintf(want, sizeof(want), "data-deploy=\"20261203T000000Z-%06x\"", 380);
	assert_non_null(strstr(vd_buf_cstr(&r.body), want));
	snprintf(want, sizeof(want), "data-deploy=\"20261203T000000Z-%06x\"", 379);
	assert_null(strstr(vd_buf_cstr(&r.body), want));
	assert_non_null(strstr(vd_buf_cstr(&r.body), "<dd id=\"deployed-type\">APP_ONLY</dd>"));
	assert_non_null(strstr(vd_buf_cstr(&r.body), "20261203T000000Z-000005</code> <span class=\"badge ok\">"));
	vd_serve_stop(srv);
	vd_kvs_release(&f);
	vd_buf_release(&r.head);
	vd_buf_release(&r.body);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(serve__listen_addresses),
		cmocka_unit_test(serve__cookies),
		cmocka_unit_test_setup_teardown(serve__page_and_login, setup, teardown),
		cmocka_unit_test_setup_teardown(serve__page_of_ten_thousand_records, setup, teardown),
		cmocka_unit_test_setup_teardown(serve__check_with_a_header, setup, teardown),
		cmocka_unit_test_setup_teardown(serve__metrics_from_the_journal, setup, teardown),
		cmocka_unit_test_setup_teardown(serve__backup_catalogue_and_metrics, setup, teardown),
		cmocka_unit_test_setup_teardown(serve__endpoints, setup, teardown),
		cmocka_unit_test_setup_teardown(serve__slow_clients_are_cut_off, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
