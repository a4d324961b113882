/* Unit tests of docker_api/curl_util, the libcurl adapter: the body's cap
 * against a real HTTP server on loopback (a body over the cap fails, stops
 * or is dropped, as the caller chose), the CURLcode table against a closed
 * port and a listening socket that never answers, the setopt checks and
 * the header helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/clock.h"
#include "docker_api/curl_util.h"
#include "testutil.h"

#define BIG_BODY ((size_t)100000)
#define CAP ((size_t)16384)

/* ---- a server that answers one request with body_len bytes of 'x' ---- */

struct server {
	int fd;
	uint16_t port;
	size_t body_len;
	pthread_t thread;
};

static void *serve_one(void *arg)
{
	struct server *s = arg;
	static char chunk[8192];
	char req[4096], head[128];
	size_t got = 0, left;
	int c = accept(s->fd, NULL, NULL);

	if (c < 0)
		return NULL;
	/* the whole request head, so that closing early never resets it */
	while (got < sizeof(req) - 1) {
		ssize_t n = recv(c, req + got, sizeof(req) - 1 - got, 0);

		if (n <= 0)
			break;
		got += (size_t)n;
		req[got] = '\0';
		if (strstr(req, "\r\n\r\n"))
			break;
	}
	snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n", s->body_len);
	tu_send_all(c, head, strlen(head));
	memset(chunk, 'x', sizeof(chunk));
	for (left = s->body_len; left;) {
		size_t n = left < sizeof(chunk) ? left : sizeof(chunk);

		tu_send_all(c, chunk, n);
		left -= n;
	}
	close(c);
	return NULL;
}

static void server_start(struct server *s, size_t body_len)
{
	s->fd = tu_listen(&s->port);
	s->body_len = body_len;
	assert_int_equal(pthread_create(&s->thread, NULL, serve_one, s), 0);
}

static void server_stop(struct server *s)
{
	shutdown(s->fd, SHUT_RDWR);
	pthread_join(s->thread, NULL);
	close(s->fd);
}

/* GET http://127.0.0.1:port/ with body capture and a timeout; the handle
 * stays for the caller's getinfo. */
static CURLcode fetch(CURL **easy, uint16_t port, vd_curl_body *body, long timeout_ms,
		      char *errbuf)
{
	vd_error err = VD_ERROR_INIT;
	vd_curl_opts o;
	CURL *e = NULL;
	char url[64];

	assert_int_equal(vd_curl_easy_new(&e, &err), 0);
	o = (vd_curl_opts)VD_CURL_OPTS_EASY(e);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/", port);
	vd_curl_set_basics(&o, url, "http", "voxdeploy-test");
	vd_curl_set_method(&o, "GET");
	vd_curl_set_body(&o, body);
	vd_curl_setopt(&o, CURLOPT_TIMEOUT_MS, timeout_ms);
	if (errbuf)
		vd_curl_setopt(&o, CURLOPT_ERRORBUFFER, errbuf);
	assert_int_equal(vd_curl_opts_check(&o, &err), 0);
	*easy = e;
	return curl_easy_perform(e);
}

/* One GET of a body_len-byte answer into a buffer capped at CAP. */
struct get {
	vd_buf buf;
	vd_curl_body body;
	CURL *easy;
	CURLcode rc;
	int code;          /* what vd_curl_error() makes of it */
	vd_error err;
};

static void get_run(struct get *g, size_t body_len, vd_curl_overflow overflow)
{
	struct server s;

	memset(g, 0, sizeof(*g));
	vd_buf_init(&g->buf, CAP);
	g->body = (vd_curl_body){ &g->buf, overflow, 0 };
	server_start(&s, body_len);
	g->rc = fetch(&g->easy, s.port, &g->body, 5000, NULL);
	g->code = vd_curl_error(g->rc, NULL, &g->body, &g->err);
	server_stop(&s);
}

static void get_release(struct get *g)
{
	vd_curl_easy_free(g->easy);
	vd_buf_release(&g->buf);
	vd_error_release(&g->err);
}

static void curl__body_within_cap(void **state)
{
	struct get g;

	get_run(&g, 1000, VD_CURL_OVERFLOW_FAIL);
	assert_int_equal(g.rc, CURLE_OK);
	assert_int_equal(g.code, 0);
	assert_int_equal(vd_curl_status(g.easy), 200);
	assert_int_equal(g.buf.len, 1000);
	assert_int_equal(g.body.result, 0);
	get_release(&g);
}

