/* voxdeploy — networks through the Engine API.
 *
 * Network names are not unique on older engines, and the engine's name filter
 * matches any part of a name: vd_network_find() filters exactly and works
 * with ids from then on.
 */
#ifndef VD_DOCKER_API_NETWORK_H
#define VD_DOCKER_API_NETWORK_H

#include "common/json.h"
#include "docker_api/docker.h"

typedef struct vd_network_info {
	char *id;
	char *name;
	char *driver;
	char *scope;
	vd_kvs labels;
	yajl_val raw;   /* inspect only */
} vd_network_info;

typedef struct vd_network_array {
	vd_network_info *items;
	size_t len;
} vd_network_array;

/* filter_pairs as for vd_docker_filters_json(), or NULL. */
int vd_network_list(vd_docker *d, const char *const *filter_pairs, vd_network_array *out,
		    vd_error *err);
int vd_network_list_parse(const char *json, vd_network_array *out, vd_error *err);
void vd_network_array_release(vd_network_array *list);
/* The id of the network named exactly `name` (caller frees); VD_ENOTFOUND
 * when none, VD_ECONFLICT when several share the name. */
int vd_network_find(vd_docker *d, const char *name, char **out_id, vd_error *err);

/* body: the NetworkCreate JSON ({"Name":...,"Driver":...,"Labels":...}). */
int vd_network_create(vd_docker *d, const char *body, char **out_id, vd_error *err);
/* endpoint_json: an EndpointConfig object or NULL. */
int vd_network_connect(vd_docker *d, const char *network, const char *container,
		       const char *endpoint_json, vd_error *err);
int vd_network_disconnect(vd_docker *d, const char *network, const char *container,
			  bool force, vd_error *err);
int vd_network_remove(vd_docker *d, const char *ref, vd_error *err);

#endif
