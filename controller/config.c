#include "controller/config.h"
#include "controller/yaml.h"
#include "common/clock.h"
#include "common/log.h"
#include "health/postgres.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CONFIG_FILE ((size_t)1 << 20)

/* What a string value is, for the secrets rule. */
enum secret {
	PLAIN,       /* no secret */
	SECRET,      /* the whole value is one (a token, a header value) */
	URL,         /* a URL whose user:password@ may carry one */
	CONNINFO,    /* a libpq conninfo whose password may carry one */
};

typedef struct pctx {
	vd_yaml *y;
	vd_config *c;
	vd_env_lookup lookup;
	void *lookup_ctx;
	vd_error *err;
	vd_kvs seen;     /* variables looked up while interpolating a secret */
	bool record;
} pctx;

const char *vd_config_order_name(vd_config_order o)
{
	return o == VD_ORDER_START_FIRST ? "start-first" : "stop-first";
}

static int oom(vd_error *err)
{
	return vd_error_set(err, VD_ENOMEM, "out of memory");
}

/* ---- finding the secret part of a conninfo or URL ---- */

static bool is_uri(const char *s)
{
	return !strncmp(s, "postgresql://", 13) || !strncmp(s, "postgres://", 11);
}

/* The password of a URL's authority (scheme://user:password@host...):
 * *at and *len, false when there is none. */
static bool url_password(const char *s, size_t *at, size_t *len)
{
	const char *auth = strstr(s, "://"), *end, *atsign = NULL, *colon, *q;

	if (!auth)
		return false;
	auth += 3;
	end = auth + strcspn(auth, "/?#");
	for (q = auth; q < end; q++)
		if (*q == '@')
			atsign = q;
	if (!atsign)
		return false;
	colon = memchr(auth, ':', (size_t)(atsign - auth));
	if (!colon)
		return false;
	*at = (size_t)(colon + 1 - s);
	*len = (size_t)(atsign - colon - 1);
	return true;
}

/* A URI's ?password=... or &password=... */
static bool uri_query_password(const char *s, size_t *at, size_t *len)
{
	const char *q = strchr(s, '?');

	while (q) {
		q++;
		if (!strncmp(q, "password=", 9)) {
			*at = (size_t)(q + 9 - s);
			*len = strcspn(q + 9, "&#");
			return true;
		}
		q = strchr(q, '&');
	}
	return false;
}

/* key=value conninfo: the value of `password` (quotes included). */
static bool kv_password(const char *s, size_t *at, size_t *len)
{
	const char *p = s;

	while (*p) {
		const char *key, *val;
		size_t klen;

		while (isspace((unsigned char)*p))
			p++;
		key = p;
		while (*p && *p != '=' && !isspace((unsigned char)*p))
			p++;
		klen = (size_t)(p - key);
		while (isspace((unsigned char)*p))
			p++;
		if (*p != '=')
			return false;   /* malformed: libpq will say so */
		p++;
		while (isspace((unsigned char)*p))
			p++;
		val = p;
		if (*p == '\'') {
			for (p++; *p && *p != '\''; p++)
				if (*p == '\\' && p[1])
					p++;
			if (*p)
				p++;
		} else {
			while (*p && !isspace((unsigned char)*p))
				p++;
		}
		if (klen == 8 && !strncmp(key, "password", 8)) {
			*at = (size_t)(val - s);
			*len = (size_t)(p - val);
			return true;
		}
	}
	return false;
}

/* Every password-like span of a conninfo: at most two (URI userinfo and
 * query). */
static size_t conninfo_passwords(const char *s, size_t at[2], size_t len[2])
{
	size_t n = 0;

	if (is_uri(s)) {
		if (url_password(s, &at[n], &len[n]))
			n++;
		if (uri_query_password(s, &at[n], &len[n]))
			n++;
	} else if (kv_password(s, &at[0], &len[0])) {
		n = 1;
	}
	return n;
}

/* Whether text holds a variable reference ($VAR or ${VAR}). */
static bool has_var(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i++)
		if (s[i] == '$') {
			if (s[i + 1] == '$') {
				i++;
				continue;
			}
			if (s[i + 1] == '{' || isalpha((unsigned char)s[i + 1]) || s[i + 1] == '_')
				return true;
		}
	return false;
}

static int mask_spans(const char *s, const size_t *at, const size_t *len, size_t n, vd_buf *out)
{
	size_t pos = 0, i;
	int r = 0;

	for (i = 0; i < n && !r; i++) {
		if (at[i] < pos)
			continue;
		r = vd_buf_put(out, s + pos, at[i] - pos);
		if (!r && len[i])
			r = vd_buf_puts(out, "***");
		pos = at[i] + len[i];
	}
	if (!r)
		r = vd_buf_puts(out, s + pos);
	return r;
}

int vd_config_mask_conninfo(const char *conninfo, vd_buf *out)
{
	size_t at[2], len[2], n = conninfo_passwords(conninfo, at, len);

	if (n == 2 && at[1] < at[0]) {
		size_t t = at[0], u = len[0];

		at[0] = at[1];
		len[0] = len[1];
		at[1] = t;
		len[1] = u;
	}
	return mask_spans(conninfo, at, len, n, out);
}

int vd_config_mask_url(const char *url, vd_buf *out)
{
	size_t at, len;

	if (url_password(url, &at, &len))
		return mask_spans(url, &at, &len, 1, out);
	return vd_buf_puts(out, url);
}

/* ---- reading values ---- */

static const char *recording_lookup(const char *name, void *ctx)
{
	pctx *p = ctx;
	const char *v = p->lookup ? p->lookup(name, p->lookup_ctx) : NULL;

	if (p->record && v && *v && !vd_kvs_get(&p->seen, name))
		vd_kvs_add(&p->seen, name, v);
	return v;
}

static int add_secret(pctx *p, const char *s, size_t len)
{
	char *copy = strndup(s, len);
	int r;

	if (!copy)
		return oom(p->err);
	r = vd_secret_add(copy);
	free(copy);
	return r ? oom(p->err) : 0;
}

/* A string value: interpolated, checked against the secrets rule, its
 * secrets registered, copied into the config.  A null leaves *out alone. */
static int get_string(pctx *p, const vd_yaml_node *n, const char *where, const char *key,
		      enum secret kind, char **out)
{
	vd_buf b = VD_BUF_INIT;
	vd_error ierr = VD_ERROR_INIT;
	size_t at[2], len[2], k, i;
	int r = 0;

