#include "controller/cli_logs.h"
#include "common/log.h"

#include <stdlib.h>
#include <string.h>

/* Held lines are redacted, and text written, past these sizes. */
#define HOLD_MAX ((size_t)256 << 10)
#define TEXT_MAX ((size_t)256 << 10)

/* compose's colours for prefixes, in its order */
static const char *const colours[] = {
	"\033[36m", "\033[33m", "\033[32m", "\033[35m", "\033[34m",
	"\033[96m", "\033[93m", "\033[92m", "\033[95m", "\033[94m",
};
#define RESET "\033[0m"

void vd_logview_release(vd_logview *v)
{
	size_t i;

	if (!v)
		return;
	for (i = 0; v->prefix && i < v->n; i++)
		free(v->prefix[i]);
	free(v->prefix);
	free(v->prefix_len);
	vd_buf_release(&v->held);
	vd_buf_release(&v->clean);
	vd_buf_release(&v->text);
	memset(v, 0, sizeof(*v));
}

int vd_logview_init(vd_logview *v, FILE *out, const char *const *services, size_t n, bool colour,
		    vd_error *err)
{
	vd_buf b = VD_BUF_INIT;
	size_t i, width = 0;

	memset(v, 0, sizeof(*v));
	v->out = out;
	vd_buf_init(&v->held, VD_BUF_DEFAULT_MAX);
	vd_buf_init(&v->clean, VD_BUF_DEFAULT_MAX);
	vd_buf_init(&v->text, VD_BUF_DEFAULT_MAX);
	for (i = 0; i < n; i++)
		if (strlen(services[i]) > width)
			width = strlen(services[i]);
	v->prefix = calloc(n ? n : 1, sizeof(*v->prefix));
	v->prefix_len = calloc(n ? n : 1, sizeof(*v->prefix_len));
	if (!v->prefix || !v->prefix_len)
		goto oom;
	v->n = n;
	for (i = 0; i < n; i++) {
		vd_buf_clear(&b);
		/* compose: fmt.Sprintf("%-*s |", width, name) then " " */
		if (vd_buf_printf(&b, "%s%-*s |%s ", colour ? colours[i % 10] : "", (int)width,
				  services[i], colour ? RESET : ""))
			goto oom;
		v->prefix_len[i] = b.len;
		if (!(v->prefix[i] = vd_buf_detach(&b)))
			goto oom;
	}
	vd_buf_release(&b);
	return 0;
oom:
	vd_buf_release(&b);
	vd_logview_release(v);
	return vd_error_set(err, VD_ENOMEM, "out of memory");
}

static int write_text(vd_logview *v, vd_error *err)
{
	if (v->text.len && fwrite(v->text.ptr, 1, v->text.len, v->out) != v->text.len)
		return vd_error_set(err, VD_EIO, "cannot write the output");
	vd_buf_clear(&v->text);
	return 0;
}

/* Redact the held lines (the redactor reads NUL-terminated text: a NUL in
 * the output splits it) and prefix each. */
static int process_held(vd_logview *v, vd_error *err)
{
	const char *p = v->held.ptr, *end = p + v->held.len, *prefix;
	size_t plen;
	int r = 0;

	if (!v->held.len)
		return 0;
	vd_buf_clear(&v->clean);
	while (p < end && !r) {
		size_t seg = strlen(p);

		r = vd_secret_redact(p, &v->clean);
		p += seg;
		if (!r && p < end) {
			r = vd_buf_putc(&v->clean, '\0');
			p++;
		}
	}
	vd_buf_clear(&v->held);
	if (r)
		return vd_error_set(err, r, "logs: out of memory");
	prefix = v->prefix[v->held_of];
	plen = v->prefix_len[v->held_of];
	p = v->clean.ptr;
	end = p + v->clean.len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl + 1 - p) : (size_t)(end - p);

		if ((r = vd_buf_put(&v->text, prefix, plen)) || (r = vd_buf_put(&v->text, p, n)))
			return vd_error_set(err, r, "logs: out of memory");
		if (!nl && (r = vd_buf_putc(&v->text, '\n')))
			return vd_error_set(err, r, "logs: out of memory");
		p += n;
	}
	return v->text.len >= TEXT_MAX ? write_text(v, err) : 0;
}

int vd_logview_lines(vd_logview *v, size_t i, const char *lines, size_t len, vd_error *err)
{
	int r;

	if (i >= v->n)
		return vd_error_set(err, VD_EINVAL, "logs: no service %zu", i);
	if (v->held.len && v->held_of != i && (r = process_held(v, err)))
		return r;
	v->held_of = i;
	if ((r = vd_buf_put(&v->held, lines, len)))
		return vd_error_set(err, r, "logs: out of memory");
	return v->held.len >= HOLD_MAX ? process_held(v, err) : 0;
}

int vd_logview_flush(vd_logview *v, bool flush, vd_error *err)
{
	int r = process_held(v, err);

	if (!r)
		r = write_text(v, err);
	if (!r && flush && fflush(v->out))
		r = vd_error_set(err, VD_EIO, "cannot write the output");
	return r;
}
