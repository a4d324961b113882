/* voxdeploy — the compose model as a Swarm stack (stack.h). */
#include "controller/model/stack.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "controller/model/spec.h"

char *vd_stack_service_name(const vd_compose *c, const char *service)
{
	size_t n = strlen(c->name) + strlen(service) + 2;
	char *out = malloc(n);

	if (out)
		snprintf(out, n, "%s_%s", c->name, service);
	return out;
}

/* ------------------------------------------------------------------ what a stack cannot carry */

static int refuse(vd_error *err, const vd_compose_pos *pos, const char *what, const char *name,
		  const char *why)
{
	return vd_error_set(err, VD_EINVAL, "%s:%d:%d: %s '%s': %s", pos->file ? pos->file : "?",
			    pos->line, pos->col, what, name, why);
}

static int check_ports(const vd_compose_service *s, vd_error *err)
{
	size_t i;

	for (i = 0; i < s->n_ports; i++) {
		const vd_compose_port *p = &s->ports[i];

		if (p->host_ip)
			return refuse(err, &s->pos, "service", s->name,
				      "a port published on one host address cannot be used on a swarm "
				      "(a service's port listens on every address of its nodes): "
				      "drop the address, or reach the service through its network");
		if (p->published_end != p->published)
			return refuse(err, &s->pos, "service", s->name,
				      "a range of host ports for one container port cannot be used on "
				      "a swarm: publish one port");
	}
	return 0;
}

static int check_mounts(const vd_compose_service *s, vd_error *err)
{
	size_t i;

	for (i = 0; i < s->n_volumes; i++)
		if (s->volumes[i].selinux)
			return refuse(err, &s->volumes[i].pos, "service", s->name,
				      "a volume's SELinux relabel (:z, :Z) cannot be used on a swarm");
	return 0;
}

/* The keys a swarm task has no place for, with what to write instead. */
static const char *unsupported_key(const vd_compose_service *s)
{
	if (s->network_mode)
		return "network_mode cannot be used on a swarm: attach the service to networks";
	if (s->links.len)
		return "links cannot be used on a swarm: services on one network reach each other "
		       "by name";
	if (s->privileged)
		return "privileged cannot be used on a swarm: add the capabilities it needs with "
		       "cap_add";
	if (s->devices.len)
		return "devices cannot be used on a swarm";
	if (s->security_opt.len)
		return "security_opt cannot be used on a swarm";
	if (s->shm_size)
		return "shm_size cannot be used on a swarm: mount a tmpfs at /dev/shm";
	if (s->tmpfs.len)
		return "tmpfs: cannot be used on a swarm: write a volume of type tmpfs";
	if (s->memswap_limit)
		return "memswap_limit cannot be used on a swarm";
	if (s->pids_limit)
		return "pids_limit cannot be used on a swarm";
	if (s->runtime)
		return "runtime cannot be used on a swarm";
	if (s->platform)
		return "platform cannot be used on a swarm: constrain the service with "
		       "deploy.placement.constraints (node.platform.arch==...)";
	if (s->n_secrets)
		return "secrets are not deployed to a swarm by voxdeploy yet: mount the file with a "
		       "bind volume present on every node";
	if (s->deploy.mode && strcmp(s->deploy.mode, "replicated") && strcmp(s->deploy.mode, "global"))
		return "deploy.mode must be replicated or global on a swarm (jobs are not deployed)";
	return NULL;
}

static int check_networks(const vd_compose *c, vd_error *err)
{
	size_t i;

	for (i = 0; i < c->n_networks; i++) {
		const vd_compose_network *n = &c->networks[i];

		if (n->external || !vd_spec_network_used(c, n->key))
			continue;
		if (n->driver && strcmp(n->driver, "overlay"))
			return refuse(err, &n->pos, "network", n->key,
				      "a stack's networks span nodes: its driver must be overlay");
	}
	return 0;
}

