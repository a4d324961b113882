/* Each compose file brought to one form, and the files merged. */
#include "controller/model/compose_private.h"

#include <string.h>

/* ------------------------------------------------------------------------
 * Per-file normalisation: the list forms of mapping-like keys become
 * mappings (so that merging by key works), strings that stand for a list of
 * one become that list, x-* extensions are dropped — where the tables' rows
 * say (compose_key.norm, .sub, .each).  Nodes may be shared through
 * aliases: everything changed is a new node.
 */

static vd_yaml_node *copy_map(loadctx *lc, const vd_yaml_node *src, size_t cap)
{
	vd_yaml_node *n = vd_yaml_map_new(lc->y, src, cap);

	if (!n)
		return NULL;
	n->tag = src->tag;
	return n;
}

static int map_set(loadctx *lc, vd_yaml_node *map, compose_strmap *idx, vd_yaml_node *key, vd_yaml_node *val)
{
	vd_yaml_pair *at = vd_strmap_get(idx, key->s);

	if (at) {
		at->val = val;
		return 0;
	}
	map->pairs[map->n].key = key;
	map->pairs[map->n].val = val;
	if (vd_strmap_put(idx, key->s, &map->pairs[map->n]))
		return compose_oom(lc);
	map->n++;
	return 0;
}

/* A list of "KEY=VALUE" / "KEY" (COMPOSE_KEY_VALUE), "HOST:IP" / "HOST=IP"
 * (COMPOSE_HOST_IP) or "NAME" (COMPOSE_NAMES) strings as a mapping; a later
 * entry with the same key replaces an earlier one in place. */
static int list_to_map(loadctx *lc, const vd_yaml_node *seq, const char *where, const char *key,
		       enum compose_norm mode, vd_yaml_node **out)
{
	compose_strmap idx = { 0 };
	vd_yaml_node *map;
	size_t i;
	int r = 0;

	if ((r = compose_charge(lc, seq, seq->n)))
		return r;
	map = copy_map(lc, seq, seq->n);
	if (!map)
		return compose_oom(lc);
	for (i = 0; i < seq->n; i++) {
		const vd_yaml_node *it = seq->items[i];
		const char *s, *sep = NULL;
		vd_yaml_node *k, *v;

		if (it->kind != VD_YAML_STR) {
			r = compose_err(lc, it, where, "'%s' entries must be strings", key);
			goto done;
		}
		s = it->s;
		if (mode == COMPOSE_KEY_VALUE) {
			sep = strchr(s, '=');
		} else if (mode == COMPOSE_HOST_IP) {
			sep = strchr(s, '=');
			if (!sep)
				sep = strchr(s, ':');
			if (!sep) {
				r = compose_err(lc, it, where, "invalid %s entry '%s' (want HOST:IP)", key, s);
				goto done;
			}
		}
		k = vd_yaml_node_new(lc->y, VD_YAML_STR, it);
		v = vd_yaml_node_new(lc->y, sep ? VD_YAML_STR : VD_YAML_NULL, it);
		if (!k || !v || !(k->s = vd_yaml_strndup(lc->y, s, sep ? (size_t)(sep - s) : strlen(s))) ||
		    (sep && !(v->s = vd_yaml_strdup(lc->y, sep + 1)))) {
			r = compose_oom(lc);
			goto done;
		}
		if (!k->s[0]) {
			r = compose_err(lc, it, where, "invalid %s entry '%s'", key, s);
			goto done;
		}
		if ((r = map_set(lc, map, &idx, k, v)))
			goto done;
	}
	map->written = seq;
	*out = map;
done:
	vd_strmap_release(&idx);
	return r;
}

static int str_to_list(loadctx *lc, vd_yaml_node *s, vd_yaml_node **out)
{
	vd_yaml_node *seq = vd_yaml_seq_new(lc->y, s, 1);

	if (!seq)
		return compose_oom(lc);
	seq->items[0] = s;
	seq->n = 1;
	seq->written = s;
	*out = seq;
	return 0;
}

