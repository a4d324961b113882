/* `voxdeploy serve` against a real container: the real binary in a project
 * directory (compose file, voxdeploy.yml, .env with a secret), /v1/report
 * with the project's probes while the container is healthy (200) and after
 * it stopped (503), the TTL from voxdeploy.yml, /metrics per probe, the
 * recover check at start, never the secret in a body, and bad input (wrong
 * methods, huge headers, slow clients, path traversal, invalid query values)
 * answered 4xx or cut off with the daemon unaffected. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/clock.h"
#include "integration/itest.h"
#include "testutil.h"

#define SECRET "it-serve-s3cret-Zq81"

static char dir[128], out_path[200], err_path[200];
static char *web_id;
static pid_t serve_pid;
static int web_port;
static unsigned serve_port;

/* GET a path of the running serve; the status, the body in *body. */
static long get(const char *path, char **body)
{
	vd_buf b = VD_BUF_INIT;
	long status = tu_http_request((uint16_t)serve_port, "GET", path, NULL, 60, &b);

	free(*body);
	*body = strdup(vd_buf_cstr(&b));
	vd_buf_release(&b);
	return status;
}

/* Start `voxdeploy serve` in the project on a free port, its state in sdir
 * (-v: verbose), its stdout and stderr in out_path and err_path. */
static pid_t serve_start(const char *sdir, bool verbose)
{
	const char *argv[12];
	struct tu_proc p = { argv, NULL, out_path, err_path, NULL, false };
	int n = 0;

	argv[n++] = VD_BINARY;
	if (verbose)
		argv[n++] = "-v";
	argv[n++] = "-C";
	argv[n++] = dir;
	argv[n++] = "--state-dir";
	argv[n++] = sdir;
	argv[n++] = "serve";
	argv[n++] = "--listen";
	argv[n++] = "127.0.0.1:0";
	argv[n] = NULL;
	return tu_spawn(&p);
}

