/* voxdeploy — a hijacked Engine API call (docker.h, vd_docker_hijack).
 *
 * libcurl carries HTTP requests one way at a time; a hijacked exec is a
 * conversation: stdin goes up while stdout comes down on the same
 * connection.  libcurl still makes the connection (CURLOPT_CONNECT_ONLY, the
 * unix socket or tcp, its timeouts) and moves the bytes
 * (curl_easy_send/curl_easy_recv); this file writes the one request line
 * and headers, reads the answer's head, then pumps both directions with
 * poll(). */
#include "docker_api/docker.h"
#include "common/clock.h"
#include "docker_api/curl_util.h"

#include <curl/curl.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define DEFAULT_IDLE_MS 60000L
#define MAX_HEAD ((size_t)64 << 10)
#define CHUNK ((size_t)64 << 10)

struct conn {
	CURL *e;
	curl_socket_t fd;
	uint64_t deadline;      /* 0: none */
	long idle_ms;
};

/* Wait until fd is ready for `events`, within the idle and overall limits. */
static int wait_fd(struct conn *c, short events, const char *what, vd_error *err)
{
	struct pollfd p = { .fd = c->fd, .events = events };
	long t = c->idle_ms;
	int n;

	if (c->deadline) {
		uint64_t now = vd_now_ms();

		if (now >= c->deadline)
			return vd_error_set(err, VD_ETIMEOUT, "%s: the call's deadline passed", what);
		if (c->deadline - now < (uint64_t)t)
			t = (long)(c->deadline - now);
	}
	do
		n = poll(&p, 1, (int)t);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return vd_error_set(err, VD_EIO, "%s: poll: %s", what, strerror(errno));
	if (n == 0)
		return vd_error_set(err, VD_ETIMEOUT, "%s: no progress for %ld ms", what, t);
	return 0;
}

static int send_all(struct conn *c, const char *buf, size_t len, vd_error *err)
{
	while (len) {
		size_t n = 0;
		CURLcode rc = curl_easy_send(c->e, buf, len, &n);

		if (rc == CURLE_AGAIN) {
			int r = wait_fd(c, POLLOUT, "sending to the engine", err);

			if (r)
				return r;
			continue;
		}
		if (rc != CURLE_OK)
			return vd_error_set(err, VD_ECONNECT, "sending to the engine: %s",
					    curl_easy_strerror(rc));
		buf += n;
		len -= n;
	}
	return 0;
}

/* One recv: bytes into buf (0 at the end of the stream); -1 → try later. */
static int recv_some(struct conn *c, char *buf, size_t size, size_t *got, vd_error *err)
{
	CURLcode rc = curl_easy_recv(c->e, buf, size, got);

	if (rc == CURLE_AGAIN)
		return -1;
	if (rc != CURLE_OK)
		return vd_error_set(err, VD_ECONNECT, "reading from the engine: %s",
				    curl_easy_strerror(rc));
	return 0;
}

/* The answer's head, up to the blank line; what came after it stays in
 * *rest (rest_len bytes). */
static int read_head(struct conn *c, vd_buf *head, size_t *body_at, vd_error *err)
{
	char buf[4096];

	for (;;) {
		const char *end = strstr(vd_buf_cstr(head), "\r\n\r\n");
		size_t got = 0;
		int r;

		if (end) {
			*body_at = (size_t)(end - vd_buf_cstr(head)) + 4;
			return 0;
		}
		r = recv_some(c, buf, sizeof(buf), &got, err);
		if (r == -1) {
			if ((r = wait_fd(c, POLLIN, "waiting for the engine's answer", err)))
				return r;
			continue;
		}
		if (r)
			return r;
		if (!got)
			return vd_error_set(err, VD_EPROTO, "the engine closed the connection before "
					    "its answer's head ended");
		if (memchr(buf, '\0', got) || vd_buf_put(head, buf, got))
			return vd_error_set(err, VD_EPROTO, "the engine's answer head is not text or "
					    "longer than %zu bytes", MAX_HEAD);
	}
}

/* An error answer: its body (what has come, and the rest until the engine
 * closes or the cap) into the error. */
static int answer_error(struct conn *c, long status, vd_buf *head, size_t body_at, vd_error *err)
{
	vd_buf body = VD_BUF_INIT;
	char buf[4096];
	int r;

	vd_buf_init(&body, MAX_HEAD);
	vd_buf_put(&body, vd_buf_cstr(head) + body_at, head->len - body_at);
	for (;;) {
		size_t got = 0;

		r = recv_some(c, buf, sizeof(buf), &got, err);
		if (r == -1 && !wait_fd(c, POLLIN, "reading the engine's error", err))
			continue;
		if (r || !got || vd_buf_put(&body, buf, got))
			break;
	}
	vd_error_release(err);
	r = vd_docker_status_error(status, vd_buf_cstr(&body), err);
	vd_buf_release(&body);
	return r;
}

/* Both directions until the engine closes: the file up (then a half-close),
 * the output down. */
