#include "controller/model/compose_private.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

/* ------------------------------------------------------------------------
 * Errors of one load.
 */

int compose_oom(loadctx *lc)
{
	return vd_error_set(lc->err, VD_ENOMEM, "out of memory");
}

int compose_err(loadctx *lc, const vd_yaml_node *n, const char *where, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vd_yaml_verror(lc->y, n, where, lc->err, fmt, ap);
	va_end(ap);
	return r;
}

int compose_charge(loadctx *lc, const vd_yaml_node *n, unsigned long units)
{
	return vd_yaml_charge(lc->y, n, units, lc->err);
}

/* ------------------------------------------------------------------------
 * Scalars: durations, byte sizes, words.
 */

/* A decimal number at *pp ("12", "1.5", ".5", "5."), *pp moved past it:
 * how many digits stood before and after the point, and whether there was
 * one.  VD_EINVAL past 1e19. */
static int read_decimal(const char **pp, double *out, size_t *n_int, size_t *n_frac, bool *dot)
{
	const char *p = *pp;
	double v = 0, scale = 1;

	*n_int = *n_frac = 0;
	*dot = false;
	for (; isdigit((unsigned char)*p); (*n_int)++) {
		v = v * 10 + (*p++ - '0');
		if (v > 1e19)
			return VD_EINVAL;
	}
	if (*p == '.') {
		*dot = true;
		for (p++; isdigit((unsigned char)*p); (*n_frac)++) {
			scale /= 10;
			v += (*p++ - '0') * scale;
		}
	}
	*pp = p;
	*out = v;
	return 0;
}

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
		double v;
		size_t i, best = 0, blen = 0, n_int, n_frac;
		bool dot;

		/* Go's time.ParseDuration: "1.5h", ".5s" and "5.s" alike */
		if (read_decimal(&p, &v, &n_int, &n_frac, &dot) || !(n_int + n_frac))
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
	double v, mul = 1;
	size_t n_int, n_frac;
	bool dot;

	/* digits before the point, and after it when there is one */
	if (!s || read_decimal(&p, &v, &n_int, &n_frac, &dot) || !n_int || (dot && !n_frac))
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

void compose_free_words(char **v, size_t n)
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
	compose_free_words(v, n);
	vd_buf_release(&w);
	return r;
}

/* ------------------------------------------------------------------------
 * Networks and volumes of the top level.
 */

/* external: true, or the legacy external: {name: x} (k->sub: its key). */
static int t_external(loadctx *lc, const vd_yaml_node *v, const char *where, const compose_key *k, void *obj)
{
	bool *ext = COMPOSE_FIELD(bool, obj, k);

	if (v->kind != VD_YAML_MAP)
		return compose_t_bool(lc, v, where, k->name, ext);
	*ext = true;
	return compose_read_keys(lc, v, where, k->sub, obj);
}

static const compose_key pool_keys[] = {
	{ "subnet", K_STR(vd_compose_ipam_pool, subnet) },
	{ "gateway", K_STR(vd_compose_ipam_pool, gateway) },
	{ "ip_range", K_STR(vd_compose_ipam_pool, ip_range) },
};

static const compose_table pool_table = COMPOSE_TABLE(pool_keys);

static int ipam_pool(loadctx *lc, const vd_yaml_node *it, const char *where, void *ctx)
{
	vd_compose_network *net = ctx;

	return compose_read_keys(lc, it, where, &pool_table, &net->ipam_config[net->n_ipam_config++]);
}

static const compose_list ipam_config = {
	"a list", .room = COMPOSE_ROOM(vd_compose_network, ipam_config, 0), .map = ipam_pool,
};

/* ipam.config: a list of pools */
static int t_ipam_config(loadctx *lc, const vd_yaml_node *v, const char *where, const compose_key *k,
			 void *obj)
{
	return compose_read_list(lc, v, where, k->name, &ipam_config, obj);
}

static const compose_key ipam_keys[] = {
	{ "driver", K_STR(vd_compose_network, ipam_driver) },
	{ "config", K_READ(t_ipam_config) },
};

static const compose_key network_external_keys[] = {
	{ "name", K_STR(vd_compose_network, name) },
};

static const compose_table ipam_table = COMPOSE_TABLE(ipam_keys);
static const compose_table network_external_table = COMPOSE_TABLE(network_external_keys);

