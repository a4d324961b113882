/* Typing and validating one service: the merged tree of `services.NAME`
 * into a vd_compose_service (ports, volumes, networks, depends_on,
 * healthcheck, ...), with compose's unicity rules for the lists. */
#include "controller/model/compose_private.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool is_remote_context(const char *s)
{
	return strstr(s, "://") || !strncmp(s, "git@", 4) || !strncmp(s, "github.com/", 11);
}

static int t_build(loadctx *lc, const vd_yaml_node *v, const char *where, vd_compose_service *s)
{
	vd_compose_build *b;
	const char *w = compose_sub_where(lc, where, "build");
	char *ctx = NULL;
	size_t i;
	int r = 0;

	if (!w)
		return compose_oom(lc);
	if (v->kind == VD_YAML_NULL)
		return 0;
	if (v->kind != VD_YAML_MAP)
		return compose_err(lc, v, where, "'build' must be a string or a mapping");
	if (!(b = vd_arena_alloc(lc->m, sizeof(*b))))
		return compose_oom(lc);
	b->pos = compose_pos_of(lc, v);
	for (i = 0; i < v->n && !r; i++) {
		const vd_yaml_pair *p = &v->pairs[i];
		const char *k = p->key->s;

		if (compose_skip(p))
			continue;
		if (!strcmp(k, "context"))
			r = compose_t_str(lc, p->val, w, k, &ctx);
		else if (!strcmp(k, "dockerfile"))
			r = compose_t_str(lc, p->val, w, k, &b->dockerfile);
		else if (!strcmp(k, "target"))
			r = compose_t_str(lc, p->val, w, k, &b->target);
		else if (!strcmp(k, "args"))
			r = compose_t_kvs(lc, p->val, w, k, COMPOSE_NULL_LOOKUP, &b->args);
		else if (!strcmp(k, "labels"))
			r = compose_t_kvs(lc, p->val, w, k, COMPOSE_NULL_EMPTY, &b->labels);
		else if (!strcmp(k, "cache_from"))
			r = compose_t_strs(lc, p->val, w, k, false, true, &b->cache_from);
		else
			r = compose_unknown_key(lc, p, w);
	}
	if (r)
		return r;
	if (!ctx || !*ctx)
		ctx = ".";
	b->context = is_remote_context(ctx) ? compose_dup(lc, ctx) : compose_resolve_path(lc, ctx);
	if (!b->dockerfile || !*b->dockerfile)
		b->dockerfile = compose_dup(lc, "Dockerfile");
	if (!b->context || !b->dockerfile)
		return compose_oom(lc);
	s->build = b;
	return 0;
}

