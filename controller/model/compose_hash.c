/* The config hash compose v2 writes into com.docker.compose.config-hash and
 * compares at `docker compose up` (pkg/compose/hash.go, ServiceHash): the
 * sha256 of Go's encoding/json of the service as compose-go 2.0 loads it —
 * environment resolved (env_file merged in, env_file itself dropped),
 * paths absolute, short syntax in its long form — without build,
 * pull_policy, scale and deploy.replicas.
 *
 * Written here field by field in the order of compose-go's ServiceConfig
 * struct, with its omitempty rules and its own marshalers (UnitBytes as a
 * quoted number, Duration as Go prints one, HostsList as a sorted
 * "host=ip" list, a single ulimit as a number), maps with sorted keys, and
 * strings escaped as Go escapes them (<, > and & as \u003c..); a `KEY`
 * that nothing sets is null, read from the service as written.  What the
 * model does not keep (a long-syntax mount's empty option section, an
 * explicit `retries: 0`) cannot be hashed as compose hashes it: such a
 * service hashes differently and compose recreates it once. */
#include "controller/model/spec.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A JSON writer with Go's choices. */
typedef struct gw {
	vd_buf *b;
	bool first[16];   /* per open container: nothing written in it yet */
	int depth;
} gw;

static void sep(gw *w)
{
	if (w->depth > 0) {
		if (!w->first[w->depth])
			vd_buf_putc(w->b, ',');
		w->first[w->depth] = false;
	}
}

static void raw_str(gw *w, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;

	vd_buf_putc(w->b, '"');
	for (; *p; p++) {
		switch (*p) {
		case '"':
			vd_buf_puts(w->b, "\\\"");
			break;
		case '\\':
			vd_buf_puts(w->b, "\\\\");
			break;
		case '\n':
			vd_buf_puts(w->b, "\\n");
			break;
		case '\r':
			vd_buf_puts(w->b, "\\r");
			break;
		case '\t':
			vd_buf_puts(w->b, "\\t");
			break;
		case '<':
		case '>':
		case '&':
			vd_buf_printf(w->b, "\\u00%c%c", hex[*p >> 4], hex[*p & 15]);
			break;
		default:
			if (*p < 0x20) {
				vd_buf_printf(w->b, "\\u00%c%c", hex[*p >> 4], hex[*p & 15]);
			} else if (p[0] == 0xe2 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9)) {
				/* U+2028, U+2029 */
				vd_buf_puts(w->b, p[2] == 0xa8 ? "\\u2028" : "\\u2029");
				p += 2;
			} else {
				vd_buf_putc(w->b, (char)*p);
			}
		}
	}
	vd_buf_putc(w->b, '"');
}

static void key(gw *w, const char *k)
{
	sep(w);
	raw_str(w, k);
	vd_buf_putc(w->b, ':');
	w->first[w->depth + 1] = true;   /* a value follows: no separator */
}

/* a value in an array (after key() the separator is already written) */
static void val_sep(gw *w, bool after_key)
{
	if (!after_key)
		sep(w);
}

static void open_(gw *w, char c)
{
	vd_buf_putc(w->b, c);
	w->depth++;
	w->first[w->depth] = true;
}

static void close_(gw *w, char c)
{
	vd_buf_putc(w->b, c);
	w->depth--;
}

static void kstr(gw *w, const char *k, const char *v)   /* omitempty */
{
	if (v && *v) {
		key(w, k);
		raw_str(w, v);
	}
}

static void kbool(gw *w, const char *k, bool v)   /* omitempty */
{
	if (v) {
		key(w, k);
		vd_buf_puts(w->b, "true");
	}
}

static void kint(gw *w, const char *k, int64_t v)   /* omitempty */
{
	if (v) {
		key(w, k);
		vd_buf_printf(w->b, "%lld", (long long)v);
	}
}

static void kbytes(gw *w, const char *k, int64_t v)   /* UnitBytes, omitempty */
{
	if (v) {
		key(w, k);
		vd_buf_printf(w->b, "\"%lld\"", (long long)v);
	}
}

/* Go's float32 encoding: the shortest decimal that reads back as the same
 * float32, in 'f' form (the values here are far from the 'e' range). */
