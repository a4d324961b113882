/* Unit tests of the transport's pure parts: host parsing, version
 * negotiation, error statuses, query and filter building.  Talking to a real
 * engine is the integration suite's job; a tiny fake engine on a unix socket
 * checks that broken answers end in errors, never in a crash or a hang. */
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
#include <sys/un.h>
#include <unistd.h>

#include "docker_api/docker.h"
#include "testutil.h"

static void docker__hosts(void **state)
{
	vd_error err = VD_ERROR_INIT;
	vd_docker *d = NULL;

	assert_int_equal(vd_docker_new(&d, "unix:///run/x.sock", &err), 0);
	assert_string_equal(vd_docker_host(d), "unix:///run/x.sock");
	assert_null(vd_docker_api_version(d));
	vd_docker_free(d);
	assert_int_equal(vd_docker_new(&d, "tcp://127.0.0.1:2375", &err), 0);
	vd_docker_free(d);
	setenv("DOCKER_HOST", "unix:///from/env.sock", 1);
	assert_int_equal(vd_docker_new(&d, NULL, &err), 0);
	assert_string_equal(vd_docker_host(d), "unix:///from/env.sock");
	vd_docker_free(d);
	unsetenv("DOCKER_HOST");
	assert_int_equal(vd_docker_new(&d, NULL, &err), 0);
	assert_string_equal(vd_docker_host(d), VD_DOCKER_DEFAULT_HOST);
	vd_docker_free(d);

	assert_int_equal(vd_docker_new(&d, "ssh://user@host", &err), VD_EINVAL);
	assert_non_null(strstr(vd_error_msg(&err), "is not supported"));
	assert_int_equal(vd_docker_new(&d, "unix://", &err), VD_EINVAL);
	assert_int_equal(vd_docker_new(&d, "tcp://", &err), VD_EINVAL);
	vd_docker_free(NULL);
	vd_error_release(&err);
}

static void docker__version_parse(void **state)
{
	assert_int_equal(vd_docker_version_parse("1.41"), 1041);
	assert_int_equal(vd_docker_version_parse("1.9"), 1009);
	assert_int_equal(vd_docker_version_parse("2.0"), 2000);
	assert_int_equal(vd_docker_version_parse("1.41.2"), -1);
	assert_int_equal(vd_docker_version_parse("v1.41"), -1);
	assert_int_equal(vd_docker_version_parse(""), -1);
	assert_int_equal(vd_docker_version_parse(NULL), -1);
	assert_int_equal(vd_docker_version_parse("1."), -1);
}

static void docker__negotiate(void **state)
{
	vd_error err = VD_ERROR_INIT;
	char v[16];

	/* Debian's 20.10: max 1.41, min 1.12 → 1.41 */
	assert_int_equal(vd_docker_version_negotiate("1.41", "1.12", v, &err), 0);
	assert_string_equal(v, "1.41");
	/* 25–28: max 1.45..1.51, min 1.24 → our max */
	assert_int_equal(vd_docker_version_negotiate("1.47", "1.24", v, &err), 0);
	assert_string_equal(v, VD_DOCKER_API_MAX);
	/* 29.0–29.2 refuse below 1.44: we speak 1.44 */
	assert_int_equal(vd_docker_version_negotiate("1.52", "1.44", v, &err), 0);
	assert_string_equal(v, "1.44");
	/* an engine between our bounds */
	assert_int_equal(vd_docker_version_negotiate("1.43", NULL, v, &err), 0);
	assert_string_equal(v, "1.43");
	/* too old */
	assert_int_equal(vd_docker_version_negotiate("1.40", "1.12", v, &err), VD_EUNSUPPORTED);
	assert_non_null(strstr(vd_error_msg(&err), "needs at least 1.41"));
	/* an engine whose floor is above what we speak */
	assert_int_equal(vd_docker_version_negotiate("1.60", "1.50", v, &err), VD_EUNSUPPORTED);
	assert_non_null(strstr(vd_error_msg(&err), "upgrade voxdeploy"));
	/* nonsense */
	assert_int_equal(vd_docker_version_negotiate("", NULL, v, &err), VD_EPROTO);
	assert_int_equal(vd_docker_version_negotiate(NULL, NULL, v, &err), VD_EPROTO);
	vd_error_release(&err);
}