static int setup(void **state)
{
	const char *project = itest_project();
	char sdir[200], *text, *p;

	snprintf(dir, sizeof(dir), "/tmp/vd-it-serve-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(out_path, sizeof(out_path), "%s.out", dir);
	snprintf(err_path, sizeof(err_path), "%s.err", dir);
	web_port = tu_free_port();
	tu_write_fmt(dir, "compose.yml",
	    "name: %s\n"
	    "services:\n"
	    "  web:\n"
	    "    image: %s\n"
	    "    container_name: %s_web\n",
	    project, itest_busybox_image(), project);
	/* the secret only through ${VAR}, from .env as on a server */
	tu_write_str(dir, "voxdeploy.yml",
	    "health:\n"
	    "  deadline: 10s\n"
	    "  http:\n"
	    "    - name: page\n"
	    "      service: web\n"
	    "      url: \"http://probe:${VD_IT_PASS}@127.0.0.1:${WEB_PORT}/health\"\n"
	    "      body_contains: ok\n"
	    "serve:\n"
	    "  report_ttl: 1h\n");
	tu_write_fmt(dir, ".env", "VD_IT_PASS=%s\nWEB_PORT=%d\n", SECRET, web_port);
	web_id = itest_web(web_port);

	snprintf(sdir, sizeof(sdir), "%s/.state", dir);
	serve_pid = serve_start(sdir, true);
	text = tu_wait_for_text(out_path, "(port ", 10000);
	p = strstr(text, "(port ");
	if (p)
		serve_port = (unsigned)atoi(p + 6);
	free(text);
	assert_true(serve_port > 0);
	return 0;
}

static int teardown(void **state)
{
	const char *const made[] = { dir, out_path, err_path };
	size_t i;
	int status;

	if (serve_pid > 0) {
		kill(serve_pid, SIGTERM);
		waitpid(serve_pid, &status, 0);
	}
	free(web_id);
	for (i = 0; i < sizeof(made) / sizeof(made[0]); i++)
		if (tu_rm_rf(made[i]))
			fprintf(stderr, "rm failed: %s\n", made[i]);
	return itest_group_teardown(state);
}

/* Send raw bytes to the running serve (tu_http_raw). */
static int raw(const char *req, size_t len, char **resp)
{
	return tu_http_raw((uint16_t)serve_port, req, len, resp);
}

static int raw_str(const char *req, char **resp)
{
	return raw(req, strlen(req), resp);
}

/* a 4xx answer, or the connection closed without one */
#define assert_refused(st, what) \
	do { \
		int st_ = (st); \
		if (st_ != 0 && (st_ < 400 || st_ > 499)) \
			fail_msg("%s: status %d", what, st_); \
	} while (0)

static void assert_still_serving(void)
{
	char *body = NULL;

	assert_int_equal(get("/healthz", &body), 200);
	assert_non_null(strstr(body, "\"status\":\"ok\""));
	free(body);
}

static void serve__recover_checked_at_start(void **state)
{
	char *text = tu_slurp(out_path);

	if (!strstr(text, "voxdeploy: recover: project ") || !strstr(text, ": nothing to do ("))
		fail_msg("no recover line in:\n%s", text);
	free(text);
}

static void serve__report_healthy_container(void **state)
{
	char *body = NULL;
	long st = 0;
	int i;

	/* the HEALTHCHECK needs a moment to say healthy */
	for (i = 0; i < 60; i++) {
		st = get("/v1/report?fresh=1", &body);
		if (st == 200)
			break;
		usleep(500 * 1000);
	}
	if (st != 200)
		fail_msg("status %ld: %s", st, body);
	assert_non_null(strstr(body, "\"verdict\":\"healthy\""));
	assert_non_null(strstr(body, "\"service\":\"web\""));
	assert_non_null(strstr(body, "\"probe\":\"container\""));
	assert_non_null(strstr(body, "\"probe\":\"page\""));
	/* no dumps in this state directory: an empty list */
	assert_non_null(strstr(body, ",\"last_backups\":[]}"));
	assert_null(strstr(body, SECRET));
	assert_int_equal(get("/metrics", &body), 200);
	assert_non_null(strstr(body, "voxdeploy_probe_up{service=\"web\",probe=\"page\"} 1"));
	assert_non_null(strstr(body, "voxdeploy_probe_up{service=\"web\",probe=\"container\"} 1"));
	assert_int_equal(get("/healthz", &body), 200);
	assert_non_null(strstr(body, "\"engine\":\"ok\""));
	free(body);
}

static void serve__report_unhealthy_container(void **state)
{
	vd_error err = VD_ERROR_INIT;
	char *body = NULL;

	itest_ok(vd_container_stop(itest_docker(), web_id, 0, &err), &err);
	/* serve.report_ttl is 1h: without fresh=1 the cached report */
	assert_int_equal(get("/v1/report", &body), 200);
	assert_non_null(strstr(body, "\"verdict\":\"healthy\""));
	assert_int_equal(get("/v1/report?fresh=1", &body), 503);
	assert_non_null(strstr(body, "\"verdict\":\"unhealthy\""));
	assert_non_null(strstr(body, "\"healthy\":false"));
	assert_non_null(strstr(body, "\"probe\":\"page\""));
	assert_null(strstr(body, SECRET));
	usleep(1100 * 1000);  /* /metrics is cached for a second */
	assert_int_equal(get("/metrics", &body), 200);
	assert_non_null(strstr(body, "voxdeploy_probe_up{service=\"web\",probe=\"container\"} 0"));
	free(body);
}

static void serve__bad_methods(void **state)
{
	static const char *const methods[] = { "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE",
					       "PROPFIND", "FOO" };
	char req[512], *resp = NULL;
	size_t i;

	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		snprintf(req, sizeof(req), "%s /v1/report HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
			 methods[i]);
		if (raw_str(req, &resp) != 405)
			fail_msg("%s: %s", methods[i], resp);
		assert_non_null(strstr(resp, "\"status\":405"));
	}
	/* a POST with a body, a CONNECT, a lower-case method, garbage, no Host */
	assert_int_equal(raw_str("POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
				 "Connection: close\r\n\r\nhello", &resp), 405);
	assert_refused(raw_str("CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: x\r\n\r\n", &resp), "CONNECT");
	assert_refused(raw_str("get /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", &resp),
		       "get");
	assert_refused(raw_str("\x01\x02garbage\r\n\r\n", &resp), "garbage");
	assert_refused(raw_str("GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n", &resp), "no Host");
	/* an unknown version: MHD's 505 (HTTP Version Not Supported) is the answer HTTP prescribes */
	assert_int_equal(raw_str("GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n", &resp), 505);
	free(resp);
	assert_still_serving();
}

static void serve__huge_headers(void **state)
{
	static const char head[] = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ";
	static char req[(1 << 20) + 256];  /* static: the largest request, the 1 MB header */
	size_t big = 1 << 20, i, n;
	char *resp = NULL;

	/* one header of 1 MB */
	memcpy(req, head, sizeof(head) - 1);
	n = sizeof(head) - 1;
	memset(req + n, 'a', big);
	strcpy(req + n + big, "\r\nConnection: close\r\n\r\n");
	assert_refused(raw(req, strlen(req), &resp), "a 1 MB header");
	/* 5000 small ones */
	n = (size_t)sprintf(req, "GET /healthz HTTP/1.1\r\nHost: x\r\n");
	for (i = 0; i < 5000; i++)
		n += (size_t)sprintf(req + n, "X-H%zu: v\r\n", i);
	strcpy(req + n, "Connection: close\r\n\r\n");
	assert_refused(raw(req, strlen(req), &resp), "5000 headers");
	/* a URL of 100 KB */
	n = (size_t)sprintf(req, "GET /v1/report?");
	memset(req + n, 'q', 100000);
	strcpy(req + n + 100000, " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
	assert_refused(raw(req, strlen(req), &resp), "a 100 KB URL");
	free(resp);
	assert_still_serving();
}

static void serve__path_traversal(void **state)
{
	static const char *const paths[] = {
		"/../etc/passwd", "/v1/%2e%2e/", "/v1/%2e%2e/%2e%2e/etc/passwd", "/v1/report/../../etc/passwd",
		"/..%2f..%2fetc%2fpasswd", "/%2e%2e/%2e%2e/etc/passwd", "//etc/passwd", "/v1/report%00",
		"/healthz/..", "/./healthz/../../", "/v1/../metrics/../../etc/shadow",
	};
	char req[512], *resp = NULL;
	size_t i;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		int st;

		snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
			 paths[i]);
		st = raw_str(req, &resp);
		assert_refused(st, paths[i]);
		if (strstr(resp, "root:") || strstr(resp, "voxdeploy_"))
			fail_msg("%s: served %s", paths[i], resp);
	}
	free(resp);
	assert_still_serving();
}