static void kfloat32(gw *w, const char *k, double v)
{
	float f = (float)v;
	char buf[64];
	int prec;

	if (f == 0)
		return;
	key(w, k);
	for (prec = 0; prec < 12; prec++) {
		snprintf(buf, sizeof(buf), "%.*f", prec, (double)f);
		if ((float)strtod(buf, NULL) == f)
			break;
	}
	vd_buf_puts(w->b, buf);
}

/* Go's time.Duration.String(). */
static void duration(vd_buf *b, int64_t d)
{
	uint64_t u = d < 0 ? (uint64_t)(-d) : (uint64_t)d;
	char frac[16];
	int n;

	if (d < 0)
		vd_buf_putc(b, '-');
	if (u == 0) {
		vd_buf_puts(b, "0s");
		return;
	}
	if (u < 1000000000ULL) {
		uint64_t div = u < 1000 ? 1 : u < 1000000 ? 1000 : 1000000;
		int digits = div == 1 ? 0 : div == 1000 ? 3 : 6;

		vd_buf_printf(b, "%llu", (unsigned long long)(u / div));
		if (digits && u % div) {
			snprintf(frac, sizeof(frac), "%0*llu", digits, (unsigned long long)(u % div));
			for (n = (int)strlen(frac); n > 0 && frac[n - 1] == '0'; n--)
				frac[n - 1] = '\0';
			vd_buf_printf(b, ".%s", frac);
		}
		vd_buf_puts(b, div == 1 ? "ns" : div == 1000 ? "\xc2\xb5s" : "ms");
		return;
	}
	{
		uint64_t s = u / 1000000000ULL, ns = u % 1000000000ULL, h = s / 3600, m = (s / 60) % 60;

		if (h)
			vd_buf_printf(b, "%lluh", (unsigned long long)h);
		if (h || m)
			vd_buf_printf(b, "%llum", (unsigned long long)m);
		vd_buf_printf(b, "%llu", (unsigned long long)(s % 60));
		if (ns) {
			snprintf(frac, sizeof(frac), "%09llu", (unsigned long long)ns);
			for (n = (int)strlen(frac); n > 0 && frac[n - 1] == '0'; n--)
				frac[n - 1] = '\0';
			vd_buf_printf(b, ".%s", frac);
		}
		vd_buf_putc(b, 's');
	}
}

static void kduration(gw *w, const char *k, int64_t ns)   /* *Duration, omitempty */
{
	vd_buf d = VD_BUF_INIT;

	if (!ns)
		return;
	duration(&d, ns);
	key(w, k);
	raw_str(w, vd_buf_cstr(&d));
	vd_buf_release(&d);
}

static void str_array(gw *w, char *const *items, size_t n)
{
	size_t i;

	open_(w, '[');
	for (i = 0; i < n; i++) {
		val_sep(w, false);
		raw_str(w, items[i]);
	}
	close_(w, ']');
}

static void kstrs(gw *w, const char *k, const vd_compose_strs *l)   /* omitempty */
{
	if (l->len) {
		key(w, k);
		str_array(w, l->items, l->len);
	}
}

static int cmp_cstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted indexes of a kvs's keys (later duplicates win, as a Go map's). */
static size_t *sorted_kvs(const vd_kvs *m, size_t *n_out)
{
	size_t *idx = calloc(m->len + 1, sizeof(*idx)), i, j, n = 0;

	if (!idx)
		return NULL;
	for (i = 0; i < m->len; i++) {
		for (j = 0; j < n && strcmp(m->items[idx[j]].key, m->items[i].key); j++)
			;
		idx[j] = i;
		if (j == n)
			n++;
	}
	for (i = 1; i < n; i++)   /* insertion sort: small maps */
		for (j = i; j > 0 && strcmp(m->items[idx[j - 1]].key, m->items[idx[j]].key) > 0; j--) {
			size_t t = idx[j];

			idx[j] = idx[j - 1];
			idx[j - 1] = t;
		}
	*n_out = n;
	return idx;
}

