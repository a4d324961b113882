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

/* Parse .env / env_file text as compose reads it: KEY=VALUE lines (also
 * compose's `KEY: VALUE`), `export ` prefixes, blanks around the '=', #
 * comments (whole-line, and after an unquoted value preceded by a space),
 * single quotes (literal; only \' is unescaped), double quotes (escapes
 * \n \t \r \a \b \f \v \\ \" \$ and \0NNN octal, then ${VAR} expansion),
 * multi-line quoted values, unquoted values trimmed and ${VAR} expanded, a
 * bare KEY (no '=') taking its value from `lookup` (or skipped when unset).
 * A UTF-8 BOM and CRLF line ends are accepted.  Values see `lookup` first,
 * then earlier keys of the same file (compose's order: the shell wins).
 * Duplicate keys: the last wins.  On success the file's keys are merged into
 * `out` (an existing key's value is replaced, new keys appended in file
 * order); on failure `out` is untouched.
 * Refused with VD_EINVAL "FILE:LINE: ..." (filename only names the file):
 * a character other than letters, digits, _ . - [ ] in a key, a key with a
 * blank inside, an empty key (`=x`), a key starting with a digit (compose
 * silently drops those), an unterminated quote, a NUL byte, and
 * interpolation errors in values. */
int vd_dotenv_parse(const char *text, size_t len, const char *filename, vd_env_lookup lookup,
		    void *ctx, vd_kvs *out, vd_error *err);
/* Read and parse a file (at most 16 MB); a missing file is an error
 * (VD_ENOTFOUND) only when required, else 0 with `out` unchanged. */
int vd_dotenv_load(const char *path, bool required, vd_env_lookup lookup, void *ctx,
		   vd_kvs *out, vd_error *err);
/* The project's own .env (optional), its values interpolated with the
 * process environment: what compose reads, and what voxdeploy.yml and the
 * compose file are then interpolated with (vd_env_lookup_process_then). */
int vd_dotenv_load_project(const char *project_dir, vd_kvs *out, vd_error *err);

/* Substitute $VAR, ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error},
 * ${VAR?error}, ${VAR:+alt}, ${VAR+alt} and the $$ escape in `in`, appending
 * to out.  Defaults and alternatives are themselves interpolated.  A
 * required variable that is missing gives VD_EINVAL with compose's wording
 * ("required variable VAR is missing a value: <error>"); malformed syntax
 * ("${", "${VAR", "${:-x}", "${VAR:x}") gives VD_EINVAL "invalid
 * interpolation format for "<in>"..."; a $ followed by anything but $, a
 * name or '{' stays as it is.  As in compose, a default, alternative or
 * error text is interpolated even when it is not used (an error inside it
 * counts), and a braced form must close on its own line.  Nesting deeper
 * than 1000 levels is refused (VD_EINVAL).
 * Unset variables without a default become "" (compose warns; the caller may
 * collect them through `unset`, which may be NULL: each name is added once,
 * with an empty value).  On failure `out` and `unset` are left as they
 * were.  `lookup` may be NULL (everything unset). */
int vd_interpolate(const char *in, vd_env_lookup lookup, void *ctx, vd_buf *out,
		   vd_kvs *unset, vd_error *err);

/* A lookup over the process environment first, then a vd_kvs (.env); kvs may
 * be NULL. */
const char *vd_env_lookup_process_then(const char *name, void *kvs);

#endif
