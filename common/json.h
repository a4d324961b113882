/* voxdeploy — small helpers over yajl: typed lookups in a parsed tree, a
 * generator wrapper that writes into a vd_buf, and an incremental JSON-lines
 * reader for the engine's streams (events, build progress). */
#ifndef VD_COMMON_JSON_H
#define VD_COMMON_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "common/buf.h"
#include "common/error.h"

/* Parse a NUL-terminated document; NULL and VD_EPROTO in err on failure.
 * Free with yajl_tree_free(). */
yajl_val vd_json_parse(const char *text, vd_error *err);

/* Member `key` of an object (NULL when v is no object or lacks the key). */
yajl_val vd_json_get(yajl_val v, const char *key);
/* Follow a NULL-terminated list of keys. */
yajl_val vd_json_at(yajl_val v, ...) __attribute__((sentinel));
/* Typed members: NULL / dflt when absent or of another type (for
 * vd_json_int, a number outside int64's range counts as another type; a
 * fraction is cut off). */
const char *vd_json_str(yajl_val v, const char *key);
int64_t vd_json_int(yajl_val v, const char *key, int64_t dflt);
bool vd_json_bool(yajl_val v, const char *key, bool dflt);
/* Number of elements of an array value (0 for anything else). */
size_t vd_json_len(yajl_val v);
yajl_val vd_json_idx(yajl_val v, size_t i);

/* A generator that never beautifies. */
yajl_gen vd_jgen_new(void);
void vd_jgen_str(yajl_gen g, const char *s);   /* NULL → null */
void vd_jgen_kstr(yajl_gen g, const char *key, const char *val);
void vd_jgen_kint(yajl_gen g, const char *key, long long val);
void vd_jgen_kbool(yajl_gen g, const char *key, bool val);
/* Write a parsed value back out (copying part of an engine response). */
void vd_jgen_value(yajl_gen g, yajl_val v);
/* Append what was generated to out and free the generator. */
int vd_jgen_finish(yajl_gen g, vd_buf *out);

/* Incremental JSON lines: bytes in, one callback per complete line, parsed.
 * Blank lines are skipped; a line longer than max_line is VD_ETOOBIG. */
typedef int (*vd_jsonl_cb)(yajl_val v, void *ctx, vd_error *err);

typedef struct vd_jsonl {
	vd_buf line;
	vd_jsonl_cb cb;
	void *ctx;
	size_t lines;   /* lines delivered so far */
} vd_jsonl;

void vd_jsonl_init(vd_jsonl *j, size_t max_line, vd_jsonl_cb cb, void *ctx);
int vd_jsonl_feed(vd_jsonl *j, const char *data, size_t len, vd_error *err);
/* End of stream: a last line without newline is delivered too. */
int vd_jsonl_finish(vd_jsonl *j, vd_error *err);
void vd_jsonl_release(vd_jsonl *j);



/* An ordered list of string pairs (labels, environment maps). */
typedef struct vd_kv {
	char *key;
	char *value;
} vd_kv;

typedef struct vd_kvs {
	vd_kv *items;
	size_t len;
} vd_kvs;

/* Copy an object of strings (other member types are skipped; null or a
 * missing object gives an empty list). */
int vd_kvs_from_json(yajl_val obj, vd_kvs *out);
int vd_kvs_add(vd_kvs *kvs, const char *key, const char *value);
const char *vd_kvs_get(const vd_kvs *kvs, const char *key);
void vd_kvs_release(vd_kvs *kvs);
/* "key": {"k1": "v1", ...} in the list's order (a generator's member). */
void vd_jgen_kkvs(yajl_gen g, const char *key, const vd_kvs *kvs);
/* "key": ["s1", ...] (a generator's member). */
void vd_jgen_kstrs(yajl_gen g, const char *key, char *const *items, size_t n);

#endif
