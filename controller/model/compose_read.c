/* Reading the merged tree into the model: a mapping by its table, lists
 * and mappings of entries, and the typed values every table's rows read. */
#include "controller/model/compose_private.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------
 * A mapping by its table.
 */

const compose_key *compose_key_find(const compose_table *t, const char *name)
{
	size_t i;

	/* the first letter first: most keys differ there, and this runs for
	 * every key when each file is normalised and again when it is typed */
	for (i = 0; t && i < t->n; i++)
		if (t->keys[i].name[0] == name[0] && !strcmp(t->keys[i].name, name))
			return &t->keys[i];
	return NULL;
}

int compose_err_oneof(loadctx *lc, const vd_yaml_node *v, const char *where, const char *key,
		      const char *const *values)
{
	vd_buf b = VD_BUF_INIT;
	size_t i;
	int r;

	for (i = 0; values[i]; i++)
		vd_buf_printf(&b, "%s%s", !i ? "" : values[i + 1] ? ", " : " or ", values[i]);
	r = compose_err(lc, v, where, "'%s' must be %s", key, vd_buf_cstr(&b));
	vd_buf_release(&b);
	return r;
}

static bool is_oneof(const char *s, const char *const *values)
{
	for (; *values; values++)
		if (!strcmp(s, *values))
			return true;
	return false;
}

static int read_value(loadctx *lc, const vd_yaml_node *v, const char *where, const compose_key *k, void *obj)
{
	void *at = (char *)obj + k->off;
	char **s = at;
	int r;

	switch (k->type) {
	case COMPOSE_IGNORE:
		return 0;
	case COMPOSE_STR:
		if ((r = compose_t_str(lc, v, where, k->name, s)))
			return r;
		if (k->oneof && *s && !is_oneof(*s, k->oneof))
			return compose_err_oneof(lc, v, where, k->name, k->oneof);
		return 0;
	case COMPOSE_BOOL:
		return compose_t_bool(lc, v, where, k->name, at);
	case COMPOSE_INT:
		return compose_t_int(lc, v, where, k->name, k->min, at);
	case COMPOSE_DURATION:
		return compose_t_duration(lc, v, where, k->name, at);
	case COMPOSE_BYTES:
		return compose_t_bytes(lc, v, where, k->name, at);
	case COMPOSE_CPUS:
		return compose_t_cpus(lc, v, where, k->name, at);
	case COMPOSE_STRS:
		return compose_t_strs(lc, v, where, k->name, k->strs & COMPOSE_LONE_STR, k->strs & COMPOSE_DEDUPE,
				      at);
	case COMPOSE_KVS:
		return compose_t_kvs(lc, v, where, k->name, k->null, at);
	case COMPOSE_MAP:
		if ((r = compose_t_map_or_null(lc, v, where, k->name)))
			return r;
		/* fall through */
	case COMPOSE_NODE:
		*(const vd_yaml_node **)at = v;
		return 0;
	case COMPOSE_SECTION:
		return compose_read_section(lc, v, where, k->name, k->sub, at);
	case COMPOSE_READ:
		return k->read(lc, v, where, k, obj);
	}
	return 0;
}

int compose_read_keys(loadctx *lc, const vd_yaml_node *map, const char *where, const compose_table *t,
		      void *obj)
{
	size_t i;
	int r = 0;

	for (i = 0; i < map->n && !r; i++) {
		const vd_yaml_pair *p = &map->pairs[i];
		const compose_key *k;

		if (compose_skip(p))
			continue;
		if (!(k = compose_key_find(t, p->key->s))) {
			if (!t->x_keys || !compose_is_ext(p->key->s))
				r = compose_unknown_key(lc, p, where);
			continue;
		}
		if (k->given)
			*(bool *)((char *)obj + k->given) = true;
		r = read_value(lc, p->val, where, k, obj);
	}
	return r;
}

int compose_read_section(loadctx *lc, const vd_yaml_node *v, const char *where, const char *key,
			 const compose_table *t, void *obj)
{
	const char *w = compose_sub_where(lc, where, key);

	if (!w)
		return compose_oom(lc);
	if (v->kind == VD_YAML_NULL)
		return 0;
	if (v->kind != VD_YAML_MAP)
		return compose_err(lc, v, where, "'%s' must be a mapping", key);
	return compose_read_keys(lc, v, w, t, obj);
}

/* ------------------------------------------------------------------------
 * Lists and mappings of entries.
 */

static int make_room(loadctx *lc, const compose_room *room, size_t n, void *ctx)
{
	void **at = (void **)((char *)ctx + room->array);

	if (!room->size)
		return 0;
	return (*at = vd_arena_array(lc->m, n + room->spare, room->size)) ? 0 : compose_oom(lc);
}

