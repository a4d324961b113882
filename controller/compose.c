#include "controller/compose.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libfyaml.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The bound on what aliases and merge keys can multiply: pair copies,
 * merged pairs and typed list entries all count. */
#define WORK_MAX 20000000UL

/* ------------------------------------------------------------------------
 * Arena: the tree of one load and the model each live in one, so that a
 * half-built model frees in one call and no field needs its own free.
 */

struct chunk {
	struct chunk *next;
	size_t used;
	size_t cap;
	max_align_t data[];
};

typedef struct arena {
	struct chunk *head;
} arena;

static void *ar_alloc(arena *a, size_t n)
{
	struct chunk *c = a->head;
	size_t need = (n + 15) & ~(size_t)15;
	void *p;

	if (need < n)
		return NULL;
	if (!c || c->cap - c->used < need) {
		size_t cap = need > 65536 ? need : 65536;

		c = malloc(sizeof(*c) + cap);
		if (!c)
			return NULL;
		c->cap = cap;
		c->used = 0;
		if (a->head && need > 65536) {
			/* keep filling the current chunk */
			c->next = a->head->next;
			a->head->next = c;
		} else {
			c->next = a->head;
			a->head = c;
		}
	}
	p = (char *)c->data + c->used;
	c->used += need;
	memset(p, 0, n);
	return p;
}

static void *ar_array(arena *a, size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size)
		return NULL;
	return ar_alloc(a, n && size ? n * size : 1);
}

static char *ar_strndup(arena *a, const char *s, size_t n)
{
	char *p = ar_alloc(a, n + 1);

	if (p && n)
		memcpy(p, s, n);
	return p;
}

static char *ar_strdup(arena *a, const char *s)
{
	return s ? ar_strndup(a, s, strlen(s)) : NULL;
}

