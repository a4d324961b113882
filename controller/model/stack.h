/* voxdeploy — from the compose model to Swarm requests: per service the
 * ServiceSpec `docker stack deploy` makes of it, and the overlay networks
 * of the project, so that `docker stack services/ps <project>` see what
 * voxdeploy deploys and a later `docker stack deploy` of the same file
 * changes nothing.
 *
 * What the stack conversion does and voxdeploy follows:
 *   - names <project>_<service> (networks: their engine name, <project>_<key>
 *     or `name:`; volumes likewise); label com.docker.stack.namespace on the
 *     service, its containers, networks and named volumes, and
 *     com.docker.stack.image (the image as the file names it) on the service;
 *   - ContainerSpec: Image, Labels (the service's `labels:`), Command from
 *     `entrypoint`, Args from `command`, Hostname, Dir, User, Env (the
 *     resolved environment, sorted), Hosts ("ip host"), DNSConfig,
 *     Healthcheck, Mounts (named volumes with VolumeOptions: the namespace
 *     label, the driver), StopGracePeriod, StopSignal, TTY, OpenStdin,
 *     ReadOnly, Init, Sysctls, CapabilityAdd/Drop, Ulimits (by name);
 *   - TaskTemplate: LogDriver, Resources (deploy.resources; mem_limit and
 *     cpus where it sets no limit, as on one engine), RestartPolicy
 *     (deploy.restart_policy, else `restart:`: always and unless-stopped →
 *     any, on-failure[:N]), Placement (constraints, spread preferences,
 *     max replicas per node), Networks sorted by target, each with the
 *     service's name as an alias;
 *   - Mode (replicated with replicas, or global), UpdateConfig and
 *     RollbackConfig (Parallelism 1 when unset), EndpointSpec (endpoint_mode,
 *     ports sorted, ingress or host mode).
 * Beyond it: voxdeploy's own labels (io.voxdeploy.commit, .deploy-id) on the
 * service only — a new deploy id alone never restarts a task —, and
 * update_config.order start-first for the services voxdeploy.yml names.
 *
 * What a stack cannot carry is refused by vd_stack_check() — never dropped
 * in silence — with the place and what to write instead.  container_name
 * and expose are ignored (as `docker stack deploy` ignores them: a swarm
 * names its tasks; an overlay network reaches every port); depends_on orders
 * voxdeploy's updates; build: is built on the manager.
 */
#ifndef VD_CONTROLLER_STACK_H
#define VD_CONTROLLER_STACK_H

#include <stdbool.h>

#include "common/buf.h"
#include "common/error.h"
#include "controller/model/compose.h"
#include "controller/model/interpolate.h"
#include "controller/model/spec.h"

#define VD_STACK_NAMESPACE_LABEL VD_SPEC_STACK_NAMESPACE_LABEL
#define VD_STACK_IMAGE_LABEL "com.docker.stack.image"

typedef struct vd_stack_options {
	const char *image;           /* ContainerSpec.Image instead of the service's
	                              * image (a built one: "<registry>/<name>:<tag>@sha256:...") */
	const char *image_label;     /* com.docker.stack.image; NULL: the compose image,
	                              * else `image` */
	const char *commit;          /* io.voxdeploy.commit on the service; NULL: left out */
	const char *deploy_id;       /* io.voxdeploy.deploy-id on the service; NULL: left out */
	bool start_first;            /* UpdateConfig.Order start-first whatever the file says */
	int64_t force_update;        /* TaskTemplate.ForceUpdate (kept from the running spec) */
	vd_env_lookup lookup;        /* env_file ${VAR} and KEY-only entries */
	void *lookup_ctx;
} vd_stack_options;

/* "<project>_<service>"; caller frees; NULL when out of memory. */
char *vd_stack_service_name(const vd_compose *c, const char *service);

/* Every service and network of c against what a stack can carry: the first
 * that cannot be is VD_EINVAL with its place ("FILE:LINE:COL: service
 * 'db': network_mode cannot be used on a swarm: ..."). */
int vd_stack_check(const vd_compose *c, vd_error *err);

/* The ServiceSpec of service s, appended to out.  VD_EINVAL when s cannot
 * be a stack's (vd_stack_check's message) or has no image (neither image:
 * nor opts->image); an env_file that cannot be read fails as
 * vd_compose_service_env() does. */
int vd_stack_service_spec(const vd_compose *c, const vd_compose_service *s,
			  const vd_stack_options *opts, vd_buf *out, vd_error *err);

/* The NetworkCreate body of network n as a stack's: Driver overlay unless
 * the file names one, Attachable (the implicit default network too, so that
 * voxdeploy's one-off containers can join it), Internal, Options, IPAM,
 * Labels (the file's and the namespace).  VD_EINVAL for an external one. */
int vd_stack_network(const vd_compose *c, const vd_compose_network *n, vd_buf *out,
		     vd_error *err);

#endif
