#include "controller/cli.h"
#include "controller/config/config.h"
#include "controller/rollout/probe_list.h"
#include "controller/model/project.h"
#include "controller/model/spec.h"
#include "common/json.h"
#include "common/log.h"

#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(f,
		"usage: voxdeploy config [--json]\n"
		"\n"
		"Print the effective configuration: voxdeploy.yml with every default filled in\n"
		"(rules, app service, health probes, deploy, notify, serve), then per compose\n"
		"service what voxdeploy would create: image, container name, update order,\n"
		"stop grace, environment and the Engine API create request; then the project's\n"
		"networks and named volumes: driver, IPAM subnets, external, labels, whether a\n"
		"service uses it (only those are created) and the create request; the\n"
		"secrets (their files, bind-mounted read-only where each service wants them).\n"
		"Reads the working tree; talks to nothing.\n"
		"\n"
		"  --json   one JSON object: {\"project\",\"config\",\"app_service\",\"probes\",\n"
		"           \"services\":[{\"service\",\"image\",\"container_name\",\"create\",...}],\n"
		"           \"networks\":[{\"network\",\"name\",\"driver\",\"ipam\",\"create\",...}],\n"
		"           \"volumes\":[{\"volume\",\"name\",\"driver\",\"create\",...}],\n"
		"           \"secrets\":[{\"secret\",\"file\",\"services\":[{\"service\",\"target\"}]}]}\n"
		"\n"
		"Secrets never appear: environment values print as KEY=***; passwords in\n"
		"conninfo strings and URLs, tokens and header values as ***.\n"
		"\n"
		"exit: 0, or 2 when voxdeploy.yml or the compose file is wrong (the message\n"
		"says FILE:LINE:COL)\n");
}

/* "1m30s", "500ms", "10s" */
static void fmt_ms(uint64_t ms, char out[32])
{
	if (ms % 1000)
		snprintf(out, 32, "%llums", (unsigned long long)ms);
	else if (ms >= 60000 && ms % 60000 == 0)
		snprintf(out, 32, "%llum", (unsigned long long)(ms / 60000));
	else if (ms >= 60000)
		snprintf(out, 32, "%llum%llus", (unsigned long long)(ms / 60000),
			 (unsigned long long)(ms % 60000 / 1000));
	else
		snprintf(out, 32, "%llus", (unsigned long long)(ms / 1000));
}

/* The create body with every Env value masked. */
static int masked_body(const char *body, yajl_gen g, vd_error *err)
{
	yajl_val v = vd_json_parse(body, err);
	size_t i, j;

	if (!v)
		return err->code;
	yajl_gen_map_open(g);
	for (i = 0; YAJL_IS_OBJECT(v) && i < v->u.object.len; i++) {
		const char *k = v->u.object.keys[i];
		yajl_val val = v->u.object.values[i];

		vd_jgen_str(g, k);
		if (strcmp(k, "Env") || !YAJL_IS_ARRAY(val)) {
			vd_jgen_value(g, val);
			continue;
		}
		yajl_gen_array_open(g);
		for (j = 0; j < val->u.array.len; j++) {
			const char *e = YAJL_GET_STRING(val->u.array.values[j]);
			char *m = NULL;

			if (!e)
				continue;
			if (asprintf(&m, "%.*s=***", (int)strcspn(e, "="), e) < 0) {
				yajl_tree_free(v);
				return vd_error_set(err, VD_ENOMEM, "out of memory");
			}
			vd_jgen_str(g, m);
			free(m);
		}
		yajl_gen_array_close(g);
	}
	yajl_gen_map_close(g);
	yajl_tree_free(v);
	return 0;
}

static int service_body(const vd_config_bundle *b, const vd_compose_service *s, vd_buf *out,
			vd_error *err)
{
	vd_spec_options so = VD_SPEC_OPTIONS_INIT;

	so.lookup = vd_env_lookup_process_then;
	so.lookup_ctx = (void *)&b->dotenv;
	return vd_spec_container(b->model, s, &so, out, err);
}

