/* voxdeploy — from the compose model to Engine API requests: per service the
 * container create body `docker compose` (v2, the current compose
 * specification) would send, and the project's networks and named volumes,
 * created when missing and never removed.
 *
 * What compose does and voxdeploy follows:
 *   - container name: container_name, else <project>-<service>-1 (compose
 *     1.x used <project>_<service>_1);
 *   - image of a service: image:, else <project>-<service> for a built one
 *     (compose 1.x: <project>_<service>);
 *   - Config: Image, Env (env_file then environment), Cmd/Entrypoint (an
 *     empty list is sent as [] and clears nothing the engine would not),
 *     Labels, ExposedPorts (expose, then ports' targets), Volumes (short
 *     syntax anonymous volumes), User, WorkingDir, Hostname, Tty, OpenStdin,
 *     AttachStdout/AttachStderr (true, as compose v2), StopSignal,
 *     StopTimeout (seconds, from stop_grace_period), Healthcheck (durations
 *     in ns; disable → {"Test":["NONE"]});
 *   - HostConfig: bind mounts in Binds as "SRC:DST:rw|ro[,z|Z]" when compose
 *     uses the bind API (short syntax; long syntax with create_host_path and
 *     no propagation), every other mount in Mounts (named and long-syntax
 *     anonymous volumes, tmpfs, binds needing propagation or no host path
 *     creation); PortBindings with HostIp, NetworkMode (network_mode, else
 *     the primary network: the service's networks sorted by key), restart,
 *     logging, extra_hosts ("host:ip"), dns, capabilities, security_opt,
 *     privileged, init, read_only, sysctls, devices, tmpfs, shm_size,
 *     ulimits, Memory/NanoCpus from mem_limit/cpus overridden by
 *     deploy.resources.limits, MemoryReservation from
 *     deploy.resources.reservations.memory (a cpu reservation is swarm-only);
 *   - NetworkingConfig.EndpointsConfig: every network of the service with
 *     Aliases [container name, service name, aliases...] and IPAMConfig for
 *     ipv4_address/ipv6_address (vd_container_create sends the primary one at
 *     create and connects the others below API 1.44);
 *   - labels com.docker.compose.project, .service, .container-number "1",
 *     .oneoff "False", .config-hash, .version (VD_SPEC_COMPOSE_VERSION),
 *     .project.working_dir, .project.config_files (comma-joined), .depends_on
 *     ("svc:condition:restart,..."), .image (the image id, when known), plus
 *     io.voxdeploy.commit and io.voxdeploy.deploy-id when given.
 *
 * The config hash is the one compose v2 computes (compose_hash.c), so
 * that a `docker compose up -d` after a deploy finds every container up to
 * date: the service as compose-go encodes it, without build and
 * pull_policy.  It changes when the service's configuration does (its
 * resolved environment included, depends_on and profiles too), not for a
 * new image (com.docker.compose.image tells that) nor for the caller's
 * labels.
 */
#ifndef VD_CONTROLLER_SPEC_H
#define VD_CONTROLLER_SPEC_H

#include <stdbool.h>
#include <stddef.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/json.h"
#include "controller/model/compose.h"
#include "controller/model/interpolate.h"
#include "docker_api/docker.h"

/* The compose version voxdeploy writes into com.docker.compose.version: a
 * fixed compose v2 release whose container semantics it follows. */
#define VD_SPEC_COMPOSE_VERSION "2.29.7"

#define VD_SPEC_LABEL_PREFIX "com.docker.compose."

/* What the caller knows beyond the compose model.  Every field may be
 * NULL / zero. */
typedef struct vd_spec_options {
	const char *image;           /* Config.Image instead of vd_spec_image_ref()
	                              * (e.g. "app:voxdeploy-<sha12>") */
	const char *image_id;        /* com.docker.compose.image; NULL: label left out */
	const char *commit;          /* io.voxdeploy.commit; NULL: left out */
	const char *deploy_id;       /* io.voxdeploy.deploy-id; NULL: left out */
	const vd_kvs *extra_labels;  /* more labels (containers, networks, volumes);
	                              * not part of the config hash */
	vd_env_lookup lookup;        /* for env_file ${VAR} and KEY-only entries */
	void *lookup_ctx;
	/* volumes a recreated container keeps from the one it replaces, as
	 * compose carries them: mount target -> volume name (the anonymous
	 * and image-declared volumes of the old container).  Sent in
	 * HostConfig.Mounts; not part of the config hash. */
	const vd_kvs *inherit_volumes;
} vd_spec_options;

#define VD_SPEC_OPTIONS_INIT { NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL }

/* The container's name: container_name, else "<project>-<service>-1".
 * Caller frees; NULL when out of memory. */
char *vd_spec_container_name(const vd_compose *c, const vd_compose_service *s);
/* The same by the service's name; NULL also when there is no such service. */
char *vd_spec_service_container_name(const vd_compose *c, const char *service);

/* The service's networks sorted by key (the first is the primary one);
 * caller frees the array; NULL when out of memory. */
const vd_compose_service_net **vd_spec_sorted_networks(const vd_compose_service *s);

/* The image reference the service runs: image:, else "<project>-<service>"
 * (what compose tags a built service's image as; "<project>_<service>" when
 * the labels are compose 1.29's, c->hash_compose 1).  Caller frees; NULL when
 * out of memory. */
