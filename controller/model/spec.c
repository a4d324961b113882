/* voxdeploy — the Engine API requests compose would send for a project.
 *
 * The create body follows compose v2's getCreateConfigs (pkg/compose/
 * create.go): the same fields, the same choice between Binds and Mounts,
 * the same aliases.  Where compose iterates a Go map (labels, mounts,
 * depends_on) the model's file order is used, so the body is deterministic.
 */
#include "controller/model/spec.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docker_api/container.h"
#include "docker_api/network.h"
#include "docker_api/volume.h"

/* ------------------------------------------------------------------ sha256 */

/* FIPS 180-4.  None of the project's libraries exports a hash function, and
 * the config hash needs one; this is the textbook version. */
typedef struct sha256_ctx {
	uint32_t h[8];
	uint64_t len;
	unsigned char block[64];
	size_t fill;
} sha256_ctx;

static const uint32_t sha256_k[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static uint32_t ror32(uint32_t x, int n)
{
	return (x >> n) | (x << (32 - n));
}

static void sha256_block(sha256_ctx *c, const unsigned char *p)
{
	uint32_t w[64], a, b, cc, d, e, f, g, h, t1, t2;
	int i;

	for (i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | (uint32_t)p[4 * i + 3];
	for (i = 16; i < 64; i++) {
		uint32_t s0 = ror32(w[i - 15], 7) ^ ror32(w[i - 15], 18) ^ (w[i - 15] >> 3);
		uint32_t s1 = ror32(w[i - 2], 17) ^ ror32(w[i - 2], 19) ^ (w[i - 2] >> 10);

		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	a = c->h[0], b = c->h[1], cc = c->h[2], d = c->h[3];
	e = c->h[4], f = c->h[5], g = c->h[6], h = c->h[7];
	for (i = 0; i < 64; i++) {
		t1 = h + (ror32(e, 6) ^ ror32(e, 11) ^ ror32(e, 25)) + ((e & f) ^ (~e & g)) +
		     sha256_k[i] + w[i];
		t2 = (ror32(a, 2) ^ ror32(a, 13) ^ ror32(a, 22)) + ((a & b) ^ (a & cc) ^ (b & cc));
		h = g, g = f, f = e, e = d + t1;
		d = cc, cc = b, b = a, a = t1 + t2;
	}
	c->h[0] += a, c->h[1] += b, c->h[2] += cc, c->h[3] += d;
	c->h[4] += e, c->h[5] += f, c->h[6] += g, c->h[7] += h;
}

static void sha256_update(sha256_ctx *c, const unsigned char *p, size_t n)
{
	c->len += n;
	while (n) {
		size_t take = 64 - c->fill < n ? 64 - c->fill : n;

		memcpy(c->block + c->fill, p, take);
		c->fill += take, p += take, n -= take;
		if (c->fill == 64) {
			sha256_block(c, c->block);
			c->fill = 0;
		}
	}
}

void vd_spec_sha256_hex(const void *data, size_t len, char out[65])
{
	static const uint32_t init[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
					  0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };
	sha256_ctx c;
	unsigned char pad[72] = { 0x80 };
	uint64_t bits;
	size_t padlen, i;

	memcpy(c.h, init, sizeof(init));
	c.len = 0;
	c.fill = 0;
	sha256_update(&c, data, len);
	bits = c.len * 8;
	padlen = (c.fill < 56 ? 56 : 120) - c.fill;
	for (i = 0; i < 8; i++)
		pad[padlen + i] = (unsigned char)(bits >> (56 - 8 * i));
	sha256_update(&c, pad, padlen + 8);
	for (i = 0; i < 8; i++)
		snprintf(out + 8 * i, 9, "%08x", c.h[i]);
}

/* ------------------------------------------------------------------ names */

char *vd_spec_container_name(const vd_compose *c, const vd_compose_service *s)
{
	char *name = NULL;

	if (s->container_name)
		return strdup(s->container_name);
	if (asprintf(&name, "%s-%s-1", c->name, s->name) < 0)
		return NULL;
	return name;
}

char *vd_spec_service_container_name(const vd_compose *c, const char *service)
{
	const vd_compose_service *s = vd_compose_service_find(c, service);

	return s ? vd_spec_container_name(c, s) : NULL;
}

char *vd_spec_image_ref(const vd_compose *c, const vd_compose_service *s)
{
	char *name = NULL;

	if (s->image)
		return strdup(s->image);
	/* 1.29 names a built image <project>_<service> */
	if (asprintf(&name, c->hash_compose == 1 ? "%s_%s" : "%s-%s", c->name, s->name) < 0)
		return NULL;
	return name;
}

/* ------------------------------------------------------------------ helpers */

static int kvs_set(vd_kvs *kvs, const char *key, const char *value)
{
	size_t i;
	char *v;

	for (i = 0; i < kvs->len; i++)
		if (!strcmp(kvs->items[i].key, key)) {
			if (!(v = strdup(value ? value : "")))
				return VD_ENOMEM;
			free(kvs->items[i].value);
			kvs->items[i].value = v;
			return 0;
		}
	return vd_kvs_add(kvs, key, value ? value : "");
}

static void gen_nonempty_strs(yajl_gen g, const char *key, const vd_compose_strs *l)
{
	if (l->len)
		vd_jgen_kstrs(g, key, l->items, l->len);
}

static void gen_opt_str(yajl_gen g, const char *key, const char *val)
{
	if (val && *val)
		vd_jgen_kstr(g, key, val);
}

static int gen_done(yajl_gen g, vd_buf *out, vd_error *err)
{
	int r;

	if (!g)
		return vd_error_set(err, VD_ENOMEM, "out of memory");
	r = vd_jgen_finish(g, out);
	if (r)
		return vd_error_set(err, r, "generate JSON: %s", vd_error_code_name(r));
	return 0;
}

static int cmp_net_keys(const void *a, const void *b)
{
	const vd_compose_service_net *x = *(const vd_compose_service_net *const *)a;
	const vd_compose_service_net *y = *(const vd_compose_service_net *const *)b;

	return strcmp(x->network, y->network);
}

/* The service's networks as compose orders them (NetworksByPriority: the
 * model has no priority, so by key); the first is the primary one. */
const vd_compose_service_net **vd_spec_sorted_networks(const vd_compose_service *s)
{
	const vd_compose_service_net **v = calloc(s->n_networks + 1, sizeof(*v));
	size_t i;

	if (!v)
		return NULL;
	for (i = 0; i < s->n_networks; i++)
		v[i] = &s->networks[i];
	qsort(v, s->n_networks, sizeof(*v), cmp_net_keys);
	return v;
}

static bool all_of(const char *s, const char *set)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!strchr(set, *s))
			return false;
	return true;
}

/* "HOST[:CONTAINER[:PERMS]]" as the docker CLI and compose parse it. */
static int gen_device(yajl_gen g, const char *spec)
{
	char *copy = strdup(spec), *parts[3] = { NULL, NULL, NULL }, *p, *save = NULL;
	const char *src, *dst, *perms = "rwm";
	int n = 0;

	if (!copy)
		return VD_ENOMEM;
	for (p = strtok_r(copy, ":", &save); p; p = strtok_r(NULL, ":", &save)) {
		if (n == 3) {
			free(copy);
			return VD_EINVAL;
		}
		parts[n++] = p;
	}
	if (n == 0) {
		free(copy);
		return VD_EINVAL;
	}
	src = dst = parts[0];
	if (n == 3) {
		dst = parts[1];
		perms = parts[2];
	} else if (n == 2) {
		if (all_of(parts[1], "rwm"))
			perms = parts[1];
		else
			dst = parts[1];
	}
	yajl_gen_map_open(g);
	vd_jgen_kstr(g, "PathOnHost", src);
	vd_jgen_kstr(g, "PathInContainer", dst);
	vd_jgen_kstr(g, "CgroupPermissions", perms);
	yajl_gen_map_close(g);
	free(copy);
	return 0;
}

/* compose's requireMountAPI(): a bind goes through the plain Binds list
 * unless it needs an option only the Mounts API has. */
static bool bind_in_binds(const vd_compose_mount *m)
{
	return m->type == VD_COMPOSE_MOUNT_BIND && m->create_host_path && !m->propagation;
}

static bool anonymous_short(const vd_compose_mount *m)
{
	return m->type == VD_COMPOSE_MOUNT_VOLUME && !m->source && m->short_syntax;
}

/* A secret's bind mount, unless a volume of the service has its target
 * (compose's fillBindMounts: the volume wins). */
static bool secret_mounted(const vd_compose_service *s, const vd_compose_secret_ref *ref)
{
	size_t i;

	for (i = 0; i < s->n_volumes; i++)
		if (!strcmp(s->volumes[i].target, ref->target))
			return false;
	return true;
}

/* An anonymous volume whose place the old container's volume takes. */
static bool inherited(const vd_kvs *inherit, const vd_compose_mount *m)
{
	return inherit && m->type == VD_COMPOSE_MOUNT_VOLUME && !m->source &&
	       vd_kvs_get(inherit, m->target);
}

/* A named volume's options on a swarm: the stack's labels and the
 * volume's driver, which each node's engine creates it with. */
static void gen_stack_volume_options(yajl_gen g, const vd_compose_volume *v, const char *stack)
{
	size_t i;

	vd_jgen_str(g, "Labels");
	yajl_gen_map_open(g);
	for (i = 0; i < v->labels.len; i++)
		if (strcmp(v->labels.items[i].key, VD_SPEC_STACK_NAMESPACE_LABEL))
			vd_jgen_kstr(g, v->labels.items[i].key, v->labels.items[i].value);
	vd_jgen_kstr(g, VD_SPEC_STACK_NAMESPACE_LABEL, stack);
	yajl_gen_map_close(g);
	if (v->driver || v->driver_opts.len) {
		vd_jgen_str(g, "DriverConfig");
		yajl_gen_map_open(g);
		gen_opt_str(g, "Name", v->driver);
		if (v->driver_opts.len)
			vd_jgen_kkvs(g, "Options", &v->driver_opts);
		yajl_gen_map_close(g);
	}
}

int vd_spec_gen_mount(yajl_gen g, const vd_compose *c, const vd_compose_mount *m, const char *stack)
{
	const vd_compose_volume *v = NULL;

	if (m->type == VD_COMPOSE_MOUNT_VOLUME && m->source && !(v = vd_compose_volume_find(c, m->source)))
		return VD_EINVAL;
	yajl_gen_map_open(g);
	vd_jgen_kstr(g, "Type", m->type == VD_COMPOSE_MOUNT_BIND     ? "bind"
				: m->type == VD_COMPOSE_MOUNT_TMPFS ? "tmpfs"
								    : "volume");
	if (m->type == VD_COMPOSE_MOUNT_BIND)
		vd_jgen_kstr(g, "Source", m->source);
	else if (v)
		vd_jgen_kstr(g, "Source", v->name);
	vd_jgen_kstr(g, "Target", m->target);
	if (m->read_only)
		vd_jgen_kbool(g, "ReadOnly", true);
	if (m->type == VD_COMPOSE_MOUNT_BIND && (m->propagation || (m->create_host_path && !stack))) {
		vd_jgen_str(g, "BindOptions");
		yajl_gen_map_open(g);
		gen_opt_str(g, "Propagation", m->propagation);
		if (m->create_host_path && !stack)
			vd_jgen_kbool(g, "CreateMountpoint", true);
		yajl_gen_map_close(g);
	}
	if (m->type == VD_COMPOSE_MOUNT_VOLUME && (m->nocopy || (stack && v))) {
		vd_jgen_str(g, "VolumeOptions");
		yajl_gen_map_open(g);
		if (m->nocopy)
			vd_jgen_kbool(g, "NoCopy", true);
		if (stack && v && !v->external)
			gen_stack_volume_options(g, v, stack);
		yajl_gen_map_close(g);
	}
	if (m->type == VD_COMPOSE_MOUNT_TMPFS && m->tmpfs_size) {
		vd_jgen_str(g, "TmpfsOptions");
		yajl_gen_map_open(g);
		vd_jgen_kint(g, "SizeBytes", m->tmpfs_size);
		yajl_gen_map_close(g);
	}
	yajl_gen_map_close(g);
	return 0;
}

static const char *condition_name(vd_compose_condition cnd)
{
	switch (cnd) {
	case VD_COMPOSE_SERVICE_HEALTHY:
		return "service_healthy";
	case VD_COMPOSE_SERVICE_COMPLETED_SUCCESSFULLY:
		return "service_completed_successfully";
	case VD_COMPOSE_SERVICE_STARTED:
	default:
		return "service_started";
	}
}

/* The labels of the container: the user's, then compose's (which win), then
 * voxdeploy's and the caller's.  `hash` NULL: only the user's (the input
 * of the hash itself). */
static int container_labels(const vd_compose *c, const vd_compose_service *s,
			    const vd_spec_options *o, const char *hash, vd_kvs *out)
{
	vd_buf b = VD_BUF_INIT;
	size_t i;
	int r = 0;

	for (i = 0; i < s->labels.len && !r; i++)
		r = kvs_set(out, s->labels.items[i].key, s->labels.items[i].value);
	if (r || !hash)
		return r;
	for (i = 0; i < c->config_files.len && !r; i++)
		r = vd_buf_printf(&b, "%s%s", i ? "," : "", c->config_files.items[i]);
	if (!r)
		r = vd_buf_putc(&b, 0);
	for (i = 0; i < s->n_depends_on && !r; i++)
		r = vd_buf_printf(&b, "%s%s:%s:%s", i ? "," : "", s->depends_on[i].service,
				  condition_name(s->depends_on[i].condition),
				  s->depends_on[i].restart ? "true" : "false");
	if (!r)
		r = vd_buf_putc(&b, 0);
	if (r)
		goto done;
	if ((r = kvs_set(out, VD_SPEC_LABEL_PREFIX "project", c->name)) ||
	    (r = kvs_set(out, VD_SPEC_LABEL_PREFIX "service", s->name)) ||
	    (r = kvs_set(out, VD_SPEC_LABEL_PREFIX "container-number", "1")) ||
	    (r = kvs_set(out, VD_SPEC_LABEL_PREFIX "oneoff", "False")) ||
	    (r = kvs_set(out, VD_SPEC_LABEL_PREFIX "config-hash", hash)) ||
	    (r = kvs_set(out, VD_SPEC_LABEL_PREFIX "version", VD_SPEC_COMPOSE_VERSION)) ||
	    (r = kvs_set(out, VD_SPEC_LABEL_PREFIX "project.working_dir", c->working_dir)) ||
	    (r = kvs_set(out, VD_SPEC_LABEL_PREFIX "project.config_files", b.ptr)) ||
	    (r = kvs_set(out, VD_SPEC_LABEL_PREFIX "depends_on", b.ptr + strlen(b.ptr) + 1)))
		goto done;
	if (o->image_id && (r = kvs_set(out, VD_SPEC_LABEL_PREFIX "image", o->image_id)))
		goto done;
	if (o->commit && (r = kvs_set(out, "io.voxdeploy.commit", o->commit)))
		goto done;
	if (o->deploy_id && (r = kvs_set(out, "io.voxdeploy.deploy-id", o->deploy_id)))
		goto done;
	for (i = 0; o->extra_labels && i < o->extra_labels->len && !r; i++)
		r = kvs_set(out, o->extra_labels->items[i].key, o->extra_labels->items[i].value);
done:
	vd_buf_release(&b);
	return r;
}

void vd_spec_gen_healthcheck(yajl_gen g, const vd_compose_healthcheck *h)
{
	vd_jgen_str(g, "Healthcheck");
	yajl_gen_map_open(g);
	if (h->disable) {
		vd_jgen_str(g, "Test");
		yajl_gen_array_open(g);
		vd_jgen_str(g, "NONE");
		yajl_gen_array_close(g);
	} else {
		if (h->test.len)
			vd_jgen_kstrs(g, "Test", h->test.items, h->test.len);
		if (h->interval_ns)
			vd_jgen_kint(g, "Interval", h->interval_ns);
		if (h->timeout_ns)
			vd_jgen_kint(g, "Timeout", h->timeout_ns);
		if (h->start_period_ns)
			vd_jgen_kint(g, "StartPeriod", h->start_period_ns);
		if (h->start_interval_ns)
			vd_jgen_kint(g, "StartInterval", h->start_interval_ns);
		if (h->retries)
			vd_jgen_kint(g, "Retries", h->retries);
	}
	yajl_gen_map_close(g);
}

/* Is `port` ("80/tcp") already among the first n exposed ones? */
static bool port_seen(char **seen, size_t n, const char *port)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(seen[i], port))
			return true;
	return false;
}

