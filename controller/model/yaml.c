#include "controller/model/yaml.h"
#include "common/arena.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libfyaml.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* ------------------------------------------------------------------------
 * The loader.
 */

struct vd_yaml {
	vd_arena mem;
	vd_yaml_options opts;
	char **files;        /* names, in the arena */
	size_t n_files;
	size_t cap_files;
	unsigned long work;
	vd_buf scratch;      /* the value callback's output */
};

static int oom(vd_error *err)
{
	return vd_error_set(err, VD_ENOMEM, "out of memory");
}

int vd_yaml_new(const vd_yaml_options *opts, vd_yaml **out, vd_error *err)
{
	vd_yaml *y = calloc(1, sizeof(*y));

	if (!y)
		return oom(err);
	if (opts)
		y->opts = *opts;
	if (!y->opts.what)
		y->opts.what = "file";
	if (!y->opts.max_file)
		y->opts.max_file = VD_YAML_MAX_FILE;
	if (!y->opts.max_work)
		y->opts.max_work = VD_YAML_MAX_WORK;
	vd_buf_init(&y->scratch, y->opts.max_file);
	*out = y;
	return 0;
}

void vd_yaml_free(vd_yaml *y)
{
	if (!y)
		return;
	vd_arena_release(&y->mem);
	vd_buf_release(&y->scratch);
	free(y->files);
	free(y);
}

const char *vd_yaml_file_name(const vd_yaml *y, int file)
{
	if (file < 0 || (size_t)file >= y->n_files)
		return "-";
	return y->files[file];
}

vd_yaml_pos vd_yaml_node_pos(const vd_yaml *y, const vd_yaml_node *n)
{
	vd_yaml_pos pos = { vd_yaml_file_name(y, n->file), n->line, n->col };

	return pos;
}

/* ------------------------------------------------------------------------
 * Memory and nodes.
 */

void *vd_yaml_array(vd_yaml *y, size_t n, size_t size)
{
	return vd_arena_array(&y->mem, n, size);
}

char *vd_yaml_strndup(vd_yaml *y, const char *s, size_t n)
{
	return vd_arena_strndup(&y->mem, s, n);
}

char *vd_yaml_strdup(vd_yaml *y, const char *s)
{
	return vd_arena_strdup(&y->mem, s);
}

char *vd_yaml_printf(vd_yaml *y, const char *fmt, ...)
{
	va_list ap;
	char *out;

	va_start(ap, fmt);
	out = vd_arena_vprintf(&y->mem, fmt, ap);
	va_end(ap);
	return out;
}

static vd_yaml_node *node_at(vd_yaml *y, vd_yaml_kind kind, int file, int line, int col)
{
	vd_yaml_node *n = vd_arena_alloc(&y->mem, sizeof(*n));

	if (!n)
		return NULL;
	n->kind = kind;
	n->file = file;
	n->line = line;
	n->col = col;
	return n;
}

vd_yaml_node *vd_yaml_node_new(vd_yaml *y, vd_yaml_kind kind, const vd_yaml_node *at)
{
	return node_at(y, kind, at->file, at->line, at->col);
}

vd_yaml_node *vd_yaml_map_new(vd_yaml *y, const vd_yaml_node *at, size_t cap)
{
	vd_yaml_node *n = vd_yaml_node_new(y, VD_YAML_MAP, at);

	if (!n || !(n->pairs = vd_yaml_array(y, cap, sizeof(vd_yaml_pair))))
		return NULL;
	return n;
}

vd_yaml_node *vd_yaml_seq_new(vd_yaml *y, const vd_yaml_node *at, size_t cap)
{
	vd_yaml_node *n = vd_yaml_node_new(y, VD_YAML_SEQ, at);

	if (!n || !(n->items = vd_yaml_array(y, cap, sizeof(vd_yaml_node *))))
		return NULL;
	return n;
}

vd_yaml_node *vd_yaml_map_get(const vd_yaml_node *map, const char *key)
{
	size_t i;

	if (!map || map->kind != VD_YAML_MAP)
		return NULL;
	for (i = 0; i < map->n; i++)
		if (!strcmp(map->pairs[i].key->s, key))
			return map->pairs[i].val;
	return NULL;
}