/* --- networks and volumes ------------------------------------------------- */

/* The create request of network or volume i (not for an external one). */
static int resource_body(const vd_compose *c, bool network, size_t i, vd_buf *out, vd_error *err)
{
	vd_spec_options so = VD_SPEC_OPTIONS_INIT;

	return network ? vd_spec_network(c, &c->networks[i], &so, out, err)
		       : vd_spec_volume(c, &c->volumes[i], &so, out, err);
}

/* "create": the request as a JSON value, or null for an external one. */
static int create_json(yajl_gen g, const vd_compose *c, bool network, size_t i, bool external,
		       vd_error *err)
{
	vd_buf body = VD_BUF_INIT;
	yajl_val v = NULL;
	int r = 0;

	vd_jgen_str(g, "create");
	if (external) {
		yajl_gen_null(g);
		return 0;
	}
	r = resource_body(c, network, i, &body, err);
	if (!r && !(v = vd_json_parse(vd_buf_cstr(&body), err)))
		r = err->code;
	if (!r)
		vd_jgen_value(g, v);
	yajl_tree_free(v);
	vd_buf_release(&body);
	return r;
}

static int resources_json(yajl_gen g, const vd_compose *c, vd_error *err)
{
	size_t i, j;
	int r = 0;

	vd_jgen_str(g, "networks");
	yajl_gen_array_open(g);
	for (i = 0; i < c->n_networks && !r; i++) {
		const vd_compose_network *n = &c->networks[i];

		yajl_gen_map_open(g);
		vd_jgen_kstr(g, "network", n->key);
		vd_jgen_kstr(g, "name", n->name);
		vd_jgen_kstr(g, "driver", n->driver ? n->driver : n->external ? NULL : "bridge");
		vd_jgen_kbool(g, "external", n->external);
		vd_jgen_kbool(g, "internal", n->internal);
		vd_jgen_kbool(g, "attachable", n->attachable);
		vd_jgen_kbool(g, "used", vd_spec_network_used(c, n->key));
		vd_jgen_str(g, "ipam");
		yajl_gen_map_open(g);
		vd_jgen_kstr(g, "driver", n->ipam_driver);
		vd_jgen_str(g, "config");
		yajl_gen_array_open(g);
		for (j = 0; j < n->n_ipam_config; j++) {
			yajl_gen_map_open(g);
			vd_jgen_kstr(g, "subnet", n->ipam_config[j].subnet);
			vd_jgen_kstr(g, "gateway", n->ipam_config[j].gateway);
			vd_jgen_kstr(g, "ip_range", n->ipam_config[j].ip_range);
			yajl_gen_map_close(g);
		}
		yajl_gen_array_close(g);
		yajl_gen_map_close(g);
		vd_jgen_kkvs(g, "labels", &n->labels);
		r = create_json(g, c, true, i, n->external, err);
		yajl_gen_map_close(g);
	}
	yajl_gen_array_close(g);
	vd_jgen_str(g, "volumes");
	yajl_gen_array_open(g);
	for (i = 0; i < c->n_volumes && !r; i++) {
		const vd_compose_volume *v = &c->volumes[i];

		yajl_gen_map_open(g);
		vd_jgen_kstr(g, "volume", v->key);
		vd_jgen_kstr(g, "name", v->name);
		vd_jgen_kstr(g, "driver", v->driver ? v->driver : v->external ? NULL : "local");
		vd_jgen_kbool(g, "external", v->external);
		vd_jgen_kbool(g, "used", vd_spec_volume_used(c, v->key));
		vd_jgen_kkvs(g, "labels", &v->labels);
		r = create_json(g, c, false, i, v->external, err);
		yajl_gen_map_close(g);
	}
	yajl_gen_array_close(g);
	vd_jgen_str(g, "secrets");
	yajl_gen_array_open(g);
	for (i = 0; i < c->n_secrets; i++) {
		size_t k;

		yajl_gen_map_open(g);
		vd_jgen_kstr(g, "secret", c->secrets[i].key);
		vd_jgen_kstr(g, "file", c->secrets[i].file);
		vd_jgen_str(g, "services");
		yajl_gen_array_open(g);
		for (j = 0; j < c->n_services; j++)
			for (k = 0; k < c->services[j].n_secrets; k++)
				if (!strcmp(c->services[j].secrets[k].source, c->secrets[i].key)) {
					yajl_gen_map_open(g);
					vd_jgen_kstr(g, "service", c->services[j].name);
					vd_jgen_kstr(g, "target", c->services[j].secrets[k].target);
					yajl_gen_map_close(g);
				}
		yajl_gen_array_close(g);
		yajl_gen_map_close(g);
	}
	yajl_gen_array_close(g);
	return r;
}

