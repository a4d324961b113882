/* Test helpers shared by the unit and the integration tests (testutil.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"
#include "testutil.h"

/* ------------------------------------------------------------------ files */

char *tu_mkdtemp(const char *name)
{
	char *d = NULL;

	assert_true(asprintf(&d, "/tmp/vd-%s-XXXXXX", name) > 0);
	assert_non_null(mkdtemp(d));
	return d;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(p);
}

int tu_rm_rf(const char *path)
{
	struct stat st;

	if (lstat(path, &st) && errno == ENOENT)
		return 0;
	return nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS) ? -1 : 0;
}

void tu_mkdir(const char *dir, const char *name, mode_t mode)
{
	char *p = NULL;

	assert_true(asprintf(&p, "%s/%s", dir, name) > 0);
	assert_int_equal(mkdir(p, mode), 0);
	assert_int_equal(chmod(p, mode), 0);
	free(p);
}

void tu_write(const char *dir, const char *name, const void *data, size_t len)
{
	char *p = NULL;
	FILE *f;

	assert_true(asprintf(&p, "%s/%s", dir, name) > 0);
	f = fopen(p, "wb");
	if (!f)
		fail_msg("cannot write %s: %s", p, strerror(errno));
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	free(p);
}

void tu_write_str(const char *dir, const char *name, const char *text)
{
	tu_write(dir, name, text, strlen(text));
}

void tu_write_fmt(const char *dir, const char *name, const char *fmt, ...)
{
	char *text = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&text, fmt, ap);
	va_end(ap);
	assert_true(n >= 0);
	tu_write(dir, name, text, (size_t)n);
	free(text);
}

void tu_assert_json_at(yajl_val v, const char *want, ...)
{
	yajl_val cur = v;
	vd_buf out = VD_BUF_INIT;
	const char *k;
	va_list ap;
	yajl_gen g;

	va_start(ap, want);
	while ((k = va_arg(ap, const char *)) && cur)
		cur = vd_json_get(cur, k);
	va_end(ap);
	if (!cur) {
		if (strcmp(want, "absent"))
			fail_msg("want %s, member absent", want);
		return;
	}
	g = vd_jgen_new();
	vd_jgen_value(g, cur);
	assert_int_equal(vd_jgen_finish(g, &out), 0);
	if (strcmp(vd_buf_cstr(&out), want))
		fail_msg("want %s\n got %s", want, vd_buf_cstr(&out));
	vd_buf_release(&out);
}

char *tu_read_data(const char *dir, const char *name)
{
	char path[1024], *text;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (!(text = tu_read_file(path)))
		fail_msg("cannot open %s", path);
	return text;
}

char *tu_read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *s = NULL;
	size_t len = 0, cap = 0, n;

	if (!f)
		return NULL;
	do {
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 8192;
			s = realloc(s, cap);
			assert_non_null(s);
		}
		n = fread(s + len, 1, cap - len - 1, f);
		len += n;
	} while (n > 0);
	s[len] = '\0';
	fclose(f);
	return s;
}

char *tu_slurp(const char *path)
{
	char *s = tu_read_file(path);

	return s ? s : strdup("");
}

/* ------------------------------------------------------------------ loopback TCP */