/* A mapping copied without its x-* keys, ready to have pair values
 * replaced. */
static int strip_ext(loadctx *lc, const vd_yaml_node *src, vd_yaml_node **out)
{
	vd_yaml_node *n = copy_map(lc, src, src->n);
	size_t i;

	if (!n)
		return compose_oom(lc);
	for (i = 0; i < src->n; i++)
		if (!compose_is_ext(src->pairs[i].key->s))
			n->pairs[n->n++] = src->pairs[i];
	*out = n;
	return 0;
}

/* A lone string as the mapping {key: string}. */
static int lone_to_map(loadctx *lc, vd_yaml_node *s, const char *key, vd_yaml_node **out)
{
	vd_yaml_node *k = vd_yaml_node_new(lc->y, VD_YAML_STR, s);
	vd_yaml_node *m = vd_yaml_map_new(lc->y, s, 1);

	if (!k || !m || !(k->s = vd_yaml_strdup(lc->y, key)))
		return compose_oom(lc);
	m->pairs[0].key = k;
	m->pairs[0].val = s;
	m->n = 1;
	*out = m;
	return 0;
}

static int norm_keys(loadctx *lc, const vd_yaml_node *src, const char *where, const compose_table *t,
		     vd_yaml_node **out);

/* The entries of a mapping of NAME: entry, without its x-* names; each
 * entry that is a mapping normalised by t ("service 'NAME'" in messages). */
static int norm_entries(loadctx *lc, const vd_yaml_node *src, const compose_table *t, vd_yaml_node **out)
{
	vd_yaml_node *m;
	size_t i;
	int r;

	if ((r = strip_ext(lc, src, &m)))
		return r;
	for (i = 0; i < m->n; i++) {
		vd_yaml_pair *e = &m->pairs[i];
		const char *where;

		if (e->val->kind != VD_YAML_MAP)
			continue;
		if (!(where = vd_yaml_printf(lc->y, "%s '%s'", t->what, e->key->s)))
			return compose_oom(lc);
		if ((r = norm_keys(lc, e->val, where, t, &e->val)))
			return r;
	}
	*out = m;
	return 0;
}

/* The value of pair p in the one form row k (NULL: no row) says. */
static int norm_value(loadctx *lc, vd_yaml_pair *p, const char *where, const compose_key *k)
{
	vd_yaml_node *v = p->val;

	if (!k)
		return 0;
	if (k->each)
		return v->kind == VD_YAML_MAP ? norm_entries(lc, v, k->each, &p->val) : 0;
	switch (k->norm) {
	case COMPOSE_KEY_VALUE:
	case COMPOSE_HOST_IP:
	case COMPOSE_NAMES:
		return v->kind == VD_YAML_SEQ ? list_to_map(lc, v, where, p->key->s, k->norm, &p->val) : 0;
	case COMPOSE_LIST:
		return v->kind == VD_YAML_STR ? str_to_list(lc, v, &p->val) : 0;
	case COMPOSE_SUB:
		if (v->kind == VD_YAML_STR && k->sub->lone_key)
			return lone_to_map(lc, v, k->sub->lone_key, &p->val);
		return v->kind == VD_YAML_MAP ? norm_keys(lc, v, where, k->sub, &p->val) : 0;
	case COMPOSE_AS_IS:
		break;
	}
	return 0;
}

/* A mapping without its x-* keys, each value normalised by its row in t. */
static int norm_keys(loadctx *lc, const vd_yaml_node *src, const char *where, const compose_table *t,
		     vd_yaml_node **out)
{
	vd_yaml_node *m;
	size_t i;
	int r;

	if ((r = strip_ext(lc, src, &m)))
		return r;
	for (i = 0; i < m->n; i++)
		if ((r = norm_value(lc, &m->pairs[i], where, compose_key_find(t, m->pairs[i].key->s))))
			return r;
	*out = m;
	return 0;
}

int compose_normalise(loadctx *lc, vd_yaml_node *doc, vd_yaml_node **out)
{
	return norm_keys(lc, doc, NULL, &compose_project_table, out);
}