static void curl__body_over_cap_fails(void **state)
{
	struct get g;

	get_run(&g, BIG_BODY, VD_CURL_OVERFLOW_FAIL);
	assert_int_equal(g.rc, CURLE_WRITE_ERROR);
	assert_int_equal(g.code, VD_ETOOBIG);
	assert_string_equal(vd_error_msg(&g.err), "response larger than 16384 bytes");
	assert_true(g.buf.len <= CAP);
	get_release(&g);
}

static void curl__body_over_cap_stops(void **state)
{
	struct get g;

	get_run(&g, BIG_BODY, VD_CURL_OVERFLOW_STOP);
	/* libcurl was told to stop; for the caller that is no error */
	assert_int_equal(g.rc, CURLE_WRITE_ERROR);
	assert_int_equal(g.code, 0);
	assert_int_equal(g.body.result, VD_ETOOBIG);
	assert_int_equal(g.buf.len, CAP);
	assert_int_equal(vd_buf_cstr(&g.buf)[CAP - 1], 'x');
	get_release(&g);
}

static void curl__body_over_cap_drops(void **state)
{
	struct get g;
	curl_off_t got = 0;

	get_run(&g, BIG_BODY, VD_CURL_OVERFLOW_DROP);
	assert_int_equal(g.rc, CURLE_OK);
	assert_int_equal(g.code, 0);
	assert_int_equal(g.body.result, VD_ETOOBIG);
	assert_int_equal(g.buf.len, CAP);
	/* the rest was read to the end, not kept */
	assert_int_equal(curl_easy_getinfo(g.easy, CURLINFO_SIZE_DOWNLOAD_T, &got), CURLE_OK);
	assert_int_equal(got, (curl_off_t)BIG_BODY);
	/* another attempt starts empty */
	vd_curl_body_clear(&g.body);
	assert_int_equal(g.buf.len, 0);
	assert_int_equal(g.body.result, 0);
	get_release(&g);
}

static void curl__no_buffer_reads_and_drops(void **state)
{
	vd_curl_body body = { NULL, VD_CURL_OVERFLOW_FAIL, 0 };
	struct server s;
	CURL *e = NULL;

	server_start(&s, BIG_BODY);
	assert_int_equal(fetch(&e, s.port, &body, 5000, NULL), CURLE_OK);
	assert_int_equal(vd_curl_error(CURLE_OK, NULL, &body, NULL), 0);
	vd_curl_easy_free(e);
	server_stop(&s);
}

static void curl__refused_is_connect(void **state)
{
	vd_error err = VD_ERROR_INIT;
	vd_curl_body body = { NULL, VD_CURL_OVERFLOW_FAIL, 0 };
	char errbuf[CURL_ERROR_SIZE] = "";
	CURL *e = NULL;
	CURLcode rc;

	rc = fetch(&e, tu_free_port(), &body, 5000, NULL);
	assert_int_equal(rc, CURLE_COULDNT_CONNECT);
	assert_int_equal(vd_curl_error(rc, NULL, NULL, &err), VD_ECONNECT);
	assert_string_equal(vd_error_msg(&err), curl_easy_strerror(rc));
	assert_true(vd_curl_connection_failed(rc));
	assert_int_equal(vd_curl_status(e), 0);
	vd_curl_easy_free(e);

	/* with an error buffer, its words ("Failed to connect to 127.0.0.1 ...") */
	rc = fetch(&e, tu_free_port(), &body, 5000, errbuf);
	assert_int_equal(vd_curl_error(rc, errbuf, NULL, &err), VD_ECONNECT);
	assert_true(errbuf[0]);
	assert_string_equal(vd_error_msg(&err), errbuf);
	vd_curl_easy_free(e);
	vd_error_release(&err);
}

static void curl__silent_peer_is_timeout(void **state)
{
	vd_error err = VD_ERROR_INIT;
	vd_curl_body body = { NULL, VD_CURL_OVERFLOW_FAIL, 0 };
	uint16_t port;
	int fd = tu_listen(&port);   /* the kernel takes the connection; nobody answers */
	uint64_t t0 = vd_now_ms(), took;
	CURL *e = NULL;
	CURLcode rc;

	rc = fetch(&e, port, &body, 300, NULL);
	took = vd_now_ms() - t0;
	assert_int_equal(rc, CURLE_OPERATION_TIMEDOUT);
	assert_int_equal(vd_curl_error(rc, NULL, NULL, &err), VD_ETIMEOUT);
	assert_false(vd_curl_connection_failed(rc));
	assert_true(took >= 290 && took < 3000);
	vd_curl_easy_free(e);
	close(fd);
	vd_error_release(&err);
}