static int gen_exposed(yajl_gen g, const vd_compose_service *s)
{
	size_t n = s->expose.len + s->n_ports, k = 0, i;
	char **seen;
	int r = 0;

	if (!n)
		return 0;
	if (!(seen = calloc(n, sizeof(*seen))))
		return VD_ENOMEM;
	vd_jgen_str(g, "ExposedPorts");
	yajl_gen_map_open(g);
	for (i = 0; i < n && !r; i++) {
		char *p = NULL;
		int len;

		if (i < s->expose.len)
			len = strchr(s->expose.items[i], '/')
				      ? asprintf(&p, "%s", s->expose.items[i])
				      : asprintf(&p, "%s/tcp", s->expose.items[i]);
		else
			len = asprintf(&p, "%u/%s", s->ports[i - s->expose.len].target,
				       s->ports[i - s->expose.len].protocol);
		if (len < 0) {
			r = VD_ENOMEM;
			break;
		}
		if (port_seen(seen, k, p)) {
			free(p);
			continue;
		}
		seen[k++] = p;
		vd_jgen_str(g, p);
		yajl_gen_map_open(g);
		yajl_gen_map_close(g);
	}
	yajl_gen_map_close(g);
	for (i = 0; i < k; i++)
		free(seen[i]);
	free(seen);
	return r;
}