char *vd_spec_image_ref(const vd_compose *c, const vd_compose_service *s);

/* The service as compose v2 (2.26, compose-go 2.0) encodes it for its
 * config hash, appended to out (compose_hash.c): env is the service's
 * resolved environment (vd_compose_service_env).  VD_ENOMEM only. */
int vd_spec_compose_json(const vd_compose *c, const vd_compose_service *s, const vd_kvs *env, vd_buf *out);
/* Its sha256: the com.docker.compose.config-hash compose v2 computes, so
 * that `docker compose up` finds voxdeploy's containers up to date. */
int vd_spec_compose_hash(const vd_compose *c, const vd_compose_service *s, const vd_kvs *env, char out[65],
			 vd_error *err);

/* compose 1.29's config hash of service s (compose_hash_v1.c): its
 * config_dict() — options mostly as written, image_id, links, networks,
 * secrets — as Python's json.dumps(sort_keys=True) writes it; the JSON
 * appended to out, or its sha256. */
int vd_spec_compose_json_v1(const vd_compose *c, const vd_compose_service *s, const vd_kvs *env,
			    const char *image_id, vd_buf *out, vd_error *err);
int vd_spec_compose_hash_v1(const vd_compose *c, const vd_compose_service *s, const vd_kvs *env,
			    const char *image_id, char out[65], vd_error *err);

/* The config hash (64 lower-case hex digits and a NUL) of service s: the
 * one of the compose c->hash_compose names, of its resolved environment
 * (1.29's with opts->image_id). */
int vd_spec_config_hash(const vd_compose *c, const vd_compose_service *s,
			const vd_spec_options *opts, char out[65], vd_error *err);

/* The create body (Config + HostConfig + NetworkingConfig as one JSON
 * object) for service s, appended to out.  VD_EINVAL for what the engine
 * cannot be given (a bad device or tmpfs entry, an unknown network), with
 * a message naming the service; an env_file that cannot be read fails as
 * vd_compose_service_env() does. */
int vd_spec_container(const vd_compose *c, const vd_compose_service *s,
		      const vd_spec_options *opts, vd_buf *out, vd_error *err);

/* The NetworkCreate body of network n (not for an external one), appended
 * to out: {"Name","CheckDuplicate":true,"Driver","Options","Internal",
 * "Attachable","IPAM":{"Driver","Config":[{"Subnet","IPRange","Gateway"}]},
 * "Labels"} with the user's labels, com.docker.compose.project, .network
 * (the key) and .version, then the extra labels. */
int vd_spec_network(const vd_compose *c, const vd_compose_network *n,
		    const vd_spec_options *opts, vd_buf *out, vd_error *err);

/* The VolumeCreate body of volume v (not for an external one):
 * {"Name","Driver","DriverOpts","Labels"} with the user's labels,
 * com.docker.compose.project, .volume (the key) and .version. */
int vd_spec_volume(const vd_compose *c, const vd_compose_volume *v,
		   const vd_spec_options *opts, vd_buf *out, vd_error *err);

/* True when some service uses network / volume key (compose creates only
 * those). */
bool vd_spec_network_used(const vd_compose *c, const char *key);
bool vd_spec_volume_used(const vd_compose *c, const char *key);

/* Make sure every network the project's services use exists: found by exact
 * name (vd_network_find), else created from vd_spec_network().  An external
 * network that does not exist is VD_ENOTFOUND; a name several networks
 * share is VD_ECONFLICT.  Nothing is ever removed or changed. */
int vd_spec_ensure_networks(vd_docker *d, const vd_compose *c, const vd_spec_options *opts,
			    vd_error *err);

/* The same for named volumes: an existing one is used as it is, a missing
 * external one is VD_ENOTFOUND, others are created from vd_spec_volume(). */
int vd_spec_ensure_volumes(vd_docker *d, const vd_compose *c, const vd_spec_options *opts,
			   vd_error *err);

/* Create service s's container from vd_spec_container() under `name`
 * (NULL: vd_spec_container_name()) — the networks and volumes must exist.
 * out_id receives the new id (caller frees). */
int vd_spec_create(vd_docker *d, const vd_compose *c, const vd_compose_service *s,
		   const char *name, const vd_spec_options *opts, char **out_id, vd_error *err);

/* "Healthcheck": {...} as the engine's HealthConfig (a container's and a
 * swarm task's alike): durations in ns, unset ones left out; disable →
 * {"Test":["NONE"]}. */
void vd_spec_gen_healthcheck(yajl_gen g, const vd_compose_healthcheck *h);

/* The stack label (model/stack.h's VD_STACK_NAMESPACE_LABEL). */
#define VD_SPEC_STACK_NAMESPACE_LABEL "com.docker.stack.namespace"

/* One mount of a service as the engine's Mount object: a container's
 * (stack NULL: a bind creates its host path), or a swarm task's (stack: the
 * stack's name, whose label a named volume's VolumeOptions carry, with its
 * driver). */
int vd_spec_gen_mount(yajl_gen g, const vd_compose *c, const vd_compose_mount *m, const char *stack);

/* SHA-256 of data as 64 lower-case hex digits (exported for tests). */
void vd_spec_sha256_hex(const void *data, size_t len, char out[65]);

#endif
