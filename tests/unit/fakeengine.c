/* Test helper: the fake engine and the binary runner (fakeengine.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/clock.h"
#include "fakeengine.h"
#include "testutil.h"

static void answer(int fd, const char *status, const char *type, const char *body)
{
	char head[512];

	snprintf(head, sizeof(head),
		 "HTTP/1.1 %s\r\nApi-Version: 1.44\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
		 "Connection: close\r\n\r\n", status, type, strlen(body));
	tu_send_all(fd, head, strlen(head));
	tu_send_all(fd, body, strlen(body));
}

/* Read the request head; the path into path.  False when the peer left. */
static bool read_request(int fd, char *path, size_t size)
{
	char buf[16384];
	size_t n = 0;

	while (n < sizeof(buf) - 1) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t r;

		if (poll(&p, 1, 5000) <= 0)
			return false;
		r = recv(fd, buf + n, sizeof(buf) - 1 - n, 0);
		if (r <= 0)
			return false;
		n += (size_t)r;
		buf[n] = '\0';
		if (strstr(buf, "\r\n\r\n"))
			break;
	}
	if (sscanf(buf, "%*s %1023s", path) != 1 || size < 1024)
		snprintf(path, size, "/");
	return true;
}

static void serve_ok(int fd, const char *path)
{
	if (strstr(path, "/_ping"))
		answer(fd, "200 OK", "text/plain", "OK");
	else if (strstr(path, "/version"))
		answer(fd, "200 OK", "application/json",
		       "{\"Version\":\"99.0.0-fake\",\"ApiVersion\":\"1.44\",\"MinAPIVersion\":\"1.24\","
		       "\"Os\":\"linux\",\"Arch\":\"amd64\",\"KernelVersion\":\"6.1\"}");
	else if (strstr(path, "/containers/json") || strstr(path, "/images/json") ||
		 strstr(path, "/networks") || strstr(path, "/volumes"))
		answer(fd, "200 OK", "application/json", strstr(path, "/volumes") ?
		       "{\"Volumes\":[],\"Warnings\":null}" : "[]");
	else
		answer(fd, "404 Not Found", "application/json", "{\"message\":\"no such object\"}");
}

static void serve_huge(int fd)
{
	static const char head[] = "HTTP/1.1 200 OK\r\nApi-Version: 1.44\r\nContent-Type: application/json\r\n"
				   "Transfer-Encoding: chunked\r\n\r\n";
	char chunk[65536 + 16];
	size_t total = 0;
	int off;

	tu_send_all(fd, head, sizeof(head) - 1);
	off = snprintf(chunk, sizeof(chunk), "10000\r\n");
	memset(chunk + off, ' ', 65536);
	chunk[off] = '[';
	memcpy(chunk + off + 65536, "\r\n", 2);
	/* up to 1 GiB: far past any cap, stopped by the client hanging up */
	while (total < ((size_t)1 << 30)) {
		ssize_t w = send(fd, chunk, (size_t)off + 65536 + 2, MSG_NOSIGNAL);

		if (w <= 0)
			break;
		total += (size_t)w;
		chunk[off] = ' ';
	}
}