static const compose_key network_keys[] = {
	{ "driver", K_STR(vd_compose_network, driver) },
	{ "driver_opts", K_KVS(vd_compose_network, driver_opts, COMPOSE_NULL_EMPTY) },
	{ "ipam", K_SAME_SECTION(ipam_table) },
	{ "external", K_READ_AT(t_external, vd_compose_network, external, bool), .sub = &network_external_table },
	{ "name", K_STR(vd_compose_network, name) },
	{ "labels", K_KVS(vd_compose_network, labels, COMPOSE_NULL_EMPTY), .norm = COMPOSE_KEY_VALUE },
	{ "internal", K_BOOL(vd_compose_network, internal) },
	{ "attachable", K_BOOL(vd_compose_network, attachable) },
};

static const compose_key volume_external_keys[] = {
	{ "name", K_STR(vd_compose_volume, name) },
};

static const compose_table volume_external_table = COMPOSE_TABLE(volume_external_keys);

static const compose_key volume_keys[] = {
	{ "driver", K_STR(vd_compose_volume, driver) },
	{ "driver_opts", K_KVS(vd_compose_volume, driver_opts, COMPOSE_NULL_EMPTY) },
	{ "external", K_READ_AT(t_external, vd_compose_volume, external, bool), .sub = &volume_external_table },
	{ "name", K_STR(vd_compose_volume, name) },
	{ "labels", K_KVS(vd_compose_volume, labels, COMPOSE_NULL_EMPTY), .norm = COMPOSE_KEY_VALUE },
};

static const compose_key secret_external_keys[] = {
	{ "name", K_STR(vd_compose_secret, name) },
};

static const compose_table secret_external_table = COMPOSE_TABLE(secret_external_keys);

static const compose_key secret_keys[] = {
	{ "file", K_STR(vd_compose_secret, file) },
	{ "environment", K_STR(vd_compose_secret, environment) },
	{ "external", K_READ_AT(t_external, vd_compose_secret, external, bool), .sub = &secret_external_table },
	{ "name", K_STR(vd_compose_secret, name) },
	{ "labels", .type = COMPOSE_IGNORE },
};

/* x-* keys of networks and volumes are dropped by compose_normalise() */
static const compose_table network_table = COMPOSE_TABLE(network_keys, .what = "network", .x_keys = true);
static const compose_table volume_table = COMPOSE_TABLE(volume_keys, .what = "volume", .x_keys = true);
static const compose_table secret_table = COMPOSE_TABLE(secret_keys, .what = "secret", .x_keys = true);

/* What a top-level network and volume both have. */
struct entry_fields {
	char **key;
	char **name;
	vd_compose_pos *pos;
	const bool *external;
};

/* An entry of the top-level networks or volumes: its key (a name `valid`
 * accepts, unless NULL), null or a mapping of t's keys into obj ("network
 * 'NAME'" in messages), then the engine's name: `name:`, the key when
 * external, else <project>_<key>. */
static int t_entry(loadctx *lc, const vd_yaml_pair *p, const compose_table *t, bool (*valid)(const char *),
		   const struct entry_fields *f, void *obj)
{
	const vd_yaml_node *v = p->val;
	const char *where;
	int r;

	if (!(*f->key = compose_dup(lc, p->key->s)))
		return compose_oom(lc);
	*f->pos = compose_pos_of(lc, p->key);
	if (valid && !valid(*f->key))
		return compose_err(lc, p->key, NULL, "invalid %s name '%s'", t->what, *f->key);
	if (!(where = vd_yaml_printf(lc->y, "%s '%s'", t->what, p->key->s)))
		return compose_oom(lc);
	if (v->kind != VD_YAML_MAP && v->kind != VD_YAML_NULL)
		return compose_err(lc, v, where, "must be a mapping");
	if (v->kind == VD_YAML_MAP && (r = compose_read_keys(lc, v, where, t, obj)))
		return r;
	if (!*f->name || !**f->name)
		*f->name = *f->external ? compose_dup(lc, *f->key)
					: vd_arena_printf(lc->m, "%s_%s", lc->c->name, *f->key);
	return *f->name ? 0 : compose_oom(lc);
}

/* (top: NULL, the top level) */
static int t_network(loadctx *lc, const vd_yaml_pair *np, const char *top, void *ctx)
{
	vd_compose *c = ctx;
	vd_compose_network *n = &c->networks[c->n_networks++];
	const struct entry_fields f = { &n->key, &n->name, &n->pos, &n->external };

	return t_entry(lc, np, &network_table, NULL, &f, n);
}

