#include "docker_api/container.h"
#include "common/log.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static void summary_release(void *item)
{
	vd_container_summary *s = item;

	free(s->id);
	free(s->name);
	free(s->image);
	free(s->image_id);
	free(s->state);
	free(s->status);
	vd_kvs_release(&s->labels);
}

static int summary_parse(yajl_val v, void *item)
{
	vd_container_summary *s = item;
	yajl_val names = vd_json_get(v, "Names");
	const char *name = YAJL_IS_STRING(vd_json_idx(names, 0)) ? vd_json_idx(names, 0)->u.string : NULL;

	memset(s, 0, sizeof(*s));
	if (!vd_json_str(v, "Id"))
		return VD_EPROTO;
	s->id = strdup(vd_json_str(v, "Id"));
	s->name = dup_or_null(name ? name + (name[0] == '/') : "");
	s->image = dup_or_null(vd_json_str(v, "Image") ? vd_json_str(v, "Image") : "");
	s->image_id = dup_or_null(vd_json_str(v, "ImageID") ? vd_json_str(v, "ImageID") : "");
	s->state = dup_or_null(vd_json_str(v, "State") ? vd_json_str(v, "State") : "");
	s->status = dup_or_null(vd_json_str(v, "Status") ? vd_json_str(v, "Status") : "");
	s->created = vd_json_int(v, "Created", 0);
	if (!s->id || !s->name || !s->image || !s->image_id || !s->state || !s->status ||
	    vd_kvs_from_json(vd_json_get(v, "Labels"), &s->labels))
		return VD_ENOMEM;  /* the list releases what was filled */
	return 0;
}

int vd_container_list_parse(const char *json, vd_container_array *out, vd_error *err)
{
	void *items = NULL;
	int r = vd_docker_parse_list(json, NULL, "container list", sizeof(vd_container_summary),
				     summary_parse, summary_release, &items, &out->len, err);

	if (!r)
		out->items = items;
	return r;
}

void vd_container_array_release(vd_container_array *list)
{
	if (!list)
		return;
	vd_docker_free_list(list->items, list->len, sizeof(*list->items), summary_release);
	list->items = NULL;
	list->len = 0;
}

int vd_container_list(vd_docker *d, bool all, const char *const *filter_pairs,
		      vd_container_array *out, vd_error *err)
{
	void *items = NULL;
	int r = vd_docker_get_list(d, "/containers/json", all ? "all=1" : "all=0", filter_pairs, NULL,
				   "container list", sizeof(vd_container_summary), summary_parse,
				   summary_release, &items, &out->len, err);

	if (r)
		return vd_error_prefix(err, "list containers");
	out->items = items;
	return 0;
}

const char *vd_container_summary_health(const vd_container_summary *s)
{
	/* the engine's wording: " (healthy)", " (unhealthy)", " (health: starting)" */
	if (strstr(s->status, "(healthy)"))
		return "healthy";
	if (strstr(s->status, "(unhealthy)"))
		return "unhealthy";
	if (strstr(s->status, "(health: starting)"))
		return "starting";
	return NULL;
}

void vd_container_summary_uptime(const vd_container_summary *s, char *out, size_t size)
{
	size_t n;

	if (!size)
		return;
	out[0] = '\0';
	if (strncmp(s->status, "Up ", 3))
		return;
	n = strcspn(s->status + 3, "(");
	while (n && s->status[3 + n - 1] == ' ')
		n--;
	snprintf(out, size, "%.*s", (int)n, s->status + 3);
}

int vd_container_name_filter(vd_buf *out, const char *name)
{
	const char *p;
	int r = vd_buf_puts(out, "^/");

	for (p = name; !r && *p; p++) {
		if (strchr(".^$*+?()[]{}|\\", *p))
			r = vd_buf_putc(out, '\\');
		if (!r)
			r = vd_buf_putc(out, *p);
	}
	if (!r)
		r = vd_buf_putc(out, '$');
	return r;
}

static void endpoints_release(vd_container_info *info)
{
	size_t i, j;

	for (i = 0; i < info->n_endpoints; i++) {
		vd_endpoint *e = &info->endpoints[i];

		free(e->network);
		free(e->network_id);
		free(e->ip);
		for (j = 0; j < e->n_aliases; j++)
			free(e->aliases[j]);
		free(e->aliases);
	}
	free(info->endpoints);
	info->endpoints = NULL;
	info->n_endpoints = 0;
}