vd_yaml_node *vd_yaml_seq_at(const vd_yaml_node *seq, size_t i)
{
	return seq && seq->kind == VD_YAML_SEQ && i < seq->n ? seq->items[i] : NULL;
}

const vd_yaml_pair *vd_yaml_map_at(const vd_yaml_node *map, size_t i)
{
	return map && map->kind == VD_YAML_MAP && i < map->n ? &map->pairs[i] : NULL;
}

bool vd_yaml_has_tag(const vd_yaml_node *n, const char *tag)
{
	return n->tag && !strcmp(n->tag, tag);
}

/* ------------------------------------------------------------------------
 * Errors and the work budget.
 */

static int error_at(const vd_yaml *y, int file, int line, int col, const char *where, vd_error *err,
		    const char *fmt, va_list ap) __attribute__((format(printf, 7, 0)));
static int error_at(const vd_yaml *y, int file, int line, int col, const char *where, vd_error *err,
		    const char *fmt, va_list ap)
{
	const char *name = vd_yaml_file_name(y, file);
	char *msg = NULL;

	if (vasprintf(&msg, fmt, ap) < 0)
		return oom(err);
	if (where)
		vd_error_set(err, VD_EINVAL, "%s:%d:%d: %s: %s", name, line, col, where, msg);
	else
		vd_error_set(err, VD_EINVAL, "%s:%d:%d: %s", name, line, col, msg);
	free(msg);
	return VD_EINVAL;
}

int vd_yaml_verror(const vd_yaml *y, const vd_yaml_node *n, const char *where, vd_error *err,
		   const char *fmt, va_list ap)
{
	return error_at(y, n->file, n->line, n->col, where, err, fmt, ap);
}

int vd_yaml_error(const vd_yaml *y, const vd_yaml_node *n, const char *where, vd_error *err,
		  const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = error_at(y, n->file, n->line, n->col, where, err, fmt, ap);
	va_end(ap);
	return r;
}

int vd_yaml_unknown_key(const vd_yaml *y, const vd_yaml_pair *p, const char *where, vd_error *err)
{
	return vd_yaml_error(y, p->key, where, err, "unknown key '%s'", p->key->s);
}

int vd_yaml_charge(vd_yaml *y, const vd_yaml_node *at, unsigned long units, vd_error *err)
{
	y->work += units;
	if (y->work > y->opts.max_work)
		return vd_yaml_error(y, at, NULL, err, "aliases expand to too much content");
	return 0;
}

/* ------------------------------------------------------------------------
 * Typed getters.
 */

int vd_yaml_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "y", "yes", "true", "on" };
	static const char *const no[] = { "n", "no", "false", "off" };
	size_t i;

	for (i = 0; i < 4; i++) {
		if (!strcasecmp(s, yes[i])) {
			*out = true;
			return 0;
		}
		if (!strcasecmp(s, no[i])) {
			*out = false;
			return 0;
		}
	}
	return VD_EINVAL;
}

int vd_yaml_parse_int(const char *s, int64_t min, int64_t max, int64_t *out)
{
	char *end;
	long long v;

	if (!s || !*s || isspace((unsigned char)*s))
		return VD_EINVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return VD_EINVAL;
	*out = v;
	return 0;
}

int vd_yaml_get_str(const vd_yaml *y, const vd_yaml_node *n, const char *where, const char *key,
		    const char **out, vd_error *err)
{
	if (n->kind == VD_YAML_NULL) {
		*out = NULL;
		return 0;
	}
	if (n->kind != VD_YAML_STR)
		return vd_yaml_error(y, n, where, err, "'%s' must be a string", key);
	*out = n->s;
	return 0;
}

int vd_yaml_get_bool(const vd_yaml *y, const vd_yaml_node *n, const char *where, const char *key,
		     bool *out, vd_error *err)
{
	if (n->kind == VD_YAML_NULL)
		return 0;
	if (n->kind != VD_YAML_STR || vd_yaml_parse_bool(n->s, out))
		return vd_yaml_error(y, n, where, err, "'%s' must be a boolean", key);
	return 0;
}