static void docker__status_errors(void **state)
{
	vd_error err = VD_ERROR_INIT;

	assert_int_equal(vd_docker_status_error(404, "{\"message\":\"No such container: x\"}", &err),
			 VD_ENOTFOUND);
	assert_string_equal(vd_error_msg(&err), "404 Not Found: No such container: x");
	assert_int_equal(err.http_status, 404);
	assert_int_equal(vd_docker_status_error(409,
		"{\"message\":\"Conflict. The container name \\\"/a\\\" is already in use\"}\n", &err),
		VD_ECONFLICT);
	assert_string_equal(vd_error_msg(&err),
			    "409 Conflict: Conflict. The container name \"/a\" is already in use");
	assert_int_equal(vd_docker_status_error(500, "{\"message\":\"boom\"}", &err), VD_EAPI);
	assert_string_equal(vd_error_msg(&err), "500 Internal Server Error: boom");
	/* not Docker's JSON: show the first line of what came */
	assert_int_equal(vd_docker_status_error(502, "<html>Bad gateway</html>\nmore", &err), VD_EAPI);
	assert_string_equal(vd_error_msg(&err), "502 Error: <html>Bad gateway</html>");
	assert_int_equal(vd_docker_status_error(400, "", &err), VD_EAPI);
	assert_string_equal(vd_error_msg(&err), "400 Bad Request");
	assert_int_equal(vd_docker_status_error(400, "{\"message\":", &err), VD_EAPI);
	assert_string_equal(vd_error_msg(&err), "400 Bad Request: {\"message\":");
	assert_int_equal(vd_docker_status_error(404, "{\"other\":1}", &err), VD_ENOTFOUND);
	vd_error_release(&err);
}

static void docker__query_and_filters(void **state)
{
	vd_buf q = VD_BUF_INIT, f = VD_BUF_INIT;
	const char *pairs[] = { "label", "com.docker.compose.project=p", "name", "^/a$",
				"label", "io.voxdeploy.test=1", NULL };
	const char *none[] = { NULL };

	assert_int_equal(vd_docker_query_add(&q, "all", "1"), 0);
	assert_int_equal(vd_docker_query_add(&q, "t", "app:1+x y&z"), 0);
	assert_string_equal(vd_buf_cstr(&q), "all=1&t=app%3A1%2Bx%20y%26z");
	assert_int_equal(vd_docker_filters_json(&f, pairs), 0);
	assert_string_equal(vd_buf_cstr(&f),
			    "{\"label\":[\"com.docker.compose.project=p\",\"io.voxdeploy.test=1\"],"
			    "\"name\":[\"^/a$\"]}");
	vd_buf_clear(&f);
	assert_int_equal(vd_docker_filters_json(&f, none), 0);
	assert_string_equal(vd_buf_cstr(&f), "{}");
	vd_buf_clear(&q);
	assert_int_equal(vd_docker_path(&q, "/containers/", "a/b c", "/json"), 0);
	assert_string_equal(vd_buf_cstr(&q), "/containers/a%2Fb%20c/json");
	vd_buf_clear(&q);
	assert_int_equal(vd_docker_path(&q, "/volumes/", "db", NULL), 0);
	assert_string_equal(vd_buf_cstr(&q), "/volumes/db");
	vd_buf_release(&q);
	vd_buf_release(&f);
}

/* --- a fake engine: answers each connection with one canned reply -------- */

struct fake {
	char path[108];
	int fd;
	const char *reply;   /* raw HTTP, or NULL to accept and say nothing */
	int hold_ms;
	pthread_t thread;
};

static void *fake_serve(void *arg)
{
	struct fake *f = arg;
	int c;

	while ((c = accept(f->fd, NULL, NULL)) >= 0) {
		char buf[4096];

		(void)!read(c, buf, sizeof(buf));
		if (f->reply)
			(void)!write(c, f->reply, strlen(f->reply));
		if (f->hold_ms)
			usleep((useconds_t)f->hold_ms * 1000);
		close(c);
	}
	return NULL;
}

static void fake_start(struct fake *f, const char *reply, int hold_ms)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	snprintf(f->path, sizeof(f->path), "/tmp/vd-fake-%d.sock", (int)getpid());
	unlink(f->path);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", f->path);
	f->fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(f->fd >= 0);
	assert_int_equal(bind(f->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(f->fd, 4), 0);
	f->reply = reply;
	f->hold_ms = hold_ms;
	assert_int_equal(pthread_create(&f->thread, NULL, fake_serve, f), 0);
}

static void fake_stop(struct fake *f)
{
	shutdown(f->fd, SHUT_RDWR);
	close(f->fd);
	pthread_join(f->thread, NULL);
	unlink(f->path);
}

static int fake_call(struct fake *f, vd_error *err, long timeout_ms)
{
	char host[128];
	vd_docker *d = NULL;
	vd_buf out = VD_BUF_INIT;
	int r;

	snprintf(host, sizeof(host), "unix://%s", f->path);
	assert_int_equal(vd_docker_new(&d, host, err), 0);
	vd_docker_set_timeout(d, timeout_ms);
	r = vd_docker_connect(d, err);
	vd_buf_release(&out);
	vd_docker_free(d);
	return r;
}

