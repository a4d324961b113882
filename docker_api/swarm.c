#include "docker_api/swarm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A string somewhere under v (a NULL-terminated path), duplicated; NULL
 * when it is not there.  *oom set when the copy failed. */
static char *dup_at(yajl_val v, bool *oom, const char *k1, const char *k2, const char *k3,
		    const char *k4)
{
	yajl_val s = vd_json_at(v, k1, k2, k3, k4, NULL);
	char *out;

	if (!s || !YAJL_IS_STRING(s))
		return NULL;
	if (!(out = strdup(s->u.string)))
		*oom = true;
	return out;
}

static int64_t int_at(yajl_val v, int64_t dflt, const char *k1, const char *k2, const char *k3)
{
	yajl_val n = vd_json_at(v, k1, k2, k3, NULL);

	return n && YAJL_IS_INTEGER(n) ? YAJL_GET_INTEGER(n) : dflt;
}

static void copy_str(char *out, size_t size, yajl_val v, const char *k1, const char *k2)
{
	yajl_val s = vd_json_at(v, k1, k2, NULL);

	snprintf(out, size, "%s", s && YAJL_IS_STRING(s) ? s->u.string : "");
}

/* --- the swarm ------------------------------------------------------------ */

int vd_swarm_state_parse(const char *info_json, vd_swarm_state *out, vd_error *err)
{
	yajl_val v = vd_json_parse(info_json, err);
	yajl_val sw;

	memset(out, 0, sizeof(*out));
	if (!v)
		return vd_error_prefix(err, "engine info");
	sw = vd_json_get(v, "Swarm");
	if (!sw || !YAJL_IS_OBJECT(sw)) {
		/* an engine without swarm support says nothing: not in one */
		snprintf(out->node_state, sizeof(out->node_state), "inactive");
	} else {
		copy_str(out->node_state, sizeof(out->node_state), sw, "LocalNodeState", NULL);
		copy_str(out->node_id, sizeof(out->node_id), sw, "NodeID", NULL);
		copy_str(out->node_addr, sizeof(out->node_addr), sw, "NodeAddr", NULL);
		out->manager = vd_json_bool(sw, "ControlAvailable", false);
		out->nodes = vd_json_int(sw, "Nodes", 0);
		out->managers = vd_json_int(sw, "Managers", 0);
		if (!out->node_state[0])
			snprintf(out->node_state, sizeof(out->node_state), "inactive");
	}
	yajl_tree_free(v);
	return 0;
}

int vd_swarm_state_get(vd_docker *d, vd_swarm_state *out, vd_error *err)
{
	vd_buf body = VD_BUF_INIT;
	int r = vd_docker_get(d, "/info", NULL, &body, err);

	if (!r)
		r = vd_swarm_state_parse(vd_buf_cstr(&body), out, err);
	vd_buf_release(&body);
	return r ? vd_error_prefix(err, "swarm state") : 0;
}

static int post_json(vd_docker *d, const char *path, const char *query, yajl_gen g, vd_buf *answer,
		     vd_error *err)
{
	vd_buf body = VD_BUF_INIT;
	int r = vd_jgen_finish(g, &body);

	if (r)
		return vd_error_set(err, VD_ENOMEM, "out of memory");
	r = vd_docker_post(d, path, query, vd_buf_cstr(&body), answer, NULL, err);
	vd_buf_release(&body);
	return r;
}

int vd_swarm_init(vd_docker *d, const char *listen, const char *advertise, char **node_id,
		  vd_error *err)
{
	yajl_gen g = vd_jgen_new();
	vd_buf answer = VD_BUF_INIT;
	yajl_val v;
	int r;

	if (!g)
		return vd_error_set(err, VD_ENOMEM, "out of memory");
	yajl_gen_map_open(g);
	vd_jgen_kstr(g, "ListenAddr", listen ? listen : "0.0.0.0:2377");
	if (advertise)
		vd_jgen_kstr(g, "AdvertiseAddr", advertise);
	vd_jgen_kbool(g, "ForceNewCluster", false);
	yajl_gen_map_close(g);
	r = post_json(d, "/swarm/init", NULL, g, &answer, err);
	if (!r && node_id) {
		/* the answer is the node id as a JSON string */
		*node_id = NULL;
		if ((v = vd_json_parse(vd_buf_cstr(&answer), err))) {
			if (YAJL_IS_STRING(v) && !(*node_id = strdup(v->u.string)))
				r = vd_error_set(err, VD_ENOMEM, "out of memory");
			else if (!YAJL_IS_STRING(v))
				r = vd_error_set(err, VD_EPROTO, "the answer is not a node id");
			yajl_tree_free(v);
		} else {
			r = err->code;
		}
	}
	vd_buf_release(&answer);
	return r ? vd_error_prefix(err, "swarm init") : 0;
}