static void print_labels(vd_cli *cli, const vd_kvs *labels)
{
	size_t i;

	for (i = 0; i < labels->len; i++)
		vd_print(cli->out, "    %s %s=%s\n", i ? "            " : "labels      ",
			 labels->items[i].key, labels->items[i].value);
}

static int print_create(vd_cli *cli, const vd_compose *c, bool network, size_t i, bool external,
			vd_error *err)
{
	vd_buf body = VD_BUF_INIT;
	int r = 0;

	if (external) {
		vd_print(cli->out, "    create       (external: never created, must exist)\n");
		return 0;
	}
	r = resource_body(c, network, i, &body, err);
	if (!r) {
		vd_print(cli->out, "    create       ");
		vd_print_text(cli->out, vd_buf_cstr(&body));
		vd_print(cli->out, "\n");
	}
	vd_buf_release(&body);
	return r;
}

static int print_resources(vd_cli *cli, const vd_compose *c, vd_error *err)
{
	size_t i, j;
	int r = 0;

	vd_print(cli->out, "\nnetworks\n");
	for (i = 0; i < c->n_networks && !r; i++) {
		const vd_compose_network *n = &c->networks[i];

		vd_print(cli->out, "  %s\n    name         %s%s%s\n", n->key, n->name,
			 n->external ? " (external)" : "",
			 vd_spec_network_used(c, n->key) ? "" : " (no service uses it: not created)");
		if (!n->external)
			vd_print(cli->out, "    driver       %s%s%s\n", n->driver ? n->driver : "bridge",
				 n->internal ? ", internal" : "", n->attachable ? ", attachable" : "");
		for (j = 0; j < n->n_ipam_config; j++)
			vd_print(cli->out, "    %s %s%s%s%s%s\n", j ? "            " : "subnet      ",
				 n->ipam_config[j].subnet ? n->ipam_config[j].subnet : "(any)",
				 n->ipam_config[j].gateway ? ", gateway " : "",
				 n->ipam_config[j].gateway ? n->ipam_config[j].gateway : "",
				 n->ipam_config[j].ip_range ? ", ip_range " : "",
				 n->ipam_config[j].ip_range ? n->ipam_config[j].ip_range : "");
		print_labels(cli, &n->labels);
		r = print_create(cli, c, true, i, n->external, err);
	}
	vd_print(cli->out, "\nvolumes\n");
	if (!c->n_volumes)
		vd_print(cli->out, "  (none)\n");
	for (i = 0; i < c->n_volumes && !r; i++) {
		const vd_compose_volume *v = &c->volumes[i];

		vd_print(cli->out, "  %s\n    name         %s%s%s\n", v->key, v->name,
			 v->external ? " (external)" : "",
			 vd_spec_volume_used(c, v->key) ? "" : " (no service uses it: not created)");
		if (!v->external)
			vd_print(cli->out, "    driver       %s\n", v->driver ? v->driver : "local");
		print_labels(cli, &v->labels);
		r = print_create(cli, c, false, i, v->external, err);
	}
	if (c->n_secrets)
		vd_print(cli->out, "\nsecrets\n");
	for (i = 0; i < c->n_secrets; i++) {
		vd_print(cli->out, "  %s\n    file         %s\n", c->secrets[i].key, c->secrets[i].file);
		for (j = 0; j < c->n_services; j++) {
			const vd_compose_service *s = &c->services[j];
			size_t k;

			for (k = 0; k < s->n_secrets; k++)
				if (!strcmp(s->secrets[k].source, c->secrets[i].key))
					vd_print(cli->out, "    mounted      %s:%s (read-only)\n", s->name,
						 s->secrets[k].target);
		}
	}
	return r;
}

