/* BuildKit's progress: the StatusResponse decoder and the trace of a build
 * (buildkit.h says which fields and why). */
#include "docker_api/buildkit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ the wire */

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_I32 = 5 };

typedef struct rd {
	const uint8_t *p, *end, *start;
	vd_error *err;
} rd;

static int bad(rd *r, const char *what)
{
	return vd_error_set(r->err, VD_EPROTO, "BuildKit status: %s at byte %td", what, r->p - r->start);
}

static int varint(rd *r, uint64_t *out)
{
	uint64_t v = 0;
	unsigned shift;

	for (shift = 0; shift < 70; shift += 7) {
		if (r->p >= r->end)
			return bad(r, "a varint cut short");
		v |= (uint64_t)(*r->p & 0x7f) << shift;
		if (!(*r->p++ & 0x80)) {
			*out = v;
			return 0;
		}
	}
	return bad(r, "a varint longer than 10 bytes");
}

/* The next key: field number and wire type; *field 0 at the end. */
static int key(rd *r, uint32_t *field, unsigned *wt)
{
	uint64_t k;
	int rc;

	*field = 0;
	if (r->p >= r->end)
		return 0;
	if ((rc = varint(r, &k)))
		return rc;
	if (k >> 3 == 0 || k >> 3 > 0x1fffffff)
		return bad(r, "a field number out of range");
	*field = (uint32_t)(k >> 3);
	*wt = (unsigned)(k & 7);
	return 0;
}

/* A length-delimited value: a sub-reader over its bytes. */
static int sub(rd *r, rd *out)
{
	uint64_t len;
	int rc;

	if ((rc = varint(r, &len)))
		return rc;
	if (len > (uint64_t)(r->end - r->p))
		return bad(r, "a length past the end");
	out->start = r->start;
	out->p = r->p;
	out->end = r->p + len;
	out->err = r->err;
	r->p += len;
	return 0;
}

static int skip(rd *r, unsigned wt)
{
	uint64_t v;
	rd s;
	size_t n;

	switch (wt) {
	case WT_VARINT:
		return varint(r, &v);
	case WT_LEN:
		return sub(r, &s);
	case WT_I64:
	case WT_I32:
		n = wt == WT_I64 ? 8 : 4;
		if ((size_t)(r->end - r->p) < n)
			return bad(r, "a fixed-size value cut short");
		r->p += n;
		return 0;
	default:
		return bad(r, "an unsupported wire type");
	}
}

static int want(rd *r, unsigned wt, unsigned expected)
{
	return wt == expected ? 0 : bad(r, "a field of the wrong wire type");
}

/* A string or bytes field into a fresh NUL-terminated copy (a repeated
 * field's last value wins; none of ours repeats). */
static int bytes(rd *r, unsigned wt, char **out, size_t *len)
{
	rd s;
	size_t n;
	char *c;
	int rc;

	if ((rc = want(r, wt, WT_LEN)) || (rc = sub(r, &s)))
		return rc;
	n = (size_t)(s.end - s.p);
	if (!(c = malloc(n + 1)))
		return vd_error_set(r->err, VD_ENOMEM, "out of memory");
	memcpy(c, s.p, n);
	c[n] = '\0';
	free(*out);
	*out = c;
	if (len)
		*len = n;
	return 0;
}

static int integer(rd *r, unsigned wt, uint64_t *out)
{
	int rc = want(r, wt, WT_VARINT);

	return rc ? rc : varint(r, out);
}

/* google.protobuf.Timestamp as Unix ns (0 stays "unset"; clamped). */
static int timestamp(rd *r, unsigned wt, int64_t *out)
{
	uint64_t sec = 0, nanos = 0;
	uint32_t f;
	rd s;
	int rc;

	if ((rc = want(r, wt, WT_LEN)) || (rc = sub(r, &s)))
		return rc;
	while (!(rc = key(&s, &f, &wt)) && f) {
		if (f == 1)
			rc = integer(&s, wt, &sec);
		else if (f == 2)
			rc = integer(&s, wt, &nanos);
		else
			rc = skip(&s, wt);
		if (rc)
			return rc;
	}
	if (rc)
		return rc;
	if ((int64_t)sec < 0 || (int64_t)sec > INT64_MAX / 1000000000 - 1)
		sec = 0;
	*out = (int64_t)sec * 1000000000 + (int64_t)(nanos % 1000000000);
	if (!*out)
		*out = 1;   /* the epoch itself: still "set" */
	return 0;
}

