#include "docker_api/network.h"

#include <stdlib.h>
#include <string.h>

static int info_fill(yajl_val v, vd_network_info *n)
{
	n->id = strdup(vd_json_str(v, "Id") ? vd_json_str(v, "Id") : "");
	n->name = strdup(vd_json_str(v, "Name") ? vd_json_str(v, "Name") : "");
	n->driver = strdup(vd_json_str(v, "Driver") ? vd_json_str(v, "Driver") : "");
	n->scope = strdup(vd_json_str(v, "Scope") ? vd_json_str(v, "Scope") : "");
	if (!n->id || !n->name || !n->driver || !n->scope)
		return VD_ENOMEM;
	return vd_kvs_from_json(vd_json_get(v, "Labels"), &n->labels);
}

static void info_release_fields(vd_network_info *n)
{
	free(n->id);
	free(n->name);
	free(n->driver);
	free(n->scope);
	vd_kvs_release(&n->labels);
}

static int list_fill(yajl_val v, void *item)
{
	return info_fill(v, item);
}

static void list_release(void *item)
{
	info_release_fields(item);
}

int vd_network_list_parse(const char *json, vd_network_array *out, vd_error *err)
{
	void *items = NULL;
	int r = vd_docker_parse_list(json, NULL, "network list", sizeof(vd_network_info), list_fill,
				     list_release, &items, &out->len, err);

	if (!r)
		out->items = items;
	return r;
}

void vd_network_array_release(vd_network_array *list)
{
	if (!list)
		return;
	vd_docker_free_list(list->items, list->len, sizeof(*list->items), list_release);
	list->items = NULL;
	list->len = 0;
}

int vd_network_list(vd_docker *d, const char *const *filter_pairs, vd_network_array *out,
		    vd_error *err)
{
	void *items = NULL;
	int r = vd_docker_get_list(d, "/networks", NULL, filter_pairs, NULL, "network list",
				   sizeof(vd_network_info), list_fill, list_release, &items, &out->len,
				   err);

	if (r)
		return vd_error_prefix(err, "list networks");
	out->items = items;
	return 0;
}

int vd_network_find(vd_docker *d, const char *name, char **out_id, vd_error *err)
{
	const char *pairs[] = { "name", name, NULL };
	vd_network_array list = { NULL, 0 };
	const char *found = NULL;
	size_t i, hits = 0;
	int r;

	r = vd_network_list(d, pairs, &list, err);
	if (r)
		return r;
	for (i = 0; i < list.len; i++) {
		if (!strcmp(list.items[i].name, name)) {
			found = list.items[i].id;
			hits++;
		}
	}
	if (!hits)
		r = vd_error_set(err, VD_ENOTFOUND, "no network named %s", name);
	else if (hits > 1)
		r = vd_error_set(err, VD_ECONFLICT,
				 "%zu networks are named %s: remove the extra ones", hits, name);
	else if (!(*out_id = strdup(found)))
		r = vd_error_set(err, VD_ENOMEM, "out of memory");
	vd_network_array_release(&list);
	return r;
}

int vd_network_create(vd_docker *d, const char *body, char **out_id, vd_error *err)
{
	vd_buf resp = VD_BUF_INIT;
	yajl_val v = NULL;
	int r;

	r = vd_docker_post(d, "/networks/create", NULL, body, &resp, NULL, err);
	if (r)
		goto done;
	v = vd_json_parse(vd_buf_cstr(&resp), err);
	if (!v || !vd_json_str(v, "Id")) {
		r = v ? vd_error_set(err, VD_EPROTO, "no Id in the answer") : err->code;
		goto done;
	}
	if (!(*out_id = strdup(vd_json_str(v, "Id"))))
		r = vd_error_set(err, VD_ENOMEM, "out of memory");
done:
	if (r)
		vd_error_prefix(err, "create network");
	yajl_tree_free(v);
	vd_buf_release(&resp);
	return r;
}

static int connect_or_disconnect(vd_docker *d, const char *action, const char *network,
				 const char *container, const char *endpoint_json, bool force,
				 vd_error *err)
{
	vd_buf path = VD_BUF_INIT, body = VD_BUF_INIT;
	yajl_val ep = NULL;
	yajl_gen g = NULL;
	int r = 0;

	if (endpoint_json && !(ep = vd_json_parse(endpoint_json, err))) {
		r = vd_error_prefix(err, "endpoint config");
		goto done;
	}
	g = vd_jgen_new();
	if (!g || vd_docker_path(&path, "/networks/", network, action)) {
		r = vd_error_set(err, VD_ENOMEM, "out of memory");
		goto done;
	}
	yajl_gen_map_open(g);
	vd_jgen_kstr(g, "Container", container);
	if (ep) {
		vd_jgen_str(g, "EndpointConfig");
		vd_jgen_value(g, ep);
	}
	if (force)
		vd_jgen_kbool(g, "Force", true);
	yajl_gen_map_close(g);
	r = vd_jgen_finish(g, &body);
	g = NULL;
	if (r) {
		r = vd_error_set(err, VD_ENOMEM, "out of memory");
		goto done;
	}
	r = vd_docker_post(d, vd_buf_cstr(&path), NULL, vd_buf_cstr(&body), NULL, NULL, err);
done:
	if (r)
		vd_error_prefix(err, "%s %s %s", action + 1, container, network);
	if (g)
		yajl_gen_free(g);
	yajl_tree_free(ep);
	vd_buf_release(&path);
	vd_buf_release(&body);
	return r;
}

int vd_network_connect(vd_docker *d, const char *network, const char *container,
		       const char *endpoint_json, vd_error *err)
{
	return connect_or_disconnect(d, "/connect", network, container, endpoint_json, false, err);
}

int vd_network_disconnect(vd_docker *d, const char *network, const char *container,
			  bool force, vd_error *err)
{
	return connect_or_disconnect(d, "/disconnect", network, container, NULL, force, err);
}

int vd_network_remove(vd_docker *d, const char *ref, vd_error *err)
{
	vd_buf path = VD_BUF_INIT;
	int r;

	if (vd_docker_path(&path, "/networks/", ref, NULL))
		return vd_error_set(err, VD_ENOMEM, "out of memory");
	r = vd_docker_delete(d, vd_buf_cstr(&path), NULL, err);
	if (r)
		vd_error_prefix(err, "remove network %s", ref);
	vd_buf_release(&path);
	return r;
}