static int endpoints_parse(yajl_val nets, const char *id, vd_container_info *info)
{
	size_t i, j, n;

	if (!nets || !YAJL_IS_OBJECT(nets))
		return 0;
	n = nets->u.object.len;
	info->endpoints = calloc(n ? n : 1, sizeof(*info->endpoints));
	if (!info->endpoints)
		return VD_ENOMEM;
	for (i = 0; i < n; i++) {
		yajl_val ep = nets->u.object.values[i];
		yajl_val aliases = vd_json_get(ep, "Aliases");
		vd_endpoint *e = &info->endpoints[info->n_endpoints++];

		e->network = strdup(nets->u.object.keys[i]);
		e->network_id = strdup(vd_json_str(ep, "NetworkID") ? vd_json_str(ep, "NetworkID") : "");
		e->ip = strdup(vd_json_str(ep, "IPAddress") ? vd_json_str(ep, "IPAddress") : "");
		if (!e->network || !e->network_id || !e->ip)
			return VD_ENOMEM;
		e->aliases = calloc(vd_json_len(aliases) + 1, sizeof(char *));
		if (!e->aliases)
			return VD_ENOMEM;
		for (j = 0; j < vd_json_len(aliases); j++) {
			yajl_val a = vd_json_idx(aliases, j);

			if (!YAJL_IS_STRING(a))
				continue;
			/* API < 1.44 adds the short id as an alias of its own;
			 * it is the engine's, not the user's: drop it */
			if (id && strlen(a->u.string) == 12 && !strncmp(a->u.string, id, 12))
				continue;
			if (!(e->aliases[e->n_aliases] = strdup(a->u.string)))
				return VD_ENOMEM;
			e->n_aliases++;
		}
	}
	return 0;
}

static char *last_line(const char *s)
{
	size_t len;
	const char *start;

	if (!s)
		return NULL;
	len = strlen(s);
	while (len && (s[len - 1] == '\n' || s[len - 1] == '\r'))
		len--;
	start = s + len;
	while (start > s && start[-1] != '\n')
		start--;
	return strndup(start, (size_t)(s + len - start));
}

int vd_container_info_parse(const char *json, vd_container_info *out, vd_error *err)
{
	vd_container_info info;
	yajl_val v, state, health, log;
	const char *name;
	int r = VD_ENOMEM;

	memset(&info, 0, sizeof(info));
	v = vd_json_parse(json, err);
	if (!v)
		return vd_error_prefix(err, "container inspect");
	info.raw = v;
	if (!vd_json_str(v, "Id") || !YAJL_IS_OBJECT(vd_json_get(v, "State"))) {
		r = vd_error_set(err, VD_EPROTO, "container inspect: no Id or State in the answer");
		goto fail;
	}
	state = vd_json_get(v, "State");
	name = vd_json_str(v, "Name") ? vd_json_str(v, "Name") : "";
	info.id = strdup(vd_json_str(v, "Id"));
	info.name = strdup(name + (name[0] == '/'));
	info.image_id = dup_or_null(vd_json_str(v, "Image") ? vd_json_str(v, "Image") : "");
	info.config_image = dup_or_null(vd_json_str(vd_json_get(v, "Config"), "Image") ?
					vd_json_str(vd_json_get(v, "Config"), "Image") : "");
	info.status = dup_or_null(vd_json_str(state, "Status") ? vd_json_str(state, "Status") : "");
	if (!info.id || !info.name || !info.image_id || !info.config_image || !info.status)
		goto fail;
	info.running = vd_json_bool(state, "Running", false);
	info.restarting = vd_json_bool(state, "Restarting", false);
	info.paused = vd_json_bool(state, "Paused", false);
	info.oom_killed = vd_json_bool(state, "OOMKilled", false);
	info.dead = vd_json_bool(state, "Dead", false);
	info.exit_code = vd_json_int(state, "ExitCode", 0);
	info.pid = vd_json_int(state, "Pid", 0);
	info.restart_count = vd_json_int(v, "RestartCount", 0);
	info.started_at = dup_or_null(vd_json_str(state, "StartedAt"));
	info.finished_at = dup_or_null(vd_json_str(state, "FinishedAt"));
	if (vd_json_str(state, "Error") && *vd_json_str(state, "Error"))
		info.error = strdup(vd_json_str(state, "Error"));
	health = vd_json_get(state, "Health");
	if (health && YAJL_IS_OBJECT(health) && vd_json_str(health, "Status")) {
		info.health = strdup(vd_json_str(health, "Status"));
		info.failing_streak = vd_json_int(health, "FailingStreak", 0);
		log = vd_json_get(health, "Log");
		if (vd_json_len(log))
			info.health_output = last_line(vd_json_str(vd_json_idx(log, vd_json_len(log) - 1),
								   "Output"));
	}
	info.tty = vd_json_bool(vd_json_get(v, "Config"), "Tty", false);
	if (vd_kvs_from_json(vd_json_at(v, "Config", "Labels", NULL), &info.labels) ||
	    endpoints_parse(vd_json_at(v, "NetworkSettings", "Networks", NULL), info.id, &info))
		goto fail;
	*out = info;
	return 0;
fail:
	if (r == VD_ENOMEM)
		vd_error_set(err, r, "out of memory");
	vd_container_info_release(&info);
	return r;
}

