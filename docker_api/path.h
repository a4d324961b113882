/* voxdeploy — slash paths and patterns read the way Go reads them.
 *
 * Docker's client and BuildKit are Go programs: they clean paths with
 * filepath.Clean and step through patterns and names with utf8.DecodeRune.
 * Both matchers that stand in for them here — the .dockerignore one
 * (docker_api/dockerignore.c) and the COPY source one
 * (controller/plan/dockerfile_match.c) — use these two helpers, so that a
 * path means the same to both.  Paths are Unix paths; no Windows forms.
 */
#ifndef VD_DOCKER_API_PATH_H
#define VD_DOCKER_API_PATH_H

#include <stddef.h>
#include <stdint.h>

/* What an invalid or truncated UTF-8 sequence decodes to (utf8.RuneError). */
#define VD_PATH_RUNE_ERROR 0xFFFDu

/* Go's filepath.Clean: the shortest equivalent path ("./a//b/../c/" → "a/c",
 * "a/../.." → "..", "/../a" → "/a", "" → ".").  Caller frees; NULL when out
 * of memory. */
char *vd_path_clean(const char *path);

/* filepath.Clean("/" + path) without that leading '/': path is read inside
 * a root that ".." cannot climb out of ("a/../../b" → "b", "/x/" → "x"), as
 * BuildKit reads a COPY source against its context.  "", "/" and ".." give
 * "" (the root itself).  Caller frees; NULL when out of memory. */
char *vd_path_clean_in_root(const char *path);

/* Go's utf8.DecodeRune: the rune at s (len bytes available), its length in
 * *size.  An invalid sequence — a stray or truncated byte, an overlong
 * form, a surrogate, a value past U+10FFFF — is VD_PATH_RUNE_ERROR with
 * *size 1, so a walk steps over bad bytes one at a time.  len 0 gives the
 * same (callers stop at the end before asking). */
uint32_t vd_path_rune(const char *s, size_t len, size_t *size);

#endif