	if (!n || n->kind == VD_YAML_NULL)
		return 0;
	if (n->kind != VD_YAML_STR)
		return vd_yaml_error(p->y, n, where, p->err, "'%s' must be a string", key);
	/* the rule looks at the text as written */
	if (kind == SECRET && !has_var(n->s, strlen(n->s)))
		return vd_yaml_error(p->y, n, where, p->err,
				     "'%s': secrets only through ${VAR} (a literal value here is refused)", key);
	if (kind == URL && url_password(n->s, &at[0], &len[0]) && len[0] && !has_var(n->s + at[0], len[0]))
		return vd_yaml_error(p->y, n, where, p->err,
				     "'%s': secrets only through ${VAR} (the URL has a literal password)", key);
	if (kind == CONNINFO) {
		k = conninfo_passwords(n->s, at, len);
		for (i = 0; i < k; i++)
			if (len[i] && !has_var(n->s + at[i], len[i]))
				return vd_yaml_error(p->y, n, where, p->err,
						     "'%s': secrets only through ${VAR} (the conninfo has a literal password)",
						     key);
	}
	vd_kvs_release(&p->seen);
	p->record = kind == SECRET;
	r = vd_interpolate(n->s, recording_lookup, p, &b, NULL, &ierr);
	p->record = false;
	if (r) {
		r = r == VD_ENOMEM ? oom(p->err)
				   : vd_yaml_error(p->y, n, where, p->err, "'%s': %s", key, vd_error_msg(&ierr));
		goto done;
	}
	switch (kind) {
	case PLAIN:
		break;
	case SECRET:
		r = add_secret(p, vd_buf_cstr(&b), b.len);
		for (i = 0; !r && i < p->seen.len; i++)
			r = add_secret(p, p->seen.items[i].value, strlen(p->seen.items[i].value));
		break;
	case URL:
		if (url_password(vd_buf_cstr(&b), &at[0], &len[0]))
			r = add_secret(p, vd_buf_cstr(&b) + at[0], len[0]);
		break;
	case CONNINFO:
		k = conninfo_passwords(vd_buf_cstr(&b), at, len);
		for (i = 0; !r && i < k; i++)
			r = add_secret(p, vd_buf_cstr(&b) + at[i], len[i]);
		/* libpq's own parse: a malformed conninfo, and the password as
		 * libpq sees it (quotes and escapes undone) registered too */
		if (!r && vd_postgres_validate(vd_buf_cstr(&b), &ierr))
			r = vd_yaml_error(p->y, n, where, p->err, "'%s': %s", key, vd_error_msg(&ierr));
		break;
	}
	if (r)
		goto done;
	*out = vd_arena_strndup(&p->c->arena, vd_buf_cstr(&b), b.len);
	if (!*out)
		r = oom(p->err);
done:
	vd_kvs_release(&p->seen);
	vd_error_release(&ierr);
	vd_buf_release(&b);
	return r;
}

/* A scalar, interpolated, into a temporary string (caller frees). */
static int get_scalar(pctx *p, const vd_yaml_node *n, const char *where, const char *key,
		      const char *what, char **out)
{
	vd_buf b = VD_BUF_INIT;
	vd_error ierr = VD_ERROR_INIT;
	int r;

	if (n->kind != VD_YAML_STR)
		return vd_yaml_error(p->y, n, where, p->err, "'%s' must be %s", key, what);
	r = vd_interpolate(n->s, p->lookup, p->lookup_ctx, &b, NULL, &ierr);
	if (r) {
		r = r == VD_ENOMEM ? oom(p->err)
				   : vd_yaml_error(p->y, n, where, p->err, "'%s': %s", key, vd_error_msg(&ierr));
		vd_error_release(&ierr);
		vd_buf_release(&b);
		return r;
	}
	*out = vd_buf_detach(&b);
	vd_buf_release(&b);
	return *out ? 0 : oom(p->err);
}

static int get_duration(pctx *p, const vd_yaml_node *n, const char *where, const char *key,
			uint64_t *out)
{
	char *s = NULL;
	int r;

	if (n->kind == VD_YAML_NULL)
		return 0;
	if ((r = get_scalar(p, n, where, key, "a duration", &s)))
		return r;
	if (vd_duration_parse(s, out))
		r = vd_yaml_error(p->y, n, where, p->err,
				  "'%s': invalid duration '%s' (like 500ms, 10s, 1m30s)", key, s);
	free(s);
	return r;
}

static int get_bool(pctx *p, const vd_yaml_node *n, const char *where, const char *key, bool *out)
{
	char *s = NULL;
	int r;

	if (n->kind == VD_YAML_NULL)
		return 0;
	if ((r = get_scalar(p, n, where, key, "a boolean", &s)))
		return r;
	if (vd_yaml_parse_bool(s, out))
		r = vd_yaml_error(p->y, n, where, p->err, "'%s' must be a boolean (true or false), not '%s'",
				  key, s);
	free(s);
	return r;
}

static int get_int(pctx *p, const vd_yaml_node *n, const char *where, const char *key, int64_t min,
		   int64_t max, int64_t *out)
{
	char *s = NULL;
	int r;

	if (n->kind == VD_YAML_NULL)
		return 0;
	if ((r = get_scalar(p, n, where, key, "an integer", &s)))
		return r;
	if (vd_yaml_parse_int(s, min, max, out))
		r = vd_yaml_error(p->y, n, where, p->err,
				  "'%s' must be an integer from %lld to %lld, not '%s'", key, (long long)min,
				  (long long)max, s);
	free(s);
	return r;
}

static int get_percent(pctx *p, const vd_yaml_node *n, const char *where, const char *key,
		       double max, double *out)
{
	char *s = NULL, *end = NULL;
	double v;
	int r;

	if (n->kind == VD_YAML_NULL)
		return 0;
	if ((r = get_scalar(p, n, where, key, "a number", &s)))
		return r;
	v = strtod(s, &end);
	if (!*s || *end || !isfinite(v) || v < 0 || v > max)
		r = vd_yaml_error(p->y, n, where, p->err, "'%s' must be a number from 0 to %g, not '%s'",
				  key, max, s);
	else
		*out = v;
	free(s);
	return r;
}

static int expect_map(pctx *p, const vd_yaml_node *n, const char *where, const char *key)
{
	if (n && n->kind != VD_YAML_MAP && n->kind != VD_YAML_NULL)
		return vd_yaml_error(p->y, n, where, p->err, "'%s' must be a mapping", key);
	return 0;
}

static int expect_seq(pctx *p, const vd_yaml_node *n, const char *where, const char *key)
{
	if (n && n->kind != VD_YAML_SEQ && n->kind != VD_YAML_NULL)
		return vd_yaml_error(p->y, n, where, p->err, "'%s' must be a list", key);
	return 0;
}

