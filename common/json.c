#include "common/json.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

yajl_val vd_json_parse(const char *text, vd_error *err)
{
	char ebuf[256];
	yajl_val v;

	ebuf[0] = '\0';
	v = yajl_tree_parse(text, ebuf, sizeof(ebuf));
	if (!v) {
		char *nl;

		/* yajl's message spans lines with a caret drawing: keep the first */
		if ((nl = strchr(ebuf, '\n')))
			*nl = '\0';
		vd_error_set(err, VD_EPROTO, "invalid JSON: %s",
			     ebuf[0] ? ebuf : "empty or truncated document");
	}
	return v;
}

yajl_val vd_json_get(yajl_val v, const char *key)
{
	size_t i;

	if (!v || !YAJL_IS_OBJECT(v))
		return NULL;
	for (i = 0; i < v->u.object.len; i++)
		if (!strcmp(v->u.object.keys[i], key))
			return v->u.object.values[i];
	return NULL;
}

yajl_val vd_json_at(yajl_val v, ...)
{
	const char *key;
	va_list ap;

	va_start(ap, v);
	while (v && (key = va_arg(ap, const char *)))
		v = vd_json_get(v, key);
	va_end(ap);
	return v;
}

const char *vd_json_str(yajl_val v, const char *key)
{
	yajl_val m = vd_json_get(v, key);

	return m && YAJL_IS_STRING(m) ? m->u.string : NULL;
}

int64_t vd_json_int(yajl_val v, const char *key, int64_t dflt)
{
	yajl_val m = vd_json_get(v, key);

	if (m && YAJL_IS_INTEGER(m))
		return m->u.number.i;
	/* a fraction is cut off; a value no int64 holds (1e300, what
	 * yajl makes of an overlong integer) counts as of another type:
	 * converting it would be undefined */
	if (m && YAJL_IS_DOUBLE(m) && m->u.number.d >= -9223372036854775808.0 &&
	    m->u.number.d < 9223372036854775808.0)
		return (int64_t)m->u.number.d;
	return dflt;
}

bool vd_json_bool(yajl_val v, const char *key, bool dflt)
{
	yajl_val m = vd_json_get(v, key);

	if (m && YAJL_IS_TRUE(m))
		return true;
	if (m && YAJL_IS_FALSE(m))
		return false;
	return dflt;
}

size_t vd_json_len(yajl_val v)
{
	return v && YAJL_IS_ARRAY(v) ? v->u.array.len : 0;
}

yajl_val vd_json_idx(yajl_val v, size_t i)
{
	return i < vd_json_len(v) ? v->u.array.values[i] : NULL;
}

yajl_gen vd_jgen_new(void)
{
	return yajl_gen_alloc(NULL);
}

void vd_jgen_str(yajl_gen g, const char *s)
{
	if (s)
		yajl_gen_string(g, (const unsigned char *)s, strlen(s));
	else
		yajl_gen_null(g);
}

void vd_jgen_kstr(yajl_gen g, const char *key, const char *val)
{
	vd_jgen_str(g, key);
	vd_jgen_str(g, val);
}

void vd_jgen_kint(yajl_gen g, const char *key, long long val)
{
	vd_jgen_str(g, key);
	yajl_gen_integer(g, val);
}

void vd_jgen_kbool(yajl_gen g, const char *key, bool val)
{
	vd_jgen_str(g, key);
	yajl_gen_bool(g, val);
}

void vd_jgen_value(yajl_gen g, yajl_val v)
{
	size_t i;

	if (!v) {
		yajl_gen_null(g);
		return;
	}
	switch (v->type) {
	case yajl_t_string:
		vd_jgen_str(g, v->u.string);
		break;
	case yajl_t_number:
		/* the text as received keeps large integers exact */
		yajl_gen_number(g, v->u.number.r, strlen(v->u.number.r));
		break;
	case yajl_t_object:
		yajl_gen_map_open(g);
		for (i = 0; i < v->u.object.len; i++) {
			vd_jgen_str(g, v->u.object.keys[i]);
			vd_jgen_value(g, v->u.object.values[i]);
		}
		yajl_gen_map_close(g);
		break;
	case yajl_t_array:
		yajl_gen_array_open(g);
		for (i = 0; i < v->u.array.len; i++)
			vd_jgen_value(g, v->u.array.values[i]);
		yajl_gen_array_close(g);
		break;
	case yajl_t_true:
		yajl_gen_bool(g, 1);
		break;
	case yajl_t_false:
		yajl_gen_bool(g, 0);
		break;
	default:
		yajl_gen_null(g);
		break;
	}
}

