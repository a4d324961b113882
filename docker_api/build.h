/* voxdeploy — building images through the Engine API.
 *
 * Three parts, each usable alone:
 *
 *   the build context: a walk of the context directory that yields what the
 *   docker client would send (.dockerignore applied as docker applies it, the
 *   Dockerfile and .dockerignore always kept, entries in sorted order), and a
 *   tar of that walk written by libarchive into an unlinked temporary file, so
 *   memory stays bounded whatever the context's size;
 *
 *   the progress stream: POST /build answers 200 at once and then JSON lines
 *   — {"stream":"Step 1/4 : ..."}, {"aux":{"ID":"sha256:..."}} with the image
 *   id, and {"error":"...","errorDetail":{"message":"..."}} when the build
 *   fails (still under HTTP 200).  vd_build_stream parses it incrementally and
 *   holds no socket, so recorded output can be tested;
 *
 *   vd_build_run: both, against an engine, with the classic builder or with
 *   BuildKit (version=2: the same tar, no client session; its progress comes
 *   as moby.buildkit.trace lines, read by buildkit.h).
 */
#ifndef VD_DOCKER_API_BUILD_H
#define VD_DOCKER_API_BUILD_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>

#include "common/error.h"
#include "common/json.h"
#include "docker_api/buildkit.h"
#include "docker_api/docker.h"

/* A build may sit silent for a long time inside one RUN step. */
#define VD_BUILD_IDLE_TIMEOUT_MS (10L * 60 * 1000)
/* The longest progress line accepted from the engine. */
#define VD_BUILD_MAX_LINE ((size_t)1 << 20)

/* One line of build output ("Step 2/5 : RUN make"), without its newline. */
typedef void (*vd_build_progress_cb)(const char *line, void *ctx);

/* The engine's builders. */
typedef enum vd_builder {
	VD_BUILDER_CLASSIC = 1,
	VD_BUILDER_BUILDKIT = 2,
} vd_builder;

/* --- the build context --- */

/* Called for every entry docker would send, parents before children,
 * siblings in byte order.  relpath is relative to the context ("app/main.py");
 * st comes from lstat (a symlink is reported as a symlink); abspath is the
 * file on disk.  A non-zero return stops the walk and is returned. */
typedef int (*vd_build_walk_cb)(const char *relpath, const struct stat *st, const char *abspath,
				void *ctx, vd_error *err);

/* Walk context_dir as the docker client would pack it.  dockerfile is the
 * Dockerfile's path relative to the context (NULL → "Dockerfile"; an absolute
 * path inside the context is accepted).  VD_EINVAL when the context is not a
 * directory, when the Dockerfile is outside the context or missing (the
 * message names the path) or .dockerignore is malformed; VD_EIO when a
 * directory cannot be read.  Entries that are neither regular files,
 * directories nor symlinks (sockets, FIFOs, devices) are skipped. */
int vd_build_context_walk(const char *context_dir, const char *dockerfile,
			  vd_build_walk_cb cb, void *ctx, vd_error *err);

typedef struct vd_build_context {
	FILE *tar;          /* an unlinked temporary file, positioned at 0 */
	int64_t size;       /* bytes in tar */
	size_t entries;     /* members written */
	char *dockerfile;   /* the Dockerfile's path inside the tar ("Dockerfile") */
} vd_build_context;

#define VD_BUILD_CONTEXT_INIT { NULL, 0, 0, NULL }

/* Write the walk as a tar (pax restricted: plain ustar unless a name or size
 * needs more): names relative, directories with a trailing '/', modes as on
 * disk, uid/gid 0 with no user or group names, mtimes in whole seconds,
 * symlinks as symlinks.  Errors as vd_build_context_walk, VD_EIO when a file
 * cannot be read or the tar not written.  *out is left empty on failure.
 * For BuildKit, .dockerignore goes only where .dockerignore lets it: BuildKit
 * neither reads it from an uploaded context nor drops what it excludes (the
 * Dockerfile must go all the same). */
int vd_build_context_make(const char *context_dir, const char *dockerfile, vd_builder builder,
			  vd_build_context *out, vd_error *err);
void vd_build_context_release(vd_build_context *c);

/* --- the progress stream --- */

typedef struct vd_build_stream {
	vd_jsonl lines;
	vd_build_progress_cb progress;
	void *progress_ctx;
	vd_bk_trace trace;  /* BuildKit's steps, when the engine sent them */
	bool trace_broken;  /* a trace line could not be read: said once, then ignored */
	char *image_id;     /* from {"aux":{"ID":...}} */
	char *built_id;     /* from "Successfully built <id>" in the stream text */
	char *step;         /* the step under way: "step 2/5 (RUN make)" */
	char *error;        /* Docker's message once an error line was seen */
	char *syntax;       /* the Dockerfile's "# syntax=" frontend, when it names one
			     * (set by vd_build_run; a failure to fetch it is told so) */
} vd_build_stream;

