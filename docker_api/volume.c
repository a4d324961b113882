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

static int list_fill(yajl_val v, void *item)
{
	return info_fill(v, item);
}

static void list_release(void *item)
{
	vd_volume_info_release(item);
}

int vd_volume_list_parse(const char *json, vd_volume_array *out, vd_error *err)
{
	void *items = NULL;
	int r = vd_docker_parse_list(json, "Volumes", "volume list", sizeof(vd_volume_info),
				     list_fill, list_release, &items, &out->len, err);

	if (!r)
		out->items = items;
	return r;
}

void vd_volume_array_release(vd_volume_array *list)
{
	if (!list)
		return;
	vd_docker_free_list(list->items, list->len, sizeof(*list->items), list_release);
	list->items = NULL;
	list->len = 0;
}

int vd_volume_list(vd_docker *d, const char *const *filter_pairs, vd_volume_array *out,
		   vd_error *err)
{
	void *items = NULL;
	int r = vd_docker_get_list(d, "/volumes", NULL, filter_pairs, "Volumes", "volume list",
				   sizeof(vd_volume_info), list_fill, list_release, &items, &out->len,
				   err);

	if (r)
		return vd_error_prefix(err, "list volumes");
	out->items = items;
	return 0;
}

int vd_volume_inspect(vd_docker *d, const char *name, vd_volume_info *out, vd_error *err)
{
	vd_buf path = VD_BUF_INIT, body = VD_BUF_INIT;
	int r = vd_docker_path(&path, "/volumes/", name, NULL);

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