static int gen_port_bindings(yajl_gen g, const vd_compose_service *s)
{
	bool *done_port;
	size_t i, j;

	if (!s->n_ports)
		return 0;
	if (!(done_port = calloc(s->n_ports, sizeof(*done_port))))
		return VD_ENOMEM;
	vd_jgen_str(g, "PortBindings");
	yajl_gen_map_open(g);
	/* one key per target/protocol with every binding of it, in file order */
	for (i = 0; i < s->n_ports; i++) {
		char key[32];

		if (done_port[i])
			continue;
		snprintf(key, sizeof(key), "%u/%s", s->ports[i].target, s->ports[i].protocol);
		vd_jgen_str(g, key);
		yajl_gen_array_open(g);
		for (j = i; j < s->n_ports; j++) {
			const vd_compose_port *p = &s->ports[j];
			char host[16] = "";

			if (p->target != s->ports[i].target || strcmp(p->protocol, s->ports[i].protocol))
				continue;
			done_port[j] = true;
			if (p->published && p->published_end > p->published)
				snprintf(host, sizeof(host), "%u-%u", p->published, p->published_end);
			else if (p->published)
				snprintf(host, sizeof(host), "%u", p->published);
			yajl_gen_map_open(g);
			vd_jgen_kstr(g, "HostIp", p->host_ip ? p->host_ip : "");
			vd_jgen_kstr(g, "HostPort", host);
			yajl_gen_map_close(g);
		}
		yajl_gen_array_close(g);
	}
	yajl_gen_map_close(g);
	free(done_port);
	return 0;
}

