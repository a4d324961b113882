/* voxdeploy — the engine-facing half of a deploy, behind one small seam:
 * build, swap, wait, restore.  Two backends: one Docker engine (containers
 * recreated stop-first, renamed aside and kept until the new ones are proven
 * healthy), or a Swarm manager (swarm set: the services of the project's
 * stack updated in dependency order, each converged, proven, and rolled back
 * to their previous spec on failure).
 */
#ifndef VD_CONTROLLER_SWAP_H
#define VD_CONTROLLER_SWAP_H

#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "common/json.h"
#include "controller/config/config.h"
#include "controller/model/interpolate.h"
#include "controller/model/project.h"
#include "controller/rollout/backup.h"
#include "controller/rollout/progress.h"
#include "docker_api/docker.h"
#include "health/probe.h"
#include "health/report.h"

typedef struct vd_swap_options {
	const vd_project *project;     /* the checkout is at the target commit */
	const char *commit;            /* the target commit (labels, image tags) */
	const char *deploy_id;
	bool full;                     /* every service; else the app service only */
	const char *app_service;       /* NULL: told from the compose model */
	vd_env_lookup lookup;          /* the shell over the project's .env */
	void *lookup_ctx;
	bool dry_run;
	int retain_images;             /* voxdeploy-<sha12> tags kept per image; 0: 5 */
	int compose_hash;              /* whose config-hash and image names: 1 compose 1.29,
	                                * else compose v2 (deploy.compose_hash) */
	int builder;                   /* deploy.builder: a vd_config_builder (0: auto) */
	int parallel;                  /* deploy.parallel: containers created, renamed and
	                                * started at once; 0: 8 */
	uint64_t health_deadline_ms;   /* 0: 60 s */
	uint64_t stable_ms;            /* 0: 5 s */
	uint64_t fast_check_ms;        /* own checks of starting containers; 0: none */
	int stop_grace_s;              /* < 0 or 0: the service's stop_grace_period, else 10 s */
	/* probes beyond the swapped containers' own (PostgreSQL, HTTP,
	 * resources from voxdeploy.yml): they must pass too, after the swap and
	 * after a restore */
	const vd_probe *probes;
	size_t n_probes;
	/* a rollback: run the app from its retained image <repo>:<tag>
	 * ("voxdeploy-previous", "voxdeploy-<sha12>") instead of building;
	 * an unknown tag is VD_EINVAL listing the retained ones */
	const char *rollback_tag;
	/* services that may run twice for a moment (voxdeploy.yml
	 * deploy.services.NAME.order: start-first): the new container starts
	 * and proves healthy before the old one stops.  Never for a service that
	 * publishes a host port (both cannot bind it): those stay stop-first. */
	const char *const *start_first;
	size_t n_start_first;
	vd_progress *progress;         /* every step is told (and journalled) here */
	/* a FULL_RESTART dumps these PostgreSQL services' databases after
	 * their dependents stopped and before they stop (controller/rollout/
	 * backup.h); an APP_ONLY deploy, once the app stopped (they go on
	 * running); a failed dump fails the deploy before anything is
	 * replaced.  NULL or empty: no dump. */
	const vd_backup_targets *backup;
	const char *state_dir;
	int64_t backup_keep;           /* dumps kept per service; 0: 10 */
	uint64_t backup_timeout_ms;    /* 0: 30 min */
	/* a failed FULL_RESTART whose new containers started puts the dump back
	 * into the old PostgreSQL before its dependents start again */
	bool restore_on_rollback;
	/* the release step (rollout/release.h) before its service's new
	 * container starts; NULL: none for this deploy */
	const vd_config_release *release;
	/* deploy.backend swarm: the services of the stack <project> on the
	 * engine, a Swarm manager, instead of containers (swap_swarm.c) */
	bool swarm;
	/* deploy.registry: built images are pushed there and the services pin
	 * them by digest; NULL: only a swarm of one node is accepted */
	const char *registry;
	/* its X-Registry-Auth (vd_config_registry_auth), or NULL: never logged */
	const char *registry_auth;
} vd_swap_options;

typedef struct vd_swap_result {
	vd_deploy_outcome outcome;
	char *failure;                 /* why it failed (outcome != DONE) */
	vd_kvs images;                 /* service -> image id now running */
	vd_kvs containers;             /* service -> container id now running */
	char *image_commit;            /* rollback: the commit the retained image was built
	                                * from (its io.voxdeploy.commit label), or NULL */
	bool restored;                 /* it failed after touching containers and restored */
	vd_health_report health;       /* the last health verdict (the new version's, or the
	                                * restored one's) */
	vd_kvs nodes;                  /* swarm: node (hostname) -> the deploy's services with a
	                                * task running there at the end, "app postgres" */
} vd_swap_result;

/* The names a swap gives containers while it works: the new one before it
 * takes the service's name, the old one while it is kept aside.  recover
 * finds an interrupted swap by them. */
#define VD_SWAP_NEW_SUFFIX "-voxdeploy-new"
#define VD_SWAP_OLD_SUFFIX "-voxdeploy-old"
/* The release step's one-off (rollout/release.h); recover removes one a
 * killed deploy left. */
#define VD_SWAP_RELEASE_SUFFIX "-voxdeploy-release"

void vd_swap_result_init(vd_swap_result *r);
void vd_swap_result_release(vd_swap_result *r);

/* Build what must be built (the old version keeps serving), then swap and
 * prove health; restore the previous containers and images by itself when
 * anything fails after the first container was touched.  Returns an error
 * only when it could not start (nothing touched); every other ending is an
 * outcome in `out`. */
int vd_swap_run(vd_docker *d, const vd_swap_options *opts, vd_swap_result *out, vd_error *err);

/* deploy.backend auto: *swarm is whether the engine manages a swarm that
 * runs services of the stack `project` (label com.docker.stack.namespace). */
int vd_swap_swarm_detect(vd_docker *d, const char *project, bool *swarm, vd_error *err);

/* Whether the project runs as a stack on a swarm: deploy.backend swarm, or
 * auto and vd_swap_swarm_detect finds its services. */
int vd_swap_on_swarm(vd_docker *d, const vd_config *c, const char *project, bool *swarm, vd_error *err);

/* Undo a swarm deploy's work on one service (ref: its id or name; service:
 * the compose name, for the report): remove it (one the deploy created), or
 * roll it back to its previous spec (POST /services/{id}/update?rollback=
 * previous) and wait until that converged, at most deadline_ms (0: 60 s). */
int vd_swap_swarm_undo(vd_docker *d, const char *ref, const char *service, bool remove,
		       const char *registry_auth, uint64_t deadline_ms, vd_error *err);

#endif