static void curl__error_table(void **state)
{
	vd_error err = VD_ERROR_INIT;

	assert_int_equal(vd_curl_error(CURLE_OK, NULL, NULL, &err), 0);
	assert_null(err.msg);
	assert_int_equal(vd_curl_error(CURLE_COULDNT_RESOLVE_HOST, "", NULL, &err), VD_ECONNECT);
	assert_string_equal(vd_error_msg(&err), curl_easy_strerror(CURLE_COULDNT_RESOLVE_HOST));
	assert_int_equal(vd_curl_error(CURLE_OUT_OF_MEMORY, NULL, NULL, &err), VD_ENOMEM);
	assert_int_equal(vd_curl_error(CURLE_PARTIAL_FILE, NULL, NULL, &err), VD_EPROTO);
	assert_false(vd_curl_connection_failed(CURLE_PARTIAL_FILE));
	/* the connection broke: a protocol error, but worth another attempt */
	assert_int_equal(vd_curl_error(CURLE_GOT_NOTHING, NULL, NULL, &err), VD_EPROTO);
	assert_true(vd_curl_connection_failed(CURLE_GOT_NOTHING));
	assert_true(vd_curl_connection_failed(CURLE_RECV_ERROR));
	vd_error_release(&err);
}

static void curl__setopt_keeps_the_first_failure(void **state)
{
	vd_error err = VD_ERROR_INIT;
	vd_curl_opts o, mo;
	CURLM *m = NULL;
	CURL *e = NULL;

	assert_int_equal(vd_curl_easy_new(&e, &err), 0);
	o = (vd_curl_opts)VD_CURL_OPTS_EASY(e);
	vd_curl_set_basics(&o, "http://127.0.0.1/", "http", "voxdeploy-test");
	assert_int_equal(vd_curl_opts_check(&o, &err), 0);
	vd_curl_setopt(&o, CURLOPT_PROTOCOLS_STR, "no-such-protocol");
	vd_curl_setopt(&o, CURLOPT_REDIR_PROTOCOLS_STR, "no-such-protocol-either");
	assert_int_equal(vd_curl_opts_check(&o, &err), VD_ERR);
	assert_non_null(strstr(vd_error_msg(&err),
			       "cannot set up the request: CURLOPT_PROTOCOLS_STR: "));
	assert_null(strstr(vd_error_msg(&err), "REDIR"));
	vd_curl_easy_free(e);

	assert_int_equal(vd_curl_multi_new(&m, &err), 0);
	mo = (vd_curl_opts)VD_CURL_OPTS_MULTI(m);
	vd_curl_multi_setopt(&mo, CURLMOPT_MAXCONNECTS, 4L);
	assert_int_equal(vd_curl_opts_check(&mo, &err), 0);
	vd_curl_multi_setopt(&mo, (CURLMoption)99999, 0L);
	assert_int_equal(vd_curl_opts_check(&mo, &err), VD_ERR);
	assert_non_null(strstr(vd_error_msg(&err), curl_multi_strerror(CURLM_UNKNOWN_OPTION)));
	vd_curl_multi_free(m);
	vd_curl_easy_free(NULL);
	vd_curl_multi_free(NULL);
	vd_error_release(&err);
}

static void curl__headers(void **state)
{
	struct curl_slist *h = NULL;

	assert_int_equal(vd_curl_headers_add(&h, "Expect:"), 0);
	assert_int_equal(vd_curl_headers_addf(&h, "%s: %s", "Content-Type", "application/json"), 0);
	assert_string_equal(h->data, "Expect:");
	assert_string_equal(h->next->data, "Content-Type: application/json");
	assert_null(h->next->next);
	vd_curl_headers_free(&h);
	assert_null(h);
	vd_curl_headers_free(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(curl__body_within_cap),
		cmocka_unit_test(curl__body_over_cap_fails),
		cmocka_unit_test(curl__body_over_cap_stops),
		cmocka_unit_test(curl__body_over_cap_drops),
		cmocka_unit_test(curl__no_buffer_reads_and_drops),
		cmocka_unit_test(curl__refused_is_connect),
		cmocka_unit_test(curl__silent_peer_is_timeout),
		cmocka_unit_test(curl__error_table),
		cmocka_unit_test(curl__setopt_keeps_the_first_failure),
		cmocka_unit_test(curl__headers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