static const char *item_where(pctx *p, const char *where, size_t i)
{
	return vd_yaml_printf(p->y, "%s[%zu]", where, i);
}

static const char *sub_where(pctx *p, const char *where, const char *key)
{
	return where ? vd_yaml_printf(p->y, "%s.%s", where, key) : key;
}

/* An array of n structs of size `size` in the config's arena. */
static void *config_array(pctx *p, size_t n, size_t size)
{
	return vd_arena_array(&p->c->arena, n, size);
}

#define KEY(pair) ((pair)->key->s)

/* ---- sections ---- */

static int parse_rules(pctx *p, const vd_yaml_node *map)
{
	const char *where = "rules";
	size_t i, j;
	int r = 0;

	for (i = 0; i < map->n && !r; i++) {
		const vd_yaml_pair *pr = vd_yaml_map_at(map, i);
		const char *k = KEY(pr);
		vd_tier tier;

		if (!strcmp(k, "full_restart") || !strcmp(k, "app_only") || !strcmp(k, "no_restart")) {
			tier = !strcmp(k, "full_restart") ? VD_TIER_FULL_RESTART
			       : !strcmp(k, "app_only") ? VD_TIER_APP_ONLY : VD_TIER_NO_RESTART;
			if (pr->val->kind == VD_YAML_NULL)
				continue;
			if (pr->val->kind != VD_YAML_SEQ)
				return vd_yaml_error(p->y, pr->val, where, p->err,
						     "'%s' must be a list of patterns", k);
			vd_rules_clear(p->c->rules, tier);
			p->c->rules_overridden[tier] = true;
			for (j = 0; j < pr->val->n && !r; j++) {
				const vd_yaml_node *it = pr->val->items[j];
				char *pat = NULL;
				vd_error rerr = VD_ERROR_INIT;

				if (it->kind != VD_YAML_STR)
					return vd_yaml_error(p->y, it, where, p->err,
							     "'%s' must be a list of patterns", k);
				if ((r = get_string(p, it, where, k, PLAIN, &pat)))
					return r;
				if ((r = vd_rules_add(p->c->rules, tier, pat, &rerr)))
					r = r == VD_ENOMEM ? oom(p->err)
							   : vd_yaml_error(p->y, it, where, p->err, "'%s': %s", k,
									   vd_error_msg(&rerr));
				vd_error_release(&rerr);
			}
		} else if (!strcmp(k, "unmatched")) {
			char *s = NULL;
			vd_error terr = VD_ERROR_INIT;

			if (pr->val->kind == VD_YAML_NULL)
				continue;
			if ((r = get_scalar(p, pr->val, where, k, "a tier", &s)))
				return r;
			if (vd_tier_parse(s, &tier, &terr))
				r = vd_yaml_error(p->y, pr->val, where, p->err, "'%s': %s", k, vd_error_msg(&terr));
			else
				vd_rules_set_fallback(p->c->rules, tier);
			vd_error_release(&terr);
			free(s);
		} else if (!strcmp(k, "image_aware")) {
			r = get_bool(p, pr->val, where, k, &p->c->image_aware);
		} else {
			r = vd_yaml_unknown_key(p->y, pr, where, p->err);
		}
	}
	return r;
}

static int parse_postgres(pctx *p, const vd_yaml_node *map, const char *where, vd_config_postgres *o)
{
	size_t i;
	int r = 0;

	if (map->kind != VD_YAML_MAP)
		return vd_yaml_error(p->y, map, where, p->err, "a postgres probe must be a mapping");
	for (i = 0; i < map->n && !r; i++) {
		const vd_yaml_pair *pr = vd_yaml_map_at(map, i);
		const char *k = KEY(pr);

		if (!strcmp(k, "name"))
			r = get_string(p, pr->val, where, k, PLAIN, &o->name);
		else if (!strcmp(k, "service"))
			r = get_string(p, pr->val, where, k, PLAIN, &o->service);
		else if (!strcmp(k, "conninfo"))
			r = get_string(p, pr->val, where, k, CONNINFO, &o->conninfo);
		else if (!strcmp(k, "query"))
			r = get_string(p, pr->val, where, k, PLAIN, &o->query);
		else if (!strcmp(k, "timeout"))
			r = get_duration(p, pr->val, where, k, &o->timeout_ms);
		else if (!strcmp(k, "interval"))
			r = get_duration(p, pr->val, where, k, &o->interval_ms);
		else
			r = vd_yaml_unknown_key(p->y, pr, where, p->err);
	}
	if (!r && !o->conninfo)
		r = vd_yaml_error(p->y, map, where, p->err, "'conninfo' is required");
	return r;
}

static int parse_status_list(pctx *p, const vd_yaml_node *n, const char *where, vd_config_http *o)
{
	size_t i, cnt = n->kind == VD_YAML_SEQ ? n->n : 1;
	int r = 0;

	if (n->kind == VD_YAML_NULL)
		return 0;
	if (n->kind == VD_YAML_MAP)
		return vd_yaml_error(p->y, n, where, p->err, "'expect_status' must be a list of statuses");
	o->expect_status = config_array(p, cnt, sizeof(long));
	if (!o->expect_status)
		return oom(p->err);
	for (i = 0; i < cnt && !r; i++) {
		const vd_yaml_node *it = n->kind == VD_YAML_SEQ ? n->items[i] : n;
		int64_t v = 0;

		if (it->kind != VD_YAML_STR)
			return vd_yaml_error(p->y, it, where, p->err, "'expect_status' must be a list of statuses");
		r = get_int(p, it, where, "expect_status", 100, 599, &v);
		o->expect_status[i] = (long)v;
	}
	o->n_expect_status = cnt;
	return r;
}