static int check_service(const vd_compose_service *s, vd_error *err)
{
	const char *why = unsupported_key(s);
	size_t j;
	int r;

	if (why)
		return refuse(err, &s->pos, "service", s->name, why);
	for (j = 0; j < s->n_networks; j++)
		if (s->networks[j].ipv4_address || s->networks[j].ipv6_address)
			return refuse(err, &s->pos, "service", s->name,
				      "a fixed address on a network cannot be used on a swarm");
	if ((r = check_ports(s, err)) || (r = check_mounts(s, err)))
		return r;
	return 0;
}

int vd_stack_check(const vd_compose *c, vd_error *err)
{
	size_t i;
	int r;

	for (i = 0; i < c->n_services; i++)
		if ((r = check_service(&c->services[i], err)))
			return r;
	return check_networks(c, err);
}

/* ------------------------------------------------------------------ the ServiceSpec */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Env as "K=V", sorted as Go's sort.Strings sorts. */
static int gen_env(yajl_gen g, const vd_kvs *env)
{
	char **items = calloc(env->len + 1, sizeof(*items));
	size_t i, n = 0;
	int r = 0;

	if (!items)
		return VD_ENOMEM;
	for (i = 0; i < env->len; i++) {
		size_t len = strlen(env->items[i].key) + strlen(env->items[i].value) + 2;

		if (!(items[n] = malloc(len))) {
			r = VD_ENOMEM;
			break;
		}
		snprintf(items[n++], len, "%s=%s", env->items[i].key, env->items[i].value);
	}
	if (!r) {
		qsort(items, n, sizeof(*items), cmp_str);
		vd_jgen_kstrs(g, "Env", items, n);
	}
	for (i = 0; i < n; i++)
		free(items[i]);
	free(items);
	return r;
}

static void gen_hosts(yajl_gen g, const vd_kvs *extra_hosts)
{
	char line[512];
	size_t i;

	vd_jgen_str(g, "Hosts");
	yajl_gen_array_open(g);
	for (i = 0; i < extra_hosts->len; i++) {
		snprintf(line, sizeof(line), "%s %s", extra_hosts->items[i].value,
			 extra_hosts->items[i].key);
		vd_jgen_str(g, line);
	}
	yajl_gen_array_close(g);
}

static void gen_labels(yajl_gen g, const char *key, const vd_kvs *user, const char *project)
{
	size_t i;

	vd_jgen_str(g, key);
	yajl_gen_map_open(g);
	for (i = 0; i < user->len; i++)
		if (strcmp(user->items[i].key, VD_STACK_NAMESPACE_LABEL))
			vd_jgen_kstr(g, user->items[i].key, user->items[i].value);
	vd_jgen_kstr(g, VD_STACK_NAMESPACE_LABEL, project);
	yajl_gen_map_close(g);
}

static int cmp_ulimit(const void *a, const void *b)
{
	return strcmp((*(const vd_compose_ulimit *const *)a)->name,
		      (*(const vd_compose_ulimit *const *)b)->name);
}

static int gen_ulimits(yajl_gen g, const vd_compose_service *s)
{
	const vd_compose_ulimit **u = calloc(s->n_ulimits + 1, sizeof(*u));
	size_t i;

	if (!u)
		return VD_ENOMEM;
	for (i = 0; i < s->n_ulimits; i++)
		u[i] = &s->ulimits[i];
	qsort(u, s->n_ulimits, sizeof(*u), cmp_ulimit);
	vd_jgen_str(g, "Ulimits");
	yajl_gen_array_open(g);
	for (i = 0; i < s->n_ulimits; i++) {
		yajl_gen_map_open(g);
		vd_jgen_kstr(g, "Name", u[i]->name);
		vd_jgen_kint(g, "Soft", u[i]->soft);
		vd_jgen_kint(g, "Hard", u[i]->hard);
		yajl_gen_map_close(g);
	}
	yajl_gen_array_close(g);
	free(u);
	return 0;
}

