/* The config hash compose 1.29 writes into com.docker.compose.config-hash
 * (compose/service.py config_dict(), hashed by compose/utils.py json_hash:
 * sha256 of json.dumps(sort_keys=True, separators=(',', ':'))).  Unlike
 * v2's it holds the image id and most options as written — as PyYAML typed
 * them (the model's `written` JSON) — with 1.29's own transformations:
 * the environment resolved (env_file merged in), ports as ServicePort
 * tuples, short volumes as VolumeSpec tuples and long ones as MountSpec
 * dicts with full volume names, healthcheck durations in nanoseconds,
 * restart as {Name, MaximumRetryCount}, security_opt as (value, null)
 * pairs, deploy.resources as cpus / mem_limit / mem_reservation; and at
 * the top the links, the primary network, the networks by their engine
 * names and the secrets. */
#include "controller/model/compose_private.h"
#include "controller/model/spec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ Python's json.dumps */

static void py_str(vd_buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	vd_buf_putc(b, '"');
	while (*p) {
		unsigned cp = *p;
		int extra = 0;

		if (cp >= 0x80) {   /* UTF-8 to a code point, \uXXXX (surrogates past U+FFFF) */
			extra = cp >= 0xf0 ? 3 : cp >= 0xe0 ? 2 : cp >= 0xc0 ? 1 : 0;
			cp &= extra == 3 ? 0x07 : extra == 2 ? 0x0f : 0x1f;
			for (int i = 1; i <= extra && p[i]; i++)
				cp = (cp << 6) | (p[i] & 0x3f);
			if (cp > 0xffff) {
				cp -= 0x10000;
				vd_buf_printf(b, "\\u%04x\\u%04x", 0xd800 + (cp >> 10), 0xdc00 + (cp & 0x3ff));
			} else {
				vd_buf_printf(b, "\\u%04x", cp);
			}
			for (p++; extra-- > 0 && *p; p++)
				;
			continue;
		}
		switch (cp) {
		case '"':
			vd_buf_puts(b, "\\\"");
			break;
		case '\\':
			vd_buf_puts(b, "\\\\");
			break;
		case '\n':
			vd_buf_puts(b, "\\n");
			break;
		case '\r':
			vd_buf_puts(b, "\\r");
			break;
		case '\t':
			vd_buf_puts(b, "\\t");
			break;
		case '\b':
			vd_buf_puts(b, "\\b");
			break;
		case '\f':
			vd_buf_puts(b, "\\f");
			break;
		default:
			if (cp < 0x20)
				vd_buf_printf(b, "\\u%04x", cp);
			else
				vd_buf_putc(b, (char)cp);
		}
		p++;
	}
	vd_buf_putc(b, '"');
}

static int cmp_key(const void *a, const void *b, void *ctx)
{
	const char *const *keys = ctx;

	return strcmp(keys[*(const size_t *)a], keys[*(const size_t *)b]);
}

static int py_dump(vd_buf *b, yajl_val v)
{
	size_t i, n, *idx;

	if (!v || YAJL_IS_NULL(v)) {
		vd_buf_puts(b, "null");
	} else if (YAJL_IS_TRUE(v) || YAJL_IS_FALSE(v)) {
		vd_buf_puts(b, YAJL_IS_TRUE(v) ? "true" : "false");
	} else if (YAJL_IS_NUMBER(v)) {
		vd_buf_puts(b, v->u.number.r);
	} else if (YAJL_IS_STRING(v)) {
		py_str(b, v->u.string);
	} else if (YAJL_IS_ARRAY(v)) {
		vd_buf_putc(b, '[');
		for (i = 0; i < v->u.array.len; i++) {
			if (i)
				vd_buf_putc(b, ',');
			if (py_dump(b, v->u.array.values[i]))
				return VD_ENOMEM;
		}
		vd_buf_putc(b, ']');
	} else {
		n = v->u.object.len;
		if (!(idx = calloc(n + 1, sizeof(*idx))))
			return VD_ENOMEM;
		for (i = 0; i < n; i++)
			idx[i] = i;
		qsort_r(idx, n, sizeof(*idx), cmp_key, (void *)v->u.object.keys);
		vd_buf_putc(b, '{');
		for (i = 0; i < n; i++) {
			if (i)
				vd_buf_putc(b, ',');
			py_str(b, v->u.object.keys[idx[i]]);
			vd_buf_putc(b, ':');
			if (py_dump(b, v->u.object.values[idx[i]])) {
				free(idx);
				return VD_ENOMEM;
			}
		}
		vd_buf_putc(b, '}');
		free(idx);
	}
	return 0;
}