static void serve__invalid_query_values(void **state)
{
	static const char *const queries[] = {
		"/v1/deployments?limit=-1", "/v1/deployments?limit=abc", "/v1/deployments?limit=",
		"/v1/deployments?limit=0", "/v1/deployments?limit=1001", "/v1/deployments?limit=1e3",
		"/v1/deployments?limit=99999999999999999999999", "/v1/deployments?limit=%00",
		"/v1/deployments?limit=10abc", "/v1/deployments?limit=%2010",
		"/v1/report?fresh=yes", "/v1/report?fresh=", "/v1/report?fresh=2", "/v1/report?fresh=%00",
	};
	char *body = NULL;
	size_t i;

	for (i = 0; i < sizeof(queries) / sizeof(queries[0]); i++) {
		long st = get(queries[i], &body);

		if (st < 400 || st > 499)
			fail_msg("%s: status %ld: %s", queries[i], st, body);
	}
	/* and the valid ones still answer */
	assert_int_equal(get("/v1/deployments?limit=1", &body), 200);
	assert_int_equal(get("/v1/deployments?limit=1000", &body), 200);
	free(body);
	assert_still_serving();
}

/* A client that trickles a header byte every 500 ms (never idle for the
 * 10 s idle timeout) is cut off once its request has taken the request
 * timeout (10 s); so is one that connects and says nothing; /healthz answers
 * all along. */
static void serve__slow_client_timed_out(void **state)
{
	const char *start = "GET /healthz HTTP/1.1\r\nHost: x\r\n";
	int slow = tu_connect((uint16_t)serve_port), silent = tu_connect((uint16_t)serve_port), closed = 0;
	uint64_t t0 = vd_now_ms();
	long took;
	char *body = NULL;

	assert_int_equal(send(slow, start, strlen(start), MSG_NOSIGNAL), (ssize_t)strlen(start));
	while (vd_now_ms() - t0 < 20000) {
		if (send(slow, "X", 1, MSG_NOSIGNAL) != 1 || tu_peer_closed(slow, 500)) {
			closed = 1;
			break;
		}
		if ((vd_now_ms() - t0) % 3000 < 500)
			assert_int_equal(get("/healthz", &body), 200);
	}
	took = (long)(vd_now_ms() - t0);
	if (!closed)
		fail_msg("a slow client was still connected after %ld ms", took);
	if (took < 8000 || took > 13000)
		fail_msg("the slow client was cut off after %ld ms (the timeout is 10 s)", took);
	assert_true(tu_peer_closed(silent, 2000));
	close(slow);
	close(silent);
	free(body);
	assert_still_serving();
}

/* A recover that cannot run (another deploy holds the lock) is logged, and
 * serve starts anyway. */
static void serve__starts_when_recover_fails(void **state)
{
	char sdir[200], lock[260], *out, *err;
	int fd, status;
	pid_t pid;

	snprintf(sdir, sizeof(sdir), "%s/.state-locked", dir);
	assert_int_equal(mkdir(sdir, 0700), 0);
	snprintf(lock, sizeof(lock), "%s/lock", sdir);
	/* close-on-exec: serve must not inherit the lock */
	fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), 0);
	pid = serve_start(sdir, false);
	out = tu_wait_for_text(out_path, "(port ", 10000);
	kill(pid, SIGTERM);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	close(fd);
	err = tu_slurp(err_path);
	if (!strstr(out, "serving on") || !strstr(err, "serve: recover of project "))
		fail_msg("stdout:\n%s\nstderr:\n%s", out, err);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	free(out);
	free(err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(serve__recover_checked_at_start),
		cmocka_unit_test(serve__report_healthy_container),
		cmocka_unit_test(serve__report_unhealthy_container),
		cmocka_unit_test(serve__bad_methods),
		cmocka_unit_test(serve__huge_headers),
		cmocka_unit_test(serve__path_traversal),
		cmocka_unit_test(serve__invalid_query_values),
		cmocka_unit_test(serve__slow_client_timed_out),
		cmocka_unit_test(serve__starts_when_recover_fails),
	};

	curl_global_init(CURL_GLOBAL_DEFAULT);
	return cmocka_run_group_tests(tests, setup, teardown);
}
