/* voxdeploy — BuildKit's progress, as POST /build?version=2 streams it.
 *
 * The engine wraps BuildKit's solve status in the build's JSON lines:
 * {"id":"moby.buildkit.trace","aux":"<base64>"}, the base64 of one
 * moby.buildkit.v1.StatusResponse protobuf.  Of it voxdeploy reads the few
 * fields docker build's plain progress shows:
 *
 *   StatusResponse { repeated Vertex vertexes = 1; repeated VertexLog logs = 3;
 *                    repeated VertexWarning warnings = 4; }   (statuses = 2 skipped)
 *   Vertex         { string digest = 1; string name = 3; bool cached = 4;
 *                    Timestamp started = 5; Timestamp completed = 6; string error = 7; }
 *   VertexLog      { string vertex = 1; Timestamp timestamp = 2; int64 stream = 3; bytes msg = 4; }
 *   VertexWarning  { string vertex = 1; bytes short = 3; }
 *   Timestamp      { int64 seconds = 1; int32 nanos = 2; }
 *
 * Two layers: vd_bk_status_decode reads one message (pure, bounded, fuzzed);
 * vd_bk_trace merges the messages of a build — a vertex is sent again each
 * time it changes — numbers the vertexes in the order they appear (#1, #2,
 * ... as docker build does) and tells each step once, when it ends: its
 * time, CACHED, or its error, with the last lines it printed.
 */
#ifndef VD_DOCKER_API_BUILDKIT_H
#define VD_DOCKER_API_BUILDKIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/error.h"

/* --- one StatusResponse --- */

typedef struct vd_bk_vertex {
	char *digest;
	char *name;          /* NULL when this update does not carry it */
	bool cached;
	int64_t started_ns;  /* Unix ns; 0: not in this update */
	int64_t completed_ns;
	char *error;         /* NULL or the step's error */
} vd_bk_vertex;

typedef struct vd_bk_log {
	char *vertex;
	int stream;          /* 1 stdout, 2 stderr */
	char *msg;           /* msg_len bytes, NUL-terminated (may hold NULs) */
	size_t msg_len;
} vd_bk_log;

typedef struct vd_bk_warning {
	char *vertex;
	char *text;
} vd_bk_warning;

typedef struct vd_bk_status {
	vd_bk_vertex *vertexes;
	size_t n_vertexes;
	vd_bk_log *logs;
	size_t n_logs;
	vd_bk_warning *warnings;
	size_t n_warnings;
} vd_bk_status;

/* Decode one StatusResponse.  Unknown fields are skipped as the wire format
 * allows; a truncated or malformed message (a varint past 10 bytes, a length
 * past the end, a group or an unknown wire type) is VD_EPROTO, saying where;
 * *out is left empty then. */
int vd_bk_status_decode(const uint8_t *p, size_t n, vd_bk_status *out, vd_error *err);
void vd_bk_status_release(vd_bk_status *s);

/* Standard base64 (padding optional, no blanks) into *out (caller frees):
 * VD_EPROTO for anything else. */
int vd_bk_base64_decode(const char *in, size_t n, uint8_t **out, size_t *out_len, vd_error *err);

/* --- the trace of one build --- */

/* One step as it ends. */
typedef struct vd_bk_step {
	unsigned num;        /* #1, #2, ... in the order BuildKit first named them */
	const char *name;    /* "[base 2/3] RUN make" */
	bool cached;
	int64_t ms;          /* completed − started; -1 when unknown */
	const char *error;   /* NULL or the error */
	const char *tail;    /* the last lines the step printed ("" when none) */
} vd_bk_step;

typedef void (*vd_bk_step_cb)(const vd_bk_step *step, void *ctx);
/* A whole line a step printed: "#5 hello". */
typedef void (*vd_bk_line_cb)(const char *line, void *ctx);

/* The last lines kept per step, for a failure's message. */
#define VD_BK_TAIL_LINES 10
#define VD_BK_TAIL_BYTES 4096
/* The step list's size: it goes into one journal record (whose lines stay
 * under 64 KB); steps past it are told but not listed. */
#define VD_BK_STEPS_MAX ((size_t)32 << 10)
/* Vertexes tracked per build; past it new ones are neither kept nor told. */
#define VD_BK_MAX_VERTEXES 4096

struct vd_bk_vx;

typedef struct vd_bk_trace {
	struct vd_bk_vx *v;
	size_t n, cap;
	vd_bk_step_cb on_step;
	vd_bk_line_cb on_line;
	void *ctx;
	vd_buf steps;        /* "#2 [1/2] FROM ...: CACHED\n#3 [2/2] RUN make: 0.41s\n" */
	char *failed;        /* "[2/2] RUN make" once a step failed */
	char *failed_tail;   /* its last lines */
} vd_bk_trace;

void vd_bk_trace_init(vd_bk_trace *t, vd_bk_step_cb on_step, vd_bk_line_cb on_line, void *ctx);
/* Feed one aux payload (base64 text); errors as the decoders'. */
int vd_bk_trace_feed(vd_bk_trace *t, const char *b64, size_t len, vd_error *err);
/* Feed one decoded message (for tests and the fuzzer). */
int vd_bk_trace_apply(vd_bk_trace *t, const vd_bk_status *s, vd_error *err);
/* The step list so far, one line per ended step ("" when none). */
const char *vd_bk_trace_steps(const vd_bk_trace *t);
void vd_bk_trace_release(vd_bk_trace *t);

#endif