static int kmap(gw *w, const char *k, const vd_kvs *m)   /* map[string]string, omitempty */
{
	size_t *idx, n, i;

	if (!m->len)
		return 0;
	if (!(idx = sorted_kvs(m, &n)))
		return VD_ENOMEM;
	key(w, k);
	open_(w, '{');
	for (i = 0; i < n; i++) {
		key(w, m->items[idx[i]].key);
		raw_str(w, m->items[idx[i]].value ? m->items[idx[i]].value : "");
	}
	close_(w, '}');
	free(idx);
	return 0;
}

/* environment: the resolved values, and null for a KEY the file names
 * without a value that nothing sets (compose-go keeps it, unresolved). */
static int environment(gw *w, const vd_compose_service *s, const vd_kvs *env)
{
	vd_error err = VD_ERROR_INIT;
	yajl_val wr = s->written ? vd_json_parse(s->written, &err) : NULL, we = vd_json_get(wr, "environment");
	vd_kvs all = { NULL, 0 };
	size_t *idx, n, i;
	int r = 0;

	vd_error_release(&err);
	for (i = 0; i < env->len && !r; i++)
		r = vd_kvs_add(&all, env->items[i].key, env->items[i].value);
	for (i = 0; YAJL_IS_OBJECT(we) && i < we->u.object.len && !r; i++)
		if (YAJL_IS_NULL(we->u.object.values[i]) && !vd_kvs_get(env, we->u.object.keys[i]))
			r = vd_kvs_add(&all, we->u.object.keys[i], NULL);
	for (i = 0; YAJL_IS_ARRAY(we) && i < we->u.array.len && !r; i++) {
		yajl_val e = we->u.array.values[i];

		if (YAJL_IS_STRING(e) && !strchr(e->u.string, '=') && !vd_kvs_get(env, e->u.string))
			r = vd_kvs_add(&all, e->u.string, NULL);
	}
	if (wr)
		yajl_tree_free(wr);
	if (r || !all.len || !(idx = sorted_kvs(&all, &n))) {
		vd_kvs_release(&all);
		return r ? r : all.len ? VD_ENOMEM : 0;
	}
	key(w, "environment");
	open_(w, '{');
	for (i = 0; i < n; i++) {
		const char *v = vd_kvs_get(env, all.items[idx[i]].key);

		key(w, all.items[idx[i]].key);
		if (v)
			raw_str(w, v);
		else
			vd_buf_puts(w->b, "null");   /* unset everywhere */
	}
	close_(w, '}');
	free(idx);
	vd_kvs_release(&all);
	return 0;
}

static const char *condition_name(vd_compose_condition c)
{
	return c == VD_COMPOSE_SERVICE_HEALTHY		      ? "service_healthy"
	       : c == VD_COMPOSE_SERVICE_COMPLETED_SUCCESSFULLY ? "service_completed_successfully"
								: "service_started";
}

/* depends_on with what compose-go adds: links and network_mode
 * service:NAME (condition service_started, restart true). */
static int depends_on(gw *w, const vd_compose_service *s)
{
	const char *nm_svc = s->network_mode && !strncmp(s->network_mode, "service:", 8) ? s->network_mode + 8
											  : NULL;
	char **names = calloc(s->n_depends_on + 2, sizeof(*names));
	size_t n = 0, i, j;

	if (!names)
		return VD_ENOMEM;
	for (i = 0; i < s->n_depends_on; i++)
		names[n++] = s->depends_on[i].service;
	if (nm_svc) {
		for (j = 0; j < n && strcmp(names[j], nm_svc); j++)
			;
		if (j == n)
			names[n++] = (char *)nm_svc;
	}
	if (n) {
		qsort(names, n, sizeof(*names), cmp_cstr);
		key(w, "depends_on");
		open_(w, '{');
		for (i = 0; i < n; i++) {
			const vd_compose_dep *d = NULL;

			for (j = 0; j < s->n_depends_on; j++)
				if (!strcmp(s->depends_on[j].service, names[i]))
					d = &s->depends_on[j];
			key(w, names[i]);
			open_(w, '{');
			kstr(w, "condition", d ? condition_name(d->condition) : "service_started");
			kbool(w, "restart", d ? d->restart : true);
			key(w, "required");
			vd_buf_puts(w->b, !d || d->required ? "true" : "false");
			close_(w, '}');
		}
		close_(w, '}');
	}
	free(names);
	return 0;
}