int vd_yaml_get_int(const vd_yaml *y, const vd_yaml_node *n, const char *where, const char *key,
		    int64_t min, int64_t max, int64_t *out, vd_error *err)
{
	if (n->kind == VD_YAML_NULL)
		return 0;
	if (n->kind == VD_YAML_STR && !vd_yaml_parse_int(n->s, min, max, out))
		return 0;
	if (min == INT64_MIN)
		return vd_yaml_error(y, n, where, err, "'%s' must be an integer", key);
	if (max == INT64_MAX)
		return vd_yaml_error(y, n, where, err, "'%s' must be an integer >= %lld", key, (long long)min);
	return vd_yaml_error(y, n, where, err, "'%s' must be an integer from %lld to %lld", key,
			     (long long)min, (long long)max);
}

int vd_yaml_expect_map(const vd_yaml *y, const vd_yaml_node *n, const char *where, const char *key,
		       vd_error *err)
{
	if (n->kind != VD_YAML_MAP && n->kind != VD_YAML_NULL)
		return vd_yaml_error(y, n, where, err, "'%s' must be a mapping", key);
	return 0;
}

/* ------------------------------------------------------------------------
 * Parsing: libfyaml events into the tree.  Working from events (not
 * libfyaml's document) gives every node its position and lets aliases stay
 * shared instead of being copied, which bounds what an alias bomb costs.
 */

typedef struct frame {
	vd_yaml_node *node;
	char *anchor;           /* to register when the collection ends */
	vd_yaml_node **items;   /* seq items, or key, value, key, value... for maps */
	size_t n;
	size_t cap;
} frame;

typedef struct parser {
	vd_yaml *y;
	vd_error *err;
	int file;
	frame stack[VD_YAML_MAX_DEPTH + 1];
	size_t depth;
	vd_strmap anchors;
	vd_yaml_node *root;
	int docs;
} parser;

static int parse_err(parser *p, int line, int col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int parse_err(parser *p, int line, int col, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = error_at(p->y, p->file, line, col, NULL, p->err, fmt, ap);
	va_end(ap);
	return r;
}

static int frame_push_item(parser *p, frame *f, vd_yaml_node *n)
{
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 8;
		vd_yaml_node **items = realloc(f->items, cap * sizeof(*items));

		if (!items)
			return oom(p->err);
		f->items = items;
		f->cap = cap;
	}
	f->items[f->n++] = n;
	return 0;
}

static bool is_null_literal(const char *s, size_t len)
{
	return len == 0 || (len == 1 && s[0] == '~') ||
	       (len == 4 && (!memcmp(s, "null", 4) || !memcmp(s, "Null", 4) || !memcmp(s, "NULL", 4)));
}

static bool is_merge_key(const vd_yaml_node *k)
{
	return k->kind == VD_YAML_STR && k->plain && !strcmp(k->s, "<<");
}

/* Finish a mapping: duplicate keys are errors; `<<` entries bring in the
 * pairs of the mapping(s) they name that the mapping does not set itself. */