int vd_swarm_join(vd_docker *d, const char *listen, const char *advertise, const char *remote,
		  const char *token, vd_error *err)
{
	yajl_gen g = vd_jgen_new();
	int r;

	if (!g)
		return vd_error_set(err, VD_ENOMEM, "out of memory");
	yajl_gen_map_open(g);
	vd_jgen_kstr(g, "ListenAddr", listen ? listen : "0.0.0.0:2377");
	if (advertise)
		vd_jgen_kstr(g, "AdvertiseAddr", advertise);
	yajl_gen_string(g, (const unsigned char *)"RemoteAddrs", 11);
	yajl_gen_array_open(g);
	vd_jgen_str(g, remote);
	yajl_gen_array_close(g);
	vd_jgen_kstr(g, "JoinToken", token);
	yajl_gen_map_close(g);
	r = post_json(d, "/swarm/join", NULL, g, NULL, err);
	return r ? vd_error_prefix(err, "swarm join %s", remote) : 0;
}

int vd_swarm_leave(vd_docker *d, bool force, vd_error *err)
{
	int r = vd_docker_post(d, "/swarm/leave", force ? "force=1" : NULL, NULL, NULL, NULL, err);

	return r ? vd_error_prefix(err, "swarm leave") : 0;
}

int vd_swarm_join_token(vd_docker *d, bool manager, char **out, vd_error *err)
{
	vd_buf body = VD_BUF_INIT;
	bool oom = false;
	yajl_val v = NULL;
	int r = vd_docker_get(d, "/swarm", NULL, &body, err);

	*out = NULL;
	if (!r && !(v = vd_json_parse(vd_buf_cstr(&body), err)))
		r = err->code;
	if (!r) {
		*out = dup_at(v, &oom, "JoinTokens", manager ? "Manager" : "Worker", NULL, NULL);
		if (oom)
			r = vd_error_set(err, VD_ENOMEM, "out of memory");
		else if (!*out)
			r = vd_error_set(err, VD_EPROTO, "no join token in the answer");
	}
	yajl_tree_free(v);
	vd_buf_release(&body);
	return r ? vd_error_prefix(err, "swarm join token") : 0;
}

/* --- nodes ---------------------------------------------------------------- */

static void node_release(void *item)
{
	vd_node_info *n = item;

	free(n->id);
	free(n->hostname);
	free(n->role);
	free(n->availability);
	free(n->state);
	free(n->addr);
	memset(n, 0, sizeof(*n));
}

static int node_fill(yajl_val v, void *item)
{
	vd_node_info *n = item;
	bool oom = false;

	if (!vd_json_str(v, "ID"))
		return VD_EPROTO;
	n->id = dup_at(v, &oom, "ID", NULL, NULL, NULL);
	n->hostname = dup_at(v, &oom, "Description", "Hostname", NULL, NULL);
	n->role = dup_at(v, &oom, "Spec", "Role", NULL, NULL);
	n->availability = dup_at(v, &oom, "Spec", "Availability", NULL, NULL);
	n->state = dup_at(v, &oom, "Status", "State", NULL, NULL);
	n->addr = dup_at(v, &oom, "Status", "Addr", NULL, NULL);
	n->version = int_at(v, 0, "Version", "Index", NULL);
	n->leader = vd_json_at(v, "ManagerStatus", "Leader", NULL) &&
		    YAJL_IS_TRUE(vd_json_at(v, "ManagerStatus", "Leader", NULL));
	return oom ? VD_ENOMEM : 0;
}

int vd_node_list_parse(const char *json, vd_node_array *out, vd_error *err)
{
	void *items = NULL;
	int r = vd_docker_parse_list(json, NULL, "node list", sizeof(vd_node_info), node_fill,
				     node_release, &items, &out->len, err);

	out->items = r ? NULL : items;
	return r;
}

int vd_node_list(vd_docker *d, vd_node_array *out, vd_error *err)
{
	void *items = NULL;
	int r = vd_docker_get_list(d, "/nodes", NULL, NULL, NULL, "node list", sizeof(vd_node_info),
				   node_fill, node_release, &items, &out->len, err);

	if (r)
		return vd_error_prefix(err, "list nodes");
	out->items = items;
	return 0;
}

