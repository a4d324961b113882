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

static int expect_map(pctx *p, const vd_yaml_node *n, const char *where, const char *key)
{
	if (n && n->kind != VD_YAML_MAP && n->kind != VD_YAML_NULL)
		return vd_yaml_error(p->y, n, where, p->err, "'%s' must be a mapping", key);
	return 0;
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

/* ---- the schema ----
 *
 * Each mapping of the file (the file itself, a section, a probe, a
 * notification channel) is a shape: a table of the keys it may have, with
 * the type of each value and where it goes in the struct being filled.  One
 * walk (parse_keys) reads any mapping by its table: an unknown key is an
 * error, a null value keeps the default, and once the whole mapping is
 * read the keys' checks run in table order.  A value that is more than a
 * type is read by a function of its own (CUSTOM). */

typedef struct field field;
typedef struct shape shape;

/* A value read by code of its own: v (maybe null) into obj, the struct
 * being filled. */
typedef int (*custom_fn)(pctx *p, const vd_yaml_node *v, const char *where, const field *f,
			 void *obj);

enum type {
	T_STRING,    /* char *, interpolated; .secret: what of it is a secret */
	T_DURATION,  /* uint64_t milliseconds */
	T_BOOL,      /* bool */
	T_INT,       /* int64_t from .min to .max */
	T_NUMBER,    /* double from .min to .max */
	T_LIST,      /* a list of .shape mappings: the array at .off, its length at .count */
	T_SECTION,   /* a mapping (or null) of .shape's keys, filling the same struct */
	T_CUSTOM,    /* .custom */
};

/* What is checked once the mapping is read. */
enum {
	REQUIRED = 1 << 0,       /* a string: given (not null) */
	NONEMPTY = 1 << 1,       /* a string: given, and not "" */
	WEB_URL = 1 << 2,        /* a string: starts with http:// or https:// */
	EMPTY_IS_NONE = 1 << 3,  /* a string: "" is as if none were given */
	NONZERO = 1 << 4,        /* a duration: more than 0 */
};

struct field {
	const char *key;
	enum type type;
	size_t off;              /* the value in the struct being filled */
	enum secret secret;      /* T_STRING */
	unsigned checks;
	const char *dflt;        /* T_STRING: the value when none is given */
	double min, max;         /* T_INT, T_NUMBER */
	size_t given;            /* not 0: the offset of a bool set when a value (not null) is
	                          * given (no struct here starts with such a bool) */
	const shape *shape;      /* T_LIST, T_SECTION */
	size_t count;            /* T_LIST: the array's length, a size_t */
	custom_fn custom;        /* T_CUSTOM */
};

struct shape {
	const char *what;        /* "a postgres probe": a list item that is not a mapping */
	size_t size;             /* of one list item */
	bool x_keys;             /* x-* keys are allowed (and ignored) */
	const field *fields;
	size_t n_fields;
};

/* The offset of member m of T, which must be of type U (else an array of
 * negative size: the table does not compile). */
#define AT(T, m, U) \
	(offsetof(T, m) + \
	 0 * sizeof(char[__builtin_types_compatible_p(__typeof__(((T *)0)->m), U) ? 1 : -1]))

/* A row's type and destination: { "key", STRING(T, member), ... }. */
#define STRING(T, m) .type = T_STRING, .off = AT(T, m, char *)
#define DURATION(T, m) .type = T_DURATION, .off = AT(T, m, uint64_t)
#define BOOLEAN(T, m) .type = T_BOOL, .off = AT(T, m, bool)
#define INTEGER(T, m, lo, hi) .type = T_INT, .off = AT(T, m, int64_t), .min = (lo), .max = (hi)
#define NUMBER(T, m, lo, hi) .type = T_NUMBER, .off = AT(T, m, double), .min = (lo), .max = (hi)
#define LIST(T, m, n, sh) .type = T_LIST, .off = offsetof(T, m), .count = AT(T, n, size_t), .shape = &(sh)
#define SECTION(sh) .type = T_SECTION, .shape = &(sh)
#define CUSTOM(fn) .type = T_CUSTOM, .custom = (fn)

#define N_FIELDS(fields) (sizeof(fields) / sizeof((fields)[0]))
#define SHAPE(what, T, fields) { (what), sizeof(T), false, (fields), N_FIELDS(fields) }

/* A duration, boolean, integer or number (f->type) into *at.  A null
 * leaves *at alone. */
static int get_typed(pctx *p, const vd_yaml_node *n, const char *where, const field *f, void *at)
{
	static const char *const what[] = {
		[T_DURATION] = "a duration", [T_BOOL] = "a boolean", [T_INT] = "an integer",
		[T_NUMBER] = "a number",
	};
	char *s = NULL, *end = NULL;
	double v;
	int r;

	if (n->kind == VD_YAML_NULL)
		return 0;
	if ((r = get_scalar(p, n, where, f->key, what[f->type], &s)))
		return r;
	switch (f->type) {
	case T_DURATION:
		if (vd_duration_parse(s, at))
			r = vd_yaml_error(p->y, n, where, p->err,
					  "'%s': invalid duration '%s' (like 500ms, 10s, 1m30s)", f->key, s);
		break;
	case T_BOOL:
		if (vd_yaml_parse_bool(s, at))
			r = vd_yaml_error(p->y, n, where, p->err,
					  "'%s' must be a boolean (true or false), not '%s'", f->key, s);
		break;
	case T_INT:
		if (vd_yaml_parse_int(s, (int64_t)f->min, (int64_t)f->max, at))
			r = vd_yaml_error(p->y, n, where, p->err,
					  "'%s' must be an integer from %lld to %lld, not '%s'", f->key,
					  (long long)f->min, (long long)f->max, s);
		break;
	default:
		v = strtod(s, &end);
		if (!*s || *end || !isfinite(v) || v < f->min || v > f->max)
			r = vd_yaml_error(p->y, n, where, p->err,
					  "'%s' must be a number from %g to %g, not '%s'", f->key, f->min,
					  f->max, s);
		else
			*(double *)at = v;
		break;
	}
	free(s);
	return r;
}

static int parse_keys(pctx *p, const vd_yaml_node *map, const char *where, const shape *s, void *obj);

/* A mapping that must be one: a list item, the file. */
static int parse_item(pctx *p, const vd_yaml_node *n, const char *where, const shape *s, void *obj)
{
	if (n->kind != VD_YAML_MAP)
		return vd_yaml_error(p->y, n, where, p->err, "%s must be a mapping", s->what);
	return parse_keys(p, n, where, s, obj);
}

static int parse_list(pctx *p, const vd_yaml_node *n, const char *where, const field *f, void *obj)
{
	const char *w = sub_where(p, where, f->key), *iw;
	size_t i, size = f->shape->size;
	char *items;
	int r;

	if (n->kind != VD_YAML_SEQ && n->kind != VD_YAML_NULL)
		return vd_yaml_error(p->y, n, where, p->err, "'%s' must be a list", f->key);
	if (n->kind == VD_YAML_NULL)
		return 0;
	if (!w || !(items = config_array(p, n->n, size)))
		return oom(p->err);
	for (i = 0; i < n->n; i++) {
		if (!(iw = vd_yaml_printf(p->y, "%s[%zu]", w, i)))
			return oom(p->err);
		if ((r = parse_item(p, n->items[i], iw, f->shape, items + i * size)))
			return r;
	}
	*(void **)((char *)obj + f->off) = items;
	*(size_t *)((char *)obj + f->count) = n->n;
	return 0;
}

static int parse_value(pctx *p, const vd_yaml_node *v, const char *where, const field *f, void *obj)
{
	void *at = (char *)obj + f->off;
	const char *w;
	int r = 0;

	switch (f->type) {
	case T_STRING:
		r = get_string(p, v, where, f->key, f->secret, at);
		break;
	case T_DURATION:
	case T_BOOL:
	case T_INT:
	case T_NUMBER:
		r = get_typed(p, v, where, f, at);
		break;
	case T_LIST:
		r = parse_list(p, v, where, f, obj);
		break;
	case T_SECTION:
		/* `health:` alone is as if it were not there */
		if ((r = expect_map(p, v, where, f->key)) || v->kind == VD_YAML_NULL)
			break;
		if (!(w = sub_where(p, where, f->key)))
			return oom(p->err);
		r = parse_keys(p, v, w, f->shape, obj);
		break;
	case T_CUSTOM:
		r = f->custom(p, v, where, f, obj);
		break;
	}
	if (f->given && v->kind != VD_YAML_NULL)
		*(bool *)((char *)obj + f->given) = true;
	return r;
}

/* The checks of a mapping's keys once it is read, and the defaults of its
 * strings. */
static int check_keys(pctx *p, const vd_yaml_node *map, const char *where, const shape *s, void *obj)
{
	size_t i;

	for (i = 0; i < s->n_fields; i++) {
		const field *f = &s->fields[i];
		void *at = (char *)obj + f->off;
		char **str = at;

		if (f->type == T_DURATION && (f->checks & NONZERO) && *(uint64_t *)at == 0)
			return vd_yaml_error(p->y, vd_yaml_map_get(map, f->key), where, p->err,
					     "'%s' must be more than 0", f->key);
		if (f->type != T_STRING)
			continue;
		if ((f->checks & (REQUIRED | NONEMPTY)) && (!*str || ((f->checks & NONEMPTY) && !**str)))
			return vd_yaml_error(p->y, map, where, p->err, "'%s' is required", f->key);
		if ((f->checks & WEB_URL) && *str && strncmp(*str, "http://", 7) &&
		    strncmp(*str, "https://", 8))
			return vd_yaml_error(p->y, vd_yaml_map_get(map, f->key), where, p->err,
					     "'%s' must start with http:// or https://", f->key);
		if ((f->checks & EMPTY_IS_NONE) && *str && !**str)
			*str = NULL;
		if (f->dflt && !*str && !(*str = vd_arena_strdup(&p->c->arena, f->dflt)))
			return oom(p->err);
	}
	return 0;
}

static int parse_keys(pctx *p, const vd_yaml_node *map, const char *where, const shape *s, void *obj)
{
	size_t i, j;
	int r = 0;

	for (i = 0; i < map->n && !r; i++) {
		const vd_yaml_pair *pr = vd_yaml_map_at(map, i);

		if (s->x_keys && !strncmp(KEY(pr), "x-", 2))
			continue;
		for (j = 0; j < s->n_fields && strcmp(KEY(pr), s->fields[j].key); j++)
			;
		if (j == s->n_fields)
			return vd_yaml_unknown_key(p->y, pr, where, p->err);
		r = parse_value(p, pr->val, where, &s->fields[j], obj);
	}
	return r ? r : check_keys(p, map, where, s, obj);
}

/* ---- values that are more than a type ---- */

/* rules.full_restart, app_only, no_restart: the list replaces the tier's
 * defaults. */
static int tier_list(pctx *p, const vd_yaml_node *v, const char *where, const field *f, void *obj)
{
	vd_config *c = obj;
	vd_tier tier = VD_TIER_APP_ONLY;
	size_t i;
	int r = 0;

	if (v->kind == VD_YAML_NULL)
		return 0;
	if (v->kind != VD_YAML_SEQ)
		return vd_yaml_error(p->y, v, where, p->err, "'%s' must be a list of patterns", f->key);
	vd_tier_parse(f->key, &tier, NULL);   /* the key is the tier's name */
	vd_rules_clear(c->rules, tier);
	c->rules_overridden[tier] = true;
	for (i = 0; i < v->n && !r; i++) {
		const vd_yaml_node *it = v->items[i];
		vd_error rerr = VD_ERROR_INIT;
		char *pat = NULL;

		if (it->kind != VD_YAML_STR)
			return vd_yaml_error(p->y, it, where, p->err, "'%s' must be a list of patterns", f->key);
		if ((r = get_string(p, it, where, f->key, PLAIN, &pat)))
			return r;
		if ((r = vd_rules_add(c->rules, tier, pat, &rerr)))
			r = r == VD_ENOMEM ? oom(p->err)
					   : vd_yaml_error(p->y, it, where, p->err, "'%s': %s", f->key,
							   vd_error_msg(&rerr));
		vd_error_release(&rerr);
	}
	return r;
}

/* rules.unmatched */
static int fallback_tier(pctx *p, const vd_yaml_node *v, const char *where, const field *f, void *obj)
{
	vd_config *c = obj;
	vd_error terr = VD_ERROR_INIT;
	vd_tier tier;
	char *s = NULL;
	int r;

	if (v->kind == VD_YAML_NULL)
		return 0;
	if ((r = get_scalar(p, v, where, f->key, "a tier", &s)))
		return r;
	if (vd_tier_parse(s, &tier, &terr))
		r = vd_yaml_error(p->y, v, where, p->err, "'%s': %s", f->key, vd_error_msg(&terr));
	else
		vd_rules_set_fallback(c->rules, tier);
	vd_error_release(&terr);
	free(s);
	return r;
}

/* health.http[].expect_status: one status or a list of them. */
static int statuses(pctx *p, const vd_yaml_node *v, const char *where, const field *f, void *obj)
{
	const field status = { f->key, .type = T_INT, .min = 100, .max = 599 };
	vd_config_http *o = obj;
	size_t i, cnt = v->kind == VD_YAML_SEQ ? v->n : 1;
	int r = 0;

	if (v->kind == VD_YAML_NULL)
		return 0;
	if (v->kind == VD_YAML_MAP)
		return vd_yaml_error(p->y, v, where, p->err, "'%s' must be a list of statuses", f->key);
	if (!(o->expect_status = config_array(p, cnt, sizeof(long))))
		return oom(p->err);
	for (i = 0; i < cnt && !r; i++) {
		const vd_yaml_node *it = v->kind == VD_YAML_SEQ ? v->items[i] : v;
		int64_t st = 0;

		if (it->kind != VD_YAML_STR)
			return vd_yaml_error(p->y, it, where, p->err, "'%s' must be a list of statuses", f->key);
		r = get_typed(p, it, where, &status, &st);
		o->expect_status[i] = (long)st;
	}
	o->n_expect_status = cnt;
	return r;
}

/* deploy.services.NAME.order */
static int update_order(pctx *p, const vd_yaml_node *v, const char *where, const field *f, void *obj)
{
	vd_config_service *s = obj;
	char *order = NULL;
	int r;

	if (v->kind == VD_YAML_NULL)
		return 0;
	if ((r = get_scalar(p, v, where, f->key, "a string", &order)))
		return r;
	if (!strcmp(order, "stop-first"))
		s->order = VD_ORDER_STOP_FIRST;
	else if (!strcmp(order, "start-first"))
		s->order = VD_ORDER_START_FIRST;
	else
		r = vd_yaml_error(p->y, v, where, p->err,
				  "'%s': unknown order '%s' (stop-first or start-first)", f->key, order);
	free(order);
	return r;
}

static const field service_fields[] = {
	{ "order", CUSTOM(update_order) },
};

static const shape service_shape = SHAPE(NULL, vd_config_service, service_fields);

/* deploy.services: {NAME: {order}}, in file order. */
static int services(pctx *p, const vd_yaml_node *v, const char *where, const field *f, void *obj)
{
	vd_config *c = obj;
	const char *sw = sub_where(p, where, f->key), *w;
	size_t i;
	int r;

	if ((r = expect_map(p, v, where, f->key)) || v->kind == VD_YAML_NULL)
		return r;
	if (!sw || !(c->deploy.services = config_array(p, v->n, sizeof(vd_config_service))))
		return oom(p->err);
	for (i = 0; i < v->n; i++) {
		const vd_yaml_pair *pr = vd_yaml_map_at(v, i);
		vd_config_service *s = &c->deploy.services[c->deploy.n_services++];

		if (!(w = sub_where(p, sw, KEY(pr))) || !(s->name = vd_arena_strdup(&c->arena, KEY(pr))))
			return oom(p->err);
		if ((r = expect_map(p, pr->val, sw, KEY(pr))))
			return r;
		if (pr->val->kind == VD_YAML_MAP && (r = parse_keys(p, pr->val, w, &service_shape, s)))
			return r;
	}
	return 0;
}

/* notify.webhook[].headers: {NAME: VALUE}, in file order; every value is a
 * secret (a null one is no string). */
static int headers(pctx *p, const vd_yaml_node *v, const char *where, const field *f, void *obj)
{
	vd_config_webhook *o = obj;
	const char *hw = sub_where(p, where, f->key);
	size_t i;
	int r;

	if ((r = expect_map(p, v, where, f->key)) || v->kind == VD_YAML_NULL)
		return r;
	if (!hw || !(o->headers = config_array(p, v->n, sizeof(vd_kv))))
		return oom(p->err);
	for (i = 0; i < v->n; i++) {
		const vd_yaml_pair *h = vd_yaml_map_at(v, i);
		vd_kv *kv = &o->headers[o->n_headers];

		if (!(kv->key = vd_arena_strdup(&p->c->arena, KEY(h))))
			return oom(p->err);
		if (h->val->kind == VD_YAML_NULL)
			return vd_yaml_error(p->y, h->val, hw, p->err, "'%s' must be a string", KEY(h));
		if ((r = get_string(p, h->val, hw, KEY(h), SECRET, &kv->value)))
			return r;
		o->n_headers++;
	}
	return 0;
}

/* ---- the tables ---- */

static const field postgres_fields[] = {
	{ "name", STRING(vd_config_postgres, name) },
	{ "service", STRING(vd_config_postgres, service) },
	{ "conninfo", STRING(vd_config_postgres, conninfo), .secret = CONNINFO, .checks = REQUIRED },
	{ "query", STRING(vd_config_postgres, query) },
	{ "timeout", DURATION(vd_config_postgres, timeout_ms) },
	{ "interval", DURATION(vd_config_postgres, interval_ms) },
};

static const field http_fields[] = {
	{ "name", STRING(vd_config_http, name) },
	{ "service", STRING(vd_config_http, service) },
	{ "url", STRING(vd_config_http, url), .secret = URL, .checks = REQUIRED | WEB_URL },
	{ "method", STRING(vd_config_http, method) },
	{ "expect_status", CUSTOM(statuses) },
	{ "body_contains", STRING(vd_config_http, body_contains) },
	{ "timeout", DURATION(vd_config_http, timeout_ms) },
	{ "interval", DURATION(vd_config_http, interval_ms) },
	{ "follow_redirects", BOOLEAN(vd_config_http, follow_redirects) },
};

static const field resources_fields[] = {
	{ "name", STRING(vd_config_resources, name) },
	{ "service", STRING(vd_config_resources, service), .checks = REQUIRED },
	{ "max_memory_percent", NUMBER(vd_config_resources, max_memory_percent, 0, 100) },
	{ "max_cpu_percent", NUMBER(vd_config_resources, max_cpu_percent, 0, 1e6) },
	{ "sample", DURATION(vd_config_resources, sample_ms) },
};

static const field webhook_fields[] = {
	{ "url", STRING(vd_config_webhook, url), .secret = URL, .checks = REQUIRED | WEB_URL },
	{ "headers", CUSTOM(headers) },
};

static const field telegram_fields[] = {
	{ "chat_id", STRING(vd_config_telegram, chat_id), .checks = NONEMPTY },
	{ "token", STRING(vd_config_telegram, token), .secret = SECRET, .checks = REQUIRED },
	{ "api_base", STRING(vd_config_telegram, api_base), .secret = URL,
	  .dflt = VD_CONFIG_DEFAULT_TELEGRAM_API },
};

static const shape postgres_probe = SHAPE("a postgres probe", vd_config_postgres, postgres_fields);
static const shape http_probe = SHAPE("an http probe", vd_config_http, http_fields);
static const shape resources_probe = SHAPE("a resources probe", vd_config_resources, resources_fields);
static const shape webhook_channel = SHAPE("a webhook", vd_config_webhook, webhook_fields);
static const shape telegram_channel = SHAPE("a telegram channel", vd_config_telegram, telegram_fields);

static const field rules_fields[] = {
	{ "full_restart", CUSTOM(tier_list) },
	{ "app_only", CUSTOM(tier_list) },
	{ "no_restart", CUSTOM(tier_list) },
	{ "unmatched", CUSTOM(fallback_tier) },
	{ "image_aware", BOOLEAN(vd_config, image_aware) },
};

static const field health_fields[] = {
	{ "deadline", DURATION(vd_config, health.deadline_ms), .checks = NONZERO },
	{ "stable_for", DURATION(vd_config, health.stable_for_ms) },
	{ "containers", BOOLEAN(vd_config, health.containers) },
	{ "postgres", LIST(vd_config, health.postgres, health.n_postgres, postgres_probe) },
	{ "http", LIST(vd_config, health.http, health.n_http, http_probe) },
	{ "resources", LIST(vd_config, health.resources, health.n_resources, resources_probe) },
};

static const field deploy_fields[] = {
	{ "stop_grace", DURATION(vd_config, deploy.stop_grace_ms),
	  .given = AT(vd_config, deploy.stop_grace_set, bool) },
	{ "retain_images", INTEGER(vd_config, deploy.retain_images, 0, 1000) },
	{ "services", CUSTOM(services) },
};

static const field notify_fields[] = {
	{ "on_success", BOOLEAN(vd_config, notify.on_success) },
	{ "timeout", DURATION(vd_config, notify.timeout_ms) },
	{ "webhook", LIST(vd_config, notify.webhook, notify.n_webhook, webhook_channel) },
	{ "telegram", LIST(vd_config, notify.telegram, notify.n_telegram, telegram_channel) },
};

static const field serve_fields[] = {
	{ "report_ttl", DURATION(vd_config, serve.report_ttl_ms) },
};

static const shape rules_section = SHAPE(NULL, vd_config, rules_fields);
static const shape health_section = SHAPE(NULL, vd_config, health_fields);
static const shape deploy_section = SHAPE(NULL, vd_config, deploy_fields);
static const shape notify_section = SHAPE(NULL, vd_config, notify_fields);
static const shape serve_section = SHAPE(NULL, vd_config, serve_fields);

static const field file_fields[] = {
	{ "rules", SECTION(rules_section) },
	{ "app_service", STRING(vd_config, app_service), .checks = EMPTY_IS_NONE },
	{ "health", SECTION(health_section), .given = AT(vd_config, health.section, bool) },
	{ "deploy", SECTION(deploy_section) },
	{ "notify", SECTION(notify_section) },
	{ "serve", SECTION(serve_section) },
};

/* x-* keys at the top level are for YAML anchors */
static const shape file_shape = { "voxdeploy.yml", sizeof(vd_config), true, file_fields,
				  N_FIELDS(file_fields) };

static int parse_root(pctx *p, const vd_yaml_node *root)
{
	if (root->kind == VD_YAML_NULL)
		return 0;
	return parse_item(p, root, NULL, &file_shape, p->c);
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
