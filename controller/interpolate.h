/* voxdeploy — variables as compose substitutes them: the project's .env file,
 * env_file files, and ${VAR} interpolation in compose and voxdeploy.yml
 * values.
 *
 * The environment a project sees is the process environment over the
 * project's .env (the shell wins, as in compose).
 */
#ifndef VD_CONTROLLER_INTERPOLATE_H
#define VD_CONTROLLER_INTERPOLATE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/json.h"

/* Look a variable up; NULL when it is unset (set-but-empty is ""). */
typedef const char *(*vd_env_lookup)(const char *name, void *ctx);

/* Parse .env / env_file text as compose reads it: KEY=VALUE lines, `export `
 * prefixes, # comments (whole-line, and after an unquoted value preceded by
 * whitespace), single quotes (literal), double quotes (escapes \n \t \\ \"
 * and ${VAR} expansion), multi-line quoted values, unquoted values trimmed
 * and ${VAR} expanded, a bare KEY (no '=') taking its value from `lookup`
 * (or skipped when unset).  Earlier keys of the same file are visible to
 * later values, then `lookup`.  Duplicate keys: the last wins.  filename
 * only names the file in errors ("FILE:LINE: ...", VD_EINVAL). */
int vd_dotenv_parse(const char *text, size_t len, const char *filename, vd_env_lookup lookup,
		    void *ctx, vd_kvs *out, vd_error *err);
/* Read and parse a file; a missing file is an error only when required. */
int vd_dotenv_load(const char *path, bool required, vd_env_lookup lookup, void *ctx,
		   vd_kvs *out, vd_error *err);

/* Substitute $VAR, ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error},
 * ${VAR?error}, ${VAR:+alt}, ${VAR+alt} and the $$ escape in `in`, appending
 * to out.  Defaults and alternatives are themselves interpolated.  A
 * required variable that is missing gives VD_EINVAL with compose's wording
 * ("required variable VAR is missing a value: <error>"); malformed syntax
 * ("${", "${VAR", "${:-x}") gives VD_EINVAL "invalid interpolation format".
 * Unset variables without a default become "" (compose warns; the caller may
 * collect them through `unset`, which may be NULL). */
int vd_interpolate(const char *in, vd_env_lookup lookup, void *ctx, vd_buf *out,
		   vd_kvs *unset, vd_error *err);

/* A lookup over the process environment first, then a vd_kvs (.env). */
const char *vd_env_lookup_process_then(const char *name, void *kvs);

#endif