static void gen_restart(yajl_gen g, const char *restart)
{
	const char *colon = strchr(restart, ':');
	char name[32];
	long long n = 0;

	snprintf(name, sizeof(name), "%.*s", colon ? (int)(colon - restart) : (int)strlen(restart),
		 restart);
	if (colon)
		n = strtoll(colon + 1, NULL, 10);
	vd_jgen_str(g, "RestartPolicy");
	yajl_gen_map_open(g);
	vd_jgen_kstr(g, "Name", name);
	vd_jgen_kint(g, "MaximumRetryCount", n);
	yajl_gen_map_close(g);
}

/* deploy.restart_policy on one engine, as compose maps it: none and no →
 * no, any and always → always, on-failure and unless-stopped as they are;
 * max_attempts → the retry count. */
static void gen_deploy_restart(yajl_gen g, const vd_compose_deploy *d)
{
	const char *c = d->restart_condition ? d->restart_condition : "no";
	const char *name = !strcmp(c, "none") ? "no" : !strcmp(c, "any") ? "always" : c;

	vd_jgen_str(g, "RestartPolicy");
	yajl_gen_map_open(g);
	vd_jgen_kstr(g, "Name", name);
	vd_jgen_kint(g, "MaximumRetryCount", d->has_max_attempts ? d->restart_max_attempts : 0);
	yajl_gen_map_close(g);
}

static int gen_network_mode(yajl_gen g, const vd_compose *c, const vd_compose_service *s,
			    const vd_compose_service_net *primary)
{
	const vd_compose_service *other;
	const vd_compose_network *n;
	char *name, *mode = NULL;

	vd_jgen_str(g, "NetworkMode");
	if (s->network_mode && !strncmp(s->network_mode, "service:", 8)) {
		/* compose resolves it to the other service's container */
		if (!(other = vd_compose_service_find(c, s->network_mode + 8)))
			return VD_EINVAL;
		if (!(name = vd_spec_container_name(c, other)))
			return VD_ENOMEM;
		if (asprintf(&mode, "container:%s", name) < 0) {
			free(name);
			return VD_ENOMEM;
		}
		vd_jgen_str(g, mode);
		free(mode);
		free(name);
		return 0;
	}
	if (s->network_mode) {
		vd_jgen_str(g, s->network_mode);
		return 0;
	}
	if (!primary) {
		vd_jgen_str(g, "none");
		return 0;
	}
	if (!(n = vd_compose_network_find(c, primary->network)))
		return VD_EINVAL;
	vd_jgen_str(g, n->name);
	return 0;
}

/* compose's getLinks(): for each "SERVICE[:ALIAS]" the linked container
 * under the alias, "<service>-1" and "<project>-<service>-1" (the number is
 * the linking container's, always 1 here). */
static int gen_links(yajl_gen g, const vd_compose *c, const vd_compose_service *s)
{
	size_t i;
	int r = 0;

	vd_jgen_str(g, "Links");
	yajl_gen_array_open(g);
	for (i = 0; i < s->links.len && !r; i++) {
		const char *l = s->links.items[i], *colon = strchr(l, ':');
		char *svc = colon ? strndup(l, (size_t)(colon - l)) : strdup(l), *cname = NULL, *a = NULL,
		     *b = NULL, *d = NULL;

		if (!svc)
			return VD_ENOMEM;
		if (!vd_compose_service_find(c, svc))
			r = VD_EINVAL;
		else if (!(cname = vd_spec_service_container_name(c, svc)) ||
			 asprintf(&a, "%s:%s", cname, colon ? colon + 1 : svc) < 0 ||
			 asprintf(&b, "%s:%s-1", cname, svc) < 0 || asprintf(&d, "%s:%s-%s-1", cname, c->name, svc) < 0)
			r = VD_ENOMEM;
		if (!r) {
			vd_jgen_str(g, a);
			vd_jgen_str(g, b);
			vd_jgen_str(g, d);
		}
		free(svc);
		free(cname);
		free(a);
		free(b);
		free(d);
	}
	yajl_gen_array_close(g);
	return r;
}