void vd_node_array_release(vd_node_array *list)
{
	if (!list)
		return;
	vd_docker_free_list(list->items, list->len, sizeof(vd_node_info), node_release);
	list->items = NULL;
	list->len = 0;
}

const vd_node_info *vd_node_find(const vd_node_array *list, const char *id)
{
	size_t i;

	for (i = 0; id && i < list->len; i++)
		if (!strcmp(list->items[i].id, id))
			return &list->items[i];
	return NULL;
}

/* --- services ------------------------------------------------------------- */

static void service_release_fields(vd_service_info *s)
{
	free(s->id);
	free(s->name);
	free(s->image);
	free(s->update_state);
	free(s->update_message);
	free(s->previous_image);
	vd_kvs_release(&s->labels);
}

static int service_fill(yajl_val v, void *item)
{
	vd_service_info *s = item;
	yajl_val prev = vd_json_get(v, "PreviousSpec");
	bool oom = false;

	if (!vd_json_str(v, "ID"))
		return VD_EPROTO;
	s->id = dup_at(v, &oom, "ID", NULL, NULL, NULL);
	s->name = dup_at(v, &oom, "Spec", "Name", NULL, NULL);
	s->version = int_at(v, 0, "Version", "Index", NULL);
	s->image = dup_at(v, &oom, "Spec", "TaskTemplate", "ContainerSpec", "Image");
	s->replicas = vd_json_at(v, "Spec", "Mode", "Global", NULL)
			      ? -1
			      : int_at(vd_json_at(v, "Spec", "Mode", NULL), 1, "Replicated", "Replicas",
				       NULL);
	s->force_update = int_at(v, 0, "Spec", "TaskTemplate", "ForceUpdate");
	s->update_state = dup_at(v, &oom, "UpdateStatus", "State", NULL, NULL);
	s->update_message = dup_at(v, &oom, "UpdateStatus", "Message", NULL, NULL);
	s->has_previous = prev && YAJL_IS_OBJECT(prev);
	if (s->has_previous)
		s->previous_image = dup_at(prev, &oom, "TaskTemplate", "ContainerSpec", "Image", NULL);
	if (vd_kvs_from_json(vd_json_at(v, "Spec", "Labels", NULL), &s->labels))
		oom = true;
	return oom ? VD_ENOMEM : 0;
}

static void service_release(void *item)
{
	service_release_fields(item);
	memset(item, 0, sizeof(vd_service_info));
}

int vd_service_info_parse(const char *json, vd_service_info *out, vd_error *err)
{
	yajl_val v = vd_json_parse(json, err);
	int r;

	memset(out, 0, sizeof(*out));
	if (!v)
		return vd_error_prefix(err, "service inspect");
	if ((r = service_fill(v, out))) {
		service_release_fields(out);
		memset(out, 0, sizeof(*out));
		yajl_tree_free(v);
		return r == VD_ENOMEM ? vd_error_set(err, r, "out of memory")
				      : vd_error_set(err, r, "service inspect: no ID in the answer");
	}
	out->raw = v;
	return 0;
}

void vd_service_info_release(vd_service_info *info)
{
	if (!info)
		return;
	service_release_fields(info);
	yajl_tree_free(info->raw);
	memset(info, 0, sizeof(*info));
}

int vd_service_inspect(vd_docker *d, const char *ref, vd_service_info *out, vd_error *err)
{
	vd_buf path = VD_BUF_INIT, body = VD_BUF_INIT;
	int r;

	if (vd_docker_path(&path, "/services/", ref, NULL))
		return vd_error_set(err, VD_ENOMEM, "out of memory");
	r = vd_docker_get(d, vd_buf_cstr(&path), NULL, &body, err);
	if (!r)
		r = vd_service_info_parse(vd_buf_cstr(&body), out, err);
	vd_buf_release(&path);
	vd_buf_release(&body);
	return r ? vd_error_prefix(err, "inspect service %s", ref) : 0;
}

int vd_service_list_parse(const char *json, vd_service_array *out, vd_error *err)
{
	void *items = NULL;
	int r = vd_docker_parse_list(json, NULL, "service list", sizeof(vd_service_info),
				     service_fill, service_release, &items, &out->len, err);

	out->items = r ? NULL : items;
	return r;
}

