/* Reading voxdeploy.yml's tree into a vd_config: every value interpolated,
 * the secrets rule, and the keys of each mapping as a table (the file on
 * disk, the object and its output: config.c). */
#include "controller/config/config_private.h"
#include "common/clock.h"
#include "common/log.h"
#include "health/postgres.h"

#include <ctype.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* What a string value is, for the secrets rule. */
enum secret {
	PLAIN,       /* no secret */
	SECRET,      /* the whole value is one (a token, a header value) */
	URL,         /* a URL whose user:password@ may carry one */
	CONNINFO,    /* a libpq conninfo whose password may carry one */
};

/* One reading of a document. */
typedef struct pctx {
	vd_yaml *y;
	vd_config *c;
	vd_env_lookup lookup;
	void *lookup_ctx;
	vd_error *err;
	vd_kvs seen;     /* variables looked up while interpolating a secret, URL or conninfo */
	bool record;
} pctx;

static int oom(vd_error *err)
{
	return vd_error_set(err, VD_ENOMEM, "out of memory");
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

/* ---- reading values ---- */

static const char *recording_lookup(const char *name, void *ctx)
{
	pctx *p = ctx;
	const char *v = p->lookup ? p->lookup(name, p->lookup_ctx) : NULL;

	if (p->record && v && *v && !vd_kvs_get(&p->seen, name))
		vd_kvs_add(&p->seen, name, v);
	return v;
}

/* what: the variable that holds it, for the warning about a password
 * that is a name of the stack; NULL when the value is a whole field. */
static int add_secret(pctx *p, const char *what, const char *s, size_t len)
{
	char *copy = strndup(s, len);
	int r;

	if (!copy)
		return oom(p->err);
	r = vd_secret_add_named(what, copy);
	free(copy);
	return r ? oom(p->err) : 0;
}

/* The variable whose value is exactly s[0, len), if one was read. */
static const char *seen_name(const pctx *p, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < p->seen.len; i++)
		if (strlen(p->seen.items[i].value) == len && !memcmp(p->seen.items[i].value, s, len))
			return p->seen.items[i].key;
	return NULL;
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
	if (kind == URL && vd_config_url_password(n->s, &at[0], &len[0]) && len[0] &&
	    !has_var(n->s + at[0], len[0]))
		return vd_yaml_error(p->y, n, where, p->err,
				     "'%s': secrets only through ${VAR} (the URL has a literal password)", key);
	if (kind == CONNINFO) {
		k = vd_config_conninfo_passwords(n->s, at, len);
		for (i = 0; i < k; i++)
			if (len[i] && !has_var(n->s + at[i], len[i]))
				return vd_yaml_error(p->y, n, where, p->err,
						     "'%s': secrets only through ${VAR} (the conninfo has a literal password)",
						     key);
	}
	vd_kvs_release(&p->seen);
	p->record = kind != PLAIN;
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
		r = add_secret(p, NULL, vd_buf_cstr(&b), b.len);
		for (i = 0; !r && i < p->seen.len; i++)
			r = add_secret(p, p->seen.items[i].key, p->seen.items[i].value,
				       strlen(p->seen.items[i].value));
		break;
	case URL:
		if (vd_config_url_password(vd_buf_cstr(&b), &at[0], &len[0]))
			r = add_secret(p, seen_name(p, vd_buf_cstr(&b) + at[0], len[0]),
				       vd_buf_cstr(&b) + at[0], len[0]);
		break;
	case CONNINFO:
		k = vd_config_conninfo_passwords(vd_buf_cstr(&b), at, len);
		for (i = 0; !r && i < k; i++)
			r = add_secret(p, seen_name(p, vd_buf_cstr(&b) + at[i], len[i]),
				       vd_buf_cstr(&b) + at[i], len[i]);
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
	const char *needs;       /* T_STRING: given only beside this key of the same mapping */
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

/* Whether the string field `key` of shape s has a value in obj. */
static bool given_string(const shape *s, const void *obj, const char *key)
{
	size_t i;

	for (i = 0; i < s->n_fields; i++)
		if (s->fields[i].type == T_STRING && !strcmp(s->fields[i].key, key))
			return *(char *const *)((const char *)obj + s->fields[i].off) != NULL;
	return false;
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
		if (f->needs && *str && !given_string(s, obj, f->needs))
			return vd_yaml_error(p->y, vd_yaml_map_get(map, f->key), where, p->err,
					     "'%s' needs '%s' beside it", f->key, f->needs);
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
	{ "fast_check", DURATION(vd_config, health.fast_check_ms) },
	{ "containers", BOOLEAN(vd_config, health.containers) },
	{ "postgres", LIST(vd_config, health.postgres, health.n_postgres, postgres_probe) },
	{ "http", LIST(vd_config, health.http, health.n_http, http_probe) },
	{ "resources", LIST(vd_config, health.resources, health.n_resources, resources_probe) },
};

/* A list of deploy types a step comes before or runs on (backup.before,
 * deploy.release.on): full_restart, app_only. */
static int deploy_types(pctx *p, const vd_yaml_node *v, const char *where, const field *f,
			bool *full, bool *app)
{
	size_t i;

	if (v->kind == VD_YAML_NULL)
		return 0;
	if (v->kind != VD_YAML_SEQ)
		return vd_yaml_error(p->y, v, where, p->err,
				     "'%s' must be a list of deploy types (full_restart, app_only)", f->key);
	*full = *app = false;
	for (i = 0; i < v->n; i++) {
		const char *s = v->items[i]->kind == VD_YAML_STR ? v->items[i]->s : "";

		if (!strcmp(s, "full_restart"))
			*full = true;
		else if (!strcmp(s, "app_only"))
			*app = true;
		else
			return vd_yaml_error(p->y, v->items[i], where, p->err,
					     "'%s': '%s' is no deploy type (full_restart, app_only)", f->key, s);
	}
	return 0;
}

/* deploy.min_free: a byte size as compose writes them ("2g", "500m") */
static int min_free(pctx *p, const vd_yaml_node *v, const char *where, const field *f, void *obj)
{
	vd_config *c = obj;
	int64_t n;

	if (v->kind == VD_YAML_NULL)
		return 0;
	if (v->kind != VD_YAML_STR || vd_compose_parse_bytes(v->s, &n) || n < 0)
		return vd_yaml_error(p->y, v, where, p->err,
				     "'%s' must be a size such as 2g or 500m, not '%s'", f->key,
				     v->kind == VD_YAML_STR ? v->s : "(not a scalar)");
	c->deploy.min_free_bytes = (uint64_t)n;
	return 0;
}

/* deploy.compose_hash: v2 or 1.29 */
static int compose_hash(pctx *p, const vd_yaml_node *v, const char *where, const field *f, void *obj)
{
	vd_config *c = obj;

	if (v->kind == VD_YAML_NULL)
		return 0;
	if (v->kind == VD_YAML_STR && (!strcmp(v->s, "v2") || !strcmp(v->s, "2")))
		c->deploy.compose_hash = 2;
	else if (v->kind == VD_YAML_STR && (!strcmp(v->s, "1.29") || !strcmp(v->s, "v1")))
		c->deploy.compose_hash = 1;
	else
		return vd_yaml_error(p->y, v, where, p->err, "'%s' must be v2 or \"1.29\", not '%s'", f->key,
				     v->kind == VD_YAML_STR ? v->s : "(not a scalar)");
	return 0;
}

/* A word of names (deploy.builder, deploy.backend) as its index into *out. */
static int one_of(pctx *p, const vd_yaml_node *v, const char *where, const field *f,
		  const char *const *names, size_t n, const char *choices, int *out)
{
	size_t i;

	if (v->kind == VD_YAML_NULL)
		return 0;
	for (i = 0; v->kind == VD_YAML_STR && i < n; i++)
		if (!strcmp(v->s, names[i])) {
			*out = (int)i;
			return 0;
		}
	return vd_yaml_error(p->y, v, where, p->err, "'%s' must be %s, not '%s'", f->key, choices,
			     v->kind == VD_YAML_STR ? v->s : "(not a scalar)");
}

/* deploy.builder: auto, classic or buildkit */
static int builder(pctx *p, const vd_yaml_node *v, const char *where, const field *f, void *obj)
{
	static const char *const names[] = { "auto", "classic", "buildkit" };
	vd_config *c = obj;
	int i = (int)c->deploy.builder, r = one_of(p, v, where, f, names, 3, "auto, buildkit or classic", &i);

	c->deploy.builder = (vd_config_builder)i;
	return r;
}

/* deploy.backend: containers, swarm or auto */
static int backend(pctx *p, const vd_yaml_node *v, const char *where, const field *f, void *obj)
{
	static const char *const names[] = { "containers", "swarm", "auto" };
	vd_config *c = obj;
	int i = (int)c->deploy.backend, r = one_of(p, v, where, f, names, 3, "containers, swarm or auto", &i);

	c->deploy.backend = (vd_config_backend)i;
	return r;
}

/* deploy.release.command: a list of words, or a string run by /bin/sh -c */
static int release_command(pctx *p, const vd_yaml_node *v, const char *where, const field *f,
			   void *obj)
{
	vd_config *c = obj;
	size_t i, n = v->kind == VD_YAML_SEQ ? v->n : 3;
	int r;

	if (v->kind == VD_YAML_NULL)
		return 0;
	if ((v->kind != VD_YAML_SEQ && v->kind != VD_YAML_STR) || !n)
		return vd_yaml_error(p->y, v, where, p->err,
				     "'%s' must be a list of words or a shell command line", f->key);
	if (!(c->deploy.release.command = config_array(p, n + 1, sizeof(char *))))
		return oom(p->err);
	if (v->kind == VD_YAML_STR) {
		c->deploy.release.command[0] = vd_arena_strdup(&c->arena, "/bin/sh");
		c->deploy.release.command[1] = vd_arena_strdup(&c->arena, "-c");
		if (!c->deploy.release.command[0] || !c->deploy.release.command[1])
			return oom(p->err);
		if ((r = get_string(p, v, where, f->key, PLAIN, &c->deploy.release.command[2])))
			return r;
		c->deploy.release.n_command = 3;
		return 0;
	}
	for (i = 0; i < v->n; i++) {
		if (v->items[i]->kind != VD_YAML_STR)
			return vd_yaml_error(p->y, v->items[i], where, p->err,
					     "'%s' must be a list of words", f->key);
		if ((r = get_string(p, v->items[i], where, f->key, PLAIN, &c->deploy.release.command[i])))
			return r;
		c->deploy.release.n_command++;
	}
	return 0;
}

static int release_on(pctx *p, const vd_yaml_node *v, const char *where, const field *f, void *obj)
{
	vd_config *c = obj;

	return deploy_types(p, v, where, f, &c->deploy.release.full_restart,
			    &c->deploy.release.app_only);
}

static const field release_fields[] = {
	{ "service", STRING(vd_config, deploy.release.service), .checks = NONEMPTY },
	{ "command", CUSTOM(release_command) },
	{ "timeout", DURATION(vd_config, deploy.release.timeout_ms), .checks = NONZERO },
	{ "on", CUSTOM(release_on) },
};

static const shape release_section = SHAPE(NULL, vd_config, release_fields);

static const field registry_fields[] = {
	{ "address", STRING(vd_config, deploy.registry.address), .checks = REQUIRED | NONEMPTY },
	/* none: a registry that takes anonymous pushes */
	{ "username", STRING(vd_config, deploy.registry.username), .checks = EMPTY_IS_NONE },
	{ "password", STRING(vd_config, deploy.registry.password), .secret = SECRET, .needs = "username" },
};

static const shape registry_section = SHAPE(NULL, vd_config, registry_fields);

static const field deploy_fields[] = {
	{ "stop_grace", DURATION(vd_config, deploy.stop_grace_ms),
	  .given = AT(vd_config, deploy.stop_grace_set, bool) },
	{ "retain_images", INTEGER(vd_config, deploy.retain_images, 0, 1000) },
	{ "services", CUSTOM(services) },
	{ "release", SECTION(release_section) },
	{ "min_free", CUSTOM(min_free) },
	{ "compose_hash", CUSTOM(compose_hash) },
	{ "builder", CUSTOM(builder) },
	{ "parallel", INTEGER(vd_config, deploy.parallel, 1, 64) },
	{ "backend", CUSTOM(backend) },
	{ "registry", SECTION(registry_section) },
};

static const field notify_fields[] = {
	{ "on_success", BOOLEAN(vd_config, notify.on_success) },
	{ "timeout", DURATION(vd_config, notify.timeout_ms) },
	{ "webhook", LIST(vd_config, notify.webhook, notify.n_webhook, webhook_channel) },
	{ "telegram", LIST(vd_config, notify.telegram, notify.n_telegram, telegram_channel) },
};

static int backup_before(pctx *p, const vd_yaml_node *v, const char *where, const field *f, void *obj)
{
	vd_config *c = obj;

	return deploy_types(p, v, where, f, &c->backup.full_restart, &c->backup.app_only);
}

/* backup.services: service names */
static int backup_services(pctx *p, const vd_yaml_node *v, const char *where, const field *f,
			   void *obj)
{
	vd_config *c = obj;
	size_t i;
	int r;

	if (v->kind == VD_YAML_NULL)
		return 0;
	if (v->kind != VD_YAML_SEQ)
		return vd_yaml_error(p->y, v, where, p->err, "'%s' must be a list of service names",
				     f->key);
	if (!(c->backup.services = config_array(p, v->n ? v->n : 1, sizeof(char *))))
		return oom(p->err);
	for (i = 0; i < v->n; i++) {
		if (v->items[i]->kind != VD_YAML_STR)
			return vd_yaml_error(p->y, v->items[i], where, p->err,
					     "'%s' must be a list of service names", f->key);
		if ((r = get_string(p, v->items[i], where, f->key, PLAIN,
				    &c->backup.services[c->backup.n_services])))
			return r;
		c->backup.n_services++;
	}
	return 0;
}

static const field backup_fields[] = {
	{ "before", CUSTOM(backup_before) },
	{ "keep", INTEGER(vd_config, backup.keep, 1, 1000) },
	{ "restore_on_rollback", BOOLEAN(vd_config, backup.restore_on_rollback) },
	{ "timeout", DURATION(vd_config, backup.timeout_ms), .checks = NONZERO },
	{ "services", CUSTOM(backup_services) },
};

static const shape backup_section = SHAPE(NULL, vd_config, backup_fields);

/* backup: false | true | {keys} */
static int backup(pctx *p, const vd_yaml_node *v, const char *where, const field *f, void *obj)
{
	vd_config *c = obj;

	if (v->kind == VD_YAML_STR && !vd_yaml_parse_bool(v->s, &c->backup.enabled))
		return 0;
	if (v->kind == VD_YAML_NULL)
		return 0;
	if (v->kind != VD_YAML_MAP)
		return vd_yaml_error(p->y, v, where, p->err,
				     "'%s' must be false, true or a mapping of backup settings", f->key);
	return parse_keys(p, v, sub_where(p, where, f->key), &backup_section, c);
}

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
	{ "backup", CUSTOM(backup) },
};

/* x-* keys at the top level are for YAML anchors */
static const shape file_shape = { "voxdeploy.yml", sizeof(vd_config), true, file_fields,
				  N_FIELDS(file_fields) };

int vd_config_read(vd_yaml *y, const vd_yaml_node *root, vd_env_lookup lookup, void *ctx,
		   vd_config *c, vd_error *err)
{
	pctx p = { .y = y, .c = c, .lookup = lookup, .lookup_ctx = ctx, .err = err };
	int r = 0;

	if (root->kind != VD_YAML_NULL)
		r = parse_item(&p, root, NULL, &file_shape, c);
	vd_kvs_release(&p.seen);
	return r;
}