static int finish_map(parser *p, frame *f)
{
	vd_yaml *y = p->y;
	vd_yaml_node *map = f->node;
	vd_strmap explicit = { 0 }, seen = { 0 };
	size_t i, j, k, total = 0, out = 0;
	bool merges = false;
	int r = 0;

	if (f->n % 2)
		return vd_yaml_error(y, map, NULL, p->err, "mapping without a value for its last key");
	for (i = 0; i < f->n; i += 2) {
		vd_yaml_node *key = f->items[i], *val = f->items[i + 1];

		if (is_merge_key(key)) {
			if (val->kind == VD_YAML_MAP) {
				total += val->n;
			} else if (val->kind == VD_YAML_SEQ) {
				for (j = 0; j < val->n; j++) {
					if (val->items[j]->kind != VD_YAML_MAP) {
						r = vd_yaml_error(y, val->items[j], NULL, p->err,
								  "a '<<' merge key needs a mapping or a list of mappings");
						goto done;
					}
					total += val->items[j]->n;
				}
			} else {
				r = vd_yaml_error(y, val, NULL, p->err,
						  "a '<<' merge key needs a mapping or a list of mappings");
				goto done;
			}
			merges = true;
			continue;
		}
		if (vd_strmap_get(&explicit, key->s)) {
			r = vd_yaml_error(y, key, NULL, p->err, "duplicate key '%s'", key->s);
			goto done;
		}
		if (vd_strmap_put(&explicit, key->s, key)) {
			r = oom(p->err);
			goto done;
		}
		total++;
	}
	if (merges && (r = vd_yaml_charge(y, map, total, p->err)))
		goto done;
	map->pairs = vd_yaml_array(y, total, sizeof(vd_yaml_pair));
	if (!map->pairs) {
		r = oom(p->err);
		goto done;
	}
	for (i = 0; i < f->n; i += 2) {
		vd_yaml_node *key = f->items[i], *val = f->items[i + 1];
		size_t nsrc = 1;

		if (!is_merge_key(key)) {
			map->pairs[out].key = key;
			map->pairs[out++].val = val;
			continue;
		}
		if (val->kind == VD_YAML_SEQ)
			nsrc = val->n;
		for (j = 0; j < nsrc; j++) {
			vd_yaml_node *src = val->kind == VD_YAML_SEQ ? val->items[j] : val;

			for (k = 0; k < src->n; k++) {
				const char *name = src->pairs[k].key->s;

				if (vd_strmap_get(&explicit, name) || vd_strmap_get(&seen, name))
					continue;
				if (vd_strmap_put(&seen, name, src->pairs[k].key)) {
					r = oom(p->err);
					goto done;
				}
				map->pairs[out++] = src->pairs[k];
			}
		}
	}
	map->n = out;
done:
	vd_strmap_release(&explicit);
	vd_strmap_release(&seen);
	return r;
}

static int finish_seq(parser *p, frame *f)
{
	vd_yaml_node *seq = f->node;

	seq->items = vd_yaml_array(p->y, f->n, sizeof(vd_yaml_node *));
	if (!seq->items)
		return oom(p->err);
	if (f->n)
		memcpy(seq->items, f->items, f->n * sizeof(vd_yaml_node *));
	seq->n = f->n;
	return 0;
}

/* Attach a finished node to its parent (or make it the root). */
static int attach(parser *p, vd_yaml_node *n)
{
	frame *f;

	if (!p->depth) {
		p->root = n;
		return 0;
	}
	f = &p->stack[p->depth - 1];
	if (f->node->kind == VD_YAML_MAP && f->n % 2 == 0 && n->kind != VD_YAML_STR)
		return vd_yaml_error(p->y, n, NULL, p->err, "mapping keys must be strings");
	return frame_push_item(p, f, n);
}

static int register_anchor(parser *p, struct fy_token *anchor, vd_yaml_node *n)
{
	size_t len = 0;
	const char *t;
	char *name;

	if (!anchor)
		return 0;
	t = fy_token_get_text(anchor, &len);
	if (!t)
		return 0;
	name = vd_yaml_strndup(p->y, t, len);
	if (!name || vd_strmap_put(&p->anchors, name, n))
		return oom(p->err);
	return 0;
}

/* A marker tag (returned), or what the tag says about the type: !!null (or
 * any tag ending in "null") makes a null, any other tag a string. */
static const char *tag_of(parser *p, struct fy_token *tag, bool *is_null, bool *is_str)
{
	const char *const *m = p->y->opts.markers;
	size_t len = 0;
	const char *t = tag ? fy_token_get_text(tag, &len) : NULL;

	*is_null = *is_str = false;
	if (!t)
		return NULL;
	for (; m && *m; m++)
		if (strlen(*m) == len && !memcmp(t, *m, len))
			return *m;
	if (len >= 4 && !memcmp(t + len - 4, "null", 4))
		*is_null = true;
	else
		*is_str = true;
	return NULL;
}

static bool in_key_position(parser *p)
{
	frame *f;

	if (!p->depth)
		return false;
	f = &p->stack[p->depth - 1];
	return f->node->kind == VD_YAML_MAP && f->n % 2 == 0;
}