static void *engine_main(void *arg)
{
	struct engine *e = arg;

	while (!e->stop) {
		struct pollfd p = { e->lfd, POLLIN, 0 };
		char path[1024];
		int fd;

		if (poll(&p, 1, 50) <= 0)
			continue;
		fd = accept(e->lfd, NULL, NULL);
		if (fd < 0)
			continue;
		if (e->mode == E_HANGUP) {
			close(fd);
			continue;
		}
		if (e->mode == E_STALL) {
			if (e->n_held < 64)
				e->held[e->n_held++] = fd;
			else
				close(fd);
			continue;
		}
		if (!read_request(fd, path, sizeof(path))) {
			close(fd);
			continue;
		}
		if (e->mode != E_OK && e->mode != E_GARBAGE && e->mode != E_500 && e->mode != E_OLDAPI &&
		    strstr(path, "/_ping")) {
			serve_ok(fd, path);
			close(fd);
			continue;
		}
		switch (e->mode) {
		case E_OK:
			serve_ok(fd, path);
			break;
		case E_GARBAGE:
			tu_send_all(fd, "\x01\x02garbage, not HTTP\r\n\r\n\xff\xfe", 26);
			break;
		case E_TRUNCATED:
			tu_send_all(fd, "HTTP/1.1 200 OK\r\nApi-Version: 1.44\r\nContent-Type: application/json\r\n"
				    "Content-Length: 5000\r\n\r\n[{\"Id\":\"abc", 101);
			break;
		case E_STALL_LATE:
			if (e->n_held < 64) {
				e->held[e->n_held++] = fd;
				continue;
			}
			break;
		case E_500:
		case E_500_LATE:
			answer(fd, "500 Internal Server Error", "application/json",
			       "{\"message\":\"fake engine exploded\"}");
			break;
		case E_HUGE:
			serve_huge(fd);
			break;
		case E_BADJSON:
			answer(fd, "200 OK", "application/json", "{this is not json");
			break;
		case E_OLDAPI:
			if (strstr(path, "/_ping")) {
				static const char ping[] = "HTTP/1.1 200 OK\r\nApi-Version: 1.12\r\n"
							   "Content-Length: 2\r\nConnection: close\r\n\r\nOK";

				tu_send_all(fd, ping, sizeof(ping) - 1);
			} else {
				answer(fd, "400 Bad Request", "application/json",
				       "{\"message\":\"client version 1.44 is too new. Maximum supported API version is 1.12\"}");
			}
			break;
		default:
			break;
		}
		close(fd);
	}
	return NULL;
}

void engine_start(struct engine *e, enum mode mode, const char *dir)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };

	memset(e, 0, sizeof(*e));
	e->mode = mode;
	e->lfd = -1;
	snprintf(e->path, sizeof(e->path), "%s/engine.sock", dir);
	if (mode == E_NONE)
		return;
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", e->path);
	e->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(e->lfd >= 0);
	assert_int_equal(bind(e->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(e->lfd, 64), 0);
	assert_int_equal(pthread_create(&e->th, NULL, engine_main, e), 0);
}

void engine_stop(struct engine *e)
{
	if (e->lfd < 0)
		return;
	e->stop = true;
	pthread_join(e->th, NULL);
	for (int i = 0; i < e->n_held; i++)
		close(e->held[i]);
	close(e->lfd);
	unlink(e->path);
}

pid_t start_vd(const char *dir, const struct engine *e, const char *const *argv,
	       const char *const *env, const char *out, const char *err)
{
	char outp[512], errp[512], host[256], state[512], proj[512];
	const char *args[32], *vars[40];
	struct tu_proc p = { args, proj, outp, errp, vars, true };
	int n = 0, m = 0;

	snprintf(outp, sizeof(outp), "%s/%s", dir, out);
	snprintf(errp, sizeof(errp), "%s/%s", dir, err);
	snprintf(host, sizeof(host), "unix://%s", e->path);
	snprintf(state, sizeof(state), "VOXDEPLOY_STATE_DIR=%s/state", dir);
	snprintf(proj, sizeof(proj), "%s/proj", dir);
	args[n++] = VD_BINARY;
	for (; *argv && n < 31; argv++)
		args[n++] = !strcmp(*argv, "@HOST") ? host : *argv;
	args[n] = NULL;
	vars[m++] = "DOCKER_HOST";
	vars[m++] = "COMPOSE_PROJECT_NAME";
	vars[m++] = state;
	vars[m++] = "VOXDEPLOY_API_TIMEOUT=1s";
	for (; env && *env && m < 39; env++)
		vars[m++] = *env;
	vars[m] = NULL;
	return tu_spawn(&p);
}

void run_vd(const char *dir, const struct engine *e, const char *const *argv,
	    const char *const *env, int timeout_s, struct run *r)
{
	char out[512], err[512], what[256];
	uint64_t t0 = vd_now_ms();
	pid_t pid = start_vd(dir, e, argv, env, "stdout", "stderr");

	snprintf(what, sizeof(what), "voxdeploy %s %s", argv[0] ? argv[0] : "",
		 argv[0] && argv[1] ? argv[1] : "");
	r->status = tu_wait(pid, timeout_s, what);
	r->seconds = (double)(vd_now_ms() - t0) / 1e3;
	snprintf(out, sizeof(out), "%s/stdout", dir);
	snprintf(err, sizeof(err), "%s/stderr", dir);
	r->out = tu_slurp(out);
	r->err = tu_slurp(err);
}

void run_release(struct run *r)
{
	free(r->out);
	free(r->err);
}
