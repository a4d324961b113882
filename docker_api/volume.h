/* voxdeploy — volumes through the Engine API.
 *
 * There is deliberately no remove call: voxdeploy never deletes a volume
 * (the database lives in one).
 */
#ifndef VD_DOCKER_API_VOLUME_H
#define VD_DOCKER_API_VOLUME_H

#include "common/json.h"
#include "docker_api/docker.h"

typedef struct vd_volume_info {
	char *name;
	char *driver;
	char *mountpoint;
	vd_kvs labels;
} vd_volume_info;

typedef struct vd_volume_array {
	vd_volume_info *items;
	size_t len;
} vd_volume_array;

int vd_volume_list(vd_docker *d, const char *const *filter_pairs, vd_volume_array *out,
		   vd_error *err);
int vd_volume_list_parse(const char *json, vd_volume_array *out, vd_error *err);
void vd_volume_array_release(vd_volume_array *list);

int vd_volume_inspect(vd_docker *d, const char *name, vd_volume_info *out, vd_error *err);
void vd_volume_info_release(vd_volume_info *info);

/* body: {"Name":...,"Driver":...,"Labels":{...}}.  An existing volume of that
 * name is returned as it is (the engine keeps its labels). */
int vd_volume_create(vd_docker *d, const char *body, vd_volume_info *out, vd_error *err);

#endif