static int gen_endpoints(yajl_gen g, const vd_compose *c, const vd_compose_service *s,
			 const vd_compose_service_net **nets, const char *cname)
{
	size_t i, j;

	vd_jgen_str(g, "NetworkingConfig");
	yajl_gen_map_open(g);
	vd_jgen_str(g, "EndpointsConfig");
	yajl_gen_map_open(g);
	for (i = 0; i < s->n_networks; i++) {
		const vd_compose_network *n = vd_compose_network_find(c, nets[i]->network);

		if (!n)
			return VD_EINVAL;
		vd_jgen_str(g, n->name);
		yajl_gen_map_open(g);
		vd_jgen_str(g, "Aliases");
		yajl_gen_array_open(g);
		vd_jgen_str(g, cname);
		vd_jgen_str(g, s->name);
		for (j = 0; j < nets[i]->aliases.len; j++)
			vd_jgen_str(g, nets[i]->aliases.items[j]);
		yajl_gen_array_close(g);
		if (nets[i]->ipv4_address || nets[i]->ipv6_address) {
			vd_jgen_str(g, "IPAMConfig");
			yajl_gen_map_open(g);
			gen_opt_str(g, "IPv4Address", nets[i]->ipv4_address);
			gen_opt_str(g, "IPv6Address", nets[i]->ipv6_address);
			yajl_gen_map_close(g);
		}
		yajl_gen_map_close(g);
	}
	yajl_gen_map_close(g);
	yajl_gen_map_close(g);
	return 0;
}

static int gen_host_config(yajl_gen g, const vd_compose *c, const vd_compose_service *s,
			   const vd_kvs *inherit,
			   const vd_compose_service_net **nets, vd_error *err)
{
	int64_t memory = s->limits.memory ? s->limits.memory : s->mem_limit;
	double cpus = s->limits.cpus ? s->limits.cpus : s->cpus;
	size_t i, nb = 0, nm = 0;
	int r;

	vd_jgen_str(g, "HostConfig");
	yajl_gen_map_open(g);

	for (i = 0; i < s->n_volumes; i++) {
		if (bind_in_binds(&s->volumes[i]))
			nb++;
		else if (!anonymous_short(&s->volumes[i]) && !inherited(inherit, &s->volumes[i]))
			nm++;
	}
	if (inherit)
		nm += inherit->len;
	for (i = 0; i < s->n_secrets; i++)
		nm += secret_mounted(s, &s->secrets[i]);
	if (nb) {
		vd_jgen_str(g, "Binds");
		yajl_gen_array_open(g);
		for (i = 0; i < s->n_volumes; i++) {
			const vd_compose_mount *m = &s->volumes[i];
			char *b = NULL;

			if (!bind_in_binds(m))
				continue;
			if (asprintf(&b, "%s:%s:%s%s%s", m->source, m->target, m->read_only ? "ro" : "rw",
				     m->selinux ? "," : "", m->selinux ? m->selinux : "") < 0)
				return vd_error_set(err, VD_ENOMEM, "out of memory");
			vd_jgen_str(g, b);
			free(b);
		}
		yajl_gen_array_close(g);
	}
	if (nm) {
		vd_jgen_str(g, "Mounts");
		yajl_gen_array_open(g);
		for (i = 0; i < s->n_volumes; i++) {
			const vd_compose_mount *m = &s->volumes[i];

			if (bind_in_binds(m) || anonymous_short(m) || inherited(inherit, m))
				continue;
			if (vd_spec_gen_mount(g, c, m, NULL))
				return vd_error_set(err, VD_EINVAL, "volume '%s' is not declared",
						    m->source);
		}
		for (i = 0; inherit && i < inherit->len; i++) {
			yajl_gen_map_open(g);
			vd_jgen_kstr(g, "Type", "volume");
			vd_jgen_kstr(g, "Source", inherit->items[i].value);
			vd_jgen_kstr(g, "Target", inherit->items[i].key);
			yajl_gen_map_close(g);
		}
		for (i = 0; i < s->n_secrets; i++) {
			const vd_compose_secret *sec = vd_compose_secret_find(c, s->secrets[i].source);

			if (!secret_mounted(s, &s->secrets[i]))
				continue;
			if (!sec || !sec->file)
				return vd_error_set(err, VD_EINVAL, "secret '%s' is not declared with a file",
						    s->secrets[i].source);
			yajl_gen_map_open(g);
			vd_jgen_kstr(g, "Type", "bind");
			vd_jgen_kstr(g, "Source", sec->file);
			vd_jgen_kstr(g, "Target", s->secrets[i].target);
			vd_jgen_kbool(g, "ReadOnly", true);
			yajl_gen_map_close(g);
		}
		yajl_gen_array_close(g);
	}
	if ((r = gen_port_bindings(g, s)))
		return vd_error_set(err, r, "out of memory");
	if ((r = gen_network_mode(g, c, s, s->n_networks ? nets[0] : NULL)))
		return vd_error_set(err, r, r == VD_ENOMEM ? "out of memory"
							   : "network_mode: unknown service or network");
	if (s->deploy.restart_set)
		gen_deploy_restart(g, &s->deploy);
	else if (s->restart)
		gen_restart(g, s->restart);
	if (s->logging_driver || s->logging_options.len) {
		vd_jgen_str(g, "LogConfig");
		yajl_gen_map_open(g);
		vd_jgen_kstr(g, "Type", s->logging_driver ? s->logging_driver : "");
		if (s->logging_options.len)
			vd_jgen_kkvs(g, "Config", &s->logging_options);
		yajl_gen_map_close(g);
	}
	if (s->extra_hosts.len) {
		vd_jgen_str(g, "ExtraHosts");
		yajl_gen_array_open(g);
		for (i = 0; i < s->extra_hosts.len; i++) {
			char *h = NULL;

			if (asprintf(&h, "%s:%s", s->extra_hosts.items[i].key,
				     s->extra_hosts.items[i].value) < 0)
				return vd_error_set(err, VD_ENOMEM, "out of memory");
			vd_jgen_str(g, h);
			free(h);
		}
		yajl_gen_array_close(g);
	}
	gen_nonempty_strs(g, "Dns", &s->dns);
	gen_nonempty_strs(g, "CapAdd", &s->cap_add);
	gen_nonempty_strs(g, "CapDrop", &s->cap_drop);
	gen_nonempty_strs(g, "SecurityOpt", &s->security_opt);
	if (s->privileged)
		vd_jgen_kbool(g, "Privileged", true);
	if (s->init >= 0)
		vd_jgen_kbool(g, "Init", s->init == 1);
	if (s->read_only)
		vd_jgen_kbool(g, "ReadonlyRootfs", true);
	if (s->sysctls.len)
		vd_jgen_kkvs(g, "Sysctls", &s->sysctls);
	if (s->devices.len) {
		vd_jgen_str(g, "Devices");
		yajl_gen_array_open(g);
		for (i = 0; i < s->devices.len; i++)
			if ((r = gen_device(g, s->devices.items[i])))
				return vd_error_set(err, r, "devices: invalid entry '%s'",
						    s->devices.items[i]);
		yajl_gen_array_close(g);
	}
	if (s->tmpfs.len) {
		vd_jgen_str(g, "Tmpfs");
		yajl_gen_map_open(g);
		for (i = 0; i < s->tmpfs.len; i++) {
			const char *t = s->tmpfs.items[i], *colon = strchr(t, ':');

			if (colon) {
				yajl_gen_string(g, (const unsigned char *)t, (size_t)(colon - t));
				vd_jgen_str(g, colon + 1);
			} else {
				vd_jgen_kstr(g, t, "");
			}
		}
		yajl_gen_map_close(g);
	}
	if (s->shm_size)
		vd_jgen_kint(g, "ShmSize", s->shm_size);
	if (s->n_ulimits) {
		vd_jgen_str(g, "Ulimits");
		yajl_gen_array_open(g);
		for (i = 0; i < s->n_ulimits; i++) {
			yajl_gen_map_open(g);
			vd_jgen_kstr(g, "Name", s->ulimits[i].name);
			vd_jgen_kint(g, "Soft", s->ulimits[i].soft);
			vd_jgen_kint(g, "Hard", s->ulimits[i].hard);
			yajl_gen_map_close(g);
		}
		yajl_gen_array_close(g);
	}
	if (memory)
		vd_jgen_kint(g, "Memory", memory);
	if (cpus > 0)
		vd_jgen_kint(g, "NanoCpus", (long long)(cpus * 1e9 + 0.5));
	if (s->reservations.memory)
		vd_jgen_kint(g, "MemoryReservation", s->reservations.memory);
	if (s->memswap_limit)
		vd_jgen_kint(g, "MemorySwap", s->memswap_limit);
	if (s->pids_limit)
		vd_jgen_kint(g, "PidsLimit", s->pids_limit);
	gen_opt_str(g, "Runtime", s->runtime);
	if (s->links.len && (r = gen_links(g, c, s)))
		return vd_error_set(err, r, r == VD_ENOMEM ? "out of memory" : "links: unknown service");
	yajl_gen_map_close(g);
	return 0;
}