/* Capabilities as the CLI normalises them: upper case, CAP_ in front
 * (ALL as it is). */
static void gen_caps(yajl_gen g, const char *key, const vd_compose_strs *caps)
{
	char cap[128];
	size_t i, j, at;

	vd_jgen_str(g, key);
	yajl_gen_array_open(g);
	for (i = 0; i < caps->len; i++) {
		const char *c = caps->items[i];

		at = strcasecmp(c, "ALL") && strncasecmp(c, "CAP_", 4) ? (size_t)snprintf(cap, sizeof(cap), "CAP_")
									: 0;
		for (j = 0; c[j] && at + 1 < sizeof(cap); j++)
			cap[at++] = (char)toupper((unsigned char)c[j]);
		cap[at] = '\0';
		vd_jgen_str(g, cap);
	}
	yajl_gen_array_close(g);
}

static int gen_container_spec(yajl_gen g, const vd_compose *c, const vd_compose_service *s,
			      const char *image, const vd_kvs *env)
{
	size_t i;
	int r;

	vd_jgen_str(g, "ContainerSpec");
	yajl_gen_map_open(g);
	vd_jgen_kstr(g, "Image", image);
	gen_labels(g, "Labels", &s->labels, c->name);
	if (s->entrypoint.set)
		vd_jgen_kstrs(g, "Command", s->entrypoint.argv, s->entrypoint.argc);
	if (s->command.set)
		vd_jgen_kstrs(g, "Args", s->command.argv, s->command.argc);
	if (s->hostname)
		vd_jgen_kstr(g, "Hostname", s->hostname);
	if ((r = gen_env(g, env)))
		return r;
	if (s->working_dir)
		vd_jgen_kstr(g, "Dir", s->working_dir);
	if (s->user)
		vd_jgen_kstr(g, "User", s->user);
	/* what the stack sends when the file names no credential spec */
	vd_jgen_str(g, "Privileges");
	yajl_gen_map_open(g);
	vd_jgen_str(g, "CredentialSpec");
	yajl_gen_null(g);
	vd_jgen_str(g, "SELinuxContext");
	yajl_gen_null(g);
	yajl_gen_map_close(g);
	if (s->tty)
		vd_jgen_kbool(g, "TTY", true);
	if (s->stdin_open)
		vd_jgen_kbool(g, "OpenStdin", true);
	if (s->read_only)
		vd_jgen_kbool(g, "ReadOnly", true);
	if (s->n_volumes) {
		vd_jgen_str(g, "Mounts");
		yajl_gen_array_open(g);
		for (i = 0; i < s->n_volumes; i++)
			if ((r = vd_spec_gen_mount(g, c, &s->volumes[i], c->name)))
				return r;
		yajl_gen_array_close(g);
	}
	if (s->stop_grace_period_ns)
		vd_jgen_kint(g, "StopGracePeriod", s->stop_grace_period_ns);
	if (s->stop_signal)
		vd_jgen_kstr(g, "StopSignal", s->stop_signal);
	if (s->healthcheck.set)
		vd_spec_gen_healthcheck(g, &s->healthcheck);
	if (s->extra_hosts.len)
		gen_hosts(g, &s->extra_hosts);
	if (s->dns.len) {
		vd_jgen_str(g, "DNSConfig");
		yajl_gen_map_open(g);
		vd_jgen_kstrs(g, "Nameservers", s->dns.items, s->dns.len);
		yajl_gen_map_close(g);
	}
	if (s->init >= 0)
		vd_jgen_kbool(g, "Init", s->init == 1);
	if (s->sysctls.len)
		vd_jgen_kkvs(g, "Sysctls", &s->sysctls);
	if (s->cap_add.len)
		gen_caps(g, "CapabilityAdd", &s->cap_add);
	if (s->cap_drop.len)
		gen_caps(g, "CapabilityDrop", &s->cap_drop);
	if (s->n_ulimits && (r = gen_ulimits(g, s)))
		return r;
	yajl_gen_map_close(g);
	return 0;
}