static int pump(struct conn *c, vd_docker_req *req, int in_fd, vd_error *err)
{
	char *up = malloc(CHUNK), *down = malloc(CHUNK);
	size_t up_len = 0, up_off = 0;
	bool in_eof = in_fd < 0, shut = false;
	int r = 0;

	if (!up || !down) {
		r = vd_error_set(err, VD_ENOMEM, "out of memory");
		goto done;
	}
	if (in_eof && shutdown(c->fd, SHUT_WR) == 0)
		shut = true;
	for (;;) {
		size_t got = 0;
		int rr;

		if (!in_eof && up_off == up_len) {
			ssize_t n = read(in_fd, up, CHUNK);

			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				r = vd_error_set(err, VD_EIO, "reading the input: %s", strerror(errno));
				goto done;
			}
			up_off = 0;
			up_len = (size_t)n;
			in_eof = n == 0;
		}
		if (in_eof && !shut) {
			/* the command reads EOF; its output still comes */
			shutdown(c->fd, SHUT_WR);
			shut = true;
		}
		rr = recv_some(c, down, CHUNK, &got, err);
		if (rr > 0 || (rr < 0 && rr != -1)) {
			r = rr;
			goto done;
		}
		if (rr == 0) {
			if (!got)
				goto done;  /* the engine closed: the command ended */
			if (!req->on_data)
				continue;
			rr = req->on_data(down, got, req->ctx, err);
			if (rr > 0)
				goto done;
			if (rr < 0) {
				r = rr;
				goto done;
			}
			continue;
		}
		if (up_off < up_len) {
			size_t n = 0;
			CURLcode rc = curl_easy_send(c->e, up + up_off, up_len - up_off, &n);

			if (rc == CURLE_OK) {
				up_off += n;
				continue;
			}
			if (rc != CURLE_AGAIN) {
				r = vd_error_set(err, VD_ECONNECT, "sending the input: %s",
						 curl_easy_strerror(rc));
				goto done;
			}
			r = wait_fd(c, POLLIN | POLLOUT, "exchanging with the engine", err);
		} else {
			r = wait_fd(c, POLLIN, "reading the engine's output", err);
		}
		if (r)
			goto done;
	}
done:
	free(up);
	free(down);
	return r;
}

int vd_docker_hijack(vd_docker *d, vd_docker_req *req, int in_fd, vd_error *err)
{
	struct conn c = { .fd = CURL_SOCKET_BAD };
	vd_buf url = VD_BUF_INIT, head = VD_BUF_INIT, request = VD_BUF_INIT;
	const char *method = req->method ? req->method : "POST";
	vd_curl_opts o;
	size_t body_at = 0;
	long status = 0;
	CURLcode rc;
	int r;

	vd_buf_init(&head, MAX_HEAD);
	c.idle_ms = req->idle_timeout_ms > 0 ? req->idle_timeout_ms : DEFAULT_IDLE_MS;
	c.deadline = req->deadline_ms > 0 ? vd_now_ms() + (uint64_t)req->deadline_ms : 0;
	r = vd_docker_url(d, "/_ping", &url, err);
	if (!r)
		r = vd_curl_easy_new(&c.e, err);
	if (r)
		goto done;
	o = (vd_curl_opts)VD_CURL_OPTS_EASY(c.e);
	vd_curl_set_basics(&o, vd_buf_cstr(&url), "http", "voxdeploy/" VD_VERSION);
	if (vd_docker_socket_path(d))
		vd_curl_setopt(&o, CURLOPT_UNIX_SOCKET_PATH, vd_docker_socket_path(d));
	vd_curl_setopt(&o, CURLOPT_CONNECT_ONLY, 1L);
	vd_curl_setopt(&o, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	if ((r = vd_curl_opts_check(&o, err)))
		goto done;
	rc = curl_easy_perform(c.e);
	if (rc == CURLE_OK)
		rc = curl_easy_getinfo(c.e, CURLINFO_ACTIVESOCKET, &c.fd);
	if (rc != CURLE_OK || c.fd == CURL_SOCKET_BAD) {
		r = vd_error_set(err, VD_ECONNECT, "cannot reach the engine at %s: %s", vd_docker_host(d),
				 curl_easy_strerror(rc));
		goto done;
	}
	/* the request: HTTP/1.1 with Upgrade, as the docker CLI sends it */
	vd_buf_clear(&url);
	if ((r = vd_docker_url(d, req->path, &url, err)))
		goto done;
	{
		const char *p = strstr(vd_buf_cstr(&url), "://");
		const char *path = p ? strchr(p + 3, '/') : NULL;

		if (!path || vd_buf_printf(&request,
					   "%s %s HTTP/1.1\r\nHost: docker\r\nUser-Agent: voxdeploy/%s\r\n"
					   "Content-Type: application/json\r\nConnection: Upgrade\r\n"
					   "Upgrade: tcp\r\nContent-Length: %zu\r\n\r\n", method, path,
					   VD_VERSION, req->body ? req->body_len : 0) ||
		    (req->body && vd_buf_put(&request, req->body, req->body_len))) {
			r = vd_error_set(err, VD_ENOMEM, "out of memory");
			goto done;
		}
	}
	if ((r = send_all(&c, vd_buf_cstr(&request), request.len, err)) ||
	    (r = read_head(&c, &head, &body_at, err)))
		goto done;
	if (sscanf(vd_buf_cstr(&head), "HTTP/1.%*d %ld", &status) != 1) {
		r = vd_error_set(err, VD_EPROTO, "the engine's answer has no status line");
		goto done;
	}
	req->status = status;
	if (status != 101 && status != 200) {
		r = answer_error(&c, status, &head, body_at, err);
		goto done;
	}
	/* output that came with the head */
	if (head.len > body_at && req->on_data) {
		r = req->on_data(vd_buf_cstr(&head) + body_at, head.len - body_at, req->ctx, err);
		if (r > 0) {
			r = 0;
			goto done;
		}
		if (r)
			goto done;
	}
	r = pump(&c, req, in_fd, err);
	if (r > 0)
		r = 0;
done:
	if (r)
		vd_error_prefix(err, "%s %s", method, req->path);
	if (c.e)
		curl_easy_cleanup(c.e);
	vd_buf_release(&url);
	vd_buf_release(&head);
	vd_buf_release(&request);
	return r;
}