static int parse_http(pctx *p, const vd_yaml_node *map, const char *where, vd_config_http *o)
{
	size_t i;
	int r = 0;

	if (map->kind != VD_YAML_MAP)
		return vd_yaml_error(p->y, map, where, p->err, "an http probe must be a mapping");
	for (i = 0; i < map->n && !r; i++) {
		const vd_yaml_pair *pr = vd_yaml_map_at(map, i);
		const char *k = KEY(pr);

		if (!strcmp(k, "name"))
			r = get_string(p, pr->val, where, k, PLAIN, &o->name);
		else if (!strcmp(k, "service"))
			r = get_string(p, pr->val, where, k, PLAIN, &o->service);
		else if (!strcmp(k, "url"))
			r = get_string(p, pr->val, where, k, URL, &o->url);
		else if (!strcmp(k, "method"))
			r = get_string(p, pr->val, where, k, PLAIN, &o->method);
		else if (!strcmp(k, "expect_status"))
			r = parse_status_list(p, pr->val, where, o);
		else if (!strcmp(k, "body_contains"))
			r = get_string(p, pr->val, where, k, PLAIN, &o->body_contains);
		else if (!strcmp(k, "timeout"))
			r = get_duration(p, pr->val, where, k, &o->timeout_ms);
		else if (!strcmp(k, "interval"))
			r = get_duration(p, pr->val, where, k, &o->interval_ms);
		else if (!strcmp(k, "follow_redirects"))
			r = get_bool(p, pr->val, where, k, &o->follow_redirects);
		else
			r = vd_yaml_unknown_key(p->y, pr, where, p->err);
	}
	if (!r && !o->url)
		r = vd_yaml_error(p->y, map, where, p->err, "'url' is required");
	if (!r && strncmp(o->url, "http://", 7) && strncmp(o->url, "https://", 8))
		r = vd_yaml_error(p->y, vd_yaml_map_get(map, "url"), where, p->err,
				  "'url' must start with http:// or https://");
	return r;
}

static int parse_resources(pctx *p, const vd_yaml_node *map, const char *where, vd_config_resources *o)
{
	size_t i;
	int r = 0;

	if (map->kind != VD_YAML_MAP)
		return vd_yaml_error(p->y, map, where, p->err, "a resources probe must be a mapping");
	for (i = 0; i < map->n && !r; i++) {
		const vd_yaml_pair *pr = vd_yaml_map_at(map, i);
		const char *k = KEY(pr);

		if (!strcmp(k, "name"))
			r = get_string(p, pr->val, where, k, PLAIN, &o->name);
		else if (!strcmp(k, "service"))
			r = get_string(p, pr->val, where, k, PLAIN, &o->service);
		else if (!strcmp(k, "max_memory_percent"))
			r = get_percent(p, pr->val, where, k, 100, &o->max_memory_percent);
		else if (!strcmp(k, "max_cpu_percent"))
			r = get_percent(p, pr->val, where, k, 1e6, &o->max_cpu_percent);
		else if (!strcmp(k, "sample"))
			r = get_duration(p, pr->val, where, k, &o->sample_ms);
		else
			r = vd_yaml_unknown_key(p->y, pr, where, p->err);
	}
	if (!r && !o->service)
		r = vd_yaml_error(p->y, map, where, p->err, "'service' is required");
	return r;
}

/* A list of probe mappings: *out an array of n items of `size`. */
typedef int (*item_fn)(pctx *p, const vd_yaml_node *map, const char *where, void *item);

static int parse_list(pctx *p, const vd_yaml_node *n, const char *where, const char *key,
		      size_t size, item_fn fn, void **out, size_t *n_out)
{
	const char *w = sub_where(p, where, key);
	char *items;
	size_t i;
	int r;

	if ((r = expect_seq(p, n, where, key)) || n->kind == VD_YAML_NULL)
		return r;
	if (!w || !(items = config_array(p, n->n, size)))
		return oom(p->err);
	for (i = 0; i < n->n; i++) {
		const char *iw = item_where(p, w, i);

		if (!iw)
			return oom(p->err);
		if ((r = fn(p, n->items[i], iw, items + i * size)))
			return r;
	}
	*out = items;
	*n_out = n->n;
	return 0;
}

static int postgres_item(pctx *p, const vd_yaml_node *map, const char *where, void *item)
{
	return parse_postgres(p, map, where, item);
}

static int http_item(pctx *p, const vd_yaml_node *map, const char *where, void *item)
{
	return parse_http(p, map, where, item);
}

static int resources_item(pctx *p, const vd_yaml_node *map, const char *where, void *item)
{
	return parse_resources(p, map, where, item);
}

static int parse_health(pctx *p, const vd_yaml_node *map)
{
	const char *where = "health";
	vd_config *c = p->c;
	size_t i;
	int r = 0;

	c->health.section = true;
	for (i = 0; i < map->n && !r; i++) {
		const vd_yaml_pair *pr = vd_yaml_map_at(map, i);
		const char *k = KEY(pr);

		if (!strcmp(k, "deadline"))
			r = get_duration(p, pr->val, where, k, &c->health.deadline_ms);
		else if (!strcmp(k, "stable_for"))
			r = get_duration(p, pr->val, where, k, &c->health.stable_for_ms);
		else if (!strcmp(k, "containers"))
			r = get_bool(p, pr->val, where, k, &c->health.containers);
		else if (!strcmp(k, "postgres"))
			r = parse_list(p, pr->val, where, k, sizeof(vd_config_postgres), postgres_item,
				       (void **)&c->health.postgres, &c->health.n_postgres);
		else if (!strcmp(k, "http"))
			r = parse_list(p, pr->val, where, k, sizeof(vd_config_http), http_item,
				       (void **)&c->health.http, &c->health.n_http);
		else if (!strcmp(k, "resources"))
			r = parse_list(p, pr->val, where, k, sizeof(vd_config_resources), resources_item,
				       (void **)&c->health.resources, &c->health.n_resources);
		else
			r = vd_yaml_unknown_key(p->y, pr, where, p->err);
	}
	if (!r && c->health.deadline_ms == 0)
		r = vd_yaml_error(p->y, vd_yaml_map_get(map, "deadline"), where, p->err,
				  "'deadline' must be more than 0");
	return r;
}

static int parse_deploy_services(pctx *p, const vd_yaml_node *map)
{
	const char *where = "deploy.services";
	size_t i, j;
	int r = 0;

	if ((r = expect_map(p, map, "deploy", "services")) || map->kind == VD_YAML_NULL)
		return r;
	p->c->deploy.services = config_array(p, map->n, sizeof(vd_config_service));
	if (!p->c->deploy.services)
		return oom(p->err);
	for (i = 0; i < map->n && !r; i++) {
		const vd_yaml_pair *pr = vd_yaml_map_at(map, i);
		vd_config_service *s = &p->c->deploy.services[p->c->deploy.n_services++];
		const char *w = sub_where(p, where, KEY(pr));

		if (!w || !(s->name = vd_arena_strdup(&p->c->arena, KEY(pr))))
			return oom(p->err);
		if ((r = expect_map(p, pr->val, where, KEY(pr))) || pr->val->kind == VD_YAML_NULL)
			continue;
		for (j = 0; j < pr->val->n && !r; j++) {
			const vd_yaml_pair *q = vd_yaml_map_at(pr->val, j);
			char *s_order = NULL;

			if (strcmp(KEY(q), "order")) {
				r = vd_yaml_unknown_key(p->y, q, w, p->err);
				break;
			}
			if (q->val->kind == VD_YAML_NULL)
				continue;
			if ((r = get_scalar(p, q->val, w, "order", "a string", &s_order)))
				break;
			if (!strcmp(s_order, "stop-first"))
				s->order = VD_ORDER_STOP_FIRST;
			else if (!strcmp(s_order, "start-first"))
				s->order = VD_ORDER_START_FIRST;
			else
				r = vd_yaml_error(p->y, q->val, w, p->err,
						  "'order': unknown order '%s' (stop-first or start-first)",
						  s_order);
			free(s_order);
		}
	}
	return r;
}