/* Grow an array of structs by one zeroed element. */
static void *push(void **arr, size_t *n, size_t size, vd_error *err)
{
	char *a = realloc(*arr, (*n + 1) * size);

	if (!a) {
		vd_error_set(err, VD_ENOMEM, "out of memory");
		return NULL;
	}
	*arr = a;
	memset(a + *n * size, 0, size);
	return a + (*n)++ * size;
}

static int vertex(rd *r, unsigned wt, vd_bk_status *st)
{
	vd_bk_vertex *v;
	uint64_t b;
	uint32_t f;
	rd s;
	int rc;

	if ((rc = want(r, wt, WT_LEN)) || (rc = sub(r, &s)))
		return rc;
	if (!(v = push((void **)&st->vertexes, &st->n_vertexes, sizeof(*v), r->err)))
		return VD_ENOMEM;
	while (!(rc = key(&s, &f, &wt)) && f) {
		switch (f) {
		case 1: rc = bytes(&s, wt, &v->digest, NULL); break;
		case 3: rc = bytes(&s, wt, &v->name, NULL); break;
		case 4:
			if (!(rc = integer(&s, wt, &b)))
				v->cached = b != 0;
			break;
		case 5: rc = timestamp(&s, wt, &v->started_ns); break;
		case 6: rc = timestamp(&s, wt, &v->completed_ns); break;
		case 7: rc = bytes(&s, wt, &v->error, NULL); break;
		default: rc = skip(&s, wt); break;
		}
		if (rc)
			return rc;
	}
	if (!rc && !v->digest)
		rc = bad(r, "a vertex without a digest");
	return rc;
}

static int vlog(rd *r, unsigned wt, vd_bk_status *st)
{
	vd_bk_log *l;
	uint64_t stream;
	uint32_t f;
	rd s;
	int rc;

	if ((rc = want(r, wt, WT_LEN)) || (rc = sub(r, &s)))
		return rc;
	if (!(l = push((void **)&st->logs, &st->n_logs, sizeof(*l), r->err)))
		return VD_ENOMEM;
	while (!(rc = key(&s, &f, &wt)) && f) {
		switch (f) {
		case 1: rc = bytes(&s, wt, &l->vertex, NULL); break;
		case 3:
			if (!(rc = integer(&s, wt, &stream)))
				l->stream = stream == 2 ? 2 : 1;
			break;
		case 4: rc = bytes(&s, wt, &l->msg, &l->msg_len); break;
		default: rc = skip(&s, wt); break;
		}
		if (rc)
			return rc;
	}
	if (!rc && (!l->vertex || !l->msg))
		rc = bad(r, "a log without its vertex or message");
	return rc;
}

static int warning(rd *r, unsigned wt, vd_bk_status *st)
{
	vd_bk_warning *w;
	uint32_t f;
	rd s;
	int rc;

	if ((rc = want(r, wt, WT_LEN)) || (rc = sub(r, &s)))
		return rc;
	if (!(w = push((void **)&st->warnings, &st->n_warnings, sizeof(*w), r->err)))
		return VD_ENOMEM;
	while (!(rc = key(&s, &f, &wt)) && f) {
		if (f == 1)
			rc = bytes(&s, wt, &w->vertex, NULL);
		else if (f == 3)
			rc = bytes(&s, wt, &w->text, NULL);
		else
			rc = skip(&s, wt);
		if (rc)
			return rc;
	}
	if (!rc && !w->text)
		rc = bad(r, "a warning without its text");
	return rc;
}