/* The whole body.  hash NULL: the input of the config hash (user labels
 * only). */
static int gen_container(yajl_gen g, const vd_compose *c, const vd_compose_service *s,
			 const vd_spec_options *o, const vd_kvs *env, const char *hash,
			 const char *cname, vd_error *err)
{
	const vd_compose_service_net **nets = NULL;
	vd_kvs labels = { NULL, 0 };
	char *image = NULL;
	size_t i, anon = 0;
	int r = 0;

	if (!(nets = vd_spec_sorted_networks(s)) || !(image = o->image ? strdup(o->image)
							       : vd_spec_image_ref(c, s)) ||
	    container_labels(c, s, o, hash, &labels)) {
		r = vd_error_set(err, VD_ENOMEM, "out of memory");
		goto done;
	}
	yajl_gen_map_open(g);
	gen_opt_str(g, "Hostname", s->hostname);
	gen_opt_str(g, "User", s->user);
	vd_jgen_kbool(g, "AttachStdout", true);
	vd_jgen_kbool(g, "AttachStderr", true);
	if ((r = gen_exposed(g, s))) {
		vd_error_set(err, r, "out of memory");
		goto done;
	}
	if (s->tty)
		vd_jgen_kbool(g, "Tty", true);
	if (s->stdin_open)
		vd_jgen_kbool(g, "OpenStdin", true);
	vd_jgen_str(g, "Env");
	yajl_gen_array_open(g);
	for (i = 0; i < env->len; i++) {
		char *kv = NULL;

		if (asprintf(&kv, "%s=%s", env->items[i].key, env->items[i].value) < 0) {
			r = vd_error_set(err, VD_ENOMEM, "out of memory");
			goto done;
		}
		vd_jgen_str(g, kv);
		free(kv);
	}
	yajl_gen_array_close(g);
	if (s->command.set)
		vd_jgen_kstrs(g, "Cmd", s->command.argv, s->command.argc);
	if (s->healthcheck.set)
		vd_spec_gen_healthcheck(g, &s->healthcheck);
	vd_jgen_kstr(g, "Image", image);
	for (i = 0; i < s->n_volumes; i++)
		if (anonymous_short(&s->volumes[i])) {
			if (!anon++) {
				vd_jgen_str(g, "Volumes");
				yajl_gen_map_open(g);
			}
			vd_jgen_str(g, s->volumes[i].target);
			yajl_gen_map_open(g);
			yajl_gen_map_close(g);
		}
	if (anon)
		yajl_gen_map_close(g);
	gen_opt_str(g, "WorkingDir", s->working_dir);
	if (s->entrypoint.set)
		vd_jgen_kstrs(g, "Entrypoint", s->entrypoint.argv, s->entrypoint.argc);
	vd_jgen_kkvs(g, "Labels", &labels);
	gen_opt_str(g, "Platform", s->platform);
	gen_opt_str(g, "StopSignal", s->stop_signal);
	if (s->stop_grace_period_ns)
		vd_jgen_kint(g, "StopTimeout", s->stop_grace_period_ns / 1000000000);
	if ((r = gen_host_config(g, c, s, hash ? o->inherit_volumes : NULL, nets, err)))
		goto done;
	if (!s->network_mode && s->n_networks &&
	    (r = gen_endpoints(g, c, s, nets, cname))) {
		vd_error_set(err, r, "unknown network");
		goto done;
	}
	yajl_gen_map_close(g);
done:
	vd_kvs_release(&labels);
	free(image);
	free(nets);
	return r;
}