/* deploy.resources; mem_limit and cpus where its limits say nothing (as
 * on one engine). */
static void gen_resources(yajl_gen g, const vd_compose_service *s)
{
	vd_compose_resources limits = s->limits;
	const vd_compose_resources *part[2] = { &limits, &s->reservations };
	const char *name[2] = { "Limits", "Reservations" };
	int k;

	if (!limits.memory)
		limits.memory = s->mem_limit;
	if (limits.cpus <= 0)
		limits.cpus = s->cpus;
	vd_jgen_str(g, "Resources");
	yajl_gen_map_open(g);
	for (k = 0; k < 2; k++) {
		if (!part[k]->memory && part[k]->cpus <= 0)
			continue;
		vd_jgen_str(g, name[k]);
		yajl_gen_map_open(g);
		if (part[k]->cpus > 0)
			vd_jgen_kint(g, "NanoCPUs", (long long)(part[k]->cpus * 1e9 + 0.5));
		if (part[k]->memory)
			vd_jgen_kint(g, "MemoryBytes", part[k]->memory);
		yajl_gen_map_close(g);
	}
	yajl_gen_map_close(g);
}

/* deploy.restart_policy as written; else `restart:` as the stack reads it
 * (no: none sent, the swarm's default any). */
static void gen_restart_policy(yajl_gen g, const vd_compose_service *s)
{
	const vd_compose_deploy *d = &s->deploy;
	const char *r = s->restart;

	if (d->restart_set) {
		vd_jgen_str(g, "RestartPolicy");
		yajl_gen_map_open(g);
		if (d->restart_condition)
			vd_jgen_kstr(g, "Condition", d->restart_condition);
		if (d->restart_delay_ns)
			vd_jgen_kint(g, "Delay", d->restart_delay_ns);
		if (d->has_max_attempts)
			vd_jgen_kint(g, "MaxAttempts", d->restart_max_attempts);
		if (d->restart_window_ns)
			vd_jgen_kint(g, "Window", d->restart_window_ns);
		yajl_gen_map_close(g);
		return;
	}
	if (!r || !strcmp(r, "no"))
		return;
	vd_jgen_str(g, "RestartPolicy");
	yajl_gen_map_open(g);
	if (!strncmp(r, "on-failure", 10)) {
		vd_jgen_kstr(g, "Condition", "on-failure");
		if (r[10] == ':' && strtoll(r + 11, NULL, 10) > 0)
			vd_jgen_kint(g, "MaxAttempts", strtoll(r + 11, NULL, 10));
	} else {
		vd_jgen_kstr(g, "Condition", "any");
	}
	yajl_gen_map_close(g);
}

static void gen_placement(yajl_gen g, const vd_compose_deploy *d)
{
	size_t i;

	vd_jgen_str(g, "Placement");
	yajl_gen_map_open(g);
	if (d->constraints.len)
		vd_jgen_kstrs(g, "Constraints", d->constraints.items, d->constraints.len);
	if (d->preferences.len) {
		vd_jgen_str(g, "Preferences");
		yajl_gen_array_open(g);
		for (i = 0; i < d->preferences.len; i++) {
			yajl_gen_map_open(g);
			vd_jgen_str(g, "Spread");
			yajl_gen_map_open(g);
			vd_jgen_kstr(g, "SpreadDescriptor", d->preferences.items[i]);
			yajl_gen_map_close(g);
			yajl_gen_map_close(g);
		}
		yajl_gen_array_close(g);
	}
	if (d->max_replicas_per_node)
		vd_jgen_kint(g, "MaxReplicas", d->max_replicas_per_node);
	yajl_gen_map_close(g);
}

