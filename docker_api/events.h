/* voxdeploy — the engine's event stream (GET /events).
 *
 * The stream is JSON lines; each line is parsed as soon as it is complete
 * and handed to a callback as a vd_event, so a long stream never sits in
 * memory.  With `until` in the future the engine closes the stream at that
 * time (a deadline for free); past events back to `since` come from the
 * engine's small buffer (256 entries).
 *
 * Waiting for health without polling (DOCKER_API.md §5): take
 * vd_events_timestamp(vd_events_now() - 1, t0), start the container, read
 * with since=t0 filtered on it, act on "health_status: healthy" / "die" /
 * "oom" / "destroy" and return VD_EVENTS_STOP from the callback.
 */
#ifndef VD_DOCKER_API_EVENTS_H
#define VD_DOCKER_API_EVENTS_H

#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "common/json.h"
#include "docker_api/docker.h"

/* Returned by a callback: stop reading; vd_events_read() then returns 0. */
#define VD_EVENTS_STOP 1

/* The longest event line accepted (labels can make a line long). */
#define VD_EVENTS_MAX_LINE ((size_t)1 << 20)

typedef struct vd_event {
	char *type;        /* "container", "image", "network", "volume", ... */
	char *action;      /* "start", "die", "health_status: healthy", "exec_start: sh -c x" */
	char *actor_id;    /* the container's (image's, network's, ...) id */
	vd_kvs attributes; /* Actor.Attributes: name, image, exitCode, labels... */
	char *scope;       /* "local" or "swarm", or NULL */
	int64_t time;      /* unix seconds */
	int64_t time_nano; /* unix nanoseconds (time * 1e9 when the engine sent none) */
} vd_event;

void vd_event_release(vd_event *ev);

/* An attribute of the actor (NULL when absent): vd_event_attr(ev, "exitCode"). */
const char *vd_event_attr(const vd_event *ev, const char *key);

/* Parse one event line / one parsed value (pure; exported for tests).  The
 * action falls back to the legacy "status" and the actor id to "id" (older
 * engines).  VD_EPROTO for anything that is no event object; VD_EAPI for an
 * error the engine put into the stream ({"message": ...} / {"error": ...}).
 * out is filled only on success; release it. */
int vd_event_parse_line(const char *line, vd_event *out, vd_error *err);
int vd_event_parse(yajl_val v, vd_event *out, vd_error *err);

/* An event as it arrives; valid during the call only.  Return 0 to go on,
 * VD_EVENTS_STOP to end the stream cleanly, or a negative VD_E* code (err
 * set) to fail. */
typedef int (*vd_events_cb)(const vd_event *ev, void *ctx, vd_error *err);

/* The incremental part (pure; exported for tests): bytes in, events out. */
typedef struct vd_events_parser {
	vd_jsonl lines;
	vd_events_cb cb;
	void *ctx;
	size_t events;     /* events delivered so far */
	bool stopped;      /* the callback returned VD_EVENTS_STOP */
} vd_events_parser;

/* max_line 0 → VD_EVENTS_MAX_LINE. */
void vd_events_parser_init(vd_events_parser *p, size_t max_line, vd_events_cb cb, void *ctx);
/* Returns 0, VD_EVENTS_STOP once the callback stopped (nothing more is
 * delivered), or a negative code: VD_EPROTO for a line that is no JSON event,
 * VD_ETOOBIG for an overlong line, or what the callback returned. */
int vd_events_parser_feed(vd_events_parser *p, const char *data, size_t len, vd_error *err);
/* End of stream: a last line without a newline is delivered too. */
int vd_events_parser_finish(vd_events_parser *p, vd_error *err);
void vd_events_parser_release(vd_events_parser *p);

typedef struct vd_events_opts {
	const char *since;     /* unix "seconds[.nanos]"; NULL → only new events */
	const char *until;     /* unix "seconds[.nanos]"; NULL → no end */
	/* NULL-terminated key, value, ... as in vd_docker_filters_json():
	 * "type", "container", "container", id, "event", "die", "label", "k=v" */
	const char *const *filters;
	long idle_timeout_ms;  /* longest silence; 0 → 60 s.  Events are rare:
	                        * size it to the wait, not to the engine */
	long deadline_ms;      /* whole read; 0 → none (until may end it) */
} vd_events_opts;

#define VD_EVENTS_OPTS_INIT { NULL, NULL, NULL, 0, 0 }

/* Stream events to cb until the engine ends the stream (until reached), the
 * callback returns VD_EVENTS_STOP (→ 0), an error, or a timeout
 * (VD_ETIMEOUT).  opts may be NULL. */
int vd_events_read(vd_docker *d, const vd_events_opts *opts, vd_events_cb cb, void *ctx,
		   vd_error *err);

/* The wall clock as unix seconds (events carry wall-clock times). */
double vd_events_now(void);
/* Format unix seconds as the engine's "seconds.nanoseconds" ("1700000000.250000000");
 * negative times give "0.000000000".  Returns out. */
const char *vd_events_timestamp(double unix_seconds, char out[32]);

#endif
