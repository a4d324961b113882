/* voxdeploy — logging and secret redaction.
 *
 * Log lines go to stderr (or a stream a test swaps in) with a UTC timestamp
 * and a level.  Every line, and everything a command prints through
 * vd_print(), passes through the redactor first (common/redact.c), so a
 * caller cannot leak a password or token by accident:
 *  - where a secret *is*, whatever its value: after a secret-named key
 *    (`DB_PASSWORD=…`, `"DB_PASSWORD=…"`, `"token": "…"`, `?token=…`,
 *    `password=…`, `Authorization: …` starting a line), a URL's password
 *    (`scheme://user:…@`), "***" replaces the value — a registered value
 *    standing there whole, blanks and commas included;
 *  - values registered with vd_secret_add() — and at start-up those of
 *    environment variables named like secrets — are replaced wherever they
 *    appear, when they are unmistakable (long, or of mixed characters).  A
 *    common word used as a password is not: it would turn the image
 *    `postgres:18` into `***:18`.  Nor is a value that is, or lies inside, a
 *    name of the model registered with vd_secret_keep(); a password that is
 *    such a name, or an unmistakable one inside one, is warned about once.
 */
#ifndef VD_COMMON_LOG_H
#define VD_COMMON_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

#include "common/buf.h"

enum vd_log_level {
	VD_LOG_ERROR = 0,
	VD_LOG_WARN = 1,
	VD_LOG_INFO = 2,
	VD_LOG_DEBUG = 3,
};

void vd_log_set_level(enum vd_log_level level);
/* NULL restores stderr. */
void vd_log_set_stream(FILE *stream);
void vd_log_set_timestamps(bool on);

void vd_log(enum vd_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void vd_logv(enum vd_log_level level, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

#define vd_log_error(...) vd_log(VD_LOG_ERROR, __VA_ARGS__)
#define vd_log_warn(...)  vd_log(VD_LOG_WARN, __VA_ARGS__)
#define vd_log_info(...)  vd_log(VD_LOG_INFO, __VA_ARGS__)
#define vd_log_debug(...) vd_log(VD_LOG_DEBUG, __VA_ARGS__)

/* Print to a stream (a command's output) after redaction. */
void vd_print(FILE *stream, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Print a finished text (a JSON document) after redaction, without
 * formatting it again. */
void vd_print_text(FILE *stream, const char *text);

/* Register a secret value; values shorter than 4 bytes are not registered
 * (they would blank out ordinary words).  Returns 0 or VD_ENOMEM. */
int vd_secret_add(const char *value);
/* The same, saying which variable holds it (in the warning about a
 * password that is a name of the stack). */
int vd_secret_add_named(const char *what, const char *value);
/* A name of the model (kind: "project", "service", "image", "container",
 * "network", "volume", "path"): no secret is ever replaced inside it. */
int vd_secret_keep(const char *kind, const char *name);
/* Register the values of environment variables named like secrets
 * (PASSWORD, PASSWD, SECRET, TOKEN, KEY, CREDENTIAL, AUTH, PRIVATE). */
void vd_secret_add_env(void);
/* True when the variable name looks like it holds a secret. */
bool vd_secret_name(const char *name);
/* Forget every registered secret and kept name (tests). */
void vd_secret_clear(void);
/* Append `in` to `out` with every secret replaced by "***", as above. */
int vd_secret_redact(const char *in, vd_buf *out);

#endif
