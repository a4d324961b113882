#include "docker_api/docker.h"
#include "docker_api/curl_util.h"
#include "common/clock.h"
#include "common/json.h"
#include "common/log.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_ERROR_BODY ((size_t)64 << 10)

struct vd_docker {
	char *host;          /* as given */
	char *socket_path;   /* unix sockets */
	char *base_url;      /* "http://localhost" or "http://h:p" */
	CURL *easy;          /* reused for every plain call */
	long timeout_ms;
	bool negotiated;
	char api[16];
	char daemon_api[16];
	char daemon_min_api[16];
	char builder_version[8]; /* /_ping's Builder-Version ("" when not said) */
	char os_type[16];        /* /_ping's OSType */
	vd_engine_info engine;
	bool have_engine;
};

/* VOXDEPLOY_API_TIMEOUT: "30" or "30s" (seconds), "500ms"; 1 ms to 1 h. */
static int timeout_from_env(long *out, vd_error *err)
{
	const char *v = getenv("VOXDEPLOY_API_TIMEOUT");
	char *end;
	long n;

	if (!v || !*v)
		return 0;
	errno = 0;
	n = strtol(v, &end, 10);
	if (end != v && !errno && n > 0) {
		if (!strcmp(end, "ms") && n <= 3600000L) {
			*out = n;
			return 0;
		}
		if ((!*end || !strcmp(end, "s")) && n <= 3600) {
			*out = n * 1000;
			return 0;
		}
	}
	return vd_error_set(err, VD_EINVAL,
			    "VOXDEPLOY_API_TIMEOUT '%s' is no timeout (like 30s or 500ms, at most 1h)", v);
}

int vd_docker_new(vd_docker **out, const char *host, vd_error *err)
{
	vd_docker *d = NULL;
	const char *h = host;
	int r = VD_ENOMEM;

	if (!h || !*h)
		h = getenv("DOCKER_HOST");
	if (!h || !*h)
		h = VD_DOCKER_DEFAULT_HOST;
	d = calloc(1, sizeof(*d));
	if (!d || !(d->host = strdup(h)))
		goto fail;
	d->timeout_ms = 30000;
	if ((r = timeout_from_env(&d->timeout_ms, err)))
		goto fail;
	r = VD_ENOMEM;
	if (!strncmp(h, "unix://", 7)) {
		if (!h[7]) {
			r = vd_error_set(err, VD_EINVAL, "docker host '%s' names no socket", h);
			goto fail;
		}
		d->socket_path = strdup(h + 7);
		d->base_url = strdup("http://localhost");
	} else if (!strncmp(h, "tcp://", 6)) {
		const char *hp = h + 6;
		size_t n = strcspn(hp, "/");

		if (!n) {
			r = vd_error_set(err, VD_EINVAL, "docker host '%s' names no address", h);
			goto fail;
		}
		if (asprintf(&d->base_url, "http://%.*s", (int)n, hp) < 0)
			d->base_url = NULL;
	} else {
		r = vd_error_set(err, VD_EINVAL,
				 "docker host '%s' is not supported (use unix:///path or tcp://host:port)", h);
		goto fail;
	}
	if (!d->base_url || (!strncmp(h, "unix://", 7) && !d->socket_path))
		goto fail;
	if ((r = vd_curl_easy_new(&d->easy, err)))
		goto fail;
	*out = d;
	return 0;
fail:
	if (r == VD_ENOMEM)
		vd_error_set(err, r, "out of memory");
	vd_docker_free(d);
	return r;
}

int vd_docker_clone(const vd_docker *d, vd_docker **out, vd_error *err)
{
	vd_docker *c;
	int r = vd_docker_new(&c, d->host, err);

	if (r)
		return r;
	c->timeout_ms = d->timeout_ms;
	c->negotiated = d->negotiated;
	memcpy(c->api, d->api, sizeof(c->api));
	memcpy(c->daemon_api, d->daemon_api, sizeof(c->daemon_api));
	memcpy(c->daemon_min_api, d->daemon_min_api, sizeof(c->daemon_min_api));
	memcpy(c->builder_version, d->builder_version, sizeof(c->builder_version));
	memcpy(c->os_type, d->os_type, sizeof(c->os_type));
	*out = c;
	return 0;
}

void vd_docker_free(vd_docker *d)
{
	if (!d)
		return;
	vd_curl_easy_free(d->easy);
	free(d->host);
	free(d->socket_path);
	free(d->base_url);
	free(d);
}

const char *vd_docker_host(const vd_docker *d)
{
	return d->host;
}

const char *vd_docker_socket_path(const vd_docker *d)
{
	return d->socket_path;
}

int vd_docker_url(vd_docker *d, const char *path, vd_buf *out, vd_error *err)
{
	int r = d->negotiated ? 0 : vd_docker_connect(d, err);

	if (r)
		return r;
	if (vd_buf_printf(out, "%s/v%s%s", d->base_url, d->api, path))
		return vd_error_set(err, VD_ENOMEM, "out of memory");
	return 0;
}

const char *vd_docker_builder_version(const vd_docker *d)
{
	return d->builder_version;
}

