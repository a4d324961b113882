#include "controller/rollout/probe_list.h"
#include "controller/model/spec.h"
#include "controller/model/stack.h"
#include "controller/rollout/swap.h"
#include "common/log.h"
#include "health/wait.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PG_PORT 5432

static int oom(vd_error *err)
{
	return vd_error_set(err, VD_ENOMEM, "out of memory");
}

bool vd_probe_list_is_postgres_image(const char *image)
{
	const char *name, *end, *slash;
	size_t len;

	if (!image || !*image)
		return false;
	/* the digest, then a tag (a ':' after the last '/') */
	end = image + strcspn(image, "@");
	slash = NULL;
	for (name = image; name < end; name++)
		if (*name == '/')
			slash = name;
	name = slash ? slash + 1 : image;
	len = (size_t)(end - name);
	if (memchr(name, ':', len))
		len = (size_t)((const char *)memchr(name, ':', len) - name);
	return len == 8 && !strncmp(name, "postgres", 8);
}

void vd_probe_list_release(vd_probe_list *p)
{
	if (!p)
		return;
	vd_arena_release(&p->arena);
	p->items = NULL;
	p->len = 0;
}

static bool wanted(const char *only, const char *service)
{
	return !only || (service && !strcmp(only, service));
}

/* A conninfo value, single-quoted with ' and \ escaped. */
static void put_value(vd_buf *b, const char *key, const char *val)
{
	const char *p;

	vd_buf_printf(b, "%s%s='", b->len ? " " : "", key);
	for (p = val; *p; p++) {
		if (*p == '\'' || *p == '\\')
			vd_buf_putc(b, '\\');
		vd_buf_putc(b, *p);
	}
	vd_buf_putc(b, '\'');
}

void vd_probe_list_pg_credentials(const vd_kvs *env, const char **user, const char **password,
				  const char **db)
{
	*user = vd_kvs_get(env, "POSTGRES_USER");
	if (!*user || !**user)
		*user = "postgres";
	*password = vd_kvs_get(env, "POSTGRES_PASSWORD");
	if (*password && !**password)
		*password = NULL;
	*db = vd_kvs_get(env, "POSTGRES_DB");
	if (!*db || !**db)
		*db = *user;
}

/* The derived PostgreSQL probe of service s. */
static int derive_postgres(vd_probe_list *out, const vd_compose_service *s, vd_env_lookup lookup,
			   void *ctx, vd_probe *p, vd_error *err)
{
	vd_kvs env = { NULL, 0 };
	vd_buf ci = VD_BUF_INIT;
	const char *user, *password, *db, *host = s->name;
	char port[8];
	size_t i;
	int r;

	if ((r = vd_compose_service_env(s, lookup, ctx, &env, err)))
		return vd_error_prefix(err, "service %s", s->name);
	vd_probe_list_pg_credentials(&env, &user, &password, &db);
	snprintf(port, sizeof(port), "%d", PG_PORT);
	for (i = 0; i < s->n_ports; i++) {
		const vd_compose_port *pp = &s->ports[i];

		if (pp->target != PG_PORT || !pp->published || (pp->protocol && strcmp(pp->protocol, "tcp")))
			continue;
		host = pp->host_ip && *pp->host_ip && strcmp(pp->host_ip, "0.0.0.0") &&
		       strcmp(pp->host_ip, "::") ? pp->host_ip : "127.0.0.1";
		snprintf(port, sizeof(port), "%u", (unsigned)pp->published);
		break;
	}
	put_value(&ci, "host", host);
	put_value(&ci, "port", port);
	put_value(&ci, "user", user);
	if (password && *password) {
		char what[256];

		snprintf(what, sizeof(what), "POSTGRES_PASSWORD of service %s", s->name);
		put_value(&ci, "password", password);
		if (vd_secret_add_named(what, password)) {
			r = oom(err);
			goto done;
		}
	}
	put_value(&ci, "dbname", db);
	p->kind = VD_PROBE_POSTGRES;
	p->name = "postgres";
	p->service = s->name;
	p->postgres.conninfo = vd_arena_strdup(&out->arena, vd_buf_cstr(&ci));
	if (!p->postgres.conninfo || !ci.len)
		r = oom(err);
done:
	vd_buf_release(&ci);
	vd_kvs_release(&env);
	return r;
}

