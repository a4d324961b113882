#include "docker_api/volume.h"

#include <stdlib.h>
#include <string.h>

static int info_fill(yajl_val v, vd_volume_info *info)
{
	memset(info, 0, sizeof(*info));
	if (!vd_json_str(v, "Name"))
		return VD_EPROTO;
	info->name = strdup(vd_json_str(v, "Name"));
	info->driver = strdup(vd_json_str(v, "Driver") ? vd_json_str(v, "Driver") : "");
	info->mountpoint = strdup(vd_json_str(v, "Mountpoint") ? vd_json_str(v, "Mountpoint") : "");
	if (!info->name || !info->driver || !info->mountpoint)
		return VD_ENOMEM;
	return vd_kvs_from_json(vd_json_get(v, "Labels"), &info->labels);
}

void vd_volume_info_release(vd_volume_info *info)
{
	if (!info)
		return;
	free(info->name);
	free(info->driver);
	free(info->mountpoint);
	vd_kvs_release(&info->labels);
	memset(info, 0, sizeof(*info));
}

static int parse_one(const char *json, vd_volume_info *out, vd_error *err)
{
	yajl_val v = vd_json_parse(json, err);
	int r;

	if (!v)
		return err->code;
	r = info_fill(v, out);
	if (r) {
		vd_volume_info_release(out);
		r = vd_error_set(err, r, r == VD_EPROTO ? "no Name in the answer" : "out of memory");
	}
	yajl_tree_free(v);
	return r;
}

int vd_volume_list_parse(const char *json, vd_volume_array *out, vd_error *err)
{
	vd_volume_array list = { NULL, 0 };
	yajl_val v = vd_json_parse(json, err), vols;
	size_t i, n;
	int r = 0;

	if (!v)
		return vd_error_prefix(err, "volume list");
	vols = vd_json_get(v, "Volumes");  /* null when there are none */
	if (vols && !YAJL_IS_ARRAY(vols) && !YAJL_IS_NULL(vols)) {
		r = vd_error_set(err, VD_EPROTO, "volume list: Volumes is not an array");
		goto done;
	}
	n = vd_json_len(vols);
	list.items = calloc(n ? n : 1, sizeof(*list.items));
	if (!list.items) {
		r = vd_error_set(err, VD_ENOMEM, "out of memory");
		goto done;
	}
	for (i = 0; i < n; i++) {
		r = info_fill(vd_json_idx(vols, i), &list.items[list.len++]);
		if (r) {
			r = vd_error_set(err, r, "volume list: entry %zu: %s", i,
					 r == VD_EPROTO ? "no Name" : "out of memory");
			goto done;
		}
	}
	*out = list;
	list.items = NULL;
	list.len = 0;
done:
	vd_volume_array_release(&list);
	yajl_tree_free(v);
	return r;
}

void vd_volume_array_release(vd_volume_array *list)
{
	size_t i;

	if (!list)
		return;
	for (i = 0; i < list->len; i++)
		vd_volume_info_release(&list->items[i]);
	free(list->items);
	list->items = NULL;
	list->len = 0;
}

int vd_volume_list(vd_docker *d, const char *const *filter_pairs, vd_volume_array *out,
		   vd_error *err)
{
	vd_buf q = VD_BUF_INIT, filters = VD_BUF_INIT, body = VD_BUF_INIT;
	int r = 0;

	if (filter_pairs && filter_pairs[0] &&
	    (vd_docker_filters_json(&filters, filter_pairs) ||
	     vd_docker_query_add(&q, "filters", vd_buf_cstr(&filters))))
		r = vd_error_set(err, VD_ENOMEM, "out of memory");
	if (!r)
		r = vd_docker_get(d, "/volumes", q.len ? vd_buf_cstr(&q) : NULL, &body, err);
	if (!r)
		r = vd_volume_list_parse(vd_buf_cstr(&body), out, err);
	if (r)
		vd_error_prefix(err, "list volumes");
	vd_buf_release(&q);
	vd_buf_release(&filters);
	vd_buf_release(&body);
	return r;
}

int vd_volume_inspect(vd_docker *d, const char *name, vd_volume_info *out, vd_error *err)
{
	vd_buf path = VD_BUF_INIT, body = VD_BUF_INIT;
	int r = vd_buf_puts(&path, "/volumes/");

	if (!r)
		r = vd_docker_path_escape(&path, name);
	if (r)
		r = vd_error_set(err, VD_ENOMEM, "out of memory");
	if (!r)
		r = vd_docker_get(d, vd_buf_cstr(&path), NULL, &body, err);
	if (!r)
		r = parse_one(vd_buf_cstr(&body), out, err);
	if (r)
		vd_error_prefix(err, "inspect volume %s", name);
	vd_buf_release(&path);
	vd_buf_release(&body);
	return r;
}

int vd_volume_create(vd_docker *d, const char *body, vd_volume_info *out, vd_error *err)
{
	vd_buf resp = VD_BUF_INIT;
	int r;

	r = vd_docker_post(d, "/volumes/create", NULL, body, &resp, NULL, err);
	if (!r)
		r = parse_one(vd_buf_cstr(&resp), out, err);
	if (r)
		vd_error_prefix(err, "create volume");
	vd_buf_release(&resp);
	return r;
}