static struct sockaddr_in loopback(uint16_t port)
{
	struct sockaddr_in a;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons(port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
}

/* A TCP socket bound to 127.0.0.1 at a port of the kernel's choice (*port). */
static int bind_loopback(uint16_t *port)
{
	struct sockaddr_in a = loopback(0);
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

uint16_t tu_free_port(void)
{
	uint16_t port;

	close(bind_loopback(&port));
	return port;
}

int tu_listen(uint16_t *port)
{
	int fd = bind_loopback(port);

	assert_int_equal(listen(fd, 16), 0);
	return fd;
}

/* ------------------------------------------------------------------ a webhook receiver */

static void *hook_serve(void *arg)
{
	static const char answer[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
	tu_hook *h = arg;

	for (;;) {
		char buf[65536];
		size_t len = 0;
		long want = -1;
		int c = accept(h->fd, NULL, NULL);

		if (c < 0)
			return NULL;
		while (len < sizeof(buf) - 1) {
			ssize_t n = read(c, buf + len, sizeof(buf) - 1 - len);
			char *end;

			if (n <= 0)
				break;
			len += (size_t)n;
			buf[len] = '\0';
			end = strstr(buf, "\r\n\r\n");
			if (end && want < 0) {
				char *cl = strcasestr(buf, "content-length:");

				want = (long)(end + 4 - buf) + (cl ? atol(cl + 15) : 0);
			}
			if (want >= 0 && (long)len >= want)
				break;
		}
		buf[len] = '\0';
		pthread_mutex_lock(&h->lock);
		if (h->n < (int)(sizeof(h->requests) / sizeof(h->requests[0])))
			h->requests[h->n++] = strdup(buf);
		pthread_mutex_unlock(&h->lock);
		if (write(c, answer, sizeof(answer) - 1) < 0)
			perror("hook write");
		close(c);
	}
}

void tu_hook_start(tu_hook *h)
{
	h->fd = tu_listen(&h->port);
	assert_int_equal(pthread_create(&h->thread, NULL, hook_serve, h), 0);
}

int tu_hook_last(tu_hook *h, char **last)
{
	int n;

	pthread_mutex_lock(&h->lock);
	n = h->n;
	*last = n ? strdup(h->requests[n - 1]) : NULL;
	pthread_mutex_unlock(&h->lock);
	return n;
}

void tu_hook_stop(tu_hook *h)
{
	if (h->fd >= 0) {
		shutdown(h->fd, SHUT_RDWR);
		close(h->fd);
		pthread_join(h->thread, NULL);
		h->fd = -1;
	}
	while (h->n > 0)
		free(h->requests[--h->n]);
}

/* A socket connected to 127.0.0.1:port, -1 when nothing took it. */
static int try_connect(uint16_t port)
{
	struct sockaddr_in a = loopback(port);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		close(fd);
		return -1;
	}
	return fd;
}

int tu_connect(uint16_t port)
{
	int fd = try_connect(port);

	if (fd < 0)
		fail_msg("cannot connect to 127.0.0.1:%u: %s", port, strerror(errno));
	return fd;
}

bool tu_peer_closed(int fd, int timeout_ms)
{
	struct pollfd p = { fd, POLLIN, 0 };
	char c;

	return poll(&p, 1, timeout_ms) == 1 && recv(fd, &c, 1, MSG_DONTWAIT) <= 0;
}

void tu_send_all(int fd, const void *data, size_t n)
{
	const char *p = data;

	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

int tu_http_raw(uint16_t port, const char *req, size_t len, char **answer)
{
	vd_buf b = VD_BUF_INIT;
	uint64_t end;
	int fd = try_connect(port), status = -1;
	char chunk[4096];

	if (fd >= 0) {
		tu_send_all(fd, req, len);
		shutdown(fd, SHUT_WR);
		end = vd_now_ms() + 5000;
		for (;;) {
			struct pollfd p = { fd, POLLIN, 0 };
			uint64_t now = vd_now_ms();
			ssize_t n;

			if (now >= end || poll(&p, 1, (int)(end - now)) != 1)
				break;
			n = recv(fd, chunk, sizeof(chunk), 0);
			if (n <= 0)
				break;
			assert_int_equal(vd_buf_put(&b, chunk, (size_t)n), 0);
		}
		close(fd);
		if (sscanf(vd_buf_cstr(&b), "HTTP/1.%*d %d", &status) != 1)
			status = 0;
	}
	if (answer) {
		free(*answer);
		*answer = strdup(vd_buf_cstr(&b));
		assert_non_null(*answer);
	}
	vd_buf_release(&b);
	return status;
}

int tu_http_wait(uint16_t port, int timeout_ms)
{
	static const char req[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
	uint64_t end = vd_now_ms() + (uint64_t)timeout_ms;
	int status;

	while ((status = tu_http_raw(port, req, sizeof(req) - 1, NULL)) < 0 && vd_now_ms() < end)
		usleep(25 * 1000);
	return status;
}

size_t tu_curl_to_buf(char *data, size_t size, size_t n, void *buf)
{
	return vd_buf_put(buf, data, size * n) ? 0 : size * n;
}

long tu_http_request(uint16_t port, const char *method, const char *path, const char *header,
		     long timeout_s, vd_buf *body)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = header ? curl_slist_append(NULL, header) : NULL;
	char url[256];
	long status = 0;

	assert_non_null(c);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", port, path);
	vd_buf_clear(body);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (!strcmp(method, "HEAD"))
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, tu_curl_to_buf);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout_s);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return status;
}

/* ------------------------------------------------------------------ processes */

pid_t tu_spawn(const struct tu_proc *p)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		const char *const *e;
		int fd;

		if (p->cwd && chdir(p->cwd))
			_exit(126);
		if (p->null_stdin) {
			fd = open("/dev/null", O_RDONLY);
			dup2(fd, 0);
		}
		if (p->out) {
			fd = open(p->out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
			dup2(fd, 1);
		}
		if (p->err && p->out && !strcmp(p->err, p->out)) {
			dup2(1, 2);
		} else if (p->err) {
			fd = open(p->err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
			dup2(fd, 2);
		}
		for (e = p->env; e && *e; e++)
			if (strchr(*e, '='))
				putenv((char *)*e);
			else
				unsetenv(*e);
		execv(p->argv[0], (char *const *)p->argv);
		_exit(127);
	}
	return pid;
}

int tu_wait(pid_t pid, int timeout_s, const char *what)
{
	uint64_t end = vd_now_ms() + (uint64_t)timeout_s * 1000;
	int status = 0;

	if (!timeout_s) {
		assert_int_equal(waitpid(pid, &status, 0), pid);
		return status;
	}
	while (waitpid(pid, &status, WNOHANG) != pid) {
		if (vd_now_ms() > end) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			fail_msg("%s did not end within %d s", what, timeout_s);
		}
		usleep(10 * 1000);
	}
	return status;
}

char *tu_wait_for_text(const char *path, const char *needle, int timeout_ms)
{
	uint64_t end = vd_now_ms() + (uint64_t)timeout_ms;
	char *text = NULL;

	for (;;) {
		usleep(100 * 1000);
		free(text);
		text = tu_slurp(path);
		if (strstr(text, needle) || vd_now_ms() >= end)
			return text;
	}
}