static int print_json(vd_cli *cli, const vd_project *proj, const vd_config_bundle *b,
		      const vd_probe_list *probes, vd_error *err)
{
	vd_buf cfg = VD_BUF_INIT;
	yajl_gen g = vd_jgen_new();
	yajl_val cv = NULL;
	size_t i;
	int r = 0;

	if (vd_config_json(b->config, &cfg) || !(cv = vd_json_parse(vd_buf_cstr(&cfg), err))) {
		r = vd_error_set(err, VD_ENOMEM, "out of memory");
		goto done;
	}
	yajl_gen_map_open(g);
	vd_jgen_kstr(g, "project", proj->name);
	vd_jgen_str(g, "config");
	vd_jgen_value(g, cv);
	vd_jgen_kstr(g, "app_service", vd_config_app_service(b->config, b->model));
	vd_jgen_str(g, "probes");
	yajl_gen_array_open(g);
	for (i = 0; i < probes->len; i++) {
		char target[512];

		vd_probe_target(&probes->items[i], target, sizeof(target));
		yajl_gen_map_open(g);
		vd_jgen_kstr(g, "service", probes->items[i].service);
		vd_jgen_kstr(g, "probe", vd_probe_name(&probes->items[i]));
		vd_jgen_kstr(g, "kind", vd_probe_kind_name(probes->items[i].kind));
		vd_jgen_kstr(g, "target", target);
		yajl_gen_map_close(g);
	}
	yajl_gen_array_close(g);
	vd_jgen_str(g, "services");
	yajl_gen_array_open(g);
	for (i = 0; i < b->model->n_services && !r; i++) {
		const vd_compose_service *s = vd_compose_ordered(b->model, i);
		char *image = vd_spec_image_ref(b->model, s), *name = vd_spec_container_name(b->model, s);
		vd_buf body = VD_BUF_INIT;

		yajl_gen_map_open(g);
		vd_jgen_kstr(g, "service", s->name);
		vd_jgen_kstr(g, "image", image);
		vd_jgen_kbool(g, "built", s->build != NULL);
		vd_jgen_kstr(g, "container_name", name);
		vd_jgen_kstr(g, "order", vd_config_order_name(vd_config_service_order(b->config, s->name)));
		vd_jgen_kint(g, "stop_grace_ms", (long long)vd_config_stop_grace_ms(b->config, s));
		vd_jgen_str(g, "create");
		r = service_body(b, s, &body, err);
		if (!r)
			r = masked_body(vd_buf_cstr(&body), g, err);
		if (r)
			vd_error_prefix(err, "service %s", s->name);
		yajl_gen_map_close(g);
		vd_buf_release(&body);
		free(image);
		free(name);
	}
	yajl_gen_array_close(g);
	if (!r)
		r = resources_json(g, b->model, err);
	yajl_gen_map_close(g);
	if (!r) {
		vd_cli_print_json(cli, g);
		g = NULL;
	}
done:
	if (g)
		yajl_gen_free(g);
	if (cv)
		yajl_tree_free(cv);
	vd_buf_release(&cfg);
	return r;
}

static void print_list(vd_cli *cli, const char *label, const vd_rules *rules, vd_tier t, bool replaced)
{
	size_t i;

	vd_print(cli->out, "  %-14s", label);
	for (i = 0; i < vd_rules_count(rules, t); i++)
		vd_print(cli->out, " %s", vd_rules_pattern(rules, t, i));
	vd_print(cli->out, "%s\n", replaced ? "   (voxdeploy.yml)" : "   (default)");
}

