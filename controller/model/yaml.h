/* voxdeploy — YAML configuration files read into a tree that remembers where
 * everything was written.
 *
 * The loader wraps libfyaml (YAML 1.2; its headers stay in yaml.c) and turns
 * its events into vd_yaml_node trees:
 *   - every node knows its FILE:LINE:COL (1-based; a quoted scalar points at
 *     its opening quote, an alias at its '*');
 *   - anchors and aliases are resolved by sharing the anchored node, never
 *     by copying it, so an alias bomb costs nothing until someone walks it;
 *     whoever walks shared nodes (copying, merging, typing lists) charges the
 *     work with vd_yaml_charge() against one budget per vd_yaml, so that no
 *     input can make a caller hang or allocate without bound;
 *   - `<<` merge keys take a mapping or a list of mappings and bring in the
 *     keys the mapping does not set itself (the earlier merged mapping wins
 *     over a later one);
 *   - a duplicate key, a non-string key, an unknown alias, a NUL character,
 *     more than one document, nesting deeper than VD_YAML_MAX_DEPTH and a
 *     file over the size limit are errors;
 *   - plain `null`, `Null`, `NULL`, `~` and empty values (and values tagged
 *     !!null) are VD_YAML_NULL; every other scalar is a VD_YAML_STR: typing
 *     ("5" as a number, "yes" as a boolean) is the caller's business, with
 *     the getters below;
 *   - every scalar value (never a key, never a null) can be rewritten as it
 *     is read by a caller-given function (variable interpolation).
 *
 * Errors are VD_EINVAL with a message "FILE:LINE:COL: ..." (VD_ENOMEM when
 * out of memory).  Helpers that check a node take an optional `where`
 * naming what is being read, which goes between the position and the
 * message: "voxdeploy.yml:4:15: rule 'main': 'deadline' must be a string".
 *
 * Nodes are read-only for their users and live as long as the vd_yaml that
 * made them; so does the memory of vd_yaml_array() and friends, which
 * callers use for trees they derive (normalised or merged copies) and for
 * strings they only need while loading.
 */
#ifndef VD_CONTROLLER_YAML_H
#define VD_CONTROLLER_YAML_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/error.h"

#define VD_YAML_MAX_FILE ((size_t)16 << 20)   /* default size limit of one file */
#define VD_YAML_MAX_DEPTH 64                  /* nesting of collections */
#define VD_YAML_MAX_WORK 20000000UL           /* default work budget (vd_yaml_charge) */

typedef enum vd_yaml_kind {
	VD_YAML_NULL,
	VD_YAML_STR,
	VD_YAML_SEQ,
	VD_YAML_MAP,
} vd_yaml_kind;

typedef struct vd_yaml vd_yaml;
typedef struct vd_yaml_node vd_yaml_node;

typedef struct vd_yaml_pair {
	vd_yaml_node *key;    /* always a VD_YAML_STR */
	vd_yaml_node *val;
} vd_yaml_pair;

/* One node.  Read it directly (like a yajl_val) or with the accessors
 * below; never modify a node the loader made (it may be shared through an
 * alias): build a new one with vd_yaml_node_new() instead. */
struct vd_yaml_node {
	vd_yaml_kind kind;
	const char *tag;      /* one of vd_yaml_options.markers as given, or NULL */
	bool plain;           /* a plain (unquoted, untagged) scalar */
	bool rewritten;       /* its text came from vd_yaml_options.value (interpolated) */
	const vd_yaml_node *written;  /* set by a caller that replaced a node by another form
	                               * of it: the node as the file wrote it */
	int file;             /* index of the file (order of vd_yaml_parse calls) */
	int line;
	int col;
	char *s;              /* VD_YAML_STR: the text, NUL-terminated, no NUL inside */
	size_t n;             /* number of items (SEQ) or pairs (MAP) */
	vd_yaml_node **items; /* VD_YAML_SEQ */
	vd_yaml_pair *pairs;  /* VD_YAML_MAP, in file order (merged `<<` keys where the `<<` was) */
};

/* Where a node was written; file belongs to the vd_yaml. */
typedef struct vd_yaml_pos {
	const char *file;
	int line;
	int col;
} vd_yaml_pos;

/* Rewrite a scalar value as it is read: append the new text to out (empty on
 * entry) and return 0; return VD_YAML_KEEP to keep the value as written; or
 * return a negative VD_E* code with err set — the loader prefixes the
 * value's "FILE:LINE:COL". */
typedef int (*vd_yaml_value_fn)(const char *value, void *ctx, vd_buf *out, vd_error *err);
#define VD_YAML_KEEP 1

typedef struct vd_yaml_options {
	const char *what;            /* what one file is, in messages ("more than one YAML document
	                              * in a compose file"); NULL: "file" */
	size_t max_file;             /* bytes per file; 0: VD_YAML_MAX_FILE */
	unsigned long max_work;      /* the vd_yaml_charge() budget; 0: VD_YAML_MAX_WORK */
	const char *const *markers;  /* NULL-terminated local tags ("!reset") that are kept in
	                              * vd_yaml_node.tag and do not change the node's type; other
	                              * tags do: "...null" makes a null, anything else a string */
	vd_yaml_value_fn value;      /* NULL: values as written */
	void *value_ctx;
} vd_yaml_options;

#define VD_YAML_OPTIONS_INIT { NULL, 0, 0, NULL, NULL, NULL }

/* A loader: the files it parsed, their trees, the memory derived from them
 * and one work budget.  opts may be NULL (all defaults); it is copied, but
 * the strings and the markers array it points to must outlive the loader. */
int vd_yaml_new(const vd_yaml_options *opts, vd_yaml **out, vd_error *err);
void vd_yaml_free(vd_yaml *y);

