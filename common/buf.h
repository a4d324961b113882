/* voxdeploy — a growable byte buffer with a size cap.
 *
 * Every response body, stream line and file read goes through a vd_buf with a
 * maximum, so a broken or hostile peer cannot make us allocate without bound.
 * The content is always NUL-terminated once anything was added; vd_buf_cstr()
 * never returns NULL.
 */
#ifndef VD_COMMON_BUF_H
#define VD_COMMON_BUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct vd_buf {
	char *ptr;
	size_t len;
	size_t cap;
	size_t max;   /* the most bytes it may hold (excluding the NUL) */
} vd_buf;

#define VD_BUF_DEFAULT_MAX ((size_t)64 << 20)
#define VD_BUF_INIT { NULL, 0, 0, VD_BUF_DEFAULT_MAX }

void vd_buf_init(vd_buf *b, size_t max);
void vd_buf_release(vd_buf *b);
/* Forget the content, keep the memory. */
void vd_buf_clear(vd_buf *b);

/* Append; VD_ETOOBIG past the cap (nothing appended), VD_ENOMEM. */
int vd_buf_put(vd_buf *b, const void *data, size_t len);
int vd_buf_puts(vd_buf *b, const char *s);
int vd_buf_putc(vd_buf *b, char c);
int vd_buf_printf(vd_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int vd_buf_vprintf(vd_buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

/* Drop the first n bytes (a consumed line of a stream). */
void vd_buf_consume(vd_buf *b, size_t n);

/* The content as a string ("" when empty). */
const char *vd_buf_cstr(const vd_buf *b);

/* Hand the memory to the caller (never NULL on success; "" when empty); the
 * buffer is empty afterwards.  NULL only when out of memory. */
char *vd_buf_detach(vd_buf *b);

#endif