static const char *container_of(vd_probe_list *out, const vd_compose *model, const char *service)
{
	const vd_compose_service *s = vd_compose_service_find(model, service);
	char *name;
	const char *copy;

	if (!s)
		return NULL;
	name = vd_spec_container_name(model, s);
	copy = name ? vd_arena_strdup(&out->arena, name) : NULL;
	free(name);
	return copy;
}

/* The service of the stack (swarm): <project>_<service>. */
static const char *stack_service_of(vd_probe_list *out, const vd_compose *model, const char *service)
{
	char *name = vd_stack_service_name(model, service);
	const char *copy = name ? vd_arena_strdup(&out->arena, name) : NULL;

	free(name);
	return copy;
}

static int build(const vd_config *c, const vd_compose *model, const char *only_service, bool swarm,
		 vd_env_lookup lookup, void *ctx, vd_probe_list *out, vd_error *err)
{
	size_t i, cap, n = 0;
	int r = 0;

	memset(out, 0, sizeof(*out));
	if (only_service && !vd_compose_service_find(model, only_service)) {
		vd_buf names = VD_BUF_INIT;

		for (i = 0; i < model->n_services; i++)
			vd_buf_printf(&names, "%s%s", i ? ", " : "", model->services[i].name);
		vd_error_set(err, VD_EINVAL, "no service '%s' in the compose file (services: %s)",
			     only_service, vd_buf_cstr(&names));
		vd_buf_release(&names);
		return VD_EINVAL;
	}
	if ((r = vd_config_check_model(c, model, err)))
		return r;
	cap = model->n_services * 2 + c->health.n_postgres + c->health.n_http + c->health.n_resources;
	out->items = vd_arena_array(&out->arena, cap, sizeof(vd_probe));
	if (!out->items)
		return oom(err);
	if (c->health.containers)
		for (i = 0; i < model->n_services; i++) {
			const vd_compose_service *s = &model->services[i];
			vd_probe *p = &out->items[n];

			if (!wanted(only_service, s->name))
				continue;
			p->service = s->name;
			if (swarm) {
				const char *ref = stack_service_of(out, model, s->name);

				if (!ref)
					return oom(err);
				vd_probe_service_init(p, s->name, ref);
				p->swarm.steady = true;
				n++;
				continue;
			}
			p->kind = VD_PROBE_CONTAINER;
			p->name = "container";
			p->container.one_shot = vd_compose_is_one_shot(model, s->name);
			if (!(p->container.ref = container_of(out, model, s->name)))
				return oom(err);
			n++;
		}
	for (i = 0; i < c->health.n_postgres; i++) {
		const vd_config_postgres *cp = &c->health.postgres[i];
		vd_probe *p = &out->items[n];

		if (!wanted(only_service, cp->service))
			continue;
		p->kind = VD_PROBE_POSTGRES;
		p->name = cp->name;
		p->service = cp->service;
		p->timeout_ms = cp->timeout_ms;
		p->interval_ms = cp->interval_ms;
		p->postgres.conninfo = cp->conninfo;
		p->postgres.query = cp->query;
		n++;
	}
	for (i = 0; i < c->health.n_http; i++) {
		const vd_config_http *ch = &c->health.http[i];
		vd_probe *p = &out->items[n];

		if (!wanted(only_service, ch->service))
			continue;
		p->kind = VD_PROBE_HTTP;
		p->name = ch->name;
		p->service = ch->service;
		p->timeout_ms = ch->timeout_ms;
		p->interval_ms = ch->interval_ms;
		p->http.method = ch->method;
		p->http.url = ch->url;
		p->http.expect_status = ch->expect_status;
		p->http.n_expect_status = ch->n_expect_status;
		p->http.body_contains = ch->body_contains;
		p->http.follow_redirects = ch->follow_redirects;
		n++;
	}
	for (i = 0; i < c->health.n_resources; i++) {
		const vd_config_resources *cr = &c->health.resources[i];
		vd_probe *p = &out->items[n];

		if (!wanted(only_service, cr->service))
			continue;
		if (swarm) {
			vd_log_warn("resources probe %s: not run on a swarm (its containers are on the nodes' "
				    "engines)", cr->name ? cr->name : "resources");
			continue;
		}
		p->kind = VD_PROBE_RESOURCES;
		p->name = cr->name;
		p->service = cr->service;
		p->resources.max_memory_percent = cr->max_memory_percent;
		p->resources.max_cpu_percent = cr->max_cpu_percent;
		p->resources.sample_ms = cr->sample_ms;
		if (!(p->resources.ref = container_of(out, model, cr->service)))
			return oom(err);
		n++;
	}
	if (!c->health.section)
		for (i = 0; i < model->n_services; i++) {
			const vd_compose_service *s = &model->services[i];

			if (!wanted(only_service, s->name) || !vd_probe_list_is_postgres_image(s->image))
				continue;
			if ((r = derive_postgres(out, s, lookup, ctx, &out->items[n], err)))
				return r;
			n++;
		}
	out->len = n;
	return 0;
}