/* Parse one file (text need not be NUL-terminated; filename names it in
 * positions and messages).  *out is the document's root, NULL for an empty
 * document (nothing but comments).  Files are numbered from 0 in the order
 * they are parsed (vd_yaml_node.file); a file that fails still counts. */
int vd_yaml_parse(vd_yaml *y, const char *filename, const char *text, size_t len,
		  vd_yaml_node **out, vd_error *err);

/* Read a whole file into out (initialised by the caller) with at most max
 * bytes (0: VD_YAML_MAX_FILE): VD_ENOTFOUND when it does not exist, VD_EIO,
 * VD_EINVAL "PATH: file is larger than N MiB". */
int vd_yaml_read_file(const char *path, size_t max, vd_buf *out, vd_error *err);

/* The name of file number `file`, or "-" when there is none. */
const char *vd_yaml_file_name(const vd_yaml *y, int file);
vd_yaml_pos vd_yaml_node_pos(const vd_yaml *y, const vd_yaml_node *n);

/* ---- reading nodes ---- */

/* The value of key in a mapping; NULL when n is not a mapping or has no such
 * key. */
vd_yaml_node *vd_yaml_map_get(const vd_yaml_node *map, const char *key);
/* Items and pairs by index, NULL past the end (or for another kind). */
vd_yaml_node *vd_yaml_seq_at(const vd_yaml_node *seq, size_t i);
const vd_yaml_pair *vd_yaml_map_at(const vd_yaml_node *map, size_t i);
/* Whether the node carries marker tag (compared by text). */
bool vd_yaml_has_tag(const vd_yaml_node *n, const char *tag);

/* ---- errors ---- */

/* Set err to VD_EINVAL "FILE:LINE:COL: [where: ]message" for node n and
 * return VD_EINVAL (VD_ENOMEM "out of memory" when formatting fails). */
int vd_yaml_error(const vd_yaml *y, const vd_yaml_node *n, const char *where, vd_error *err,
		  const char *fmt, ...) __attribute__((format(printf, 5, 6)));
int vd_yaml_verror(const vd_yaml *y, const vd_yaml_node *n, const char *where, vd_error *err,
		   const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));
/* "FILE:LINE:COL: [where: ]unknown key 'KEY'" at the key of a pair. */
int vd_yaml_unknown_key(const vd_yaml *y, const vd_yaml_pair *p, const char *where, vd_error *err);

/* Count units of work done because of node `at` (pairs copied, items
 * typed): past the budget VD_EINVAL "FILE:LINE:COL: aliases expand to too
 * much content". */
int vd_yaml_charge(vd_yaml *y, const vd_yaml_node *at, unsigned long units, vd_error *err);

/* ---- typed getters ----
 * Each reads the value of `key` (named in the message) at node n.  A null
 * leaves *out untouched (except vd_yaml_get_str, which sets NULL) and
 * returns 0, so that defaults set before the call survive `key:` alone. */

/* A string, borrowed from the tree: "'KEY' must be a string". */
int vd_yaml_get_str(const vd_yaml *y, const vd_yaml_node *n, const char *where, const char *key,
		    const char **out, vd_error *err);
/* y/yes/true/on, n/no/false/off in any case: "'KEY' must be a boolean". */
int vd_yaml_get_bool(const vd_yaml *y, const vd_yaml_node *n, const char *where, const char *key,
		     bool *out, vd_error *err);
/* A decimal integer in [min, max]: "'KEY' must be an integer", followed by
 * " >= MIN" (max INT64_MAX) or " from MIN to MAX" when min is not negative. */
int vd_yaml_get_int(const vd_yaml *y, const vd_yaml_node *n, const char *where, const char *key,
		    int64_t min, int64_t max, int64_t *out, vd_error *err);
/* A mapping or null: "'KEY' must be a mapping". */
int vd_yaml_expect_map(const vd_yaml *y, const vd_yaml_node *n, const char *where, const char *key,
		       vd_error *err);

/* The scalar parsers behind the getters: 0 or VD_EINVAL, no message. */
int vd_yaml_parse_bool(const char *s, bool *out);
int vd_yaml_parse_int(const char *s, int64_t min, int64_t max, int64_t *out);

/* ---- a quick look, without a loader ---- */

/* The text of the scalar under the top-level key `key` (a plain name) of
 * the YAML file at path, as written: not interpolated, tags ignored, `null`
 * and `~` as their text, an alias not followed (its anchor's name), `<<`
 * merge keys not expanded.  A heap string (caller frees); NULL when the
 * file cannot be read or parsed, lacks the key, or the value is no scalar
 * or empty.  libfyaml may print its warnings on stderr.  (The project's
 * name, looked up before the compose files are loaded.) */
char *vd_yaml_peek_scalar(const char *path, const char *key);

/* ---- deriving trees and loader-lifetime memory ----
 * NULL when out of memory.  New nodes take their position from `at`. */

vd_yaml_node *vd_yaml_node_new(vd_yaml *y, vd_yaml_kind kind, const vd_yaml_node *at);
/* A mapping or sequence with room for cap pairs or items (n is 0). */
vd_yaml_node *vd_yaml_map_new(vd_yaml *y, const vd_yaml_node *at, size_t cap);
vd_yaml_node *vd_yaml_seq_new(vd_yaml *y, const vd_yaml_node *at, size_t cap);

/* Zeroed memory for n elements of size (overflow-checked; never a NULL
 * result for n == 0); string copies (NULL for NULL); printf. */
void *vd_yaml_array(vd_yaml *y, size_t n, size_t size);
char *vd_yaml_strdup(vd_yaml *y, const char *s);
char *vd_yaml_strndup(vd_yaml *y, const char *s, size_t n);
char *vd_yaml_printf(vd_yaml *y, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