void vd_container_info_release(vd_container_info *info)
{
	if (!info)
		return;
	free(info->id);
	free(info->name);
	free(info->image_id);
	free(info->config_image);
	free(info->status);
	free(info->started_at);
	free(info->finished_at);
	free(info->error);
	free(info->health);
	free(info->health_output);
	vd_kvs_release(&info->labels);
	endpoints_release(info);
	yajl_tree_free(info->raw);
	memset(info, 0, sizeof(*info));
}

static bool looks_like_id(const char *ref)
{
	return strspn(ref, "0123456789abcdef") == strlen(ref);
}

int vd_container_inspect(vd_docker *d, const char *ref, vd_container_info *out, vd_error *err)
{
	vd_buf path = VD_BUF_INIT, body = VD_BUF_INIT;
	vd_container_info info;
	int r;

	memset(&info, 0, sizeof(info));
	if (vd_docker_path(&path, "/containers/", ref, "/json")) {
		r = vd_error_set(err, VD_ENOMEM, "out of memory");
		goto done;
	}
	r = vd_docker_get(d, vd_buf_cstr(&path), NULL, &body, err);
	if (!r)
		r = vd_container_info_parse(vd_buf_cstr(&body), &info, err);
	if (r)
		goto done;
	/* the engine resolves id prefixes too: "app" may have matched an id
	 * beginning with "a..." only if it is hex, but a name must be exact */
	if (!looks_like_id(ref) && strcmp(info.name, ref[0] == '/' ? ref + 1 : ref)) {
		r = vd_error_set(err, VD_ENOTFOUND, "No such container: %s", ref);
		vd_container_info_release(&info);
		goto done;
	}
	*out = info;
done:
	if (r)
		vd_error_prefix(err, "inspect container %s", ref);
	vd_buf_release(&path);
	vd_buf_release(&body);
	return r;
}

/* --- create ------------------------------------------------------------ */

/* Emit object v without the members named in skip (NULL-terminated),
 * leaving it open so the caller can add members and close it. */
static void gen_open_object_without(yajl_gen g, yajl_val v, const char *const *skip)
{
	size_t i, k;

	yajl_gen_map_open(g);
	for (i = 0; v && YAJL_IS_OBJECT(v) && i < v->u.object.len; i++) {
		bool drop = false;

		for (k = 0; skip[k]; k++)
			if (!strcmp(v->u.object.keys[i], skip[k]))
				drop = true;
		if (drop)
			continue;
		vd_jgen_str(g, v->u.object.keys[i]);
		vd_jgen_value(g, v->u.object.values[i]);
	}
}

/* Which endpoint is created with the container: the one NetworkMode names,
 * else the first. */
