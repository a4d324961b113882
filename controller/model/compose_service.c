/* Typing and validating one service: the merged tree of `services.NAME`
 * into a vd_compose_service, by the tables of its mappings (ports and
 * volumes: compose_ports.c, compose_volumes.c). */
#include "controller/model/compose_private.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------
 * build
 */

static const compose_key build_keys[] = {
	{ "context", K_STR(vd_compose_build, context) },
	{ "dockerfile", K_STR(vd_compose_build, dockerfile) },
	{ "target", K_STR(vd_compose_build, target) },
	{ "args", K_KVS(vd_compose_build, args, COMPOSE_NULL_LOOKUP), .norm = COMPOSE_KEY_VALUE },
	{ "labels", K_KVS(vd_compose_build, labels, COMPOSE_NULL_EMPTY), .norm = COMPOSE_KEY_VALUE },
	{ "cache_from", K_STRS(vd_compose_build, cache_from, COMPOSE_DEDUPE), .norm = COMPOSE_LIST },
	{ "extra_hosts", K_KVS(vd_compose_build, extra_hosts, COMPOSE_NULL_EMPTY), .norm = COMPOSE_HOST_IP },
	{ "network", K_STR(vd_compose_build, network) },
	{ "platform", K_STR(vd_compose_build, platform) },
};

/* `build: DIR` is {context: DIR}; x-* keys are dropped by compose_normalise() */
static const compose_table build_table = COMPOSE_TABLE(build_keys, .x_keys = true, .lone_key = "context");

static bool is_remote_context(const char *s)
{
	return strstr(s, "://") || !strncmp(s, "git@", 4) || !strncmp(s, "github.com/", 11);
}

static int t_build(loadctx *lc, const vd_yaml_node *v, const char *where, const compose_key *k, void *obj)
{
	vd_compose_service *s = obj;
	const char *w = compose_sub_where(lc, where, k->name);
	vd_compose_build *b;
	const char *ctx;
	int r;

	if (!w)
		return compose_oom(lc);
	if (v->kind == VD_YAML_NULL)
		return 0;
	if (v->kind != VD_YAML_MAP)
		return compose_err(lc, v, where, "'build' must be a string or a mapping");
	if (!(b = vd_arena_alloc(lc->m, sizeof(*b))))
		return compose_oom(lc);
	b->pos = compose_pos_of(lc, v);
	if ((r = compose_read_keys(lc, v, w, &build_table, b)))
		return r;
	ctx = b->context && *b->context ? b->context : ".";
	b->context = is_remote_context(ctx) ? compose_dup(lc, ctx) : compose_resolve_path(lc, ctx);
	if (!b->dockerfile || !*b->dockerfile)
		b->dockerfile = compose_dup(lc, "Dockerfile");
	if (!b->context || !b->dockerfile)
		return compose_oom(lc);
	s->build = b;
	return 0;
}

/* ------------------------------------------------------------------------
 * Values of one key: command and entrypoint, restart, init.
 */