/* progress gets every line of output (BuildKit's: "#5 hello"); on_step each
 * BuildKit step as it ends (may be NULL). */
void vd_build_stream_init(vd_build_stream *s, vd_build_progress_cb progress, vd_bk_step_cb on_step,
			  void *ctx);
/* Feed bytes as they arrive.  An error line fails with VD_EAPI and Docker's
 * message, after the step it stopped at when one was announced ("step 2/2
 * (RUN exit 3): The command '/bin/sh -c exit 3' returned a non-zero code: 3");
 * under BuildKit, the failed step's name and its last lines of output follow
 * ("step [2/2] RUN exit 3: ...: exit code: 3\n  | out\n  | err"); a
 * Dockerfile BuildKit cannot parse is VD_EINVAL, a build that needs a client
 * session (secret or ssh mounts) VD_EUNSUPPORTED;
 * a line that is not a JSON object fails with VD_EPROTO; a line longer than
 * VD_BUILD_MAX_LINE with VD_ETOOBIG.  Once failed, it keeps failing. */
int vd_build_stream_feed(vd_build_stream *s, const char *data, size_t len, vd_error *err);
/* End of the stream: *out_id (caller frees) receives the aux ID, else the id
 * of "Successfully built <id>" (a short id); VD_EPROTO when there is neither
 * or the last line is cut off. */
int vd_build_stream_finish(vd_build_stream *s, char **out_id, vd_error *err);
void vd_build_stream_release(vd_build_stream *s);

/* --- POST /build --- */

typedef struct vd_build_options {
	vd_builder builder;           /* VD_BUILDER_CLASSIC (the default) or _BUILDKIT */
	const char *context_dir;      /* required */
	const char *dockerfile;       /* relative to context_dir; NULL → "Dockerfile" */
	const char *const *tags;      /* NULL-terminated ("app:1", "app:latest"), or NULL */
	const char *target;           /* a multi-stage target, or NULL */
	vd_kvs buildargs;             /* --build-arg; owned by the options */
	vd_kvs labels;                /* --label; owned by the options */
	const char *const *cache_from; /* NULL-terminated images, or NULL */
	const char *const *extra_hosts; /* NULL-terminated "host:ip", or NULL */
	const char *network;          /* networkmode, or NULL */
	const char *platform;         /* "linux/amd64", or NULL */
	bool nocache;
	vd_build_progress_cb progress; /* every line of build output, or NULL */
	vd_bk_step_cb on_step;        /* each BuildKit step as it ends, or NULL */
	void *progress_ctx;           /* for both */
	char **steps;                 /* non-NULL: receives BuildKit's step list
				       * (vd_bk_trace_steps; caller frees), also
				       * when the build fails */
	long idle_timeout_ms;         /* max silence; 0 → VD_BUILD_IDLE_TIMEOUT_MS */
	long deadline_ms;             /* max total; 0 → none */
} vd_build_options;

#define VD_BUILD_OPTIONS_INIT { .builder = VD_BUILDER_CLASSIC, .dockerfile = "Dockerfile", \
				.idle_timeout_ms = VD_BUILD_IDLE_TIMEOUT_MS }

/* Frees buildargs and labels. */
void vd_build_options_release(vd_build_options *opts);

/* Build an image with the classic builder (rm=1, forcerm=1: no intermediate
 * containers are left behind, even on failure) or BuildKit.  *out_id (caller frees)
 * receives the image id ("sha256:..."). Failures carry "build: " and the
 * reason: Docker's own message for a failed step or a base image that cannot
 * be pulled (VD_EAPI), VD_EINVAL for a missing Dockerfile, VD_ETIMEOUT past
 * the idle timeout or deadline, the transport's codes otherwise. */
int vd_build_run(vd_docker *d, const vd_build_options *opts, char **out_id, vd_error *err);

/* The query string vd_build_run sends (exported for tests); dockerfile is
 * the path inside the context. */
int vd_build_query(const vd_build_options *opts, const char *dockerfile, vd_buf *out);

/* Which builder the engine offers: its /_ping Builder-Version "2" →
 * BuildKit, "1" → classic (the engine's operator chose it, or the engine
 * cannot run BuildKit); an engine that does not say (20.10 unless
 * features.buildkit is set) runs BuildKit when it is Linux and speaks API
 * 1.39 or later (BuildKit came with 18.09).  why (may be NULL) receives a
 * short reason for a classic pick. */
vd_builder vd_build_engine_builder(const char *builder_version, const char *os_type,
				   const char *api_version, const char **why);

#endif
