/* voxdeploy — the one error type.
 *
 * Every fallible function returns an int: 0 on success, one of the negative
 * VD_E* codes on failure, and fills a caller-owned vd_error with a message.
 * Callers higher up add context with vd_error_prefix(), which turns
 * "409 Conflict: name in use" into "recreate voxpersona_app: start container:
 * 409 Conflict: name in use".  Only the command layer prints the message and
 * maps the code to an exit status.
 */
#ifndef VD_COMMON_ERROR_H
#define VD_COMMON_ERROR_H

#include <stdarg.h>

enum {
	VD_OK = 0,
	VD_ERR = -1,          /* anything without a better code */
	VD_ENOMEM = -2,
	VD_EINVAL = -3,       /* bad input or configuration (exit 2) */
	VD_ENOTFOUND = -4,    /* the thing asked for does not exist */
	VD_ECONFLICT = -5,    /* name in use, container running, ... */
	VD_ETIMEOUT = -6,     /* a deadline passed */
	VD_ECONNECT = -7,     /* cannot reach a peer (engine, database, URL) */
	VD_EPROTO = -8,       /* the peer answered something we cannot read */
	VD_EAPI = -9,         /* the peer answered with an error status */
	VD_ETOOBIG = -10,     /* a size cap was hit */
	VD_EIO = -11,         /* local file or system call failed */
	VD_EUNHEALTHY = -12,  /* a probe says unhealthy */
	VD_ELOCKED = -13,     /* another deploy holds the lock */
	VD_EUNSUPPORTED = -14,/* the peer is too old or too new */
	VD_ERESTORE = -15,    /* a failure could not be undone: the server needs a person (exit 3) */
};

typedef struct vd_error {
	int code;
	int http_status;  /* the HTTP status behind a VD_EAPI-like error, else 0 */
	char *msg;        /* NULL when no error is set */
} vd_error;

#define VD_ERROR_INIT { 0, 0, NULL }

/* Set the error (replacing any earlier one) and return code. */
int vd_error_set(vd_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int vd_error_setv(vd_error *err, int code, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

/* Prefix context: "<context>: <old message>".  Returns err->code, so that
 * `return vd_error_prefix(err, "start %s", name);` propagates the failure. */
int vd_error_prefix(vd_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The message, or "" when none is set. */
const char *vd_error_msg(const vd_error *err);

/* A short name for a code ("not found", "timeout", ...). */
const char *vd_error_code_name(int code);

void vd_error_release(vd_error *err);

#endif