/* command, entrypoint */
static int t_argv(loadctx *lc, const vd_yaml_node *v, const char *where, const compose_key *k, void *obj)
{
	vd_compose_argv *out = COMPOSE_FIELD(vd_compose_argv, obj, k);
	const char *key = k->name;
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

static int t_restart(loadctx *lc, const vd_yaml_node *v, const char *where, const compose_key *k, void *obj)
{
	char **out = COMPOSE_FIELD(char *, obj, k);
	int64_t n;
	int r = compose_t_str(lc, v, where, k->name, out);

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

/* true, false or (null) unset */
static int t_init(loadctx *lc, const vd_yaml_node *v, const char *where, const compose_key *k, void *obj)
{
	vd_compose_service *s = obj;
	bool b = false;
	int r = compose_t_bool(lc, v, where, k->name, &b);

	if (v->kind != VD_YAML_NULL)
		s->init = b;
	return r;
}

/* ------------------------------------------------------------------------
 * env_file: paths, or {path, required} mappings; a repeated path counts
 * once, where it first stood, with the later `required`.
 */

/* A long-syntax env_file entry, once read. */
struct env_file_in {
	const char *path;
	bool required;
};

static int t_env_path(loadctx *lc, const vd_yaml_node *v, const char *where, const compose_key *k, void *obj)
{
	if (v->kind != VD_YAML_STR)
		return compose_err(lc, v, where, "env_file: '%s' must be a string", k->name);
	*COMPOSE_FIELD(const char *, obj, k) = v->s;
	return 0;
}

static const compose_key env_file_keys[] = {
	{ "path", K_READ_AT(t_env_path, struct env_file_in, path, const char *) },
	{ "required", K_BOOL(struct env_file_in, required) },
};

static const compose_table env_file_table = COMPOSE_TABLE(env_file_keys);

/* The service's env files while they are read. */
struct env_files {
	struct env_file_in *v;
	size_t n;
	compose_strmap seen;   /* absolute path → index + 1 */
};

static int env_file_add(loadctx *lc, const vd_yaml_node *it, const char *where, struct env_files *ef,
			const char *path, bool required)
{
	uintptr_t at;
	char *abs;

	if (!*path)
		return compose_err(lc, it, where, "env_file: empty path");
	if (!(abs = compose_resolve_path(lc, path)))
		return compose_oom(lc);
	at = (uintptr_t)vd_strmap_get(&ef->seen, abs);
	if (at) {
		ef->v[at - 1].required = required;
		return 0;
	}
	ef->v[ef->n].path = abs;
	ef->v[ef->n++].required = required;
	return vd_strmap_put(&ef->seen, abs, (void *)(uintptr_t)ef->n) ? compose_oom(lc) : 0;
}

static int env_file_short(loadctx *lc, const vd_yaml_node *it, const char *where, void *ctx)
{
	return env_file_add(lc, it, where, ctx, it->s, true);
}

static int env_file_long(loadctx *lc, const vd_yaml_node *it, const char *where, void *ctx)
{
	struct env_file_in in = { NULL, true };
	int r = compose_read_keys(lc, it, where, &env_file_table, &in);

	if (!r && !in.path)
		r = compose_err(lc, it, where, "env_file: 'path' is required");
	return r ? r : env_file_add(lc, it, where, ctx, in.path, in.required);
}

/* a lone string was made a list by compose_normalise() */
static const compose_list env_file_list = {
	"a string or a list", .room = COMPOSE_ROOM(struct env_files, v, 0), .str = env_file_short,
	.map = env_file_long,
};

static int t_env_file(loadctx *lc, const vd_yaml_node *v, const char *where, const compose_key *k, void *obj)
{
	vd_compose_service *s = obj;
	struct env_files ef = { NULL, 0, { 0 } };
	int r = compose_read_list(lc, v, where, k->name, &env_file_list, &ef);
	size_t i;

	if (!r && ef.v && (!(s->env_file.items = vd_arena_array(lc->m, ef.n, sizeof(char *))) ||
			   !(s->env_file_required = vd_arena_array(lc->m, ef.n, sizeof(bool)))))
		r = compose_oom(lc);
	for (i = 0; !r && i < ef.n; i++) {
		s->env_file.items[i] = (char *)ef.v[i].path;
		s->env_file_required[i] = ef.v[i].required;
	}
	if (!r)
		s->env_file.len = ef.n;
	vd_strmap_release(&ef.seen);
	return r;
}

/* ------------------------------------------------------------------------
 * networks: NAME: null or {aliases, ipv4_address, ipv6_address}
 */

static const compose_key service_net_keys[] = {
	{ "aliases", K_STRS(vd_compose_service_net, aliases, COMPOSE_DEDUPE) },
	{ "ipv4_address", K_STR(vd_compose_service_net, ipv4_address) },
	{ "ipv6_address", K_STR(vd_compose_service_net, ipv6_address) },
};

static const compose_table service_net_table = COMPOSE_TABLE(service_net_keys, .x_keys = true);

static int service_net(loadctx *lc, const vd_yaml_pair *p, const char *where, void *ctx)
{
	vd_compose_service *s = ctx;
	vd_compose_service_net *n = &s->networks[s->n_networks++];
	const char *nw, *w;

	if (!(n->network = compose_dup(lc, p->key->s)) ||
	    !(nw = vd_yaml_printf(lc->y, "%s: network '%s'", where, p->key->s)))
		return compose_oom(lc);
	if (p->val->kind == VD_YAML_NULL)
		return 0;
	if (p->val->kind != VD_YAML_MAP)
		return (w = compose_sub_where(lc, where, "networks"))
			       ? compose_err(lc, p->val, w, "'%s' must be a mapping or null", p->key->s)
			       : compose_oom(lc);
	return compose_read_keys(lc, p->val, nw, &service_net_table, n);
}

/* the list form was made a mapping by compose_normalise() */
static const compose_named service_nets = {
	"a list or a mapping", COMPOSE_ROOM(vd_compose_service, networks, 0), service_net,
};

static int t_networks(loadctx *lc, const vd_yaml_node *v, const char *where, const compose_key *k, void *obj)
{
	return compose_read_named(lc, v, where, k->name, &service_nets, obj);
}

/* ------------------------------------------------------------------------
 * depends_on: NAME: null or {condition, restart, required}
 */

static const char *const conditions[] = {
	[VD_COMPOSE_SERVICE_STARTED] = "service_started",
	[VD_COMPOSE_SERVICE_HEALTHY] = "service_healthy",
	[VD_COMPOSE_SERVICE_COMPLETED_SUCCESSFULLY] = "service_completed_successfully",
	NULL,
};

static int t_condition(loadctx *lc, const vd_yaml_node *v, const char *where, const compose_key *k, void *obj)
{
	const char *c = v->kind == VD_YAML_STR ? v->s : "";
	size_t i;

	for (i = 0; conditions[i]; i++)
		if (!strcmp(c, conditions[i])) {
			*COMPOSE_FIELD(vd_compose_condition, obj, k) = (vd_compose_condition)i;
			return 0;
		}
	return compose_err_oneof(lc, v, where, k->name, conditions);
}

static const compose_key dep_keys[] = {
	{ "condition", K_READ_AT(t_condition, vd_compose_dep, condition, vd_compose_condition) },
	{ "restart", K_BOOL(vd_compose_dep, restart) },
	{ "required", K_BOOL(vd_compose_dep, required) },
};

static const compose_table dep_table = COMPOSE_TABLE(dep_keys);

static int dep(loadctx *lc, const vd_yaml_pair *p, const char *where, void *ctx)
{
	vd_compose_service *s = ctx;
	vd_compose_dep *d = &s->depends_on[s->n_depends_on++];
	const char *dw;

	if (!(d->service = compose_dup(lc, p->key->s)) ||
	    !(dw = vd_yaml_printf(lc->y, "%s: depends_on '%s'", where, p->key->s)))
		return compose_oom(lc);
	d->condition = VD_COMPOSE_SERVICE_STARTED;
	d->required = true;
	if (p->val->kind == VD_YAML_NULL)
		return 0;
	if (p->val->kind != VD_YAML_MAP)
		return compose_err(lc, p->val, dw, "must be a mapping");
	return compose_read_keys(lc, p->val, dw, &dep_table, d);
}

/* the list form was made a mapping by compose_normalise() */
static const compose_named deps = { "a list or a mapping", COMPOSE_ROOM(vd_compose_service, depends_on, 0), dep };

static int t_depends_on(loadctx *lc, const vd_yaml_node *v, const char *where, const compose_key *k, void *obj)
{
	return compose_read_named(lc, v, where, k->name, &deps, obj);
}

/* ------------------------------------------------------------------------
 * healthcheck
 */

static int t_test(loadctx *lc, const vd_yaml_node *v, const char *where, const compose_key *k, void *obj)
{
	vd_compose_healthcheck *h = obj;
	int r;

	if (v->kind == VD_YAML_STR) {
		if (!(h->test.items = vd_arena_array(lc->m, 2, sizeof(char *))) ||
		    !(h->test.items[0] = compose_dup(lc, "CMD-SHELL")) || !(h->test.items[1] = compose_dup(lc, v->s)))
			return compose_oom(lc);
		h->test.len = 2;
		return 0;
	}
	if (v->kind == VD_YAML_NULL)
		return 0;
	if (v->kind != VD_YAML_SEQ)
		return compose_err(lc, v, where, "'%s' must be a string or a list", k->name);
	if ((r = compose_t_strs(lc, v, where, k->name, false, false, &h->test)))
		return r;
	if (!h->test.len)
		return compose_err(lc, v, where, "'%s' must not be empty", k->name);
	if (!strcmp(h->test.items[0], "NONE"))
		h->disable = true;
	else if (strcmp(h->test.items[0], "CMD") && strcmp(h->test.items[0], "CMD-SHELL"))
		return compose_err(lc, v, where, "'%s' must start with NONE, CMD or CMD-SHELL, not '%s'", k->name,
				   h->test.items[0]);
	return 0;
}

/* disable: true, as test [NONE] does (neither undoes the other) */
static int t_disable(loadctx *lc, const vd_yaml_node *v, const char *where, const compose_key *k, void *obj)
{
	vd_compose_healthcheck *h = obj;
	bool d = false;
	int r = compose_t_bool(lc, v, where, k->name, &d);

	h->disable = h->disable || d;
	return r;
}

static const compose_key healthcheck_keys[] = {
	{ "test", K_READ(t_test), .merge = COMPOSE_REPLACE },
	{ "interval", K_DURATION(vd_compose_healthcheck, interval_ns) },
	{ "timeout", K_DURATION(vd_compose_healthcheck, timeout_ns) },
	{ "start_period", K_DURATION(vd_compose_healthcheck, start_period_ns) },
	{ "start_interval", K_DURATION(vd_compose_healthcheck, start_interval_ns) },
	{ "retries", K_INT(vd_compose_healthcheck, retries, 0) },
	{ "disable", K_READ(t_disable) },
};

static const compose_table healthcheck_table = COMPOSE_TABLE(healthcheck_keys, .x_keys = true);

static int t_healthcheck(loadctx *lc, const vd_yaml_node *v, const char *where, const compose_key *k,
			 void *obj)
{
	vd_compose_healthcheck *h = COMPOSE_FIELD(vd_compose_healthcheck, obj, k);

	if (v->kind == VD_YAML_MAP)
		h->set = true;
	return compose_read_section(lc, v, where, k->name, k->sub, h);
}

/* ------------------------------------------------------------------------
 * logging, ulimits, deploy.resources
 */

static const compose_key logging_keys[] = {
	{ "driver", K_STR(vd_compose_service, logging_driver) },
	{ "options", K_KVS(vd_compose_service, logging_options, COMPOSE_NULL_EMPTY) },
};

static const compose_table logging_table = COMPOSE_TABLE(logging_keys, .x_keys = true);

/* An ulimit's mapping form, once read. */
struct ulimit_in {
	int64_t soft;
	int64_t hard;
	bool has_soft;
	bool has_hard;
};

static const compose_key ulimit_keys[] = {
	{ "soft", K_INT(struct ulimit_in, soft, -1), .given = COMPOSE_AT(struct ulimit_in, has_soft, bool) },
	{ "hard", K_INT(struct ulimit_in, hard, -1), .given = COMPOSE_AT(struct ulimit_in, has_hard, bool) },
};

static const compose_table ulimit_table = COMPOSE_TABLE(ulimit_keys);

/* NAME: N (soft and hard) or {soft, hard} */
static int ulimit(loadctx *lc, const vd_yaml_pair *p, const char *where, void *ctx)
{
	vd_compose_service *s = ctx;
	vd_compose_ulimit *u = &s->ulimits[s->n_ulimits++];
	const char *w = compose_sub_where(lc, where, "ulimits");
	struct ulimit_in in = { 0 };
	int r;

	if (!w || !(u->name = compose_dup(lc, p->key->s)))
		return compose_oom(lc);
	if (p->val->kind == VD_YAML_STR) {
		r = compose_t_int(lc, p->val, w, p->key->s, -1, &u->soft);
		u->hard = u->soft;
		u->single = true;
		return r;
	}
	if (p->val->kind != VD_YAML_MAP)
		return compose_err(lc, p->val, w, "'%s' must be a number or a mapping with soft and hard", p->key->s);
	r = compose_read_keys(lc, p->val, w, &ulimit_table, &in);
	u->soft = in.soft;
	u->hard = in.hard;
	if (!r && (!in.has_soft || !in.has_hard))
		r = compose_err(lc, p->val, w, "'%s' needs both 'soft' and 'hard'", p->key->s);
	return r;
}

static const compose_named ulimits = { "a mapping", COMPOSE_ROOM(vd_compose_service, ulimits, 0), ulimit };

static int t_ulimits(loadctx *lc, const vd_yaml_node *v, const char *where, const compose_key *k, void *obj)
{
	return compose_read_named(lc, v, where, k->name, &ulimits, obj);
}

static const compose_key limits_keys[] = {
	{ "memory", K_BYTES(vd_compose_resources, memory) },
	{ "cpus", K_CPUS(vd_compose_resources, cpus) },
};

static const compose_table limits_table = COMPOSE_TABLE(limits_keys);

/* deploy.resources.limits and .reservations */
static int t_limits(loadctx *lc, const vd_yaml_node *v, const char *where, const compose_key *k, void *obj)
{
	const char *w = compose_sub_where(lc, where, k->name);

	if (!w)
		return compose_oom(lc);
	if (v->kind == VD_YAML_NULL)
		return 0;
	if (v->kind != VD_YAML_MAP)
		return compose_err(lc, v, w, "must be a mapping");
	return compose_read_keys(lc, v, w, &limits_table, COMPOSE_FIELD(vd_compose_resources, obj, k));
}

static const compose_key resources_keys[] = {
	{ "limits", K_READ_AT(t_limits, vd_compose_service, limits, vd_compose_resources) },
	{ "reservations", K_READ_AT(t_limits, vd_compose_service, reservations, vd_compose_resources) },
};

static const compose_table resources_table = COMPOSE_TABLE(resources_keys);

static int t_resources(loadctx *lc, const vd_yaml_node *v, const char *where, const compose_key *k, void *obj)
{
	return compose_read_section(lc, v, where, k->name, &resources_table, obj);
}

/* placement.preferences: [{spread: DESCRIPTOR}, ...] */
static int t_preferences(loadctx *lc, const vd_yaml_node *v, const char *where, const compose_key *k,
			 void *obj)
{
	vd_compose_strs *out = &((vd_compose_service *)obj)->deploy.preferences;
	const char *w = compose_sub_where(lc, where, k->name);
	size_t i;

	if (!w)
		return compose_oom(lc);
	if (v->kind == VD_YAML_NULL)
		return 0;
	if (v->kind != VD_YAML_SEQ)
		return compose_err(lc, v, where, "'%s' must be a list", k->name);
	if (!(out->items = vd_arena_array(lc->m, v->n + 1, sizeof(char *))))
		return compose_oom(lc);
	for (i = 0; i < v->n; i++) {
		const vd_yaml_node *it = v->items[i];

		if (it->kind != VD_YAML_MAP || it->n != 1 || strcmp(it->pairs[0].key->s, "spread") ||
		    it->pairs[0].val->kind != VD_YAML_STR)
			return compose_err(lc, it, w, "each preference must be {spread: DESCRIPTOR}");
		if (!(out->items[out->len++] = compose_dup(lc, it->pairs[0].val->s)))
			return compose_oom(lc);
	}
	return 0;
}

#define S vd_compose_service
static const compose_key placement_keys[] = {
	{ "constraints", K_STRS(S, deploy.constraints, COMPOSE_DEDUPE) },
	{ "preferences", K_READ(t_preferences) },
	{ "max_replicas_per_node", K_INT(S, deploy.max_replicas_per_node, 0) },
};

/* a Swarm's conditions, and the names compose also takes on one engine */
static const char *const restart_conditions[] = { "none", "on-failure", "any", "no", "always",
						   "unless-stopped", NULL };

static const compose_key restart_policy_keys[] = {
	{ "condition", K_STR(S, deploy.restart_condition), .oneof = restart_conditions },
	{ "delay", K_DURATION(S, deploy.restart_delay_ns) },
	{ "max_attempts", K_INT(S, deploy.restart_max_attempts, 0),
	  .given = offsetof(S, deploy.has_max_attempts) },
	{ "window", K_DURATION(S, deploy.restart_window_ns) },
};
#undef S

static const char *const update_actions[] = { "continue", "pause", "rollback", NULL };
static const char *const rollback_actions[] = { "continue", "pause", NULL };
static const char *const orders[] = { "stop-first", "start-first", NULL };

#define U vd_compose_update_config
static const compose_key update_config_keys[] = {
	{ "parallelism", K_INT(U, parallelism, 0), .given = offsetof(U, has_parallelism) },
	{ "delay", K_DURATION(U, delay_ns) },
	{ "failure_action", K_STR(U, failure_action), .oneof = update_actions },
	{ "monitor", K_DURATION(U, monitor_ns) },
	{ "max_failure_ratio", K_CPUS(U, max_failure_ratio) },
	{ "order", K_STR(U, order), .oneof = orders },
};

static const compose_key rollback_config_keys[] = {
	{ "parallelism", K_INT(U, parallelism, 0), .given = offsetof(U, has_parallelism) },
	{ "delay", K_DURATION(U, delay_ns) },
	{ "failure_action", K_STR(U, failure_action), .oneof = rollback_actions },
	{ "monitor", K_DURATION(U, monitor_ns) },
	{ "max_failure_ratio", K_CPUS(U, max_failure_ratio) },
	{ "order", K_STR(U, order), .oneof = orders },
};
#undef U

static const compose_table placement_table = COMPOSE_TABLE(placement_keys);
static const compose_table restart_policy_table = COMPOSE_TABLE(restart_policy_keys);
static const compose_table update_config_table = COMPOSE_TABLE(update_config_keys);
static const compose_table rollback_config_table = COMPOSE_TABLE(rollback_config_keys);

static const char *const deploy_modes[] = { "replicated", "global", NULL };
static const char *const endpoint_modes[] = { "vip", "dnsrr", NULL };

/* deploy: resources for one engine, the rest for a Swarm too */
#define S vd_compose_service
static const compose_key deploy_keys[] = {
	{ "mode", K_STR(S, deploy.mode), .oneof = deploy_modes },
	{ "replicas", K_INT(S, deploy.replicas, 0), .given = offsetof(S, deploy.has_replicas) },
	{ "endpoint_mode", K_STR(S, deploy.endpoint_mode), .oneof = endpoint_modes },
	{ "labels", K_KVS(S, deploy.labels, COMPOSE_NULL_EMPTY), .norm = COMPOSE_KEY_VALUE },
	{ "placement", K_SAME_SECTION(placement_table) },
	{ "restart_policy", K_SAME_SECTION(restart_policy_table), .given = offsetof(S, deploy.restart_set) },
	{ "update_config", K_SECTION(S, deploy.update_config, vd_compose_update_config, update_config_table),
	  .given = offsetof(S, deploy.update_config.set) },
	{ "rollback_config",
	  K_SECTION(S, deploy.rollback_config, vd_compose_update_config, rollback_config_table),
	  .given = offsetof(S, deploy.rollback_config.set) },
	{ "resources", K_READ(t_resources), .sub = &resources_table },
};
#undef S

static const compose_table deploy_table = COMPOSE_TABLE(deploy_keys);

static int t_deploy(loadctx *lc, const vd_yaml_node *v, const char *where, const compose_key *k, void *obj)
{
	vd_compose_service *s = obj;
	int r = compose_read_section(lc, v, where, k->name, &deploy_table, obj);

	if (!r && v->kind == VD_YAML_MAP)
		s->deploy.set = true;
	if (!r && s->deploy.mode && !strcmp(s->deploy.mode, "global") && s->deploy.has_replicas)
		r = compose_err(lc, v, where, "deploy: 'replicas' cannot be combined with mode 'global'");
	return r;
}

/* ------------------------------------------------------------------------
 * secrets, memswap_limit, pull_policy
 */

struct secret_ref_in {
	char *source, *target, *uid, *gid, *mode;
};

/* uid, gid and mode are kept for the config hash only: compose does not
 * apply them outside Swarm */
static const compose_key secret_ref_keys[] = {
	{ "source", K_STR(struct secret_ref_in, source) },
	{ "target", K_STR(struct secret_ref_in, target) },
	{ "uid", K_STR(struct secret_ref_in, uid) },
	{ "gid", K_STR(struct secret_ref_in, gid) },
	{ "mode", K_STR(struct secret_ref_in, mode) },
};

static const compose_table secret_ref_table = COMPOSE_TABLE(secret_ref_keys, .x_keys = true);

/* compose's target: /run/secrets/<target, else source>, unless absolute */
static int secret_ref_add(loadctx *lc, const vd_yaml_node *it, const char *where, vd_compose_service *s,
			  const struct secret_ref_in *in)
{
	vd_compose_secret_ref *ref = &s->secrets[s->n_secrets];
	const char *source = in->source, *target = in->target;
	const char *t = target && *target ? target : source;

	if (!source || !*source)
		return compose_err(lc, it, where, "a secret needs a 'source'");
	ref->pos = compose_pos_of(lc, it);
	/* compose-go writes the short syntax's target out; the long one's stays */
	ref->target_written = in->target ? in->target : vd_arena_printf(lc->m, "/run/secrets/%s", source);
	ref->uid = in->uid;
	ref->gid = in->gid;
	ref->mode = -1;
	if (in->mode) {
		/* an integer as YAML reads one: 0400 and 0o400 octal, 0x.. hex */
		const char *m = in->mode;
		char *end = NULL;
		int base = 0;

		if (m[0] == '0' && (m[1] == 'o' || m[1] == 'O')) {
			m += 2;
			base = 8;
		}
		errno = 0;
		ref->mode = strtoll(m, &end, base);
		if (!*m || *end || errno || ref->mode < 0)
			return compose_err(lc, it, where, "secrets: invalid mode '%s'", in->mode);
	}
	ref->source = compose_dup(lc, source);
	ref->target = t[0] == '/' ? compose_resolve_path(lc, t) : vd_arena_printf(lc->m, "/run/secrets/%s", t);
	if (!ref->source || !ref->target)
		return compose_oom(lc);
	s->n_secrets++;
	return 0;
}

static int secret_short(loadctx *lc, const vd_yaml_node *it, const char *where, void *ctx)
{
	struct secret_ref_in in = { .source = it->s };

	return secret_ref_add(lc, it, where, ctx, &in);
}

static int secret_long(loadctx *lc, const vd_yaml_node *it, const char *where, void *ctx)
{
	const char *w = compose_sub_where(lc, where, "secrets");
	struct secret_ref_in in = { NULL };
	int r;

	if (!w)
		return compose_oom(lc);
	if ((r = compose_read_keys(lc, it, w, &secret_ref_table, &in)))
		return r;
	return secret_ref_add(lc, it, w, ctx, &in);
}

static const compose_list secret_list = {
	"a list", false, COMPOSE_ROOM(vd_compose_service, secrets, 0), secret_short, secret_long,
};

static int t_secrets(loadctx *lc, const vd_yaml_node *v, const char *where, const compose_key *k, void *obj)
{
	return compose_read_list(lc, v, where, k->name, &secret_list, obj);
}

/* a byte size, or -1: unlimited */
static int t_memswap(loadctx *lc, const vd_yaml_node *v, const char *where, const compose_key *k, void *obj)
{
	vd_compose_service *s = obj;

	if (v->kind == VD_YAML_STR && !strcmp(v->s, "-1")) {
		s->memswap_limit = -1;
		return 0;
	}
	return compose_t_bytes(lc, v, where, k->name, &s->memswap_limit);
}

static int t_pull_policy(loadctx *lc, const vd_yaml_node *v, const char *where, const compose_key *k, void *obj)
{
	static const char *const policies[] = { "always", "never", "missing", "if_not_present", "build",
						"daily", "weekly", NULL };
	vd_compose_service *s = obj;
	int64_t ns;
	size_t i;
	int r;

	if ((r = compose_t_str(lc, v, where, k->name, &s->pull_policy)) || !s->pull_policy)
		return r;
	for (i = 0; policies[i] && strcmp(policies[i], s->pull_policy); i++)
		;
	if (policies[i] || (!strncmp(s->pull_policy, "every_", 6) &&
			    !vd_compose_parse_duration(s->pull_policy + 6, &ns) && ns > 0))
		return 0;
	return compose_err(lc, v, where, "invalid pull_policy '%s' (always, never, missing, if_not_present, "
			   "build, daily, weekly or every_<duration>)", s->pull_policy);
}

/* ------------------------------------------------------------------------
 * The service.
 */

#define S vd_compose_service
static const compose_key service_keys[] = {
	{ "image", K_STR(S, image) },
	{ "build", K_READ(t_build), .sub = &build_table, .norm = COMPOSE_SUB },
	{ "container_name", K_STR(S, container_name) },
	{ "command", K_READ_AT(t_argv, S, command, vd_compose_argv), .merge = COMPOSE_REPLACE },
	{ "entrypoint", K_READ_AT(t_argv, S, entrypoint, vd_compose_argv), .merge = COMPOSE_REPLACE },
	{ "environment", K_KVS(S, environment, COMPOSE_NULL_LOOKUP), .norm = COMPOSE_KEY_VALUE },
	{ "env_file", K_READ(t_env_file), .norm = COMPOSE_LIST },
	{ "ports", K_READ(compose_t_ports) },
	{ "expose", K_READ(compose_t_expose) },
	{ "volumes", K_READ(compose_t_volumes) },
	{ "networks", K_READ(t_networks), .norm = COMPOSE_NAMES },
	{ "network_mode", K_STR(S, network_mode) },
	{ "depends_on", K_READ(t_depends_on), .norm = COMPOSE_NAMES },
	{ "healthcheck", K_READ_AT(t_healthcheck, S, healthcheck, vd_compose_healthcheck),
	  .sub = &healthcheck_table },
	{ "restart", K_READ_AT(t_restart, S, restart, char *) },
	{ "labels", K_KVS(S, labels, COMPOSE_NULL_EMPTY), .norm = COMPOSE_KEY_VALUE },
	{ "user", K_STR(S, user) },
	{ "working_dir", K_STR(S, working_dir) },
	{ "hostname", K_STR(S, hostname) },
	{ "extra_hosts", K_KVS(S, extra_hosts, COMPOSE_NULL_EMPTY), .norm = COMPOSE_HOST_IP },
	{ "dns", K_STRS(S, dns, COMPOSE_LONE_STR | COMPOSE_DEDUPE), .norm = COMPOSE_LIST },
	{ "logging", K_SAME_SECTION(logging_table), .merge = COMPOSE_SAME_DRIVER },
	{ "stop_grace_period", K_DURATION(S, stop_grace_period_ns) },
	{ "stop_signal", K_STR(S, stop_signal) },
	{ "tmpfs", K_STRS(S, tmpfs, COMPOSE_LONE_STR | COMPOSE_DEDUPE), .norm = COMPOSE_LIST },
	{ "shm_size", K_BYTES(S, shm_size) },
	{ "ulimits", K_READ(t_ulimits) },
	{ "cap_add", K_STRS(S, cap_add, COMPOSE_DEDUPE) },
	{ "cap_drop", K_STRS(S, cap_drop, COMPOSE_DEDUPE) },
	{ "security_opt", K_STRS(S, security_opt, COMPOSE_DEDUPE) },
	{ "privileged", K_BOOL(S, privileged) },
	{ "init", K_READ(t_init) },
	{ "read_only", K_BOOL(S, read_only) },
	{ "sysctls", K_KVS(S, sysctls, COMPOSE_NULL_EMPTY), .norm = COMPOSE_KEY_VALUE },
	{ "devices", K_STRS(S, devices, COMPOSE_DEDUPE) },
	{ "tty", K_BOOL(S, tty) },
	{ "stdin_open", K_BOOL(S, stdin_open) },
	{ "mem_limit", K_BYTES(S, mem_limit) },
	{ "cpus", K_CPUS(S, cpus) },
	{ "deploy", K_READ(t_deploy), .sub = &deploy_table, .norm = COMPOSE_SUB },
	{ "profiles", K_STRS(S, profiles, COMPOSE_DEDUPE) },
	{ "links", K_STRS(S, links, COMPOSE_DEDUPE) },
	{ "secrets", K_READ(t_secrets) },
	{ "platform", K_STR(S, platform) },
	{ "runtime", K_STR(S, runtime) },
	{ "pids_limit", K_INT(S, pids_limit, -1) },
	{ "memswap_limit", K_READ(t_memswap) },
	{ "pull_policy", K_READ(t_pull_policy) },
};
#undef S

/* x-* keys are dropped by compose_normalise() */
const compose_table compose_service_table = COMPOSE_TABLE(service_keys, .what = "service", .x_keys = true);

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
	int r;

	if (!(where = vd_yaml_printf(lc->y, "service '%s'", sp->key->s)) || !(s->name = compose_dup(lc, sp->key->s)))
		return compose_oom(lc);
	s->pos = compose_pos_of(lc, sp->key);
	s->init = -1;
	if (!valid_service_name(s->name))
		return compose_err(lc, sp->key, NULL, "invalid service name '%s'", s->name);
	if (v->kind != VD_YAML_MAP)
		return compose_err(lc, v, where, "must be a mapping");
	if ((r = compose_read_keys(lc, v, where, &compose_service_table, s)))
		return r;
	if (!(s->written = compose_written_json(lc, v)))
		return compose_oom(lc);
	if (!s->image && !s->build)
		return compose_err(lc, sp->key, where, "neither 'image' nor 'build' is set");
	if (s->network_mode && s->n_networks)
		return compose_err(lc, sp->key, where, "'network_mode' and 'networks' cannot be combined");
	return 0;
}
