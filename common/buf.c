#include "common/buf.h"
#include "common/error.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void vd_buf_init(vd_buf *b, size_t max)
{
	b->ptr = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max ? max : VD_BUF_DEFAULT_MAX;
}

void vd_buf_release(vd_buf *b)
{
	if (!b)
		return;
	free(b->ptr);
	b->ptr = NULL;
	b->len = b->cap = 0;
}

void vd_buf_clear(vd_buf *b)
{
	b->len = 0;
	if (b->ptr)
		b->ptr[0] = '\0';
}

static int grow(vd_buf *b, size_t extra)
{
	size_t want, cap;
	char *p;

	if (extra > b->max || b->len > b->max - extra)
		return VD_ETOOBIG;
	want = b->len + extra + 1;
	if (want <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 64;
	while (cap < want)
		cap = cap > SIZE_MAX / 2 ? want : cap * 2;
	p = realloc(b->ptr, cap);
	if (!p)
		return VD_ENOMEM;
	b->ptr = p;
	b->cap = cap;
	return 0;
}

int vd_buf_put(vd_buf *b, const void *data, size_t len)
{
	int r = grow(b, len);

	if (r)
		return r;
	if (len)
		memcpy(b->ptr + b->len, data, len);
	b->len += len;
	b->ptr[b->len] = '\0';
	return 0;
}

int vd_buf_puts(vd_buf *b, const char *s)
{
	return vd_buf_put(b, s, strlen(s));
}

int vd_buf_putc(vd_buf *b, char c)
{
	return vd_buf_put(b, &c, 1);
}

int vd_buf_vprintf(vd_buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	int n, r;

	va_copy(cp, ap);
	n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		return VD_ERR;
	r = grow(b, (size_t)n);
	if (r)
		return r;
	vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int vd_buf_printf(vd_buf *b, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vd_buf_vprintf(b, fmt, ap);
	va_end(ap);
	return r;
}

void vd_buf_consume(vd_buf *b, size_t n)
{
	if (n >= b->len) {
		vd_buf_clear(b);
		return;
	}
	memmove(b->ptr, b->ptr + n, b->len - n);
	b->len -= n;
	b->ptr[b->len] = '\0';
}

const char *vd_buf_cstr(const vd_buf *b)
{
	return b->ptr ? b->ptr : "";
}

char *vd_buf_detach(vd_buf *b)
{
	char *p = b->ptr;

	if (!p)
		p = strdup("");
	b->ptr = NULL;
	b->len = b->cap = 0;
	return p;
}
