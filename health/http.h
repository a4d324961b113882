/* voxdeploy — the HTTP probe (libcurl's multi interface).
 *
 * A vd_http_runner holds any number of checks in flight in one curl multi.
 * It also owns the wait of a poll loop that has HTTP checks in it:
 * vd_http_runner_wait() sleeps until one of curl's sockets, one of the
 * caller's extra descriptors (PostgreSQL sockets, the Docker event stream)
 * or the timeout wakes it — whichever is first, one poll for everything.
 *
 * Redirects are not followed unless the probe asks; a 3xx is then the
 * answer.  The body is kept up to max_body bytes and only when the probe
 * looks for a substring in it.
 */
#ifndef VD_HEALTH_HTTP_H
#define VD_HEALTH_HTTP_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "health/probe.h"

/* The URL must parse and be http(s); the method a token.  VD_EINVAL. */
int vd_http_validate(const vd_probe *p, vd_error *err);

/* The URL without user:password@ (and without a query string, which may
 * carry a token) into out. */
void vd_http_target(const char *url, char *out, size_t size);

/* Judge an answer (pure): the status against the accepted list (none → any
 * 2xx), then the substring in the body when asked.  body (body_len bytes)
 * may be NULL when the probe looks for nothing; truncated says the body was
 * cut at max_body. */
void vd_http_eval(const vd_probe *p, long status, const char *body, size_t body_len,
		  bool truncated, vd_health_result *out);

typedef struct vd_http_runner vd_http_runner;

int vd_http_runner_new(vd_http_runner **out, vd_error *err);
/* Abandons whatever is still in flight; NULL is a no-op. */
void vd_http_runner_free(vd_http_runner *r);

/* Start a check (no waiting); `tag` comes back with its result.  timeout_ms
 * bounds it (connect + answer); 0 → the probe's timeout. */
int vd_http_runner_start(vd_http_runner *r, const vd_probe *p, uint64_t timeout_ms, void *tag,
			 vd_error *err);

/* Wait for curl's sockets and the caller's extra fds (their revents are
 * filled), at most timeout_ms (libcurl may wake earlier for its own
 * timers).  Interrupted by a signal counts as woken.  0 or VD_EIO. */
int vd_http_runner_wait(vd_http_runner *r, struct pollfd *extra, size_t n_extra, long timeout_ms,
			vd_error *err);
/* Move the transfers on and collect what finished: returns true and the
 * next finished check's tag and result, false when none is left. */
bool vd_http_runner_next(vd_http_runner *r, void **tag, vd_health_result *out);

/* A whole check (for `voxdeploy health` of one probe and for tests). */
void vd_http_probe_run(const vd_probe *p, uint64_t timeout_ms, vd_health_result *out);

#endif
