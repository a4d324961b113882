/* voxdeploy — container logs and the engine's multiplexed output stream.
 *
 * Without a TTY the engine sends a container's (or an exec's) stdout and
 * stderr as one stream of frames, each an 8-byte header
 * [type, 0, 0, 0, length as u32 big-endian] followed by `length` bytes of
 * output.  Frames do not line up with the chunks that arrive nor with lines.
 * With a TTY there are no frames: the stream is the raw terminal output.
 *
 * vd_logs_demux is the pure, incremental decoder (bytes in, (stream, bytes)
 * out, no copy of the output); vd_logs_read() fetches a container's logs and
 * chooses framed or raw mode from the container's Config.Tty.
 */
#ifndef VD_DOCKER_API_LOGS_H
#define VD_DOCKER_API_LOGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/error.h"
#include "docker_api/docker.h"

/* The stream a piece of output belongs to (the frame header's type). */
enum vd_logs_stream {
	VD_LOGS_STDIN = 0,   /* the engine treats it as stdout; so does the collector */
	VD_LOGS_STDOUT = 1,
	VD_LOGS_STDERR = 2,
};

/* A callback that returns this stops the stream early; the reader then
 * returns 0 (not an error). */
#define VD_LOGS_STOP 1

/* The largest frame accepted by default: the engine writes frames of at most
 * a few tens of KiB, so a bigger length means a corrupt or misread stream. */
#define VD_LOGS_MAX_FRAME ((uint32_t)16 << 20)

/* Output as it is decoded: a frame may come in several pieces (never an empty
 * one).  Return 0 to go on, VD_LOGS_STOP to stop, or a negative VD_E* code
 * (with err set) to fail. */
typedef int (*vd_logs_cb)(int stream, const char *data, size_t len, void *ctx, vd_error *err);

typedef struct vd_logs_demux {
	bool raw;              /* TTY: no frames, everything is stdout */
	uint32_t max_frame;
	vd_logs_cb cb;
	void *ctx;
	unsigned char hdr[8];  /* the header being collected */
	size_t hdr_len;
	uint32_t left;         /* payload bytes of the current frame still to come */
	int stream;            /* the current frame's type */
	vd_buf syserr;         /* payload of a type-3 frame: the engine's own error */
	uint64_t offset;       /* bytes consumed so far (for messages) */
	uint64_t frames;       /* complete frames seen */
	int status;            /* 0, or what every later call returns: the first
	                        * error, or the callback's VD_LOGS_STOP */
} vd_logs_demux;

/* raw: the stream has no frames (a TTY).  max_frame 0 → VD_LOGS_MAX_FRAME. */
void vd_logs_demux_init(vd_logs_demux *m, bool raw, uint32_t max_frame, vd_logs_cb cb, void *ctx);
void vd_logs_demux_release(vd_logs_demux *m);

/* Decode a chunk.  VD_EPROTO for a header with an unknown type, non-zero
 * padding or a length over max_frame; VD_EAPI for the engine's own error
 * frame (type 3); whatever the callback returned otherwise (VD_LOGS_STOP
 * included).  After a failure every call returns the same code. */
int vd_logs_demux_feed(vd_logs_demux *m, const char *data, size_t len, vd_error *err);
/* End of stream: VD_EPROTO when it ended inside a frame. */
int vd_logs_demux_finish(vd_logs_demux *m, vd_error *err);

/* A callback that collects output into capped buffers (see vd_logs_sink). */
typedef struct vd_logs_sink {
	vd_buf *out;      /* stdout (and stdin-typed frames); NULL drops it */
	vd_buf *err;      /* stderr; NULL drops it */
	bool truncated;   /* set when a buffer's cap dropped output */
} vd_logs_sink;

/* ctx is a vd_logs_sink.  What fits under a buffer's cap is kept, the rest
 * dropped and `truncated` set; only VD_ENOMEM fails. */
int vd_logs_sink_cb(int stream, const char *data, size_t len, void *ctx, vd_error *err);

typedef struct vd_logs_opts {
	const char *tail;       /* lines from the end: "100"; NULL → "all" */
	const char *since;      /* unix "seconds[.nanos]"; NULL → from the start */
	const char *until;      /* unix "seconds[.nanos]"; NULL → no end */
	bool timestamps;        /* prefix each line with an RFC 3339 time */
	bool follow;            /* keep streaming until the container stops */
	long idle_timeout_ms;   /* longest silence; 0 → 60 s (mind it with follow) */
	long deadline_ms;       /* whole read; 0 → none */
	uint32_t max_frame;     /* 0 → VD_LOGS_MAX_FRAME */
	bool tty_known;         /* the caller inspected the container and gives
	                         * its id: no inspect here, `tty` says the mode */
	bool tty;
	bool service;           /* a Swarm service's logs (GET /services/{id}/logs,
	                         * its tasks' output): give its id and tty_known */
} vd_logs_opts;

