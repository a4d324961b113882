/* A service's ports (short "[IP:][HOST:]CONTAINER[/PROTO]" and long
 * syntax, ranges expanded) and expose, with compose's unicity rules. */
#include "controller/model/compose_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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
	if (vd_yaml_parse_int(buf, allow0 ? 0 : 1, 65535, &a))
		return VD_EINVAL;
	b = a;
	if (dash && vd_yaml_parse_int(dash + 1, allow0 ? 0 : 1, 65535, &b))
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
	compose_strmap seen;   /* "ip|pub|end|target|proto|mode" → index + 1 */
} portvec;

static int port_add(loadctx *lc, portvec *pv, const vd_compose_port *p)
{
	char *key = vd_yaml_printf(lc->y, "%s|%u|%u|%u|%s|%s", p->host_ip ? p->host_ip : "", p->published,
			      p->published_end, p->target, p->protocol, p->mode ? p->mode : "");

	if (!key)
		return compose_oom(lc);
	if (vd_strmap_get(&pv->seen, key))
		return 0;
	if (pv->n == pv->cap) {
		size_t cap = pv->cap ? pv->cap * 2 : 8;
		vd_compose_port *nv = realloc(pv->v, cap * sizeof(*nv));

		if (!nv)
			return compose_oom(lc);
		pv->v = nv;
		pv->cap = cap;
	}
	pv->v[pv->n++] = *p;
	if (vd_strmap_put(&pv->seen, key, (void *)(uintptr_t)pv->n))
		return compose_oom(lc);
	return 0;
}

/* "tcp", "udp" or "sctp" in any case, as the lower-case name; NULL else. */
static const char *port_proto(const char *p)
{
	static const char *const protos[] = { "tcp", "udp", "sctp" };
	size_t i;

	for (i = 0; i < sizeof(protos) / sizeof(protos[0]); i++)
		if (!strcasecmp(p, protos[i]))
			return protos[i];
	return NULL;
}

/* Add a host range → container range mapping (short or long syntax). */
static int port_ranges(loadctx *lc, portvec *pv, const vd_yaml_node *at, const char *where, const char *spec,
		       const char *ip, bool has_host, unsigned hlo, unsigned hhi, unsigned clo, unsigned chi,
		       const char *proto, const char *mode)
{
	vd_compose_port p = { 0 };
	unsigned i;
	int r;

	p.host_ip = ip && *ip ? compose_dup(lc, ip) : NULL;
	p.protocol = (char *)proto;
	p.mode = mode ? compose_dup(lc, mode) : NULL;
	if (has_host && hhi - hlo != chi - clo && chi != clo)
		return compose_err(lc, at, where, "invalid port '%s': host and container ranges differ", spec);
	if ((r = compose_charge(lc, at, chi - clo + 1)))
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

static int port_short(loadctx *lc, const vd_yaml_node *it, const char *where, void *ctx)
{
	portvec *pv = ctx;
	char *s = vd_yaml_strdup(lc->y, it->s), *slash, *colon, *ip = NULL, *host = NULL, *ctr;
	const char *proto = "tcp";
	unsigned hlo = 0, hhi = 0, clo, chi;

	if (!s)
		return compose_oom(lc);
	slash = strrchr(s, '/');
	if (slash) {
		*slash = '\0';
		if (!(proto = port_proto(slash + 1)))
			return compose_err(lc, it, where, "invalid port '%s': unknown protocol '%s'", it->s, slash + 1);
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
					return compose_err(lc, it, where, "invalid port '%s'", it->s);
				ip[l - 1] = '\0';
				ip++;
			}
			if (!*ip)
				return compose_err(lc, it, where, "invalid port '%s'", it->s);
		}
	}
	if (port_range(ctr, strlen(ctr), false, &clo, &chi))
		return compose_err(lc, it, where, "invalid port '%s'", it->s);
	if (host && *host && port_range(host, strlen(host), true, &hlo, &hhi))
		return compose_err(lc, it, where, "invalid port '%s'", it->s);
	return port_ranges(lc, pv, it, where, it->s, ip, host && *host, hlo, hhi, clo, chi, proto, NULL);
}

/* A long-syntax port, once read. */
struct port_in {
	int64_t target;
	char *published;
	char *host_ip;
	char *protocol;
	char *mode;
};

static int t_port_target(loadctx *lc, const vd_yaml_node *v, const char *where, const compose_key *k, void *obj)
{
	if (v->kind != VD_YAML_STR || vd_yaml_parse_int(v->s, 1, 65535, COMPOSE_FIELD(int64_t, obj, k)))
		return compose_err(lc, v, where, "'%s' must be a port number", k->name);
	return 0;
}