int vd_service_list(vd_docker *d, const char *const *filter_pairs, vd_service_array *out,
		    vd_error *err)
{
	void *items = NULL;
	int r = vd_docker_get_list(d, "/services", NULL, filter_pairs, NULL, "service list",
				   sizeof(vd_service_info), service_fill, service_release, &items,
				   &out->len, err);

	if (r)
		return vd_error_prefix(err, "list services");
	out->items = items;
	return 0;
}

void vd_service_array_release(vd_service_array *list)
{
	if (!list)
		return;
	vd_docker_free_list(list->items, list->len, sizeof(vd_service_info), service_release);
	list->items = NULL;
	list->len = 0;
}

static int post_spec(vd_docker *d, const char *path, const char *query, const char *spec_json,
		     const char *registry_auth, vd_buf *answer, vd_error *err)
{
	vd_docker_req req = { .method = "POST", .path = path, .query = query, .body = spec_json,
			      .body_len = strlen(spec_json), .registry_auth = registry_auth };

	return vd_docker_request(d, &req, answer, err);
}

int vd_service_create(vd_docker *d, const char *spec_json, const char *registry_auth, char **id,
		      vd_error *err)
{
	vd_buf answer = VD_BUF_INIT;
	bool oom = false;
	yajl_val v = NULL;
	int r = post_spec(d, "/services/create", NULL, spec_json, registry_auth, &answer, err);

	*id = NULL;
	if (!r && !(v = vd_json_parse(vd_buf_cstr(&answer), err)))
		r = err->code;
	if (!r && !(*id = dup_at(v, &oom, "ID", NULL, NULL, NULL)))
		r = oom ? vd_error_set(err, VD_ENOMEM, "out of memory")
			: vd_error_set(err, VD_EPROTO, "no ID in the answer");
	yajl_tree_free(v);
	vd_buf_release(&answer);
	return r ? vd_error_prefix(err, "create service") : 0;
}

int vd_service_update(vd_docker *d, const char *id, int64_t version, const char *spec_json,
		      const vd_service_update_opts *opts, vd_error *err)
{
	vd_buf path = VD_BUF_INIT, q = VD_BUF_INIT;
	char ver[32];
	int r;

	snprintf(ver, sizeof(ver), "%lld", (long long)version);
	if (vd_docker_path(&path, "/services/", id, "/update") || vd_docker_query_add(&q, "version", ver) ||
	    (opts && opts->rollback && vd_docker_query_add(&q, "rollback", "previous"))) {
		r = vd_error_set(err, VD_ENOMEM, "out of memory");
		goto out;
	}
	r = post_spec(d, vd_buf_cstr(&path), vd_buf_cstr(&q), spec_json,
		      opts ? opts->registry_auth : NULL, NULL, err);
	/* swarmkit's sequence conflict comes back as a 500 */
	if (r && strstr(vd_error_msg(err), "update out of sequence"))
		err->code = r = VD_ECONFLICT;
	if (r)
		vd_error_prefix(err, "%s service %s", opts && opts->rollback ? "roll back" : "update", id);
out:
	vd_buf_release(&path);
	vd_buf_release(&q);
	return r;
}

int vd_service_remove(vd_docker *d, const char *ref, vd_error *err)
{
	vd_buf path = VD_BUF_INIT;
	int r;

	if (vd_docker_path(&path, "/services/", ref, NULL))
		return vd_error_set(err, VD_ENOMEM, "out of memory");
	r = vd_docker_delete(d, vd_buf_cstr(&path), NULL, err);
	vd_buf_release(&path);
	return r ? vd_error_prefix(err, "remove service %s", ref) : 0;
}

/* --- tasks ---------------------------------------------------------------- */

static void task_release(void *item)
{
	vd_task_info *t = item;

	free(t->id);
	free(t->service_id);
	free(t->node_id);
	free(t->desired_state);
	free(t->state);
	free(t->message);
	free(t->error);
	free(t->container_id);
	free(t->image);
	free(t->timestamp);
	memset(t, 0, sizeof(*t));
}