/* ------------------------------------------------------------------------
 * Merging override files, as compose-go's override package does.  What a
 * mapping's keys are comes from the tables: t's rows, or (named) a mapping
 * of NAME: entry whose entries have t's rows; NULL: no rules below.
 */

static int merge_value(loadctx *lc, vd_yaml_node *a, vd_yaml_node *b, const compose_table *t, bool named,
		       int depth, vd_yaml_node **out);

/* Whether, by row k, b replaces a instead of merging with it. */
static bool replaces(const compose_key *k, const vd_yaml_node *a, const vd_yaml_node *b)
{
	const vd_yaml_node *da, *db;

	if (!k || k->merge == COMPOSE_MERGE)
		return false;
	if (k->merge == COMPOSE_REPLACE)
		return true;
	da = vd_yaml_map_get(a, "driver");
	db = vd_yaml_map_get(b, "driver");
	return da && db && da->kind == VD_YAML_STR && db->kind == VD_YAML_STR && strcmp(da->s, db->s);
}

static int merge_map(loadctx *lc, vd_yaml_node *a, vd_yaml_node *b, const compose_table *t, bool named,
		     int depth, vd_yaml_node **out)
{
	compose_strmap idx = { 0 };
	vd_yaml_node *m;
	size_t i;
	int r = 0;

	if (depth > VD_YAML_MAX_DEPTH + 2)
		return compose_err(lc, b, NULL, "nesting deeper than %d levels", VD_YAML_MAX_DEPTH);
	if ((r = compose_charge(lc, b, a->n + b->n)))
		return r;
	m = copy_map(lc, a, a->n + b->n);
	if (!m)
		return compose_oom(lc);
	for (i = 0; i < a->n; i++)
		if ((r = map_set(lc, m, &idx, a->pairs[i].key, a->pairs[i].val)))
			goto done;
	for (i = 0; i < b->n; i++) {
		vd_yaml_node *key = b->pairs[i].key, *val = b->pairs[i].val, *merged = val;
		vd_yaml_pair *at = vd_strmap_get(&idx, key->s);

		if (at && !vd_yaml_has_tag(val, COMPOSE_TAG_OVERRIDE) && !vd_yaml_has_tag(val, COMPOSE_TAG_RESET)) {
			const compose_key *k = named ? NULL : compose_key_find(t, key->s);
			const compose_table *sub = named ? t : k ? (k->each ? k->each : k->sub) : NULL;

			if (!replaces(k, at->val, val) &&
			    (r = merge_value(lc, at->val, val, sub, k && k->each, depth + 1, &merged)))
				goto done;
		}
		if ((r = map_set(lc, m, &idx, key, merged)))
			goto done;
	}
	*out = m;
done:
	vd_strmap_release(&idx);
	return r;
}

static int merge_value(loadctx *lc, vd_yaml_node *a, vd_yaml_node *b, const compose_table *t, bool named,
		       int depth, vd_yaml_node **out)
{
	vd_yaml_node *s;

	if (a->kind == VD_YAML_MAP && b->kind == VD_YAML_MAP)
		return merge_map(lc, a, b, t, named, depth, out);
	if (a->kind == VD_YAML_SEQ && b->kind == VD_YAML_SEQ) {
		int r = compose_charge(lc, b, a->n + b->n);

		if (r)
			return r;
		s = vd_yaml_seq_new(lc->y, b, a->n + b->n);
		if (!s)
			return compose_oom(lc);
		if (a->n)
			memcpy(s->items, a->items, a->n * sizeof(vd_yaml_node *));
		if (b->n)
			memcpy(s->items + a->n, b->items, b->n * sizeof(vd_yaml_node *));
		s->n = a->n + b->n;
		*out = s;
		return 0;
	}
	*out = b;
	return 0;
}

int compose_merge(loadctx *lc, vd_yaml_node *base, vd_yaml_node *over, vd_yaml_node **out)
{
	return merge_map(lc, base, over, &compose_project_table, false, 0, out);
}
