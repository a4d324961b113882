/* voxdeploy — the probe list: what `health`, the deploy's wait and the
 * sidecar check, built from voxdeploy.yml and the compose model.
 *
 * In order:
 *   - a container probe per service (ref: the service's container name,
 *     vd_spec_container_name) unless health.containers is false — on a
 *     swarm (deploy.backend swarm, or auto finding the stack) a service
 *     probe of <project>_<service> instead, and no resources probes;
 *   - the configured postgres, http and resources probes (a resources
 *     probe watches its service's container);
 *   - with NO health section in voxdeploy.yml (or no file): a postgres
 *     probe for every service whose image is `postgres` or `REGISTRY-OR-OWNER/postgres`
 *     (any tag or digest).  Its conninfo takes user, password and database
 *     from the service's environment as the container gets it (env_file,
 *     then environment, compose-interpolated): POSTGRES_USER (default
 *     postgres), POSTGRES_PASSWORD (none: no password), POSTGRES_DB
 *     (default: the user).  The host is the service name on port 5432 (a
 *     sidecar on the project network) — but when the service publishes
 *     5432/tcp on a fixed host port, 127.0.0.1 (or the published address)
 *     and that port, so that `voxdeploy health` on the host reaches it.
 *     The password is registered as a secret.
 *
 * The probes borrow strings from the config and the model (which must
 * outlive them); what is derived here lives in the vd_probe_list.
 */
#ifndef VD_CONTROLLER_PROBE_LIST_H
#define VD_CONTROLLER_PROBE_LIST_H

#include <stdbool.h>
#include <stddef.h>

#include "common/arena.h"
#include "common/error.h"
#include "controller/model/compose.h"
#include "controller/config/config.h"
#include "controller/model/interpolate.h"
#include "health/probe.h"
#include "health/report.h"

typedef struct vd_probe_list {
	vd_probe *items;
	size_t len;
	vd_arena arena;   /* private: derived strings and the array */
} vd_probe_list;

#define VD_PROBES_INIT { NULL, 0, { NULL } }

/* Build the list for every service, or only for `only_service` (probes of
 * that service; probes naming no service are left out).  An unknown
 * only_service, or a config naming a service the model lacks, is VD_EINVAL
 * listing the services.  out is initialised here; release it with
 * vd_probe_list_release() whatever the result. */
int vd_probe_list_build(const vd_config *c, const vd_compose *model, const char *only_service,
		    vd_env_lookup lookup, void *ctx, vd_probe_list *out, vd_error *err);
/* The same for every service, knowing whether the stack runs on a swarm
 * (vd_swap_on_swarm: deploy.backend auto asks the engine; the one above
 * reads deploy.backend alone). */
int vd_probe_list_build_on(const vd_config *c, const vd_compose *model, bool swarm, vd_env_lookup lookup,
			   void *ctx, vd_probe_list *out, vd_error *err);
void vd_probe_list_release(vd_probe_list *p);

/* The credentials the postgres image takes from a service's environment:
 * POSTGRES_USER (default postgres), POSTGRES_PASSWORD (NULL when none or
 * empty), POSTGRES_DB (default: the user).  Pointers into env. */
void vd_probe_list_pg_credentials(const vd_kvs *env, const char **user, const char **password,
				  const char **db);

/* The engine for a run, asked for only when a probe needs one (container
 * and resources probes).  0 and *out set, or an error; the engine stays the
 * caller's (the run never frees it). */
typedef int (*vd_probe_list_engine_fn)(void *ctx, vd_docker **out, vd_error *err);

/* What `voxdeploy health` does and the sidecar's /v1/report serves: load the
 * project's voxdeploy.yml and compose model from disk (vd_config_bundle_load:
 * the process environment over the project's .env), build the probes (every
 * service, or only_service) and run each once, concurrently, under
 * health.deadline (vd_health_check).  `report` must be initialised; it is
 * filled whenever the probes ran.  0 healthy, VD_EUNHEALTHY unhealthy, another
 * code when the probes could not run (no compose file, bad configuration:
 * VD_EINVAL; no engine). */
int vd_probe_list_run(const vd_project *p, const char *only_service, vd_probe_list_engine_fn engine,
		  void *engine_ctx, vd_health_report *report, vd_error *err);

/* True when the image reference names the postgres image: `postgres` or
 * `ANY/postgres`, with any tag or digest (exported for tests). */
bool vd_probe_list_is_postgres_image(const char *image);

#endif