static int cmp_net_name(const void *a, const void *b)
{
	return strcmp((*(const vd_compose_network *const *)a)->name,
		      (*(const vd_compose_network *const *)b)->name);
}

/* Each network of the service by its engine name, sorted by it, with the
 * service's name after the file's aliases. */
static int gen_networks(yajl_gen g, const vd_compose *c, const vd_compose_service *s)
{
	const vd_compose_network **n = calloc(s->n_networks + 1, sizeof(*n));
	const vd_compose_service_net **sn = calloc(s->n_networks + 1, sizeof(*sn));
	size_t i, j;
	int r = 0;

	if (!n || !sn) {
		free(n);
		free(sn);
		return VD_ENOMEM;
	}
	for (i = 0; i < s->n_networks && !r; i++)
		if (!(n[i] = vd_compose_network_find(c, s->networks[i].network)))
			r = VD_EINVAL;
	if (!r) {
		qsort(n, s->n_networks, sizeof(*n), cmp_net_name);
		vd_jgen_str(g, "Networks");
		yajl_gen_array_open(g);
		for (i = 0; i < s->n_networks; i++) {
			for (j = 0; j < s->n_networks; j++)
				if (!strcmp(s->networks[j].network, n[i]->key))
					sn[i] = &s->networks[j];
			yajl_gen_map_open(g);
			vd_jgen_kstr(g, "Target", n[i]->name);
			vd_jgen_str(g, "Aliases");
			yajl_gen_array_open(g);
			for (j = 0; j < sn[i]->aliases.len; j++)
				vd_jgen_str(g, sn[i]->aliases.items[j]);
			vd_jgen_str(g, s->name);
			yajl_gen_array_close(g);
			yajl_gen_map_close(g);
		}
		yajl_gen_array_close(g);
	}
	free(n);
	free(sn);
	return r;
}

static void gen_update_config(yajl_gen g, const char *key, const vd_compose_update_config *u,
			      bool start_first)
{
	if (!u->set && !start_first)
		return;
	vd_jgen_str(g, key);
	yajl_gen_map_open(g);
	vd_jgen_kint(g, "Parallelism", u->has_parallelism ? u->parallelism : 1);
	if (u->delay_ns)
		vd_jgen_kint(g, "Delay", u->delay_ns);
	if (u->failure_action)
		vd_jgen_kstr(g, "FailureAction", u->failure_action);
	if (u->monitor_ns)
		vd_jgen_kint(g, "Monitor", u->monitor_ns);
	if (u->max_failure_ratio > 0) {
		vd_jgen_str(g, "MaxFailureRatio");
		yajl_gen_double(g, u->max_failure_ratio);
	}
	vd_jgen_kstr(g, "Order", start_first ? "start-first" : u->order ? u->order : "");
	yajl_gen_map_close(g);
}

/* Ports sorted as the engine's PortConfig.Compare: published, target,
 * protocol, mode. */
static int cmp_port(const void *a, const void *b)
{
	const vd_compose_port *x = *(const vd_compose_port *const *)a;
	const vd_compose_port *y = *(const vd_compose_port *const *)b;
	const char *mx = x->mode ? x->mode : "ingress", *my = y->mode ? y->mode : "ingress";
	int r;

	if (x->published != y->published)
		return x->published < y->published ? -1 : 1;
	if (x->target != y->target)
		return x->target < y->target ? -1 : 1;
	if ((r = strcmp(x->protocol, y->protocol)))
		return r;
	return strcmp(mx, my);
}

