/* voxdeploy — a Dockerfile, read the way docker reads it, and the build
 * context files that reach the image it builds.
 *
 * Reading follows moby/buildkit's frontend/dockerfile/parser, which the
 * classic builder shares: parser directives at the top ("# escape=`",
 * "# syntax=", "# check="; the first other line ends them), a UTF-8 BOM
 * dropped, instructions case-insensitive, line continuation with the escape
 * character (trailing blanks after it allowed, a doubled escape is no
 * continuation), comment lines and blank lines inside a continued
 * instruction skipped, a '#' anywhere but at the start of a line is text.
 * Heredocs ("COPY <<EOF /f", "RUN <<-'END'") are skipped unread: their
 * bodies are never taken for instructions.  Unknown instructions are
 * skipped (docker rejects them when it builds; reading them is no error).
 *
 * What is kept: the stages (FROM image [AS name], numbered from 0), the ARGs
 * (global ones before the first FROM, per stage after), and every
 * instruction that brings files into a stage: COPY and ADD (shell and
 * JSON-array form, their flags, several sources and one destination) and
 * the bind and cache mounts of RUN --mount, which read the build context or
 * another stage while a RUN executes.  ONBUILD COPY/ADD/RUN are kept too,
 * marked: they run in the stages built FROM the stage that declares them.
 *
 * Errors (VD_EINVAL, message "line N: ..."): no FROM, an instruction other
 * than ARG before the first FROM, a FROM without one or three arguments or
 * with an invalid stage name, COPY/ADD with fewer than two arguments, an
 * unterminated JSON array ("COPY ["a", "b"" — docker would read that as
 * shell words; we refuse it), a JSON array holding something other than
 * strings, a known flag without its value or given twice, a --from stage
 * index out of range, an unterminated heredoc, a bad parser directive, a
 * line longer than 65535 bytes (docker's own limit), a NUL byte.
 * VD_ETOOBIG past 16 MiB.  Unknown flags are kept, not refused: a newer
 * docker may know them.
 */
#ifndef VD_CONTROLLER_DOCKERFILE_H
#define VD_CONTROLLER_DOCKERFILE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"

typedef enum vd_dockerfile_kind {
	VD_DOCKERFILE_COPY,
	VD_DOCKERFILE_ADD,
	VD_DOCKERFILE_RUN_MOUNT,   /* RUN --mount=type=bind|cache (one entry per mount) */
} vd_dockerfile_kind;

/* Where an instruction's files come from. */
typedef enum vd_dockerfile_origin {
	VD_DOCKERFILE_FROM_CONTEXT,  /* no --from (no from= on a mount): the build context */
	VD_DOCKERFILE_FROM_STAGE,    /* a stage of this file, by name or by index */
	VD_DOCKERFILE_FROM_IMAGE,    /* an image ("--from=nginx:1.25") */
	VD_DOCKERFILE_FROM_UNKNOWN,  /* --from holds a variable: known only at build time */
} vd_dockerfile_origin;

typedef struct vd_dockerfile_flag {
	char *name;    /* without the leading "--" */
	char *value;   /* NULL when written without '=' ("--link") */
} vd_dockerfile_flag;

typedef struct vd_dockerfile_source {
	char *raw;       /* as written (one shell word, or one JSON string) */
	char *path;      /* as docker looks it up: quotes and escapes removed;
			  * NULL for a heredoc */
	bool heredoc;    /* "<<EOF": text inside the Dockerfile, no file */
	bool remote;     /* ADD of a URL or a git repository: no context file */
	bool variable;   /* holds $VAR or ${VAR}: known only at build time */
} vd_dockerfile_source;

typedef struct vd_dockerfile_copy {
	vd_dockerfile_kind kind;
	unsigned line;                  /* 1-based line where the instruction (or its
					 * ONBUILD) starts */
	bool json;                      /* written as a JSON array */
	bool onbuild;                   /* an ONBUILD trigger of its stage */
	vd_dockerfile_source *sources;  /* a mount has one: its source=, "." without */
	size_t n_sources;
	char *dest;                     /* as written; a mount's target= (may be NULL) */
	vd_dockerfile_origin origin;
	char *from;                     /* the --from (from=) value, NULL without */
	int from_stage;                 /* the stage when origin is FROM_STAGE, else -1 */
	char *chown, *chmod;            /* NULL when not given */
	bool link, parents;
	char **excludes;                /* --exclude patterns, in order */
	size_t n_excludes;
	vd_dockerfile_flag *flags;      /* every flag as written, in order (RUN: --mount only) */
	size_t n_flags;
} vd_dockerfile_copy;