int compose_read_list(loadctx *lc, const vd_yaml_node *v, const char *where, const char *key,
		      const compose_list *l, void *ctx)
{
	size_t i;
	int r = 0;

	if (v->kind == VD_YAML_NULL)
		return 0;
	if (v->kind != VD_YAML_SEQ)
		return compose_err(lc, v, where, "'%s' must be %s", key, l->must_be);
	if (l->charge && (r = compose_charge(lc, v, v->n)))
		return r;
	if ((r = make_room(lc, &l->room, v->n, ctx)))
		return r;
	for (i = 0; i < v->n && !r; i++) {
		const vd_yaml_node *it = v->items[i];

		if (it->kind == VD_YAML_STR && l->str)
			r = l->str(lc, it, where, ctx);
		else if (it->kind == VD_YAML_MAP && l->map)
			r = l->map(lc, it, where, ctx);
		else
			r = compose_err(lc, it, where, "'%s' entries must be %s", key,
					l->str ? "strings or mappings" : "mappings");
	}
	return r;
}

int compose_read_named(loadctx *lc, const vd_yaml_node *v, const char *where, const char *key,
		       const compose_named *m, void *ctx)
{
	size_t i;
	int r = 0;

	if (v->kind == VD_YAML_NULL)
		return 0;
	if (v->kind != VD_YAML_MAP)
		return compose_err(lc, v, where, "'%s' must be %s", key, m->must_be);
	if ((r = make_room(lc, &m->room, v->n, ctx)))
		return r;
	for (i = 0; i < v->n && !r; i++)
		if (!compose_skip(&v->pairs[i]))
			r = m->entry(lc, &v->pairs[i], where, ctx);
	return r;
}

/* ------------------------------------------------------------------------
 * Typed values, shared by the service and top-level typing: the merged
 * tree into the model.  `where` names the thing being read in messages
 * ("service 'app'", "service 'app': build").
 */

char *compose_dup(loadctx *lc, const char *s)
{
	return vd_arena_strdup(lc->m, s);
}

int compose_t_str(loadctx *lc, const vd_yaml_node *v, const char *where, const char *key, char **out)
{
	const char *s;
	int r = vd_yaml_get_str(lc->y, v, where, key, &s, lc->err);

	if (r)
		return r;
	*out = NULL;
	if (s && !(*out = compose_dup(lc, s)))
		return compose_oom(lc);
	return 0;
}

int compose_t_bool(loadctx *lc, const vd_yaml_node *v, const char *where, const char *key, bool *out)
{
	return vd_yaml_get_bool(lc->y, v, where, key, out, lc->err);
}

int compose_t_int(loadctx *lc, const vd_yaml_node *v, const char *where, const char *key, int64_t min,
		  int64_t *out)
{
	return vd_yaml_get_int(lc->y, v, where, key, min, INT64_MAX, out, lc->err);
}

/* A string parsed by parse: "'KEY' must be WHAT", "'KEY': invalid NAME 'TEXT'". */
static int t_parsed(loadctx *lc, const vd_yaml_node *v, const char *where, const char *key,
		    int (*parse)(const char *, int64_t *), const char *what, const char *name, int64_t *out)
{
	if (v->kind == VD_YAML_NULL)
		return 0;
	if (v->kind != VD_YAML_STR)
		return compose_err(lc, v, where, "'%s' must be %s", key, what);
	if (parse(v->s, out))
		return compose_err(lc, v, where, "'%s': invalid %s '%s'", key, name, v->s);
	return 0;
}

int compose_t_duration(loadctx *lc, const vd_yaml_node *v, const char *where, const char *key, int64_t *out)
{
	return t_parsed(lc, v, where, key, vd_compose_parse_duration, "a duration string", "duration", out);
}

int compose_t_bytes(loadctx *lc, const vd_yaml_node *v, const char *where, const char *key, int64_t *out)
{
	return t_parsed(lc, v, where, key, vd_compose_parse_bytes, "a byte size", "byte size", out);
}

int compose_t_cpus(loadctx *lc, const vd_yaml_node *v, const char *where, const char *key, double *out)
{
	char *end;
	double d;

	if (v->kind == VD_YAML_NULL)
		return 0;
	if (v->kind != VD_YAML_STR)
		return compose_err(lc, v, where, "'%s' must be a number", key);
	errno = 0;
	d = strtod(v->s, &end);
	if (errno || end == v->s || *end || !isfinite(d) || d < 0 || isspace((unsigned char)v->s[0]))
		return compose_err(lc, v, where, "'%s': invalid number '%s'", key, v->s);
	*out = d;
	return 0;
}