static size_t primary_endpoint(yajl_val body, yajl_val eps)
{
	const char *mode = vd_json_str(vd_json_get(body, "HostConfig"), "NetworkMode");
	size_t i;

	for (i = 0; mode && i < eps->u.object.len; i++)
		if (!strcmp(eps->u.object.keys[i], mode))
			return i;
	return 0;
}

int vd_container_create_body(const char *body, bool multi_ok, vd_buf *create_out,
			     vd_buf *connects_out, vd_error *err)
{
	static const char *const skip_top[] = { "NetworkingConfig", "MacAddress", "Platform", NULL };
	static const char *const skip_mac[] = { "MacAddress", NULL };
	yajl_val v = vd_json_parse(body, err), eps;
	yajl_gen g = NULL, c = NULL;
	const char *top_mac, *ep_mac = NULL;
	size_t i, prim = 0, n;
	int r = 0;

	if (!v)
		return vd_error_prefix(err, "create body");
	if (!YAJL_IS_OBJECT(v)) {
		r = vd_error_set(err, VD_EINVAL, "create body: expected an object");
		goto done;
	}
	eps = vd_json_at(v, "NetworkingConfig", "EndpointsConfig", NULL);
	n = eps && YAJL_IS_OBJECT(eps) ? eps->u.object.len : 0;
	top_mac = vd_json_str(v, "MacAddress");
	if (n) {
		prim = primary_endpoint(v, eps);
		ep_mac = vd_json_str(eps->u.object.values[prim], "MacAddress");
	}
	g = vd_jgen_new();
	c = vd_jgen_new();
	if (!g || !c) {
		r = vd_error_set(err, VD_ENOMEM, "out of memory");
		goto done;
	}
	gen_open_object_without(g, v, skip_top);
	/* one MAC per container below 1.44 (Config.MacAddress); per endpoint from 1.44 */
	if (!multi_ok && (ep_mac || top_mac))
		vd_jgen_kstr(g, "MacAddress", ep_mac ? ep_mac : top_mac);
	yajl_gen_array_open(c);
	if (n) {
		vd_jgen_str(g, "NetworkingConfig");
		yajl_gen_map_open(g);
		vd_jgen_str(g, "EndpointsConfig");
		yajl_gen_map_open(g);
		for (i = 0; i < n; i++) {
			yajl_val ep = eps->u.object.values[i];

			if (!multi_ok && i != prim) {
				yajl_gen_map_open(c);
				vd_jgen_kstr(c, "Network", eps->u.object.keys[i]);
				vd_jgen_str(c, "EndpointConfig");
				gen_open_object_without(c, ep, skip_mac);
				yajl_gen_map_close(c);
				yajl_gen_map_close(c);
				continue;
			}
			vd_jgen_str(g, eps->u.object.keys[i]);
			gen_open_object_without(g, ep, skip_mac);
			if (multi_ok) {
				const char *mac = vd_json_str(ep, "MacAddress");

				if (!mac && i == prim)
					mac = top_mac;
				if (mac)
					vd_jgen_kstr(g, "MacAddress", mac);
			}
			yajl_gen_map_close(g);
		}
		yajl_gen_map_close(g);
		yajl_gen_map_close(g);
	} else if (multi_ok && top_mac) {
		/* a MAC with no endpoint: keep it where the engine still reads it */
		vd_jgen_kstr(g, "MacAddress", top_mac);
	}
	yajl_gen_map_close(g);
	yajl_gen_array_close(c);
	r = vd_jgen_finish(g, create_out);
	g = NULL;
	if (!r)
		r = vd_jgen_finish(c, connects_out);
	c = NULL;
	if (r)
		r = vd_error_set(err, VD_ENOMEM, "create body: cannot generate JSON");
done:
	if (g)
		yajl_gen_free(g);
	if (c)
		yajl_gen_free(c);
	yajl_tree_free(v);
	return r;
}