static char *ar_printf(arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char *ar_printf(arena *a, const char *fmt, ...)
{
	va_list ap;
	char *tmp = NULL, *out;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&tmp, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	out = ar_strndup(a, tmp, (size_t)n);
	free(tmp);
	return out;
}

static void ar_release(arena *a)
{
	struct chunk *c = a->head, *next;

	for (; c; c = next) {
		next = c->next;
		free(c);
	}
	a->head = NULL;
}

/* ------------------------------------------------------------------------
 * A string → pointer hash table (anchors, keys of a mapping being built).
 */

typedef struct strmap {
	const char **keys;
	void **vals;
	size_t cap;
	size_t len;
} strmap;

static size_t str_hash(const char *s)
{
	size_t h = 1469598103934665603ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static int strmap_grow(strmap *m)
{
	size_t cap = m->cap ? m->cap * 2 : 16, i;
	const char **keys = calloc(cap, sizeof(*keys));
	void **vals = calloc(cap, sizeof(*vals));

	if (!keys || !vals) {
		free(keys);
		free(vals);
		return VD_ENOMEM;
	}
	for (i = 0; i < m->cap; i++) {
		size_t j;

		if (!m->keys[i])
			continue;
		for (j = str_hash(m->keys[i]) & (cap - 1); keys[j]; j = (j + 1) & (cap - 1))
			;
		keys[j] = m->keys[i];
		vals[j] = m->vals[i];
	}
	free(m->keys);
	free(m->vals);
	m->keys = keys;
	m->vals = vals;
	m->cap = cap;
	return 0;
}

static void **strmap_slot(strmap *m, const char *key, bool *found)
{
	size_t j;

	*found = false;
	if (!m->cap)
		return NULL;
	for (j = str_hash(key) & (m->cap - 1); m->keys[j]; j = (j + 1) & (m->cap - 1))
		if (!strcmp(m->keys[j], key)) {
			*found = true;
			return &m->vals[j];
		}
	return &m->vals[j];
}

static void *strmap_get(strmap *m, const char *key)
{
	bool found;
	void **v = strmap_slot(m, key, &found);

	return found ? *v : NULL;
}

/* Set (replace) key → val; the key string must outlive the map. */
static int strmap_put(strmap *m, const char *key, void *val)
{
	bool found;
	void **v;

	if ((m->len + 1) * 2 > m->cap && strmap_grow(m))
		return VD_ENOMEM;
	v = strmap_slot(m, key, &found);
	if (!found) {
		m->keys[v - m->vals] = key;
		m->len++;
	}
	*v = val;
	return 0;
}

static void strmap_release(strmap *m)
{
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof(*m));
}

/* ------------------------------------------------------------------------
 * The tree: what a compose file says, with the place of every node.
 */

enum ykind { Y_NULL, Y_STR, Y_SEQ, Y_MAP };
enum ytag { T_NONE, T_RESET, T_OVERRIDE };

typedef struct ynode ynode;

typedef struct ypair {
	ynode *key;
	ynode *val;
} ypair;

struct ynode {
	enum ykind kind;
	enum ytag tag;
	bool plain;          /* a plain (unquoted) scalar */
	int file;
	int line;
	int col;
	char *s;             /* Y_STR */
	size_t n;            /* items of Y_SEQ, pairs of Y_MAP */
	ynode **items;
	ypair *pairs;
};

typedef struct loadctx {
	arena tree;          /* the trees, freed at the end of the load */
	arena *m;            /* the model's arena */
	vd_compose *c;
	const vd_compose_options *opts;
	const char **files;  /* names, for messages */
	unsigned long work;
	vd_error *err;
	vd_buf scratch;
} loadctx;

static int oom(loadctx *lc)
{
	return vd_error_set(lc->err, VD_ENOMEM, "out of memory");
}

static int err_at(loadctx *lc, const ynode *n, const char *where, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int err_at(loadctx *lc, const ynode *n, const char *where, const char *fmt, ...)
{
	char *msg = NULL;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (r < 0)
		return oom(lc);
	if (where)
		vd_error_set(lc->err, VD_EINVAL, "%s:%d:%d: %s: %s", lc->files[n->file], n->line, n->col,
			     where, msg);
	else
		vd_error_set(lc->err, VD_EINVAL, "%s:%d:%d: %s", lc->files[n->file], n->line, n->col, msg);
	free(msg);
	return VD_EINVAL;
}

static int charge(loadctx *lc, const ynode *n, unsigned long units)
{
	lc->work += units;
	if (lc->work > WORK_MAX)
		return err_at(lc, n, NULL, "aliases expand to too much content");
	return 0;
}

static ynode *ynew(loadctx *lc, enum ykind kind, int file, int line, int col)
{
	ynode *n = ar_alloc(&lc->tree, sizeof(*n));

	if (!n)
		return NULL;
	n->kind = kind;
	n->file = file;
	n->line = line;
	n->col = col;
	return n;
}

static ynode *map_get(const ynode *map, const char *key)
{
	size_t i;

	if (!map || map->kind != Y_MAP)
		return NULL;
	for (i = 0; i < map->n; i++)
		if (!strcmp(map->pairs[i].key->s, key))
			return map->pairs[i].val;
	return NULL;
}

/* ------------------------------------------------------------------------
 * Parsing: libfyaml events into the tree.  Working from events (not
 * libfyaml's document) gives every node its position and lets aliases stay
 * shared instead of being copied, which bounds what an alias bomb costs.
 */

typedef struct frame {
	ynode *node;
	char *anchor;        /* to register when the collection ends */
	ynode **items;       /* seq items, or key, value, key, value... for maps */
	size_t n;
	size_t cap;
} frame;

typedef struct parser {
	loadctx *lc;
	int file;
	frame stack[VD_COMPOSE_MAX_DEPTH + 1];
	size_t depth;
	strmap anchors;
	ynode *root;
	int docs;
} parser;

static const char *null_lookup(const char *name, void *ctx)
{
	return NULL;
}

static int frame_push_item(parser *p, frame *f, ynode *n)
{
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 8;
		ynode **items = realloc(f->items, cap * sizeof(*items));

		if (!items)
			return oom(p->lc);
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

static bool is_merge_key(const ynode *k)
{
	return k->kind == Y_STR && k->plain && !strcmp(k->s, "<<");
}

/* Finish a mapping: duplicate keys are errors; `<<` entries bring in the
 * pairs of the mapping(s) they name that the mapping does not set itself. */
static int finish_map(parser *p, frame *f)
{
	loadctx *lc = p->lc;
	ynode *map = f->node;
	strmap explicit = { 0 }, seen = { 0 };
	size_t i, j, k, total = 0, out = 0;
	bool merges = false;
	int r = 0;

	if (f->n % 2)
		return err_at(lc, map, NULL, "mapping without a value for its last key");
	for (i = 0; i < f->n; i += 2) {
		ynode *key = f->items[i], *val = f->items[i + 1];

		if (is_merge_key(key)) {
			if (val->kind == Y_MAP) {
				total += val->n;
			} else if (val->kind == Y_SEQ) {
				for (j = 0; j < val->n; j++) {
					if (val->items[j]->kind != Y_MAP) {
						r = err_at(lc, val->items[j], NULL,
							   "a '<<' merge key needs a mapping or a list of mappings");
						goto done;
					}
					total += val->items[j]->n;
				}
			} else {
				r = err_at(lc, val, NULL, "a '<<' merge key needs a mapping or a list of mappings");
				goto done;
			}
			merges = true;
			continue;
		}
		if (strmap_get(&explicit, key->s)) {
			r = err_at(lc, key, NULL, "duplicate key '%s'", key->s);
			goto done;
		}
		if (strmap_put(&explicit, key->s, key)) {
			r = oom(lc);
			goto done;
		}
		total++;
	}
	if (merges && (r = charge(lc, map, total)))
		goto done;
	map->pairs = ar_array(&lc->tree, total, sizeof(ypair));
	if (!map->pairs) {
		r = oom(lc);
		goto done;
	}
	for (i = 0; i < f->n; i += 2) {
		ynode *key = f->items[i], *val = f->items[i + 1];
		size_t nsrc = 1;

		if (!is_merge_key(key)) {
			map->pairs[out].key = key;
			map->pairs[out++].val = val;
			continue;
		}
		if (val->kind == Y_SEQ)
			nsrc = val->n;
		for (j = 0; j < nsrc; j++) {
			ynode *src = val->kind == Y_SEQ ? val->items[j] : val;

			for (k = 0; k < src->n; k++) {
				const char *name = src->pairs[k].key->s;

				if (strmap_get(&explicit, name) || strmap_get(&seen, name))
					continue;
				if (strmap_put(&seen, name, src->pairs[k].key)) {
					r = oom(lc);
					goto done;
				}
				map->pairs[out++] = src->pairs[k];
			}
		}
	}
	map->n = out;
done:
	strmap_release(&explicit);
	strmap_release(&seen);
	return r;
}

static int finish_seq(parser *p, frame *f)
{
	ynode *seq = f->node;

	seq->items = ar_array(&p->lc->tree, f->n, sizeof(ynode *));
	if (!seq->items)
		return oom(p->lc);
	if (f->n)
		memcpy(seq->items, f->items, f->n * sizeof(ynode *));
	seq->n = f->n;
	return 0;
}

/* Attach a finished node to its parent (or make it the root). */
static int attach(parser *p, ynode *n)
{
	frame *f;

	if (!p->depth) {
		p->root = n;
		return 0;
	}
	f = &p->stack[p->depth - 1];
	if (f->node->kind == Y_MAP && f->n % 2 == 0 && n->kind != Y_STR)
		return err_at(p->lc, n, NULL, "mapping keys must be strings");
	return frame_push_item(p, f, n);
}

static int register_anchor(parser *p, struct fy_token *anchor, ynode *n)
{
	size_t len = 0;
	const char *t;
	char *name;

	if (!anchor)
		return 0;
	t = fy_token_get_text(anchor, &len);
	if (!t)
		return 0;
	name = ar_strndup(&p->lc->tree, t, len);
	if (!name || strmap_put(&p->anchors, name, n))
		return oom(p->lc);
	return 0;
}

static enum ytag tag_of(struct fy_token *tag, bool *is_null, bool *is_str)
{
	size_t len = 0;
	const char *t = tag ? fy_token_get_text(tag, &len) : NULL;

	*is_null = *is_str = false;
	if (!t)
		return T_NONE;
	if (len == 6 && !memcmp(t, "!reset", 6))
		return T_RESET;
	if (len == 9 && !memcmp(t, "!override", 9))
		return T_OVERRIDE;
	if (len >= 4 && !memcmp(t + len - 4, "null", 4))
		*is_null = true;
	else
		*is_str = true;
	return T_NONE;
}

static bool in_key_position(parser *p)
{
	frame *f;

	if (!p->depth)
		return false;
	f = &p->stack[p->depth - 1];
	return f->node->kind == Y_MAP && f->n % 2 == 0;
}

static int on_scalar(parser *p, struct fy_event *e, int line, int col)
{
	loadctx *lc = p->lc;
	size_t len = 0;
	const char *t = fy_token_get_text(e->scalar.value, &len);
	enum fy_scalar_style style = fy_token_scalar_style(e->scalar.value);
	bool plain = style == FYSS_PLAIN, tnull, tstr;
	enum ytag tag = tag_of(e->scalar.tag, &tnull, &tstr);
	ynode *n;
	int r;

	if (!t)
		t = "";
	/* libfyaml marks a quoted scalar at its first character: point at the quote */
	if ((style == FYSS_SINGLE_QUOTED || style == FYSS_DOUBLE_QUOTED) && col > 1)
		col--;
	if (memchr(t, '\0', len))
		return err_at(lc, &(ynode){ .file = p->file, .line = line, .col = col }, NULL,
			      "NUL character in a string");
	if (in_key_position(p)) {
		n = ynew(lc, Y_STR, p->file, line, col);
		if (!n || !(n->s = ar_strndup(&lc->tree, t, len)))
			return oom(lc);
		n->plain = plain && !tstr;
	} else if (tnull || (plain && !tstr && is_null_literal(t, len))) {
		n = ynew(lc, Y_NULL, p->file, line, col);
		if (!n)
			return oom(lc);
	} else {
		n = ynew(lc, Y_STR, p->file, line, col);
		if (!n || !(n->s = ar_strndup(&lc->tree, t, len)))
			return oom(lc);
		n->plain = plain && !tstr;
		if (memchr(n->s, '$', len)) {
			vd_buf_clear(&lc->scratch);
			r = vd_interpolate(n->s, lc->opts->lookup ? lc->opts->lookup : null_lookup,
					   lc->opts->lookup_ctx, &lc->scratch, NULL, lc->err);
			if (r)
				return vd_error_prefix(lc->err, "%s:%d:%d", lc->files[p->file], line, col);
			n->s = ar_strdup(&lc->tree, vd_buf_cstr(&lc->scratch));
			if (!n->s)
				return oom(lc);
		}
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
	ynode *n;

	if (!t || len >= sizeof(name))
		return err_at(p->lc, &(ynode){ .file = p->file, .line = line, .col = col }, NULL,
			      "unknown alias");
	memcpy(name, t, len);
	name[len] = '\0';
	n = strmap_get(&p->anchors, name);
	if (!n)
		return err_at(p->lc, &(ynode){ .file = p->file, .line = line, .col = col }, NULL,
			      "unknown alias '%s'", name);
	return attach(p, n);
}

static int on_start(parser *p, struct fy_event *e, enum ykind kind, int line, int col)
{
	loadctx *lc = p->lc;
	struct fy_token *anchor = kind == Y_MAP ? e->mapping_start.anchor : e->sequence_start.anchor;
	struct fy_token *tag = kind == Y_MAP ? e->mapping_start.tag : e->sequence_start.tag;
	bool tnull, tstr;
	frame *f;
	ynode *n;

	if (in_key_position(p))
		return err_at(lc, &(ynode){ .file = p->file, .line = line, .col = col }, NULL,
			      "mapping keys must be strings");
	if (p->depth >= VD_COMPOSE_MAX_DEPTH)
		return err_at(lc, &(ynode){ .file = p->file, .line = line, .col = col }, NULL,
			      "nesting deeper than %d levels", VD_COMPOSE_MAX_DEPTH);
	n = ynew(lc, kind, p->file, line, col);
	if (!n)
		return oom(lc);
	n->tag = tag_of(tag, &tnull, &tstr);
	f = &p->stack[p->depth++];
	memset(f, 0, sizeof(*f));
	f->node = n;
	if (anchor) {
		size_t len = 0;
		const char *t = fy_token_get_text(anchor, &len);

		if (t && !(f->anchor = ar_strndup(&lc->tree, t, len)))
			return oom(lc);
	}
	return 0;
}

static int on_end(parser *p)
{
	frame *f = &p->stack[p->depth - 1];
	ynode *n = f->node;
	int r;

	r = n->kind == Y_MAP ? finish_map(p, f) : finish_seq(p, f);
	if (!r && f->anchor && strmap_put(&p->anchors, f->anchor, n))
		r = oom(p->lc);
	free(f->items);
	f->items = NULL;
	p->depth--;
	if (r)
		return r;
	return attach(p, n);
}

static int parse_error(parser *p, struct fy_diag *diag)
{
	struct fy_diag_error *de;
	void *it = NULL;

	de = diag ? fy_diag_errors_iterate(diag, &it) : NULL;
	if (de)
		return vd_error_set(p->lc->err, VD_EINVAL, "%s:%d:%d: %s", p->lc->files[p->file],
				    de->line, de->column, de->msg ? de->msg : "YAML syntax error");
	return vd_error_set(p->lc->err, VD_EINVAL, "%s: YAML syntax error", p->lc->files[p->file]);
}

/* Parse one file into *out (NULL for an empty document). */
static int parse_file(loadctx *lc, int file, const char *text, size_t len, ynode **out)
{
	struct fy_diag_cfg dcfg;
	struct fy_diag *diag = NULL;
	struct fy_parser *fyp = NULL;
	struct fy_parse_cfg cfg = { 0 };
	struct fy_event *e = NULL;
	parser p = { .lc = lc, .file = file };
	int r = 0;

	if (len > VD_COMPOSE_MAX_FILE)
		return vd_error_set(lc->err, VD_EINVAL, "%s: file is larger than 16 MiB", lc->files[file]);
	fy_diag_cfg_default(&dcfg);
	dcfg.fp = NULL;
	dcfg.colorize = false;
	diag = fy_diag_create(&dcfg);
	if (!diag)
		return oom(lc);
	fy_diag_set_collect_errors(diag, true);
	cfg.flags = FYPCF_QUIET | FYPCF_DEFAULT_VERSION_1_2 | FYPCF_JSON_NONE | FYPCF_DISABLE_RECYCLING;
	cfg.diag = diag;
	fyp = fy_parser_create(&cfg);
	if (!fyp) {
		r = oom(lc);
		goto done;
	}
	if (fy_parser_set_string(fyp, text ? text : "", len)) {
		r = oom(lc);
		goto done;
	}
	for (;;) {
		const struct fy_mark *m;
		int line = 1, col = 1;

		e = fy_parser_parse(fyp);
		if (!e) {
			if (fy_parser_get_stream_error(fyp) || fy_diag_got_error(diag))
				r = parse_error(&p, diag);
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
				r = vd_error_set(lc->err, VD_EINVAL,
						 "%s:%d:%d: more than one YAML document in a compose file",
						 lc->files[file], line, col);
			break;
		case FYET_SCALAR:
			r = on_scalar(&p, e, line, col);
			break;
		case FYET_ALIAS:
			/* marked after the '*': point at it */
			r = on_alias(&p, e, line, col > 1 ? col - 1 : col);
			break;
		case FYET_MAPPING_START:
			r = on_start(&p, e, Y_MAP, line, col);
			break;
		case FYET_SEQUENCE_START:
			r = on_start(&p, e, Y_SEQ, line, col);
			break;
		case FYET_MAPPING_END:
		case FYET_SEQUENCE_END:
			r = p.depth ? on_end(&p) : parse_error(&p, diag);
			break;
		default:
			break;
		}
		fy_parser_event_free(fyp, e);
		e = NULL;
		if (r)
			break;
		if (fy_diag_got_error(diag)) {
			r = parse_error(&p, diag);
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
	strmap_release(&p.anchors);
	if (fyp)
		fy_parser_destroy(fyp);
	fy_diag_destroy(diag);
	return r;
}

/* ------------------------------------------------------------------------
 * Per-file normalisation: the list forms of mapping-like keys become
 * mappings (so that merging by key works), strings that stand for a list of
 * one become that list, x-* extensions are dropped.  Nodes may be shared
 * through aliases: everything changed is a new node.
 */

static bool is_ext(const char *key)
{
	return key[0] == 'x' && key[1] == '-';
}

static ynode *copy_map(loadctx *lc, const ynode *src, size_t cap)
{
	ynode *n = ynew(lc, Y_MAP, src->file, src->line, src->col);

	if (!n || !(n->pairs = ar_array(&lc->tree, cap, sizeof(ypair))))
		return NULL;
	n->tag = src->tag;
	return n;
}

static int map_set(loadctx *lc, ynode *map, strmap *idx, ynode *key, ynode *val)
{
	ypair *at = strmap_get(idx, key->s);

	if (at) {
		at->val = val;
		return 0;
	}
	map->pairs[map->n].key = key;
	map->pairs[map->n].val = val;
	if (strmap_put(idx, key->s, &map->pairs[map->n]))
		return oom(lc);
	map->n++;
	return 0;
}

enum split_mode { SPLIT_EQ, SPLIT_HOST, SPLIT_NONE };

/* A list of "KEY=VALUE" / "KEY" (SPLIT_EQ), "HOST:IP" / "HOST=IP"
 * (SPLIT_HOST) or "NAME" (SPLIT_NONE) strings as a mapping; a later entry
 * with the same key replaces an earlier one in place. */
static int list_to_map(loadctx *lc, const ynode *seq, const char *where, const char *key,
		       enum split_mode mode, ynode **out)
{
	strmap idx = { 0 };
	ynode *map;
	size_t i;
	int r = 0;

	if ((r = charge(lc, seq, seq->n)))
		return r;
	map = copy_map(lc, seq, seq->n);
	if (!map)
		return oom(lc);
	for (i = 0; i < seq->n; i++) {
		const ynode *it = seq->items[i];
		const char *s, *sep = NULL;
		ynode *k, *v;

		if (it->kind != Y_STR) {
			r = err_at(lc, it, where, "'%s' entries must be strings", key);
			goto done;
		}
		s = it->s;
		if (mode == SPLIT_EQ) {
			sep = strchr(s, '=');
		} else if (mode == SPLIT_HOST) {
			sep = strchr(s, '=');
			if (!sep)
				sep = strchr(s, ':');
			if (!sep) {
				r = err_at(lc, it, where, "invalid %s entry '%s' (want HOST:IP)", key, s);
				goto done;
			}
		}
		k = ynew(lc, Y_STR, it->file, it->line, it->col);
		v = ynew(lc, sep ? Y_STR : Y_NULL, it->file, it->line, it->col);
		if (!k || !v || !(k->s = ar_strndup(&lc->tree, s, sep ? (size_t)(sep - s) : strlen(s))) ||
		    (sep && !(v->s = ar_strdup(&lc->tree, sep + 1)))) {
			r = oom(lc);
			goto done;
		}
		if (!k->s[0]) {
			r = err_at(lc, it, where, "invalid %s entry '%s'", key, s);
			goto done;
		}
		if ((r = map_set(lc, map, &idx, k, v)))
			goto done;
	}
	*out = map;
done:
	strmap_release(&idx);
	return r;
}

static int str_to_list(loadctx *lc, ynode *s, ynode **out)
{
	ynode *seq = ynew(lc, Y_SEQ, s->file, s->line, s->col);

	if (!seq || !(seq->items = ar_array(&lc->tree, 1, sizeof(ynode *))))
		return oom(lc);
	seq->items[0] = s;
	seq->n = 1;
	*out = seq;
	return 0;
}

/* Normalise the value of a list-or-mapping key in place in the pair. */
static int norm_mapping(loadctx *lc, ypair *p, const char *where, enum split_mode mode)
{
	if (p->val->kind == Y_SEQ)
		return list_to_map(lc, p->val, where, p->key->s, mode, &p->val);
	return 0;
}

static int norm_string_list(loadctx *lc, ypair *p)
{
	if (p->val->kind == Y_STR)
		return str_to_list(lc, p->val, &p->val);
	return 0;
}

/* A mapping copied without its x-* keys, ready to have pair values
 * replaced. */
static int strip_ext(loadctx *lc, const ynode *src, ynode **out)
{
	ynode *n = copy_map(lc, src, src->n);
	size_t i;

	if (!n)
		return oom(lc);
	for (i = 0; i < src->n; i++)
		if (!is_ext(src->pairs[i].key->s))
			n->pairs[n->n++] = src->pairs[i];
	*out = n;
	return 0;
}

static int norm_build(loadctx *lc, ypair *p, const char *where)
{
	ynode *b;
	size_t i;
	int r;

	if (p->val->kind == Y_STR) {
		ynode *k = ynew(lc, Y_STR, p->val->file, p->val->line, p->val->col);

		b = ynew(lc, Y_MAP, p->val->file, p->val->line, p->val->col);
		if (!k || !b || !(b->pairs = ar_array(&lc->tree, 1, sizeof(ypair))) ||
		    !(k->s = ar_strdup(&lc->tree, "context")))
			return oom(lc);
		b->pairs[0].key = k;
		b->pairs[0].val = p->val;
		b->n = 1;
		p->val = b;
		return 0;
	}
	if (p->val->kind != Y_MAP)
		return 0;
	if ((r = strip_ext(lc, p->val, &b)))
		return r;
	for (i = 0; i < b->n; i++) {
		const char *k = b->pairs[i].key->s;

		if (!strcmp(k, "args") || !strcmp(k, "labels")) {
			if ((r = norm_mapping(lc, &b->pairs[i], where, SPLIT_EQ)))
				return r;
		} else if (!strcmp(k, "cache_from")) {
			if ((r = norm_string_list(lc, &b->pairs[i])))
				return r;
		}
	}
	p->val = b;
	return 0;
}

static int norm_service(loadctx *lc, ypair *sp)
{
	const char *where;
	ynode *svc;
	size_t i;
	int r;

	if (sp->val->kind != Y_MAP)
		return 0;
	where = ar_printf(&lc->tree, "service '%s'", sp->key->s);
	if (!where)
		return oom(lc);
	if ((r = strip_ext(lc, sp->val, &svc)))
		return r;
	for (i = 0; i < svc->n && !r; i++) {
		ypair *p = &svc->pairs[i];
		const char *k = p->key->s;

		if (!strcmp(k, "environment") || !strcmp(k, "labels") || !strcmp(k, "sysctls"))
			r = norm_mapping(lc, p, where, SPLIT_EQ);
		else if (!strcmp(k, "extra_hosts"))
			r = norm_mapping(lc, p, where, SPLIT_HOST);
		else if (!strcmp(k, "networks") || !strcmp(k, "depends_on"))
			r = norm_mapping(lc, p, where, SPLIT_NONE);
		else if (!strcmp(k, "dns") || !strcmp(k, "tmpfs") || !strcmp(k, "env_file"))
			r = norm_string_list(lc, p);
		else if (!strcmp(k, "build"))
			r = norm_build(lc, p, where);
	}
	sp->val = svc;
	return r;
}

static int norm_resource(loadctx *lc, ypair *rp, const char *kind)
{
	const char *where;
	ynode *res;
	size_t i;
	int r;

	if (rp->val->kind != Y_MAP)
		return 0;
	where = ar_printf(&lc->tree, "%s '%s'", kind, rp->key->s);
	if (!where)
		return oom(lc);
	if ((r = strip_ext(lc, rp->val, &res)))
		return r;
	for (i = 0; i < res->n; i++)
		if (!strcmp(res->pairs[i].key->s, "labels") &&
		    (r = norm_mapping(lc, &res->pairs[i], where, SPLIT_EQ)))
			return r;
	rp->val = res;
	return 0;
}

static int normalise(loadctx *lc, ynode *doc, ynode **out)
{
	ynode *root;
	size_t i, j;
	int r;

	if ((r = strip_ext(lc, doc, &root)))
		return r;
	for (i = 0; i < root->n; i++) {
		ypair *p = &root->pairs[i];
		const char *k = p->key->s;
		ynode *m;

		if (p->val->kind != Y_MAP)
			continue;
		if (!strcmp(k, "services") || !strcmp(k, "networks") || !strcmp(k, "volumes")) {
			if ((r = strip_ext(lc, p->val, &m)))
				return r;
			p->val = m;
			for (j = 0; j < m->n; j++) {
				if (!strcmp(k, "services"))
					r = norm_service(lc, &m->pairs[j]);
				else
					r = norm_resource(lc, &m->pairs[j], !strcmp(k, "networks") ? "network" : "volume");
				if (r)
					return r;
			}
		}
	}
	*out = root;
	return 0;
}

/* ------------------------------------------------------------------------
 * Merging override files, as compose-go's override package does.
 */

enum level { L_ROOT, L_SERVICES, L_SERVICE, L_HEALTH, L_GENERIC };

static int merge_value(loadctx *lc, ynode *a, ynode *b, enum level lv, int depth, ynode **out);

static int merge_map(loadctx *lc, ynode *a, ynode *b, enum level lv, int depth, ynode **out)
{
	strmap idx = { 0 };
	ynode *m;
	size_t i;
	int r = 0;

	if (depth > VD_COMPOSE_MAX_DEPTH + 2)
		return err_at(lc, b, NULL, "nesting deeper than %d levels", VD_COMPOSE_MAX_DEPTH);
	if ((r = charge(lc, b, a->n + b->n)))
		return r;
	m = copy_map(lc, a, a->n + b->n);
	if (!m)
		return oom(lc);
	for (i = 0; i < a->n; i++)
		if ((r = map_set(lc, m, &idx, a->pairs[i].key, a->pairs[i].val)))
			goto done;
	for (i = 0; i < b->n; i++) {
		ynode *key = b->pairs[i].key, *val = b->pairs[i].val, *merged = val;
		ypair *at = strmap_get(&idx, key->s);
		enum level sub = L_GENERIC;
		const char *k = key->s;

		if (at && val->tag != T_OVERRIDE && val->tag != T_RESET) {
			bool replace = false;

			if (lv == L_ROOT && !strcmp(k, "services"))
				sub = L_SERVICES;
			else if (lv == L_SERVICES)
				sub = L_SERVICE;
			else if (lv == L_SERVICE && !strcmp(k, "healthcheck"))
				sub = L_HEALTH;
			if (lv == L_SERVICE && (!strcmp(k, "command") || !strcmp(k, "entrypoint")))
				replace = true;
			if (lv == L_HEALTH && !strcmp(k, "test"))
				replace = true;
			if (lv == L_SERVICE && !strcmp(k, "logging")) {
				ynode *da = map_get(at->val, "driver"), *db = map_get(val, "driver");

				if (da && db && da->kind == Y_STR && db->kind == Y_STR && strcmp(da->s, db->s))
					replace = true;
			}
			if (!replace && (r = merge_value(lc, at->val, val, sub, depth + 1, &merged)))
				goto done;
		}
		if ((r = map_set(lc, m, &idx, key, merged)))
			goto done;
	}
	*out = m;
done:
	strmap_release(&idx);
	return r;
}

static int merge_value(loadctx *lc, ynode *a, ynode *b, enum level lv, int depth, ynode **out)
{
	ynode *s;

	if (a->kind == Y_MAP && b->kind == Y_MAP)
		return merge_map(lc, a, b, lv, depth, out);
	if (a->kind == Y_SEQ && b->kind == Y_SEQ) {
		int r = charge(lc, b, a->n + b->n);

		if (r)
			return r;
		s = ynew(lc, Y_SEQ, b->file, b->line, b->col);
		if (!s || !(s->items = ar_array(&lc->tree, a->n + b->n, sizeof(ynode *))))
			return oom(lc);
		if (a->n)
			memcpy(s->items, a->items, a->n * sizeof(ynode *));
		if (b->n)
			memcpy(s->items + a->n, b->items, b->n * sizeof(ynode *));
		s->n = a->n + b->n;
		*out = s;
		return 0;
	}
	*out = b;
	return 0;
}

/* ------------------------------------------------------------------------
 * Scalars: durations, byte sizes, numbers, booleans, words.
 */

int vd_compose_parse_duration(const char *s, int64_t *out)
{
	static const struct { const char *u; double ns; } units[] = {
		{ "ns", 1 }, { "us", 1e3 }, { "\xc2\xb5s", 1e3 }, { "\xce\xbcs", 1e3 },
		{ "ms", 1e6 }, { "s", 1e9 }, { "m", 60e9 }, { "h", 3600e9 },
	};
	const char *p = s;
	double total = 0;

	if (!s || !*s)
		return VD_EINVAL;
	if (*p == '+')
		p++;
	if (!strcmp(p, "0")) {
		*out = 0;
		return 0;
	}
	if (!*p)
		return VD_EINVAL;
	while (*p) {
		double v = 0, scale = 1;
		bool digits = false;
		size_t i, best = 0, blen = 0;

		while (isdigit((unsigned char)*p)) {
			v = v * 10 + (*p++ - '0');
			digits = true;
			if (v > 1e19)
				return VD_EINVAL;
		}
		if (*p == '.') {
			p++;
			while (isdigit((unsigned char)*p)) {
				scale /= 10;
				v += (*p++ - '0') * scale;
				digits = true;
			}
		}
		if (!digits)
			return VD_EINVAL;
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			size_t l = strlen(units[i].u);

			if (!strncmp(p, units[i].u, l) && l > blen) {
				best = i;
				blen = l;
			}
		}
		if (!blen)
			return VD_EINVAL;
		p += blen;
		total += v * units[best].ns;
		if (total > 9.2e18)
			return VD_EINVAL;
	}
	*out = (int64_t)total;
	return 0;
}

int vd_compose_parse_bytes(const char *s, int64_t *out)
{
	const char *p = s;
	double v = 0, scale = 1, mul = 1;
	bool digits = false;

	if (!s)
		return VD_EINVAL;
	while (isdigit((unsigned char)*p)) {
		v = v * 10 + (*p++ - '0');
		digits = true;
		if (v > 1e19)
			return VD_EINVAL;
	}
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return VD_EINVAL;
		while (isdigit((unsigned char)*p)) {
			scale /= 10;
			v += (*p++ - '0') * scale;
		}
	}
	if (!digits)
		return VD_EINVAL;
	if (*p == ' ')
		p++;
	switch (tolower((unsigned char)*p)) {
	case 'k': mul = 1024.0; break;
	case 'm': mul = 1024.0 * 1024; break;
	case 'g': mul = 1024.0 * 1024 * 1024; break;
	case 't': mul = 1024.0 * 1024 * 1024 * 1024; break;
	case 'p': mul = 1024.0 * 1024 * 1024 * 1024 * 1024; break;
	default: mul = 0; break;
	}
	if (mul)
		p++;
	else
		mul = 1;
	if (mul > 1 && (*p == 'i' || *p == 'I'))
		p++;
	if (*p == 'b' || *p == 'B')
		p++;
	if (*p || v * mul > 9.2e18)
		return VD_EINVAL;
	*out = (int64_t)(v * mul);
	return 0;
}

static int parse_int(const char *s, int64_t min, int64_t max, int64_t *out)
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

static int parse_bool(const char *s, bool *out)
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

static void free_words(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

int vd_compose_split_words(const char *s, char ***out, size_t *n_out)
{
	vd_buf w = VD_BUF_INIT;
	char **v = NULL, **nv;
	size_t n = 0;
	bool sq = false, dq = false, esc = false, got = false;
	int r = 0;

	for (;; s++) {
		char c = *s;

		if (c && esc) {
			esc = false;
			got = true;
			if ((r = vd_buf_putc(&w, c)))
				goto done;
			continue;
		}
		if (c == '\\' && !sq) {
			esc = true;
			continue;
		}
		if (!c || ((c == ' ' || c == '\t' || c == '\n' || c == '\r') && !sq && !dq)) {
			if (!c && (sq || dq || esc)) {
				r = VD_EINVAL;
				goto done;
			}
			if (got) {
				nv = realloc(v, (n + 1) * sizeof(*v));
				if (!nv) {
					r = VD_ENOMEM;
					goto done;
				}
				v = nv;
				if (!(v[n] = strdup(vd_buf_cstr(&w)))) {
					r = VD_ENOMEM;
					goto done;
				}
				n++;
				vd_buf_clear(&w);
				got = false;
			}
			if (!c)
				break;
			continue;
		}
		if (c == '"' && !sq) {
			dq = !dq;
			got = true;
			continue;
		}
		if (c == '\'' && !dq) {
			sq = !sq;
			got = true;
			continue;
		}
		got = true;
		if ((r = vd_buf_putc(&w, c)))
			goto done;
	}
	*out = v;
	*n_out = n;
	v = NULL;
	n = 0;
done:
	free_words(v, n);
	vd_buf_release(&w);
	return r;
}

/* ------------------------------------------------------------------------
 * Typing: the merged tree into the model.  `where` names the thing being
 * read in messages ("service 'app'", "service 'app': build").
 */

static bool skip(const ypair *p)
{
	return p->val->tag == T_RESET;
}

static char *mdup(loadctx *lc, const char *s)
{
	return ar_strdup(lc->m, s);
}

static int t_str(loadctx *lc, const ynode *v, const char *where, const char *key, char **out)
{
	if (v->kind == Y_NULL) {
		*out = NULL;
		return 0;
	}
	if (v->kind != Y_STR)
		return err_at(lc, v, where, "'%s' must be a string", key);
	if (!(*out = mdup(lc, v->s)))
		return oom(lc);
	return 0;
}

static int t_bool(loadctx *lc, const ynode *v, const char *where, const char *key, bool *out)
{
	if (v->kind == Y_NULL)
		return 0;
	if (v->kind != Y_STR || parse_bool(v->s, out))
		return err_at(lc, v, where, "'%s' must be a boolean", key);
	return 0;
}

static int t_int(loadctx *lc, const ynode *v, const char *where, const char *key, int64_t min, int64_t *out)
{
	if (v->kind == Y_NULL)
		return 0;
	if (v->kind != Y_STR || parse_int(v->s, min, INT64_MAX, out))
		return err_at(lc, v, where, "'%s' must be an integer%s", key, min >= 0 ? " >= 0" : "");
	return 0;
}

static int t_duration(loadctx *lc, const ynode *v, const char *where, const char *key, int64_t *out)
{
	if (v->kind == Y_NULL)
		return 0;
	if (v->kind != Y_STR)
		return err_at(lc, v, where, "'%s' must be a duration string", key);
	if (vd_compose_parse_duration(v->s, out))
		return err_at(lc, v, where, "'%s': invalid duration '%s'", key, v->s);
	return 0;
}

static int t_bytes(loadctx *lc, const ynode *v, const char *where, const char *key, int64_t *out)
{
	if (v->kind == Y_NULL)
		return 0;
	if (v->kind != Y_STR)
		return err_at(lc, v, where, "'%s' must be a byte size", key);
	if (vd_compose_parse_bytes(v->s, out))
		return err_at(lc, v, where, "'%s': invalid byte size '%s'", key, v->s);
	return 0;
}

static int t_cpus(loadctx *lc, const ynode *v, const char *where, const char *key, double *out)
{
	char *end;
	double d;

	if (v->kind == Y_NULL)
		return 0;
	if (v->kind != Y_STR)
		return err_at(lc, v, where, "'%s' must be a number", key);
	errno = 0;
	d = strtod(v->s, &end);
	if (errno || end == v->s || *end || !isfinite(d) || d < 0 || isspace((unsigned char)v->s[0]))
		return err_at(lc, v, where, "'%s': invalid number '%s'", key, v->s);
	*out = d;
	return 0;
}

/* A list of strings (a lone string too when allow_str), duplicates
 * dropped when dedupe. */
static int t_strs(loadctx *lc, const ynode *v, const char *where, const char *key, bool allow_str,
		  bool dedupe, vd_compose_strs *out)
{
	strmap seen = { 0 };
	size_t i;
	int r = 0;

	out->items = NULL;
	out->len = 0;
	if (v->kind == Y_NULL)
		return 0;
	if (v->kind == Y_STR && allow_str) {
		if (!(out->items = ar_array(lc->m, 1, sizeof(char *))) || !(out->items[0] = mdup(lc, v->s)))
			return oom(lc);
		out->len = 1;
		return 0;
	}
	if (v->kind != Y_SEQ)
		return err_at(lc, v, where, "'%s' must be a list%s", key, allow_str ? " or a string" : "");
	if ((r = charge(lc, v, v->n)))
		return r;
	if (!(out->items = ar_array(lc->m, v->n, sizeof(char *))))
		return oom(lc);
	for (i = 0; i < v->n; i++) {
		const ynode *it = v->items[i];

		if (it->kind != Y_STR) {
			r = err_at(lc, it, where, "'%s' entries must be strings", key);
			goto done;
		}
		if (dedupe) {
			if (strmap_get(&seen, it->s))
				continue;
			if (strmap_put(&seen, it->s, (void *)it)) {
				r = oom(lc);
				goto done;
			}
		}
		if (!(out->items[out->len++] = mdup(lc, it->s))) {
			r = oom(lc);
			goto done;
		}
	}
done:
	strmap_release(&seen);
	return r;
}

enum null_mode { NULL_EMPTY, NULL_LOOKUP };

/* A mapping of scalars (list forms were made mappings by normalise()). */
static int t_kvs(loadctx *lc, const ynode *v, const char *where, const char *key, enum null_mode nm,
		 vd_kvs *out)
{
	size_t i;
	int r;

	out->items = NULL;
	out->len = 0;
	if (v->kind == Y_NULL)
		return 0;
	if (v->kind != Y_MAP)
		return err_at(lc, v, where, "'%s' must be a list or a mapping", key);
	if ((r = charge(lc, v, v->n)))
		return r;
	if (!(out->items = ar_array(lc->m, v->n, sizeof(vd_kv))))
		return oom(lc);
	for (i = 0; i < v->n; i++) {
		const ypair *p = &v->pairs[i];
		const char *val = "";

		if (skip(p))
			continue;
		if (p->val->kind == Y_STR) {
			val = p->val->s;
		} else if (p->val->kind == Y_NULL) {
			if (nm == NULL_LOOKUP) {
				val = lc->opts->lookup ? lc->opts->lookup(p->key->s, lc->opts->lookup_ctx) : NULL;
				if (!val)
					continue;
			}
		} else {
			return err_at(lc, p->val, where, "'%s': the value of '%s' must be a string", key,
				      p->key->s);
		}
		out->items[out->len].key = mdup(lc, p->key->s);
		out->items[out->len].value = mdup(lc, val);
		if (!out->items[out->len].key || !out->items[out->len].value)
			return oom(lc);
		out->len++;
	}
	return 0;
}

static int t_map_or_null(loadctx *lc, const ynode *v, const char *where, const char *key)
{
	if (v->kind != Y_MAP && v->kind != Y_NULL)
		return err_at(lc, v, where, "'%s' must be a mapping", key);
	return 0;
}

static int unknown_key(loadctx *lc, const ypair *p, const char *where)
{
	return err_at(lc, p->key, where, "unknown key '%s'", p->key->s);
}

static vd_compose_pos pos_of(loadctx *lc, const ynode *n)
{
	vd_compose_pos pos = { lc->c->config_files.items[n->file], n->line, n->col };

	return pos;
}

static char *sub_where(loadctx *lc, const char *where, const char *key)
{
	return ar_printf(&lc->tree, "%s: %s", where, key);
}

/* Join and clean a path: absolute results, "." and ".." folded, `~`
 * expanded from HOME. */
static char *resolve_path(loadctx *lc, const char *path)
{
	const char *base = "", *rest = path;
	char *joined = NULL, *out = NULL, *o, *seg, *save = NULL;

	if (path[0] == '~' && (path[1] == '/' || !path[1])) {
		const char *home = lc->opts->lookup ? lc->opts->lookup("HOME", lc->opts->lookup_ctx) : NULL;

		if (!home)
			home = getenv("HOME");
		base = home ? home : "/";
		rest = path + 1;
	} else if (path[0] != '/') {
		base = lc->c->working_dir;
	}
	if (asprintf(&joined, "%s/%s", base, rest) < 0)
		return NULL;
	out = ar_alloc(lc->m, strlen(joined) + 2);
	if (!out)
		goto done;
	o = out;
	for (seg = strtok_r(joined, "/", &save); seg; seg = strtok_r(NULL, "/", &save)) {
		if (!strcmp(seg, "."))
			continue;
		if (!strcmp(seg, "..")) {
			while (o > out && *--o != '/')
				;
			continue;
		}
		*o++ = '/';
		strcpy(o, seg);
		o += strlen(seg);
	}
	if (o == out)
		*o++ = '/';
	*o = '\0';
done:
	free(joined);
	return out;
}

static bool is_remote_context(const char *s)
{
	return strstr(s, "://") || !strncmp(s, "git@", 4) || !strncmp(s, "github.com/", 11);
}

static int t_build(loadctx *lc, const ynode *v, const char *where, vd_compose_service *s)
{
	vd_compose_build *b;
	const char *w = sub_where(lc, where, "build");
	char *ctx = NULL;
	size_t i;
	int r = 0;

	if (!w)
		return oom(lc);
	if (v->kind == Y_NULL)
		return 0;
	if (v->kind != Y_MAP)
		return err_at(lc, v, where, "'build' must be a string or a mapping");
	if (!(b = ar_alloc(lc->m, sizeof(*b))))
		return oom(lc);
	b->pos = pos_of(lc, v);
	for (i = 0; i < v->n && !r; i++) {
		const ypair *p = &v->pairs[i];
		const char *k = p->key->s;

		if (skip(p))
			continue;
		if (!strcmp(k, "context"))
			r = t_str(lc, p->val, w, k, &ctx);
		else if (!strcmp(k, "dockerfile"))
			r = t_str(lc, p->val, w, k, &b->dockerfile);
		else if (!strcmp(k, "target"))
			r = t_str(lc, p->val, w, k, &b->target);
		else if (!strcmp(k, "args"))
			r = t_kvs(lc, p->val, w, k, NULL_LOOKUP, &b->args);
		else if (!strcmp(k, "labels"))
			r = t_kvs(lc, p->val, w, k, NULL_EMPTY, &b->labels);
		else if (!strcmp(k, "cache_from"))
			r = t_strs(lc, p->val, w, k, false, true, &b->cache_from);
		else
			r = unknown_key(lc, p, w);
	}
	if (r)
		return r;
	if (!ctx || !*ctx)
		ctx = ".";
	b->context = is_remote_context(ctx) ? mdup(lc, ctx) : resolve_path(lc, ctx);
	if (!b->dockerfile || !*b->dockerfile)
		b->dockerfile = mdup(lc, "Dockerfile");
	if (!b->context || !b->dockerfile)
		return oom(lc);
	s->build = b;
	return 0;
}

static int t_argv(loadctx *lc, const ynode *v, const char *where, const char *key, vd_compose_argv *out)
{
	char **words = NULL;
	size_t n = 0, i;
	vd_compose_strs l;
	int r;

	if (v->kind == Y_NULL)
		return 0;
	if (v->kind == Y_STR) {
		r = vd_compose_split_words(v->s, &words, &n);
		if (r == VD_ENOMEM)
			return oom(lc);
		if (r)
			return err_at(lc, v, where, "'%s': unterminated quote in '%s'", key, v->s);
		out->argv = ar_array(lc->m, n, sizeof(char *));
		for (i = 0; out->argv && i < n; i++)
			if (!(out->argv[i] = mdup(lc, words[i])))
				break;
		free_words(words, n);
		if (!out->argv || i < n)
			return oom(lc);
		out->argc = n;
		out->set = true;
		return 0;
	}
	if (v->kind != Y_SEQ)
		return err_at(lc, v, where, "'%s' must be a string or a list", key);
	if ((r = t_strs(lc, v, where, key, false, false, &l)))
		return r;
	out->argv = l.items;
	out->argc = l.len;
	out->set = true;
	return 0;
}

/* "8000" or "8000-8010" → [lo, hi]; allow0 for host ports. */
static int port_range(const char *s, size_t len, bool allow0, unsigned *lo, unsigned *hi)
{
	char buf[32];
	char *dash;
	int64_t a, b;

	if (!len || len >= sizeof(buf))
		return VD_EINVAL;
	memcpy(buf, s, len);
	buf[len] = '\0';
	dash = strchr(buf, '-');
	if (dash)
		*dash = '\0';
	if (parse_int(buf, allow0 ? 0 : 1, 65535, &a))
		return VD_EINVAL;
	b = a;
	if (dash && parse_int(dash + 1, allow0 ? 0 : 1, 65535, &b))
		return VD_EINVAL;
	if (b < a)
		return VD_EINVAL;
	*lo = (unsigned)a;
	*hi = (unsigned)b;
	return 0;
}

typedef struct portvec {
	vd_compose_port *v;
	size_t n;
	size_t cap;
	strmap seen;   /* "ip|pub|end|target|proto|mode" → index + 1 */
} portvec;

static int port_add(loadctx *lc, portvec *pv, const vd_compose_port *p)
{
	char *key = ar_printf(&lc->tree, "%s|%u|%u|%u|%s|%s", p->host_ip ? p->host_ip : "", p->published,
			      p->published_end, p->target, p->protocol, p->mode ? p->mode : "");

	if (!key)
		return oom(lc);
	if (strmap_get(&pv->seen, key))
		return 0;
	if (pv->n == pv->cap) {
		size_t cap = pv->cap ? pv->cap * 2 : 8;
		vd_compose_port *nv = realloc(pv->v, cap * sizeof(*nv));

		if (!nv)
			return oom(lc);
		pv->v = nv;
		pv->cap = cap;
	}
	pv->v[pv->n++] = *p;
	if (strmap_put(&pv->seen, key, (void *)(uintptr_t)pv->n))
		return oom(lc);
	return 0;
}

static const char *port_proto(loadctx *lc, const char *p)
{
	if (!strcasecmp(p, "tcp"))
		return "tcp";
	if (!strcasecmp(p, "udp"))
		return "udp";
	if (!strcasecmp(p, "sctp"))
		return "sctp";
	return NULL;
}

/* Add a host range → container range mapping (short or long syntax). */
static int port_ranges(loadctx *lc, portvec *pv, const ynode *at, const char *where, const char *spec,
		       const char *ip, bool has_host, unsigned hlo, unsigned hhi, unsigned clo, unsigned chi,
		       const char *proto, const char *mode)
{
	vd_compose_port p = { 0 };
	unsigned i;
	int r;

	p.host_ip = ip && *ip ? mdup(lc, ip) : NULL;
	p.protocol = (char *)proto;
	p.mode = mode ? mdup(lc, mode) : NULL;
	if (has_host && hhi - hlo != chi - clo && chi != clo)
		return err_at(lc, at, where, "invalid port '%s': host and container ranges differ", spec);
	if ((r = charge(lc, at, chi - clo + 1)))
		return r;
	for (i = 0; i <= chi - clo; i++) {
		p.target = (uint16_t)(clo + i);
		if (!has_host) {
			p.published = p.published_end = 0;
		} else if (chi == clo) {
			p.published = (uint16_t)hlo;
			p.published_end = (uint16_t)hhi;
		} else {
			p.published = p.published_end = (uint16_t)(hlo + i);
		}
		if ((r = port_add(lc, pv, &p)))
			return r;
	}
	return 0;
}

static int port_short(loadctx *lc, portvec *pv, const ynode *it, const char *where)
{
	char *s = ar_strdup(&lc->tree, it->s), *slash, *colon, *ip = NULL, *host = NULL, *ctr;
	const char *proto = "tcp";
	unsigned hlo = 0, hhi = 0, clo, chi;

	if (!s)
		return oom(lc);
	slash = strrchr(s, '/');
	if (slash) {
		*slash = '\0';
		if (!(proto = port_proto(lc, slash + 1)))
			return err_at(lc, it, where, "invalid port '%s': unknown protocol '%s'", it->s, slash + 1);
	}
	colon = strrchr(s, ':');
	ctr = colon ? colon + 1 : s;
	if (colon) {
		*colon = '\0';
		host = s;
		colon = strrchr(s, ':');
		if (colon) {
			*colon = '\0';
			ip = s;
			host = colon + 1;
			if (ip[0] == '[') {
				size_t l = strlen(ip);

				if (l < 2 || ip[l - 1] != ']')
					return err_at(lc, it, where, "invalid port '%s'", it->s);
				ip[l - 1] = '\0';
				ip++;
			}
			if (!*ip)
				return err_at(lc, it, where, "invalid port '%s'", it->s);
		}
	}
	if (port_range(ctr, strlen(ctr), false, &clo, &chi))
		return err_at(lc, it, where, "invalid port '%s'", it->s);
	if (host && *host && port_range(host, strlen(host), true, &hlo, &hhi))
		return err_at(lc, it, where, "invalid port '%s'", it->s);
	return port_ranges(lc, pv, it, where, it->s, ip, host && *host, hlo, hhi, clo, chi, proto, NULL);
}

static int port_long(loadctx *lc, portvec *pv, const ynode *it, const char *where)
{
	const char *w = sub_where(lc, where, "ports");
	char *ip = NULL, *mode = NULL, *proto_s = NULL, *published = NULL;
	const char *proto = "tcp";
	int64_t target = 0;
	unsigned hlo = 0, hhi = 0;
	size_t i;
	int r = 0;

	if (!w)
		return oom(lc);
	for (i = 0; i < it->n && !r; i++) {
		const ypair *p = &it->pairs[i];
		const char *k = p->key->s;

		if (skip(p))
			continue;
		if (!strcmp(k, "target")) {
			if (p->val->kind != Y_STR || parse_int(p->val->s, 1, 65535, &target))
				r = err_at(lc, p->val, w, "'target' must be a port number");
		} else if (!strcmp(k, "published")) {
			r = t_str(lc, p->val, w, k, &published);
		} else if (!strcmp(k, "host_ip")) {
			r = t_str(lc, p->val, w, k, &ip);
		} else if (!strcmp(k, "protocol")) {
			r = t_str(lc, p->val, w, k, &proto_s);
		} else if (!strcmp(k, "mode")) {
			r = t_str(lc, p->val, w, k, &mode);
			if (!r && mode && strcmp(mode, "host") && strcmp(mode, "ingress"))
				r = err_at(lc, p->val, w, "'mode' must be host or ingress");
		} else if (!is_ext(k)) {
			r = unknown_key(lc, p, w);
		}
	}
	if (r)
		return r;
	if (!target)
		return err_at(lc, it, w, "'target' is required");
	if (proto_s && !(proto = port_proto(lc, proto_s)))
		return err_at(lc, it, w, "unknown protocol '%s'", proto_s);
	if (published && *published && port_range(published, strlen(published), true, &hlo, &hhi))
		return err_at(lc, it, w, "invalid published port '%s'", published);
	return port_ranges(lc, pv, it, w, published ? published : "", ip, published && *published, hlo, hhi,
			   (unsigned)target, (unsigned)target, proto, mode);
}

static int t_ports(loadctx *lc, const ynode *v, const char *where, vd_compose_service *s)
{
	portvec pv = { 0 };
	size_t i;
	int r = 0;

	if (v->kind == Y_NULL)
		return 0;
	if (v->kind != Y_SEQ)
		return err_at(lc, v, where, "'ports' must be a list");
	for (i = 0; i < v->n && !r; i++) {
		const ynode *it = v->items[i];

		if (it->kind == Y_STR)
			r = port_short(lc, &pv, it, where);
		else if (it->kind == Y_MAP)
			r = port_long(lc, &pv, it, where);
		else
			r = err_at(lc, it, where, "'ports' entries must be strings or mappings");
	}
	if (!r && pv.n) {
		s->ports = ar_array(lc->m, pv.n, sizeof(*s->ports));
		if (!s->ports)
			r = oom(lc);
		else
			memcpy(s->ports, pv.v, pv.n * sizeof(*s->ports));
		s->n_ports = pv.n;
	}
	free(pv.v);
	strmap_release(&pv.seen);
	return r;
}

static int t_expose(loadctx *lc, const ynode *v, const char *where, vd_compose_service *s)
{
	vd_compose_strs raw;
	strmap seen = { 0 };
	size_t i, n = 0, cap = 0;
	char **out = NULL;
	int r;

	if ((r = t_strs(lc, v, where, "expose", false, false, &raw)))
		return r;
	for (i = 0; i < raw.len && !r; i++) {
		char *slash = strchr(raw.items[i], '/');
		const char *proto = "tcp";
		unsigned lo, hi, p;

		if (slash && !(proto = port_proto(lc, slash + 1))) {
			r = err_at(lc, v->items[i], where, "invalid expose '%s'", raw.items[i]);
			break;
		}
		if (port_range(raw.items[i], slash ? (size_t)(slash - raw.items[i]) : strlen(raw.items[i]), false,
			       &lo, &hi)) {
			r = err_at(lc, v->items[i], where, "invalid expose '%s'", raw.items[i]);
			break;
		}
		if ((r = charge(lc, v, hi - lo + 1)))
			break;
		for (p = lo; p <= hi && !r; p++) {
			char *e = ar_printf(lc->m, "%u/%s", p, proto);

			if (!e) {
				r = oom(lc);
			} else if (!strmap_get(&seen, e)) {
				if (n == cap) {
					char **no = realloc(out, (cap = cap ? cap * 2 : 8) * sizeof(*no));

					if (!no) {
						r = oom(lc);
						break;
					}
					out = no;
				}
				out[n++] = e;
				if (strmap_put(&seen, e, e))
					r = oom(lc);
			}
		}
	}
	if (!r && n) {
		if (!(s->expose.items = ar_array(lc->m, n, sizeof(char *))))
			r = oom(lc);
		else
			memcpy(s->expose.items, out, n * sizeof(char *));
		s->expose.len = n;
	}
	free(out);
	strmap_release(&seen);
	return r;
}

static bool valid_volume_name(const char *s)
{
	if (!isalnum((unsigned char)*s))
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '.' && *s != '-')
			return false;
	return true;
}

static bool is_propagation(const char *o)
{
	static const char *const v[] = { "shared", "rshared", "slave", "rslave", "private", "rprivate" };
	size_t i;

	for (i = 0; i < 6; i++)
		if (!strcmp(o, v[i]))
			return true;
	return false;
}

static int volume_source(loadctx *lc, const ynode *it, const char *where, const char *src,
			 vd_compose_mount *m)
{
	if (src[0] == '.' || src[0] == '/' || src[0] == '~') {
		if (m->type == VD_COMPOSE_MOUNT_VOLUME && !m->short_syntax)
			return err_at(lc, it, where, "volume source '%s' must be a volume name", src);
		m->type = VD_COMPOSE_MOUNT_BIND;
		if (!(m->source = resolve_path(lc, src)))
			return oom(lc);
		return 0;
	}
	if (m->type == VD_COMPOSE_MOUNT_BIND && !m->short_syntax) {
		if (!(m->source = resolve_path(lc, src)))
			return oom(lc);
		return 0;
	}
	if (!valid_volume_name(src))
		return err_at(lc, it, where, "invalid volume name '%s'", src);
	m->type = VD_COMPOSE_MOUNT_VOLUME;
	if (!(m->source = mdup(lc, src)))
		return oom(lc);
	return 0;
}

static int volume_short(loadctx *lc, const ynode *it, const char *where, vd_compose_mount *m)
{
	char *s = ar_strdup(&lc->tree, it->s), *parts[4] = { NULL }, *save = NULL, *o;
	size_t n = 0;
	char *c;
	int r;

	if (!s)
		return oom(lc);
	m->short_syntax = true;
	m->type = VD_COMPOSE_MOUNT_VOLUME;
	for (c = s;; c++) {
		if (n == 4)
			return err_at(lc, it, where, "invalid volume '%s': too many ':'", it->s);
		parts[n++] = c;
		c = strchr(c, ':');
		if (!c)
			break;
		*c = '\0';
	}
	if (n == 4)
		return err_at(lc, it, where, "invalid volume '%s': too many ':'", it->s);
	if (n == 1) {
		m->target = parts[0];
	} else {
		if (!*parts[0])
			return err_at(lc, it, where, "invalid volume '%s': empty source", it->s);
		m->target = parts[1];
		if ((r = volume_source(lc, it, where, parts[0], m)))
			return r;
		if (m->type == VD_COMPOSE_MOUNT_BIND)
			m->create_host_path = true;
	}
	if (m->target[0] != '/')
		return err_at(lc, it, where, "invalid volume '%s': target must be an absolute path", it->s);
	if (!(m->target = mdup(lc, m->target)))
		return oom(lc);
	if (n == 3) {
		for (o = strtok_r(parts[2], ",", &save); o; o = strtok_r(NULL, ",", &save)) {
			if (!strcmp(o, "ro"))
				m->read_only = true;
			else if (!strcmp(o, "rw"))
				m->read_only = false;
			else if (!strcmp(o, "z") || !strcmp(o, "Z"))
				m->selinux = mdup(lc, o);
			else if (!strcmp(o, "nocopy") && m->type == VD_COMPOSE_MOUNT_VOLUME)
				m->nocopy = true;
			else if (is_propagation(o) && m->type == VD_COMPOSE_MOUNT_BIND)
				m->propagation = mdup(lc, o);
			else
				return err_at(lc, it, where, "invalid volume '%s': unknown option '%s'", it->s, o);
		}
	}
	return 0;
}

static int volume_long(loadctx *lc, const ynode *it, const char *where, vd_compose_mount *m)
{
	const char *w = sub_where(lc, where, "volumes");
	char *type = NULL, *src = NULL, *sub;
	const ynode *bind = NULL, *vol = NULL, *tmp = NULL;
	size_t i, j;
	int r = 0;

	if (!w)
		return oom(lc);
	for (i = 0; i < it->n && !r; i++) {
		const ypair *p = &it->pairs[i];
		const char *k = p->key->s;

		if (skip(p))
			continue;
		if (!strcmp(k, "type"))
			r = t_str(lc, p->val, w, k, &type);
		else if (!strcmp(k, "source"))
			r = t_str(lc, p->val, w, k, &src);
		else if (!strcmp(k, "target"))
			r = t_str(lc, p->val, w, k, &m->target);
		else if (!strcmp(k, "read_only"))
			r = t_bool(lc, p->val, w, k, &m->read_only);
		else if (!strcmp(k, "bind"))
			r = t_map_or_null(lc, bind = p->val, w, k);
		else if (!strcmp(k, "volume"))
			r = t_map_or_null(lc, vol = p->val, w, k);
		else if (!strcmp(k, "tmpfs"))
			r = t_map_or_null(lc, tmp = p->val, w, k);
		else if (!is_ext(k))
			r = unknown_key(lc, p, w);
	}
	if (r)
		return r;
	if (!type)
		return err_at(lc, it, w, "'type' is required");
	if (!strcmp(type, "bind"))
		m->type = VD_COMPOSE_MOUNT_BIND;
	else if (!strcmp(type, "volume"))
		m->type = VD_COMPOSE_MOUNT_VOLUME;
	else if (!strcmp(type, "tmpfs"))
		m->type = VD_COMPOSE_MOUNT_TMPFS;
	else
		return err_at(lc, it, w, "unsupported volume type '%s' (bind, volume or tmpfs)", type);
	if (!m->target || m->target[0] != '/')
		return err_at(lc, it, w, "'target' must be an absolute path");
	if (m->type == VD_COMPOSE_MOUNT_BIND && (!src || !*src))
		return err_at(lc, it, w, "a bind mount needs a 'source'");
	if (m->type == VD_COMPOSE_MOUNT_TMPFS && src && *src)
		return err_at(lc, it, w, "a tmpfs mount takes no 'source'");
	if (src && *src && (r = volume_source(lc, it, w, src, m)))
		return r;
	if ((bind && m->type != VD_COMPOSE_MOUNT_BIND) || (vol && m->type != VD_COMPOSE_MOUNT_VOLUME) ||
	    (tmp && m->type != VD_COMPOSE_MOUNT_TMPFS))
		return err_at(lc, it, w, "options that do not match type '%s'", type);
	for (j = 0; j < 3; j++) {
		const ynode *o = j == 0 ? bind : j == 1 ? vol : tmp;
		const char *ok = j == 0 ? "bind" : j == 1 ? "volume" : "tmpfs";

		if (!o || o->kind != Y_MAP)
			continue;
		if (!(sub = sub_where(lc, w, ok)))
			return oom(lc);
		for (i = 0; i < o->n && !r; i++) {
			const ypair *p = &o->pairs[i];
			const char *k = p->key->s;

			if (skip(p))
				continue;
			if (j == 0 && !strcmp(k, "create_host_path")) {
				r = t_bool(lc, p->val, sub, k, &m->create_host_path);
			} else if (j == 0 && !strcmp(k, "propagation")) {
				r = t_str(lc, p->val, sub, k, &m->propagation);
				if (!r && m->propagation && !is_propagation(m->propagation))
					r = err_at(lc, p->val, sub, "invalid propagation '%s'", m->propagation);
			} else if (j == 0 && !strcmp(k, "selinux")) {
				r = t_str(lc, p->val, sub, k, &m->selinux);
				if (!r && m->selinux && strcmp(m->selinux, "z") && strcmp(m->selinux, "Z"))
					r = err_at(lc, p->val, sub, "'selinux' must be z or Z");
			} else if (j == 1 && !strcmp(k, "nocopy")) {
				r = t_bool(lc, p->val, sub, k, &m->nocopy);
			} else if (j == 2 && !strcmp(k, "size")) {
				r = t_bytes(lc, p->val, sub, k, &m->tmpfs_size);
			} else {
				r = unknown_key(lc, p, sub);
			}
		}
	}
	return r;
}

static int t_volumes(loadctx *lc, const ynode *v, const char *where, vd_compose_service *s)
{
	strmap by_target = { 0 };
	size_t i;
	int r = 0;

	if (v->kind == Y_NULL)
		return 0;
	if (v->kind != Y_SEQ)
		return err_at(lc, v, where, "'volumes' must be a list");
	if ((r = charge(lc, v, v->n)))
		return r;
	if (!(s->volumes = ar_array(lc->m, v->n, sizeof(*s->volumes))))
		return oom(lc);
	for (i = 0; i < v->n && !r; i++) {
		const ynode *it = v->items[i];
		vd_compose_mount m = { 0 };
		uintptr_t at;

		if (it->kind == Y_STR)
			r = volume_short(lc, it, where, &m);
		else if (it->kind == Y_MAP)
			r = volume_long(lc, it, where, &m);
		else
			r = err_at(lc, it, where, "'volumes' entries must be strings or mappings");
		if (r)
			break;
		m.pos = pos_of(lc, it);
		/* compose's unicity: one mount per target, the later one wins */
		at = (uintptr_t)strmap_get(&by_target, m.target);
		if (at) {
			s->volumes[at - 1] = m;
			continue;
		}
		s->volumes[s->n_volumes++] = m;
		if (strmap_put(&by_target, m.target, (void *)(uintptr_t)s->n_volumes))
			r = oom(lc);
	}
	strmap_release(&by_target);
	return r;
}

static int t_service_networks(loadctx *lc, const ynode *v, const char *where, vd_compose_service *s)
{
	const char *w = sub_where(lc, where, "networks");
	size_t i, j;
	int r = 0;

	if (!w)
		return oom(lc);
	if (v->kind == Y_NULL)
		return 0;
	if (v->kind != Y_MAP)
		return err_at(lc, v, where, "'networks' must be a list or a mapping");
	if (!(s->networks = ar_array(lc->m, v->n, sizeof(*s->networks))))
		return oom(lc);
	for (i = 0; i < v->n && !r; i++) {
		const ypair *p = &v->pairs[i];
		vd_compose_service_net *n = &s->networks[s->n_networks];
		const char *nw;

		if (skip(p))
			continue;
		if (!(n->network = mdup(lc, p->key->s)) ||
		    !(nw = ar_printf(&lc->tree, "%s: network '%s'", where, p->key->s)))
			return oom(lc);
		s->n_networks++;
		if (p->val->kind == Y_NULL)
			continue;
		if (p->val->kind != Y_MAP)
			return err_at(lc, p->val, w, "'%s' must be a mapping or null", p->key->s);
		for (j = 0; j < p->val->n && !r; j++) {
			const ypair *q = &p->val->pairs[j];
			const char *k = q->key->s;

			if (skip(q))
				continue;
			if (!strcmp(k, "aliases"))
				r = t_strs(lc, q->val, nw, k, false, true, &n->aliases);
			else if (!strcmp(k, "ipv4_address"))
				r = t_str(lc, q->val, nw, k, &n->ipv4_address);
			else if (!strcmp(k, "ipv6_address"))
				r = t_str(lc, q->val, nw, k, &n->ipv6_address);
			else if (!is_ext(k))
				r = unknown_key(lc, q, nw);
		}
	}
	return r;
}

static int t_depends_on(loadctx *lc, const ynode *v, const char *where, vd_compose_service *s)
{
	size_t i, j;
	int r = 0;

	if (v->kind == Y_NULL)
		return 0;
	if (v->kind != Y_MAP)
		return err_at(lc, v, where, "'depends_on' must be a list or a mapping");
	if (!(s->depends_on = ar_array(lc->m, v->n, sizeof(*s->depends_on))))
		return oom(lc);
	for (i = 0; i < v->n && !r; i++) {
		const ypair *p = &v->pairs[i];
		vd_compose_dep *d = &s->depends_on[s->n_depends_on];
		const char *dw;

		if (skip(p))
			continue;
		if (!(d->service = mdup(lc, p->key->s)) ||
		    !(dw = ar_printf(&lc->tree, "%s: depends_on '%s'", where, p->key->s)))
			return oom(lc);
		d->condition = VD_COMPOSE_SERVICE_STARTED;
		d->required = true;
		s->n_depends_on++;
		if (p->val->kind == Y_NULL)
			continue;
		if (p->val->kind != Y_MAP)
			return err_at(lc, p->val, dw, "must be a mapping");
		for (j = 0; j < p->val->n && !r; j++) {
			const ypair *q = &p->val->pairs[j];
			const char *k = q->key->s;

			if (skip(q))
				continue;
			if (!strcmp(k, "condition")) {
				const char *c = q->val->kind == Y_STR ? q->val->s : "";

				if (!strcmp(c, "service_started"))
					d->condition = VD_COMPOSE_SERVICE_STARTED;
				else if (!strcmp(c, "service_healthy"))
					d->condition = VD_COMPOSE_SERVICE_HEALTHY;
				else if (!strcmp(c, "service_completed_successfully"))
					d->condition = VD_COMPOSE_SERVICE_COMPLETED_SUCCESSFULLY;
				else
					r = err_at(lc, q->val, dw,
						   "'condition' must be service_started, service_healthy or "
						   "service_completed_successfully");
			} else if (!strcmp(k, "restart")) {
				r = t_bool(lc, q->val, dw, k, &d->restart);
			} else if (!strcmp(k, "required")) {
				r = t_bool(lc, q->val, dw, k, &d->required);
			} else {
				r = unknown_key(lc, q, dw);
			}
		}
	}
	return r;
}

static int t_healthcheck(loadctx *lc, const ynode *v, const char *where, vd_compose_healthcheck *h)
{
	const char *w = sub_where(lc, where, "healthcheck");
	size_t i;
	int r = 0;

	if (!w)
		return oom(lc);
	if (v->kind == Y_NULL)
		return 0;
	if (v->kind != Y_MAP)
		return err_at(lc, v, where, "'healthcheck' must be a mapping");
	h->set = true;
	for (i = 0; i < v->n && !r; i++) {
		const ypair *p = &v->pairs[i];
		const char *k = p->key->s;

		if (skip(p))
			continue;
		if (!strcmp(k, "test")) {
			if (p->val->kind == Y_STR) {
				if (!(h->test.items = ar_array(lc->m, 2, sizeof(char *))) ||
				    !(h->test.items[0] = mdup(lc, "CMD-SHELL")) ||
				    !(h->test.items[1] = mdup(lc, p->val->s)))
					return oom(lc);
				h->test.len = 2;
			} else if (p->val->kind == Y_SEQ) {
				if ((r = t_strs(lc, p->val, w, k, false, false, &h->test)))
					return r;
				if (!h->test.len)
					return err_at(lc, p->val, w, "'test' must not be empty");
				if (!strcmp(h->test.items[0], "NONE"))
					h->disable = true;
				else if (strcmp(h->test.items[0], "CMD") && strcmp(h->test.items[0], "CMD-SHELL"))
					return err_at(lc, p->val, w,
						      "'test' must start with NONE, CMD or CMD-SHELL, not '%s'",
						      h->test.items[0]);
			} else if (p->val->kind != Y_NULL) {
				return err_at(lc, p->val, w, "'test' must be a string or a list");
			}
		} else if (!strcmp(k, "interval")) {
			r = t_duration(lc, p->val, w, k, &h->interval_ns);
		} else if (!strcmp(k, "timeout")) {
			r = t_duration(lc, p->val, w, k, &h->timeout_ns);
		} else if (!strcmp(k, "start_period")) {
			r = t_duration(lc, p->val, w, k, &h->start_period_ns);
		} else if (!strcmp(k, "start_interval")) {
			r = t_duration(lc, p->val, w, k, &h->start_interval_ns);
		} else if (!strcmp(k, "retries")) {
			r = t_int(lc, p->val, w, k, 0, &h->retries);
		} else if (!strcmp(k, "disable")) {
			bool d = false;

			r = t_bool(lc, p->val, w, k, &d);
			h->disable = h->disable || d;
		} else if (!is_ext(k)) {
			r = unknown_key(lc, p, w);
		}
	}
	return r;
}

static int t_logging(loadctx *lc, const ynode *v, const char *where, vd_compose_service *s)
{
	const char *w = sub_where(lc, where, "logging");
	size_t i;
	int r = 0;

	if (!w)
		return oom(lc);
	if (v->kind == Y_NULL)
		return 0;
	if (v->kind != Y_MAP)
		return err_at(lc, v, where, "'logging' must be a mapping");
	for (i = 0; i < v->n && !r; i++) {
		const ypair *p = &v->pairs[i];
		const char *k = p->key->s;

		if (skip(p))
			continue;
		if (!strcmp(k, "driver"))
			r = t_str(lc, p->val, w, k, &s->logging_driver);
		else if (!strcmp(k, "options"))
			r = t_kvs(lc, p->val, w, k, NULL_EMPTY, &s->logging_options);
		else if (!is_ext(k))
			r = unknown_key(lc, p, w);
	}
	return r;
}

static int t_ulimits(loadctx *lc, const ynode *v, const char *where, vd_compose_service *s)
{
	const char *w = sub_where(lc, where, "ulimits");
	size_t i, j;
	int r = 0;

	if (!w)
		return oom(lc);
	if (v->kind == Y_NULL)
		return 0;
	if (v->kind != Y_MAP)
		return err_at(lc, v, where, "'ulimits' must be a mapping");
	if (!(s->ulimits = ar_array(lc->m, v->n, sizeof(*s->ulimits))))
		return oom(lc);
	for (i = 0; i < v->n && !r; i++) {
		const ypair *p = &v->pairs[i];
		vd_compose_ulimit *u = &s->ulimits[s->n_ulimits];
		bool soft = false, hard = false;

		if (skip(p))
			continue;
		if (!(u->name = mdup(lc, p->key->s)))
			return oom(lc);
		if (p->val->kind == Y_STR) {
			if ((r = t_int(lc, p->val, w, p->key->s, -1, &u->soft)))
				return r;
			u->hard = u->soft;
		} else if (p->val->kind == Y_MAP) {
			for (j = 0; j < p->val->n && !r; j++) {
				const ypair *q = &p->val->pairs[j];

				if (skip(q))
					continue;
				if (!strcmp(q->key->s, "soft")) {
					r = t_int(lc, q->val, w, "soft", -1, &u->soft);
					soft = true;
				} else if (!strcmp(q->key->s, "hard")) {
					r = t_int(lc, q->val, w, "hard", -1, &u->hard);
					hard = true;
				} else {
					r = unknown_key(lc, q, w);
				}
			}
			if (!r && (!soft || !hard))
				r = err_at(lc, p->val, w, "'%s' needs both 'soft' and 'hard'", p->key->s);
		} else {
			r = err_at(lc, p->val, w, "'%s' must be a number or a mapping with soft and hard",
				   p->key->s);
		}
		s->n_ulimits++;
	}
	return r;
}

static int t_resources(loadctx *lc, const ynode *v, const char *where, vd_compose_resources *res)
{
	size_t i;
	int r = 0;

	if (v->kind == Y_NULL)
		return 0;
	if (v->kind != Y_MAP)
		return err_at(lc, v, where, "must be a mapping");
	for (i = 0; i < v->n && !r; i++) {
		const ypair *p = &v->pairs[i];

		if (skip(p))
			continue;
		if (!strcmp(p->key->s, "memory"))
			r = t_bytes(lc, p->val, where, "memory", &res->memory);
		else if (!strcmp(p->key->s, "cpus"))
			r = t_cpus(lc, p->val, where, "cpus", &res->cpus);
		else
			r = unknown_key(lc, p, where);
	}
	return r;
}

static int t_deploy(loadctx *lc, const ynode *v, const char *where, vd_compose_service *s)
{
	const char *w = sub_where(lc, where, "deploy"), *rw;
	const ynode *res = NULL;
	size_t i;
	int r = 0;

	if (!w || !(rw = sub_where(lc, w, "resources")))
		return oom(lc);
	if (v->kind == Y_NULL)
		return 0;
	if (v->kind != Y_MAP)
		return err_at(lc, v, where, "'deploy' must be a mapping");
	for (i = 0; i < v->n; i++) {
		if (skip(&v->pairs[i]))
			continue;
		if (strcmp(v->pairs[i].key->s, "resources"))
			return unknown_key(lc, &v->pairs[i], w);
		res = v->pairs[i].val;
	}
	if (!res || res->kind == Y_NULL)
		return 0;
	if (res->kind != Y_MAP)
		return err_at(lc, res, w, "'resources' must be a mapping");
	for (i = 0; i < res->n && !r; i++) {
		const ypair *p = &res->pairs[i];
		const char *sw;

		if (skip(p))
			continue;
		if (!(sw = sub_where(lc, rw, p->key->s)))
			return oom(lc);
		if (!strcmp(p->key->s, "limits"))
			r = t_resources(lc, p->val, sw, &s->limits);
		else if (!strcmp(p->key->s, "reservations"))
			r = t_resources(lc, p->val, sw, &s->reservations);
		else
			r = unknown_key(lc, p, rw);
	}
	return r;
}

static int t_env_file(loadctx *lc, const ynode *v, const char *where, vd_compose_service *s)
{
	strmap seen = { 0 };
	size_t i, j;
	int r = 0;

	if (v->kind == Y_NULL)
		return 0;
	if (v->kind != Y_SEQ)
		return err_at(lc, v, where, "'env_file' must be a string or a list");
	if (!(s->env_file.items = ar_array(lc->m, v->n, sizeof(char *))) ||
	    !(s->env_file_required = ar_array(lc->m, v->n, sizeof(bool))))
		return oom(lc);
	for (i = 0; i < v->n && !r; i++) {
		const ynode *it = v->items[i];
		const char *path = NULL;
		bool required = true;
		char *abs;
		uintptr_t at;

		if (it->kind == Y_STR) {
			path = it->s;
		} else if (it->kind == Y_MAP) {
			for (j = 0; j < it->n && !r; j++) {
				const ypair *p = &it->pairs[j];

				if (skip(p))
					continue;
				if (!strcmp(p->key->s, "path")) {
					if (p->val->kind != Y_STR)
						r = err_at(lc, p->val, where, "env_file: 'path' must be a string");
					else
						path = p->val->s;
				} else if (!strcmp(p->key->s, "required")) {
					r = t_bool(lc, p->val, where, "required", &required);
				} else {
					r = unknown_key(lc, p, where);
				}
			}
			if (!r && !path)
				r = err_at(lc, it, where, "env_file: 'path' is required");
		} else {
			r = err_at(lc, it, where, "'env_file' entries must be strings or mappings");
		}
		if (r)
			break;
		if (!*path) {
			r = err_at(lc, it, where, "env_file: empty path");
			break;
		}
		if (!(abs = resolve_path(lc, path))) {
			r = oom(lc);
			break;
		}
		at = (uintptr_t)strmap_get(&seen, abs);
		if (at) {
			s->env_file_required[at - 1] = required;
			continue;
		}
		s->env_file.items[s->env_file.len] = abs;
		s->env_file_required[s->env_file.len++] = required;
		if (strmap_put(&seen, abs, (void *)(uintptr_t)s->env_file.len))
			r = oom(lc);
	}
	strmap_release(&seen);
	return r;
}

static int t_restart(loadctx *lc, const ynode *v, const char *where, char **out)
{
	int64_t n;
	int r = t_str(lc, v, where, "restart", out);

	if (r || !*out)
		return r;
	if (!strcmp(*out, "no") || !strcmp(*out, "always") || !strcmp(*out, "unless-stopped") ||
	    !strcmp(*out, "on-failure"))
		return 0;
	if (!strncmp(*out, "on-failure:", 11) && !parse_int(*out + 11, 0, INT32_MAX, &n))
		return 0;
	return err_at(lc, v, where, "'restart' must be no, always, on-failure[:N] or unless-stopped, not '%s'",
		      *out);
}

static bool valid_service_name(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '.' && *s != '-')
			return false;
	return true;
}

static int t_service(loadctx *lc, const ypair *sp, vd_compose_service *s)
{
	const ynode *v = sp->val;
	const char *where;
	size_t i;
	int r = 0;

	if (!(where = ar_printf(&lc->tree, "service '%s'", sp->key->s)) || !(s->name = mdup(lc, sp->key->s)))
		return oom(lc);
	s->pos = pos_of(lc, sp->key);
	s->init = -1;
	if (!valid_service_name(s->name))
		return err_at(lc, sp->key, NULL, "invalid service name '%s'", s->name);
	if (v->kind != Y_MAP)
		return err_at(lc, v, where, "must be a mapping");
	for (i = 0; i < v->n && !r; i++) {
		const ypair *p = &v->pairs[i];
		const ynode *x = p->val;
		const char *k = p->key->s;

		if (skip(p))
			continue;
		if (!strcmp(k, "image"))
			r = t_str(lc, x, where, k, &s->image);
		else if (!strcmp(k, "build"))
			r = t_build(lc, x, where, s);
		else if (!strcmp(k, "container_name"))
			r = t_str(lc, x, where, k, &s->container_name);
		else if (!strcmp(k, "command"))
			r = t_argv(lc, x, where, k, &s->command);
		else if (!strcmp(k, "entrypoint"))
			r = t_argv(lc, x, where, k, &s->entrypoint);
		else if (!strcmp(k, "environment"))
			r = t_kvs(lc, x, where, k, NULL_LOOKUP, &s->environment);
		else if (!strcmp(k, "env_file"))
			r = t_env_file(lc, x, where, s);
		else if (!strcmp(k, "ports"))
			r = t_ports(lc, x, where, s);
		else if (!strcmp(k, "expose"))
			r = t_expose(lc, x, where, s);
		else if (!strcmp(k, "volumes"))
			r = t_volumes(lc, x, where, s);
		else if (!strcmp(k, "networks"))
			r = t_service_networks(lc, x, where, s);
		else if (!strcmp(k, "network_mode"))
			r = t_str(lc, x, where, k, &s->network_mode);
		else if (!strcmp(k, "depends_on"))
			r = t_depends_on(lc, x, where, s);
		else if (!strcmp(k, "healthcheck"))
			r = t_healthcheck(lc, x, where, &s->healthcheck);
		else if (!strcmp(k, "restart"))
			r = t_restart(lc, x, where, &s->restart);
		else if (!strcmp(k, "labels"))
			r = t_kvs(lc, x, where, k, NULL_EMPTY, &s->labels);
		else if (!strcmp(k, "user"))
			r = t_str(lc, x, where, k, &s->user);
		else if (!strcmp(k, "working_dir"))
			r = t_str(lc, x, where, k, &s->working_dir);
		else if (!strcmp(k, "hostname"))
			r = t_str(lc, x, where, k, &s->hostname);
		else if (!strcmp(k, "extra_hosts"))
			r = t_kvs(lc, x, where, k, NULL_EMPTY, &s->extra_hosts);
		else if (!strcmp(k, "dns"))
			r = t_strs(lc, x, where, k, true, true, &s->dns);
		else if (!strcmp(k, "logging"))
			r = t_logging(lc, x, where, s);
		else if (!strcmp(k, "stop_grace_period"))
			r = t_duration(lc, x, where, k, &s->stop_grace_period_ns);
		else if (!strcmp(k, "stop_signal"))
			r = t_str(lc, x, where, k, &s->stop_signal);
		else if (!strcmp(k, "tmpfs"))
			r = t_strs(lc, x, where, k, true, true, &s->tmpfs);
		else if (!strcmp(k, "shm_size"))
			r = t_bytes(lc, x, where, k, &s->shm_size);
		else if (!strcmp(k, "ulimits"))
			r = t_ulimits(lc, x, where, s);
		else if (!strcmp(k, "cap_add"))
			r = t_strs(lc, x, where, k, false, true, &s->cap_add);
		else if (!strcmp(k, "cap_drop"))
			r = t_strs(lc, x, where, k, false, true, &s->cap_drop);
		else if (!strcmp(k, "security_opt"))
			r = t_strs(lc, x, where, k, false, true, &s->security_opt);
		else if (!strcmp(k, "privileged"))
			r = t_bool(lc, x, where, k, &s->privileged);
		else if (!strcmp(k, "init")) {
			bool b = false;

			r = t_bool(lc, x, where, k, &b);
			if (x->kind != Y_NULL)
				s->init = b;
		} else if (!strcmp(k, "read_only"))
			r = t_bool(lc, x, where, k, &s->read_only);
		else if (!strcmp(k, "sysctls"))
			r = t_kvs(lc, x, where, k, NULL_EMPTY, &s->sysctls);
		else if (!strcmp(k, "devices"))
			r = t_strs(lc, x, where, k, false, true, &s->devices);
		else if (!strcmp(k, "tty"))
			r = t_bool(lc, x, where, k, &s->tty);
		else if (!strcmp(k, "stdin_open"))
			r = t_bool(lc, x, where, k, &s->stdin_open);
		else if (!strcmp(k, "mem_limit"))
			r = t_bytes(lc, x, where, k, &s->mem_limit);
		else if (!strcmp(k, "cpus"))
			r = t_cpus(lc, x, where, k, &s->cpus);
		else if (!strcmp(k, "deploy"))
			r = t_deploy(lc, x, where, s);
		else if (!strcmp(k, "profiles"))
			r = t_strs(lc, x, where, k, false, true, &s->profiles);
		else
			r = unknown_key(lc, p, where);
	}
	if (r)
		return r;
	if (!s->image && !s->build)
		return err_at(lc, sp->key, where, "neither 'image' nor 'build' is set");
	if (s->network_mode && s->n_networks)
		return err_at(lc, sp->key, where, "'network_mode' and 'networks' cannot be combined");
	return 0;
}

/* external: true, or the legacy external: {name: x}. */
static int t_external(loadctx *lc, const ynode *v, const char *where, bool *ext, char **name)
{
	size_t i;

	if (v->kind != Y_MAP)
		return t_bool(lc, v, where, "external", ext);
	*ext = true;
	for (i = 0; i < v->n; i++) {
		if (skip(&v->pairs[i]))
			continue;
		if (strcmp(v->pairs[i].key->s, "name"))
			return unknown_key(lc, &v->pairs[i], where);
		if (t_str(lc, v->pairs[i].val, where, "name", name))
			return lc->err->code;
	}
	return 0;
}

static int t_ipam(loadctx *lc, const ynode *v, const char *where, vd_compose_network *n)
{
	const char *w = sub_where(lc, where, "ipam");
	size_t i, j, k;
	int r = 0;

	if (!w)
		return oom(lc);
	if (v->kind == Y_NULL)
		return 0;
	if (v->kind != Y_MAP)
		return err_at(lc, v, where, "'ipam' must be a mapping");
	for (i = 0; i < v->n && !r; i++) {
		const ypair *p = &v->pairs[i];

		if (skip(p))
			continue;
		if (!strcmp(p->key->s, "driver")) {
			r = t_str(lc, p->val, w, "driver", &n->ipam_driver);
		} else if (!strcmp(p->key->s, "config")) {
			if (p->val->kind == Y_NULL)
				continue;
			if (p->val->kind != Y_SEQ)
				return err_at(lc, p->val, w, "'config' must be a list");
			if (!(n->ipam_config = ar_array(lc->m, p->val->n, sizeof(*n->ipam_config))))
				return oom(lc);
			for (j = 0; j < p->val->n && !r; j++) {
				const ynode *it = p->val->items[j];
				vd_compose_ipam_pool *pool = &n->ipam_config[n->n_ipam_config++];

				if (it->kind != Y_MAP)
					return err_at(lc, it, w, "'config' entries must be mappings");
				for (k = 0; k < it->n && !r; k++) {
					const ypair *q = &it->pairs[k];

					if (skip(q))
						continue;
					if (!strcmp(q->key->s, "subnet"))
						r = t_str(lc, q->val, w, "subnet", &pool->subnet);
					else if (!strcmp(q->key->s, "gateway"))
						r = t_str(lc, q->val, w, "gateway", &pool->gateway);
					else if (!strcmp(q->key->s, "ip_range"))
						r = t_str(lc, q->val, w, "ip_range", &pool->ip_range);
					else
						r = unknown_key(lc, q, w);
				}
			}
		} else {
			r = unknown_key(lc, p, w);
		}
	}
	return r;
}

static int t_network(loadctx *lc, const ypair *np, vd_compose_network *n)
{
	const ynode *v = np->val;
	const char *where = ar_printf(&lc->tree, "network '%s'", np->key->s);
	size_t i;
	int r = 0;

	if (!where || !(n->key = mdup(lc, np->key->s)))
		return oom(lc);
	n->pos = pos_of(lc, np->key);
	if (v->kind != Y_MAP && v->kind != Y_NULL)
		return err_at(lc, v, where, "must be a mapping");
	for (i = 0; v->kind == Y_MAP && i < v->n && !r; i++) {
		const ypair *p = &v->pairs[i];
		const char *k = p->key->s;

		if (skip(p))
			continue;
		if (!strcmp(k, "driver"))
			r = t_str(lc, p->val, where, k, &n->driver);
		else if (!strcmp(k, "driver_opts"))
			r = t_kvs(lc, p->val, where, k, NULL_EMPTY, &n->driver_opts);
		else if (!strcmp(k, "ipam"))
			r = t_ipam(lc, p->val, where, n);
		else if (!strcmp(k, "external"))
			r = t_external(lc, p->val, where, &n->external, &n->name);
		else if (!strcmp(k, "name"))
			r = t_str(lc, p->val, where, k, &n->name);
		else if (!strcmp(k, "labels"))
			r = t_kvs(lc, p->val, where, k, NULL_EMPTY, &n->labels);
		else if (!strcmp(k, "internal"))
			r = t_bool(lc, p->val, where, k, &n->internal);
		else if (!strcmp(k, "attachable"))
			r = t_bool(lc, p->val, where, k, &n->attachable);
		else
			r = unknown_key(lc, p, where);
	}
	if (r)
		return r;
	if (!n->name || !*n->name)
		n->name = n->external ? mdup(lc, n->key) : ar_printf(lc->m, "%s_%s", lc->c->name, n->key);
	return n->name ? 0 : oom(lc);
}

static int t_volume(loadctx *lc, const ypair *vp, vd_compose_volume *vol)
{
	const ynode *v = vp->val;
	const char *where = ar_printf(&lc->tree, "volume '%s'", vp->key->s);
	size_t i;
	int r = 0;

	if (!where || !(vol->key = mdup(lc, vp->key->s)))
		return oom(lc);
	vol->pos = pos_of(lc, vp->key);
	if (!valid_volume_name(vol->key))
		return err_at(lc, vp->key, NULL, "invalid volume name '%s'", vol->key);
	if (v->kind != Y_MAP && v->kind != Y_NULL)
		return err_at(lc, v, where, "must be a mapping");
	for (i = 0; v->kind == Y_MAP && i < v->n && !r; i++) {
		const ypair *p = &v->pairs[i];
		const char *k = p->key->s;

		if (skip(p))
			continue;
		if (!strcmp(k, "driver"))
			r = t_str(lc, p->val, where, k, &vol->driver);
		else if (!strcmp(k, "driver_opts"))
			r = t_kvs(lc, p->val, where, k, NULL_EMPTY, &vol->driver_opts);
		else if (!strcmp(k, "external"))
			r = t_external(lc, p->val, where, &vol->external, &vol->name);
		else if (!strcmp(k, "name"))
			r = t_str(lc, p->val, where, k, &vol->name);
		else if (!strcmp(k, "labels"))
			r = t_kvs(lc, p->val, where, k, NULL_EMPTY, &vol->labels);
		else
			r = unknown_key(lc, p, where);
	}
	if (r)
		return r;
	if (!vol->name || !*vol->name)
		vol->name = vol->external ? mdup(lc, vol->key) : ar_printf(lc->m, "%s_%s", lc->c->name, vol->key);
	return vol->name ? 0 : oom(lc);
}

/* ------------------------------------------------------------------------
 * Cross-checks and the dependency order.
 */

static ssize_t service_index(const vd_compose *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->n_services; i++)
		if (!strcmp(c->services[i].name, name))
			return (ssize_t)i;
	return -1;
}

static int err_pos(loadctx *lc, const vd_compose_pos *pos, const char *where, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int err_pos(loadctx *lc, const vd_compose_pos *pos, const char *where, const char *fmt, ...)
{
	char *msg = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (n < 0)
		return oom(lc);
	vd_error_set(lc->err, VD_EINVAL, "%s:%d:%d: %s: %s", pos->file, pos->line, pos->col, where, msg);
	free(msg);
	return VD_EINVAL;
}

/* Edges: depends_on (required or present) and network_mode service:X. */
typedef struct graph {
	size_t *deps;      /* per service: [start[i], start[i+1]) */
	size_t *start;
} graph;

static int build_graph(loadctx *lc, graph *g)
{
	vd_compose *c = lc->c;
	size_t i, j, n = 0;

	for (i = 0; i < c->n_services; i++)
		n += c->services[i].n_depends_on + 1;
	g->start = ar_array(&lc->tree, c->n_services + 1, sizeof(size_t));
	g->deps = ar_array(&lc->tree, n, sizeof(size_t));
	if (!g->start || !g->deps)
		return oom(lc);
	n = 0;
	for (i = 0; i < c->n_services; i++) {
		vd_compose_service *s = &c->services[i];
		const char *where = ar_printf(&lc->tree, "service '%s'", s->name);

		if (!where)
			return oom(lc);
		g->start[i] = n;
		for (j = 0; j < s->n_depends_on; j++) {
			ssize_t d = service_index(c, s->depends_on[j].service);

			if (d < 0) {
				if (!s->depends_on[j].required)
					continue;
				return err_pos(lc, &s->pos, where, "depends_on unknown service '%s'",
					       s->depends_on[j].service);
			}
			g->deps[n++] = (size_t)d;
		}
		if (s->network_mode && !strncmp(s->network_mode, "service:", 8)) {
			ssize_t d = service_index(c, s->network_mode + 8);

			if (d < 0)
				return err_pos(lc, &s->pos, where, "network_mode refers to unknown service '%s'",
					       s->network_mode + 8);
			g->deps[n++] = (size_t)d;
		}
	}
	g->start[c->n_services] = n;
	return 0;
}

static int cycle_error(loadctx *lc, const graph *g, const bool *placed)
{
	vd_compose *c = lc->c;
	size_t *path = ar_array(&lc->tree, c->n_services + 1, sizeof(size_t));
	ssize_t *seen_at = ar_array(&lc->tree, c->n_services, sizeof(ssize_t));
	size_t i, n = 0, cur = 0, first;
	vd_buf b = VD_BUF_INIT;
	const char *where;
	int r;

	if (!path || !seen_at)
		return oom(lc);
	for (i = 0; i < c->n_services; i++)
		seen_at[i] = -1;
	while (cur < c->n_services && placed[cur])
		cur++;
	/* every unplaced service has an unplaced dependency: walk until one repeats */
	while (seen_at[cur] < 0) {
		seen_at[cur] = (ssize_t)n;
		path[n++] = cur;
		for (i = g->start[cur]; i < g->start[cur + 1]; i++)
			if (!placed[g->deps[i]])
				break;
		cur = g->deps[i];
	}
	first = (size_t)seen_at[cur];
	for (i = first; i < n; i++)
		vd_buf_printf(&b, "%s -> ", c->services[path[i]].name);
	vd_buf_puts(&b, c->services[cur].name);
	where = ar_printf(&lc->tree, "service '%s'", c->services[path[first]].name);
	r = where ? err_pos(lc, &c->services[path[first]].pos, where, "dependency cycle: %s", vd_buf_cstr(&b))
		  : oom(lc);
	vd_buf_release(&b);
	return r;
}

/* Kahn's algorithm with a min-heap on the file index, so that among
 * services whose dependencies are all placed the earliest in the file goes
 * first. */
static int order_services(loadctx *lc)
{
	vd_compose *c = lc->c;
	size_t n = c->n_services, i, j, heap_n = 0, out = 0;
	size_t *missing, *heap, *rcount, *rstart, *rlist;
	bool *placed;
	graph g;
	int r;

	if ((r = build_graph(lc, &g)))
		return r;
	missing = ar_array(&lc->tree, n, sizeof(size_t));
	heap = ar_array(&lc->tree, n, sizeof(size_t));
	rcount = ar_array(&lc->tree, n + 1, sizeof(size_t));
	rstart = ar_array(&lc->tree, n + 1, sizeof(size_t));
	rlist = ar_array(&lc->tree, g.start[n], sizeof(size_t));
	placed = ar_array(&lc->tree, n, sizeof(bool));
	c->order = ar_array(lc->m, n, sizeof(size_t));
	if (!missing || !heap || !rcount || !rstart || !rlist || !placed || !c->order)
		return oom(lc);
	/* reverse edges: who waits for whom */
	for (i = 0; i < n; i++) {
		missing[i] = g.start[i + 1] - g.start[i];
		for (j = g.start[i]; j < g.start[i + 1]; j++)
			rcount[g.deps[j]]++;
	}
	for (i = 0; i < n; i++)
		rstart[i + 1] = rstart[i] + rcount[i];
	memset(rcount, 0, (n + 1) * sizeof(size_t));
	for (i = 0; i < n; i++)
		for (j = g.start[i]; j < g.start[i + 1]; j++)
			rlist[rstart[g.deps[j]] + rcount[g.deps[j]]++] = i;
	for (i = 0; i < n; i++) {
		if (missing[i])
			continue;
		heap[heap_n++] = i;   /* pushed in increasing order: already a heap */
	}
	while (heap_n) {
		size_t top = heap[0], k = 0;

		heap[0] = heap[--heap_n];
		for (;;) {   /* sift down */
			size_t l = 2 * k + 1, m = k, t;

			if (l < heap_n && heap[l] < heap[m])
				m = l;
			if (l + 1 < heap_n && heap[l + 1] < heap[m])
				m = l + 1;
			if (m == k)
				break;
			t = heap[k];
			heap[k] = heap[m];
			heap[m] = t;
			k = m;
		}
		placed[top] = true;
		c->order[out++] = top;
		for (j = rstart[top]; j < rstart[top + 1]; j++) {
			size_t w = rlist[j];

			if (--missing[w])
				continue;
			k = heap_n++;   /* sift up */
			heap[k] = w;
			while (k && heap[(k - 1) / 2] > heap[k]) {
				size_t t = heap[k];

				heap[k] = heap[(k - 1) / 2];
				heap[(k - 1) / 2] = t;
				k = (k - 1) / 2;
			}
		}
	}
	if (out < n)
		return cycle_error(lc, &g, placed);
	return 0;
}

static int cross_check(loadctx *lc)
{
	vd_compose *c = lc->c;
	strmap names = { 0 };
	bool need_default = false;
	size_t i, j;
	int r = 0;

	for (i = 0; i < c->n_services && !r; i++) {
		vd_compose_service *s = &c->services[i];
		const char *where = ar_printf(&lc->tree, "service '%s'", s->name);
		vd_compose_service *other;

		if (!where) {
			r = oom(lc);
			break;
		}
		if (s->container_name) {
			other = strmap_get(&names, s->container_name);
			if (other) {
				r = err_pos(lc, &s->pos, where, "container_name '%s' is already used by service '%s'",
					    s->container_name, other->name);
				break;
			}
			if (strmap_put(&names, s->container_name, s)) {
				r = oom(lc);
				break;
			}
		}
		for (j = 0; j < s->n_networks && !r; j++)
			if (!vd_compose_network_find(c, s->networks[j].network)) {
				if (!strcmp(s->networks[j].network, "default"))
					need_default = true;
				else
					r = err_pos(lc, &s->pos, where, "network '%s' is not declared in the "
						    "top-level networks", s->networks[j].network);
			}
		for (j = 0; j < s->n_volumes && !r; j++)
			if (s->volumes[j].type == VD_COMPOSE_MOUNT_VOLUME && s->volumes[j].source &&
			    !vd_compose_volume_find(c, s->volumes[j].source))
				r = err_pos(lc, &s->volumes[j].pos, where,
					    "volume '%s' is not declared in the top-level volumes",
					    s->volumes[j].source);
		if (!r && !s->network_mode && !s->n_networks) {
			/* compose attaches such a service to the project's default network */
			if (!(s->networks = ar_array(lc->m, 1, sizeof(*s->networks))) ||
			    !(s->networks[0].network = mdup(lc, "default"))) {
				r = oom(lc);
				break;
			}
			s->n_networks = 1;
			if (!vd_compose_network_find(c, "default"))
				need_default = true;
		}
	}
	strmap_release(&names);
	if (r)
		return r;
	if (need_default) {
		vd_compose_network *n = &c->networks[c->n_networks];

		memset(n, 0, sizeof(*n));
		n->key = mdup(lc, "default");
		n->name = ar_printf(lc->m, "%s_default", c->name);
		n->implicit = true;
		if (!n->key || !n->name)
			return oom(lc);
		c->n_networks++;
	}
	return order_services(lc);
}

/* ------------------------------------------------------------------------
 * The model from the merged tree.
 */

static int t_project(loadctx *lc, const ynode *root)
{
	vd_compose *c = lc->c;
	const ynode *services = NULL, *networks = NULL, *volumes = NULL;
	char *name = NULL;
	size_t i;
	int r = 0;

	for (i = 0; i < root->n && !r; i++) {
		const ypair *p = &root->pairs[i];
		const char *k = p->key->s;

		if (skip(p))
			continue;
		if (!strcmp(k, "version"))
			continue;
		if (!strcmp(k, "name"))
			r = t_str(lc, p->val, NULL, k, &name);
		else if (!strcmp(k, "services"))
			services = p->val;
		else if (!strcmp(k, "networks"))
			networks = p->val;
		else if (!strcmp(k, "volumes"))
			volumes = p->val;
		else
			r = unknown_key(lc, p, NULL);
	}
	if (r)
		return r;
	if (lc->opts->project_name && *lc->opts->project_name) {
		c->name = mdup(lc, lc->opts->project_name);
	} else {
		char *norm = vd_project_normalize(name && *name ? name : lc->opts->project_dir);

		if (!norm)
			return oom(lc);
		if (!name || !*name) {
			/* the directory's base name */
			const char *slash = strrchr(lc->opts->project_dir, '/');
			char *base;

			free(norm);
			base = ar_strdup(&lc->tree, slash && slash[1] ? slash + 1 : lc->opts->project_dir);
			if (!base || !(norm = vd_project_normalize(base)))
				return oom(lc);
		}
		c->name = mdup(lc, norm);
		free(norm);
	}
	if (!c->name)
		return oom(lc);
	if (!*c->name)
		return vd_error_set(lc->err, VD_EINVAL, "%s: cannot derive a project name; set one with -p",
				    lc->files[0]);
	for (i = 0; i < 3; i++) {
		const ynode *m = i == 0 ? services : i == 1 ? networks : volumes;

		if (m && m->kind != Y_MAP && m->kind != Y_NULL)
			return err_at(lc, m, NULL, "'%s' must be a mapping",
				      i == 0 ? "services" : i == 1 ? "networks" : "volumes");
	}
	if (networks && networks->kind == Y_MAP) {
		if (!(c->networks = ar_array(lc->m, networks->n + 1, sizeof(*c->networks))))
			return oom(lc);
		for (i = 0; i < networks->n && !r; i++)
			if (!skip(&networks->pairs[i]))
				r = t_network(lc, &networks->pairs[i], &c->networks[c->n_networks++]);
	} else if (!(c->networks = ar_array(lc->m, 1, sizeof(*c->networks)))) {
		return oom(lc);
	}
	if (volumes && volumes->kind == Y_MAP) {
		if (!(c->volumes = ar_array(lc->m, volumes->n, sizeof(*c->volumes))))
			return oom(lc);
		for (i = 0; i < volumes->n && !r; i++)
			if (!skip(&volumes->pairs[i]))
				r = t_volume(lc, &volumes->pairs[i], &c->volumes[c->n_volumes++]);
	}
	if (r)
		return r;
	if (!services || services->kind != Y_MAP || !services->n)
		return err_at(lc, services ? services : root, NULL, "no services defined");
	if (!(c->services = ar_array(lc->m, services->n, sizeof(*c->services))))
		return oom(lc);
	for (i = 0; i < services->n && !r; i++)
		if (!skip(&services->pairs[i]))
			r = t_service(lc, &services->pairs[i], &c->services[c->n_services++]);
	if (r)
		return r;
	return cross_check(lc);
}

/* ------------------------------------------------------------------------
 * The public API.
 */

void vd_compose_free(vd_compose *c)
{
	arena a;

	if (!c)
		return;
	a.head = c->arena;
	ar_release(&a);
}

int vd_compose_load(const vd_compose_source *files, size_t n_files, const vd_compose_options *opts,
		    vd_compose **out, vd_error *err)
{
	loadctx lc = { .opts = opts, .err = err };
	arena m = { 0 };
	ynode *merged = NULL;
	vd_compose *c;
	size_t i;
	int r = 0;

	vd_buf_init(&lc.scratch, VD_COMPOSE_MAX_FILE);
	if (!n_files || !files)
		return vd_error_set(err, VD_EINVAL, "no compose file given");
	if (!opts || !opts->project_dir || opts->project_dir[0] != '/')
		return vd_error_set(err, VD_EINVAL, "the project directory must be an absolute path");
	if (n_files > 255)
		return vd_error_set(err, VD_EINVAL, "too many compose files");
	c = ar_alloc(&m, sizeof(*c));
	lc.files = calloc(n_files, sizeof(char *));
	if (!c || !lc.files) {
		r = vd_error_set(err, VD_ENOMEM, "out of memory");
		goto done;
	}
	lc.m = &m;
	lc.c = c;
	c->working_dir = ar_strdup(&m, opts->project_dir);
	c->config_files.items = ar_array(&m, n_files, sizeof(char *));
	if (!c->working_dir || !c->config_files.items) {
		r = oom(&lc);
		goto done;
	}
	for (i = 0; i < n_files; i++) {
		if (!(c->config_files.items[i] = ar_strdup(&m, files[i].filename ? files[i].filename : "-"))) {
			r = oom(&lc);
			goto done;
		}
		lc.files[i] = c->config_files.items[i];
		c->config_files.len++;
	}
	for (i = 0; i < n_files; i++) {
		ynode *doc = NULL, *norm;

		if ((r = parse_file(&lc, (int)i, files[i].text, files[i].len, &doc)))
			goto done;
		if (!doc || doc->kind == Y_NULL) {
			r = vd_error_set(err, VD_EINVAL, "%s: empty compose file", lc.files[i]);
			goto done;
		}
		if (doc->kind != Y_MAP) {
			r = err_at(&lc, doc, NULL, "a compose file must be a mapping");
			goto done;
		}
		if ((r = normalise(&lc, doc, &norm)))
			goto done;
		if (!merged)
			merged = norm;
		else if ((r = merge_map(&lc, merged, norm, L_ROOT, 0, &merged)))
			goto done;
	}
	if ((r = t_project(&lc, merged)))
		goto done;
	c->arena = m.head;
	m.head = NULL;
	*out = c;
done:
	ar_release(&m);
	ar_release(&lc.tree);
	vd_buf_release(&lc.scratch);
	free(lc.files);
	return r;
}

static int read_file(const char *path, vd_buf *out, vd_error *err)
{
	char chunk[65536];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;
	int r = 0;

	if (fd < 0)
		return vd_error_set(err, errno == ENOENT ? VD_ENOTFOUND : VD_EIO, "%s: %s", path, strerror(errno));
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = vd_error_set(err, VD_EIO, "%s: %s", path, strerror(errno));
			break;
		}
		r = vd_buf_put(out, chunk, (size_t)n);
		if (r == VD_ETOOBIG) {
			r = vd_error_set(err, VD_EINVAL, "%s: file is larger than 16 MiB", path);
			break;
		}
		if (r) {
			r = vd_error_set(err, r, "out of memory");
			break;
		}
	}
	close(fd);
	return r;
}

int vd_compose_load_project(const vd_project *p, vd_env_lookup lookup, void *ctx, vd_compose **out,
			    vd_error *err)
{
	vd_compose_source *src = NULL;
	vd_buf *bufs = NULL;
	vd_compose_options opts = { p->dir, p->name, lookup, ctx };
	size_t i;
	int r = 0;

	if (!p->n_files)
		return vd_error_set(err, VD_ENOTFOUND, "%s: no compose file (compose.yaml, compose.yml, "
				    "docker-compose.yml, docker-compose.yaml)", p->dir);
	src = calloc(p->n_files, sizeof(*src));
	bufs = calloc(p->n_files, sizeof(*bufs));
	if (!src || !bufs) {
		r = vd_error_set(err, VD_ENOMEM, "out of memory");
		goto done;
	}
	for (i = 0; i < p->n_files; i++) {
		vd_buf_init(&bufs[i], VD_COMPOSE_MAX_FILE);
		if ((r = read_file(p->files[i], &bufs[i], err)))
			goto done;
		src[i].filename = p->files[i];
		src[i].text = vd_buf_cstr(&bufs[i]);
		src[i].len = bufs[i].len;
	}
	r = vd_compose_load(src, p->n_files, &opts, out, err);
done:
	for (i = 0; bufs && i < p->n_files; i++)
		vd_buf_release(&bufs[i]);
	free(bufs);
	free(src);
	return r;
}

const vd_compose_service *vd_compose_service_find(const vd_compose *c, const char *name)
{
	ssize_t i = service_index(c, name);

	return i < 0 ? NULL : &c->services[i];
}

const vd_compose_network *vd_compose_network_find(const vd_compose *c, const char *key)
{
	size_t i;

	for (i = 0; i < c->n_networks; i++)
		if (!strcmp(c->networks[i].key, key))
			return &c->networks[i];
	return NULL;
}

const vd_compose_volume *vd_compose_volume_find(const vd_compose *c, const char *key)
{
	size_t i;

	for (i = 0; i < c->n_volumes; i++)
		if (!strcmp(c->volumes[i].key, key))
			return &c->volumes[i];
	return NULL;
}

const vd_compose_service *vd_compose_ordered(const vd_compose *c, size_t i)
{
	if (!c || i >= c->n_services)
		return NULL;
	return &c->services[c->order[i]];
}

static int kvs_set(vd_kvs *kvs, const char *key, const char *value)
{
	size_t i;
	char *v;

	for (i = 0; i < kvs->len; i++)
		if (!strcmp(kvs->items[i].key, key)) {
			if (!(v = strdup(value)))
				return VD_ENOMEM;
			free(kvs->items[i].value);
			kvs->items[i].value = v;
			return 0;
		}
	return vd_kvs_add(kvs, key, value);
}

int vd_compose_service_env(const vd_compose_service *s, vd_env_lookup lookup, void *ctx, vd_kvs *out,
			   vd_error *err)
{
	vd_kvs env = { NULL, 0 };
	size_t i, j;
	int r = 0;

	for (i = 0; i < s->env_file.len && !r; i++) {
		vd_kvs f = { NULL, 0 };

		r = vd_dotenv_load(s->env_file.items[i], s->env_file_required[i], lookup, ctx, &f, err);
		if (r) {
			vd_error_prefix(err, "service '%s': env_file", s->name);
			break;
		}
		for (j = 0; j < f.len && !r; j++)
			r = kvs_set(&env, f.items[j].key, f.items[j].value);
		vd_kvs_release(&f);
	}
	for (i = 0; i < s->environment.len && !r; i++)
		r = kvs_set(&env, s->environment.items[i].key, s->environment.items[i].value);
	if (r) {
		if (r == VD_ENOMEM)
			vd_error_set(err, r, "out of memory");
		vd_kvs_release(&env);
		return r;
	}
	*out = env;
	return 0;
}
