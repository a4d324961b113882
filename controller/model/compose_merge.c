#include "controller/model/compose_private.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------
 * Per-file normalisation: the list forms of mapping-like keys become
 * mappings (so that merging by key works), strings that stand for a list of
 * one become that list, x-* extensions are dropped.  Nodes may be shared
 * through aliases: everything changed is a new node.
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

enum split_mode { SPLIT_EQ, SPLIT_HOST, SPLIT_NONE };

/* A list of "KEY=VALUE" / "KEY" (SPLIT_EQ), "HOST:IP" / "HOST=IP"
 * (SPLIT_HOST) or "NAME" (SPLIT_NONE) strings as a mapping; a later entry
 * with the same key replaces an earlier one in place. */
static int list_to_map(loadctx *lc, const vd_yaml_node *seq, const char *where, const char *key,
		       enum split_mode mode, vd_yaml_node **out)
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
		if (mode == SPLIT_EQ) {
			sep = strchr(s, '=');
		} else if (mode == SPLIT_HOST) {
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
	*out = seq;
	return 0;
}

/* Normalise the value of a list-or-mapping key in place in the pair. */
static int norm_mapping(loadctx *lc, vd_yaml_pair *p, const char *where, enum split_mode mode)
{
	if (p->val->kind == VD_YAML_SEQ)
		return list_to_map(lc, p->val, where, p->key->s, mode, &p->val);
	return 0;
}

static int norm_string_list(loadctx *lc, vd_yaml_pair *p)
{
	if (p->val->kind == VD_YAML_STR)
		return str_to_list(lc, p->val, &p->val);
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

static int norm_build(loadctx *lc, vd_yaml_pair *p, const char *where)
{
	vd_yaml_node *b;
	size_t i;
	int r;

	if (p->val->kind == VD_YAML_STR) {
		vd_yaml_node *k = vd_yaml_node_new(lc->y, VD_YAML_STR, p->val);

		b = vd_yaml_node_new(lc->y, VD_YAML_MAP, p->val);
		if (!k || !b || !(b->pairs = vd_yaml_array(lc->y, 1, sizeof(vd_yaml_pair))) ||
		    !(k->s = vd_yaml_strdup(lc->y, "context")))
			return compose_oom(lc);
		b->pairs[0].key = k;
		b->pairs[0].val = p->val;
		b->n = 1;
		p->val = b;
		return 0;
	}
	if (p->val->kind != VD_YAML_MAP)
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

static int norm_service(loadctx *lc, vd_yaml_pair *sp)
{
	const char *where;
	vd_yaml_node *svc;
	size_t i;
	int r;

	if (sp->val->kind != VD_YAML_MAP)
		return 0;
	where = vd_yaml_printf(lc->y, "service '%s'", sp->key->s);
	if (!where)
		return compose_oom(lc);
	if ((r = strip_ext(lc, sp->val, &svc)))
		return r;
	for (i = 0; i < svc->n && !r; i++) {
		vd_yaml_pair *p = &svc->pairs[i];
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

static int norm_resource(loadctx *lc, vd_yaml_pair *rp, const char *kind)
{
	const char *where;
	vd_yaml_node *res;
	size_t i;
	int r;

	if (rp->val->kind != VD_YAML_MAP)
		return 0;
	where = vd_yaml_printf(lc->y, "%s '%s'", kind, rp->key->s);
	if (!where)
		return compose_oom(lc);
	if ((r = strip_ext(lc, rp->val, &res)))
		return r;
	for (i = 0; i < res->n; i++)
		if (!strcmp(res->pairs[i].key->s, "labels") &&
		    (r = norm_mapping(lc, &res->pairs[i], where, SPLIT_EQ)))
			return r;
	rp->val = res;
	return 0;
}

int compose_normalise(loadctx *lc, vd_yaml_node *doc, vd_yaml_node **out)
{
	vd_yaml_node *root;
	size_t i, j;
	int r;

	if ((r = strip_ext(lc, doc, &root)))
		return r;
	for (i = 0; i < root->n; i++) {
		vd_yaml_pair *p = &root->pairs[i];
		const char *k = p->key->s;
		vd_yaml_node *m;

		if (p->val->kind != VD_YAML_MAP)
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

static int merge_value(loadctx *lc, vd_yaml_node *a, vd_yaml_node *b, enum level lv, int depth, vd_yaml_node **out);

static int merge_map(loadctx *lc, vd_yaml_node *a, vd_yaml_node *b, enum level lv, int depth, vd_yaml_node **out)
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
		enum level sub = L_GENERIC;
		const char *k = key->s;

		if (at && !vd_yaml_has_tag(val, COMPOSE_TAG_OVERRIDE) && !vd_yaml_has_tag(val, COMPOSE_TAG_RESET)) {
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
				vd_yaml_node *da = vd_yaml_map_get(at->val, "driver"), *db = vd_yaml_map_get(val, "driver");

				if (da && db && da->kind == VD_YAML_STR && db->kind == VD_YAML_STR && strcmp(da->s, db->s))
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
	vd_strmap_release(&idx);
	return r;
}

static int merge_value(loadctx *lc, vd_yaml_node *a, vd_yaml_node *b, enum level lv, int depth, vd_yaml_node **out)
{
	vd_yaml_node *s;

	if (a->kind == VD_YAML_MAP && b->kind == VD_YAML_MAP)
		return merge_map(lc, a, b, lv, depth, out);
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
	return merge_map(lc, base, over, L_ROOT, 0, out);
}