static int connect_after_create(vd_docker *d, const char *id, const char *connects, vd_error *err)
{
	yajl_val v = vd_json_parse(connects, err);
	size_t i;
	int r = 0;

	if (!v)
		return err->code;
	for (i = 0; !r && i < vd_json_len(v); i++) {
		yajl_val item = vd_json_idx(v, i);
		const char *net = vd_json_str(item, "Network");
		vd_buf path = VD_BUF_INIT, body = VD_BUF_INIT;
		yajl_gen g = vd_jgen_new();

		if (!g || !net) {
			r = vd_error_set(err, VD_ENOMEM, "out of memory");
			vd_buf_release(&path);
			if (g)
				yajl_gen_free(g);
			break;
		}
		yajl_gen_map_open(g);
		vd_jgen_kstr(g, "Container", id);
		vd_jgen_str(g, "EndpointConfig");
		vd_jgen_value(g, vd_json_get(item, "EndpointConfig"));
		yajl_gen_map_close(g);
		r = vd_jgen_finish(g, &body);
		if (!r)
			r = vd_docker_path(&path, "/networks/", net, "/connect");
		if (r)
			r = vd_error_set(err, VD_ENOMEM, "out of memory");
		else if ((r = vd_docker_post(d, vd_buf_cstr(&path), NULL, vd_buf_cstr(&body), NULL,
					     NULL, err)))
			vd_error_prefix(err, "connect to network %s", net);
		vd_buf_release(&path);
		vd_buf_release(&body);
	}
	yajl_tree_free(v);
	return r;
}

int vd_container_create(vd_docker *d, const char *name, const char *body,
			char **out_id, vd_error *err)
{
	vd_buf send = VD_BUF_INIT, connects = VD_BUF_INIT, query = VD_BUF_INIT, resp = VD_BUF_INIT;
	yajl_val v = NULL, warn;
	char *id = NULL;
	size_t i;
	int r;

	r = vd_docker_connect(d, err);
	if (r)
		goto done;
	r = vd_container_create_body(body, vd_docker_api_at_least(d, "1.44"), &send, &connects, err);
	if (r)
		goto done;
	if (name && vd_docker_query_add(&query, "name", name)) {
		r = vd_error_set(err, VD_ENOMEM, "out of memory");
		goto done;
	}
	if (strstr(body, "\"Platform\"")) {
		/* the platform goes in the query (docker create --platform) */
		if (!(v = vd_json_parse(body, err))) {
			r = err->code;
			goto done;
		}
		if (vd_json_str(v, "Platform") && vd_docker_query_add(&query, "platform", vd_json_str(v, "Platform"))) {
			r = vd_error_set(err, VD_ENOMEM, "out of memory");
			goto done;
		}
		yajl_tree_free(v);
		v = NULL;
	}
	vd_buf_init(&resp, 1 << 20);
	r = vd_docker_post(d, "/containers/create", vd_buf_cstr(&query), vd_buf_cstr(&send), &resp,
			   NULL, err);
	if (r)
		goto done;
	v = vd_json_parse(vd_buf_cstr(&resp), err);
	if (!v || !vd_json_str(v, "Id")) {
		r = v ? vd_error_set(err, VD_EPROTO, "the engine's answer has no Id") : err->code;
		goto done;
	}
	id = strdup(vd_json_str(v, "Id"));
	if (!id) {
		r = vd_error_set(err, VD_ENOMEM, "out of memory");
		goto done;
	}
	warn = vd_json_get(v, "Warnings");  /* null on most engines */
	for (i = 0; i < vd_json_len(warn); i++)
		if (YAJL_IS_STRING(vd_json_idx(warn, i)))
			vd_log_warn("create %s: %s", name ? name : id, vd_json_idx(warn, i)->u.string);
	r = connect_after_create(d, id, vd_buf_cstr(&connects), err);
	if (r) {
		/* half made is worse than not made: take it away again */
		vd_error cleanup = VD_ERROR_INIT;

		vd_container_remove(d, id, true, false, &cleanup);
		vd_error_release(&cleanup);
		goto done;
	}
	*out_id = id;
	id = NULL;
done:
	if (r)
		vd_error_prefix(err, "create container %s", name ? name : "");
	free(id);
	yajl_tree_free(v);
	vd_buf_release(&send);
	vd_buf_release(&connects);
	vd_buf_release(&query);
	vd_buf_release(&resp);
	return r;
}

/* --- lifecycle ----------------------------------------------------------- */

