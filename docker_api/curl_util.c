#include "docker_api/curl_util.h"

#include <pthread.h>
#include <stdarg.h>
#include <string.h>

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static CURLcode init_result;

static void init_curl(void)
{
	init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* Initialise libcurl for the process, once whatever the threads (later
 * calls return the first one's answer).  0, or VD_ERR "cannot initialise
 * libcurl". */
static int global_init(vd_error *err)
{
	pthread_once(&init_once, init_curl);
	if (init_result != CURLE_OK)
		return vd_error_set(err, VD_ERR, "cannot initialise libcurl");
	return 0;
}

/* CURL and CURLM are both void to their users: one helper makes either. */
static int new_handle(void **out, void *(*make)(void), vd_error *err)
{
	int r = global_init(err);
	void *h;

	if (r)
		return r;
	h = make();
	if (!h)
		return vd_error_set(err, VD_ENOMEM, "out of memory");
	*out = h;
	return 0;
}

int vd_curl_easy_new(CURL **out, vd_error *err)
{
	return new_handle(out, curl_easy_init, err);
}

int vd_curl_multi_new(CURLM **out, vd_error *err)
{
	return new_handle(out, curl_multi_init, err);
}

void vd_curl_easy_free(CURL *e)
{
	if (e)
		curl_easy_cleanup(e);
}

void vd_curl_multi_free(CURLM *m)
{
	if (m)
		curl_multi_cleanup(m);
}

/* ---- options ---- */

static void note_failure(vd_curl_opts *o, const char *name, const char *why, bool oom)
{
	if (o->failed)
		return;
	o->failed = name;
	o->why = why;
	o->code = oom ? VD_ENOMEM : VD_ERR;
}

void vd_curl_opts_note(vd_curl_opts *o, const char *name, CURLcode rc)
{
	if (rc != CURLE_OK)
		note_failure(o, name, curl_easy_strerror(rc), rc == CURLE_OUT_OF_MEMORY);
}

void vd_curl_opts_mnote(vd_curl_opts *o, const char *name, CURLMcode mc)
{
	if (mc != CURLM_OK)
		note_failure(o, name, curl_multi_strerror(mc), mc == CURLM_OUT_OF_MEMORY);
}

int vd_curl_opts_check(const vd_curl_opts *o, vd_error *err)
{
	if (!o->failed)
		return 0;
	return vd_error_set(err, o->code, "cannot set up the request: %s: %s", o->failed, o->why);
}

void vd_curl_set_basics(vd_curl_opts *o, const char *url, const char *protocols,
			const char *user_agent)
{
	vd_curl_setopt(o, CURLOPT_URL, url);
	vd_curl_setopt(o, CURLOPT_NOSIGNAL, 1L);
	vd_curl_setopt(o, CURLOPT_PROTOCOLS_STR, protocols);
	vd_curl_setopt(o, CURLOPT_USERAGENT, user_agent);
}

void vd_curl_set_method(vd_curl_opts *o, const char *method)
{
	if (!method || !strcmp(method, "GET"))
		vd_curl_setopt(o, CURLOPT_HTTPGET, 1L);
	else if (!strcmp(method, "HEAD"))
		vd_curl_setopt(o, CURLOPT_NOBODY, 1L);
	else
		vd_curl_setopt(o, CURLOPT_CUSTOMREQUEST, method);
}

/* ---- the body ---- */

size_t vd_curl_body_write(char *data, size_t size, size_t n, void *ud)
{
	vd_curl_body *b = ud;
	size_t len = size * n, keep = len;

	if (!b->buf)
		return len;
	if (len > b->buf->max - b->buf->len) {
		b->result = VD_ETOOBIG;
		if (b->overflow == VD_CURL_OVERFLOW_FAIL)
			return 0;
		keep = b->buf->max - b->buf->len;
	}
	if (vd_buf_put(b->buf, data, keep)) {
		b->result = VD_ENOMEM;
		return 0;
	}
	/* returning less than len makes libcurl stop with CURLE_WRITE_ERROR */
	return keep < len && b->overflow == VD_CURL_OVERFLOW_STOP ? 0 : len;
}

void vd_curl_set_body(vd_curl_opts *o, vd_curl_body *body)
{
	vd_curl_setopt(o, CURLOPT_WRITEFUNCTION, vd_curl_body_write);
	vd_curl_setopt(o, CURLOPT_WRITEDATA, body);
}

void vd_curl_body_clear(vd_curl_body *body)
{
	if (body->buf)
		vd_buf_clear(body->buf);
	body->result = 0;
}

/* ---- results ---- */

/* What the codes mean here.  A proxy that cannot be resolved is not the
 * peer refusing us, so it stays a protocol error like every code not
 * listed; `connection` is what a retry policy wants to know. */
static const struct {
	CURLcode rc;
	int code;
	bool connection;   /* the connection failed or broke without an answer */
} codes[] = {
	{ CURLE_OPERATION_TIMEDOUT, VD_ETIMEOUT, false },
	{ CURLE_COULDNT_CONNECT, VD_ECONNECT, true },
	{ CURLE_COULDNT_RESOLVE_HOST, VD_ECONNECT, true },
	{ CURLE_COULDNT_RESOLVE_PROXY, VD_EPROTO, true },
	{ CURLE_SEND_ERROR, VD_EPROTO, true },
	{ CURLE_RECV_ERROR, VD_EPROTO, true },
	{ CURLE_GOT_NOTHING, VD_EPROTO, true },
	{ CURLE_SSL_CONNECT_ERROR, VD_EPROTO, true },
	{ CURLE_OUT_OF_MEMORY, VD_ENOMEM, false },
};

static size_t code_index(CURLcode rc)
{
	size_t i;

	for (i = 0; i < sizeof(codes) / sizeof(codes[0]) && codes[i].rc != rc; i++)
		;
	return i;
}

int vd_curl_error(CURLcode rc, const char *errbuf, const vd_curl_body *body, vd_error *err)
{
	size_t i;

	if (body && body->result == VD_ENOMEM)
		return vd_error_set(err, VD_ENOMEM, "out of memory");
	if (body && body->result == VD_ETOOBIG) {
		if (body->overflow == VD_CURL_OVERFLOW_FAIL)
			return vd_error_set(err, VD_ETOOBIG, "response larger than %zu bytes",
					    body->buf->max);
		if (body->overflow == VD_CURL_OVERFLOW_STOP && rc == CURLE_WRITE_ERROR)
			return 0;
	}
	if (rc == CURLE_OK)
		return 0;
	i = code_index(rc);
	return vd_error_set(err, i < sizeof(codes) / sizeof(codes[0]) ? codes[i].code : VD_EPROTO,
			    "%s", errbuf && *errbuf ? errbuf : curl_easy_strerror(rc));
}

bool vd_curl_connection_failed(CURLcode rc)
{
	size_t i = code_index(rc);

	return i < sizeof(codes) / sizeof(codes[0]) && codes[i].connection;
}

long vd_curl_status(CURL *e)
{
	long status = 0;

	if (curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK)
		return 0;
	return status;
}

/* ---- headers ---- */

int vd_curl_headers_add(struct curl_slist **list, const char *line)
{
	struct curl_slist *l = curl_slist_append(*list, line);

	if (!l)
		return VD_ENOMEM;
	*list = l;
	return 0;
}

int vd_curl_headers_addf(struct curl_slist **list, const char *fmt, ...)
{
	vd_buf line = VD_BUF_INIT;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vd_buf_vprintf(&line, fmt, ap);
	va_end(ap);
	if (!r)
		r = vd_curl_headers_add(list, vd_buf_cstr(&line));
	vd_buf_release(&line);
	return r ? VD_ENOMEM : 0;
}

void vd_curl_headers_free(struct curl_slist **list)
{
	curl_slist_free_all(*list);
	*list = NULL;
}
