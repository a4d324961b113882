#include "common/log.h"
#include "common/error.h"

#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

static enum vd_log_level log_level = VD_LOG_INFO;
static FILE *log_stream;
static bool log_timestamps = true;


void vd_log_set_level(enum vd_log_level level)
{
	log_level = level;
}

void vd_log_set_stream(FILE *stream)
{
	log_stream = stream;
}

void vd_log_set_timestamps(bool on)
{
	log_timestamps = on;
}

static const char *level_name(enum vd_log_level level)
{
	switch (level) {
	case VD_LOG_ERROR: return "error";
	case VD_LOG_WARN: return "warn";
	case VD_LOG_INFO: return "info";
	default: return "debug";
	}
}

static __attribute__((format(printf, 3, 0))) void write_redacted(FILE *f, const char *prefix,
								   const char *fmt, va_list ap)
{
	vd_buf raw = VD_BUF_INIT, clean = VD_BUF_INIT;

	if (vd_buf_vprintf(&raw, fmt, ap) == 0 &&
	    vd_secret_redact(vd_buf_cstr(&raw), &clean) == 0)
		fprintf(f, "%s%s", prefix, vd_buf_cstr(&clean));
	else
		fprintf(f, "%s(message lost: out of memory)", prefix);
	vd_buf_release(&raw);
	vd_buf_release(&clean);
}

void vd_logv(enum vd_log_level level, const char *fmt, va_list ap)
{
	FILE *f = log_stream ? log_stream : stderr;
	char prefix[64] = "";

	if (level > log_level)
		return;
	if (log_timestamps) {
		struct timeval tv;
		struct tm tm;

		gettimeofday(&tv, NULL);
		gmtime_r(&tv.tv_sec, &tm);
		snprintf(prefix, sizeof(prefix), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ %-5s ",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
			 tm.tm_min, tm.tm_sec, (int)(tv.tv_usec / 1000), level_name(level));
	} else {
		snprintf(prefix, sizeof(prefix), "voxdeploy: %s: ", level_name(level));
	}
	write_redacted(f, prefix, fmt, ap);
	fputc('\n', f);
	fflush(f);
}

void vd_log(enum vd_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vd_logv(level, fmt, ap);
	va_end(ap);
}

void vd_print(FILE *stream, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	write_redacted(stream, "", fmt, ap);
	va_end(ap);
}

void vd_print_text(FILE *stream, const char *text)
{
	vd_buf clean = VD_BUF_INIT;

	if (vd_secret_redact(text, &clean) == 0)
		fputs(vd_buf_cstr(&clean), stream);
	else
		fputs("(output lost: out of memory)\n", stream);
	vd_buf_release(&clean);
}
