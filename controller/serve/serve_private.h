/* What serve.c (the endpoints, the HTTP layer) and serve_page.c (GET /,
 * the login and the sessions) share.  Private to controller/serve. */
#ifndef VD_CONTROLLER_SERVE_PRIVATE_H
#define VD_CONTROLLER_SERVE_PRIVATE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "controller/serve/serve.h"
#include "controller/serve/session.h"

struct conn;

/* What the cached page was made of: when any of it changes, it is made
 * again (and at the latest after a second: it tells times "ago"). */
struct page_key {
	uint64_t report_at;
	off_t journal_size;
	struct timespec journal_mtime, state_mtime;
};

struct vd_serve {
	struct MHD_Daemon *mhd;
	vd_serve_options opts;
	char *token;
	uint16_t port;
	pthread_mutex_t lock;      /* the caches below, and the callbacks */
	vd_buf report;             /* cached report JSON */
	int report_code;           /* what the report callback returned */
	uint64_t report_at;        /* monotonic ms; 0: never */
	char report_error[512];    /* why there is no report */
	vd_buf metrics;
	uint64_t metrics_at;
	/* the status page (serve_page.c) */
	vd_buf page;               /* redacted, with a placeholder nonce */
	size_t page_nonce_at[2];   /* where the placeholder stands */
	uint64_t page_at;          /* monotonic ms; 0: none */
	struct page_key page_key;
	vd_sessions sessions;
	/* the slow-client reaper */
	pthread_mutex_t conn_lock;  /* conns, stopping */
	pthread_cond_t conn_cond;
	struct conn *conns;
	bool stopping, reaper_started;
	pthread_t reaper;
	uint64_t request_timeout_ms;
};

/* serve.c: an answer with body (redacted here), and a JSON error. */
void serve_answer(vd_serve_answer *a, unsigned status, const char *type, const char *body);
void serve_answer_error(vd_serve_answer *a, unsigned status, const char *msg);
/* A request header (NULL: absent). */
const char *serve_header(const vd_serve_request *rq, const char *name);
/* With s->lock held: the cached report, made again when older than the
 * TTL (or fresh is set); s->report_code says how it went (0, VD_EUNHEALTHY,
 * or another code: no report, s->report_error says why). */
void serve_report_locked(vd_serve *s, bool fresh);

/* serve_page.c */
void serve_page_init(vd_serve *s);
void serve_page_release(vd_serve *s);
/* The bearer token or a live session cookie (true when no token is set). */
bool serve_authorized(vd_serve *s, const vd_serve_request *rq);
/* GET /: the status page; without authorization, the login form (401). */
void serve_page(vd_serve *s, const vd_serve_request *rq, vd_serve_answer *a);
/* 303 See Other to `to`. */
void serve_redirect(vd_serve_answer *a, const char *to);
void serve_login_form(vd_serve *s, vd_serve_answer *a, unsigned status, const char *message);
/* POST /login and POST /logout. */
void serve_login(vd_serve *s, const vd_serve_request *rq, vd_serve_answer *a);
void serve_logout(vd_serve *s, const vd_serve_request *rq, vd_serve_answer *a);

#endif