int vd_bk_status_decode(const uint8_t *p, size_t n, vd_bk_status *out, vd_error *err)
{
	rd r = { p, p + n, p, err };
	uint32_t f;
	unsigned wt;
	int rc;

	memset(out, 0, sizeof(*out));
	while (!(rc = key(&r, &f, &wt)) && f) {
		switch (f) {
		case 1: rc = vertex(&r, wt, out); break;
		case 3: rc = vlog(&r, wt, out); break;
		case 4: rc = warning(&r, wt, out); break;
		default: rc = skip(&r, wt); break;
		}
		if (rc)
			break;
	}
	if (rc)
		vd_bk_status_release(out);
	return rc;
}

void vd_bk_status_release(vd_bk_status *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->n_vertexes; i++) {
		free(s->vertexes[i].digest);
		free(s->vertexes[i].name);
		free(s->vertexes[i].error);
	}
	for (i = 0; i < s->n_logs; i++) {
		free(s->logs[i].vertex);
		free(s->logs[i].msg);
	}
	for (i = 0; i < s->n_warnings; i++) {
		free(s->warnings[i].vertex);
		free(s->warnings[i].text);
	}
	free(s->vertexes);
	free(s->logs);
	free(s->warnings);
	memset(s, 0, sizeof(*s));
}

/* ------------------------------------------------------------ base64 */

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int vd_bk_base64_decode(const char *in, size_t n, uint8_t **out, size_t *out_len, vd_error *err)
{
	uint8_t *o;
	uint32_t acc = 0;
	size_t i, bits = 0, len = 0;

	*out = NULL;
	*out_len = 0;
	while (n && in[n - 1] == '=')
		n--;
	if (n % 4 == 1)
		return vd_error_set(err, VD_EPROTO, "BuildKit status: base64 of a wrong length");
	if (!(o = malloc(n / 4 * 3 + 3)))
		return vd_error_set(err, VD_ENOMEM, "out of memory");
	for (i = 0; i < n; i++) {
		int v = b64_value((unsigned char)in[i]);

		if (v < 0) {
			free(o);
			return vd_error_set(err, VD_EPROTO, "BuildKit status: not base64 at character %zu", i);
		}
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			o[len++] = (uint8_t)(acc >> bits);
		}
	}
	*out = o;
	*out_len = len;
	return 0;
}

/* ------------------------------------------------------------ the trace */

struct vd_bk_vx {
	char *digest;
	char *name;
	char *error;
	bool cached;
	bool ended;
	unsigned num;
	int64_t started_ns, completed_ns;
	vd_buf partial;       /* a line still being printed */
	vd_buf tail;          /* its last whole lines */
};

void vd_bk_trace_init(vd_bk_trace *t, vd_bk_step_cb on_step, vd_bk_line_cb on_line, void *ctx)
{
	memset(t, 0, sizeof(*t));
	t->on_step = on_step;
	t->on_line = on_line;
	t->ctx = ctx;
	vd_buf_init(&t->steps, VD_BK_STEPS_MAX);
}

static struct vd_bk_vx *find(vd_bk_trace *t, const char *digest)
{
	size_t i;

	for (i = t->n; i-- > 0;)
		if (!strcmp(t->v[i].digest, digest))
			return &t->v[i];
	return NULL;
}

static int dup_into(char **dst, const char *src)
{
	char *c;

	if (!src || !*src)
		return 0;
	if (!(c = strdup(src)))
		return VD_ENOMEM;
	free(*dst);
	*dst = c;
	return 0;
}

/* The vertex of a digest, numbered when first seen; NULL past the bound. */
static struct vd_bk_vx *vertex_of(vd_bk_trace *t, const char *digest, int *rc)
{
	struct vd_bk_vx *x = find(t, digest);

	*rc = 0;
	if (x || t->n >= VD_BK_MAX_VERTEXES)
		return x;
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		struct vd_bk_vx *v = realloc(t->v, cap * sizeof(*v));