static int parse_deploy(pctx *p, const vd_yaml_node *map)
{
	const char *where = "deploy";
	vd_config *c = p->c;
	size_t i;
	int r = 0;

	for (i = 0; i < map->n && !r; i++) {
		const vd_yaml_pair *pr = vd_yaml_map_at(map, i);
		const char *k = KEY(pr);

		if (!strcmp(k, "stop_grace")) {
			r = get_duration(p, pr->val, where, k, &c->deploy.stop_grace_ms);
			if (pr->val->kind != VD_YAML_NULL)
				c->deploy.stop_grace_set = true;
		} else if (!strcmp(k, "retain_images")) {
			r = get_int(p, pr->val, where, k, 0, 1000, &c->deploy.retain_images);
		} else if (!strcmp(k, "services")) {
			r = parse_deploy_services(p, pr->val);
		} else {
			r = vd_yaml_unknown_key(p->y, pr, where, p->err);
		}
	}
	return r;
}

static int parse_webhook(pctx *p, const vd_yaml_node *map, const char *where, void *item)
{
	vd_config_webhook *o = item;
	size_t i, j;
	int r = 0;

	if (map->kind != VD_YAML_MAP)
		return vd_yaml_error(p->y, map, where, p->err, "a webhook must be a mapping");
	for (i = 0; i < map->n && !r; i++) {
		const vd_yaml_pair *pr = vd_yaml_map_at(map, i);
		const char *k = KEY(pr);

		if (!strcmp(k, "url")) {
			r = get_string(p, pr->val, where, k, URL, &o->url);
		} else if (!strcmp(k, "headers")) {
			const char *hw = sub_where(p, where, "headers");

			if ((r = expect_map(p, pr->val, where, k)) || pr->val->kind == VD_YAML_NULL)
				continue;
			if (!hw || !(o->headers = config_array(p, pr->val->n, sizeof(vd_kv))))
				return oom(p->err);
			for (j = 0; j < pr->val->n && !r; j++) {
				const vd_yaml_pair *h = vd_yaml_map_at(pr->val, j);
				vd_kv *kv = &o->headers[o->n_headers];

				if (!(kv->key = vd_arena_strdup(&p->c->arena, KEY(h))))
					return oom(p->err);
				if (h->val->kind == VD_YAML_NULL)
					return vd_yaml_error(p->y, h->val, hw, p->err, "'%s' must be a string",
							     KEY(h));
				r = get_string(p, h->val, hw, KEY(h), SECRET, &kv->value);
				o->n_headers++;
			}
		} else {
			r = vd_yaml_unknown_key(p->y, pr, where, p->err);
		}
	}
	if (!r && !o->url)
		r = vd_yaml_error(p->y, map, where, p->err, "'url' is required");
	if (!r && strncmp(o->url, "http://", 7) && strncmp(o->url, "https://", 8))
		r = vd_yaml_error(p->y, vd_yaml_map_get(map, "url"), where, p->err,
				  "'url' must start with http:// or https://");
	return r;
}

static int parse_telegram(pctx *p, const vd_yaml_node *map, const char *where, void *item)
{
	vd_config_telegram *o = item;
	size_t i;
	int r = 0;

	if (map->kind != VD_YAML_MAP)
		return vd_yaml_error(p->y, map, where, p->err, "a telegram channel must be a mapping");
	for (i = 0; i < map->n && !r; i++) {
		const vd_yaml_pair *pr = vd_yaml_map_at(map, i);
		const char *k = KEY(pr);

		if (!strcmp(k, "chat_id"))
			r = get_string(p, pr->val, where, k, PLAIN, &o->chat_id);
		else if (!strcmp(k, "token"))
			r = get_string(p, pr->val, where, k, SECRET, &o->token);
		else if (!strcmp(k, "api_base"))
			r = get_string(p, pr->val, where, k, URL, &o->api_base);
		else
			r = vd_yaml_unknown_key(p->y, pr, where, p->err);
	}
	if (!r && (!o->chat_id || !*o->chat_id))
		r = vd_yaml_error(p->y, map, where, p->err, "'chat_id' is required");
	if (!r && !o->token)
		r = vd_yaml_error(p->y, map, where, p->err, "'token' is required");
	if (!r && !o->api_base &&
	    !(o->api_base = vd_arena_strdup(&p->c->arena, VD_CONFIG_DEFAULT_TELEGRAM_API)))
		r = oom(p->err);
	return r;
}

static int parse_notify(pctx *p, const vd_yaml_node *map)
{
	const char *where = "notify";
	vd_config *c = p->c;
	size_t i;
	int r = 0;

	for (i = 0; i < map->n && !r; i++) {
		const vd_yaml_pair *pr = vd_yaml_map_at(map, i);
		const char *k = KEY(pr);

		if (!strcmp(k, "on_success"))
			r = get_bool(p, pr->val, where, k, &c->notify.on_success);
		else if (!strcmp(k, "timeout"))
			r = get_duration(p, pr->val, where, k, &c->notify.timeout_ms);
		else if (!strcmp(k, "webhook"))
			r = parse_list(p, pr->val, where, k, sizeof(vd_config_webhook), parse_webhook,
				       (void **)&c->notify.webhook, &c->notify.n_webhook);
		else if (!strcmp(k, "telegram"))
			r = parse_list(p, pr->val, where, k, sizeof(vd_config_telegram), parse_telegram,
				       (void **)&c->notify.telegram, &c->notify.n_telegram);
		else
			r = vd_yaml_unknown_key(p->y, pr, where, p->err);
	}
	return r;
}

static int parse_serve(pctx *p, const vd_yaml_node *map)
{
	size_t i;
	int r = 0;

	for (i = 0; i < map->n && !r; i++) {
		const vd_yaml_pair *pr = vd_yaml_map_at(map, i);

		if (!strcmp(KEY(pr), "report_ttl"))
			r = get_duration(p, pr->val, "serve", KEY(pr), &p->c->serve.report_ttl_ms);
		else
			r = vd_yaml_unknown_key(p->y, pr, "serve", p->err);
	}
	return r;
}

