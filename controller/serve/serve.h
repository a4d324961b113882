/* voxdeploy — the sidecar's HTTP endpoint (libmicrohttpd).
 *
 *   GET /healthz                the controller is alive and the engine answers
 *   GET /v1/report[?fresh=1]    the health report (cached for a TTL)
 *   GET /v1/deployments[?limit=N]  the journal's last records
 *   GET /metrics                Prometheus text: deploys, rollbacks, probes
 *   GET /                       the status page (page.h), made of the same
 *                               report, journal and backups
 *   POST /login, POST /logout   the page's login: a form posts the token
 *                               once and gets a session cookie
 *
 * Only GET and HEAD (and POST for /login and /logout); unknown paths 404 and
 * other methods 405, as JSON.  A listener on anything but loopback requires
 * a bearer token: every endpoint answers 401 without it or a session cookie
 * (GET / with the login form).
 * Connections are bounded in number, memory, idle time and the time a
 * request may take to arrive, so slow or huge requests cannot wedge the
 * daemon.  Nothing served ever carries a secret:
 * every body passes the redactor.
 */
#ifndef VD_CONTROLLER_SERVE_H
#define VD_CONTROLLER_SERVE_H

#include <stdbool.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/error.h"

/* Fill `out` with the health report as JSON; return 0 when healthy,
 * VD_EUNHEALTHY when not (the report is served either way), another code when
 * no report could be made.  Called from the server's thread, one at a time. */
typedef int (*vd_serve_report_fn)(void *ctx, vd_buf *out, vd_error *err);
/* 0 when the engine answers. */
typedef int (*vd_serve_ping_fn)(void *ctx, vd_error *err);

typedef struct vd_serve_options {
	const char *listen;         /* "ADDR:PORT" (port 0: any free port) */
	const char *token;          /* required unless listen is loopback */
	const char *state_dir;      /* the journal */
	long report_ttl_ms;         /* 0: 10 s */
	vd_serve_report_fn report;  /* NULL: /v1/report answers 503 */
	vd_serve_ping_fn ping;      /* NULL: /healthz does not ask the engine */
	void *ctx;
	long request_timeout_ms;    /* a request's line and headers must arrive
				     * within this, however they trickle; also
				     * the idle timeout (0: 10 s) */
	const char *project;        /* the page's title (NULL: current.json's) */
	long login_pause_ms;        /* a wrong token at POST /login waits this
				     * long (0: 500 ms; < 0: not at all) */
} vd_serve_options;

typedef struct vd_serve vd_serve;

/* Parse "ADDR:PORT" (IPv4 or [IPv6]); VD_EINVAL with a message. */
int vd_serve_parse_listen(const char *listen, char *addr, size_t addr_size, uint16_t *port,
			  bool *loopback, vd_error *err);

/* Start serving in a thread of the daemon's own. */
int vd_serve_start(const vd_serve_options *opts, vd_serve **out, vd_error *err);
/* The bound port (useful with port 0). */
uint16_t vd_serve_port(const vd_serve *s);
/* Stop accepting, finish requests in flight, free. */
void vd_serve_stop(vd_serve *s);

/* The Prometheus text for a journal (exported for tests). */
/* One request as the handler sees it once the HTTP layer has read it: the
 * method, the version ("HTTP/1.1"), the unescaped path, and lookups of a
 * header and of a query argument (NULL: absent). */
typedef const char *(*vd_serve_lookup_fn)(void *ctx, const char *name);

typedef struct vd_serve_request {
	const char *method;
	const char *version;
	const char *path;
	vd_serve_lookup_fn header;
	vd_serve_lookup_fn arg;
	void *ctx;
	bool headers_only;  /* the first look: the body has not been read yet */
	bool has_body;      /* a body arrived */
	const char *body;   /* a POST's body (NUL-terminated), or NULL */
	size_t body_len;
} vd_serve_request;

/* The most a POST's body may hold (a login form). */
#define VD_SERVE_MAX_FORM 4096

typedef struct vd_serve_answer {
	unsigned status;
	const char *type;   /* Content-Type */
	vd_buf body;        /* secrets already redacted */
	const char *location;  /* a redirect's Location, or NULL */
	char cookie[160];      /* Set-Cookie, or "" */
	char nonce[40];        /* an HTML page's CSP nonce, or "" */
} vd_serve_answer;

#define VD_SERVE_ANSWER_INIT { 0, NULL, VD_BUF_INIT, NULL, "", "" }

static inline void vd_serve_answer_release(vd_serve_answer *a)
{
	vd_buf_release(&a->body);
}

/* Answers a request into *a and returns true; on the first look
 * (headers_only) only a refusal is answered: false means read on. */
bool vd_serve_handle(vd_serve *s, const vd_serve_request *rq, vd_serve_answer *a);

/* Unescapes a URL path or query value in place (%XX), except that one
 * holding an encoded NUL (%00) is left as it came; returns its length. */
size_t vd_serve_unescape(char *s);

int vd_serve_metrics(const char *state_dir, const char *report_json, vd_buf *out, vd_error *err);

#endif