		if (!v) {
			*rc = VD_ENOMEM;
			return NULL;
		}
		t->v = v;
		t->cap = cap;
	}
	x = &t->v[t->n];
	memset(x, 0, sizeof(*x));
	if (!(x->digest = strdup(digest))) {
		*rc = VD_ENOMEM;
		return NULL;
	}
	x->num = (unsigned)++t->n;
	vd_buf_init(&x->partial, VD_BK_TAIL_BYTES);
	vd_buf_init(&x->tail, 2 * VD_BK_TAIL_BYTES);
	return x;
}

/* Keep the last VD_BK_TAIL_LINES lines, VD_BK_TAIL_BYTES at most. */
static int keep_line(struct vd_bk_vx *x, const char *line, size_t len)
{
	size_t lines = 0, i;
	const char *s;
	int rc;

	if (len > VD_BK_TAIL_BYTES)
		len = VD_BK_TAIL_BYTES;
	if ((rc = vd_buf_put(&x->tail, line, len)) || (rc = vd_buf_putc(&x->tail, '\n')))
		return rc;
	s = vd_buf_cstr(&x->tail);
	for (i = 0; i < x->tail.len; i++)
		lines += s[i] == '\n';
	while (lines > VD_BK_TAIL_LINES || x->tail.len > VD_BK_TAIL_BYTES) {
		const char *nl = memchr(vd_buf_cstr(&x->tail), '\n', x->tail.len);

		vd_buf_consume(&x->tail, nl ? (size_t)(nl - vd_buf_cstr(&x->tail)) + 1 : x->tail.len);
		lines--;
	}
	return 0;
}

static int line_out(vd_bk_trace *t, struct vd_bk_vx *x, const char *line, size_t len)
{
	int rc;

	if (!len)
		return 0;
	if ((rc = keep_line(x, line, len)))
		return rc;
	if (t->on_line) {
		char *l = NULL;

		if (asprintf(&l, "#%u %.*s", x->num, (int)len, line) < 0)
			return VD_ENOMEM;
		t->on_line(l, t->ctx);
		free(l);
	}
	return 0;
}

/* Append what fits of an endless line. */
static int put_capped(vd_buf *b, const char *data, size_t n)
{
	size_t room = b->max > b->len ? b->max - b->len : 0;

	return vd_buf_put(b, data, n < room ? n : room);
}

/* A chunk of a step's output: whole lines out, the rest kept ("\r" ends a
 * line too: progress bars redraw with it). */
static int log_chunk(vd_bk_trace *t, struct vd_bk_vx *x, const char *msg, size_t n)
{
	size_t i, start = 0;
	int rc;

	for (i = 0; i < n; i++) {
		if (msg[i] != '\n' && msg[i] != '\r')
			continue;
		if (x->partial.len) {
			rc = put_capped(&x->partial, msg + start, i - start);
			if (!rc)
				rc = line_out(t, x, vd_buf_cstr(&x->partial), x->partial.len);
			vd_buf_clear(&x->partial);
		} else {
			rc = line_out(t, x, msg + start, i - start);
		}
		if (rc)
			return rc;
		start = i + 1;
	}
	return start < n ? put_capped(&x->partial, msg + start, n - start) : 0;
}

static bool canceled(const char *error)
{
	return strstr(error, "context canceled") != NULL;
}

