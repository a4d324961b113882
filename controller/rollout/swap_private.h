/* voxdeploy — what swap*.c share; not for other modules. */
#ifndef VD_CONTROLLER_SWAP_PRIVATE_H
#define VD_CONTROLLER_SWAP_PRIVATE_H

#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "common/json.h"
#include "controller/model/compose.h"
#include "controller/rollout/backup.h"
#include "controller/rollout/prove.h"
#include "controller/rollout/swap.h"

/* One service being replaced. */
struct vd_swap_svc {
	const vd_compose_service *s;
	char *cname;        /* the container's name */
	char *tmpname;      /* the new one's name until it takes cname */
	char *asidename;    /* the old one's name while it is kept */
	char *ref;          /* the image reference the container runs ("app:latest") */
	char *repo, *tag;   /* ref split */
	int stop_s;         /* stop grace */
	bool start_first;   /* start the new one and prove it before stopping the old */
	size_t level;       /* stop order: 0 first (nothing swapped depends on it) */
	size_t group;       /* services linked by depends_on are replaced together */
	char *old_id;       /* the container running now, or NULL (first deploy) */
	char *old_image;    /* its image id */
	bool old_running;
	char *old_hash;     /* its com.docker.compose.config-hash label */
	char *old_signal;   /* its Config.StopSignal, or NULL (SIGTERM) */
	vd_kvs inherit;     /* its volumes the new container keeps (target -> name) */
	char *new_image;    /* the image id the new container runs */
	char *new_id;       /* the new container */
	bool aside;         /* the old one is renamed aside */
	bool placed;        /* the new one has the service's name */
	bool retagged;      /* ref was moved to new_image */
	bool retained;      /* new_image is a retained one (rollback): no build */
	bool started;       /* the new one was started */
	bool stopping;      /* its old one is stopped now (stop_olds' level) */
	bool dumped;        /* its database was dumped before its old container stopped */
	vd_backup_info dump;
};

typedef struct vd_swap {
	vd_docker *d;
	const vd_swap_options *o;
	vd_compose *c;
	struct vd_swap_svc *v;   /* in dependency order */
	size_t n;
	uint64_t deadline_ms, stable_ms;
	/* APP_ONLY with backup.before app_only: the databases dumped while the
	 * app was stopped (they keep running) */
	vd_backup_info *side_dumps;
	size_t n_side_dumps;
	bool released;           /* the release step ran (it may have changed data) */
	const volatile int *cancel; /* set: health waits give up (another start failed) */
	volatile int *abort;     /* groups replaced side by side: set by the first to fail */
	size_t group_now;        /* the group this copy replaces */
	char sha12[13];
	const char *commit;      /* what the new containers are labelled with */
} vd_swap;

/* The services a deploy replaces, in dependency order (w->v, w->n): the
 * app service alone, or (o->full) every one without a profile.  VD_EINVAL
 * when there is no app service to tell. */
int vd_swap_choose_services(vd_swap *w, vd_error *err);
/* Free what w holds (its services, the compose model). */
void vd_swap_release(vd_swap *w);

/* swap_swarm.c: the same deploy as the services of a stack on a Swarm
 * manager (o->swarm). */
int vd_swap_swarm_run(vd_docker *d, const vd_swap_options *o, vd_swap_result *out, vd_error *err);

/* --- the swarm swap's state (swap_swarm.c, swap_swarm_end.c) --- */

/* a wait for a service with no deadline of its own */
#define VD_SWARM_DEFAULT_DEADLINE_MS 60000

/* What this deploy does to one service of the stack (beside w->v[i]). */
struct vd_swarm_svc {
	char *name;            /* <project>_<service> */
	char *id;              /* the service, once it exists */
	char *image;           /* the ContainerSpec.Image sent */
	char *image_label;     /* com.docker.stack.image sent */
	bool created;          /* created by this deploy: the undo removes it */
	bool updated;          /* updated by this deploy: the undo rolls it back */
	int64_t before;        /* the version it had before this deploy's update */
};

struct vd_swarm_swap {
	vd_swap *w;
	struct vd_swarm_svc *s;   /* w->n of them */
	int64_t nodes;
};

/* swap_swarm.c: the X-Registry-Auth of the deploy's registry, or NULL. */
const char *vd_swarm_auth(const struct vd_swarm_swap *x);
/* The same for service i: only when its image is the registry's (a built
 * service's always is; the engine would hand the credentials to any other
 * registry too). */
