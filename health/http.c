#include "health/http.h"
#include "common/buf.h"
#include "common/clock.h"
#include "common/log.h"
#include "docker_api/curl_util.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct check {
	CURL *easy;
	struct curl_slist *headers;
	const vd_probe *p;
	void *tag;
	vd_buf body;
	vd_curl_body sink;           /* into body when the probe looks into it */
	uint64_t timeout_ms;
	char errbuf[CURL_ERROR_SIZE];
	struct check *next, *prev;   /* the runner's checks in flight */
};

struct vd_http_runner {
	CURLM *multi;
	struct check *checks;   /* in flight */
	size_t running;
};

static void unlink_check(vd_http_runner *r, struct check *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		r->checks = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->next = c->prev = NULL;
	curl_multi_remove_handle(r->multi, c->easy);
	r->running--;
}

int vd_http_validate(const vd_probe *p, vd_error *err)
{
	CURLU *u;
	char *scheme = NULL, *password = NULL;
	const char *m = p->http.method;
	int r = 0;

	if (!p->http.url || !*p->http.url)
		return vd_error_set(err, VD_EINVAL, "no url given");
	for (; m && *m; m++)
		if (!isupper((unsigned char)*m))
			return vd_error_set(err, VD_EINVAL, "method '%s' is not an upper-case token",
					    p->http.method);
	if (p->http.method && !*p->http.method)
		return vd_error_set(err, VD_EINVAL, "empty method");
	u = curl_url();
	if (!u)
		return vd_error_set(err, VD_ENOMEM, "out of memory");
	if (curl_url_set(u, CURLUPART_URL, p->http.url, 0) ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0)) {
		char target[256];

		vd_http_target(p->http.url, target, sizeof(target));
		r = vd_error_set(err, VD_EINVAL, "malformed url '%s'", target);
		goto done;
	}
	if (strcmp(scheme, "http") && strcmp(scheme, "https")) {
		r = vd_error_set(err, VD_EINVAL, "url scheme '%s' is not http or https", scheme);
		goto done;
	}
	if (!curl_url_get(u, CURLUPART_PASSWORD, &password, CURLU_URLDECODE) && password &&
	    vd_secret_add(password))
		r = vd_error_set(err, VD_ENOMEM, "out of memory");
	for (size_t i = 0; !r && i < p->http.n_expect_status; i++)
		if (p->http.expect_status[i] < 100 || p->http.expect_status[i] > 599)
			r = vd_error_set(err, VD_EINVAL, "expected status %ld is no HTTP status",
					 p->http.expect_status[i]);
done:
	curl_free(scheme);
	curl_free(password);
	curl_url_cleanup(u);
	return r;
}

void vd_http_target(const char *url, char *out, size_t size)
{
	const char *s = url ? url : "", *scheme_end, *host, *at, *end;
	vd_buf b = VD_BUF_INIT;

	if (!size)
		return;
	/* by hand, so that even a URL libcurl refuses is shown without its
	 * credentials: scheme://[user[:pw]@]host... → scheme://host... */
	scheme_end = strstr(s, "://");
	host = scheme_end ? scheme_end + 3 : s;
	end = host + strcspn(host, "/?#");
	at = memrchr(host, '@', (size_t)(end - host));
	vd_buf_put(&b, s, (size_t)(host - s));
	vd_buf_put(&b, at ? at + 1 : host, (size_t)(end - (at ? at + 1 : host)));
	vd_buf_put(&b, end, strcspn(end, "?#"));
	snprintf(out, size, "%s", vd_buf_cstr(&b));
	vd_buf_release(&b);
}

static bool status_accepted(const vd_probe *p, long status)
{
	size_t i;

	if (!p->http.n_expect_status)
		return status >= 200 && status < 300;
	for (i = 0; i < p->http.n_expect_status; i++)
		if (p->http.expect_status[i] == status)
			return true;
	return false;
}

static void expected_list(const vd_probe *p, char *out, size_t size)
{
	size_t i, o = 0;

	if (!p->http.n_expect_status) {
		snprintf(out, size, "2xx");
		return;
	}
	out[0] = '\0';
	for (i = 0; i < p->http.n_expect_status && o + 1 < size; i++) {
		int n = snprintf(out + o, size - o, "%s%ld", i ? "," : "", p->http.expect_status[i]);

		if (n < 0)
			break;
		o += (size_t)n;
	}
}

