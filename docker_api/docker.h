/* voxdeploy — the Docker Engine API transport.
 *
 * One vd_docker per engine: it owns one libcurl handle that every plain call
 * reuses (keep-alive on the socket), negotiates the API version on first use
 * and turns error statuses into vd_error with Docker's own message:
 * "404 Not Found: No such container: x".  Streams (events, build, logs) get
 * their body delivered to a callback as it arrives, under an idle timeout and
 * an optional overall deadline.
 *
 * The host is unix:///path (default unix:///var/run/docker.sock, or
 * DOCKER_HOST) or tcp://host:port.
 */
#ifndef VD_DOCKER_API_DOCKER_H
#define VD_DOCKER_API_DOCKER_H

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/json.h"

/* The API versions voxdeploy implements: 1.41 (Docker 20.10) up to 1.44, the
 * lowest that engines 29.0–29.2 accept. */
#define VD_DOCKER_API_MIN "1.41"
#define VD_DOCKER_API_MAX "1.44"

#define VD_DOCKER_DEFAULT_HOST "unix:///var/run/docker.sock"

typedef struct vd_docker vd_docker;

/* Prepare a client; touches no socket.  host NULL → $DOCKER_HOST → default.
 * The plain calls' timeout (and the connect timeout, at most 10 s) is 30 s
 * unless VOXDEPLOY_API_TIMEOUT says otherwise ("5", "5s", "500ms"; up to
 * 1 h); a value that is none of these is VD_EINVAL. */
int vd_docker_new(vd_docker **out, const char *host, vd_error *err);
void vd_docker_free(vd_docker *d);

/* A second connection to d's engine for another thread (a vd_docker is one
 * libcurl handle, used by one thread at a time): the same host and call
 * timeout, and d's negotiated API version when it has one, so the clone's
 * first call needs no ping. */
int vd_docker_clone(const vd_docker *d, vd_docker **out, vd_error *err);

/* The host as given ("unix:///var/run/docker.sock"). */
const char *vd_docker_host(const vd_docker *d);

/* Ping the engine and negotiate the API version (done on first request
 * anyway).  VD_ECONNECT when the engine cannot be reached, VD_EUNSUPPORTED
 * when it shares no version with us. */
int vd_docker_connect(vd_docker *d, vd_error *err);

/* The unix socket's path; NULL for tcp:// hosts. */
const char *vd_docker_socket_path(const vd_docker *d);
/* The full URL of a versioned path ("http://localhost/v1.41/exec/x/start"),
 * appended to out; negotiates the version first when that is not done. */
int vd_docker_url(vd_docker *d, const char *path, vd_buf *out, vd_error *err);

/* The negotiated version ("1.41"); NULL before vd_docker_connect(). */
const char *vd_docker_api_version(const vd_docker *d);
/* True when the negotiated version is at least "M.m". */
bool vd_docker_api_at_least(const vd_docker *d, const char *version);

/* What the engine's /_ping said (after vd_docker_connect): Builder-Version
 * ("2", "1", or "" when it did not say) and OSType ("linux", or ""). */
const char *vd_docker_builder_version(const vd_docker *d);
const char *vd_docker_os_type(const vd_docker *d);

/* What the engine says about itself in /version. */
typedef struct vd_engine_info {
	char version[64];         /* "20.10.24+dfsg1" */
	char api_version[16];     /* the engine's highest */
	char min_api_version[16];
	char os[32];
	char arch[32];
	char kernel[128];
} vd_engine_info;

/* Ask the engine (once; the answer is kept) and check its minimum API
 * against ours: VD_EUNSUPPORTED when it refuses everything we speak. */
int vd_docker_engine_info(vd_docker *d, const vd_engine_info **out, vd_error *err);

/* The engine's data root (GET /info DockerRootDir: "/var/lib/docker"). */
int vd_docker_root_dir(vd_docker *d, char *out, size_t size, vd_error *err);

/* Default timeout of a plain call (ms); default 30 s. */
void vd_docker_set_timeout(vd_docker *d, long timeout_ms);

/* Pure version helpers (exported for tests): "1.41" → 1041, -1 if malformed;
 * negotiate picks min(ours, daemon's) and checks the daemon's minimum. */
int vd_docker_version_parse(const char *v);
int vd_docker_version_negotiate(const char *daemon_max, const char *daemon_min,
				char out[16], vd_error *err);

typedef int (*vd_docker_data_cb)(const char *data, size_t len, void *ctx, vd_error *err);

typedef struct vd_docker_req {
	const char *method;        /* "GET", "POST", "DELETE", "HEAD" */
	const char *path;          /* "/containers/json"; versioned unless raw */
	const char *query;         /* "all=1&filters=..." already escaped, or NULL */
	bool unversioned;          /* /_ping */
	const char *body;          /* JSON body, or NULL */
	size_t body_len;
	FILE *body_file;           /* or: upload this file (a build context) */
	int64_t body_file_size;
	const char *content_type;  /* default application/json with a body */
	/* X-Registry-Auth (push, service create/update), already encoded
	 * (vd_registry_auth_encode); never logged */
	const char *registry_auth;
	long timeout_ms;           /* plain calls: total; 0 → the client default */
	/* streaming: body bytes go here as they arrive instead of to `out` */
	vd_docker_data_cb on_data;
	void *ctx;
	long idle_timeout_ms;      /* streams: max silence; 0 → 60 s */
	long deadline_ms;          /* streams: max total; 0 → none */
	/* out */
	long status;               /* HTTP status of the answer */
} vd_docker_req;