static int task_fill(yajl_val v, void *item)
{
	vd_task_info *t = item;
	bool oom = false;

	if (!vd_json_str(v, "ID"))
		return VD_EPROTO;
	t->id = dup_at(v, &oom, "ID", NULL, NULL, NULL);
	t->service_id = dup_at(v, &oom, "ServiceID", NULL, NULL, NULL);
	t->node_id = dup_at(v, &oom, "NodeID", NULL, NULL, NULL);
	t->slot = vd_json_int(v, "Slot", 0);
	t->desired_state = dup_at(v, &oom, "DesiredState", NULL, NULL, NULL);
	t->state = dup_at(v, &oom, "Status", "State", NULL, NULL);
	t->message = dup_at(v, &oom, "Status", "Message", NULL, NULL);
	t->error = dup_at(v, &oom, "Status", "Err", NULL, NULL);
	t->container_id = dup_at(v, &oom, "Status", "ContainerStatus", "ContainerID", NULL);
	t->exit_code = int_at(v, 0, "Status", "ContainerStatus", "ExitCode");
	t->image = dup_at(v, &oom, "Spec", "ContainerSpec", "Image", NULL);
	t->force_update = int_at(v, 0, "Spec", "ForceUpdate", NULL);
	t->timestamp = dup_at(v, &oom, "Status", "Timestamp", NULL, NULL);
	t->version = int_at(v, 0, "Version", "Index", NULL);
	return oom ? VD_ENOMEM : 0;
}

int vd_task_list_parse(const char *json, vd_task_array *out, vd_error *err)
{
	void *items = NULL;
	int r = vd_docker_parse_list(json, NULL, "task list", sizeof(vd_task_info), task_fill,
				     task_release, &items, &out->len, err);

	out->items = r ? NULL : items;
	return r;
}

int vd_task_list(vd_docker *d, const char *service, vd_task_array *out, vd_error *err)
{
	const char *pairs[] = { "service", service, NULL };
	void *items = NULL;
	int r = vd_docker_get_list(d, "/tasks", NULL, pairs, NULL, "task list", sizeof(vd_task_info),
				   task_fill, task_release, &items, &out->len, err);

	if (r)
		return vd_error_prefix(err, "list the tasks of %s", service);
	out->items = items;
	return 0;
}

void vd_task_array_release(vd_task_array *list)
{
	if (!list)
		return;
	vd_docker_free_list(list->items, list->len, sizeof(vd_task_info), task_release);
	list->items = NULL;
	list->len = 0;
}

int vd_task_state_rank(const char *state)
{
	static const char *const order[] = { "new",      "pending",  "allocated", "assigned",
					     "accepted", "preparing", "ready",    "starting",
					     "running",  "complete", "shutdown",  "failed",
					     "rejected", "remove",   "orphaned" };
	size_t i;

	for (i = 0; state && i < sizeof(order) / sizeof(order[0]); i++)
		if (!strcmp(order[i], state))
			return (int)i;
	return -1;
}

/* --- registries ----------------------------------------------------------- */

/* RFC 4648 §5 (URL and file name safe), padded, as the engine decodes it. */
static int base64url(vd_buf *out, const unsigned char *in, size_t n)
{
	static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t i;
	int r = 0;

	for (i = 0; i + 2 < n && !r; i += 3) {
		unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];

		r = vd_buf_printf(out, "%c%c%c%c", abc[v >> 18], abc[(v >> 12) & 63], abc[(v >> 6) & 63],
				  abc[v & 63]);
	}
	if (!r && n - i == 1)
		r = vd_buf_printf(out, "%c%c==", abc[in[i] >> 2], abc[(in[i] & 3) << 4]);
	else if (!r && n - i == 2)
		r = vd_buf_printf(out, "%c%c%c=", abc[in[i] >> 2], abc[(in[i] & 3) << 4 | in[i + 1] >> 4],
				  abc[(in[i + 1] & 15) << 2]);
	return r;
}

int vd_registry_auth_encode(const char *user, const char *password, const char *server,
			    vd_buf *out)
{
	yajl_gen g = vd_jgen_new();
	vd_buf json = VD_BUF_INIT;
	int r;

	if (!g)
		return VD_ENOMEM;
	yajl_gen_map_open(g);
	vd_jgen_kstr(g, "username", user ? user : "");
	vd_jgen_kstr(g, "password", password ? password : "");
	vd_jgen_kstr(g, "serveraddress", server ? server : "");
	yajl_gen_map_close(g);
	if (!(r = vd_jgen_finish(g, &json)))
		r = base64url(out, (const unsigned char *)vd_buf_cstr(&json), json.len);
	/* the JSON held the password */
	if (json.ptr)
		memset(json.ptr, 0, json.cap);
	vd_buf_release(&json);
	return r ? VD_ENOMEM : 0;
}