void vd_http_eval(const vd_probe *p, long status, const char *body, size_t body_len,
		  bool truncated, vd_health_result *out)
{
	char want[96];
	const char *needle = p->http.body_contains;

	out->certain = false;
	if (!status_accepted(p, status)) {
		expected_list(p, want, sizeof(want));
		vd_health_result_set(out, VD_HEALTH_FAILING, "HTTP %ld (expected %s)", status, want);
		return;
	}
	if (needle && *needle &&
	    (!body || !memmem(body, body_len, needle, strlen(needle)))) {
		vd_health_result_set(out, VD_HEALTH_FAILING, "HTTP %ld, but the body%s lacks \"%s\"",
				     status, truncated ? " (first bytes read)" : "", needle);
		return;
	}
	if (needle && *needle)
		vd_health_result_set(out, VD_HEALTH_OK, "HTTP %ld, body has \"%s\"", status, needle);
	else
		vd_health_result_set(out, VD_HEALTH_OK, "HTTP %ld", status);
}

static void check_free(struct check *c)
{
	if (!c)
		return;
	vd_curl_easy_free(c->easy);
	vd_curl_headers_free(&c->headers);
	vd_buf_release(&c->body);
	free(c);
}

int vd_http_runner_new(vd_http_runner **out, vd_error *err)
{
	vd_http_runner *r = calloc(1, sizeof(*r));
	int rc;

	if (!r)
		return vd_error_set(err, VD_ENOMEM, "out of memory");
	rc = vd_curl_multi_new(&r->multi, err);
	if (rc) {
		free(r);
		return rc;
	}
	*out = r;
	return 0;
}

void vd_http_runner_free(vd_http_runner *r)
{
	if (!r)
		return;
	while (r->checks) {
		struct check *c = r->checks;

		unlink_check(r, c);
		check_free(c);
	}
	vd_curl_multi_free(r->multi);
	free(r);
}