/* "HOST[:CONTAINER[:PERMS]]" as compose-go's device mapping */
static void devices(gw *w, const vd_compose_strs *l)
{
	size_t i;

	if (!l->len)
		return;
	key(w, "devices");
	open_(w, '[');
	for (i = 0; i < l->len; i++) {
		char *d = strdup(l->items[i]), *tgt, *perm;

		if (!d)
			continue;
		tgt = strchr(d, ':');
		if (tgt)
			*tgt++ = '\0';
		perm = tgt ? strchr(tgt, ':') : NULL;
		if (perm)
			*perm++ = '\0';
		val_sep(w, false);
		open_(w, '{');
		kstr(w, "source", d);
		kstr(w, "target", tgt && *tgt ? tgt : d);
		kstr(w, "permissions", perm && *perm ? perm : "rwm");
		close_(w, '}');
		free(d);
	}
	close_(w, ']');
}

static void resources(gw *w, const char *k, const vd_compose_resources *r)
{
	if (!r->cpus && !r->memory)
		return;
	key(w, k);
	open_(w, '{');
	kfloat32(w, "cpus", r->cpus);
	kbytes(w, "memory", r->memory);
	close_(w, '}');
}

static void healthcheck(gw *w, const vd_compose_healthcheck *h)
{
	bool none = h->test.len && !strcmp(h->test.items[0], "NONE");

	if (!h->set)
		return;
	key(w, "healthcheck");
	open_(w, '{');
	if (h->test.len && !(h->disable && !none)) {
		key(w, "test");
		str_array(w, h->test.items, h->test.len);
	}
	kduration(w, "timeout", h->timeout_ns);
	kduration(w, "interval", h->interval_ns);
	kint(w, "retries", h->retries);
	kduration(w, "start_period", h->start_period_ns);
	kduration(w, "start_interval", h->start_interval_ns);
	kbool(w, "disable", h->disable && !none);
	close_(w, '}');
}

static void ports(gw *w, const vd_compose_service *s)
{
	size_t i;

	if (!s->n_ports)
		return;
	key(w, "ports");
	open_(w, '[');
	for (i = 0; i < s->n_ports; i++) {
		const vd_compose_port *p = &s->ports[i];
		char pub[16] = "";

		if (p->published && p->published_end != p->published)
			snprintf(pub, sizeof(pub), "%u-%u", p->published, p->published_end);
		else if (p->published)
			snprintf(pub, sizeof(pub), "%u", p->published);
		val_sep(w, false);
		open_(w, '{');
		kstr(w, "mode", p->mode ? p->mode : "ingress");
		kstr(w, "host_ip", p->host_ip);
		kint(w, "target", p->target);
		kstr(w, "published", pub);
		kstr(w, "protocol", p->protocol ? p->protocol : "tcp");
		close_(w, '}');
	}
	close_(w, ']');
}

static void networks(gw *w, const vd_compose_service *s)
{
	const vd_compose_service_net **sorted;
	size_t i;

	if (!s->n_networks || !(sorted = vd_spec_sorted_networks(s)))
		return;
	key(w, "networks");
	open_(w, '{');
	for (i = 0; i < s->n_networks; i++) {
		const vd_compose_service_net *n = sorted[i];

		key(w, n->network);
		if (!n->aliases.len && !n->ipv4_address && !n->ipv6_address) {
			vd_buf_puts(w->b, "null");
			continue;
		}
		open_(w, '{');
		kstrs(w, "aliases", &n->aliases);
		kstr(w, "ipv4_address", n->ipv4_address);
		kstr(w, "ipv6_address", n->ipv6_address);
		close_(w, '}');
	}
	close_(w, '}');
	free(sorted);
}