/* A value through the caller's rewriting function. */
static int rewrite_value(parser *p, vd_yaml_node *n)
{
	vd_yaml *y = p->y;
	int r;

	vd_buf_clear(&y->scratch);
	r = y->opts.value(n->s, y->opts.value_ctx, &y->scratch, p->err);
	if (r == VD_YAML_KEEP)
		return 0;
	if (r)
		return vd_error_prefix(p->err, "%s:%d:%d", vd_yaml_file_name(y, p->file), n->line, n->col);
	n->s = vd_yaml_strdup(y, vd_buf_cstr(&y->scratch));
	n->rewritten = true;
	return n->s ? 0 : oom(p->err);
}

static int on_scalar(parser *p, struct fy_event *e, int line, int col)
{
	vd_yaml *y = p->y;
	size_t len = 0;
	const char *t = fy_token_get_text(e->scalar.value, &len);
	enum fy_scalar_style style = fy_token_scalar_style(e->scalar.value);
	bool plain = style == FYSS_PLAIN, tnull, tstr;
	const char *tag = tag_of(p, e->scalar.tag, &tnull, &tstr);
	vd_yaml_node *n;
	int r;

	if (!t)
		t = "";
	/* libfyaml marks a quoted scalar at its first character: point at the quote */
	if ((style == FYSS_SINGLE_QUOTED || style == FYSS_DOUBLE_QUOTED) && col > 1)
		col--;
	if (memchr(t, '\0', len))
		return parse_err(p, line, col, "NUL character in a string");
	if (in_key_position(p)) {
		n = node_at(y, VD_YAML_STR, p->file, line, col);
		if (!n || !(n->s = vd_yaml_strndup(y, t, len)))
			return oom(p->err);
		n->plain = plain && !tstr;
	} else if (tnull || (plain && !tstr && is_null_literal(t, len))) {
		n = node_at(y, VD_YAML_NULL, p->file, line, col);
		if (!n)
			return oom(p->err);
	} else {
		n = node_at(y, VD_YAML_STR, p->file, line, col);
		if (!n || !(n->s = vd_yaml_strndup(y, t, len)))
			return oom(p->err);
		n->plain = plain && !tstr;
		if (y->opts.value && (r = rewrite_value(p, n)))
			return r;
	}
	n->tag = tag;
	if ((r = register_anchor(p, e->scalar.anchor, n)))
		return r;
	return attach(p, n);
}

static int on_alias(parser *p, struct fy_event *e, int line, int col)
{
	size_t len = 0;
	const char *t = fy_token_get_text(e->alias.anchor, &len);
	char name[256];
	vd_yaml_node *n;

	if (!t || len >= sizeof(name))
		return parse_err(p, line, col, "unknown alias");
	memcpy(name, t, len);
	name[len] = '\0';
	n = vd_strmap_get(&p->anchors, name);
	if (!n)
		return parse_err(p, line, col, "unknown alias '%s'", name);
	return attach(p, n);
}

static int on_start(parser *p, struct fy_event *e, vd_yaml_kind kind, int line, int col)
{
	struct fy_token *anchor = kind == VD_YAML_MAP ? e->mapping_start.anchor : e->sequence_start.anchor;
	struct fy_token *tag = kind == VD_YAML_MAP ? e->mapping_start.tag : e->sequence_start.tag;
	bool tnull, tstr;
	frame *f;
	vd_yaml_node *n;

	if (in_key_position(p))
		return parse_err(p, line, col, "mapping keys must be strings");
	if (p->depth >= VD_YAML_MAX_DEPTH)
		return parse_err(p, line, col, "nesting deeper than %d levels", VD_YAML_MAX_DEPTH);
	n = node_at(p->y, kind, p->file, line, col);
	if (!n)
		return oom(p->err);
	n->tag = tag_of(p, tag, &tnull, &tstr);
	f = &p->stack[p->depth++];
	memset(f, 0, sizeof(*f));
	f->node = n;
	if (anchor) {
		size_t len = 0;
		const char *t = fy_token_get_text(anchor, &len);

		if (t && !(f->anchor = vd_yaml_strndup(p->y, t, len)))
			return oom(p->err);
	}
	return 0;
}