static const char *const port_modes[] = { "host", "ingress", NULL };

static const compose_key port_keys[] = {
	{ "target", K_READ_AT(t_port_target, struct port_in, target, int64_t) },
	{ "published", K_STR(struct port_in, published) },
	{ "host_ip", K_STR(struct port_in, host_ip) },
	{ "protocol", K_STR(struct port_in, protocol) },
	{ "mode", K_STR(struct port_in, mode), .oneof = port_modes },
};

static const compose_table port_table = COMPOSE_TABLE(port_keys, .x_keys = true);

static int port_long(loadctx *lc, const vd_yaml_node *it, const char *where, void *ctx)
{
	const char *w = compose_sub_where(lc, where, "ports");
	struct port_in in = { 0 };
	const char *proto = "tcp";
	unsigned hlo = 0, hhi = 0;
	bool published;
	int r;

	if (!w)
		return compose_oom(lc);
	if ((r = compose_read_keys(lc, it, w, &port_table, &in)))
		return r;
	if (!in.target)
		return compose_err(lc, it, w, "'target' is required");
	if (in.protocol && !(proto = port_proto(in.protocol)))
		return compose_err(lc, it, w, "unknown protocol '%s'", in.protocol);
	published = in.published && *in.published;
	if (published && port_range(in.published, strlen(in.published), true, &hlo, &hhi))
		return compose_err(lc, it, w, "invalid published port '%s'", in.published);
	return port_ranges(lc, ctx, it, w, in.published ? in.published : "", in.host_ip, published, hlo, hhi,
			   (unsigned)in.target, (unsigned)in.target, proto, in.mode);
}

static const compose_list port_list = { "a list", .str = port_short, .map = port_long };

int compose_t_ports(loadctx *lc, const vd_yaml_node *v, const char *where, const compose_key *k, void *obj)
{
	vd_compose_service *s = obj;
	portvec pv = { 0 };
	int r = compose_read_list(lc, v, where, k->name, &port_list, &pv);

	if (!r && pv.n) {
		s->ports = vd_arena_array(lc->m, pv.n, sizeof(*s->ports));
		if (!s->ports)
			r = compose_oom(lc);
		else
			memcpy(s->ports, pv.v, pv.n * sizeof(*s->ports));
		s->n_ports = pv.n;
	}
	free(pv.v);
	vd_strmap_release(&pv.seen);
	return r;
}

int compose_t_expose(loadctx *lc, const vd_yaml_node *v, const char *where, const compose_key *k, void *obj)
{
	vd_compose_service *s = obj;
	vd_compose_strs raw;
	compose_strmap seen = { 0 };
	size_t i, n = 0, cap = 0;
	char **out = NULL;
	int r;

	if ((r = compose_t_strs(lc, v, where, k->name, false, false, &raw)))
		return r;
	for (i = 0; i < raw.len && !r; i++) {
		char *slash = strchr(raw.items[i], '/');
		const char *proto = "tcp";
		unsigned lo, hi, p;

		if (slash && !(proto = port_proto(slash + 1))) {
			r = compose_err(lc, v->items[i], where, "invalid expose '%s'", raw.items[i]);
			break;
		}
		if (port_range(raw.items[i], slash ? (size_t)(slash - raw.items[i]) : strlen(raw.items[i]), false,
			       &lo, &hi)) {
			r = compose_err(lc, v->items[i], where, "invalid expose '%s'", raw.items[i]);
			break;
		}
		if ((r = compose_charge(lc, v, hi - lo + 1)))
			break;
		for (p = lo; p <= hi && !r; p++) {
			char *e = vd_arena_printf(lc->m, "%u/%s", p, proto);

			if (!e) {
				r = compose_oom(lc);
			} else if (!vd_strmap_get(&seen, e)) {
				if (n == cap) {
					char **no = realloc(out, (cap = cap ? cap * 2 : 8) * sizeof(*no));

					if (!no) {
						r = compose_oom(lc);
						break;
					}
					out = no;
				}
				out[n++] = e;
				if (vd_strmap_put(&seen, e, e))
					r = compose_oom(lc);
			}
		}
	}
	if (!r)
		s->expose_written = raw;
	if (!r && n) {
		if (!(s->expose.items = vd_arena_array(lc->m, n, sizeof(char *))))
			r = compose_oom(lc);
		else
			memcpy(s->expose.items, out, n * sizeof(char *));
		s->expose.len = n;
	}
	free(out);
	vd_strmap_release(&seen);
	return r;
}