static void secrets(gw *w, const vd_compose_service *s)
{
	size_t i;

	if (!s->n_secrets)
		return;
	key(w, "secrets");
	open_(w, '[');
	for (i = 0; i < s->n_secrets; i++) {
		const vd_compose_secret_ref *r = &s->secrets[i];

		val_sep(w, false);
		open_(w, '{');
		kstr(w, "source", r->source);
		kstr(w, "target", r->target_written);
		kstr(w, "uid", r->uid);
		kstr(w, "gid", r->gid);
		if (r->mode >= 0) {
			key(w, "mode");
			vd_buf_printf(w->b, "%lld", (long long)r->mode);
		}
		close_(w, '}');
	}
	close_(w, ']');
}

static int cmp_ulimit_names(const void *a, const void *b)
{
	return strcmp((*(const vd_compose_ulimit *const *)a)->name, (*(const vd_compose_ulimit *const *)b)->name);
}

static void ulimits(gw *w, const vd_compose_service *s)
{
	size_t i;
	const vd_compose_ulimit **sorted;

	if (!s->n_ulimits || !(sorted = calloc(s->n_ulimits, sizeof(*sorted))))
		return;
	for (i = 0; i < s->n_ulimits; i++)
		sorted[i] = &s->ulimits[i];
	qsort(sorted, s->n_ulimits, sizeof(*sorted), cmp_ulimit_names);
	key(w, "ulimits");
	open_(w, '{');
	for (i = 0; i < s->n_ulimits; i++) {
		key(w, sorted[i]->name);
		if (sorted[i]->single) {
			vd_buf_printf(w->b, "%lld", (long long)sorted[i]->soft);
			continue;
		}
		open_(w, '{');
		kint(w, "soft", sorted[i]->soft);
		kint(w, "hard", sorted[i]->hard);
		close_(w, '}');
	}
	close_(w, '}');
	free(sorted);
}

static void volumes(gw *w, const vd_compose_service *s)
{
	static const char *const types[] = { "bind", "volume", "tmpfs" };
	size_t i;

	if (!s->n_volumes)
		return;
	key(w, "volumes");
	open_(w, '[');
	for (i = 0; i < s->n_volumes; i++) {
		const vd_compose_mount *m = &s->volumes[i];

		val_sep(w, false);
		open_(w, '{');
		kstr(w, "type", types[m->type]);
		kstr(w, "source", m->source);
		kstr(w, "target", m->target);
		kbool(w, "read_only", m->read_only);
		if (m->type == VD_COMPOSE_MOUNT_BIND && (m->selinux || m->propagation || m->create_host_path)) {
			key(w, "bind");
			open_(w, '{');
			kstr(w, "selinux", m->selinux);
			kstr(w, "propagation", m->propagation);
			kbool(w, "create_host_path", m->create_host_path);
			close_(w, '}');
		}
		if (m->type == VD_COMPOSE_MOUNT_VOLUME && (m->short_syntax || m->nocopy)) {
			key(w, "volume");
			open_(w, '{');
			kbool(w, "nocopy", m->nocopy);
			close_(w, '}');
		}
		if (m->type == VD_COMPOSE_MOUNT_TMPFS && m->tmpfs_size) {
			key(w, "tmpfs");
			open_(w, '{');
			kbytes(w, "size", m->tmpfs_size);
			close_(w, '}');
		}
		close_(w, '}');
	}
	close_(w, ']');
}

static void argv_or_null(gw *w, const char *k, const vd_compose_argv *a)   /* no omitempty */
{
	key(w, k);
	if (a->set)
		str_array(w, a->argv, a->argc);
	else
		vd_buf_puts(w->b, "null");
}

static int extra_hosts(gw *w, const vd_compose_service *s)
{
	char **l;
	size_t i;

	if (!s->extra_hosts.len)
		return 0;
	if (!(l = calloc(s->extra_hosts.len, sizeof(*l))))
		return VD_ENOMEM;
	for (i = 0; i < s->extra_hosts.len; i++)
		if (asprintf(&l[i], "%s=%s", s->extra_hosts.items[i].key, s->extra_hosts.items[i].value) < 0)
			l[i] = NULL;
	for (i = 0; i < s->extra_hosts.len; i++)
		if (!l[i])
			break;
	if (i == s->extra_hosts.len) {
		qsort(l, s->extra_hosts.len, sizeof(*l), cmp_cstr);
		key(w, "extra_hosts");
		str_array(w, l, s->extra_hosts.len);
	}
	for (i = 0; i < s->extra_hosts.len; i++)
		free(l[i]);
	free(l);
	return 0;
}

