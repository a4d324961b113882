#include "common/log.h"
#include "common/error.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>

extern char **environ;

static enum vd_log_level log_level = VD_LOG_INFO;
static FILE *log_stream;
static bool log_timestamps = true;

static char **secrets;
static size_t n_secrets;

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

int vd_secret_add(const char *value)
{
	char **n;
	size_t i;

	if (!value || strlen(value) < 4)
		return 0;
	for (i = 0; i < n_secrets; i++)
		if (!strcmp(secrets[i], value))
			return 0;
	n = realloc(secrets, (n_secrets + 1) * sizeof(*secrets));
	if (!n)
		return VD_ENOMEM;
	secrets = n;
	secrets[n_secrets] = strdup(value);
	if (!secrets[n_secrets])
		return VD_ENOMEM;
	n_secrets++;
	return 0;
}

bool vd_secret_name(const char *name)
{
	static const char *const words[] = {
		"PASSWORD", "PASSWD", "SECRET", "TOKEN", "KEY", "CREDENTIAL",
		"AUTH", "PRIVATE", "PASS", "DSN", "CONNINFO",
	};
	char up[256];
	size_t i;

	for (i = 0; name[i] && name[i] != '=' && i < sizeof(up) - 1; i++)
		up[i] = (char)toupper((unsigned char)name[i]);
	up[i] = '\0';
	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strstr(up, words[i]))
			return true;
	return false;
}

void vd_secret_add_env(void)
{
	char **e;

	for (e = environ; e && *e; e++) {
		const char *eq = strchr(*e, '=');

		if (eq && vd_secret_name(*e))
			vd_secret_add(eq + 1);
	}
}

void vd_secret_clear(void)
{
	size_t i;

	for (i = 0; i < n_secrets; i++)
		free(secrets[i]);
	free(secrets);
	secrets = NULL;
	n_secrets = 0;
}

int vd_secret_redact(const char *in, vd_buf *out)
{
	bool first[256] = { false };
	const char *p = in, *run = in;
	size_t i;
	int r;

	if (!n_secrets)
		return vd_buf_puts(out, in);
	/* only bytes that begin some secret need a closer look */
	for (i = 0; i < n_secrets; i++)
		first[(unsigned char)secrets[i][0]] = true;
	while (*p) {
		size_t best = 0;

		if (first[(unsigned char)*p]) {
			/* the longest secret starting here wins, so that a secret
			 * that contains another is hidden whole */
			for (i = 0; i < n_secrets; i++) {
				size_t l = strlen(secrets[i]);

				if (l > best && !strncmp(p, secrets[i], l))
					best = l;
			}
		}
		if (!best) {
			p++;
			continue;
		}
		if ((r = vd_buf_put(out, run, (size_t)(p - run))) || (r = vd_buf_puts(out, "***")))
			return r;
		p += best;
		run = p;
	}
	return vd_buf_put(out, run, (size_t)(p - run));
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