static int simple_post(vd_docker *d, const char *id, const char *action, const char *query,
		       long timeout_ms, vd_error *err)
{
	vd_buf path = VD_BUF_INIT;
	char suffix[32];
	vd_docker_req req = { .method = "POST", .query = query, .timeout_ms = timeout_ms };
	int r;

	snprintf(suffix, sizeof(suffix), "/%s", action);
	if (vd_docker_path(&path, "/containers/", id, suffix))
		return vd_error_set(err, VD_ENOMEM, "out of memory");
	req.path = vd_buf_cstr(&path);
	r = vd_docker_request(d, &req, NULL, err);
	if (r)
		vd_error_prefix(err, "%s container %s", action, id);
	vd_buf_release(&path);
	return r;
}

int vd_container_start(vd_docker *d, const char *id, vd_error *err)
{
	return simple_post(d, id, "start", NULL, 0, err);
}

struct start_all {
	vd_docker *d;
	const char *const *ids, *const *names;
	size_t n, next;
	pthread_mutex_t mu;
	int rc;
	vd_error err;
};

static void *start_worker(void *arg)
{
	struct start_all *a = arg;
	vd_error err = VD_ERROR_INIT;
	vd_docker *own = NULL;
	int rc = vd_docker_clone(a->d, &own, &err);

	for (;;) {
		size_t i;

		pthread_mutex_lock(&a->mu);
		i = a->next < a->n ? a->next++ : a->n;
		pthread_mutex_unlock(&a->mu);
		if (i == a->n)
			break;
		if (!rc && (rc = vd_container_start(own, a->ids[i], &err)))
			vd_error_prefix(&err, "start %s", a->names && a->names[i] ? a->names[i] : a->ids[i]);
		if (rc) {
			pthread_mutex_lock(&a->mu);
			if (!a->rc) {
				a->rc = rc;
				vd_error_set(&a->err, rc, "%s", vd_error_msg(&err));
			}
			pthread_mutex_unlock(&a->mu);
			vd_error_release(&err);
			rc = own ? 0 : rc;  /* the next one is tried all the same */
		}
	}
	vd_docker_free(own);
	vd_error_release(&err);
	return NULL;
}

int vd_container_start_all(vd_docker *d, const char *const *ids, const char *const *names, size_t n,
			   size_t parallel, vd_error *err)
{
	struct start_all a;
	pthread_t t[64];
	size_t i, k = 0;
	int rc;

	memset(&a, 0, sizeof(a));
	a.d = d;
	a.ids = ids;
	a.names = names;
	a.n = n;
	pthread_mutex_init(&a.mu, NULL);
	if (parallel > 64)
		parallel = 64;
	for (i = 0; i < parallel && i < n && n > 1; i++)
		if (!pthread_create(&t[k], NULL, start_worker, &a))
			k++;
	if (!k)
		start_worker(&a);
	for (i = 0; i < k; i++)
		pthread_join(t[i], NULL);
	pthread_mutex_destroy(&a.mu);
	rc = a.rc ? vd_error_set(err, a.rc, "%s", vd_error_msg(&a.err)) : 0;
	vd_error_release(&a.err);
	return rc;
}

/* stop and restart block until the container is down: wait the grace period
 * plus a margin for the engine itself.  A StopTimeout longer than 10 s is not
 * known here: without a grace period the bound is generous. */
static int stop_post(vd_docker *d, const char *id, const char *action, int timeout_s,
		     vd_error *err)
{
	char q[32] = "";

	if (timeout_s >= 0)
		snprintf(q, sizeof(q), "t=%d", timeout_s);
	return simple_post(d, id, action, q[0] ? q : NULL,
			   timeout_s < 0 ? 330000L : ((long)timeout_s + 30L) * 1000L, err);
}

int vd_container_stop(vd_docker *d, const char *id, int timeout_s, vd_error *err)
{
	return stop_post(d, id, "stop", timeout_s, err);
}

int vd_container_restart(vd_docker *d, const char *id, int timeout_s, vd_error *err)
{
	return stop_post(d, id, "restart", timeout_s, err);
}

int vd_container_kill(vd_docker *d, const char *id, const char *signal, vd_error *err)
{
	vd_buf q = VD_BUF_INIT;
	int r;

	if (signal && vd_docker_query_add(&q, "signal", signal))
		return vd_error_set(err, VD_ENOMEM, "out of memory");
	r = simple_post(d, id, "kill", q.len ? vd_buf_cstr(&q) : NULL, 0, err);
	vd_buf_release(&q);
	return r;
}