int vd_spec_compose_json(const vd_compose *c, const vd_compose_service *s, const vd_kvs *env, vd_buf *out)
{
	gw w = { out, { true }, 0 };
	int r = 0;

	open_(&w, '{');
	kstrs(&w, "profiles", &s->profiles);
	kstrs(&w, "cap_add", &s->cap_add);
	kstrs(&w, "cap_drop", &s->cap_drop);
	kfloat32(&w, "cpus", s->cpus);
	argv_or_null(&w, "command", &s->command);
	kstr(&w, "container_name", s->container_name);
	if ((r = depends_on(&w, s)))
		return r;
	if (s->limits.cpus || s->limits.memory || s->reservations.cpus || s->reservations.memory) {
		key(&w, "deploy");
		open_(&w, '{');
		key(&w, "resources");
		open_(&w, '{');
		resources(&w, "limits", &s->limits);
		resources(&w, "reservations", &s->reservations);
		close_(&w, '}');
		key(&w, "placement");
		vd_buf_puts(out, "{}");
		close_(&w, '}');
	}
	devices(&w, &s->devices);
	kstrs(&w, "dns", &s->dns);
	argv_or_null(&w, "entrypoint", &s->entrypoint);
	if ((r = environment(&w, s, env)))
		return r;
	kstrs(&w, "expose", &s->expose_written);
	if ((r = extra_hosts(&w, s)))
		return r;
	kstr(&w, "hostname", s->hostname);
	healthcheck(&w, &s->healthcheck);
	kstr(&w, "image", s->image);
	if (s->init >= 0) {
		key(&w, "init");
		vd_buf_puts(out, s->init ? "true" : "false");
	}
	if ((r = kmap(&w, "labels", &s->labels)))
		return r;
	kstrs(&w, "links", &s->links);
	if (s->logging_driver || s->logging_options.len) {
		key(&w, "logging");
		open_(&w, '{');
		kstr(&w, "driver", s->logging_driver);
		if ((r = kmap(&w, "options", &s->logging_options)))
			return r;
		close_(&w, '}');
	}
	kbytes(&w, "mem_limit", s->mem_limit);
	kbytes(&w, "memswap_limit", s->memswap_limit);
	kstr(&w, "network_mode", s->network_mode);
	networks(&w, s);
	kint(&w, "pids_limit", s->pids_limit);
	kstr(&w, "platform", s->platform);
	ports(&w, s);
	kbool(&w, "privileged", s->privileged);
	kbool(&w, "read_only", s->read_only);
	kstr(&w, "restart", s->restart);
	kstr(&w, "runtime", s->runtime);
	secrets(&w, s);
	kstrs(&w, "security_opt", &s->security_opt);
	kbytes(&w, "shm_size", s->shm_size);
	kbool(&w, "stdin_open", s->stdin_open);
	kduration(&w, "stop_grace_period", s->stop_grace_period_ns);
	kstr(&w, "stop_signal", s->stop_signal);
	if ((r = kmap(&w, "sysctls", &s->sysctls)))
		return r;
	kstrs(&w, "tmpfs", &s->tmpfs);
	kbool(&w, "tty", s->tty);
	ulimits(&w, s);
	kstr(&w, "user", s->user);
	volumes(&w, s);
	kstr(&w, "working_dir", s->working_dir);
	close_(&w, '}');
	return 0;
}

int vd_spec_compose_hash(const vd_compose *c, const vd_compose_service *s, const vd_kvs *env, char out[65],
			 vd_error *err)
{
	vd_buf json = VD_BUF_INIT;
	int r = vd_spec_compose_json(c, s, env, &json);

	if (r) {
		vd_buf_release(&json);
		return vd_error_set(err, r, "out of memory");
	}
	vd_spec_sha256_hex(json.ptr, json.len, out);
	vd_buf_release(&json);
	return 0;
}
