/* voxdeploy — .dockerignore, matched the way the docker client does it.
 *
 * The engine never sees .dockerignore rules: the client leaves excluded files
 * out of the tar it sends.  This module reproduces that client side exactly:
 *
 *   reading (moby/patternmatcher/ignorefile.ReadAll): a UTF-8 BOM on the first
 *   line is dropped; a line whose first byte is '#' is a comment (a '#' after
 *   leading blanks is a pattern); blanks are trimmed; a leading '!' makes an
 *   exception; the rest is cleaned like Go's filepath.Clean ("./a//b/" → "a/b",
 *   vd_path_clean() in docker_api/path.h) and loses one leading '/';
 *
 *   matching (moby/patternmatcher): Go filepath.Match syntax — '*' and '?'
 *   never match '/', "[a-c]", "[^a-c]", '\' escapes — plus "**", which matches
 *   any number of directories ("**" alone matches everything, "dir/" + "**"
 *   everything below dir); every pattern is tried in order and the last one
 *   that matches decides; a pattern that matches a directory matches
 *   everything below it;
 *
 *   walking (moby's archive.TarWithOptions): an excluded directory is not
 *   entered at all — unless some exception pattern starts with the directory's
 *   path ("!dir/keep" re-opens "dir"), in which case the directory entry itself
 *   is still left out but its contents are matched one by one.
 *
 * Patterns are validated when parsed, so matching cannot fail later.  Known
 * divergences from the Go code, all in patterns nobody writes on purpose:
 * moby turns a pattern into a regular expression without escaping '*' or '?'
 * inside "[...]" (so "[*]" means nonsense there; here it means a literal
 * '*'), and Go regexp escapes such as "\b" or "\pL" are rejected here as
 * unsupported ("\d", "\s", "\w", their negations and "\t" "\n" "\r" "\f" "\v"
 * "\a" work as in Go).  A range such as "[z-a]", which makes docker fail every
 * build, is rejected when parsed.
 */
#ifndef VD_DOCKER_API_DOCKERIGNORE_H
#define VD_DOCKER_API_DOCKERIGNORE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"

typedef struct vd_dockerignore vd_dockerignore;

/* Parse the content of a .dockerignore file (len bytes; NUL not needed).
 * Empty text gives a matcher that excludes nothing.  VD_EINVAL with the line
 * number on a malformed pattern ("[", "a\" at the end, a lone "!"). */
int vd_dockerignore_parse(const char *text, size_t len, vd_dockerignore **out, vd_error *err);

/* Read <context_dir>/.dockerignore; no such file gives an empty matcher.
 * VD_EIO when it exists but cannot be read, VD_ETOOBIG past 16 MiB. */
int vd_dockerignore_load(const char *context_dir, vd_dockerignore **out, vd_error *err);

void vd_dockerignore_free(vd_dockerignore *di);

/* Make sure relpath is sent: when the patterns would exclude it, append the
 * exception "!relpath" — what the docker CLI does for the Dockerfile and
 * .dockerignore (TrimBuildFilesFromExcludes), so that they always reach the
 * engine.  Like the CLI, the check uses patternmatcher.Matches. */
int vd_dockerignore_keep(vd_dockerignore *di, const char *relpath, vd_error *err);

/* True when the build context leaves relpath out ("a/b.txt", slash-separated,
 * relative to the context; it is cleaned first, "." is never excluded): the
 * verdict of the patterns for the path itself (the walk's
 * MatchesUsingParentResults), or an ancestor directory that is excluded and
 * that no exception re-opens.  di NULL excludes nothing. */
bool vd_dockerignore_excluded(const vd_dockerignore *di, const char *relpath);

/* The patterns' verdict for relpath alone, whether or not the walk would
 * reach it (patternmatcher's MatchesOrParentMatches). */
bool vd_dockerignore_matches(const vd_dockerignore *di, const char *relpath);

/* For a walker: true when reldir is excluded but must still be entered
 * because an exception pattern starts with "reldir/". */
bool vd_dockerignore_reopens(const vd_dockerignore *di, const char *reldir);

/* The patterns as cleaned (without the '!'), for diagnostics and tests. */
size_t vd_dockerignore_count(const vd_dockerignore *di);
const char *vd_dockerignore_pattern(const vd_dockerignore *di, size_t i, bool *exception);

#endif