static int parse_root(pctx *p, const vd_yaml_node *root)
{
	size_t i;
	int r = 0;

	if (root->kind == VD_YAML_NULL)
		return 0;
	if (root->kind != VD_YAML_MAP)
		return vd_yaml_error(p->y, root, NULL, p->err, "voxdeploy.yml must be a mapping");
	for (i = 0; i < root->n && !r; i++) {
		const vd_yaml_pair *pr = vd_yaml_map_at(root, i);
		const char *k = KEY(pr);
		const vd_yaml_node *v = pr->val;
		int (*section)(pctx *, const vd_yaml_node *) = NULL;

		if (!strncmp(k, "x-", 2))
			continue;
		if (!strcmp(k, "app_service")) {
			r = get_string(p, v, NULL, k, PLAIN, &p->c->app_service);
			if (!r && p->c->app_service && !*p->c->app_service)
				p->c->app_service = NULL;
			continue;
		}
		if (!strcmp(k, "rules"))
			section = parse_rules;
		else if (!strcmp(k, "health"))
			section = parse_health;
		else if (!strcmp(k, "deploy"))
			section = parse_deploy;
		else if (!strcmp(k, "notify"))
			section = parse_notify;
		else if (!strcmp(k, "serve"))
			section = parse_serve;
		else
			return vd_yaml_unknown_key(p->y, pr, NULL, p->err);
		if ((r = expect_map(p, v, NULL, k)))
			return r;
		/* `health:` alone is as if it were not there */
		if (v->kind == VD_YAML_MAP)
			r = section(p, v);
	}
	return r;
}

/* ---- the object ---- */

int vd_config_defaults(vd_config **out, vd_error *err)
{
	vd_arena a = { NULL };
	vd_config *c = vd_arena_alloc(&a, sizeof(*c));
	int r;

	if (!c) {
		vd_arena_release(&a);
		return oom(err);
	}
	c->arena = a;
	if ((r = vd_rules_default(&c->rules, err))) {
		vd_config_free(c);
		return r;
	}
	c->image_aware = true;
	c->health.deadline_ms = VD_CONFIG_DEFAULT_DEADLINE_MS;
	c->health.stable_for_ms = VD_CONFIG_DEFAULT_STABLE_FOR_MS;
	c->health.containers = true;
	c->deploy.stop_grace_ms = VD_CONFIG_DEFAULT_STOP_GRACE_MS;
	c->deploy.retain_images = VD_CONFIG_DEFAULT_RETAIN_IMAGES;
	c->notify.timeout_ms = VD_CONFIG_DEFAULT_NOTIFY_TIMEOUT_MS;
	c->serve.report_ttl_ms = VD_CONFIG_DEFAULT_REPORT_TTL_MS;
	*out = c;
	return 0;
}

void vd_config_free(vd_config *c)
{
	vd_arena a;

	if (!c)
		return;
	vd_rules_free(c->rules);
	/* the struct lives in its own arena */
	a = c->arena;
	vd_arena_release(&a);
}

int vd_config_parse(const char *text, size_t len, const char *filename, vd_env_lookup lookup,
		    void *ctx, vd_config **out, vd_error *err)
{
	vd_yaml_options yopts = VD_YAML_OPTIONS_INIT;
	pctx p;
	vd_yaml_node *root = NULL;
	int r;

	memset(&p, 0, sizeof(p));
	if (!filename)
		filename = VD_CONFIG_FILE;
	yopts.what = "voxdeploy.yml";
	yopts.max_file = MAX_CONFIG_FILE;
	if ((r = vd_config_defaults(&p.c, err)))
		return r;
	if (!(p.c->file = vd_arena_strdup(&p.c->arena, filename))) {
		r = oom(err);
		goto done;
	}
	if ((r = vd_yaml_new(&yopts, &p.y, err)))
		goto done;
	p.lookup = lookup;
	p.lookup_ctx = ctx;
	p.err = err;
	if ((r = vd_yaml_parse(p.y, filename, text ? text : "", text ? len : 0, &root, err)))
		goto done;
	if (root)
		r = parse_root(&p, root);
done:
	vd_yaml_free(p.y);
	vd_kvs_release(&p.seen);
	if (r) {
		vd_config_free(p.c);
		return r;
	}
	*out = p.c;
	return 0;
}

static int file_exists(const char *dir, const char *name, char **path, vd_error *err)
{
	FILE *f;

	if (asprintf(path, "%s/%s", dir, name) < 0) {
		*path = NULL;
		return oom(err);
	}
	f = fopen(*path, "r");
	if (f) {
		fclose(f);
		return 1;
	}
	free(*path);
	*path = NULL;
	return 0;
}

int vd_config_load(const vd_project *proj, vd_env_lookup lookup, void *ctx, vd_config **out,
		   vd_error *err)
{
	char *yml = NULL, *yaml = NULL;
	vd_buf text;
	int r, a, b;

	a = file_exists(proj->dir, VD_CONFIG_FILE, &yml, err);
	b = a < 0 ? 0 : file_exists(proj->dir, VD_CONFIG_FILE_ALT, &yaml, err);
	if (a < 0 || b < 0) {
		r = VD_ENOMEM;
		goto done;
	}
	if (a && b) {
		r = vd_error_set(err, VD_EINVAL, "both %s and %s exist: keep one", yml, yaml);
		goto done;
	}
	if (!a && !b) {
		r = vd_config_defaults(out, err);
		goto done;
	}
	vd_buf_init(&text, MAX_CONFIG_FILE);
	r = vd_yaml_read_file(a ? yml : yaml, MAX_CONFIG_FILE, &text, err);
	if (!r)
		r = vd_config_parse(vd_buf_cstr(&text), text.len, a ? yml : yaml, lookup, ctx, out, err);
	vd_buf_release(&text);
done:
	free(yml);
	free(yaml);
	return r;
}