/* A list of strings (a lone string too when allow_str), duplicates
 * dropped when dedupe. */
int compose_t_strs(loadctx *lc, const vd_yaml_node *v, const char *where, const char *key, bool allow_str,
		  bool dedupe, vd_compose_strs *out)
{
	compose_strmap seen = { 0 };
	size_t i;
	int r = 0;

	out->items = NULL;
	out->len = 0;
	if (v->kind == VD_YAML_NULL)
		return 0;
	if (v->kind == VD_YAML_STR && allow_str) {
		if (!(out->items = vd_arena_array(lc->m, 1, sizeof(char *))) || !(out->items[0] = compose_dup(lc, v->s)))
			return compose_oom(lc);
		out->len = 1;
		return 0;
	}
	if (v->kind != VD_YAML_SEQ)
		return compose_err(lc, v, where, "'%s' must be a list%s", key, allow_str ? " or a string" : "");
	if ((r = compose_charge(lc, v, v->n)))
		return r;
	if (!(out->items = vd_arena_array(lc->m, v->n, sizeof(char *))))
		return compose_oom(lc);
	for (i = 0; i < v->n; i++) {
		const vd_yaml_node *it = v->items[i];

		if (it->kind != VD_YAML_STR) {
			r = compose_err(lc, it, where, "'%s' entries must be strings", key);
			goto done;
		}
		if (dedupe) {
			if (vd_strmap_get(&seen, it->s))
				continue;
			if (vd_strmap_put(&seen, it->s, (void *)it)) {
				r = compose_oom(lc);
				goto done;
			}
		}
		if (!(out->items[out->len++] = compose_dup(lc, it->s))) {
			r = compose_oom(lc);
			goto done;
		}
	}
done:
	vd_strmap_release(&seen);
	return r;
}

/* A mapping of scalars (list forms were made mappings by compose_normalise()). */
int compose_t_kvs(loadctx *lc, const vd_yaml_node *v, const char *where, const char *key, enum compose_null_mode nm,
		 vd_kvs *out)
{
	size_t i;
	int r;

	out->items = NULL;
	out->len = 0;
	if (v->kind == VD_YAML_NULL)
		return 0;
	if (v->kind != VD_YAML_MAP)
		return compose_err(lc, v, where, "'%s' must be a list or a mapping", key);
	if ((r = compose_charge(lc, v, v->n)))
		return r;
	if (!(out->items = vd_arena_array(lc->m, v->n, sizeof(vd_kv))))
		return compose_oom(lc);
	for (i = 0; i < v->n; i++) {
		const vd_yaml_pair *p = &v->pairs[i];
		const char *val = "";

		if (compose_skip(p))
			continue;
		if (p->val->kind == VD_YAML_STR) {
			val = p->val->s;
		} else if (p->val->kind == VD_YAML_NULL) {
			if (nm == COMPOSE_NULL_LOOKUP) {
				val = lc->opts->lookup ? lc->opts->lookup(p->key->s, lc->opts->lookup_ctx) : NULL;
				if (!val)
					continue;
			}
		} else {
			return compose_err(lc, p->val, where, "'%s': the value of '%s' must be a string", key,
				      p->key->s);
		}
		out->items[out->len].key = compose_dup(lc, p->key->s);
		out->items[out->len].value = compose_dup(lc, val);
		if (!out->items[out->len].key || !out->items[out->len].value)
			return compose_oom(lc);
		out->len++;
	}
	return 0;
}

int compose_t_map_or_null(loadctx *lc, const vd_yaml_node *v, const char *where, const char *key)
{
	return vd_yaml_expect_map(lc->y, v, where, key, lc->err);
}

int compose_unknown_key(loadctx *lc, const vd_yaml_pair *p, const char *where)
{
	return vd_yaml_unknown_key(lc->y, p, where, lc->err);
}

vd_compose_pos compose_pos_of(loadctx *lc, const vd_yaml_node *n)
{
	vd_compose_pos pos = { lc->c->config_files.items[n->file], n->line, n->col };

	return pos;
}

char *compose_sub_where(loadctx *lc, const char *where, const char *key)
{
	return vd_yaml_printf(lc->y, "%s: %s", where, key);
}

/* Join and clean a path: absolute results, "." and ".." folded, `~`
 * expanded from HOME. */
char *compose_resolve_path(loadctx *lc, const char *path)
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
	out = vd_arena_alloc(lc->m, strlen(joined) + 2);
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