static int on_end(parser *p)
{
	frame *f = &p->stack[p->depth - 1];
	vd_yaml_node *n = f->node;
	int r;

	r = n->kind == VD_YAML_MAP ? finish_map(p, f) : finish_seq(p, f);
	if (!r && f->anchor && vd_strmap_put(&p->anchors, f->anchor, n))
		r = oom(p->err);
	free(f->items);
	f->items = NULL;
	p->depth--;
	if (r)
		return r;
	return attach(p, n);
}

static int syntax_error(parser *p, struct fy_diag *diag)
{
	struct fy_diag_error *de;
	void *it = NULL;
	const char *name = vd_yaml_file_name(p->y, p->file);

	de = diag ? fy_diag_errors_iterate(diag, &it) : NULL;
	if (de)
		return vd_error_set(p->err, VD_EINVAL, "%s:%d:%d: %s", name, de->line, de->column,
				    de->msg ? de->msg : "YAML syntax error");
	return vd_error_set(p->err, VD_EINVAL, "%s: YAML syntax error", name);
}

static int add_file(vd_yaml *y, const char *filename, vd_error *err)
{
	if (y->n_files == y->cap_files) {
		size_t cap = y->cap_files ? y->cap_files * 2 : 4;
		char **files = realloc(y->files, cap * sizeof(*files));

		if (!files)
			return oom(err);
		y->files = files;
		y->cap_files = cap;
	}
	if (y->n_files >= INT32_MAX || !(y->files[y->n_files] = vd_yaml_strdup(y, filename ? filename : "-")))
		return oom(err);
	y->n_files++;
	return 0;
}

static int too_big(const char *name, size_t max, vd_error *err)
{
	if (max % ((size_t)1 << 20) == 0)
		return vd_error_set(err, VD_EINVAL, "%s: file is larger than %zu MiB", name, max >> 20);
	return vd_error_set(err, VD_EINVAL, "%s: file is larger than %zu bytes", name, max);
}

/* The length of the valid UTF-8 prefix of text (len when all of it is).
 * libfyaml loops forever on some invalid sequences (one after a '%'
 * directive), and YAML text must be UTF-8 anyway, as compose requires. */
static size_t utf8_valid_prefix(const unsigned char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned c = s[i];
		size_t n;
		unsigned cp;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			n = 1, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			n = 2, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 3, cp = c & 0x07;
		else
			return i;
		if (len - i <= n)
			return i;
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return i;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		/* overlong, surrogate or beyond U+10FFFF */
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return i;
		i += n + 1;
	}
	return len;
}

