/* voxdeploy.yml: the object, the file on disk or at a commit, what the
 * commands ask of it and its JSON view; the secret part of a conninfo or
 * URL.  Reading the tree, key by key: config_schema.c. */
#include "controller/config/config.h"
#include "controller/config/config_private.h"
#include "controller/model/yaml.h"
#include "docker_api/swarm.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CONFIG_FILE ((size_t)1 << 20)

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
bool vd_config_url_password(const char *s, size_t *at, size_t *len)
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
size_t vd_config_conninfo_passwords(const char *s, size_t at[2], size_t len[2])
{
	size_t n = 0;

	if (is_uri(s)) {
		if (vd_config_url_password(s, &at[n], &len[n]))
			n++;
		if (uri_query_password(s, &at[n], &len[n]))
			n++;
	} else if (kv_password(s, &at[0], &len[0])) {
		n = 1;
	}
	return n;
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
	size_t at[2], len[2], n = vd_config_conninfo_passwords(conninfo, at, len);

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

	if (vd_config_url_password(url, &at, &len))
		return mask_spans(url, &at, &len, 1, out);
	return vd_buf_puts(out, url);
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
	c->health.fast_check_ms = VD_CONFIG_DEFAULT_FAST_CHECK_MS;
	c->health.containers = true;
	c->deploy.stop_grace_ms = VD_CONFIG_DEFAULT_STOP_GRACE_MS;
	c->deploy.retain_images = VD_CONFIG_DEFAULT_RETAIN_IMAGES;
	c->notify.timeout_ms = VD_CONFIG_DEFAULT_NOTIFY_TIMEOUT_MS;
	c->serve.report_ttl_ms = VD_CONFIG_DEFAULT_REPORT_TTL_MS;
	c->deploy.release.timeout_ms = VD_CONFIG_DEFAULT_RELEASE_TIMEOUT_MS;
	c->deploy.release.full_restart = true;
	c->deploy.release.app_only = true;
	c->deploy.min_free_bytes = VD_CONFIG_DEFAULT_MIN_FREE;
	c->deploy.compose_hash = 2;
	c->deploy.parallel = 8;
	c->backup.enabled = true;
	c->backup.full_restart = true;
	c->backup.keep = VD_CONFIG_DEFAULT_BACKUP_KEEP;
	c->backup.timeout_ms = VD_CONFIG_DEFAULT_BACKUP_TIMEOUT_MS;
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
	vd_yaml_node *root = NULL;
	vd_config *c = NULL;
	vd_yaml *y = NULL;
	int r;

	if (!filename)
		filename = VD_CONFIG_FILE;
	yopts.what = "voxdeploy.yml";
	yopts.max_file = MAX_CONFIG_FILE;
	if ((r = vd_config_defaults(&c, err)))
		return r;
	if (!(c->file = vd_arena_strdup(&c->arena, filename))) {
		r = oom(err);
		goto done;
	}
	if ((r = vd_yaml_new(&yopts, &y, err)))
		goto done;
	if ((r = vd_yaml_parse(y, filename, text ? text : "", text ? len : 0, &root, err)))
		goto done;
	if (root)
		r = vd_config_read(y, root, lookup, ctx, c, err);
done:
	vd_yaml_free(y);
	if (r) {
		vd_config_free(c);
		return r;
	}
	*out = c;
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
	int r;

	memset(out, 0, sizeof(*out));
	r = vd_dotenv_load_project(proj->dir, &out->dotenv, err);
	if (!r)
		r = vd_config_load(proj, vd_env_lookup_process_then, &out->dotenv, &out->config, err);
	if (!r && proj->n_files) {
		r = vd_compose_load_project(proj, vd_env_lookup_process_then, &out->dotenv, &out->model, err);
		if (r == VD_ENOTFOUND)
			r = 0;
		else if (!r)
			out->model->hash_compose = out->config->deploy.compose_hash;
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

int vd_config_registry_auth(const vd_config *c, vd_buf *out, vd_error *err)
{
	const char *user = c->deploy.registry.username, *password = c->deploy.registry.password;

	/* (the schema refuses a password without a username) */
	if (user && vd_registry_auth_encode(user, password ? password : "", c->deploy.registry.address, out))
		return oom(err);
	return 0;
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
	vd_jgen_kint(g, "fast_check_ms", (long long)c->health.fast_check_ms);
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
	vd_jgen_kint(g, "parallel", (long long)c->deploy.parallel);
	vd_jgen_kstr(g, "compose_hash", c->deploy.compose_hash == 1 ? "1.29" : "v2");
	vd_jgen_kstr(g, "builder", c->deploy.builder == VD_CONFIG_BUILDER_CLASSIC	? "classic"
				   : c->deploy.builder == VD_CONFIG_BUILDER_BUILDKIT ? "buildkit"
										      : "auto");
	vd_jgen_kstr(g, "backend", c->deploy.backend == VD_CONFIG_BACKEND_SWARM  ? "swarm"
				   : c->deploy.backend == VD_CONFIG_BACKEND_AUTO ? "auto"
										  : "containers");
	vd_jgen_str(g, "registry");
	if (c->deploy.registry.address) {
		yajl_gen_map_open(g);
		vd_jgen_kstr(g, "address", c->deploy.registry.address);
		vd_jgen_kstr(g, "username", c->deploy.registry.username);
		vd_jgen_kstr(g, "password", c->deploy.registry.password ? "***" : NULL);
		yajl_gen_map_close(g);
	} else {
		yajl_gen_null(g);
	}
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

	vd_jgen_str(g, "backup");
	yajl_gen_map_open(g);
	vd_jgen_kbool(g, "enabled", c->backup.enabled);
	vd_jgen_str(g, "before");
	yajl_gen_array_open(g);
	if (c->backup.full_restart)
		vd_jgen_str(g, "full_restart");
	if (c->backup.app_only)
		vd_jgen_str(g, "app_only");
	yajl_gen_array_close(g);
	vd_jgen_kint(g, "keep", (long long)c->backup.keep);
	vd_jgen_kbool(g, "restore_on_rollback", c->backup.restore_on_rollback);
	vd_jgen_kint(g, "timeout_ms", (long long)c->backup.timeout_ms);
	vd_jgen_str(g, "services");
	if (c->backup.services) {
		yajl_gen_array_open(g);
		for (i = 0; i < c->backup.n_services; i++)
			vd_jgen_str(g, c->backup.services[i]);
		yajl_gen_array_close(g);
	} else {
		yajl_gen_null(g);
	}
	yajl_gen_map_close(g);

	yajl_gen_map_close(g);
	return vd_jgen_finish(g, out);
}