int vd_config_load_commit(vd_git *g, const char *commit, const vd_project *proj, vd_env_lookup lookup,
			  void *ctx, vd_config **out, vd_error *err)
{
	static const char *const names[] = { VD_CONFIG_FILE, VD_CONFIG_FILE_ALT };
	const char *workdir = vd_git_workdir(g);
	size_t wl = strlen(workdir), i;
	vd_buf text[2];
	bool found[2] = { false, false };
	char *rel[2] = { NULL, NULL };
	const char *dir;
	int r = 0;

	/* the project directory relative to the work tree ("" at its root) */
	if (!strncmp(proj->dir, workdir, wl))
		dir = proj->dir + wl;
	else if (wl && !strncmp(proj->dir, workdir, wl - 1) && proj->dir[wl - 1] == '\0')
		dir = "";
	else
		return vd_error_set(err, VD_EINVAL, "the project %s is outside the repository %s", proj->dir,
				    workdir);
	vd_buf_init(&text[0], MAX_CONFIG_FILE);
	vd_buf_init(&text[1], MAX_CONFIG_FILE);
	for (i = 0; i < 2; i++) {
		vd_error soft = VD_ERROR_INIT;

		if (asprintf(&rel[i], "%s%s%s", dir, *dir ? "/" : "", names[i]) < 0) {
			rel[i] = NULL;
			r = oom(err);
			break;
		}
		r = vd_git_read(g, commit, rel[i], &text[i], &soft);
		if (r == VD_ENOTFOUND) {
			r = 0;
		} else if (r) {
			vd_error_set(err, r, "%s", vd_error_msg(&soft));
			vd_error_release(&soft);
			break;
		} else {
			found[i] = true;
		}
		vd_error_release(&soft);
	}
	if (!r) {
		if (found[0] && found[1])
			r = vd_error_set(err, VD_EINVAL, "both %s and %s exist at %.12s: keep one", rel[0],
					 rel[1], commit);
		else if (!found[0] && !found[1])
			r = vd_config_defaults(out, err);
		else
			r = vd_config_parse(vd_buf_cstr(&text[found[0] ? 0 : 1]), text[found[0] ? 0 : 1].len,
					    rel[found[0] ? 0 : 1], lookup, ctx, out, err);
	}
	for (i = 0; i < 2; i++) {
		vd_buf_release(&text[i]);
		free(rel[i]);
	}
	return r;
}

int vd_config_bundle_load(const vd_project *proj, vd_config_bundle *out, vd_error *err)
{
	char *envpath = NULL;
	int r;

	memset(out, 0, sizeof(*out));
	if (asprintf(&envpath, "%s/.env", proj->dir) < 0)
		return oom(err);
	r = vd_dotenv_load(envpath, false, vd_env_lookup_process_then, NULL, &out->dotenv, err);
	free(envpath);
	if (!r)
		r = vd_config_load(proj, vd_env_lookup_process_then, &out->dotenv, &out->config, err);
	if (!r && proj->n_files) {
		r = vd_compose_load_project(proj, vd_env_lookup_process_then, &out->dotenv, &out->model, err);
		if (r == VD_ENOTFOUND)
			r = 0;
	}
	if (!r && out->model)
		r = vd_config_check_model(out->config, out->model, err);
	return r;
}

void vd_config_bundle_release(vd_config_bundle *b)
{
	vd_compose_free(b->model);
	vd_config_free(b->config);
	vd_kvs_release(&b->dotenv);
	memset(b, 0, sizeof(*b));
}

/* ---- using it ---- */

int vd_config_rules(const vd_config *c, vd_rules **out, vd_error *err)
{
	vd_rules *rules = NULL;
	int t, r;
	size_t i;

	if ((r = vd_rules_new(&rules, err)))
		return r;
	for (t = 0; t < VD_TIER_COUNT; t++)
		for (i = 0; i < vd_rules_count(c->rules, (vd_tier)t); i++)
			if ((r = vd_rules_add(rules, (vd_tier)t, vd_rules_pattern(c->rules, (vd_tier)t, i), err))) {
				vd_rules_free(rules);
				return r;
			}
	vd_rules_set_fallback(rules, vd_rules_fallback(c->rules));
	*out = rules;
	return 0;
}

const char *vd_config_app_service(const vd_config *c, const vd_compose *model)
{
	if (c && c->app_service) {
		const vd_compose_service *s = vd_compose_service_find(model, c->app_service);

		return s ? s->name : NULL;
	}
	return vd_compose_default_app(model);
}

uint64_t vd_config_stop_grace_ms(const vd_config *c, const vd_compose_service *s)
{
	if (c && c->deploy.stop_grace_set)
		return c->deploy.stop_grace_ms;
	if (s && s->stop_grace_period_ns > 0)
		return (uint64_t)(s->stop_grace_period_ns / 1000000);
	return VD_CONFIG_DEFAULT_STOP_GRACE_MS;
}

vd_config_order vd_config_service_order(const vd_config *c, const char *service)
{
	size_t i;

	for (i = 0; c && i < c->deploy.n_services; i++)
		if (!strcmp(c->deploy.services[i].name, service))
			return c->deploy.services[i].order;
	return VD_ORDER_STOP_FIRST;
}

static int unknown_service(const vd_config *c, const vd_compose *model, const char *what,
			   const char *name, vd_error *err)
{
	vd_buf names = VD_BUF_INIT;
	size_t i;

	for (i = 0; i < model->n_services; i++)
		vd_buf_printf(&names, "%s%s", i ? ", " : "", model->services[i].name);
	vd_error_set(err, VD_EINVAL, "%s: %s: no service '%s' in the compose file (services: %s)",
		     c->file ? c->file : VD_CONFIG_FILE, what, name, vd_buf_cstr(&names));
	vd_buf_release(&names);
	return VD_EINVAL;
}

int vd_config_check_model(const vd_config *c, const vd_compose *model, vd_error *err)
{
	size_t i;

#define CHECK(what, s) \
	do { \
		if ((s) && !vd_compose_service_find(model, (s))) \
			return unknown_service(c, model, (what), (s), err); \
	} while (0)
	CHECK("app_service", c->app_service);
	for (i = 0; i < c->health.n_postgres; i++)
		CHECK("health.postgres", c->health.postgres[i].service);
	for (i = 0; i < c->health.n_http; i++)
		CHECK("health.http", c->health.http[i].service);
	for (i = 0; i < c->health.n_resources; i++)
		CHECK("health.resources", c->health.resources[i].service);
	for (i = 0; i < c->deploy.n_services; i++)
		CHECK("deploy.services", c->deploy.services[i].name);
#undef CHECK
	return 0;
}

/* ---- the effective configuration as JSON ---- */

static void gen_masked(yajl_gen g, const char *key, const char *val, int (*mask)(const char *, vd_buf *))
{
	vd_buf b = VD_BUF_INIT;

	if (!val) {
		vd_jgen_kstr(g, key, NULL);
		return;
	}
	if (mask(val, &b))
		vd_jgen_kstr(g, key, "***");
	else
		vd_jgen_kstr(g, key, vd_buf_cstr(&b));
	vd_buf_release(&b);
}

static void gen_probe_head(yajl_gen g, const char *name, const char *service, uint64_t timeout_ms,
			   uint64_t interval_ms)
{
	vd_jgen_kstr(g, "name", name);
	vd_jgen_kstr(g, "service", service);
	vd_jgen_kint(g, "timeout_ms", (long long)(timeout_ms ? timeout_ms : 5000));
	vd_jgen_kint(g, "interval_ms", (long long)(interval_ms ? interval_ms : 1000));
}

