/* BuildKit's StatusResponse protobuf and the trace of a build: the input is
 * cut at each 0xff byte into messages, each decoded and applied to one trace
 * (vertexes re-sent, logs split across messages); a message is also fed as
 * base64 through vd_bk_trace_feed when the first byte says so. */
#include <stdlib.h>
#include <string.h>

#include "docker_api/buildkit.h"
#include "fuzz.h"

static void on_step(const vd_bk_step *st, void *ctx)
{
	size_t *n = ctx;

	*n += strlen(st->name) + strlen(st->tail) + (st->error ? strlen(st->error) : 0);
}

static void on_line(const char *line, void *ctx)
{
	size_t *n = ctx;

	*n += strlen(line);
}

static char *base64(const uint8_t *d, size_t n)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *o = malloc(n / 3 * 4 + 8), *p = o;
	size_t i;

	if (!o)
		return NULL;
	for (i = 0; i + 2 < n; i += 3) {
		*p++ = a[d[i] >> 2];
		*p++ = a[((d[i] & 3) << 4) | (d[i + 1] >> 4)];
		*p++ = a[((d[i + 1] & 15) << 2) | (d[i + 2] >> 6)];
		*p++ = a[d[i + 2] & 63];
	}
	if (n - i == 1) {
		*p++ = a[d[i] >> 2];
		*p++ = a[(d[i] & 3) << 4];
	} else if (n - i == 2) {
		*p++ = a[d[i] >> 2];
		*p++ = a[((d[i] & 3) << 4) | (d[i + 1] >> 4)];
		*p++ = a[(d[i + 1] & 15) << 2];
	}
	*p = '\0';
	return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	vd_bk_trace t;
	size_t told = 0, off = 0;
	unsigned sel;

	if (size < 1)
		return 0;
	sel = data[0];
	data++;
	size--;
	vd_bk_trace_init(&t, on_step, on_line, &told);
	while (off <= size) {
		const uint8_t *end = memchr(data + off, 0xff, size - off);
		size_t n = end ? (size_t)(end - (data + off)) : size - off;
		vd_error err = VD_ERROR_INIT;
		vd_bk_status s;

		if (sel & 1) {
			char *b = base64(data + off, n);

			if (b)
				(void)vd_bk_trace_feed(&t, b, strlen(b), &err);
			free(b);
		} else if (vd_bk_status_decode(data + off, n, &s, &err) == 0) {
			(void)vd_bk_trace_apply(&t, &s, &err);
			vd_bk_status_release(&s);
		}
		vd_error_release(&err);
		off += n + 1;
	}
	(void)vd_bk_trace_steps(&t);
	vd_bk_trace_release(&t);
	return 0;
}