typedef struct vd_dockerfile_arg {
	char *name;
	char *value;          /* the default as written (quotes and variables
				 * resolved when used); NULL when none */
	unsigned line;
	int stage;            /* -1: global, declared before the first FROM */
	bool in_copy_source;  /* a COPY/ADD source (or mount source) of a stage
			       * where it is in scope refers to it */
} vd_dockerfile_arg;

typedef struct vd_dockerfile_stage {
	int index;
	char *name;              /* lower case, as docker keeps it; NULL when unnamed */
	char *base;              /* the image after FROM, as written */
	char *platform;          /* --platform value, NULL without */
	unsigned line;
	/* Resolved without build args (vd_dockerfile_final_sources() resolves
	 * again with the ones it is given): */
	int parent;              /* the earlier stage FROM names, else -1 */
	bool base_unresolved;    /* FROM holds a variable only the engine knows
				  * (TARGETARCH, ...) and the result could name a stage */
	vd_dockerfile_copy *copies;
	size_t n_copies;
} vd_dockerfile_stage;

typedef struct vd_dockerfile {
	vd_dockerfile_stage *stages;
	size_t n_stages;
	vd_dockerfile_arg *args;     /* global and per-stage ARGs, in file order */
	size_t n_args;
	char escape;                 /* '\\' or '`' */
} vd_dockerfile;

/* Parse len bytes of Dockerfile text (NUL not needed).  On success *out is a
 * new object for vd_dockerfile_free(); on failure *out is untouched. */
int vd_dockerfile_parse(const char *text, size_t len, vd_dockerfile **out, vd_error *err);
void vd_dockerfile_free(vd_dockerfile *df);

/* The stage called name (case-insensitive; the last one when several share
 * it), or -1. */
int vd_dockerfile_stage_find(const vd_dockerfile *df, const char *name);

/* One build-context source that reaches the target image. */
typedef struct vd_dockerfile_ref {
	char *pattern;                  /* context-relative, cleaned: "src", "*.py", "." (everything) */
	const vd_dockerfile_copy *copy; /* the instruction (line, kind, flags); points into the vd_dockerfile */
	int stage;                      /* the stage the instruction runs in */
} vd_dockerfile_ref;

typedef struct vd_dockerfile_sources {
	vd_dockerfile_ref *refs;
	size_t n_refs;
	int target;            /* the stage built */
	bool *reached;         /* per stage: its content feeds the target */
	size_t n_stages;
	bool resolved;         /* false: some part is known only at build time */
	unsigned line;         /* when unresolved: the first line responsible */
	char *reason;          /* when unresolved: "line 7: COPY source \"$APP/\" ..." */
} vd_dockerfile_sources;

/* The build-context sources that reach the image built for target (a stage
 * name; NULL or "" for the last stage).  A stage reaches the target when the
 * target is built FROM it or COPY --from's it (or mounts it), transitively;
 * ONBUILD triggers of a stage count in the stages built FROM it.  Sources
 * of reached instructions without --from are context sources, except
 * heredocs and ADD's URLs and git repositories.  --exclude patterns are not
 * subtracted (too wide is a needless restart, too narrow a stale image);
 * .dockerignore is the caller's to apply.
 *
 * build_args: the build's arguments, "NAME=VALUE" ("NAME" alone: set to a
 * value not known here), NULL-terminated, or NULL; they decide which stage
 * a FROM with a variable names, as docker decides it.
 *
 * When something that matters is known only at build time — a variable in
 * a reached source, in a reached --from, or in a FROM that could name a
 * stage — the result has resolved == false and a reason naming the line
 * (refs then holds what could be read, which is not all).  VD_ENOTFOUND
 * when target names no stage.  out is released by the caller in every
 * case. */
int vd_dockerfile_final_sources(const vd_dockerfile *df, const char *target,
				const char *const *build_args, vd_dockerfile_sources *out,
				vd_error *err);
void vd_dockerfile_sources_release(vd_dockerfile_sources *s);

/* Does context-relative file path fall under a COPY source?  Go's
 * filepath.Match per path segment ('*' and '?' never cross '/', "[a-c]",
 * "[^a-c]", '\' escapes), and a source matching a directory takes
 * everything under it.  Both are cleaned first: leading "./" and "/"
 * dropped, ".." cannot leave the context, a trailing '/' allowed.  "", ".",
 * "./" and "/" are the whole context, and so is "*" (every top-level name,
 * with everything under it).  A segment "**" matches any number of
 * directories (wider than Go's "*", never narrower).  A malformed pattern
 * ("[a", "a\") matches nothing, as docker fails such a COPY. */
bool vd_dockerfile_source_matches(const char *pattern, const char *path);

/* The first ref whose pattern matches path, or NULL. */
const vd_dockerfile_ref *vd_dockerfile_sources_match(const vd_dockerfile_sources *s,
						     const char *path);

#endif
