#include "common/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Used when formatting the message itself fails for want of memory: the
 * code still travels, and the message says what happened. */
static char oom_msg[] = "out of memory";

static void drop_msg(vd_error *err)
{
	if (err->msg != oom_msg)
		free(err->msg);
	err->msg = NULL;
}

int vd_error_setv(vd_error *err, int code, const char *fmt, va_list ap)
{
	char *m = NULL;

	if (!err)
		return code;
	drop_msg(err);
	err->code = code;
	err->http_status = 0;
	if (vasprintf(&m, fmt, ap) < 0)
		m = oom_msg;
	err->msg = m;
	return code;
}

int vd_error_set(vd_error *err, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vd_error_setv(err, code, fmt, ap);
	va_end(ap);
	return code;
}

int vd_error_prefix(vd_error *err, const char *fmt, ...)
{
	char *ctx = NULL, *m = NULL;
	va_list ap;
	int n;

	if (!err)
		return VD_ERR;
	if (!err->code)
		err->code = VD_ERR;
	va_start(ap, fmt);
	n = vasprintf(&ctx, fmt, ap);
	va_end(ap);
	if (n < 0)
		return err->code;
	if (asprintf(&m, "%s: %s", ctx, err->msg ? err->msg : "failed") < 0) {
		free(ctx);
		return err->code;
	}
	free(ctx);
	drop_msg(err);
	err->msg = m;
	return err->code;
}

const char *vd_error_msg(const vd_error *err)
{
	return err && err->msg ? err->msg : "";
}

const char *vd_error_code_name(int code)
{
	switch (code) {
	case VD_OK: return "ok";
	case VD_ENOMEM: return "out of memory";
	case VD_EINVAL: return "invalid input";
	case VD_ENOTFOUND: return "not found";
	case VD_ECONFLICT: return "conflict";
	case VD_ETIMEOUT: return "timeout";
	case VD_ECONNECT: return "connection failed";
	case VD_EPROTO: return "protocol error";
	case VD_EAPI: return "api error";
	case VD_ETOOBIG: return "too big";
	case VD_EIO: return "i/o error";
	case VD_EUNHEALTHY: return "unhealthy";
	case VD_ELOCKED: return "locked";
	case VD_EUNSUPPORTED: return "unsupported";
	case VD_ERESTORE: return "restore failed";
	default: return "error";
	}
}

void vd_error_release(vd_error *err)
{
	if (!err)
		return;
	drop_msg(err);
	err->code = 0;
	err->http_status = 0;
}