int vd_config_json(const vd_config *c, vd_buf *out)
{
	yajl_gen g = vd_jgen_new();
	size_t i, j;
	int t;

	if (!g)
		return VD_ENOMEM;
	yajl_gen_map_open(g);
	vd_jgen_kstr(g, "file", c->file);

	vd_jgen_str(g, "rules");
	yajl_gen_map_open(g);
	for (t = VD_TIER_FULL_RESTART; t >= VD_TIER_NO_RESTART; t--) {
		vd_jgen_str(g, vd_tier_config_name((vd_tier)t));
		yajl_gen_array_open(g);
		for (i = 0; i < vd_rules_count(c->rules, (vd_tier)t); i++)
			vd_jgen_str(g, vd_rules_pattern(c->rules, (vd_tier)t, i));
		yajl_gen_array_close(g);
	}
	vd_jgen_kstr(g, "unmatched", vd_tier_config_name(vd_rules_fallback(c->rules)));
	vd_jgen_kbool(g, "image_aware", c->image_aware);
	yajl_gen_map_close(g);

	vd_jgen_kstr(g, "app_service", c->app_service);

	vd_jgen_str(g, "health");
	yajl_gen_map_open(g);
	vd_jgen_kint(g, "deadline_ms", (long long)c->health.deadline_ms);
	vd_jgen_kint(g, "stable_for_ms", (long long)c->health.stable_for_ms);
	vd_jgen_kbool(g, "containers", c->health.containers);
	vd_jgen_str(g, "postgres");
	yajl_gen_array_open(g);
	for (i = 0; i < c->health.n_postgres; i++) {
		const vd_config_postgres *p = &c->health.postgres[i];

		yajl_gen_map_open(g);
		gen_probe_head(g, p->name, p->service, p->timeout_ms, p->interval_ms);
		gen_masked(g, "conninfo", p->conninfo, vd_config_mask_conninfo);
		vd_jgen_kstr(g, "query", p->query ? p->query : "SELECT 1");
		yajl_gen_map_close(g);
	}
	yajl_gen_array_close(g);
	vd_jgen_str(g, "http");
	yajl_gen_array_open(g);
	for (i = 0; i < c->health.n_http; i++) {
		const vd_config_http *h = &c->health.http[i];

		yajl_gen_map_open(g);
		gen_probe_head(g, h->name, h->service, h->timeout_ms, h->interval_ms);
		gen_masked(g, "url", h->url, vd_config_mask_url);
		vd_jgen_kstr(g, "method", h->method ? h->method : "GET");
		vd_jgen_str(g, "expect_status");
		yajl_gen_array_open(g);
		for (j = 0; j < h->n_expect_status; j++)
			yajl_gen_integer(g, h->expect_status[j]);
		yajl_gen_array_close(g);
		vd_jgen_kstr(g, "body_contains", h->body_contains);
		vd_jgen_kbool(g, "follow_redirects", h->follow_redirects);
		yajl_gen_map_close(g);
	}
	yajl_gen_array_close(g);
	vd_jgen_str(g, "resources");
	yajl_gen_array_open(g);
	for (i = 0; i < c->health.n_resources; i++) {
		const vd_config_resources *rs = &c->health.resources[i];

		yajl_gen_map_open(g);
		vd_jgen_kstr(g, "name", rs->name);
		vd_jgen_kstr(g, "service", rs->service);
		vd_jgen_str(g, "max_memory_percent");
		yajl_gen_double(g, rs->max_memory_percent);
		vd_jgen_str(g, "max_cpu_percent");
		yajl_gen_double(g, rs->max_cpu_percent);
		vd_jgen_kint(g, "sample_ms", (long long)(rs->sample_ms ? rs->sample_ms : 1000));
		yajl_gen_map_close(g);
	}
	yajl_gen_array_close(g);
	yajl_gen_map_close(g);

	vd_jgen_str(g, "deploy");
	yajl_gen_map_open(g);
	if (c->deploy.stop_grace_set)
		vd_jgen_kint(g, "stop_grace_ms", (long long)c->deploy.stop_grace_ms);
	else
		vd_jgen_kstr(g, "stop_grace_ms", NULL);
	vd_jgen_kint(g, "retain_images", (long long)c->deploy.retain_images);
	vd_jgen_str(g, "services");
	yajl_gen_map_open(g);
	for (i = 0; i < c->deploy.n_services; i++) {
		vd_jgen_str(g, c->deploy.services[i].name);
		yajl_gen_map_open(g);
		vd_jgen_kstr(g, "order", vd_config_order_name(c->deploy.services[i].order));
		yajl_gen_map_close(g);
	}
	yajl_gen_map_close(g);
	yajl_gen_map_close(g);

	vd_jgen_str(g, "notify");
	yajl_gen_map_open(g);
	vd_jgen_kbool(g, "on_success", c->notify.on_success);
	vd_jgen_kint(g, "timeout_ms", (long long)c->notify.timeout_ms);
	vd_jgen_str(g, "webhook");
	yajl_gen_array_open(g);
	for (i = 0; i < c->notify.n_webhook; i++) {
		const vd_config_webhook *w = &c->notify.webhook[i];

		yajl_gen_map_open(g);
		gen_masked(g, "url", w->url, vd_config_mask_url);
		vd_jgen_str(g, "headers");
		yajl_gen_map_open(g);
		for (j = 0; j < w->n_headers; j++)
			vd_jgen_kstr(g, w->headers[j].key, "***");
		yajl_gen_map_close(g);
		yajl_gen_map_close(g);
	}
	yajl_gen_array_close(g);
	vd_jgen_str(g, "telegram");
	yajl_gen_array_open(g);
	for (i = 0; i < c->notify.n_telegram; i++) {
		const vd_config_telegram *tg = &c->notify.telegram[i];

		yajl_gen_map_open(g);
		vd_jgen_kstr(g, "chat_id", tg->chat_id);
		vd_jgen_kstr(g, "token", "***");
		gen_masked(g, "api_base", tg->api_base, vd_config_mask_url);
		yajl_gen_map_close(g);
	}
	yajl_gen_array_close(g);
	yajl_gen_map_close(g);

	vd_jgen_str(g, "serve");
	yajl_gen_map_open(g);
	vd_jgen_kint(g, "report_ttl_ms", (long long)c->serve.report_ttl_ms);
	yajl_gen_map_close(g);

	yajl_gen_map_close(g);
	return vd_jgen_finish(g, out);
}