static int t_argv(loadctx *lc, const vd_yaml_node *v, const char *where, const char *key, vd_compose_argv *out)
{
	char **words = NULL;
	size_t n = 0, i;
	vd_compose_strs l;
	int r;

	if (v->kind == VD_YAML_NULL)
		return 0;
	if (v->kind == VD_YAML_STR) {
		r = vd_compose_split_words(v->s, &words, &n);
		if (r == VD_ENOMEM)
			return compose_oom(lc);
		if (r)
			return compose_err(lc, v, where, "'%s': unterminated quote in '%s'", key, v->s);
		out->argv = vd_arena_array(lc->m, n, sizeof(char *));
		for (i = 0; out->argv && i < n; i++)
			if (!(out->argv[i] = compose_dup(lc, words[i])))
				break;
		compose_free_words(words, n);
		if (!out->argv || i < n)
			return compose_oom(lc);
		out->argc = n;
		out->set = true;
		return 0;
	}
	if (v->kind != VD_YAML_SEQ)
		return compose_err(lc, v, where, "'%s' must be a string or a list", key);
	if ((r = compose_t_strs(lc, v, where, key, false, false, &l)))
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

static int port_short(loadctx *lc, portvec *pv, const vd_yaml_node *it, const char *where)
{
	char *s = vd_yaml_strdup(lc->y, it->s), *slash, *colon, *ip = NULL, *host = NULL, *ctr;
	const char *proto = "tcp";
	unsigned hlo = 0, hhi = 0, clo, chi;

	if (!s)
		return compose_oom(lc);
	slash = strrchr(s, '/');
	if (slash) {
		*slash = '\0';
		if (!(proto = port_proto(lc, slash + 1)))
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

static int port_long(loadctx *lc, portvec *pv, const vd_yaml_node *it, const char *where)
{
	const char *w = compose_sub_where(lc, where, "ports");
	char *ip = NULL, *mode = NULL, *proto_s = NULL, *published = NULL;
	const char *proto = "tcp";
	int64_t target = 0;
	unsigned hlo = 0, hhi = 0;
	size_t i;
	int r = 0;

	if (!w)
		return compose_oom(lc);
	for (i = 0; i < it->n && !r; i++) {
		const vd_yaml_pair *p = &it->pairs[i];
		const char *k = p->key->s;

		if (compose_skip(p))
			continue;
		if (!strcmp(k, "target")) {
			if (p->val->kind != VD_YAML_STR || vd_yaml_parse_int(p->val->s, 1, 65535, &target))
				r = compose_err(lc, p->val, w, "'target' must be a port number");
		} else if (!strcmp(k, "published")) {
			r = compose_t_str(lc, p->val, w, k, &published);
		} else if (!strcmp(k, "host_ip")) {
			r = compose_t_str(lc, p->val, w, k, &ip);
		} else if (!strcmp(k, "protocol")) {
			r = compose_t_str(lc, p->val, w, k, &proto_s);
		} else if (!strcmp(k, "mode")) {
			r = compose_t_str(lc, p->val, w, k, &mode);
			if (!r && mode && strcmp(mode, "host") && strcmp(mode, "ingress"))
				r = compose_err(lc, p->val, w, "'mode' must be host or ingress");
		} else if (!compose_is_ext(k)) {
			r = compose_unknown_key(lc, p, w);
		}
	}
	if (r)
		return r;
	if (!target)
		return compose_err(lc, it, w, "'target' is required");
	if (proto_s && !(proto = port_proto(lc, proto_s)))
		return compose_err(lc, it, w, "unknown protocol '%s'", proto_s);
	if (published && *published && port_range(published, strlen(published), true, &hlo, &hhi))
		return compose_err(lc, it, w, "invalid published port '%s'", published);
	return port_ranges(lc, pv, it, w, published ? published : "", ip, published && *published, hlo, hhi,
			   (unsigned)target, (unsigned)target, proto, mode);
}

static int t_ports(loadctx *lc, const vd_yaml_node *v, const char *where, vd_compose_service *s)
{
	portvec pv = { 0 };
	size_t i;
	int r = 0;

	if (v->kind == VD_YAML_NULL)
		return 0;
	if (v->kind != VD_YAML_SEQ)
		return compose_err(lc, v, where, "'ports' must be a list");
	for (i = 0; i < v->n && !r; i++) {
		const vd_yaml_node *it = v->items[i];

		if (it->kind == VD_YAML_STR)
			r = port_short(lc, &pv, it, where);
		else if (it->kind == VD_YAML_MAP)
			r = port_long(lc, &pv, it, where);
		else
			r = compose_err(lc, it, where, "'ports' entries must be strings or mappings");
	}
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

static int t_expose(loadctx *lc, const vd_yaml_node *v, const char *where, vd_compose_service *s)
{
	vd_compose_strs raw;
	compose_strmap seen = { 0 };
	size_t i, n = 0, cap = 0;
	char **out = NULL;
	int r;

	if ((r = compose_t_strs(lc, v, where, "expose", false, false, &raw)))
		return r;
	for (i = 0; i < raw.len && !r; i++) {
		char *slash = strchr(raw.items[i], '/');
		const char *proto = "tcp";
		unsigned lo, hi, p;

		if (slash && !(proto = port_proto(lc, slash + 1))) {
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

bool compose_valid_volume_name(const char *s)
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

static int volume_source(loadctx *lc, const vd_yaml_node *it, const char *where, const char *src,
			 vd_compose_mount *m)
{
	if (src[0] == '.' || src[0] == '/' || src[0] == '~') {
		if (m->type == VD_COMPOSE_MOUNT_VOLUME && !m->short_syntax)
			return compose_err(lc, it, where, "volume source '%s' must be a volume name", src);
		m->type = VD_COMPOSE_MOUNT_BIND;
		if (!(m->source = compose_resolve_path(lc, src)))
			return compose_oom(lc);
		return 0;
	}
	if (m->type == VD_COMPOSE_MOUNT_BIND && !m->short_syntax) {
		if (!(m->source = compose_resolve_path(lc, src)))
			return compose_oom(lc);
		return 0;
	}
	if (!compose_valid_volume_name(src))
		return compose_err(lc, it, where, "invalid volume name '%s'", src);
	m->type = VD_COMPOSE_MOUNT_VOLUME;
	if (!(m->source = compose_dup(lc, src)))
		return compose_oom(lc);
	return 0;
}

static int volume_short(loadctx *lc, const vd_yaml_node *it, const char *where, vd_compose_mount *m)
{
	char *s = vd_yaml_strdup(lc->y, it->s), *parts[4] = { NULL }, *save = NULL, *o;
	size_t n = 0;
	char *c;
	int r;

	if (!s)
		return compose_oom(lc);
	m->short_syntax = true;
	m->type = VD_COMPOSE_MOUNT_VOLUME;
	for (c = s;; c++) {
		if (n == 4)
			return compose_err(lc, it, where, "invalid volume '%s': too many ':'", it->s);
		parts[n++] = c;
		c = strchr(c, ':');
		if (!c)
			break;
		*c = '\0';
	}
	if (n == 4)
		return compose_err(lc, it, where, "invalid volume '%s': too many ':'", it->s);
	if (n == 1) {
		m->target = parts[0];
	} else {
		if (!*parts[0])
			return compose_err(lc, it, where, "invalid volume '%s': empty source", it->s);
		m->target = parts[1];
		if ((r = volume_source(lc, it, where, parts[0], m)))
			return r;
		if (m->type == VD_COMPOSE_MOUNT_BIND)
			m->create_host_path = true;
	}
	if (m->target[0] != '/')
		return compose_err(lc, it, where, "invalid volume '%s': target must be an absolute path", it->s);
	if (!(m->target = compose_dup(lc, m->target)))
		return compose_oom(lc);
	if (n == 3) {
		for (o = strtok_r(parts[2], ",", &save); o; o = strtok_r(NULL, ",", &save)) {
			if (!strcmp(o, "ro"))
				m->read_only = true;
			else if (!strcmp(o, "rw"))
				m->read_only = false;
			else if (!strcmp(o, "z") || !strcmp(o, "Z"))
				m->selinux = compose_dup(lc, o);
			else if (!strcmp(o, "nocopy") && m->type == VD_COMPOSE_MOUNT_VOLUME)
				m->nocopy = true;
			else if (is_propagation(o) && m->type == VD_COMPOSE_MOUNT_BIND)
				m->propagation = compose_dup(lc, o);
			else
				return compose_err(lc, it, where, "invalid volume '%s': unknown option '%s'", it->s, o);
		}
	}
	return 0;
}

static int volume_long(loadctx *lc, const vd_yaml_node *it, const char *where, vd_compose_mount *m)
{
	const char *w = compose_sub_where(lc, where, "volumes");
	char *type = NULL, *src = NULL, *sub;
	const vd_yaml_node *bind = NULL, *vol = NULL, *tmp = NULL;
	size_t i, j;
	int r = 0;

	if (!w)
		return compose_oom(lc);
	for (i = 0; i < it->n && !r; i++) {
		const vd_yaml_pair *p = &it->pairs[i];
		const char *k = p->key->s;

		if (compose_skip(p))
			continue;
		if (!strcmp(k, "type"))
			r = compose_t_str(lc, p->val, w, k, &type);
		else if (!strcmp(k, "source"))
			r = compose_t_str(lc, p->val, w, k, &src);
		else if (!strcmp(k, "target"))
			r = compose_t_str(lc, p->val, w, k, &m->target);
		else if (!strcmp(k, "read_only"))
			r = compose_t_bool(lc, p->val, w, k, &m->read_only);
		else if (!strcmp(k, "bind"))
			r = compose_t_map_or_null(lc, bind = p->val, w, k);
		else if (!strcmp(k, "volume"))
			r = compose_t_map_or_null(lc, vol = p->val, w, k);
		else if (!strcmp(k, "tmpfs"))
			r = compose_t_map_or_null(lc, tmp = p->val, w, k);
		else if (!compose_is_ext(k))
			r = compose_unknown_key(lc, p, w);
	}
	if (r)
		return r;
	if (!type)
		return compose_err(lc, it, w, "'type' is required");
	if (!strcmp(type, "bind"))
		m->type = VD_COMPOSE_MOUNT_BIND;
	else if (!strcmp(type, "volume"))
		m->type = VD_COMPOSE_MOUNT_VOLUME;
	else if (!strcmp(type, "tmpfs"))
		m->type = VD_COMPOSE_MOUNT_TMPFS;
	else
		return compose_err(lc, it, w, "unsupported volume type '%s' (bind, volume or tmpfs)", type);
	if (!m->target || m->target[0] != '/')
		return compose_err(lc, it, w, "'target' must be an absolute path");
	if (m->type == VD_COMPOSE_MOUNT_BIND && (!src || !*src))
		return compose_err(lc, it, w, "a bind mount needs a 'source'");
	if (m->type == VD_COMPOSE_MOUNT_TMPFS && src && *src)
		return compose_err(lc, it, w, "a tmpfs mount takes no 'source'");
	if (src && *src && (r = volume_source(lc, it, w, src, m)))
		return r;
	if ((bind && m->type != VD_COMPOSE_MOUNT_BIND) || (vol && m->type != VD_COMPOSE_MOUNT_VOLUME) ||
	    (tmp && m->type != VD_COMPOSE_MOUNT_TMPFS))
		return compose_err(lc, it, w, "options that do not match type '%s'", type);
	for (j = 0; j < 3; j++) {
		const vd_yaml_node *o = j == 0 ? bind : j == 1 ? vol : tmp;
		const char *ok = j == 0 ? "bind" : j == 1 ? "volume" : "tmpfs";

		if (!o || o->kind != VD_YAML_MAP)
			continue;
		if (!(sub = compose_sub_where(lc, w, ok)))
			return compose_oom(lc);
		for (i = 0; i < o->n && !r; i++) {
			const vd_yaml_pair *p = &o->pairs[i];
			const char *k = p->key->s;

			if (compose_skip(p))
				continue;
			if (j == 0 && !strcmp(k, "create_host_path")) {
				r = compose_t_bool(lc, p->val, sub, k, &m->create_host_path);
			} else if (j == 0 && !strcmp(k, "propagation")) {
				r = compose_t_str(lc, p->val, sub, k, &m->propagation);
				if (!r && m->propagation && !is_propagation(m->propagation))
					r = compose_err(lc, p->val, sub, "invalid propagation '%s'", m->propagation);
			} else if (j == 0 && !strcmp(k, "selinux")) {
				r = compose_t_str(lc, p->val, sub, k, &m->selinux);
				if (!r && m->selinux && strcmp(m->selinux, "z") && strcmp(m->selinux, "Z"))
					r = compose_err(lc, p->val, sub, "'selinux' must be z or Z");
			} else if (j == 1 && !strcmp(k, "nocopy")) {
				r = compose_t_bool(lc, p->val, sub, k, &m->nocopy);
			} else if (j == 2 && !strcmp(k, "size")) {
				r = compose_t_bytes(lc, p->val, sub, k, &m->tmpfs_size);
			} else {
				r = compose_unknown_key(lc, p, sub);
			}
		}
	}
	return r;
}

static int t_volumes(loadctx *lc, const vd_yaml_node *v, const char *where, vd_compose_service *s)
{
	compose_strmap by_target = { 0 };
	size_t i;
	int r = 0;

	if (v->kind == VD_YAML_NULL)
		return 0;
	if (v->kind != VD_YAML_SEQ)
		return compose_err(lc, v, where, "'volumes' must be a list");
	if ((r = compose_charge(lc, v, v->n)))
		return r;
	if (!(s->volumes = vd_arena_array(lc->m, v->n, sizeof(*s->volumes))))
		return compose_oom(lc);
	for (i = 0; i < v->n && !r; i++) {
		const vd_yaml_node *it = v->items[i];
		vd_compose_mount m = { 0 };
		uintptr_t at;

		if (it->kind == VD_YAML_STR)
			r = volume_short(lc, it, where, &m);
		else if (it->kind == VD_YAML_MAP)
			r = volume_long(lc, it, where, &m);
		else
			r = compose_err(lc, it, where, "'volumes' entries must be strings or mappings");
		if (r)
			break;
		m.pos = compose_pos_of(lc, it);
		/* compose's unicity: one mount per target, the later one wins */
		at = (uintptr_t)vd_strmap_get(&by_target, m.target);
		if (at) {
			s->volumes[at - 1] = m;
			continue;
		}
		s->volumes[s->n_volumes++] = m;
		if (vd_strmap_put(&by_target, m.target, (void *)(uintptr_t)s->n_volumes))
			r = compose_oom(lc);
	}
	vd_strmap_release(&by_target);
	return r;
}

static int t_service_networks(loadctx *lc, const vd_yaml_node *v, const char *where, vd_compose_service *s)
{
	const char *w = compose_sub_where(lc, where, "networks");
	size_t i, j;
	int r = 0;

	if (!w)
		return compose_oom(lc);
	if (v->kind == VD_YAML_NULL)
		return 0;
	if (v->kind != VD_YAML_MAP)
		return compose_err(lc, v, where, "'networks' must be a list or a mapping");
	if (!(s->networks = vd_arena_array(lc->m, v->n, sizeof(*s->networks))))
		return compose_oom(lc);
	for (i = 0; i < v->n && !r; i++) {
		const vd_yaml_pair *p = &v->pairs[i];
		vd_compose_service_net *n = &s->networks[s->n_networks];
		const char *nw;

		if (compose_skip(p))
			continue;
		if (!(n->network = compose_dup(lc, p->key->s)) ||
		    !(nw = vd_yaml_printf(lc->y, "%s: network '%s'", where, p->key->s)))
			return compose_oom(lc);
		s->n_networks++;
		if (p->val->kind == VD_YAML_NULL)
			continue;
		if (p->val->kind != VD_YAML_MAP)
			return compose_err(lc, p->val, w, "'%s' must be a mapping or null", p->key->s);
		for (j = 0; j < p->val->n && !r; j++) {
			const vd_yaml_pair *q = &p->val->pairs[j];
			const char *k = q->key->s;

			if (compose_skip(q))
				continue;
			if (!strcmp(k, "aliases"))
				r = compose_t_strs(lc, q->val, nw, k, false, true, &n->aliases);
			else if (!strcmp(k, "ipv4_address"))
				r = compose_t_str(lc, q->val, nw, k, &n->ipv4_address);
			else if (!strcmp(k, "ipv6_address"))
				r = compose_t_str(lc, q->val, nw, k, &n->ipv6_address);
			else if (!compose_is_ext(k))
				r = compose_unknown_key(lc, q, nw);
		}
	}
	return r;
}

static int t_depends_on(loadctx *lc, const vd_yaml_node *v, const char *where, vd_compose_service *s)
{
	size_t i, j;
	int r = 0;

	if (v->kind == VD_YAML_NULL)
		return 0;
	if (v->kind != VD_YAML_MAP)
		return compose_err(lc, v, where, "'depends_on' must be a list or a mapping");
	if (!(s->depends_on = vd_arena_array(lc->m, v->n, sizeof(*s->depends_on))))
		return compose_oom(lc);
	for (i = 0; i < v->n && !r; i++) {
		const vd_yaml_pair *p = &v->pairs[i];
		vd_compose_dep *d = &s->depends_on[s->n_depends_on];
		const char *dw;

		if (compose_skip(p))
			continue;
		if (!(d->service = compose_dup(lc, p->key->s)) ||
		    !(dw = vd_yaml_printf(lc->y, "%s: depends_on '%s'", where, p->key->s)))
			return compose_oom(lc);
		d->condition = VD_COMPOSE_SERVICE_STARTED;
		d->required = true;
		s->n_depends_on++;
		if (p->val->kind == VD_YAML_NULL)
			continue;
		if (p->val->kind != VD_YAML_MAP)
			return compose_err(lc, p->val, dw, "must be a mapping");
		for (j = 0; j < p->val->n && !r; j++) {
			const vd_yaml_pair *q = &p->val->pairs[j];
			const char *k = q->key->s;

			if (compose_skip(q))
				continue;
			if (!strcmp(k, "condition")) {
				const char *c = q->val->kind == VD_YAML_STR ? q->val->s : "";

				if (!strcmp(c, "service_started"))
					d->condition = VD_COMPOSE_SERVICE_STARTED;
				else if (!strcmp(c, "service_healthy"))
					d->condition = VD_COMPOSE_SERVICE_HEALTHY;
				else if (!strcmp(c, "service_completed_successfully"))
					d->condition = VD_COMPOSE_SERVICE_COMPLETED_SUCCESSFULLY;
				else
					r = compose_err(lc, q->val, dw,
						   "'condition' must be service_started, service_healthy or "
						   "service_completed_successfully");
			} else if (!strcmp(k, "restart")) {
				r = compose_t_bool(lc, q->val, dw, k, &d->restart);
			} else if (!strcmp(k, "required")) {
				r = compose_t_bool(lc, q->val, dw, k, &d->required);
			} else {
				r = compose_unknown_key(lc, q, dw);
			}
		}
	}
	return r;
}

static int t_healthcheck(loadctx *lc, const vd_yaml_node *v, const char *where, vd_compose_healthcheck *h)
{
	const char *w = compose_sub_where(lc, where, "healthcheck");
	size_t i;
	int r = 0;

	if (!w)
		return compose_oom(lc);
	if (v->kind == VD_YAML_NULL)
		return 0;
	if (v->kind != VD_YAML_MAP)
		return compose_err(lc, v, where, "'healthcheck' must be a mapping");
	h->set = true;
	for (i = 0; i < v->n && !r; i++) {
		const vd_yaml_pair *p = &v->pairs[i];
		const char *k = p->key->s;

		if (compose_skip(p))
			continue;
		if (!strcmp(k, "test")) {
			if (p->val->kind == VD_YAML_STR) {
				if (!(h->test.items = vd_arena_array(lc->m, 2, sizeof(char *))) ||
				    !(h->test.items[0] = compose_dup(lc, "CMD-SHELL")) ||
				    !(h->test.items[1] = compose_dup(lc, p->val->s)))
					return compose_oom(lc);
				h->test.len = 2;
			} else if (p->val->kind == VD_YAML_SEQ) {
				if ((r = compose_t_strs(lc, p->val, w, k, false, false, &h->test)))
					return r;
				if (!h->test.len)
					return compose_err(lc, p->val, w, "'test' must not be empty");
				if (!strcmp(h->test.items[0], "NONE"))
					h->disable = true;
				else if (strcmp(h->test.items[0], "CMD") && strcmp(h->test.items[0], "CMD-SHELL"))
					return compose_err(lc, p->val, w,
						      "'test' must start with NONE, CMD or CMD-SHELL, not '%s'",
						      h->test.items[0]);
			} else if (p->val->kind != VD_YAML_NULL) {
				return compose_err(lc, p->val, w, "'test' must be a string or a list");
			}
		} else if (!strcmp(k, "interval")) {
			r = compose_t_duration(lc, p->val, w, k, &h->interval_ns);
		} else if (!strcmp(k, "timeout")) {
			r = compose_t_duration(lc, p->val, w, k, &h->timeout_ns);
		} else if (!strcmp(k, "start_period")) {
			r = compose_t_duration(lc, p->val, w, k, &h->start_period_ns);
		} else if (!strcmp(k, "start_interval")) {
			r = compose_t_duration(lc, p->val, w, k, &h->start_interval_ns);
		} else if (!strcmp(k, "retries")) {
			r = compose_t_int(lc, p->val, w, k, 0, &h->retries);
		} else if (!strcmp(k, "disable")) {
			bool d = false;

			r = compose_t_bool(lc, p->val, w, k, &d);
			h->disable = h->disable || d;
		} else if (!compose_is_ext(k)) {
			r = compose_unknown_key(lc, p, w);
		}
	}
	return r;
}

static int t_logging(loadctx *lc, const vd_yaml_node *v, const char *where, vd_compose_service *s)
{
	const char *w = compose_sub_where(lc, where, "logging");
	size_t i;
	int r = 0;

	if (!w)
		return compose_oom(lc);
	if (v->kind == VD_YAML_NULL)
		return 0;
	if (v->kind != VD_YAML_MAP)
		return compose_err(lc, v, where, "'logging' must be a mapping");
	for (i = 0; i < v->n && !r; i++) {
		const vd_yaml_pair *p = &v->pairs[i];
		const char *k = p->key->s;

		if (compose_skip(p))
			continue;
		if (!strcmp(k, "driver"))
			r = compose_t_str(lc, p->val, w, k, &s->logging_driver);
		else if (!strcmp(k, "options"))
			r = compose_t_kvs(lc, p->val, w, k, COMPOSE_NULL_EMPTY, &s->logging_options);
		else if (!compose_is_ext(k))
			r = compose_unknown_key(lc, p, w);
	}
	return r;
}

static int t_ulimits(loadctx *lc, const vd_yaml_node *v, const char *where, vd_compose_service *s)
{
	const char *w = compose_sub_where(lc, where, "ulimits");
	size_t i, j;
	int r = 0;

	if (!w)
		return compose_oom(lc);
	if (v->kind == VD_YAML_NULL)
		return 0;
	if (v->kind != VD_YAML_MAP)
		return compose_err(lc, v, where, "'ulimits' must be a mapping");
	if (!(s->ulimits = vd_arena_array(lc->m, v->n, sizeof(*s->ulimits))))
		return compose_oom(lc);
	for (i = 0; i < v->n && !r; i++) {
		const vd_yaml_pair *p = &v->pairs[i];
		vd_compose_ulimit *u = &s->ulimits[s->n_ulimits];
		bool soft = false, hard = false;

		if (compose_skip(p))
			continue;
		if (!(u->name = compose_dup(lc, p->key->s)))
			return compose_oom(lc);
		if (p->val->kind == VD_YAML_STR) {
			if ((r = compose_t_int(lc, p->val, w, p->key->s, -1, &u->soft)))
				return r;
			u->hard = u->soft;
		} else if (p->val->kind == VD_YAML_MAP) {
			for (j = 0; j < p->val->n && !r; j++) {
				const vd_yaml_pair *q = &p->val->pairs[j];

				if (compose_skip(q))
					continue;
				if (!strcmp(q->key->s, "soft")) {
					r = compose_t_int(lc, q->val, w, "soft", -1, &u->soft);
					soft = true;
				} else if (!strcmp(q->key->s, "hard")) {
					r = compose_t_int(lc, q->val, w, "hard", -1, &u->hard);
					hard = true;
				} else {
					r = compose_unknown_key(lc, q, w);
				}
			}
			if (!r && (!soft || !hard))
				r = compose_err(lc, p->val, w, "'%s' needs both 'soft' and 'hard'", p->key->s);
		} else {
			r = compose_err(lc, p->val, w, "'%s' must be a number or a mapping with soft and hard",
				   p->key->s);
		}
		s->n_ulimits++;
	}
	return r;
}

static int t_resources(loadctx *lc, const vd_yaml_node *v, const char *where, vd_compose_resources *res)
{
	size_t i;
	int r = 0;

	if (v->kind == VD_YAML_NULL)
		return 0;
	if (v->kind != VD_YAML_MAP)
		return compose_err(lc, v, where, "must be a mapping");
	for (i = 0; i < v->n && !r; i++) {
		const vd_yaml_pair *p = &v->pairs[i];

		if (compose_skip(p))
			continue;
		if (!strcmp(p->key->s, "memory"))
			r = compose_t_bytes(lc, p->val, where, "memory", &res->memory);
		else if (!strcmp(p->key->s, "cpus"))
			r = compose_t_cpus(lc, p->val, where, "cpus", &res->cpus);
		else
			r = compose_unknown_key(lc, p, where);
	}
	return r;
}

static int t_deploy(loadctx *lc, const vd_yaml_node *v, const char *where, vd_compose_service *s)
{
	const char *w = compose_sub_where(lc, where, "deploy"), *rw;
	const vd_yaml_node *res = NULL;
	size_t i;
	int r = 0;

	if (!w || !(rw = compose_sub_where(lc, w, "resources")))
		return compose_oom(lc);
	if (v->kind == VD_YAML_NULL)
		return 0;
	if (v->kind != VD_YAML_MAP)
		return compose_err(lc, v, where, "'deploy' must be a mapping");
	for (i = 0; i < v->n; i++) {
		if (compose_skip(&v->pairs[i]))
			continue;
		if (strcmp(v->pairs[i].key->s, "resources"))
			return compose_unknown_key(lc, &v->pairs[i], w);
		res = v->pairs[i].val;
	}
	if (!res || res->kind == VD_YAML_NULL)
		return 0;
	if (res->kind != VD_YAML_MAP)
		return compose_err(lc, res, w, "'resources' must be a mapping");
	for (i = 0; i < res->n && !r; i++) {
		const vd_yaml_pair *p = &res->pairs[i];
		const char *sw;

		if (compose_skip(p))
			continue;
		if (!(sw = compose_sub_where(lc, rw, p->key->s)))
			return compose_oom(lc);
		if (!strcmp(p->key->s, "limits"))
			r = t_resources(lc, p->val, sw, &s->limits);
		else if (!strcmp(p->key->s, "reservations"))
			r = t_resources(lc, p->val, sw, &s->reservations);
		else
			r = compose_unknown_key(lc, p, rw);
	}
	return r;
}

static int t_env_file(loadctx *lc, const vd_yaml_node *v, const char *where, vd_compose_service *s)
{
	compose_strmap seen = { 0 };
	size_t i, j;
	int r = 0;

	if (v->kind == VD_YAML_NULL)
		return 0;
	if (v->kind != VD_YAML_SEQ)
		return compose_err(lc, v, where, "'env_file' must be a string or a list");
	if (!(s->env_file.items = vd_arena_array(lc->m, v->n, sizeof(char *))) ||
	    !(s->env_file_required = vd_arena_array(lc->m, v->n, sizeof(bool))))
		return compose_oom(lc);
	for (i = 0; i < v->n && !r; i++) {
		const vd_yaml_node *it = v->items[i];
		const char *path = NULL;
		bool required = true;
		char *abs;
		uintptr_t at;

		if (it->kind == VD_YAML_STR) {
			path = it->s;
		} else if (it->kind == VD_YAML_MAP) {
			for (j = 0; j < it->n && !r; j++) {
				const vd_yaml_pair *p = &it->pairs[j];

				if (compose_skip(p))
					continue;
				if (!strcmp(p->key->s, "path")) {
					if (p->val->kind != VD_YAML_STR)
						r = compose_err(lc, p->val, where, "env_file: 'path' must be a string");
					else
						path = p->val->s;
				} else if (!strcmp(p->key->s, "required")) {
					r = compose_t_bool(lc, p->val, where, "required", &required);
				} else {
					r = compose_unknown_key(lc, p, where);
				}
			}
			if (!r && !path)
				r = compose_err(lc, it, where, "env_file: 'path' is required");
		} else {
			r = compose_err(lc, it, where, "'env_file' entries must be strings or mappings");
		}
		if (r)
			break;
		if (!*path) {
			r = compose_err(lc, it, where, "env_file: empty path");
			break;
		}
		if (!(abs = compose_resolve_path(lc, path))) {
			r = compose_oom(lc);
			break;
		}
		at = (uintptr_t)vd_strmap_get(&seen, abs);
		if (at) {
			s->env_file_required[at - 1] = required;
			continue;
		}
		s->env_file.items[s->env_file.len] = abs;
		s->env_file_required[s->env_file.len++] = required;
		if (vd_strmap_put(&seen, abs, (void *)(uintptr_t)s->env_file.len))
			r = compose_oom(lc);
	}
	vd_strmap_release(&seen);
	return r;
}

static int t_restart(loadctx *lc, const vd_yaml_node *v, const char *where, char **out)
{
	int64_t n;
	int r = compose_t_str(lc, v, where, "restart", out);

	if (r || !*out)
		return r;
	if (!strcmp(*out, "no") || !strcmp(*out, "always") || !strcmp(*out, "unless-stopped") ||
	    !strcmp(*out, "on-failure"))
		return 0;
	if (!strncmp(*out, "on-failure:", 11) && !vd_yaml_parse_int(*out + 11, 0, INT32_MAX, &n))
		return 0;
	return compose_err(lc, v, where, "'restart' must be no, always, on-failure[:N] or unless-stopped, not '%s'",
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

int compose_t_service(loadctx *lc, const vd_yaml_pair *sp, vd_compose_service *s)
{
	const vd_yaml_node *v = sp->val;
	const char *where;
	size_t i;
	int r = 0;

	if (!(where = vd_yaml_printf(lc->y, "service '%s'", sp->key->s)) || !(s->name = compose_dup(lc, sp->key->s)))
		return compose_oom(lc);
	s->pos = compose_pos_of(lc, sp->key);
	s->init = -1;
	if (!valid_service_name(s->name))
		return compose_err(lc, sp->key, NULL, "invalid service name '%s'", s->name);
	if (v->kind != VD_YAML_MAP)
		return compose_err(lc, v, where, "must be a mapping");
	for (i = 0; i < v->n && !r; i++) {
		const vd_yaml_pair *p = &v->pairs[i];
		const vd_yaml_node *x = p->val;
		const char *k = p->key->s;

		if (compose_skip(p))
			continue;
		if (!strcmp(k, "image"))
			r = compose_t_str(lc, x, where, k, &s->image);
		else if (!strcmp(k, "build"))
			r = t_build(lc, x, where, s);
		else if (!strcmp(k, "container_name"))
			r = compose_t_str(lc, x, where, k, &s->container_name);
		else if (!strcmp(k, "command"))
			r = t_argv(lc, x, where, k, &s->command);
		else if (!strcmp(k, "entrypoint"))
			r = t_argv(lc, x, where, k, &s->entrypoint);
		else if (!strcmp(k, "environment"))
			r = compose_t_kvs(lc, x, where, k, COMPOSE_NULL_LOOKUP, &s->environment);
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
			r = compose_t_str(lc, x, where, k, &s->network_mode);
		else if (!strcmp(k, "depends_on"))
			r = t_depends_on(lc, x, where, s);
		else if (!strcmp(k, "healthcheck"))
			r = t_healthcheck(lc, x, where, &s->healthcheck);
		else if (!strcmp(k, "restart"))
			r = t_restart(lc, x, where, &s->restart);
		else if (!strcmp(k, "labels"))
			r = compose_t_kvs(lc, x, where, k, COMPOSE_NULL_EMPTY, &s->labels);
		else if (!strcmp(k, "user"))
			r = compose_t_str(lc, x, where, k, &s->user);
		else if (!strcmp(k, "working_dir"))
			r = compose_t_str(lc, x, where, k, &s->working_dir);
		else if (!strcmp(k, "hostname"))
			r = compose_t_str(lc, x, where, k, &s->hostname);
		else if (!strcmp(k, "extra_hosts"))
			r = compose_t_kvs(lc, x, where, k, COMPOSE_NULL_EMPTY, &s->extra_hosts);
		else if (!strcmp(k, "dns"))
			r = compose_t_strs(lc, x, where, k, true, true, &s->dns);
		else if (!strcmp(k, "logging"))
			r = t_logging(lc, x, where, s);
		else if (!strcmp(k, "stop_grace_period"))
			r = compose_t_duration(lc, x, where, k, &s->stop_grace_period_ns);
		else if (!strcmp(k, "stop_signal"))
			r = compose_t_str(lc, x, where, k, &s->stop_signal);
		else if (!strcmp(k, "tmpfs"))
			r = compose_t_strs(lc, x, where, k, true, true, &s->tmpfs);
		else if (!strcmp(k, "shm_size"))
			r = compose_t_bytes(lc, x, where, k, &s->shm_size);
		else if (!strcmp(k, "ulimits"))
			r = t_ulimits(lc, x, where, s);
		else if (!strcmp(k, "cap_add"))
			r = compose_t_strs(lc, x, where, k, false, true, &s->cap_add);
		else if (!strcmp(k, "cap_drop"))
			r = compose_t_strs(lc, x, where, k, false, true, &s->cap_drop);
		else if (!strcmp(k, "security_opt"))
			r = compose_t_strs(lc, x, where, k, false, true, &s->security_opt);
		else if (!strcmp(k, "privileged"))
			r = compose_t_bool(lc, x, where, k, &s->privileged);
		else if (!strcmp(k, "init")) {
			bool b = false;

			r = compose_t_bool(lc, x, where, k, &b);
			if (x->kind != VD_YAML_NULL)
				s->init = b;
		} else if (!strcmp(k, "read_only"))
			r = compose_t_bool(lc, x, where, k, &s->read_only);
		else if (!strcmp(k, "sysctls"))
			r = compose_t_kvs(lc, x, where, k, COMPOSE_NULL_EMPTY, &s->sysctls);
		else if (!strcmp(k, "devices"))
			r = compose_t_strs(lc, x, where, k, false, true, &s->devices);
		else if (!strcmp(k, "tty"))
			r = compose_t_bool(lc, x, where, k, &s->tty);
		else if (!strcmp(k, "stdin_open"))
			r = compose_t_bool(lc, x, where, k, &s->stdin_open);
		else if (!strcmp(k, "mem_limit"))
			r = compose_t_bytes(lc, x, where, k, &s->mem_limit);
		else if (!strcmp(k, "cpus"))
			r = compose_t_cpus(lc, x, where, k, &s->cpus);
		else if (!strcmp(k, "deploy"))
			r = t_deploy(lc, x, where, s);
		else if (!strcmp(k, "profiles"))
			r = compose_t_strs(lc, x, where, k, false, true, &s->profiles);
		else
			r = compose_unknown_key(lc, p, where);
	}
	if (r)
		return r;
	if (!s->image && !s->build)
		return compose_err(lc, sp->key, where, "neither 'image' nor 'build' is set");
	if (s->network_mode && s->n_networks)
		return compose_err(lc, sp->key, where, "'network_mode' and 'networks' cannot be combined");
	return 0;
}