/* Perform one call.  2xx and 304 are success; any other status is an error
 * whose code follows the status (404 VD_ENOTFOUND, 409 VD_ECONFLICT, else
 * VD_EAPI) and whose message carries Docker's.  `out` (may be NULL) receives
 * the body of a plain call; it keeps its size cap. */
int vd_docker_request(vd_docker *d, vd_docker_req *req, vd_buf *out, vd_error *err);

/* Convenience for plain calls. */
int vd_docker_get(vd_docker *d, const char *path, const char *query, vd_buf *out, vd_error *err);
int vd_docker_post(vd_docker *d, const char *path, const char *query, const char *json,
		   vd_buf *out, long *status, vd_error *err);
int vd_docker_delete(vd_docker *d, const char *path, const char *query, vd_error *err);

/* Query building: append key=escaped(value) with '&' as needed. */
int vd_docker_query_add(vd_buf *q, const char *key, const char *value);
/* Append "<prefix><escaped name><suffix>" ("/containers/", "app", "/json");
 * suffix may be NULL.  VD_ENOMEM or 0. */
int vd_docker_path(vd_buf *out, const char *prefix, const char *name, const char *suffix);

/* Filters as the engine wants them: {"label":["a=b"],"name":["^x$"]}.
 * pairs is a NULL-terminated list of key, value, key, value, ... */
int vd_docker_filters_json(vd_buf *out, const char *const *pairs);

/* Lists: an answer that is an array of objects (or, with `member`, an
 * object holding that array — null counts as empty), each object typed by
 * `fill` into an element of `size` bytes (0, VD_EPROTO for a malformed one,
 * VD_ENOMEM); `release` frees an element's fields.  On success *items (a
 * calloc'd array, never NULL) and *len; on failure nothing is kept.  `what`
 * names the list in errors ("container list: entry 3: malformed"). */
typedef int (*vd_docker_fill_fn)(yajl_val v, void *item);
typedef void (*vd_docker_release_fn)(void *item);

int vd_docker_parse_list(const char *json, const char *member, const char *what, size_t size,
			 vd_docker_fill_fn fill, vd_docker_release_fn release, void **items,
			 size_t *len, vd_error *err);
/* Free a list made by vd_docker_parse_list. */
void vd_docker_free_list(void *items, size_t len, size_t size, vd_docker_release_fn release);
/* GET path?query&filters=... and parse the answer as above. */
int vd_docker_get_list(vd_docker *d, const char *path, const char *query,
		       const char *const *filter_pairs, const char *member, const char *what,
		       size_t size, vd_docker_fill_fn fill, vd_docker_release_fn release,
		       void **items, size_t *len, vd_error *err);

/* Streams a caller's poll loop drives (events while other work goes on).
 *
 * vd_docker_stream_open() starts the call without waiting for it (it may
 * first negotiate the API version, one plain call per client): `req` — with
 * its on_data callback, idle_timeout_ms and deadline_ms as for a blocking
 * stream — must outlive the stream.  Then, in the caller's loop:
 *
 *	n = vd_docker_stream_pollfds(s, fds, max);
 *	poll(fds, n, min(vd_docker_stream_timeout(s), the caller's own));
 *	r = vd_docker_stream_perform(s, fds, n, &err);
 *
 * on_data runs inside vd_docker_stream_perform(), as data arrives, never
 * blocking.  It may make plain calls on the same client: the stream has a
 * handle of its own. */
typedef struct vd_docker_stream vd_docker_stream;

/* Returned by vd_docker_stream_perform() once the stream has ended cleanly:
 * the engine closed it, or on_data returned a positive value (stop). */
#define VD_DOCKER_STREAM_END 1

int vd_docker_stream_open(vd_docker *d, vd_docker_req *req, vd_docker_stream **out,
			  vd_error *err);
/* The sockets to wait on (fd and events; revents cleared), at most max;
 * returns how many were written.  None once the stream has ended. */
size_t vd_docker_stream_pollfds(const vd_docker_stream *s, struct pollfd *fds, size_t max);
/* Milliseconds until vd_docker_stream_perform() must be called even if no
 * socket is ready (libcurl's timers, the idle timeout, the deadline); 0 when
 * it has ended. */
long vd_docker_stream_timeout(const vd_docker_stream *s);
/* Do what is ready without blocking.  fds: poll's results for the entries
 * vd_docker_stream_pollfds() wrote (entries for other fds are ignored; NULL
 * when only the timeout passed).  0 while the stream runs;
 * VD_DOCKER_STREAM_END once it ended cleanly; a negative code (err set) for
 * an error status, a transport error, on_data's failure, the idle timeout
 * or the deadline.  After the end it keeps returning the same. */
int vd_docker_stream_perform(vd_docker_stream *s, const struct pollfd *fds, size_t n,
			     vd_error *err);
bool vd_docker_stream_ended(const vd_docker_stream *s);
/* Ends the transfer if it still runs; NULL is a no-op. */
void vd_docker_stream_free(vd_docker_stream *s);

/* A hijacked call: what exec start with stdin needs (the engine takes the
 * connection over and the command's stdin comes in on it).  req's method,
 * path and JSON body are sent; once the engine answers 101 or 200, the file
 * in_fd is sent to its end and the connection half-closed (the command sees
 * EOF), while what the engine sends back goes to req->on_data until it
 * closes.  req->idle_timeout_ms (0 → 60 s) bounds each silence in both
 * directions, req->deadline_ms (0 → none) the whole call.  An error status
 * is an error as in vd_docker_request(); on_data's positive return stops
 * reading (0 is returned). */
int vd_docker_hijack(vd_docker *d, vd_docker_req *req, int in_fd, vd_error *err);

/* The error message for a status and body (exported for tests). */
int vd_docker_status_error(long status, const char *body, vd_error *err);

#endif