int vd_http_runner_start(vd_http_runner *r, const vd_probe *p, uint64_t timeout_ms, void *tag,
			 vd_error *err)
{
	struct check *c = calloc(1, sizeof(*c));
	const char *method = p->http.method && *p->http.method ? p->http.method : "GET";
	vd_curl_opts o;
	long t;
	size_t i;
	int rc;

	if (!c)
		return vd_error_set(err, VD_ENOMEM, "out of memory");
	rc = vd_curl_easy_new(&c->easy, err);
	if (rc) {
		free(c);
		return rc;
	}
	if (!timeout_ms)
		timeout_ms = p->timeout_ms ? p->timeout_ms : VD_PROBE_DEFAULT_TIMEOUT_MS;
	t = timeout_ms > LONG_MAX ? LONG_MAX : (long)timeout_ms;
	c->p = p;
	c->tag = tag;
	c->timeout_ms = timeout_ms;
	vd_buf_init(&c->body, p->http.max_body ? p->http.max_body : VD_PROBE_DEFAULT_MAX_BODY);
	/* past max_body the answer is judged on what was read; without a
	 * substring to look for the body is read and dropped */
	c->sink.buf = p->http.body_contains && *p->http.body_contains ? &c->body : NULL;
	c->sink.overflow = VD_CURL_OVERFLOW_STOP;

	o = (vd_curl_opts)VD_CURL_OPTS_EASY(c->easy);
	vd_curl_set_basics(&o, p->http.url, "http,https", "voxdeploy-health/" VD_VERSION);
	vd_curl_setopt(&o, CURLOPT_PRIVATE, (char *)c);
	vd_curl_setopt(&o, CURLOPT_TIMEOUT_MS, t);
	vd_curl_setopt(&o, CURLOPT_CONNECTTIMEOUT_MS, t);
	vd_curl_setopt(&o, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	vd_curl_setopt(&o, CURLOPT_FOLLOWLOCATION, p->http.follow_redirects ? 1L : 0L);
	vd_curl_setopt(&o, CURLOPT_MAXREDIRS, 5L);
	vd_curl_set_body(&o, &c->sink);
	vd_curl_setopt(&o, CURLOPT_ERRORBUFFER, c->errbuf);
	vd_curl_set_method(&o, method);
	for (i = 0; i < p->http.n_headers; i++) {
		if (vd_curl_headers_add(&c->headers, p->http.headers[i])) {
			check_free(c);
			return vd_error_set(err, VD_ENOMEM, "out of memory");
		}
	}
	if (c->headers)
		vd_curl_setopt(&o, CURLOPT_HTTPHEADER, c->headers);
	rc = vd_curl_opts_check(&o, err);
	if (rc) {
		check_free(c);
		return rc;
	}
	if (curl_multi_add_handle(r->multi, c->easy) != CURLM_OK) {
		check_free(c);
		return vd_error_set(err, VD_ENOMEM, "cannot start an HTTP check");
	}
	c->next = r->checks;
	if (r->checks)
		r->checks->prev = c;
	r->checks = c;
	r->running++;
	return 0;
}

int vd_http_runner_wait(vd_http_runner *r, struct pollfd *extra, size_t n_extra, long timeout_ms,
			vd_error *err)
{
	struct curl_waitfd stack[16], *w = stack;
	CURLMcode mc;
	size_t i;
	int rc = 0;

	if (n_extra > sizeof(stack) / sizeof(stack[0])) {
		w = calloc(n_extra, sizeof(*w));
		if (!w)
			return vd_error_set(err, VD_ENOMEM, "out of memory");
	}
	for (i = 0; i < n_extra; i++) {
		w[i].fd = extra[i].fd;
		w[i].events = extra[i].events;
		w[i].revents = 0;
	}
	if (timeout_ms < 0)
		timeout_ms = 0;
	/* curl_multi_poll sleeps even without transfers, and wakes earlier
	 * when libcurl's own timers want it */
	mc = curl_multi_poll(r->multi, n_extra ? w : NULL, (unsigned)n_extra,
			     timeout_ms > INT_MAX ? INT_MAX : (int)timeout_ms, NULL);
	if (mc != CURLM_OK && mc != CURLM_UNRECOVERABLE_POLL)
		rc = vd_error_set(err, VD_EIO, "poll: %s", curl_multi_strerror(mc));
	else if (mc == CURLM_UNRECOVERABLE_POLL && errno != EINTR)
		rc = vd_error_set(err, VD_EIO, "poll: %s", strerror(errno));
	for (i = 0; i < n_extra; i++)
		extra[i].revents = w[i].revents;
	if (w != stack)
		free(w);
	return rc;
}

static void check_result(struct check *c, CURLcode rc, vd_health_result *out)
{
	vd_error err = VD_ERROR_INIT;
	curl_off_t total_us = 0;

	memset(out, 0, sizeof(*out));
	curl_easy_getinfo(c->easy, CURLINFO_TOTAL_TIME_T, &total_us);
	out->latency_ms = (uint64_t)(total_us / 1000);
	switch (vd_curl_error(rc, c->errbuf, &c->sink, &err)) {
	case 0:
		vd_http_eval(c->p, vd_curl_status(c->easy), c->sink.buf ? c->body.ptr : NULL,
			     c->body.len, c->sink.result == VD_ETOOBIG, out);
		break;
	case VD_ETIMEOUT:
		vd_health_result_set(out, VD_HEALTH_FAILING, "no answer within %llu ms",
				     (unsigned long long)c->timeout_ms);
		break;
	case VD_ECONNECT:
		vd_health_result_set(out, VD_HEALTH_FAILING, "cannot connect: %s", vd_error_msg(&err));
		break;
	default:
		vd_health_result_set(out, VD_HEALTH_FAILING, "%s", vd_error_msg(&err));
		break;
	}
	vd_error_release(&err);
}

bool vd_http_runner_next(vd_http_runner *r, void **tag, vd_health_result *out)
{
	CURLMsg *msg;
	int running = 0, left;

	curl_multi_perform(r->multi, &running);
	while ((msg = curl_multi_info_read(r->multi, &left))) {
		struct check *c = NULL;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&c);
		check_result(c, msg->data.result, out);
		*tag = c->tag;
		unlink_check(r, c);
		check_free(c);
		return true;
	}
	return false;
}

void vd_http_probe_run(const vd_probe *p, uint64_t timeout_ms, vd_health_result *out)
{
	vd_http_runner *r = NULL;
	vd_error err = VD_ERROR_INIT;
	void *tag;

	memset(out, 0, sizeof(*out));
	if (vd_http_runner_new(&r, &err) || vd_http_runner_start(r, p, timeout_ms, NULL, &err)) {
		vd_health_result_set(out, VD_HEALTH_ERROR, "%s", vd_error_msg(&err));
		goto done;
	}
	while (!vd_http_runner_next(r, &tag, out)) {
		if (vd_http_runner_wait(r, NULL, 0, 1000, &err)) {
			vd_health_result_set(out, VD_HEALTH_ERROR, "%s", vd_error_msg(&err));
			break;
		}
	}
done:
	vd_http_runner_free(r);
	vd_error_release(&err);
}
