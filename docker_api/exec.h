/* voxdeploy — running a command inside a running container (the exec API).
 *
 * Three calls make one run: create (POST /containers/{id}/exec), start
 * (POST /exec/{id}/start, which streams the command's framed output until it
 * ends) and inspect (GET /exec/{id}/json, the exit code).  vd_exec_run() does
 * all three under one deadline and collects the output into capped buffers.
 *
 * The engine cannot stop an exec: when a deadline passes we stop waiting, but
 * the command may go on running inside the container.  vd_exec_kill() stops
 * one from this side when its processes can be seen here.
 */
#ifndef VD_DOCKER_API_EXEC_H
#define VD_DOCKER_API_EXEC_H

#include <stdbool.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/error.h"
#include "docker_api/docker.h"
#include "docker_api/logs.h"

typedef struct vd_exec_opts {
	const char *const *env;   /* NULL-terminated "KEY=value" list, or NULL */
	const char *user;         /* "uid[:gid]" or a name; NULL → the container's */
	const char *working_dir;  /* NULL → the container's */
	long timeout_ms;          /* the whole run; 0 → 60 s */
	long idle_timeout_ms;     /* longest silence of the output; 0 → the timeout */
	/* stdin: when attach_stdin, the command reads stdin_fd to its end (the
	 * call is hijacked: docker.h, vd_docker_hijack) */
	bool attach_stdin;
	int stdin_fd;
	/* vd_exec_run: when set, every output frame goes here instead of into
	 * the result's buffers (a dump streamed to a file) */
	vd_logs_cb on_output;
	void *output_ctx;
} vd_exec_opts;

#define VD_EXEC_OPTS_INIT { NULL, NULL, NULL, 0, 0, false, -1, NULL, NULL }

/* The request body of an exec create (pure; exported for tests). */
int vd_exec_create_body(const char *const *argv, const vd_exec_opts *opts, vd_buf *out,
			vd_error *err);

/* Create the exec of argv (NULL-terminated, at least one element) in a
 * running container; *out_id receives its id (caller frees).  VD_ENOTFOUND
 * for no such container, VD_ECONFLICT when it is not running.  opts may be
 * NULL. */
int vd_exec_create(vd_docker *d, const char *container, const char *const *argv,
		   const vd_exec_opts *opts, char **out_id, vd_error *err);

/* Start a created exec and stream its output (stdout and stderr frames,
 * demultiplexed) to cb until the command ends.  cb may return VD_LOGS_STOP to
 * stop reading (the command goes on).  opts may be NULL. */
int vd_exec_start(vd_docker *d, const char *exec_id, const vd_exec_opts *opts,
		  vd_logs_cb cb, void *ctx, vd_error *err);

typedef struct vd_exec_state {
	bool running;
	bool exited;          /* the exit code is known */
	int64_t exit_code;    /* valid when exited, else -1 */
	int64_t pid;
} vd_exec_state;

/* GET /exec/{id}/json.  Right after the output ends the engine may still
 * report Running or a null ExitCode: exited is false then. */
int vd_exec_inspect(vd_docker *d, const char *exec_id, vd_exec_state *out, vd_error *err);
/* The pure part of that (exported for tests). */
int vd_exec_state_parse(const char *json, vd_exec_state *out, vd_error *err);

typedef struct vd_exec_result {
	int64_t exit_code;    /* -1 until known */
	vd_buf out;           /* stdout, at most the cap given at init */
	vd_buf err;           /* stderr, likewise */
	bool truncated;       /* output beyond a cap was dropped */
} vd_exec_result;

/* max_output: the cap of each of out and err; 0 → 1 MiB. */
void vd_exec_result_init(vd_exec_result *res, size_t max_output);
void vd_exec_result_release(vd_exec_result *res);

/* Run argv in a running container and wait for it: create, start (output
 * collected into res), inspect until the exit code is known.  A non-zero
 * exit code is a result, not an error.  res must have been initialised; it
 * holds what was collected even when the run fails (the output explains
 * many failures), and the caller releases it in any case.  VD_ETIMEOUT when
 * opts->timeout_ms passed first. */
int vd_exec_run(vd_docker *d, const char *container, const char *const *argv,
		const vd_exec_opts *opts, vd_exec_result *res, vd_error *err);


/* --- an exec driven by a caller's poll loop -------------------------------
 *
 * The non-blocking vd_exec_start(): the output, demultiplexed, goes to cb
 * from inside vd_exec_stream_perform() as it arrives (cb may return
 * VD_LOGS_STOP); the stream (docker.h) ends when the command's output does,
 * or at timeout_ms.  Then vd_exec_inspect() tells the exit code. */
typedef struct vd_exec_stream vd_exec_stream;

int vd_exec_stream_open(vd_docker *d, const char *exec_id, long timeout_ms, vd_logs_cb cb,
			void *ctx, vd_exec_stream **out, vd_error *err);
size_t vd_exec_stream_pollfds(const vd_exec_stream *s, struct pollfd *fds, size_t max);
long vd_exec_stream_timeout(const vd_exec_stream *s);
/* 0 while it runs; VD_DOCKER_STREAM_END once the output ended cleanly (or
 * cb stopped it); a negative code with err set otherwise. */
int vd_exec_stream_perform(vd_exec_stream *s, const struct pollfd *fds, size_t n, vd_error *err);
void vd_exec_stream_free(vd_exec_stream *s);

/* Stop an exec that is still running.  The engine has no call for it (its
 * own HEALTHCHECK runs are stopped from inside the engine), so this works
 * where the exec's process can be seen, i.e. voxdeploy shares the engine's
 * process namespace: the exec's host pid (from its inspect) and every
 * descendant still in container_id's cgroup get SIGKILL.  An exec whose
 * start was asked for but whose process has not begun is waited for (2 s at
 * most) so that it cannot begin after this returns.  0 when it was
 * stopped or had ended; VD_EUNSUPPORTED when its process is not visible
 * here; another code when the engine could not be asked. */
int vd_exec_kill(vd_docker *d, const char *exec_id, const char *container_id, vd_error *err);

#endif