const char *vd_docker_os_type(const vd_docker *d)
{
	return d->os_type;
}

const char *vd_docker_api_version(const vd_docker *d)
{
	return d->negotiated ? d->api : NULL;
}

static void copy_field(char *dst, size_t size, yajl_val v, const char *key)
{
	snprintf(dst, size, "%s", vd_json_str(v, key) ? vd_json_str(v, key) : "");
}

void vd_docker_set_timeout(vd_docker *d, long timeout_ms)
{
	d->timeout_ms = timeout_ms > 0 ? timeout_ms : 30000;
}

int vd_docker_version_parse(const char *v)
{
	char *end;
	long maj, min;

	if (!v || !*v)
		return -1;
	maj = strtol(v, &end, 10);
	if (end == v || *end != '.' || maj < 0 || maj > 99)
		return -1;
	v = end + 1;
	min = strtol(v, &end, 10);
	if (end == v || *end || min < 0 || min > 999)
		return -1;
	return (int)(maj * 1000 + min);
}

bool vd_docker_api_at_least(const vd_docker *d, const char *version)
{
	return d->negotiated &&
	       vd_docker_version_parse(d->api) >= vd_docker_version_parse(version);
}

int vd_docker_version_negotiate(const char *daemon_max, const char *daemon_min,
				char out[16], vd_error *err)
{
	int ours_max = vd_docker_version_parse(VD_DOCKER_API_MAX);
	int ours_min = vd_docker_version_parse(VD_DOCKER_API_MIN);
	int dmax = vd_docker_version_parse(daemon_max);
	int dmin = daemon_min ? vd_docker_version_parse(daemon_min) : -1;
	int pick;

	if (dmax < 0)
		return vd_error_set(err, VD_EPROTO, "the engine reported no usable API version ('%s')",
				    daemon_max ? daemon_max : "");
	pick = dmax < ours_max ? dmax : ours_max;
	if (pick < ours_min)
		return vd_error_set(err, VD_EUNSUPPORTED,
				    "the engine speaks API %s at most; voxdeploy needs at least %s "
				    "(Docker 20.10 or newer): upgrade the engine",
				    daemon_max, VD_DOCKER_API_MIN);
	if (dmin > pick)
		return vd_error_set(err, VD_EUNSUPPORTED,
				    "the engine accepts API %s or newer only; this voxdeploy speaks %s to %s: "
				    "upgrade voxdeploy",
				    daemon_min, VD_DOCKER_API_MIN, VD_DOCKER_API_MAX);
	snprintf(out, 16, "%d.%d", pick / 1000, pick % 1000);
	return 0;
}

int vd_docker_query_add(vd_buf *q, const char *key, const char *value)
{
	char *e = curl_easy_escape(NULL, value ? value : "", 0);
	int r;

	if (!e)
		return VD_ENOMEM;
	r = vd_buf_printf(q, "%s%s=%s", q->len ? "&" : "", key, e);
	curl_free(e);
	return r;
}

/* One path segment (a container name), escaped. */
static int path_escape(vd_buf *out, const char *segment)
{
	char *e = curl_easy_escape(NULL, segment, 0);
	int r;

	if (!e)
		return VD_ENOMEM;
	r = vd_buf_puts(out, e);
	curl_free(e);
	return r;
}

int vd_docker_path(vd_buf *out, const char *prefix, const char *name, const char *suffix)
{
	int r = vd_buf_puts(out, prefix);

	if (!r)
		r = path_escape(out, name);
	if (!r && suffix)
		r = vd_buf_puts(out, suffix);
	return r;
}

int vd_docker_filters_json(vd_buf *out, const char *const *pairs)
{
	yajl_gen g = vd_jgen_new();
	size_t i, j;

	if (!g)
		return VD_ENOMEM;
	yajl_gen_map_open(g);
	/* group values by key: the engine wants {"key":[v1,v2]} */
	for (i = 0; pairs[i] && pairs[i + 1]; i += 2) {
		bool seen = false;

		for (j = 0; j < i; j += 2)
			if (!strcmp(pairs[j], pairs[i]))
				seen = true;
		if (seen)
			continue;
		vd_jgen_str(g, pairs[i]);
		yajl_gen_array_open(g);
		for (j = i; pairs[j] && pairs[j + 1]; j += 2)
			if (!strcmp(pairs[j], pairs[i]))
				vd_jgen_str(g, pairs[j + 1]);
		yajl_gen_array_close(g);
	}
	yajl_gen_map_close(g);
	return vd_jgen_finish(g, out);
}

static const char *reason_phrase(long status)
{
	switch (status) {
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 406: return "Not Acceptable";
	case 409: return "Conflict";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	default: return "Error";
	}
}