#define VD_LOGS_OPTS_INIT { NULL, NULL, NULL, false, false, 0, 0, 0, false, false, false }

/* Read a container's logs (id, id prefix or name): the container is inspected
 * first to learn whether it has a TTY (raw output, all of it reported as
 * stdout) or not (framed output); then GET /containers/{id}/logs streams the
 * output to cb as it arrives.  opts may be NULL.  VD_ENOTFOUND when there is
 * no such container; VD_ETIMEOUT when the idle timeout or deadline passed. */
int vd_logs_read(vd_docker *d, const char *container, const vd_logs_opts *opts,
		 vd_logs_cb cb, void *ctx, vd_error *err);

/* vd_logs_read() into buffers: stdout to out, stderr to errout (either may be
 * NULL).  Each buffer's max is the cap: output beyond it is dropped and
 * *truncated (may be NULL) set.  What was read stays in the buffers even when
 * the read fails. */
int vd_logs_collect(vd_docker *d, const char *container, const vd_logs_opts *opts,
		    vd_buf *out, vd_buf *errout, bool *truncated, vd_error *err);

/* The same read driven by the caller's poll loop, for several containers
 * followed at once (vd_docker_stream's pattern: pollfds, poll, perform).
 * The container is inspected first (a plain call) unless opts->tty_known.
 * cb runs inside vd_logs_reader_perform(). */
typedef struct vd_logs_reader vd_logs_reader;

int vd_logs_reader_open(vd_docker *d, const char *container, const vd_logs_opts *opts,
			vd_logs_cb cb, void *ctx, vd_logs_reader **out, vd_error *err);
size_t vd_logs_reader_pollfds(const vd_logs_reader *s, struct pollfd *fds, size_t max);
long vd_logs_reader_timeout(const vd_logs_reader *s);
/* 0 while it runs; VD_DOCKER_STREAM_END once it ended cleanly (the engine
 * closed it after a whole frame, or the callback stopped it); a negative
 * code otherwise (VD_EPROTO for a stream cut inside a frame).  The same
 * answer after the end. */
int vd_logs_reader_perform(vd_logs_reader *s, const struct pollfd *fds, size_t n, vd_error *err);
/* NULL is a no-op. */
void vd_logs_reader_free(vd_logs_reader *s);

/* Whole lines out of demultiplexed output.  A frame may end inside a line
 * and a line may span frames: stdout and stderr each keep their unfinished
 * line until its newline comes.  Each callback gets one or more whole lines
 * of one stream, every one ending in '\n' (a line longer than max_line is
 * cut there, as if it had a newline).  vd_logs_lines_feed is a vd_logs_cb
 * whose ctx is the vd_logs_lines. */
typedef int (*vd_logs_lines_cb)(int stream, const char *lines, size_t len, void *ctx,
				vd_error *err);

typedef struct vd_logs_lines {
	vd_buf part[2];       /* the unfinished line of stdout, of stderr */
	vd_logs_lines_cb cb;
	void *ctx;
} vd_logs_lines;

/* The longest line kept whole by default. */
#define VD_LOGS_MAX_LINE ((size_t)1 << 20)

/* max_line 0 → VD_LOGS_MAX_LINE. */
void vd_logs_lines_init(vd_logs_lines *l, size_t max_line, vd_logs_lines_cb cb, void *ctx);
int vd_logs_lines_feed(int stream, const char *data, size_t len, void *ctx, vd_error *err);
/* End of stream: an unfinished line (stdout's, then stderr's) is delivered
 * with a '\n' added. */
int vd_logs_lines_finish(vd_logs_lines *l, vd_error *err);
void vd_logs_lines_release(vd_logs_lines *l);

/* --since and --until as `docker logs` takes them (its GetTimestamp): a Go
 * duration before `now` ("10m", "1h30m", "1.5h", "90s", "300ms"), an RFC 3339
 * time with or without zone or fraction ("2026-01-02T13:23:37Z",
 * "2026-01-02T13:23:37.5+02:00", "2026-01-02T13:23", "2026-01-02"; without a
 * zone local time), or unix "seconds[.nanos]"; written to out as the
 * engine's "seconds[.nanoseconds]".  now: unix seconds.  VD_EINVAL with a
 * message naming the value otherwise. */
int vd_logs_parse_time(const char *value, double now, char out[48], vd_error *err);

#endif