/* ------------------------------------------------------------ the options */

static void gen_float(yajl_gen g, double d)
{
	char num[40];

	compose_pyfloat(d, num);
	yajl_gen_number(g, num, strlen(num));
}

static bool truthy_str(const char *s)
{
	return !strcasecmp(s, "true") || !strcasecmp(s, "yes") || !strcasecmp(s, "y") || !strcasecmp(s, "on");
}

/* ConversionMap's to_boolean / to_int for a value written as a string */
static void gen_bool_of(yajl_gen g, yajl_val v)
{
	if (YAJL_IS_STRING(v))
		yajl_gen_bool(g, truthy_str(v->u.string));
	else
		vd_jgen_value(g, v);
}

static void gen_int_of(yajl_gen g, yajl_val v)
{
	if (YAJL_IS_STRING(v))
		yajl_gen_integer(g, strtoll(v->u.string, NULL, 10));
	else
		vd_jgen_value(g, v);
}

static void gen_kvs_dict(yajl_gen g, const vd_kvs *m)
{
	size_t i;

	yajl_gen_map_open(g);
	for (i = 0; i < m->len; i++)
		vd_jgen_kstr(g, m->items[i].key, m->items[i].value);
	yajl_gen_map_close(g);
}

/* environment: env_file, then `environment` over it; a value written as a
 * number or boolean in a mapping keeps its type; KEY with no value anywhere
 * is null. */
static void gen_environment(yajl_gen g, yajl_val written, const vd_kvs *env)
{
	yajl_val w = vd_json_get(written, "environment");
	size_t i;

	yajl_gen_map_open(g);
	for (i = 0; i < env->len; i++) {
		yajl_val t = YAJL_IS_OBJECT(w) ? vd_json_get(w, env->items[i].key) : NULL;

		vd_jgen_str(g, env->items[i].key);
		if (t && (YAJL_IS_NUMBER(t) || YAJL_IS_TRUE(t) || YAJL_IS_FALSE(t)))
			vd_jgen_value(g, t);
		else
			vd_jgen_str(g, env->items[i].value);
	}
	/* unset everywhere: null */
	if (YAJL_IS_OBJECT(w)) {
		for (i = 0; i < w->u.object.len; i++)
			if (YAJL_IS_NULL(w->u.object.values[i]) && !vd_kvs_get(env, w->u.object.keys[i])) {
				vd_jgen_str(g, w->u.object.keys[i]);
				yajl_gen_null(g);
			}
	} else if (YAJL_IS_ARRAY(w)) {
		for (i = 0; i < w->u.array.len; i++) {
			yajl_val e = w->u.array.values[i];

			if (YAJL_IS_STRING(e) && !strchr(e->u.string, '=') && !vd_kvs_get(env, e->u.string)) {
				vd_jgen_str(g, e->u.string);
				yajl_gen_null(g);
			}
		}
	}
	yajl_gen_map_close(g);
}

/* ServicePort tuples: [target, published, protocol, mode, external_ip] */
static void gen_port_tuple(yajl_gen g, long long target, const char *pub, long long pub_n, const char *proto,
			   const char *mode, const char *ip)
{
	yajl_gen_array_open(g);
	yajl_gen_integer(g, target);
	if (pub)
		vd_jgen_str(g, pub);
	else if (pub_n >= 0)
		yajl_gen_integer(g, pub_n);
	else
		yajl_gen_null(g);
	vd_jgen_str(g, proto && *proto ? proto : NULL);
	vd_jgen_str(g, mode && *mode ? mode : NULL);
	vd_jgen_str(g, ip && *ip ? ip : NULL);
	yajl_gen_array_close(g);
}

