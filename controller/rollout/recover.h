/* voxdeploy — finishing or undoing a deploy that was interrupted (a crash, a
 * kill -9, the engine going away).
 *
 * The journal says which deploy did not write its final record; the engine
 * says where it stood, by the names a swap gives containers (swap.h): a
 * "<name>-voxdeploy-new" container was created but not put in place; a
 * "<name>-voxdeploy-old" container is an old one kept aside while the new
 * one holds the name.
 *
 *   complete  when no new container is left unplaced, every container that
 *             holds a service's name next to a kept-aside one comes from the
 *             interrupted deploy and runs, and they all prove healthy: the
 *             kept-aside containers are removed and current.json records
 *             the new version;
 *   restore   otherwise: the new containers are removed (never a volume),
 *             the old ones renamed back, their images tagged back to the
 *             image references, started in dependency order and proven
 *             healthy; the checkout goes back to the deployed commit.
 *
 * Either way the interrupted deploy's journal gets its final record.  Run
 * again, it finds nothing to do.
 */
#ifndef VD_CONTROLLER_RECOVER_H
#define VD_CONTROLLER_RECOVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "controller/state/journal.h"
#include "controller/model/project.h"
#include "controller/rollout/progress.h"
#include "docker_api/docker.h"
#include "health/probe.h"

typedef struct vd_recover_options {
	const vd_project *project;
	const char *state_dir;
	bool locked;                  /* the caller holds the deploy lock */
	const vd_probe *probes;       /* configured probes that must pass too */
	size_t n_probes;
	uint64_t health_deadline_ms;  /* 0: 60 s */
	uint64_t stable_ms;           /* 0: 5 s */
	uint64_t fast_check_ms;       /* own checks of starting containers; 0: none */
	vd_deploy_progress_fn progress;
	void *progress_ctx;
} vd_recover_options;

typedef enum vd_recover_outcome {
	VD_RECOVER_NOTHING = 0,   /* the last deploy finished; nothing left over */
	VD_RECOVER_COMPLETED,     /* the interrupted deploy's new version runs, healthy */
	VD_RECOVER_RESTORED,      /* the previous version runs again, healthy */
	VD_RECOVER_FAILED,        /* neither could be proven: needs a person */
} vd_recover_outcome;

typedef struct vd_recover_result {
	vd_recover_outcome outcome;
	char deploy_id[VD_DEPLOY_ID_MAX];   /* the interrupted deploy, or "" */
	char detail[512];
} vd_recover_result;

const char *vd_recover_outcome_name(vd_recover_outcome o);

/* Look and, when needed, act.  An error only when it could not look (no
 * engine, an unreadable journal, the lock held by another deploy). */
int vd_recover_run(vd_docker *d, const vd_recover_options *opts, vd_recover_result *out,
		   vd_error *err);

#endif