static int t_volume(loadctx *lc, const vd_yaml_pair *vp, const char *top, void *ctx)
{
	vd_compose *c = ctx;
	vd_compose_volume *vol = &c->volumes[c->n_volumes++];
	const struct entry_fields f = { &vol->key, &vol->name, &vol->pos, &vol->external };

	return t_entry(lc, vp, &volume_table, compose_valid_volume_name, &f, vol);
}

/* A secret outside Swarm is a file (bind-mounted) or an environment
 * variable's value; external ones and drivers are Swarm's, refused as
 * compose refuses them. */
static int t_secret(loadctx *lc, const vd_yaml_pair *sp, const char *top, void *ctx)
{
	vd_compose *c = ctx;
	vd_compose_secret *sec = &c->secrets[c->n_secrets++];
	const struct entry_fields f = { &sec->key, &sec->name, &sec->pos, &sec->external };
	const char *where;
	int r;

	if ((r = t_entry(lc, sp, &secret_table, NULL, &f, sec)))
		return r;
	if (!(where = vd_yaml_printf(lc->y, "secret '%s'", sec->key)))
		return compose_oom(lc);
	if (sec->external)
		return compose_err(lc, sp->key, where, "an external secret is Swarm's; outside Swarm a "
				   "secret is a 'file' or an 'environment' variable");
	if (!!(sec->file && *sec->file) == !!(sec->environment && *sec->environment))
		return compose_err(lc, sp->key, where, "needs one of 'file' and 'environment'");
	if (sec->environment)
		return compose_err(lc, sp->key, where, "a secret from 'environment' is not supported: "
				   "give it as a 'file' (bind-mounted read-only, as compose does)");
	if (sec->file && !(sec->file = compose_resolve_path(lc, sec->file)))
		return compose_oom(lc);
	return 0;
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
		return compose_oom(lc);
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
	g->start = vd_yaml_array(lc->y, c->n_services + 1, sizeof(size_t));
	g->deps = vd_yaml_array(lc->y, n, sizeof(size_t));
	if (!g->start || !g->deps)
		return compose_oom(lc);
	n = 0;
	for (i = 0; i < c->n_services; i++) {
		vd_compose_service *s = &c->services[i];
		const char *where = vd_yaml_printf(lc->y, "service '%s'", s->name);

		if (!where)
			return compose_oom(lc);
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
	size_t *path = vd_yaml_array(lc->y, c->n_services + 1, sizeof(size_t));
	ssize_t *seen_at = vd_yaml_array(lc->y, c->n_services, sizeof(ssize_t));
	size_t i, n = 0, cur = 0, first;
	vd_buf b = VD_BUF_INIT;
	const char *where;
	int r;

	if (!path || !seen_at)
		return compose_oom(lc);
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
	where = vd_yaml_printf(lc->y, "service '%s'", c->services[path[first]].name);
	r = where ? err_pos(lc, &c->services[path[first]].pos, where, "dependency cycle: %s", vd_buf_cstr(&b))
		  : compose_oom(lc);
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
	missing = vd_yaml_array(lc->y, n, sizeof(size_t));
	heap = vd_yaml_array(lc->y, n, sizeof(size_t));
	rcount = vd_yaml_array(lc->y, n + 1, sizeof(size_t));
	rstart = vd_yaml_array(lc->y, n + 1, sizeof(size_t));
	rlist = vd_yaml_array(lc->y, g.start[n], sizeof(size_t));
	placed = vd_yaml_array(lc->y, n, sizeof(bool));
	c->order = vd_arena_array(lc->m, n, sizeof(size_t));
	if (!missing || !heap || !rcount || !rstart || !rlist || !placed || !c->order)
		return compose_oom(lc);
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

/* compose: a link to a service is also a depends_on it (service_started)
 * unless one is declared. */
static int links_depend(loadctx *lc, vd_compose_service *s, const char *where)
{
	vd_compose_dep *deps;
	size_t i, j, k = 0;

	if (!s->links.len)
		return 0;
	if (!(deps = vd_arena_array(lc->m, s->n_depends_on + s->links.len, sizeof(*deps))))
		return compose_oom(lc);
	if (s->n_depends_on)
		memcpy(deps, s->depends_on, s->n_depends_on * sizeof(*deps));
	k = s->n_depends_on;
	for (i = 0; i < s->links.len; i++) {
		const char *colon = strchr(s->links.items[i], ':');
		char *svc = colon ? vd_arena_strndup(lc->m, s->links.items[i], (size_t)(colon - s->links.items[i]))
				  : compose_dup(lc, s->links.items[i]);

		if (!svc)
			return compose_oom(lc);
		if (service_index(lc->c, svc) < 0)
			return err_pos(lc, &s->pos, where, "links: no service '%s'", svc);
		for (j = 0; j < k && strcmp(deps[j].service, svc); j++)
			;
		if (j < k)
			continue;
		deps[k].service = svc;
		deps[k].condition = VD_COMPOSE_SERVICE_STARTED;
		deps[k].restart = true;
		deps[k].required = true;
		k++;
	}
	s->depends_on = deps;
	s->n_depends_on = k;
	return 0;
}

static int cross_check(loadctx *lc)
{
	vd_compose *c = lc->c;
	compose_strmap names = { 0 };
	bool need_default = false;
	size_t i, j;
	int r = 0;

	for (i = 0; i < c->n_services && !r; i++) {
		vd_compose_service *s = &c->services[i];
		const char *where = vd_yaml_printf(lc->y, "service '%s'", s->name);
		vd_compose_service *other;

		if (!where) {
			r = compose_oom(lc);
			break;
		}
		if (s->container_name) {
			other = vd_strmap_get(&names, s->container_name);
			if (other) {
				r = err_pos(lc, &s->pos, where, "container_name '%s' is already used by service '%s'",
					    s->container_name, other->name);
				break;
			}
			if (vd_strmap_put(&names, s->container_name, s)) {
				r = compose_oom(lc);
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
		for (j = 0; j < s->n_secrets && !r; j++)
			if (!vd_compose_secret_find(c, s->secrets[j].source))
				r = err_pos(lc, &s->secrets[j].pos, where,
					    "secret '%s' is not declared in the top-level secrets",
					    s->secrets[j].source);
		if (!r)
			r = links_depend(lc, s, where);
		if (!r && !s->network_mode && !s->n_networks) {
			/* compose attaches such a service to the project's default network */
			if (!(s->networks = vd_arena_array(lc->m, 1, sizeof(*s->networks))) ||
			    !(s->networks[0].network = compose_dup(lc, "default"))) {
				r = compose_oom(lc);
				break;
			}
			s->n_networks = 1;
			if (!vd_compose_network_find(c, "default"))
				need_default = true;
		}
	}
	vd_strmap_release(&names);
	if (r)
		return r;
	if (need_default) {
		vd_compose_network *n = &c->networks[c->n_networks];

		memset(n, 0, sizeof(*n));
		n->key = compose_dup(lc, "default");
		n->name = vd_arena_printf(lc->m, "%s_default", c->name);
		n->implicit = true;
		if (!n->key || !n->name)
			return compose_oom(lc);
		c->n_networks++;
	}
	return order_services(lc);
}

/* ------------------------------------------------------------------------
 * The model from the merged tree.
 */

/* The top level, once read. */
struct project_in {
	char *name;
	const vd_yaml_node *services;
	const vd_yaml_node *networks;
	const vd_yaml_node *volumes;
	const vd_yaml_node *secrets;
};

static const compose_key project_keys[] = {
	{ "version", .type = COMPOSE_IGNORE },
	{ "name", K_STR(struct project_in, name) },
	{ "services", K_NODE(struct project_in, services), .each = &compose_service_table },
	{ "networks", K_NODE(struct project_in, networks), .each = &network_table },
	{ "volumes", K_NODE(struct project_in, volumes), .each = &volume_table },
	{ "secrets", K_NODE(struct project_in, secrets), .each = &secret_table },
};

/* x-* keys are dropped by compose_normalise() */
const compose_table compose_project_table = COMPOSE_TABLE(project_keys, .x_keys = true);

static int t_service(loadctx *lc, const vd_yaml_pair *sp, const char *top, void *ctx)
{
	vd_compose *c = ctx;

	return compose_t_service(lc, sp, &c->services[c->n_services++]);
}

/* networks: with room for the implicit default network */
static const compose_named top_networks = { "a mapping", COMPOSE_ROOM(vd_compose, networks, 1), t_network };
static const compose_named top_volumes = { "a mapping", COMPOSE_ROOM(vd_compose, volumes, 0), t_volume };
static const compose_named top_secrets = { "a mapping", COMPOSE_ROOM(vd_compose, secrets, 0), t_secret };
static const compose_named top_services = { "a mapping", COMPOSE_ROOM(vd_compose, services, 0), t_service };

/* The project's name: the caller's, else the top-level `name:`, else the
 * directory's base name, normalised. */
static int project_name(loadctx *lc, const char *name)
{
	vd_compose *c = lc->c;

	if (lc->opts->project_name && *lc->opts->project_name) {
		c->name = compose_dup(lc, lc->opts->project_name);
	} else {
		char *norm = vd_project_normalize(name && *name ? name : lc->opts->project_dir);

		if (!norm)
			return compose_oom(lc);
		if (!name || !*name) {
			/* the directory's base name */
			const char *slash = strrchr(lc->opts->project_dir, '/');
			char *base;

			free(norm);
			base = vd_yaml_strdup(lc->y, slash && slash[1] ? slash + 1 : lc->opts->project_dir);
			if (!base || !(norm = vd_project_normalize(base)))
				return compose_oom(lc);
		}
		c->name = compose_dup(lc, norm);
		free(norm);
	}
	if (!c->name)
		return compose_oom(lc);
	if (!*c->name)
		return vd_error_set(lc->err, VD_EINVAL, "%s: cannot derive a project name; set one with -p",
				    c->config_files.items[0]);
	return 0;
}

static int t_project(loadctx *lc, const vd_yaml_node *root)
{
	vd_compose *c = lc->c;
	struct project_in in = { 0 };
	const compose_key *k;
	int r;

	if ((r = compose_read_keys(lc, root, NULL, &compose_project_table, &in)) || (r = project_name(lc, in.name)))
		return r;
	/* services, networks, volumes: each a mapping (checked in that order) */
	for (k = project_keys; k < project_keys + compose_project_table.n; k++) {
		const vd_yaml_node *m = k->each ? *COMPOSE_FIELD(const vd_yaml_node *, &in, k) : NULL;

		if (m && m->kind != VD_YAML_MAP && m->kind != VD_YAML_NULL)
			return compose_err(lc, m, NULL, "'%s' must be a mapping", k->name);
	}
	if (in.networks && (r = compose_read_named(lc, in.networks, NULL, "networks", &top_networks, c)))
		return r;
	if (!c->networks && !(c->networks = vd_arena_array(lc->m, 1, sizeof(*c->networks))))
		return compose_oom(lc);
	if (in.volumes && (r = compose_read_named(lc, in.volumes, NULL, "volumes", &top_volumes, c)))
		return r;
	if (in.secrets && (r = compose_read_named(lc, in.secrets, NULL, "secrets", &top_secrets, c)))
		return r;
	if (!in.services || in.services->kind != VD_YAML_MAP || !in.services->n)
		return compose_err(lc, in.services ? in.services : root, NULL, "no services defined");
	if ((r = compose_read_named(lc, in.services, NULL, "services", &top_services, c)))
		return r;
	return cross_check(lc);
}

/* ------------------------------------------------------------------------
 * The public API.
 */

void vd_compose_free(vd_compose *c)
{
	compose_arena a;

	if (!c)
		return;
	a.head = c->arena;
	vd_arena_release(&a);
}

static const char *null_lookup(const char *name, void *ctx)
{
	return NULL;
}

/* Every scalar value goes through vd_interpolate (vd_yaml_options.value). */
static int interpolate_value(const char *value, void *ctx, vd_buf *out, vd_error *err)
{
	const vd_compose_options *opts = ctx;

	if (!strchr(value, '$'))
		return VD_YAML_KEEP;
	return vd_interpolate(value, opts->lookup ? opts->lookup : null_lookup, opts->lookup_ctx, out, NULL,
			      err);
}

static const char *const compose_markers[] = { COMPOSE_TAG_RESET, COMPOSE_TAG_OVERRIDE, NULL };

int vd_compose_load(const vd_compose_source *files, size_t n_files, const vd_compose_options *opts,
		    vd_compose **out, vd_error *err)
{
	vd_yaml_options yopts = VD_YAML_OPTIONS_INIT;
	loadctx lc = { .opts = opts, .err = err };
	compose_arena m = { 0 };
	vd_yaml_node *merged = NULL;
	vd_compose *c;
	size_t i;
	int r = 0;

	if (!n_files || !files)
		return vd_error_set(err, VD_EINVAL, "no compose file given");
	if (!opts || !opts->project_dir || opts->project_dir[0] != '/')
		return vd_error_set(err, VD_EINVAL, "the project directory must be an absolute path");
	if (n_files > 255)
		return vd_error_set(err, VD_EINVAL, "too many compose files");
	yopts.what = "compose file";
	yopts.max_file = VD_COMPOSE_MAX_FILE;
	yopts.markers = compose_markers;
	yopts.value = interpolate_value;
	yopts.value_ctx = (void *)opts;
	if ((r = vd_yaml_new(&yopts, &lc.y, err)))
		return r;
	c = vd_arena_alloc(&m, sizeof(*c));
	if (!c) {
		r = compose_oom(&lc);
		goto done;
	}
	lc.m = &m;
	lc.c = c;
	c->working_dir = vd_arena_strdup(&m, opts->project_dir);
	c->config_files.items = vd_arena_array(&m, n_files, sizeof(char *));
	if (!c->working_dir || !c->config_files.items) {
		r = compose_oom(&lc);
		goto done;
	}
	for (i = 0; i < n_files; i++) {
		if (!(c->config_files.items[i] = vd_arena_strdup(&m, files[i].filename ? files[i].filename : "-"))) {
			r = compose_oom(&lc);
			goto done;
		}
		c->config_files.len++;
	}
	for (i = 0; i < n_files; i++) {
		vd_yaml_node *doc = NULL, *norm;

		if ((r = vd_yaml_parse(lc.y, c->config_files.items[i], files[i].text, files[i].len, &doc, err)))
			goto done;
		if (!doc || doc->kind == VD_YAML_NULL) {
			r = vd_error_set(err, VD_EINVAL, "%s: empty compose file", c->config_files.items[i]);
			goto done;
		}
		if (doc->kind != VD_YAML_MAP) {
			r = compose_err(&lc, doc, NULL, "a compose file must be a mapping");
			goto done;
		}
		if ((r = compose_normalise(&lc, doc, &norm)))
			goto done;
		if (!merged)
			merged = norm;
		else if ((r = compose_merge(&lc, merged, norm, &merged)))
			goto done;
	}
	if ((r = t_project(&lc, merged)))
		goto done;
	compose_keep_names(c);
	c->arena = m.head;
	m.head = NULL;
	*out = c;
done:
	vd_arena_release(&m);
	vd_yaml_free(lc.y);
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
		if ((r = vd_yaml_read_file(p->files[i], VD_COMPOSE_MAX_FILE, &bufs[i], err)))
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

bool vd_compose_is_one_shot(const vd_compose *c, const char *name)
{
	size_t i, j;

	for (i = 0; i < c->n_services; i++)
		for (j = 0; j < c->services[i].n_depends_on; j++)
			if (c->services[i].depends_on[j].condition == VD_COMPOSE_SERVICE_COMPLETED_SUCCESSFULLY &&
			    !strcmp(c->services[i].depends_on[j].service, name))
				return true;
	return false;
}

const vd_compose_network *vd_compose_network_find(const vd_compose *c, const char *key)
{
	size_t i;

	for (i = 0; i < c->n_networks; i++)
		if (!strcmp(c->networks[i].key, key))
			return &c->networks[i];
	return NULL;
}

const vd_compose_secret *vd_compose_secret_find(const vd_compose *c, const char *key)
{
	size_t i;

	for (i = 0; i < c->n_secrets; i++)
		if (!strcmp(c->secrets[i].key, key))
			return &c->secrets[i];
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

static bool depends(const vd_compose *c, const vd_compose_service *s, const char *on, int depth)
{
	size_t i;

	/* (a cycle is refused when the model is read; the bound is a guard) */
	if (depth > 64)
		return false;
	for (i = 0; i < s->n_depends_on; i++) {
		const vd_compose_service *d = vd_compose_service_find(c, s->depends_on[i].service);

		if (!strcmp(s->depends_on[i].service, on) || (d && depends(c, d, on, depth + 1)))
			return true;
	}
	return false;
}

bool vd_compose_depends(const vd_compose *c, const vd_compose_service *s, const char *on)
{
	return depends(c, s, on, 0);
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

const char *vd_compose_default_app(const vd_compose *c)
{
	const char *only = NULL;
	size_t i, built = 0;

	for (i = 0; i < c->n_services; i++) {
		const vd_compose_service *s = &c->services[i];

		if (s->container_name && !strcmp(s->container_name, "voxpersona_app"))
			return s->name;
		if (s->build) {
			built++;
			only = s->name;
		}
	}
	return built == 1 ? only : NULL;
}