static int gen_endpoint(yajl_gen g, const vd_compose_service *s)
{
	const vd_compose_port **p = calloc(s->n_ports + 1, sizeof(*p));
	size_t i;

	if (!p)
		return VD_ENOMEM;
	for (i = 0; i < s->n_ports; i++)
		p[i] = &s->ports[i];
	qsort(p, s->n_ports, sizeof(*p), cmp_port);
	vd_jgen_str(g, "EndpointSpec");
	yajl_gen_map_open(g);
	if (s->deploy.endpoint_mode)
		vd_jgen_kstr(g, "Mode", s->deploy.endpoint_mode);
	if (s->n_ports) {
		vd_jgen_str(g, "Ports");
		yajl_gen_array_open(g);
		for (i = 0; i < s->n_ports; i++) {
			yajl_gen_map_open(g);
			vd_jgen_kstr(g, "Protocol", p[i]->protocol);
			vd_jgen_kint(g, "TargetPort", p[i]->target);
			if (p[i]->published)
				vd_jgen_kint(g, "PublishedPort", p[i]->published);
			vd_jgen_kstr(g, "PublishMode", p[i]->mode ? p[i]->mode : "ingress");
			yajl_gen_map_close(g);
		}
		yajl_gen_array_close(g);
	}
	yajl_gen_map_close(g);
	free(p);
	return 0;
}

static void gen_mode(yajl_gen g, const vd_compose_deploy *d)
{
	vd_jgen_str(g, "Mode");
	yajl_gen_map_open(g);
	if (d->mode && !strcmp(d->mode, "global")) {
		vd_jgen_str(g, "Global");
		yajl_gen_map_open(g);
		yajl_gen_map_close(g);
	} else {
		vd_jgen_str(g, "Replicated");
		yajl_gen_map_open(g);
		vd_jgen_kint(g, "Replicas", d->has_replicas ? d->replicas : 1);
		yajl_gen_map_close(g);
	}
	yajl_gen_map_close(g);
}

static void gen_service_labels(yajl_gen g, const vd_compose *c, const vd_compose_service *s,
			       const vd_stack_options *o, const char *image)
{
	size_t i;

	vd_jgen_str(g, "Labels");
	yajl_gen_map_open(g);
	for (i = 0; i < s->deploy.labels.len; i++) {
		const char *k = s->deploy.labels.items[i].key;

		if (strcmp(k, VD_STACK_NAMESPACE_LABEL) && strcmp(k, VD_STACK_IMAGE_LABEL) &&
		    strncmp(k, "io.voxdeploy.", 13))
			vd_jgen_kstr(g, k, s->deploy.labels.items[i].value);
	}
	vd_jgen_kstr(g, VD_STACK_NAMESPACE_LABEL, c->name);
	vd_jgen_kstr(g, VD_STACK_IMAGE_LABEL,
		     o->image_label ? o->image_label : s->image ? s->image : image);
	if (o->commit)
		vd_jgen_kstr(g, "io.voxdeploy.commit", o->commit);
	if (o->deploy_id)
		vd_jgen_kstr(g, "io.voxdeploy.deploy-id", o->deploy_id);
	yajl_gen_map_close(g);
}

static int gen_service(yajl_gen g, const vd_compose *c, const vd_compose_service *s,
		       const vd_stack_options *o, const char *image, const vd_kvs *env)
{
	char *name = vd_stack_service_name(c, s->name);
	int r;

	if (!name)
		return VD_ENOMEM;
	yajl_gen_map_open(g);
	vd_jgen_kstr(g, "Name", name);
	free(name);
	gen_service_labels(g, c, s, o, image);
	vd_jgen_str(g, "TaskTemplate");
	yajl_gen_map_open(g);
	if ((r = gen_container_spec(g, c, s, image, env)))
		return r;
	if (s->logging_driver || s->logging_options.len) {
		vd_jgen_str(g, "LogDriver");
		yajl_gen_map_open(g);
		vd_jgen_kstr(g, "Name", s->logging_driver ? s->logging_driver : "json-file");
		if (s->logging_options.len)
			vd_jgen_kkvs(g, "Options", &s->logging_options);
		yajl_gen_map_close(g);
	}
	gen_resources(g, s);
	gen_restart_policy(g, s);
	gen_placement(g, &s->deploy);
	if ((r = gen_networks(g, c, s)))
		return r;
	if (o->force_update)
		vd_jgen_kint(g, "ForceUpdate", o->force_update);
	yajl_gen_map_close(g);
	gen_mode(g, &s->deploy);
	gen_update_config(g, "UpdateConfig", &s->deploy.update_config, o->start_first);
	gen_update_config(g, "RollbackConfig", &s->deploy.rollback_config, false);
	if ((r = gen_endpoint(g, s)))
		return r;
	yajl_gen_map_close(g);
	return 0;
}