static void gen_short_port(yajl_gen g, const char *spec)
{
	char buf[256], *proto, *parts[3] = { NULL, NULL, NULL }, *p;
	unsigned tlo, thi, plo, phi;
	int n = 0, i;

	snprintf(buf, sizeof(buf), "%s", spec);
	if ((proto = strchr(buf, '/')))
		*proto++ = '\0';
	/* [ip:][published:]target, split from the right */
	for (p = buf; n < 3; n++) {
		char *colon = strrchr(p, ':');

		if (!colon || n == 2) {
			parts[n] = p;
			n++;
			break;
		}
		*colon = '\0';
		parts[n] = colon + 1;
	}
	/* parts: target, published, ip (as many as written) */
	if (sscanf(parts[0], "%u-%u", &tlo, &thi) != 2)
		thi = tlo = (unsigned)strtoul(parts[0], NULL, 10);
	if (n < 2 || !parts[1] || !*parts[1]) {
		for (i = 0; i <= (int)(thi - tlo); i++)
			gen_port_tuple(g, tlo + i, NULL, -1, proto, NULL, n > 2 ? parts[2] : NULL);
		return;
	}
	if (sscanf(parts[1], "%u-%u", &plo, &phi) != 2)
		phi = plo = (unsigned)strtoul(parts[1], NULL, 10);
	if (thi == tlo && phi != plo) {
		gen_port_tuple(g, tlo, parts[1], -1, proto, NULL, n > 2 ? parts[2] : NULL);
		return;
	}
	for (i = 0; i <= (int)(thi - tlo); i++)
		gen_port_tuple(g, tlo + i, NULL, plo + i, proto, NULL, n > 2 ? parts[2] : NULL);
}

static void gen_ports(yajl_gen g, yajl_val ports)
{
	size_t i;

	yajl_gen_array_open(g);
	for (i = 0; i < vd_json_len(ports); i++) {
		yajl_val p = vd_json_idx(ports, i);

		if (YAJL_IS_STRING(p)) {
			gen_short_port(g, p->u.string);
		} else if (YAJL_IS_NUMBER(p)) {
			gen_port_tuple(g, strtoll(p->u.number.r, NULL, 10), NULL, -1, NULL, NULL, NULL);
		} else if (YAJL_IS_OBJECT(p)) {
			yajl_val pub = vd_json_get(p, "published");

			gen_port_tuple(g, vd_json_int(p, "target", 0), NULL,
				       YAJL_IS_NUMBER(pub) ? strtoll(pub->u.number.r, NULL, 10)
				       : YAJL_IS_STRING(pub) ? strtoll(pub->u.string, NULL, 10) : -1,
				       vd_json_str(p, "protocol"), vd_json_str(p, "mode"), NULL);
		}
	}
	yajl_gen_array_close(g);
}

/* The engine's name of a volume key (the key itself when undeclared). */
static const char *volume_name(const vd_compose *c, const char *key)
{
	const vd_compose_volume *v = vd_compose_volume_find(c, key);

	return v ? v->name : key;
}