int vd_docker_status_error(long status, const char *body, vd_error *err)
{
	int code = status == 404 ? VD_ENOTFOUND : status == 409 ? VD_ECONFLICT : VD_EAPI;
	const char *msg = NULL;
	yajl_val v = NULL;
	char line[512];

	if (body && *body == '{') {
		v = yajl_tree_parse(body, NULL, 0);
		msg = vd_json_str(v, "message");
	}
	if (!msg && body && *body) {
		/* not Docker's JSON (a proxy, a broken engine): show the start of it */
		size_t n = strcspn(body, "\r\n");

		snprintf(line, sizeof(line), "%.*s", (int)(n > 200 ? 200 : n), body);
		msg = line;
	}
	if (msg && *msg)
		vd_error_set(err, code, "%ld %s: %s", status, reason_phrase(status), msg);
	else
		vd_error_set(err, code, "%ld %s", status, reason_phrase(status));
	if (err)
		err->http_status = status;
	yajl_tree_free(v);
	return code;
}

/* What a transfer collects, whatever it is. */
struct xfer {
	vd_docker *d;
	CURL *easy;
	vd_docker_req *req;
	vd_curl_body out;      /* a plain call's body: past the cap, an error */
	vd_buf errbody;        /* body of an error answer (streams included) */
	vd_curl_body errout;   /* into errbody: past the cap, dropped */
	long status;
	bool status_known;
	uint64_t last_data_ms;
	uint64_t start_ms;
	int cb_result;         /* what on_data returned */
	vd_error *err;
	bool idle_expired;
	bool deadline_expired;
	char daemon_api[16];
	char builder_version[8];
	char os_type[16];
};

/* A header's value into out when it is "Name: value" (case-insensitive). */
static bool header_value(const char *p, size_t len, const char *name, char *out, size_t size)
{
	size_t nl = strlen(name), l;
	const char *v;

	if (len <= nl || strncasecmp(p, name, nl) || p[nl] != ':')
		return false;
	v = p + nl + 1;
	v += strspn(v, " \t");
	l = strcspn(v, " \t\r\n");
	if (l < size) {
		memcpy(out, v, l);
		out[l] = '\0';
	}
	return true;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	struct xfer *x = ud;
	size_t len = size * n;

	if (header_value(p, len, "Api-Version", x->daemon_api, sizeof(x->daemon_api)) ||
	    header_value(p, len, "Builder-Version", x->builder_version, sizeof(x->builder_version)) ||
	    header_value(p, len, "Ostype", x->os_type, sizeof(x->os_type))) {
		/* kept */
	} else if (len > 5 && !strncmp(p, "HTTP/", 5)) {
		/* a new status line (after 100-continue): reset */
		x->status_known = false;
	}
	return len;
}

static size_t on_write(char *p, size_t size, size_t n, void *ud)
{
	struct xfer *x = ud;
	size_t len = size * n;

	x->last_data_ms = vd_now_ms();
	if (!x->status_known) {
		x->status = vd_curl_status(x->easy);
		x->status_known = true;
	}
	/* error answers are small; keep a bounded copy for the message */
	if (x->status >= 300 && x->status != 304)
		return vd_curl_body_write(p, 1, len, &x->errout);
	if (x->req->on_data) {
		int r = x->req->on_data(p, len, x->req->ctx, x->err);

		if (r) {
			x->cb_result = r;
			return 0;  /* aborts the transfer */
		}
		return len;
	}
	return vd_curl_body_write(p, 1, len, &x->out);
}

static int on_progress(void *ud, curl_off_t dlt, curl_off_t dln, curl_off_t ult, curl_off_t uln)
{
	struct xfer *x = ud;
	uint64_t now = vd_now_ms();
	long idle = x->req->idle_timeout_ms > 0 ? x->req->idle_timeout_ms : 60000;

	if (!x->req->on_data)
		return 0;
	if (x->req->deadline_ms > 0 && now - x->start_ms >= (uint64_t)x->req->deadline_ms) {
		x->deadline_expired = true;
		return 1;
	}
	/* an upload in progress is activity too */
	if (uln > 0 && x->last_data_ms < now && ult != uln)
		x->last_data_ms = now;
	if (now - x->last_data_ms >= (uint64_t)idle) {
		x->idle_expired = true;
		return 1;
	}
	return 0;
}

static int connect_error(vd_docker *d, CURLcode rc, long os_errno, vd_error *err)
{
	const char *why = os_errno ? strerror((int)os_errno) : curl_easy_strerror(rc);

	if (d->socket_path)
		return vd_error_set(err, VD_ECONNECT,
				    "cannot reach the Docker engine at %s: %s (is dockerd running? "
				    "is the socket mounted into this container?)", d->host, why);
	return vd_error_set(err, VD_ECONNECT,
			    "cannot reach the Docker engine at %s: %s (is dockerd listening there?)",
			    d->host, why);
}

/* Point a handle at the request: URL, socket, callbacks into x, method and
 * body.  The headers list (*hdrs) and the URL buffer are the caller's to
 * free once the transfer is over, also when this fails. */
static int xfer_setup(vd_docker *d, CURL *e, vd_docker_req *req, struct xfer *x,
		      struct curl_slist **hdrs, vd_buf *url, vd_error *err)
{
	vd_curl_opts o = VD_CURL_OPTS_EASY(e);
	const char *method = req->method ? req->method : "GET";
	bool has_body = strcmp(method, "GET") && strcmp(method, "HEAD");
	int r;