int vd_stack_service_spec(const vd_compose *c, const vd_compose_service *s,
			  const vd_stack_options *opts, vd_buf *out, vd_error *err)
{
	static const vd_stack_options none;
	const vd_stack_options *o = opts ? opts : &none;
	const char *image = o->image ? o->image : s->image;
	vd_kvs env = { 0 };
	yajl_gen g;
	int r;

	if ((r = check_service(s, err)))
		return r;
	if (!image)
		return refuse(err, &s->pos, "service", s->name,
			      "a swarm's service needs an image: name one with image:, or "
			      "build it (build:) for voxdeploy to push");
	if ((r = vd_compose_service_env(s, o->lookup, o->lookup_ctx, &env, err)))
		return r;
	if (!(g = vd_jgen_new())) {
		vd_kvs_release(&env);
		return vd_error_set(err, VD_ENOMEM, "out of memory");
	}
	r = gen_service(g, c, s, o, image, &env);
	vd_kvs_release(&env);
	if (r) {
		yajl_gen_free(g);
		if (r == VD_EINVAL)
			return refuse(err, &s->pos, "service", s->name,
				      "names a network or volume the file does not declare");
		return vd_error_set(err, r, "service '%s': out of memory", s->name);
	}
	if ((r = vd_jgen_finish(g, out)))
		return vd_error_set(err, r, "generate JSON: %s", vd_error_code_name(r));
	return 0;
}

/* ------------------------------------------------------------------ networks */

int vd_stack_network(const vd_compose *c, const vd_compose_network *n, vd_buf *out,
		     vd_error *err)
{
	yajl_gen g;
	size_t i;
	int r;

	if (n->external)
		return vd_error_set(err, VD_EINVAL, "network '%s' is external: a stack does not create it",
				    n->key);
	if (!(g = vd_jgen_new()))
		return vd_error_set(err, VD_ENOMEM, "out of memory");
	yajl_gen_map_open(g);
	vd_jgen_kstr(g, "Name", n->name);
	vd_jgen_kstr(g, "Driver", n->driver ? n->driver : "overlay");
	if (n->driver_opts.len)
		vd_jgen_kkvs(g, "Options", &n->driver_opts);
	if (n->internal)
		vd_jgen_kbool(g, "Internal", true);
	vd_jgen_kbool(g, "Attachable", n->attachable || n->implicit);
	if (n->ipam_driver || n->n_ipam_config) {
		vd_jgen_str(g, "IPAM");
		yajl_gen_map_open(g);
		if (n->ipam_driver)
			vd_jgen_kstr(g, "Driver", n->ipam_driver);
		vd_jgen_str(g, "Config");
		yajl_gen_array_open(g);
		for (i = 0; i < n->n_ipam_config; i++) {
			yajl_gen_map_open(g);
			if (n->ipam_config[i].subnet)
				vd_jgen_kstr(g, "Subnet", n->ipam_config[i].subnet);
			yajl_gen_map_close(g);
		}
		yajl_gen_array_close(g);
		yajl_gen_map_close(g);
	}
	gen_labels(g, "Labels", &n->labels, c->name);
	yajl_gen_map_close(g);
	if ((r = vd_jgen_finish(g, out)))
		return vd_error_set(err, r, "generate JSON: %s", vd_error_code_name(r));
	return 0;
}