static int print_human(vd_cli *cli, const vd_project *proj, const vd_config_bundle *b,
		       const vd_probe_list *probes, vd_error *err)
{
	const vd_config *c = b->config;
	const char *app = vd_config_app_service(c, b->model);
	char d1[32], d2[32], d3[32];
	size_t i, j;
	int r = 0;

	vd_print(cli->out, "project        %s (%s)\n", proj->name, proj->dir);
	vd_print(cli->out, "voxdeploy.yml  %s\n", c->file ? c->file : "(none: every setting is its default)");
	vd_print(cli->out, "\nrules\n");
	print_list(cli, "full_restart", c->rules, VD_TIER_FULL_RESTART, c->rules_overridden[VD_TIER_FULL_RESTART]);
	print_list(cli, "app_only", c->rules, VD_TIER_APP_ONLY, c->rules_overridden[VD_TIER_APP_ONLY]);
	print_list(cli, "no_restart", c->rules, VD_TIER_NO_RESTART, c->rules_overridden[VD_TIER_NO_RESTART]);
	vd_print(cli->out, "  %-14s %s\n", "unmatched", vd_tier_config_name(vd_rules_fallback(c->rules)));
	vd_print(cli->out, "  %-14s %s\n", "image_aware", c->image_aware ? "true" : "false");
	vd_print(cli->out, "\napp_service    %s%s\n", app ? app : "(none could be told)",
		 c->app_service ? "" : " (default rule)");

	fmt_ms(c->health.deadline_ms, d1);
	fmt_ms(c->health.stable_for_ms, d2);
	fmt_ms(c->health.fast_check_ms, d3);
	vd_print(cli->out, "\nhealth\n  deadline %s, stable_for %s, fast_check %s, container probes %s%s\n",
		 d1, d2, c->health.fast_check_ms ? d3 : "off", c->health.containers ? "on" : "off",
		 c->health.section ? "" : " (no health section: derived probes)");
	vd_print(cli->out, "  %-14s %-12s %-10s %s\n", "SERVICE", "PROBE", "KIND", "TARGET");
	for (i = 0; i < probes->len; i++) {
		char target[512];

		vd_probe_target(&probes->items[i], target, sizeof(target));
		vd_print(cli->out, "  %-14s %-12s %-10s %s\n",
			 probes->items[i].service ? probes->items[i].service : "-",
			 vd_probe_name(&probes->items[i]), vd_probe_kind_name(probes->items[i].kind), target);
	}

	vd_print(cli->out, "\ndeploy\n");
	if (c->deploy.stop_grace_set) {
		fmt_ms(c->deploy.stop_grace_ms, d1);
		vd_print(cli->out, "  stop_grace     %s\n", d1);
	} else {
		vd_print(cli->out, "  stop_grace     each service's stop_grace_period, else 10s\n");
	}
	vd_print(cli->out, "  retain_images  %lld\n", (long long)c->deploy.retain_images);
	vd_print(cli->out, "  compose_hash   %s\n", c->deploy.compose_hash == 1 ? "1.29" : "v2");

	fmt_ms(c->notify.timeout_ms, d1);
	vd_print(cli->out, "\nnotify\n  on_success %s, timeout %s\n", c->notify.on_success ? "true" : "false", d1);
	for (i = 0; i < c->notify.n_webhook; i++) {
		vd_buf u = VD_BUF_INIT;

		vd_config_mask_url(c->notify.webhook[i].url, &u);
		vd_print(cli->out, "  webhook        %s", vd_buf_cstr(&u));
		for (j = 0; j < c->notify.webhook[i].n_headers; j++)
			vd_print(cli->out, "  %s: ***", c->notify.webhook[i].headers[j].key);
		vd_print(cli->out, "\n");
		vd_buf_release(&u);
	}
	for (i = 0; i < c->notify.n_telegram; i++) {
		vd_buf u = VD_BUF_INIT;

		vd_config_mask_url(c->notify.telegram[i].api_base, &u);
		vd_print(cli->out, "  telegram       chat %s, token ***, api %s\n", c->notify.telegram[i].chat_id,
			 vd_buf_cstr(&u));
		vd_buf_release(&u);
	}
	if (!c->notify.n_webhook && !c->notify.n_telegram)
		vd_print(cli->out, "  (no channels)\n");
	fmt_ms(c->serve.report_ttl_ms, d1);
	vd_print(cli->out, "\nserve\n  report_ttl     %s\n", d1);

	vd_print(cli->out, "\nservices (dependency order)\n");
	for (i = 0; i < b->model->n_services && !r; i++) {
		const vd_compose_service *s = vd_compose_ordered(b->model, i);
		char *image = vd_spec_image_ref(b->model, s), *name = vd_spec_container_name(b->model, s);
		vd_buf body = VD_BUF_INIT, masked = VD_BUF_INIT;
		vd_kvs env = { NULL, 0 };
		yajl_gen g = vd_jgen_new();

		fmt_ms(vd_config_stop_grace_ms(c, s), d1);
		vd_print(cli->out, "  %s\n    image        %s%s\n    container    %s\n"
			 "    update       %s, stop grace %s\n", s->name, image ? image : "?",
			 s->build ? " (built)" : "", name ? name : "?",
			 vd_config_order_name(vd_config_service_order(c, s->name)), d1);
		r = vd_compose_service_env(s, vd_env_lookup_process_then, (void *)&b->dotenv, &env, err);
		for (j = 0; !r && j < env.len; j++)
			vd_print(cli->out, "    %s %s=***\n", j ? "            " : "environment ", env.items[j].key);
		for (j = 0; !r && j < s->n_ports; j++)
			vd_print(cli->out, "    %s %s%s%u->%u/%s\n", j ? "            " : "ports       ",
				 s->ports[j].host_ip ? s->ports[j].host_ip : "",
				 s->ports[j].host_ip ? ":" : "", (unsigned)s->ports[j].published,
				 (unsigned)s->ports[j].target, s->ports[j].protocol ? s->ports[j].protocol : "tcp");
		if (!r)
			r = service_body(b, s, &body, err);
		if (!r)
			r = masked_body(vd_buf_cstr(&body), g, err);
		if (!r) {
			vd_jgen_finish(g, &masked);
			g = NULL;
			vd_print(cli->out, "    create       ");
			vd_print_text(cli->out, vd_buf_cstr(&masked));
			vd_print(cli->out, "\n");
		} else {
			vd_error_prefix(err, "service %s", s->name);
		}
		if (g)
			yajl_gen_free(g);
		vd_kvs_release(&env);
		vd_buf_release(&body);
		vd_buf_release(&masked);
		free(image);
		free(name);
	}
	if (!r)
		r = print_resources(cli, b->model, err);
	return r;
}