	if (req->unversioned || !d->negotiated)
		r = vd_buf_printf(url, "%s%s", d->base_url, req->path);
	else
		r = vd_buf_printf(url, "%s/v%s%s", d->base_url, d->api, req->path);
	if (!r && req->query && *req->query)
		r = vd_buf_printf(url, "?%s", req->query);
	if (!r)
		r = vd_curl_headers_add(hdrs, "Expect:");
	if (r)
		return vd_error_set(err, VD_ENOMEM, "out of memory");

	curl_easy_reset(e);
	vd_curl_set_basics(&o, vd_buf_cstr(url), "http", "voxdeploy/" VD_VERSION);
	if (d->socket_path)
		vd_curl_setopt(&o, CURLOPT_UNIX_SOCKET_PATH, d->socket_path);
	vd_curl_setopt(&o, CURLOPT_CONNECTTIMEOUT_MS, d->timeout_ms < 10000 ? d->timeout_ms : 10000L);
	vd_curl_setopt(&o, CURLOPT_HEADERFUNCTION, on_header);
	vd_curl_setopt(&o, CURLOPT_HEADERDATA, x);
	vd_curl_setopt(&o, CURLOPT_WRITEFUNCTION, on_write);
	vd_curl_setopt(&o, CURLOPT_WRITEDATA, x);
	if (req->on_data) {
		vd_curl_setopt(&o, CURLOPT_NOPROGRESS, 0L);
		vd_curl_setopt(&o, CURLOPT_XFERINFOFUNCTION, on_progress);
		vd_curl_setopt(&o, CURLOPT_XFERINFODATA, x);
	} else {
		vd_curl_setopt(&o, CURLOPT_TIMEOUT_MS,
			       req->timeout_ms > 0 ? req->timeout_ms : d->timeout_ms);
	}
	vd_curl_set_method(&o, method);
	if (has_body && req->body_file) {
		vd_curl_setopt(&o, CURLOPT_UPLOAD, 1L);
		vd_curl_setopt(&o, CURLOPT_READDATA, req->body_file);
		vd_curl_setopt(&o, CURLOPT_INFILESIZE_LARGE, (curl_off_t)req->body_file_size);
		r = vd_curl_headers_addf(hdrs, "Content-Type: %s",
					 req->content_type ? req->content_type : "application/x-tar");
	} else if (has_body && req->body) {
		vd_curl_setopt(&o, CURLOPT_POSTFIELDS, req->body);
		vd_curl_setopt(&o, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
		/* without it the engine answers 400: libcurl says form-urlencoded */
		r = vd_curl_headers_addf(hdrs, "Content-Type: %s",
					 req->content_type ? req->content_type : "application/json");
	} else if (has_body) {
		/* a body-less POST: Content-Length: 0, never chunked */
		vd_curl_setopt(&o, CURLOPT_POSTFIELDS, "");
		vd_curl_setopt(&o, CURLOPT_POSTFIELDSIZE, 0L);
	}
	if (!r && req->registry_auth)
		r = vd_curl_headers_addf(hdrs, "X-Registry-Auth: %s", req->registry_auth);
	if (r)
		return vd_error_set(err, VD_ENOMEM, "out of memory");
	vd_curl_setopt(&o, CURLOPT_HTTPHEADER, *hdrs);
	if (vd_curl_opts_check(&o, err))
		return vd_error_prefix(err, "%s %s", method, req->path);
	return 0;
}

/* What a finished transfer means: 0, or the error for its curl code, its
 * status, a callback's failure or a timeout.  A callback's positive return
 * (a stream stopped on purpose) is passed through. */
static int xfer_result(vd_docker *d, vd_docker_req *req, struct xfer *x, CURLcode rc,
		       vd_error *err)
{
	const char *method = req->method ? req->method : "GET";
	long os_errno = 0;
	int r;

	x->status = vd_curl_status(x->easy);
	curl_easy_getinfo(x->easy, CURLINFO_OS_ERRNO, &os_errno);
	req->status = x->status;
	if (x->daemon_api[0])
		memcpy(d->daemon_api, x->daemon_api, sizeof(d->daemon_api));
	if (x->builder_version[0])
		memcpy(d->builder_version, x->builder_version, sizeof(d->builder_version));
	if (x->os_type[0])
		memcpy(d->os_type, x->os_type, sizeof(d->os_type));

	if (x->cb_result)
		return x->cb_result;
	if (x->deadline_expired)
		return vd_error_set(err, VD_ETIMEOUT, "%s %s: no end after %ld ms", method, req->path,
				    req->deadline_ms);
	if (x->idle_expired)
		return vd_error_set(err, VD_ETIMEOUT, "%s %s: the engine sent nothing for %ld ms",
				    method, req->path,
				    req->idle_timeout_ms > 0 ? req->idle_timeout_ms : 60000);
	r = vd_curl_error(rc, NULL, &x->out, err);
	if (r == VD_ECONNECT)
		return connect_error(d, rc, os_errno, err);
	if (r == VD_ETIMEOUT)
		return vd_error_set(err, VD_ETIMEOUT, "%s %s: the engine did not answer within %ld ms",
				    method, req->path,
				    req->timeout_ms > 0 ? req->timeout_ms : d->timeout_ms);
	/* a socket that is missing, refused or forbidden, whatever libcurl
	 * made of it */
	if (r == VD_EPROTO && x->status == 0 &&
	    (os_errno == EACCES || os_errno == ENOENT || os_errno == ECONNREFUSED))
		return connect_error(d, rc, os_errno, err);
	if (r)
		return vd_error_prefix(err, "%s %s", method, req->path);
	if ((x->status < 200 || x->status >= 300) && x->status != 304) {
		r = vd_docker_status_error(x->status, vd_buf_cstr(&x->errbody), err);

		/* "client version 1.44 is too old. Minimum supported API version is
		 * 1.50": an engine newer than anything we speak */
		if (x->status == 400 && !req->unversioned && strstr(vd_error_msg(err), "is too old")) {
			vd_error_prefix(err, "the engine refuses API %s, the newest this voxdeploy "
					"speaks (%s to %s): upgrade voxdeploy", d->api,
					VD_DOCKER_API_MIN, VD_DOCKER_API_MAX);
			err->code = r = VD_EUNSUPPORTED;
		}
		return r;
	}
	return 0;
}

static void xfer_init(struct xfer *x, vd_docker *d, CURL *e, vd_docker_req *req, vd_buf *out,
		      vd_error *err)
{
	memset(x, 0, sizeof(*x));
	x->d = d;
	x->easy = e;
	x->req = req;
	x->out = (vd_curl_body){ out, VD_CURL_OVERFLOW_FAIL, 0 };
	x->err = err;
	x->start_ms = x->last_data_ms = vd_now_ms();
	vd_buf_init(&x->errbody, MAX_ERROR_BODY);
	x->errout = (vd_curl_body){ &x->errbody, VD_CURL_OVERFLOW_DROP, 0 };
}

/* Plain calls reuse the client's handle (keep-alive); a stream gets a handle
 * of its own, so that its callback may make plain calls meanwhile. */
static int perform(vd_docker *d, vd_docker_req *req, vd_buf *out, vd_error *err)
{
	struct xfer x;
	struct curl_slist *hdrs = NULL;
	vd_buf url = VD_BUF_INIT;
	CURL *e = d->easy;
	int r = req->on_data ? vd_curl_easy_new(&e, err) : 0;

	xfer_init(&x, d, e, req, out, err);
	if (!r)
		r = xfer_setup(d, e, req, &x, &hdrs, &url, err);
	if (!r)
		r = xfer_result(d, req, &x, curl_easy_perform(e), err);
	if (e != d->easy)
		vd_curl_easy_free(e);
	vd_curl_headers_free(&hdrs);
	vd_buf_release(&url);
	vd_buf_release(&x.errbody);
	return r;
}

static void engine_fill(vd_docker *d, yajl_val v)
{
	copy_field(d->engine.version, sizeof(d->engine.version), v, "Version");
	copy_field(d->engine.api_version, sizeof(d->engine.api_version), v, "ApiVersion");
	copy_field(d->engine.min_api_version, sizeof(d->engine.min_api_version), v, "MinAPIVersion");
	copy_field(d->engine.os, sizeof(d->engine.os), v, "Os");
	copy_field(d->engine.arch, sizeof(d->engine.arch), v, "Arch");
	copy_field(d->engine.kernel, sizeof(d->engine.kernel), v, "KernelVersion");
	memcpy(d->daemon_min_api, d->engine.min_api_version, sizeof(d->daemon_min_api));
	d->have_engine = true;
}

/* GET /version: slow on the engine's side (it asks containerd and runc for
 * their versions), so only when someone wants to know. */
static int fetch_version(vd_docker *d, bool unversioned, vd_error *err)
{
	vd_docker_req ver = { .method = "GET", .path = "/version", .unversioned = unversioned };
	vd_buf body = VD_BUF_INIT;
	yajl_val v;
	int r;

	vd_buf_init(&body, 1 << 20);
	r = perform(d, &ver, &body, err);
	if (!r) {
		v = vd_json_parse(vd_buf_cstr(&body), err);
		if (v)
			engine_fill(d, v);
		else
			r = vd_error_prefix(err, "GET /version");
		yajl_tree_free(v);
	}
	vd_buf_release(&body);
	return r;
}

/* Negotiation needs only the ping's Api-Version header: the engine's
 * minimum matters only when it refuses our pick, which perform() turns into
 * a clear message. */
int vd_docker_connect(vd_docker *d, vd_error *err)
{
	vd_docker_req ping = { .method = "GET", .path = "/_ping", .unversioned = true };
	vd_buf body = VD_BUF_INIT;
	char pick[16];
	int r;

	if (d->negotiated)
		return 0;
	vd_buf_init(&body, 1 << 16);
	d->daemon_api[0] = '\0';
	r = perform(d, &ping, &body, err);
	if (!r && !d->daemon_api[0]) {
		/* no header (an old engine or a proxy): ask /version unversioned */
		r = fetch_version(d, true, err);
		if (!r)
			memcpy(d->daemon_api, d->engine.api_version, sizeof(d->daemon_api));
	}
	if (!r)
		r = vd_docker_version_negotiate(d->daemon_api, NULL, pick, err);
	if (!r) {
		memcpy(d->api, pick, sizeof(d->api));
		d->negotiated = true;
		vd_log_debug("docker: engine API %s, using %s", d->daemon_api, d->api);
	}
	vd_buf_release(&body);
	return r;
}

int vd_docker_engine_info(vd_docker *d, const vd_engine_info **out, vd_error *err)
{
	char pick[16];
	int r = vd_docker_connect(d, err);

	if (!r && !d->have_engine)
		r = fetch_version(d, false, err);
	if (!r)
		r = vd_docker_version_negotiate(d->daemon_api,
						d->daemon_min_api[0] ? d->daemon_min_api : NULL,
						pick, err);
	if (r)
		return r;
	*out = &d->engine;
	return 0;
}

int vd_docker_root_dir(vd_docker *d, char *out, size_t size, vd_error *err)
{
	vd_buf answer = VD_BUF_INIT;
	yajl_val v = NULL;
	int r;

	vd_buf_init(&answer, 4 << 20);
	r = vd_docker_get(d, "/info", NULL, &answer, err);
	if (!r && !(v = vd_json_parse(vd_buf_cstr(&answer), err)))
		r = VD_EPROTO;
	if (!r && !vd_json_str(v, "DockerRootDir"))
		r = vd_error_set(err, VD_EPROTO, "the engine's /info has no DockerRootDir");
	if (!r)
		snprintf(out, size, "%s", vd_json_str(v, "DockerRootDir"));
	yajl_tree_free(v);
	vd_buf_release(&answer);
	return r;
}

int vd_docker_request(vd_docker *d, vd_docker_req *req, vd_buf *out, vd_error *err)
{
	int r;

	if (!req->unversioned && !d->negotiated) {
		r = vd_docker_connect(d, err);
		if (r)
			return r;
	}
	return perform(d, req, out, err);
}

int vd_docker_get(vd_docker *d, const char *path, const char *query, vd_buf *out, vd_error *err)
{
	vd_docker_req req = { .method = "GET", .path = path, .query = query };

	return vd_docker_request(d, &req, out, err);
}

int vd_docker_post(vd_docker *d, const char *path, const char *query, const char *json,
		   vd_buf *out, long *status, vd_error *err)
{
	vd_docker_req req = { .method = "POST", .path = path, .query = query, .body = json,
			      .body_len = json ? strlen(json) : 0 };
	int r = vd_docker_request(d, &req, out, err);

	if (status)
		*status = req.status;
	return r;
}

int vd_docker_delete(vd_docker *d, const char *path, const char *query, vd_error *err)
{
	vd_docker_req req = { .method = "DELETE", .path = path, .query = query };

	return vd_docker_request(d, &req, NULL, err);
}

void vd_docker_free_list(void *items, size_t len, size_t size, vd_docker_release_fn release)
{
	size_t i;

	for (i = 0; items && i < len; i++)
		release((char *)items + i * size);
	free(items);
}

int vd_docker_parse_list(const char *json, const char *member, const char *what, size_t size,
			 vd_docker_fill_fn fill, vd_docker_release_fn release, void **items,
			 size_t *len, vd_error *err)
{
	yajl_val v = vd_json_parse(json, err), arr;
	char *out = NULL;
	size_t i, n = 0;
	int r = 0;

	if (!v)
		return vd_error_prefix(err, "%s", what);
	arr = member ? vd_json_get(v, member) : v;
	if (member && (!arr || YAJL_IS_NULL(arr)) && YAJL_IS_OBJECT(v))
		arr = NULL;  /* the engine says null when there are none */
	else if (!arr || !YAJL_IS_ARRAY(arr)) {
		r = vd_error_set(err, VD_EPROTO, "%s: expected an array", what);
		goto done;
	}
	n = vd_json_len(arr);
	out = calloc(n ? n : 1, size);
	if (!out) {
		r = vd_error_set(err, VD_ENOMEM, "out of memory");
		goto done;
	}
	for (i = 0; i < n; i++) {
		r = fill(vd_json_idx(arr, i), out + i * size);
		if (r) {
			n = i + 1;  /* a half-filled element is released too */
			r = vd_error_set(err, r, "%s: entry %zu: %s", what, i,
					 r == VD_ENOMEM ? "out of memory" : "malformed");
			goto done;
		}
	}
	*items = out;
	*len = n;
	out = NULL;
done:
	if (out)
		vd_docker_free_list(out, n, size, release);
	yajl_tree_free(v);
	return r;
}

int vd_docker_get_list(vd_docker *d, const char *path, const char *query,
		       const char *const *filter_pairs, const char *member, const char *what,
		       size_t size, vd_docker_fill_fn fill, vd_docker_release_fn release,
		       void **items, size_t *len, vd_error *err)
{
	vd_buf q = VD_BUF_INIT, filters = VD_BUF_INIT, body = VD_BUF_INIT;
	int r = 0;

	if ((query && vd_buf_puts(&q, query)) ||
	    (filter_pairs && filter_pairs[0] &&
	     (vd_docker_filters_json(&filters, filter_pairs) ||
	      vd_docker_query_add(&q, "filters", vd_buf_cstr(&filters)))))
		r = vd_error_set(err, VD_ENOMEM, "out of memory");
	if (!r)
		r = vd_docker_get(d, path, q.len ? vd_buf_cstr(&q) : NULL, &body, err);
	if (!r)
		r = vd_docker_parse_list(vd_buf_cstr(&body), member, what, size, fill, release, items,
					 len, err);
	vd_buf_release(&q);
	vd_buf_release(&filters);
	vd_buf_release(&body);
	return r;
}

/* --- non-blocking streams ------------------------------------------------
 *
 * The handle runs in a multi of its own, driven by the socket API: libcurl
 * tells us which sockets it wants watched (on_stream_socket) and when it
 * wants a call anyway (on_stream_timer); the caller's poll loop waits on
 * those and hands the results back to vd_docker_stream_perform().  Idle
 * time and the deadline are checked here too: the progress callback only
 * runs when libcurl has something to do, and a silent stream gives it
 * nothing. */

struct vd_docker_stream {
	vd_docker *d;
	vd_docker_req *req;
	CURLM *multi;
	CURL *easy;
	struct curl_slist *hdrs;
	vd_buf url;
	struct xfer x;
	struct pollfd *socks;   /* what libcurl wants watched */
	size_t n_socks;
	size_t cap_socks;
	bool timer_set;
	uint64_t timer_at;      /* monotonic ms */
	bool ended;
	int result;             /* once ended */
	vd_error err;           /* its message, whichever call saw the end */
};

static int on_stream_socket(CURL *e, curl_socket_t fd, int what, void *userp, void *socketp)
{
	vd_docker_stream *s = userp;
	short events = 0;
	size_t i;

	for (i = 0; i < s->n_socks && s->socks[i].fd != fd; i++)
		;
	if (what == CURL_POLL_REMOVE) {
		if (i < s->n_socks)
			s->socks[i] = s->socks[--s->n_socks];
		return 0;
	}
	if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
		events |= POLLIN;
	if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
		events |= POLLOUT;
	if (i == s->n_socks) {
		if (s->n_socks == s->cap_socks) {
			size_t cap = s->cap_socks ? s->cap_socks * 2 : 4;
			struct pollfd *n = realloc(s->socks, cap * sizeof(*n));

			if (!n)
				return -1;
			s->socks = n;
			s->cap_socks = cap;
		}
		s->n_socks++;
	}
	s->socks[i].fd = fd;
	s->socks[i].events = events;
	s->socks[i].revents = 0;
	return 0;
}

static int on_stream_timer(CURLM *m, long timeout_ms, void *userp)
{
	vd_docker_stream *s = userp;

	s->timer_set = timeout_ms >= 0;
	s->timer_at = vd_now_ms() + (timeout_ms > 0 ? (uint64_t)timeout_ms : 0);
	return 0;
}

static long stream_idle_ms(const vd_docker_stream *s)
{
	return s->req->idle_timeout_ms > 0 ? s->req->idle_timeout_ms : 60000;
}

/* Collect a finished transfer, if there is one. */
static void stream_check_done(vd_docker_stream *s)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(s->multi, &left))) {
		if (msg->msg != CURLMSG_DONE || msg->easy_handle != s->easy || s->ended)
			continue;
		s->ended = true;
		s->result = xfer_result(s->d, s->req, &s->x, msg->data.result, &s->err);
		if (s->result > 0)
			s->result = VD_DOCKER_STREAM_END;  /* the callback stopped it */
		else if (!s->result)
			s->result = VD_DOCKER_STREAM_END;
	}
}