int vd_container_rename(vd_docker *d, const char *id, const char *new_name, vd_error *err)
{
	vd_buf q = VD_BUF_INIT;
	int r;

	if (vd_docker_query_add(&q, "name", new_name))
		return vd_error_set(err, VD_ENOMEM, "out of memory");
	r = simple_post(d, id, "rename", vd_buf_cstr(&q), 0, err);
	if (r)
		vd_error_prefix(err, "to %s", new_name);
	vd_buf_release(&q);
	return r;
}

int vd_container_remove(vd_docker *d, const char *id, bool force, bool remove_volumes,
			vd_error *err)
{
	vd_buf path = VD_BUF_INIT;
	char q[32];
	int r;

	snprintf(q, sizeof(q), "force=%d&v=%d", force ? 1 : 0, remove_volumes ? 1 : 0);
	if (vd_docker_path(&path, "/containers/", id, NULL))
		return vd_error_set(err, VD_ENOMEM, "out of memory");
	r = vd_docker_delete(d, vd_buf_cstr(&path), q, err);
	if (r)
		vd_error_prefix(err, "remove container %s", id);
	vd_buf_release(&path);
	return r;
}

int vd_container_wait(vd_docker *d, const char *id, const char *condition, long timeout_ms,
		      int64_t *exit_code, vd_error *err)
{
	vd_buf path = VD_BUF_INIT, q = VD_BUF_INIT, body = VD_BUF_INIT;
	vd_docker_req req = { .method = "POST", .timeout_ms = timeout_ms > 0 ? timeout_ms : 60000 };
	yajl_val v = NULL;
	const char *msg;
	int r;

	if (vd_docker_path(&path, "/containers/", id, "/wait") ||
	    vd_docker_query_add(&q, "condition", condition ? condition : "not-running")) {
		r = vd_error_set(err, VD_ENOMEM, "out of memory");
		goto done;
	}
	req.path = vd_buf_cstr(&path);
	req.query = vd_buf_cstr(&q);
	vd_buf_init(&body, 1 << 16);
	r = vd_docker_request(d, &req, &body, err);
	if (r)
		goto done;
	v = vd_json_parse(vd_buf_cstr(&body), err);
	if (!v) {
		r = err->code;
		goto done;
	}
	msg = vd_json_str(vd_json_get(v, "Error"), "Message");
	if (msg && *msg) {
		r = vd_error_set(err, VD_EAPI, "%s", msg);
		goto done;
	}
	if (exit_code)
		*exit_code = vd_json_int(v, "StatusCode", -1);
done:
	if (r)
		vd_error_prefix(err, "wait for container %s", id);
	yajl_tree_free(v);
	vd_buf_release(&path);
	vd_buf_release(&q);
	vd_buf_release(&body);
	return r;
}

/* --- stats --------------------------------------------------------------- */

static uint64_t u64(yajl_val v, const char *key)
{
	int64_t n = vd_json_int(v, key, 0);

	return n > 0 ? (uint64_t)n : 0;
}

/* Network and block I/O as docker stats sums them: every network; the
 * blkio entries whose op is read or write, in any case. */
static void io_sums(yajl_val v, vd_container_sample *s)
{
	yajl_val nets = vd_json_get(v, "networks");
	yajl_val blk = vd_json_at(v, "blkio_stats", "io_service_bytes_recursive", NULL);
	size_t i;

	for (i = 0; nets && YAJL_IS_OBJECT(nets) && i < nets->u.object.len; i++) {
		s->net_rx += u64(nets->u.object.values[i], "rx_bytes");
		s->net_tx += u64(nets->u.object.values[i], "tx_bytes");
	}
	for (i = 0; blk && YAJL_IS_ARRAY(blk) && i < blk->u.array.len; i++) {
		yajl_val e = blk->u.array.values[i];
		const char *op = vd_json_str(e, "op");

		if (op && !strcasecmp(op, "read"))
			s->blk_read += u64(e, "value");
		else if (op && !strcasecmp(op, "write"))
			s->blk_write += u64(e, "value");
	}
}