int vd_cmd_config(vd_cli *cli)
{
	vd_error err = VD_ERROR_INIT;
	vd_project proj = { NULL, NULL, 0, NULL };
	vd_config_bundle b = VD_CONFIG_BUNDLE_INIT;
	vd_probe_list probes = VD_PROBES_INIT;
	int rc = VD_EXIT_OK;

	if (vd_cli_wants_help(cli)) {
		usage(cli->out);
		return VD_EXIT_OK;
	}
	if (vd_cli_args(cli, NULL, &err))
		goto fail;
	if (vd_project_resolve(cli->dir, cli->compose_files, cli->n_compose_files, cli->project,
			       &proj, &err) ||
	    vd_config_bundle_load(&proj, &b, &err))
		goto fail;
	if (!b.model) {
		vd_error_set(&err, VD_EINVAL, "no compose file in %s (give -f FILE)", proj.dir);
		goto fail;
	}
	if (vd_probe_list_build(b.config, b.model, NULL, vd_env_lookup_process_then, &b.dotenv, &probes, &err))
		goto fail;
	if (cli->json ? print_json(cli, &proj, &b, &probes, &err) : print_human(cli, &proj, &b, &probes, &err))
		goto fail;
	goto done;
fail:
	rc = vd_cli_fail(cli, &err);
done:
	vd_probe_list_release(&probes);
	vd_config_bundle_release(&b);
	vd_project_release(&proj);
	vd_error_release(&err);
	return rc;
}