int vd_docker_stream_open(vd_docker *d, vd_docker_req *req, vd_docker_stream **out, vd_error *err)
{
	vd_docker_stream *s = NULL;
	vd_curl_opts mo;
	int r, running = 0;

	if (!req->on_data)
		return vd_error_set(err, VD_EINVAL, "%s: a stream needs a data callback", req->path);
	if (!req->unversioned && !d->negotiated) {
		r = vd_docker_connect(d, err);
		if (r)
			return r;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return vd_error_set(err, VD_ENOMEM, "out of memory");
	s->d = d;
	s->req = req;
	vd_buf_init(&s->url, 1 << 16);
	r = vd_curl_multi_new(&s->multi, err);
	if (!r)
		r = vd_curl_easy_new(&s->easy, err);
	/* on_data reports into the stream's error: the end may come in any
	 * call, and perform() hands the message out */
	xfer_init(&s->x, d, s->easy, req, NULL, &s->err);
	if (!r)
		r = xfer_setup(d, s->easy, req, &s->x, &s->hdrs, &s->url, err);
	if (r)
		goto fail;
	mo = (vd_curl_opts)VD_CURL_OPTS_MULTI(s->multi);
	vd_curl_multi_setopt(&mo, CURLMOPT_SOCKETFUNCTION, on_stream_socket);
	vd_curl_multi_setopt(&mo, CURLMOPT_SOCKETDATA, s);
	vd_curl_multi_setopt(&mo, CURLMOPT_TIMERFUNCTION, on_stream_timer);
	vd_curl_multi_setopt(&mo, CURLMOPT_TIMERDATA, s);
	if (vd_curl_opts_check(&mo, err)) {
		r = vd_error_prefix(err, "%s", req->path);
		goto fail;
	}
	if (curl_multi_add_handle(s->multi, s->easy) != CURLM_OK) {
		r = vd_error_set(err, VD_ENOMEM, "%s: cannot start the stream", req->path);
		goto fail;
	}
	/* start connecting now; the answer comes through the caller's loop */
	curl_multi_socket_action(s->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	stream_check_done(s);
	*out = s;
	return 0;
fail:
	vd_docker_stream_free(s);
	return r;
}

size_t vd_docker_stream_pollfds(const vd_docker_stream *s, struct pollfd *fds, size_t max)
{
	size_t i, n = 0;

	for (i = 0; !s->ended && i < s->n_socks && n < max; i++) {
		fds[n] = s->socks[i];
		fds[n].revents = 0;
		n++;
	}
	return n;
}

long vd_docker_stream_timeout(const vd_docker_stream *s)
{
	uint64_t now = vd_now_ms(), at;

	if (s->ended)
		return 0;
	at = s->x.last_data_ms + (uint64_t)stream_idle_ms(s);
	if (s->req->deadline_ms > 0 && s->x.start_ms + (uint64_t)s->req->deadline_ms < at)
		at = s->x.start_ms + (uint64_t)s->req->deadline_ms;
	if (s->timer_set && s->timer_at < at)
		at = s->timer_at;
	return at <= now ? 0 : (long)(at - now > LONG_MAX ? LONG_MAX : at - now);
}

/* The stream's end as the caller sees it: the code, and its message copied
 * into the caller's error. */
static int stream_end(vd_docker_stream *s, vd_error *err)
{
	if (s->result < 0) {
		vd_error_set(err, s->result, "%s", vd_error_msg(&s->err));
		if (err)
			err->http_status = s->err.http_status;
	}
	return s->result;
}

int vd_docker_stream_perform(vd_docker_stream *s, const struct pollfd *fds, size_t n, vd_error *err)
{
	const char *method = s->req->method ? s->req->method : "GET";
	uint64_t now;
	size_t i, j;
	int running = 0;

	if (s->ended)
		return stream_end(s, err);
	for (i = 0; fds && i < n; i++) {
		int ev = 0;

		if (!fds[i].revents)
			continue;
		for (j = 0; j < s->n_socks && s->socks[j].fd != fds[i].fd; j++)
			;
		if (j == s->n_socks)
			continue;  /* someone else's, or removed meanwhile */
		if (fds[i].revents & (POLLIN | POLLHUP))
			ev |= CURL_CSELECT_IN;
		if (fds[i].revents & POLLOUT)
			ev |= CURL_CSELECT_OUT;
		if (fds[i].revents & (POLLERR | POLLNVAL))
			ev |= CURL_CSELECT_ERR;
		curl_multi_socket_action(s->multi, fds[i].fd, ev, &running);
		stream_check_done(s);
		if (s->ended)
			return stream_end(s, err);
	}
	if (s->timer_set && vd_now_ms() >= s->timer_at) {
		s->timer_set = false;
		curl_multi_socket_action(s->multi, CURL_SOCKET_TIMEOUT, 0, &running);
		stream_check_done(s);
		if (s->ended)
			return stream_end(s, err);
	}
	now = vd_now_ms();
	if (s->req->deadline_ms > 0 && now - s->x.start_ms >= (uint64_t)s->req->deadline_ms) {
		s->ended = true;
		s->result = vd_error_set(&s->err, VD_ETIMEOUT, "%s %s: no end after %ld ms", method,
					 s->req->path, s->req->deadline_ms);
	} else if (now - s->x.last_data_ms >= (uint64_t)stream_idle_ms(s)) {
		s->ended = true;
		s->result = vd_error_set(&s->err, VD_ETIMEOUT, "%s %s: the engine sent nothing for %ld ms",
					 method, s->req->path, stream_idle_ms(s));
	}
	return s->ended ? stream_end(s, err) : 0;
}

bool vd_docker_stream_ended(const vd_docker_stream *s)
{
	return s->ended;
}

void vd_docker_stream_free(vd_docker_stream *s)
{
	if (!s)
		return;
	if (s->multi && s->easy)
		curl_multi_remove_handle(s->multi, s->easy);
	vd_curl_easy_free(s->easy);
	vd_curl_multi_free(s->multi);
	vd_curl_headers_free(&s->hdrs);
	vd_buf_release(&s->url);
	vd_buf_release(&s->x.errbody);
	vd_error_release(&s->err);
	free(s->socks);
	free(s);
}