static int config_hash(const vd_compose *c, const vd_compose_service *s, const vd_spec_options *o,
		       const vd_kvs *env, char out[65], vd_error *err)
{
	if (c->hash_compose == 1)
		return vd_spec_compose_hash_v1(c, s, env, o->image_id, out, err);
	return vd_spec_compose_hash(c, s, env, out, err);
}

static const vd_spec_options *opts_or_default(const vd_spec_options *o)
{
	static const vd_spec_options none = VD_SPEC_OPTIONS_INIT;

	return o ? o : &none;
}

int vd_spec_config_hash(const vd_compose *c, const vd_compose_service *s,
			const vd_spec_options *opts, char out[65], vd_error *err)
{
	const vd_spec_options *o = opts_or_default(opts);
	vd_kvs env = { NULL, 0 };
	int r;

	if ((r = vd_compose_service_env(s, o->lookup, o->lookup_ctx, &env, err)))
		return r;
	if ((r = config_hash(c, s, o, &env, out, err)))
		vd_error_prefix(err, "service '%s'", s->name);
	vd_kvs_release(&env);
	return r;
}

int vd_spec_container(const vd_compose *c, const vd_compose_service *s,
		      const vd_spec_options *opts, vd_buf *out, vd_error *err)
{
	const vd_spec_options *o = opts_or_default(opts);
	vd_kvs env = { NULL, 0 };
	char hash[65], *cname = NULL;
	yajl_gen g = NULL;
	int r;

	if ((r = vd_compose_service_env(s, o->lookup, o->lookup_ctx, &env, err)))
		return r;
	if (!(cname = vd_spec_container_name(c, s))) {
		r = vd_error_set(err, VD_ENOMEM, "out of memory");
		goto done;
	}
	if ((r = config_hash(c, s, o, &env, hash, err)))
		goto done;
	if (!(g = vd_jgen_new())) {
		r = vd_error_set(err, VD_ENOMEM, "out of memory");
		goto done;
	}
	if ((r = gen_container(g, c, s, o, &env, hash, cname, err))) {
		yajl_gen_free(g);
		goto done;
	}
	r = gen_done(g, out, err);
done:
	if (r)
		vd_error_prefix(err, "service '%s'", s->name);
	free(cname);
	vd_kvs_release(&env);
	return r;
}

/* ------------------------------------------------------------------ networks, volumes */

static void gen_resource_labels(yajl_gen g, const vd_compose *c, const vd_kvs *user,
				const char *kind, const char *key, const vd_spec_options *o)
{
	char kindlabel[64];
	size_t i;

	snprintf(kindlabel, sizeof(kindlabel), VD_SPEC_LABEL_PREFIX "%s", kind);
	vd_jgen_str(g, "Labels");
	yajl_gen_map_open(g);
	for (i = 0; i < user->len; i++)
		if (strcmp(user->items[i].key, VD_SPEC_LABEL_PREFIX "project") &&
		    strcmp(user->items[i].key, kindlabel) &&
		    strcmp(user->items[i].key, VD_SPEC_LABEL_PREFIX "version") &&
		    !(o->extra_labels && vd_kvs_get(o->extra_labels, user->items[i].key)))
			vd_jgen_kstr(g, user->items[i].key, user->items[i].value);
	vd_jgen_kstr(g, VD_SPEC_LABEL_PREFIX "project", c->name);
	vd_jgen_kstr(g, kindlabel, key);
	vd_jgen_kstr(g, VD_SPEC_LABEL_PREFIX "version", VD_SPEC_COMPOSE_VERSION);
	for (i = 0; o->extra_labels && i < o->extra_labels->len; i++)
		vd_jgen_kstr(g, o->extra_labels->items[i].key, o->extra_labels->items[i].value);
	yajl_gen_map_close(g);
}