int vd_container_stats_parse(const char *json, vd_container_sample *out, vd_error *err)
{
	yajl_val v = vd_json_parse(json, err), cpu, mem, st;
	vd_container_sample s;

	if (!v)
		return vd_error_prefix(err, "container stats");
	memset(&s, 0, sizeof(s));
	cpu = vd_json_get(v, "cpu_stats");
	mem = vd_json_get(v, "memory_stats");
	s.cpu_total = u64(vd_json_get(cpu, "cpu_usage"), "total_usage");
	s.system_cpu = u64(cpu, "system_cpu_usage");
	s.online_cpus = u64(cpu, "online_cpus");
	if (!s.online_cpus)
		s.online_cpus = vd_json_len(vd_json_at(cpu, "cpu_usage", "percpu_usage", NULL));
	s.mem_usage = u64(mem, "usage");
	s.mem_limit = u64(mem, "limit");
	s.has_memory = vd_json_get(mem, "usage") != NULL;
	st = vd_json_get(mem, "stats");
	/* as docker stats: cgroup v1 has total_inactive_file (and an
	 * inactive_file of the cgroup alone), v2 only inactive_file */
	s.cgroup_v1 = vd_json_get(st, "total_inactive_file") != NULL;
	s.mem_total_inactive_file = u64(st, "total_inactive_file");
	s.mem_inactive_file = u64(st, "inactive_file");
	s.pids = u64(vd_json_get(v, "pids_stats"), "current");
	io_sums(v, &s);
	yajl_tree_free(v);
	*out = s;
	return 0;
}

/* go-units' CustomSize: divide while the size reaches the base. */
static void custom_size(double v, double base, const char *const *units, size_t n, int digits,
			char out[32])
{
	size_t i = 0;

	while (v >= base && i + 1 < n) {
		v /= base;
		i++;
	}
	snprintf(out, 32, "%.*g%s", digits, v, units[i]);
}

void vd_container_stats_binary(double bytes, char out[32])
{
	static const char *const u[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB" };

	custom_size(bytes, 1024.0, u, sizeof(u) / sizeof(u[0]), 4, out);
}

void vd_container_stats_decimal(double bytes, char out[32])
{
	static const char *const u[] = { "B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB" };

	custom_size(bytes, 1000.0, u, sizeof(u) / sizeof(u[0]), 3, out);
}

uint64_t vd_container_stats_mem_used(const vd_container_sample *s)
{
	/* docker's calculateMemUsageUnixNoCache */
	if (s->cgroup_v1 && s->mem_total_inactive_file < s->mem_usage)
		return s->mem_usage - s->mem_total_inactive_file;
	if (s->mem_inactive_file < s->mem_usage)
		return s->mem_usage - s->mem_inactive_file;
	return s->mem_usage;
}

double vd_container_stats_cpu_percent(const vd_container_sample *prev,
				      const vd_container_sample *cur)
{
	double dcpu, dsys;

	if (cur->cpu_total <= prev->cpu_total || cur->system_cpu <= prev->system_cpu)
		return 0.0;
	dcpu = (double)(cur->cpu_total - prev->cpu_total);
	dsys = (double)(cur->system_cpu - prev->system_cpu);
	return dcpu / dsys * (double)(cur->online_cpus ? cur->online_cpus : 1) * 100.0;
}

int vd_container_stats(vd_docker *d, const char *id, vd_container_sample *out, vd_error *err)
{
	vd_buf path = VD_BUF_INIT, body = VD_BUF_INIT;
	vd_docker_req req = { .method = "GET", .query = "stream=0&one-shot=1" };
	int r;

	if (vd_docker_path(&path, "/containers/", id, "/stats"))
		return vd_error_set(err, VD_ENOMEM, "out of memory");
	req.path = vd_buf_cstr(&path);
	vd_buf_init(&body, 1 << 20);
	r = vd_docker_request(d, &req, &body, err);
	if (!r)
		r = vd_container_stats_parse(vd_buf_cstr(&body), out, err);
	if (r)
		vd_error_prefix(err, "stats of container %s", id);
	vd_buf_release(&path);
	vd_buf_release(&body);
	return r;
}