int vd_jgen_finish(yajl_gen g, vd_buf *out)
{
	const unsigned char *p;
	size_t len;
	int r = VD_EINVAL;

	if (yajl_gen_get_buf(g, &p, &len) == yajl_gen_status_ok)
		r = vd_buf_put(out, p, len);
	yajl_gen_free(g);
	return r;
}

void vd_jsonl_init(vd_jsonl *j, size_t max_line, vd_jsonl_cb cb, void *ctx)
{
	vd_buf_init(&j->line, max_line);
	j->cb = cb;
	j->ctx = ctx;
	j->lines = 0;
}

static int deliver(vd_jsonl *j, vd_error *err)
{
	const char *s = vd_buf_cstr(&j->line);
	yajl_val v;
	int r;

	if (s[strspn(s, " \t\r")] == '\0')
		return 0;
	v = vd_json_parse(s, err);
	if (!v)
		return vd_error_prefix(err, "stream line %zu", j->lines + 1);
	j->lines++;
	r = j->cb(v, j->ctx, err);
	yajl_tree_free(v);
	return r;
}

int vd_jsonl_feed(vd_jsonl *j, const char *data, size_t len, vd_error *err)
{
	while (len) {
		const char *nl = memchr(data, '\n', len);
		size_t take = nl ? (size_t)(nl - data) : len;
		int r;

		if (vd_buf_put(&j->line, data, take))
			return vd_error_set(err, VD_ETOOBIG,
					    "stream line longer than %zu bytes", j->line.max);
		data += take;
		len -= take;
		if (!nl)
			break;
		data++;
		len--;
		r = deliver(j, err);
		vd_buf_clear(&j->line);
		if (r)
			return r;
	}
	return 0;
}

int vd_jsonl_finish(vd_jsonl *j, vd_error *err)
{
	int r = deliver(j, err);

	vd_buf_clear(&j->line);
	return r;
}

void vd_jsonl_release(vd_jsonl *j)
{
	vd_buf_release(&j->line);
}

int vd_kvs_add(vd_kvs *kvs, const char *key, const char *value)
{
	vd_kv *n = realloc(kvs->items, (kvs->len + 1) * sizeof(*n));

	if (!n)
		return VD_ENOMEM;
	kvs->items = n;
	n[kvs->len].key = strdup(key);
	n[kvs->len].value = strdup(value ? value : "");
	if (!n[kvs->len].key || !n[kvs->len].value) {
		free(n[kvs->len].key);
		free(n[kvs->len].value);
		return VD_ENOMEM;
	}
	kvs->len++;
	return 0;
}

int vd_kvs_from_json(yajl_val obj, vd_kvs *out)
{
	size_t i;
	int r;

	out->items = NULL;
	out->len = 0;
	if (!obj || !YAJL_IS_OBJECT(obj))
		return 0;
	for (i = 0; i < obj->u.object.len; i++) {
		yajl_val v = obj->u.object.values[i];

		if (!YAJL_IS_STRING(v))
			continue;
		r = vd_kvs_add(out, obj->u.object.keys[i], v->u.string);
		if (r) {
			vd_kvs_release(out);
			return r;
		}
	}
	return 0;
}

const char *vd_kvs_get(const vd_kvs *kvs, const char *key)
{
	size_t i;

	for (i = 0; i < kvs->len; i++)
		if (!strcmp(kvs->items[i].key, key))
			return kvs->items[i].value;
	return NULL;
}

void vd_kvs_release(vd_kvs *kvs)
{
	size_t i;

	if (!kvs)
		return;
	for (i = 0; i < kvs->len; i++) {
		free(kvs->items[i].key);
		free(kvs->items[i].value);
	}
	free(kvs->items);
	kvs->items = NULL;
	kvs->len = 0;
}

void vd_jgen_kkvs(yajl_gen g, const char *key, const vd_kvs *kvs)
{
	size_t i;

	vd_jgen_str(g, key);
	yajl_gen_map_open(g);
	for (i = 0; i < kvs->len; i++)
		vd_jgen_kstr(g, kvs->items[i].key, kvs->items[i].value);
	yajl_gen_map_close(g);
}

void vd_jgen_kstrs(yajl_gen g, const char *key, char *const *items, size_t n)
{
	size_t i;

	vd_jgen_str(g, key);
	yajl_gen_array_open(g);
	for (i = 0; i < n; i++)
		vd_jgen_str(g, items[i]);
	yajl_gen_array_close(g);
}