int vd_spec_network(const vd_compose *c, const vd_compose_network *n,
		    const vd_spec_options *opts, vd_buf *out, vd_error *err)
{
	const vd_spec_options *o = opts_or_default(opts);
	yajl_gen g;
	size_t i;

	if (n->external)
		return vd_error_set(err, VD_EINVAL, "network '%s' is external: compose does not create it",
				    n->key);
	if (!(g = vd_jgen_new()))
		return vd_error_set(err, VD_ENOMEM, "out of memory");
	yajl_gen_map_open(g);
	vd_jgen_kstr(g, "Name", n->name);
	vd_jgen_kbool(g, "CheckDuplicate", true);
	gen_opt_str(g, "Driver", n->driver);
	if (n->driver_opts.len)
		vd_jgen_kkvs(g, "Options", &n->driver_opts);
	if (n->internal)
		vd_jgen_kbool(g, "Internal", true);
	if (n->attachable)
		vd_jgen_kbool(g, "Attachable", true);
	if (n->ipam_driver || n->n_ipam_config) {
		vd_jgen_str(g, "IPAM");
		yajl_gen_map_open(g);
		gen_opt_str(g, "Driver", n->ipam_driver);
		vd_jgen_str(g, "Config");
		yajl_gen_array_open(g);
		for (i = 0; i < n->n_ipam_config; i++) {
			yajl_gen_map_open(g);
			gen_opt_str(g, "Subnet", n->ipam_config[i].subnet);
			gen_opt_str(g, "IPRange", n->ipam_config[i].ip_range);
			gen_opt_str(g, "Gateway", n->ipam_config[i].gateway);
			yajl_gen_map_close(g);
		}
		yajl_gen_array_close(g);
		yajl_gen_map_close(g);
	}
	gen_resource_labels(g, c, &n->labels, "network", n->key, o);
	yajl_gen_map_close(g);
	return gen_done(g, out, err);
}

int vd_spec_volume(const vd_compose *c, const vd_compose_volume *v,
		   const vd_spec_options *opts, vd_buf *out, vd_error *err)
{
	const vd_spec_options *o = opts_or_default(opts);
	yajl_gen g;

	if (v->external)
		return vd_error_set(err, VD_EINVAL, "volume '%s' is external: compose does not create it",
				    v->key);
	if (!(g = vd_jgen_new()))
		return vd_error_set(err, VD_ENOMEM, "out of memory");
	yajl_gen_map_open(g);
	vd_jgen_kstr(g, "Name", v->name);
	gen_opt_str(g, "Driver", v->driver);
	if (v->driver_opts.len)
		vd_jgen_kkvs(g, "DriverOpts", &v->driver_opts);
	gen_resource_labels(g, c, &v->labels, "volume", v->key, o);
	yajl_gen_map_close(g);
	return gen_done(g, out, err);
}

bool vd_spec_network_used(const vd_compose *c, const char *key)
{
	size_t i, j;

	for (i = 0; i < c->n_services; i++)
		for (j = 0; j < c->services[i].n_networks; j++)
			if (!strcmp(c->services[i].networks[j].network, key))
				return true;
	return false;
}

bool vd_spec_volume_used(const vd_compose *c, const char *key)
{
	size_t i, j;

	for (i = 0; i < c->n_services; i++)
		for (j = 0; j < c->services[i].n_volumes; j++) {
			const vd_compose_mount *m = &c->services[i].volumes[j];

			if (m->type == VD_COMPOSE_MOUNT_VOLUME && m->source && !strcmp(m->source, key))
				return true;
		}
	return false;
}

int vd_spec_ensure_networks(vd_docker *d, const vd_compose *c, const vd_spec_options *opts,
			    vd_error *err)
{
	vd_buf body = VD_BUF_INIT;
	char *id = NULL;
	size_t i;
	int r = 0;

	for (i = 0; i < c->n_networks && !r; i++) {
		const vd_compose_network *n = &c->networks[i];

		if (!vd_spec_network_used(c, n->key))
			continue;
		r = vd_network_find(d, n->name, &id, err);
		free(id);
		id = NULL;
		if (r == VD_ENOTFOUND && n->external) {
			r = vd_error_set(err, VD_ENOTFOUND,
					 "network %s declared as external, but could not be found", n->name);
		} else if (r == VD_ENOTFOUND) {
			vd_buf_clear(&body);
			if (!(r = vd_spec_network(c, n, opts, &body, err)))
				r = vd_network_create(d, vd_buf_cstr(&body), &id, err);
			free(id);
			id = NULL;
		}
		if (r)
			vd_error_prefix(err, "network '%s'", n->key);
	}
	vd_buf_release(&body);
	return r;
}

int vd_spec_ensure_volumes(vd_docker *d, const vd_compose *c, const vd_spec_options *opts,
			   vd_error *err)
{
	vd_buf body = VD_BUF_INIT;
	size_t i;
	int r = 0;

	for (i = 0; i < c->n_volumes && !r; i++) {
		const vd_compose_volume *v = &c->volumes[i];
		vd_volume_info info = { 0 };

		if (!vd_spec_volume_used(c, v->key))
			continue;
		r = vd_volume_inspect(d, v->name, &info, err);
		vd_volume_info_release(&info);
		if (r == VD_ENOTFOUND && v->external) {
			r = vd_error_set(err, VD_ENOTFOUND, "external volume \"%s\" not found", v->name);
		} else if (r == VD_ENOTFOUND) {
			vd_volume_info created = { 0 };

			vd_buf_clear(&body);
			if (!(r = vd_spec_volume(c, v, opts, &body, err)))
				r = vd_volume_create(d, vd_buf_cstr(&body), &created, err);
			vd_volume_info_release(&created);
		}
		if (r)
			vd_error_prefix(err, "volume '%s'", v->key);
	}
	vd_buf_release(&body);
	return r;
}

int vd_spec_create(vd_docker *d, const vd_compose *c, const vd_compose_service *s,
		   const char *name, const vd_spec_options *opts, char **out_id, vd_error *err)
{
	vd_buf body = VD_BUF_INIT;
	char *own = NULL;
	int r;

	if (!name && !(name = own = vd_spec_container_name(c, s)))
		return vd_error_set(err, VD_ENOMEM, "out of memory");
	if (!(r = vd_spec_container(c, s, opts, &body, err)) &&
	    (r = vd_container_create(d, name, vd_buf_cstr(&body), out_id, err)))
		vd_error_prefix(err, "create %s", name);
	vd_buf_release(&body);
	free(own);
	return r;
}
