/* voxdeploy — Docker Swarm through the Engine API: the swarm itself (init,
 * join, leave, join tokens), its nodes, services and tasks, and the
 * registry credentials services and pushes carry.
 *
 * A service update sends the whole ServiceSpec with the version it was
 * read at; a stale version is answered "update out of sequence", which
 * vd_service_update() reports as VD_ECONFLICT (read again, retry).  The
 * progress of an update is the service's UpdateStatus (updating, paused,
 * completed, rollback_started, rollback_paused, rollback_completed) and the
 * states of its tasks.
 */
#ifndef VD_DOCKER_API_SWARM_H
#define VD_DOCKER_API_SWARM_H

#include <stdbool.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/json.h"
#include "docker_api/docker.h"

/* --- the swarm ------------------------------------------------------------ */

typedef struct vd_swarm_state {
	char node_state[16];     /* /info Swarm.LocalNodeState: inactive, pending, active, error, locked */
	bool manager;            /* Swarm.ControlAvailable */
	char node_id[64];
	char node_addr[64];
	int64_t nodes;           /* managers only: the swarm's nodes */
	int64_t managers;
} vd_swarm_state;

/* What this engine is in a swarm (GET /info). */
int vd_swarm_state_get(vd_docker *d, vd_swarm_state *out, vd_error *err);
int vd_swarm_state_parse(const char *info_json, vd_swarm_state *out, vd_error *err);

/* POST /swarm/init: listen ("0.0.0.0:2377") and advertise addresses; the
 * new node's id into node_id (may be NULL; caller frees). */
int vd_swarm_init(vd_docker *d, const char *listen, const char *advertise, char **node_id,
		  vd_error *err);
/* POST /swarm/join a manager at remote ("10.0.0.2:2377") with a token. */
int vd_swarm_join(vd_docker *d, const char *listen, const char *advertise, const char *remote,
		  const char *token, vd_error *err);
/* POST /swarm/leave (force: a manager, too). */
int vd_swarm_leave(vd_docker *d, bool force, vd_error *err);
/* The join token for workers (or managers), from GET /swarm (a manager's);
 * caller frees. */
int vd_swarm_join_token(vd_docker *d, bool manager, char **out, vd_error *err);

/* --- nodes ---------------------------------------------------------------- */

typedef struct vd_node_info {
	char *id;
	char *hostname;          /* Description.Hostname */
	char *role;              /* Spec.Role: worker, manager */
	char *availability;      /* Spec.Availability: active, pause, drain */
	char *state;             /* Status.State: unknown, down, ready, disconnected */
	char *addr;              /* Status.Addr */
	bool leader;             /* ManagerStatus.Leader */
	int64_t version;         /* Version.Index */
} vd_node_info;

typedef struct vd_node_array {
	vd_node_info *items;
	size_t len;
} vd_node_array;

int vd_node_list(vd_docker *d, vd_node_array *out, vd_error *err);
int vd_node_list_parse(const char *json, vd_node_array *out, vd_error *err);
void vd_node_array_release(vd_node_array *list);
/* The node of that id in list, or NULL. */
const vd_node_info *vd_node_find(const vd_node_array *list, const char *id);

/* --- services ------------------------------------------------------------- */

typedef struct vd_service_info {
	char *id;
	char *name;               /* Spec.Name */
	int64_t version;          /* Version.Index: what an update must name */
	char *image;              /* Spec.TaskTemplate.ContainerSpec.Image */
	int64_t replicas;         /* Spec.Mode.Replicated.Replicas; -1 global */
	int64_t force_update;     /* Spec.TaskTemplate.ForceUpdate */
	char *update_state;       /* UpdateStatus.State, NULL when none */
	char *update_message;     /* UpdateStatus.Message */
	bool has_previous;        /* PreviousSpec is there: rollback=previous can go back */
	char *previous_image;     /* PreviousSpec's image */
	vd_kvs labels;            /* Spec.Labels */
	yajl_val raw;             /* the whole answer (Spec, PreviousSpec, Endpoint, ...) */
} vd_service_info;

typedef struct vd_service_array {
	vd_service_info *items;
	size_t len;
} vd_service_array;

/* Inspect by id or name; VD_ENOTFOUND when absent. */
int vd_service_inspect(vd_docker *d, const char *ref, vd_service_info *out, vd_error *err);
int vd_service_info_parse(const char *json, vd_service_info *out, vd_error *err);
void vd_service_info_release(vd_service_info *info);
/* filter_pairs as for vd_docker_filters_json() ("label", "k=v", ...) or NULL. */
int vd_service_list(vd_docker *d, const char *const *filter_pairs, vd_service_array *out,
		    vd_error *err);
int vd_service_list_parse(const char *json, vd_service_array *out, vd_error *err);
void vd_service_array_release(vd_service_array *list);

/* POST /services/create with a ServiceSpec; the id into *id (caller frees).
 * registry_auth: an encoded X-Registry-Auth or NULL.  VD_ECONFLICT when a
 * service of that name exists. */
int vd_service_create(vd_docker *d, const char *spec_json, const char *registry_auth, char **id,
		      vd_error *err);

typedef struct vd_service_update_opts {
	const char *registry_auth;  /* encoded X-Registry-Auth, or NULL */
	bool rollback;              /* rollback=previous: back to PreviousSpec (the
	                             * spec sent must still be the current one) */
} vd_service_update_opts;

/* POST /services/{id}/update?version=N with the whole spec.  VD_ECONFLICT
 * when version is stale ("update out of sequence"). */
int vd_service_update(vd_docker *d, const char *id, int64_t version, const char *spec_json,
		      const vd_service_update_opts *opts, vd_error *err);
int vd_service_remove(vd_docker *d, const char *ref, vd_error *err);

/* --- tasks ---------------------------------------------------------------- */

typedef struct vd_task_info {
	char *id;
	char *service_id;
	char *node_id;            /* NULL until scheduled */
	int64_t slot;             /* replicated services; 0 for global */
	char *desired_state;      /* running, shutdown, ... */
	char *state;              /* Status.State */
	char *message;            /* Status.Message */
	char *error;              /* Status.Err */
	char *container_id;       /* Status.ContainerStatus.ContainerID */
	int64_t exit_code;        /* Status.ContainerStatus.ExitCode */
	char *image;              /* Spec.ContainerSpec.Image */
	int64_t force_update;     /* Spec.ForceUpdate: with the image, whether the task is of
	                           * the service's current spec */
	char *timestamp;          /* Status.Timestamp */
	int64_t version;          /* Version.Index */
} vd_task_info;

typedef struct vd_task_array {
	vd_task_info *items;
	size_t len;
} vd_task_array;

/* The tasks of a service (id or name). */
int vd_task_list(vd_docker *d, const char *service, vd_task_array *out, vd_error *err);
int vd_task_list_parse(const char *json, vd_task_array *out, vd_error *err);
void vd_task_array_release(vd_task_array *list);

/* Where a task state stands in the lifecycle (new < ... < running <
 * complete < shutdown < failed < rejected < remove < orphaned); -1 for a
 * word that is none of them. */
int vd_task_state_rank(const char *state);

/* --- registries ----------------------------------------------------------- */

/* X-Registry-Auth: {"username","password","serveraddress"} as base64url
 * with padding, appended to out.  The result carries the password: never
 * log it. */
int vd_registry_auth_encode(const char *user, const char *password, const char *server,
			    vd_buf *out);

#endif