const char *vd_swarm_auth_for(const struct vd_swarm_swap *x, size_t i);
/* swap_swarm_end.c: the end of a swarm deploy. */
/* Wait until service i converged (rollback: a rollback was asked for). */
int vd_swarm_converge(struct vd_swarm_swap *x, size_t i, bool rollback, vd_error *err);
/* The proof of the stack (restored: of the rollback). */
int vd_swarm_prove(struct vd_swarm_swap *x, bool restored, vd_swap_result *out, vd_error *err);
void vd_swarm_fail_with(vd_swap_result *out, const vd_error *why);
/* A failure (why): every service this deploy touched back, proven. */
int vd_swarm_roll_back(struct vd_swarm_swap *x, vd_swap_result *out, vd_error *why);
/* voxdeploy rollback on a swarm: the app's service back to its previous spec. */
int vd_swarm_roll_back_app(struct vd_swarm_swap *x, vd_swap_result *out, vd_error *err);
/* A done deploy: what the state records. */
int vd_swarm_finish(struct vd_swarm_swap *x, vd_swap_result *out, vd_error *err);
/* Where the deploy's services run at its end (out->nodes). */
void vd_swarm_where_they_run(struct vd_swarm_swap *x, vd_swap_result *out);

/* Report a step (journal first, then progress); detail printf-style or
 * NULL. */
int vd_swap_step(vd_swap *w, const char *step, const char *state, const struct vd_swap_svc *v,
		 uint64_t started, vd_error *err, const char *fmt, ...)
	__attribute__((format(printf, 7, 8)));

/* The image every service that is not built runs must be on the engine
 * (voxdeploy never pulls): new_image is its id. */
int vd_swap_local_images(vd_swap *w, vd_error *err);

/* A rollback: the app's new image is its retained <repo>:<rollback_tag>;
 * *commit (caller frees) the commit it was built from, or NULL.  A tag that
 * is not there is VD_EINVAL naming the retained tags. */
int vd_swap_retained_image(vd_swap *w, char **commit, vd_error *err);

/* Build every built service's image, tagged <repo>:voxdeploy-<sha12> only
 * (the reference the running containers use does not move yet); in a dry
 * run, report what would be built. */
int vd_swap_build(vd_swap *w, vd_error *err);

/* Tag each running image <repo>:voxdeploy-previous and move each built
 * service's reference (<repo>:<tag>) to its new image. */
int vd_swap_tag(vd_swap *w, vd_error *err);

/* Keep the newest retain_images voxdeploy-<sha12> tags per repository and
 * remove the older tags (never an image a container uses); failures are
 * logged only. */
void vd_swap_prune_images(vd_swap *w);

/* The health proof (rollout/prove.h) of the n targets and the configured
 * probes, with the swap's deadline and stability window; its report into
 * out->health. */
int vd_swap_prove(vd_swap *w, const vd_prove_target *t, size_t n, vd_swap_result *out, vd_error *err);

/* The container id of service alone, healthy (its HEALTHCHECK, if any). */
int vd_swap_container_healthy(vd_swap *w, const char *service, const char *id, vd_error *err);

/* swap_start.c: deploy.parallel (0: 8); fn for every service, on up to
 * that many threads (each with its own engine connection and copy of w),
 * the first failure stops handing out services and is returned; the
 * starts of group g along depends_on (see swap_start.c). */
typedef int (*vd_swap_each_fn)(vd_swap *w, struct vd_swap_svc *v, vd_error *err);
size_t vd_swap_parallel(const vd_swap *w);
int vd_swap_each(vd_swap *w, vd_swap_each_fn fn, vd_error *err);
/* The same on up to bound threads. */
int vd_swap_each_bounded(vd_swap *w, vd_swap_each_fn fn, size_t bound, vd_error *err);
/* fn for every service as vd_swap_each does while side goes over every
 * service on up to four threads of its own (their own connections).  The
 * first failure of either is returned, after both are done. */
int vd_swap_each_beside(vd_swap *w, vd_swap_each_fn fn, vd_swap_each_fn side, vd_error *err);
int vd_swap_start_group(vd_swap *w, size_t g, vd_error *err);
/* fn for groups 0..n_groups-1 side by side, each on its own thread; the
 * first failure cancels the others' waits and is returned. */
int vd_swap_groups(vd_swap *w, size_t n_groups, int (*fn)(vd_swap *w, size_t g, vd_error *err),
		   vd_error *err);

/* swap_backup.c: the database of v dumped before its old container stops
 * (FULL_RESTART); the databases dumped while the app is stopped (APP_ONLY);
 * a dump put back into the old PostgreSQL on a rollback; whether any new
 * container was started; the dumps named in a failure. */
int vd_swap_dump_before_stop(vd_swap *w, struct vd_swap_svc *v, vd_error *err);
int vd_swap_dump_side(vd_swap *w, vd_error *err);
/* On a swarm: the stack's databases dumped before the first service
 * changes (registry_auth pulls the database's image for the helper). */
int vd_swap_dump_swarm(vd_swap *w, const char *registry_auth, vd_error *err);
int vd_swap_put_database_back(vd_swap *w, struct vd_swap_svc *v, vd_error *err);
bool vd_swap_any_started(const vd_swap *w);
void vd_swap_tell_dumps(vd_swap *w, vd_swap_result *out);
int vd_swap_put_side_back(vd_swap *w, vd_error *err);

/* swap_evidence.c: before the restore removes them, the last log lines and
 * the inspect of every new container, kept under the deploy's id
 * (controller/state/evidence.h); failures are logged only. */
void vd_swap_keep_evidence(vd_swap *w);

#endif
