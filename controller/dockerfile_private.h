/* voxdeploy — what the dockerfile files share; not for other modules.
 *
 * Private: included only by controller/dockerfile*.c, never installed;
 * controller/dockerfile.h is the module's one public header.
 *
 *   dockerfile.c        the parser: lines, directives, continuations, the
 *                       instructions, the result;
 *   dockerfile_reach.c  what reaches the image built (multi-stage);
 *   dockerfile_match.c  a context path against a COPY source.
 *
 * Shared functions are named df_* (the public API is vd_dockerfile_*).
 */
#ifndef VD_CONTROLLER_DOCKERFILE_PRIVATE_H
#define VD_CONTROLLER_DOCKERFILE_PRIVATE_H

/* ---- paths (dockerfile_match.c) ---- */

/* path.Clean("/" + p) without the leading '/': "" for the root.  Caller
 * frees; NULL when out of memory. */
char *df_clean(const char *p);

#endif