int vd_yaml_parse(vd_yaml *y, const char *filename, const char *text, size_t len, vd_yaml_node **out,
		  vd_error *err)
{
	struct fy_diag_cfg dcfg;
	struct fy_diag *diag = NULL;
	struct fy_parser *fyp = NULL;
	struct fy_parse_cfg cfg = { 0 };
	struct fy_event *e = NULL;
	parser p = { .y = y, .err = err, .file = (int)y->n_files };
	size_t bad;
	int r;

	if ((r = add_file(y, filename, err)))
		return r;
	if (len > y->opts.max_file)
		return too_big(y->files[p.file], y->opts.max_file, err);
	if (text && (bad = utf8_valid_prefix((const unsigned char *)text, len)) < len) {
		int line = 1, col = 1;

		for (size_t i = 0; i < bad; i++) {
			if (text[i] == '\n')
				line++, col = 1;
			else if (((unsigned char)text[i] & 0xc0) != 0x80)
				col++;
		}
		return parse_err(&p, line, col, "invalid UTF-8 (YAML must be UTF-8 text)");
	}
	fy_diag_cfg_default(&dcfg);
	dcfg.fp = NULL;
	dcfg.colorize = false;
	diag = fy_diag_create(&dcfg);
	if (!diag)
		return oom(err);
	fy_diag_set_collect_errors(diag, true);
	cfg.flags = FYPCF_QUIET | FYPCF_DEFAULT_VERSION_1_2 | FYPCF_JSON_NONE | FYPCF_DISABLE_RECYCLING;
	cfg.diag = diag;
	fyp = fy_parser_create(&cfg);
	if (!fyp) {
		r = oom(err);
		goto done;
	}
	if (fy_parser_set_string(fyp, text ? text : "", len)) {
		r = oom(err);
		goto done;
	}
	for (;;) {
		const struct fy_mark *m;
		int line = 1, col = 1;

		e = fy_parser_parse(fyp);
		if (!e) {
			if (fy_parser_get_stream_error(fyp) || fy_diag_got_error(diag))
				r = syntax_error(&p, diag);
			break;
		}
		m = fy_event_start_mark(e);
		if (m) {
			line = m->line + 1;
			col = m->column + 1;
		}
		switch (e->type) {
		case FYET_DOCUMENT_START:
			if (++p.docs > 1)
				r = parse_err(&p, line, col, "more than one YAML document in a %s", y->opts.what);
			break;
		case FYET_SCALAR:
			r = on_scalar(&p, e, line, col);
			break;
		case FYET_ALIAS:
			/* marked after the '*': point at it */
			r = on_alias(&p, e, line, col > 1 ? col - 1 : col);
			break;
		case FYET_MAPPING_START:
			r = on_start(&p, e, VD_YAML_MAP, line, col);
			break;
		case FYET_SEQUENCE_START:
			r = on_start(&p, e, VD_YAML_SEQ, line, col);
			break;
		case FYET_MAPPING_END:
		case FYET_SEQUENCE_END:
			r = p.depth ? on_end(&p) : syntax_error(&p, diag);
			break;
		default:
			break;
		}
		fy_parser_event_free(fyp, e);
		e = NULL;
		if (r)
			break;
		if (fy_diag_got_error(diag)) {
			r = syntax_error(&p, diag);
			break;
		}
	}
	if (!r)
		*out = p.root;
done:
	while (p.depth) {
		free(p.stack[p.depth - 1].items);
		p.depth--;
	}
	vd_strmap_release(&p.anchors);
	if (fyp)
		fy_parser_destroy(fyp);
	fy_diag_destroy(diag);
	return r;
}

int vd_yaml_read_file(const char *path, size_t max, vd_buf *out, vd_error *err)
{
	char chunk[65536];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;
	int r = 0;

	if (!max)
		max = VD_YAML_MAX_FILE;
	if (fd < 0)
		return vd_error_set(err, errno == ENOENT ? VD_ENOTFOUND : VD_EIO, "%s: %s", path, strerror(errno));
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = vd_error_set(err, VD_EIO, "%s: %s", path, strerror(errno));
			break;
		}
		if (out->len + (size_t)n > max) {
			r = too_big(path, max, err);
			break;
		}
		if ((r = vd_buf_put(out, chunk, (size_t)n))) {
			r = r == VD_ETOOBIG ? too_big(path, max, err) : oom(err);
			break;
		}
	}
	close(fd);
	return r;
}

/* ------------------------------------------------------------------------
 * A quick look: libfyaml's own document, not the tree above.  What it
 * finds is what the project's name has always been read as (aliases and
 * nulls as their text).  It shares vd_yaml_parse()'s size cap and UTF-8
 * guard (libfyaml loops forever on some invalid text): such a file gives
 * NULL here, and the loader then says what is wrong with it.
 */

char *vd_yaml_peek_scalar(const char *path, const char *key)
{
	struct fy_parse_cfg cfg = { .flags = FYPCF_QUIET };
	struct fy_document *doc = NULL;
	struct fy_node *n;
	vd_buf text = VD_BUF_INIT;
	vd_error err = VD_ERROR_INIT;
	char *at = NULL, *out = NULL;
	const char *v;

	if (asprintf(&at, "/%s", key) < 0)
		return NULL;
	if (!vd_yaml_read_file(path, 0, &text, &err) &&
	    utf8_valid_prefix((const unsigned char *)vd_buf_cstr(&text), text.len) == text.len)
		doc = fy_document_build_from_string(&cfg, vd_buf_cstr(&text), text.len);
	vd_error_release(&err);
	if (doc) {
		n = fy_node_by_path(fy_document_root(doc), at, FY_NT, FYNWF_DONT_FOLLOW);
		if (n && fy_node_is_scalar(n) && (v = fy_node_get_scalar0(n)) && *v)
			out = strdup(v);
		fy_document_destroy(doc);
	}
	vd_buf_release(&text);
	free(at);
	return out;
}