static void docker__no_socket(void **state)
{
	vd_error err = VD_ERROR_INIT;
	vd_docker *d = NULL;

	assert_int_equal(vd_docker_new(&d, "unix:///nonexistent/docker.sock", &err), 0);
	assert_int_equal(vd_docker_connect(d, &err), VD_ECONNECT);
	assert_string_equal(vd_error_msg(&err),
			    "cannot reach the Docker engine at unix:///nonexistent/docker.sock: "
			    "No such file or directory (is dockerd running? is the socket mounted "
			    "into this container?)");
	vd_docker_free(d);
	vd_error_release(&err);
}

static void docker__broken_engines(void **state)
{
	static const struct { const char *reply; int code; const char *needle; } cases[] = {
		/* garbage instead of HTTP */
		{ "this is not http\r\n\r\n", VD_EPROTO, "_ping" },
		/* a ping without a version header, then a truncated /version */
		{ "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK", VD_EPROTO, NULL },
		/* an old engine */
		{ "HTTP/1.1 200 OK\r\nApi-Version: 1.40\r\nContent-Length: 2\r\n\r\nOK",
		  VD_EUNSUPPORTED, "needs at least 1.41" },
		/* an error status */
		{ "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 18\r\n\r\n{\"message\":\"boom\"}",
		  VD_EAPI, "500 Internal Server Error: boom" },
		/* a body shorter than announced */
		{ "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort", VD_EPROTO, NULL },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		vd_error err = VD_ERROR_INIT;
		struct fake f;

		fake_start(&f, cases[i].reply, 0);
		assert_int_equal(fake_call(&f, &err, 2000), cases[i].code);
		if (cases[i].needle && !strstr(vd_error_msg(&err), cases[i].needle))
			fail_msg("case %zu: '%s' lacks '%s'", i, vd_error_msg(&err), cases[i].needle);
		fake_stop(&f);
		vd_error_release(&err);
	}
}

static void docker__stalled_engine_times_out(void **state)
{
	vd_error err = VD_ERROR_INIT;
	struct fake f;

	/* accepts, reads, says nothing for 5 s: the 500 ms timeout must fire */
	fake_start(&f, NULL, 5000);
	assert_int_equal(fake_call(&f, &err, 500), VD_ETIMEOUT);
	assert_non_null(strstr(vd_error_msg(&err), "did not answer within 500 ms"));
	fake_stop(&f);
	vd_error_release(&err);
}

/* tcp://host:port works like the socket: a fake engine on loopback */
static void *tcp_serve(void *arg)
{
	int fd = *(int *)arg, c, i;
	static const char reply[] =
		"HTTP/1.1 200 OK\r\nApi-Version: 1.43\r\nContent-Length: 2\r\n\r\nOK";

	for (i = 0; i < 1 && (c = accept(fd, NULL, NULL)) >= 0; i++) {
		char buf[4096];

		(void)!read(c, buf, sizeof(buf));
		(void)!write(c, reply, sizeof(reply) - 1);
		close(c);
	}
	return NULL;
}

static void docker__tcp_host(void **state)
{
	vd_error err = VD_ERROR_INIT;
	vd_docker *d = NULL;
	pthread_t t;
	char host[64];
	uint16_t port;
	int fd = tu_listen(&port);

	assert_int_equal(pthread_create(&t, NULL, tcp_serve, &fd), 0);
	snprintf(host, sizeof(host), "tcp://127.0.0.1:%d", port);
	assert_int_equal(vd_docker_new(&d, host, &err), 0);
	assert_int_equal(vd_docker_connect(d, &err), 0);
	assert_string_equal(vd_docker_api_version(d), "1.43");
	assert_true(vd_docker_api_at_least(d, "1.41"));
	assert_false(vd_docker_api_at_least(d, "1.44"));
	vd_docker_free(d);
	pthread_join(t, NULL);
	close(fd);
	/* nobody listening: the tcp flavour of the message */
	assert_int_equal(vd_docker_new(&d, host, &err), 0);
	assert_int_equal(vd_docker_connect(d, &err), VD_ECONNECT);
	assert_non_null(strstr(vd_error_msg(&err), "cannot reach the Docker engine at tcp://127.0.0.1:"));
	vd_docker_free(d);
	vd_error_release(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(docker__hosts),
		cmocka_unit_test(docker__version_parse),
		cmocka_unit_test(docker__negotiate),
		cmocka_unit_test(docker__status_errors),
		cmocka_unit_test(docker__query_and_filters),
		cmocka_unit_test(docker__no_socket),
		cmocka_unit_test(docker__broken_engines),
		cmocka_unit_test(docker__stalled_engine_times_out),
		cmocka_unit_test(docker__tcp_host),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