static void gen_volumes(yajl_gen g, const vd_compose *c, const vd_compose_service *s, yajl_val written)
{
	yajl_val w = vd_json_get(written, "volumes");
	size_t i, n = vd_json_len(w);

	yajl_gen_array_open(g);
	for (i = 0; i < s->n_volumes && i < n; i++) {
		const vd_compose_mount *m = &s->volumes[i];
		yajl_val raw = vd_json_idx(w, i);

		if (m->short_syntax) {
			/* VolumeSpec (external, internal, mode); mode as written */
			const char *mode = "rw", *spec = YAJL_IS_STRING(raw) ? raw->u.string : "";
			const char *c1 = strchr(spec, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;

			if (c2)
				mode = c2 + 1;
			yajl_gen_array_open(g);
			vd_jgen_str(g, m->type == VD_COMPOSE_MOUNT_BIND ? m->source
				       : m->source		       ? volume_name(c, m->source)
								       : NULL);
			vd_jgen_str(g, m->target);
			vd_jgen_str(g, mode);
			yajl_gen_array_close(g);
			continue;
		}
		/* MountSpec.repr(): the keys that are set */
		yajl_gen_map_open(g);
		vd_jgen_kstr(g, "type", m->type == VD_COMPOSE_MOUNT_BIND ? "bind"
				      : m->type == VD_COMPOSE_MOUNT_VOLUME ? "volume"
									   : "tmpfs");
		if (m->source)
			vd_jgen_kstr(g, "source", m->type == VD_COMPOSE_MOUNT_VOLUME ? volume_name(c, m->source)
										  : m->source);
		vd_jgen_kstr(g, "target", m->target);
		if (m->read_only)
			vd_jgen_kbool(g, "read_only", true);
		if (m->propagation) {
			vd_jgen_str(g, "bind");
			yajl_gen_map_open(g);
			vd_jgen_kstr(g, "propagation", m->propagation);
			yajl_gen_map_close(g);
		}
		if (m->nocopy) {
			vd_jgen_str(g, "volume");
			yajl_gen_map_open(g);
			vd_jgen_kbool(g, "nocopy", true);
			yajl_gen_map_close(g);
		}
		if (m->tmpfs_size) {
			vd_jgen_str(g, "tmpfs");
			yajl_gen_map_open(g);
			vd_jgen_kint(g, "size", m->tmpfs_size);
			yajl_gen_map_close(g);
		}
		yajl_gen_map_close(g);
	}
	yajl_gen_array_close(g);
}

static void gen_healthcheck(yajl_gen g, yajl_val hc)
{
	static const char *const durations[] = { "interval", "timeout", "start_period", NULL };
	bool disable = vd_json_get(hc, "disable") != NULL;
	size_t i, j;

	yajl_gen_map_open(g);
	for (i = 0; YAJL_IS_OBJECT(hc) && i < hc->u.object.len; i++) {
		const char *k = hc->u.object.keys[i];
		yajl_val v = hc->u.object.values[i];
		int64_t ns;

		if (!strcmp(k, "disable") || (disable && !strcmp(k, "test")))
			continue;
		vd_jgen_str(g, k);
		for (j = 0; durations[j] && strcmp(durations[j], k); j++)
			;
		if (durations[j] && YAJL_IS_STRING(v) && !vd_compose_parse_duration(v->u.string, &ns))
			yajl_gen_integer(g, ns);
		else if (!strcmp(k, "retries"))
			gen_int_of(g, v);
		else
			vd_jgen_value(g, v);
	}
	if (disable) {
		vd_jgen_str(g, "test");
		yajl_gen_array_open(g);
		vd_jgen_str(g, "NONE");
		yajl_gen_array_close(g);
	}
	yajl_gen_map_close(g);
}

static void gen_restart(yajl_gen g, yajl_val v)
{
	const char *s = YAJL_IS_STRING(v) ? v->u.string : NULL, *colon;

	if (!s || !*s) {   /* `restart: no` reads as false in YAML 1.1: no policy */
		yajl_gen_null(g);
		return;
	}
	colon = strchr(s, ':');
	yajl_gen_map_open(g);
	vd_jgen_str(g, "Name");
	if (colon)
		yajl_gen_string(g, (const unsigned char *)s, (size_t)(colon - s));
	else
		vd_jgen_str(g, s);
	vd_jgen_kint(g, "MaximumRetryCount", colon ? strtoll(colon + 1, NULL, 10) : 0);
	yajl_gen_map_close(g);
}

static void gen_build(yajl_gen g, const vd_compose_service *s, yajl_val b)
{
	size_t i;

	yajl_gen_map_open(g);
	vd_jgen_kstr(g, "context", s->build->context);
	for (i = 0; YAJL_IS_OBJECT(b) && i < b->u.object.len; i++) {
		const char *k = b->u.object.keys[i];

		if (!strcmp(k, "context"))
			continue;
		vd_jgen_str(g, k);
		if (!strcmp(k, "args"))
			gen_kvs_dict(g, &s->build->args);
		else if (!strcmp(k, "labels"))
			gen_kvs_dict(g, &s->build->labels);
		else
			vd_jgen_value(g, b->u.object.values[i]);
	}
	yajl_gen_map_close(g);
}

/* the 1.29 dict of one key, or false when the key is not one it rewrites */
static bool gen_rewritten(yajl_gen g, const vd_compose_service *s, const char *k, yajl_val v)
{
	size_t i;

	if (!strcmp(k, "build")) {
		gen_build(g, s, v);
	} else if (!strcmp(k, "ports")) {
		gen_ports(g, v);
	} else if (!strcmp(k, "healthcheck")) {
		gen_healthcheck(g, v);
	} else if (!strcmp(k, "restart")) {
		gen_restart(g, v);
	} else if (!strcmp(k, "labels")) {
		gen_kvs_dict(g, &s->labels);
	} else if (!strcmp(k, "sysctls")) {
		gen_kvs_dict(g, &s->sysctls);
	} else if (!strcmp(k, "cpus")) {
		gen_float(g, s->cpus);
	} else if (!strcmp(k, "privileged") || !strcmp(k, "read_only") || !strcmp(k, "stdin_open") ||
		   !strcmp(k, "tty")) {
		gen_bool_of(g, v);
	} else if (!strcmp(k, "dns") || !strcmp(k, "tmpfs")) {
		if (YAJL_IS_STRING(v)) {
			yajl_gen_array_open(g);
			vd_jgen_value(g, v);
			yajl_gen_array_close(g);
		} else {
			vd_jgen_value(g, v);
		}
	} else if (!strcmp(k, "security_opt")) {
		yajl_gen_array_open(g);
		for (i = 0; i < vd_json_len(v); i++) {
			yajl_gen_array_open(g);
			vd_jgen_value(g, vd_json_idx(v, i));
			yajl_gen_null(g);
			yajl_gen_array_close(g);
		}
		yajl_gen_array_close(g);
	} else if (!strcmp(k, "depends_on") && YAJL_IS_ARRAY(v)) {
		yajl_gen_map_open(g);
		for (i = 0; i < vd_json_len(v); i++) {
			vd_jgen_value(g, vd_json_idx(v, i));
			yajl_gen_map_open(g);
			vd_jgen_kstr(g, "condition", "service_started");
			yajl_gen_map_close(g);
		}
		yajl_gen_map_close(g);
	} else if (!strcmp(k, "ulimits") && YAJL_IS_OBJECT(v)) {
		yajl_gen_map_open(g);
		for (i = 0; i < v->u.object.len; i++) {
			yajl_val u = v->u.object.values[i];

			vd_jgen_str(g, v->u.object.keys[i]);
			if (YAJL_IS_OBJECT(u)) {
				yajl_gen_map_open(g);
				vd_jgen_str(g, "soft");
				gen_int_of(g, vd_json_get(u, "soft"));
				vd_jgen_str(g, "hard");
				gen_int_of(g, vd_json_get(u, "hard"));
				yajl_gen_map_close(g);
			} else {
				gen_int_of(g, u);
			}
		}
		yajl_gen_map_close(g);
	} else {
		return false;
	}
	return true;
}

static void gen_options(yajl_gen g, const vd_compose *c, const vd_compose_service *s, yajl_val w,
			const vd_kvs *env)
{
	static const char *const elsewhere[] = { "networks", "secrets", "links", "network_mode", "env_file",
						 "scale", "deploy", "platform", "environment", "volumes",
						 "mem_limit", "mem_reservation", NULL };
	yajl_val deploy = vd_json_get(w, "deploy"), res = vd_json_get(deploy, "resources");
	yajl_val lim = vd_json_get(res, "limits"), resv = vd_json_get(res, "reservations");
	size_t i, j;

	yajl_gen_map_open(g);
	for (i = 0; YAJL_IS_OBJECT(w) && i < w->u.object.len; i++) {
		const char *k = w->u.object.keys[i];

		for (j = 0; elsewhere[j] && strcmp(elsewhere[j], k); j++)
			;
		if (elsewhere[j] || (!strcmp(k, "cpus") && vd_json_get(lim, "cpus")))
			continue;
		vd_jgen_str(g, k);
		if (!gen_rewritten(g, s, k, w->u.object.values[i]))
			vd_jgen_value(g, w->u.object.values[i]);
	}
	if (vd_json_get(w, "environment") || vd_json_get(w, "env_file")) {
		vd_jgen_str(g, "environment");
		gen_environment(g, w, env);
	}
	/* deploy.resources replace mem_limit, cpus and mem_reservation */
	if (lim) {
		vd_jgen_str(g, "mem_limit");
		vd_jgen_value(g, vd_json_get(lim, "memory"));
		if (vd_json_get(lim, "cpus")) {
			vd_jgen_str(g, "cpus");
			gen_float(g, s->limits.cpus);
		}
	} else if (vd_json_get(w, "mem_limit")) {
		vd_jgen_str(g, "mem_limit");
		vd_jgen_value(g, vd_json_get(w, "mem_limit"));
	}
	if (resv) {
		vd_jgen_str(g, "mem_reservation");
		vd_jgen_value(g, vd_json_get(resv, "memory"));
	} else if (vd_json_get(w, "mem_reservation")) {
		vd_jgen_str(g, "mem_reservation");
		vd_jgen_value(g, vd_json_get(w, "mem_reservation"));
	}
	vd_jgen_kstr(g, "platform", s->platform);
	vd_jgen_str(g, "device_requests");
	yajl_gen_null(g);
	vd_jgen_str(g, "volumes");
	gen_volumes(g, c, s, w);
	yajl_gen_map_close(g);
}

/* ------------------------------------------------------------ the top */

static int cmp_net_name(const void *a, const void *b, void *ctx)
{
	const vd_compose *c = ctx;
	const vd_compose_network *x = vd_compose_network_find(c, (*(const vd_compose_service_net *const *)a)->network);
	const vd_compose_network *y = vd_compose_network_find(c, (*(const vd_compose_service_net *const *)b)->network);

	return strcmp(x ? x->name : "", y ? y->name : "");
}

static int gen_top(yajl_gen g, const vd_compose *c, const vd_compose_service *s, yajl_val w,
		   const char *image_id)
{
	const vd_compose_service_net **nets = calloc(s->n_networks + 1, sizeof(*nets));
	yajl_val wnets = vd_json_get(w, "networks"), wsecrets = vd_json_get(w, "secrets");
	size_t i;

	if (!nets)
		return VD_ENOMEM;
	for (i = 0; i < s->n_networks; i++)
		nets[i] = &s->networks[i];
	qsort_r(nets, s->n_networks, sizeof(*nets), cmp_net_name, (void *)c);

	vd_jgen_kstr(g, "image_id", image_id);
	vd_jgen_str(g, "ipc_mode");
	yajl_gen_null(g);
	vd_jgen_str(g, "links");
	yajl_gen_array_open(g);
	for (i = 0; i < s->links.len; i++) {
		const char *l = s->links.items[i], *colon = strchr(l, ':');

		yajl_gen_array_open(g);
		if (colon)
			yajl_gen_string(g, (const unsigned char *)l, (size_t)(colon - l));
		else
			vd_jgen_str(g, l);
		vd_jgen_str(g, colon ? colon + 1 : NULL);
		yajl_gen_array_close(g);
	}
	yajl_gen_array_close(g);
	vd_jgen_str(g, "net");
	if (s->network_mode)
		vd_jgen_str(g, s->network_mode);
	else if (s->n_networks)
		vd_jgen_str(g, vd_compose_network_find(c, nets[0]->network)->name);
	else
		vd_jgen_str(g, "none");
	vd_jgen_str(g, "networks");
	yajl_gen_map_open(g);
	for (i = 0; !s->network_mode && i < s->n_networks; i++) {
		yajl_val def = YAJL_IS_OBJECT(wnets) ? vd_json_get(wnets, nets[i]->network) : NULL;

		vd_jgen_str(g, vd_compose_network_find(c, nets[i]->network)->name);
		if (def && YAJL_IS_OBJECT(def)) {
			vd_jgen_value(g, def);
		} else {
			yajl_gen_map_open(g);
			yajl_gen_map_close(g);
		}
	}
	yajl_gen_map_close(g);
	vd_jgen_str(g, "secrets");
	yajl_gen_array_open(g);
	for (i = 0; i < s->n_secrets; i++) {
		yajl_val ws = vd_json_idx(wsecrets, i);
		const vd_compose_secret *sec = vd_compose_secret_find(c, s->secrets[i].source);

		yajl_gen_map_open(g);
		vd_jgen_kstr(g, "file", sec ? sec->file : NULL);
		vd_jgen_str(g, "secret");
		yajl_gen_array_open(g);   /* ServiceSecret: source, target, uid, gid, mode, name */
		vd_jgen_str(g, s->secrets[i].source);
		vd_jgen_str(g, YAJL_IS_OBJECT(ws) ? vd_json_str(ws, "target") : NULL);
		vd_jgen_str(g, s->secrets[i].uid);
		vd_jgen_str(g, s->secrets[i].gid);
		if (s->secrets[i].mode >= 0)
			yajl_gen_integer(g, s->secrets[i].mode);
		else
			yajl_gen_null(g);
		yajl_gen_null(g);
		yajl_gen_array_close(g);
		yajl_gen_map_close(g);
	}
	yajl_gen_array_close(g);
	vd_jgen_str(g, "volumes_from");
	yajl_gen_array_open(g);
	yajl_gen_array_close(g);
	free(nets);
	return 0;
}

int vd_spec_compose_json_v1(const vd_compose *c, const vd_compose_service *s, const vd_kvs *env,
			    const char *image_id, vd_buf *out, vd_error *err)
{
	yajl_gen g = vd_jgen_new();
	yajl_val w = NULL, all = NULL;
	vd_buf raw = VD_BUF_INIT;
	int r;

	if (!g)
		return vd_error_set(err, VD_ENOMEM, "out of memory");
	if (!(w = vd_json_parse(s->written ? s->written : "{}", err))) {
		yajl_gen_free(g);
		return vd_error_prefix(err, "service '%s'", s->name);
	}
	yajl_gen_map_open(g);
	vd_jgen_str(g, "options");
	gen_options(g, c, s, w, env);
	r = gen_top(g, c, s, w, image_id);
	yajl_gen_map_close(g);
	if (vd_jgen_finish(g, &raw) || r) {
		r = vd_error_set(err, VD_ENOMEM, "out of memory");
		goto done;
	}
	if (!(all = vd_json_parse(vd_buf_cstr(&raw), err))) {
		r = err->code;
		goto done;
	}
	if (py_dump(out, all))
		r = vd_error_set(err, VD_ENOMEM, "out of memory");
done:
	yajl_tree_free(w);
	if (all)
		yajl_tree_free(all);
	vd_buf_release(&raw);
	return r;
}

int vd_spec_compose_hash_v1(const vd_compose *c, const vd_compose_service *s, const vd_kvs *env,
			    const char *image_id, char out[65], vd_error *err)
{
	vd_buf json = VD_BUF_INIT;
	int r = vd_spec_compose_json_v1(c, s, env, image_id, &json, err);

	if (!r)
		vd_spec_sha256_hex(json.ptr, json.len, out);
	vd_buf_release(&json);
	return r;
}