static int end_step(vd_bk_trace *t, struct vd_bk_vx *x)
{
	vd_bk_step st;
	const char *name = x->name ? x->name : x->digest;
	int rc = 0;

	if (x->partial.len) {
		rc = line_out(t, x, vd_buf_cstr(&x->partial), x->partial.len);
		vd_buf_clear(&x->partial);
		if (rc)
			return rc;
	}
	x->ended = true;
	st.num = x->num;
	st.name = name;
	st.cached = x->cached;
	st.ms = x->started_ns && x->completed_ns >= x->started_ns
			? (x->completed_ns - x->started_ns) / 1000000 : -1;
	st.error = x->error;
	st.tail = vd_buf_cstr(&x->tail);
	if (x->error)
		rc = vd_buf_printf(&t->steps, "#%u %.200s: ERROR %.200s\n", x->num, name, x->error);
	else if (x->cached)
		rc = vd_buf_printf(&t->steps, "#%u %.200s: CACHED\n", x->num, name);
	else
		rc = vd_buf_printf(&t->steps, "#%u %.200s: %.2fs\n", x->num, name,
				   st.ms < 0 ? 0.0 : st.ms / 1000.0);
	if (rc == VD_ETOOBIG)
		rc = 0;   /* the list is long enough to tell the story */
	/* the first real error: the steps BuildKit stops because of it end
	 * "context canceled" */
	if (!rc && x->error && !t->failed && !canceled(x->error)) {
		t->failed = strdup(name);
		t->failed_tail = strdup(st.tail);
		if (!t->failed || !t->failed_tail)
			rc = VD_ENOMEM;
	}
	if (!rc && t->on_step)
		t->on_step(&st, t->ctx);
	return rc;
}

int vd_bk_trace_apply(vd_bk_trace *t, const vd_bk_status *s, vd_error *err)
{
	size_t i;
	int rc = 0;

	/* news of the vertexes, then their output, then those that ended: a
	 * message may carry a step's last lines and its end together */
	for (i = 0; i < s->n_vertexes && !rc; i++) {
		const vd_bk_vertex *v = &s->vertexes[i];
		struct vd_bk_vx *x = vertex_of(t, v->digest, &rc);

		if (!x || x->ended)
			continue;
		if ((rc = dup_into(&x->name, v->name)) || (rc = dup_into(&x->error, v->error)))
			break;
		x->cached |= v->cached;
		if (v->started_ns)
			x->started_ns = v->started_ns;
		if (v->completed_ns)
			x->completed_ns = v->completed_ns;
	}
	for (i = 0; i < s->n_logs && !rc; i++) {
		struct vd_bk_vx *x = vertex_of(t, s->logs[i].vertex, &rc);

		if (x)
			rc = log_chunk(t, x, s->logs[i].msg, s->logs[i].msg_len);
	}
	for (i = 0; i < s->n_vertexes && !rc; i++) {
		struct vd_bk_vx *x = find(t, s->vertexes[i].digest);

		if (x && !x->ended && (x->completed_ns || x->error))
			rc = end_step(t, x);
	}
	for (i = 0; i < s->n_warnings && !rc; i++) {
		struct vd_bk_vx *x = s->warnings[i].vertex ? find(t, s->warnings[i].vertex) : NULL;

		if (t->on_line) {
			char *l = NULL;

			if (asprintf(&l, "#%u WARNING: %.500s", x ? x->num : 0, s->warnings[i].text) < 0)
				rc = VD_ENOMEM;
			else
				t->on_line(l, t->ctx);
			free(l);
		}
	}
	return rc ? vd_error_set(err, VD_ENOMEM, "out of memory") : 0;
}

int vd_bk_trace_feed(vd_bk_trace *t, const char *b64, size_t len, vd_error *err)
{
	vd_bk_status s;
	uint8_t *raw;
	size_t n;
	int rc;

	if ((rc = vd_bk_base64_decode(b64, len, &raw, &n, err)))
		return rc;
	rc = vd_bk_status_decode(raw, n, &s, err);
	free(raw);
	if (!rc)
		rc = vd_bk_trace_apply(t, &s, err);
	vd_bk_status_release(&s);
	return rc;
}

const char *vd_bk_trace_steps(const vd_bk_trace *t)
{
	return vd_buf_cstr(&t->steps);
}

void vd_bk_trace_release(vd_bk_trace *t)
{
	size_t i;

	if (!t)
		return;
	for (i = 0; i < t->n; i++) {
		free(t->v[i].digest);
		free(t->v[i].name);
		free(t->v[i].error);
		vd_buf_release(&t->v[i].partial);
		vd_buf_release(&t->v[i].tail);
	}
	free(t->v);
	vd_buf_release(&t->steps);
	free(t->failed);
	free(t->failed_tail);
	memset(t, 0, sizeof(*t));
}