int vd_probe_list_build(const vd_config *c, const vd_compose *model, const char *only_service,
		    vd_env_lookup lookup, void *ctx, vd_probe_list *out, vd_error *err)
{
	return build(c, model, only_service, c->deploy.backend == VD_CONFIG_BACKEND_SWARM, lookup, ctx,
		     out, err);
}

int vd_probe_list_build_on(const vd_config *c, const vd_compose *model, bool swarm, vd_env_lookup lookup,
			   void *ctx, vd_probe_list *out, vd_error *err)
{
	return build(c, model, NULL, swarm, lookup, ctx, out, err);
}

static bool needs_engine(const vd_probe_list *p)
{
	size_t i;

	for (i = 0; i < p->len; i++)
		if (p->items[i].kind == VD_PROBE_CONTAINER || p->items[i].kind == VD_PROBE_RESOURCES ||
		    p->items[i].kind == VD_PROBE_SERVICE)
			return true;
	return false;
}

int vd_probe_list_run(const vd_project *p, const char *only_service, vd_probe_list_engine_fn engine,
		  void *engine_ctx, vd_health_report *report, vd_error *err)
{
	vd_config_bundle b = VD_CONFIG_BUNDLE_INIT;
	vd_probe_list probes = VD_PROBES_INIT;
	vd_docker *docker = NULL;
	bool swarm;
	int r;

	r = vd_config_bundle_load(p, &b, err);
	if (r)
		goto done;
	if (!b.model) {
		r = vd_error_set(err, VD_EINVAL, "no compose file in %s (give -f FILE)", p->dir);
		goto done;
	}
	swarm = b.config->deploy.backend == VD_CONFIG_BACKEND_SWARM;
	/* auto: the stack's services when the engine manages a swarm running them */
	if (b.config->deploy.backend == VD_CONFIG_BACKEND_AUTO && engine &&
	    ((r = engine(engine_ctx, &docker, err)) ||
	     (r = vd_swap_swarm_detect(docker, b.model->name, &swarm, err))))
		goto done;
	r = build(b.config, b.model, only_service, swarm, vd_env_lookup_process_then, &b.dotenv, &probes,
		  err);
	if (r)
		goto done;
	if (needs_engine(&probes)) {
		if (!engine) {
			r = vd_error_set(err, VD_EINVAL, "the probes need a Docker engine");
			goto done;
		}
		if (!docker && (r = engine(engine_ctx, &docker, err)))
			goto done;
	}
	r = vd_health_check(docker, probes.items, probes.len, b.config->health.deadline_ms,
			    b.config->health.fast_check_ms, report, err);
done:
	vd_probe_list_release(&probes);
	vd_config_bundle_release(&b);
	return r;
}
