/* voxdeploy — the health proof after a swap, a restore or a recover: one
 * container probe per container put in place (by id: names move during a
 * swap) and the configured probes, waited for with a deadline and a
 * stability window (health/wait), told as the step "health".
 */
#ifndef VD_CONTROLLER_PROVE_H
#define VD_CONTROLLER_PROVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "controller/rollout/progress.h"
#include "docker_api/docker.h"
#include "health/probe.h"
#include "health/report.h"

/* A container put in place. */
typedef struct vd_prove_target {
	const char *service;
	const char *id;
	bool fresh;            /* created by this run: its restart count starts at 0 */
	bool one_shot;         /* others wait for it to complete: exit code 0 passes */
	bool swarm;            /* id is a Swarm service: its tasks converged (the
	                        * configured container and resources probes, which
	                        * look at one engine's containers, do not apply) */
	bool after_rollback;   /* swarm: a rollback was asked for, its end is the goal */
} vd_prove_target;

typedef struct vd_prove_options {
	const vd_prove_target *targets;
	size_t n_targets;
	/* the configured probes (voxdeploy.yml, or derived); a container probe
	 * for a target's service gives way to the target's own */
	const vd_probe *probes;
	size_t n_probes;
	uint64_t deadline_ms;  /* 0: VD_HEALTH_DEFAULT_DEADLINE_MS */
	uint64_t stable_ms;    /* 0: 5 s */
	uint64_t fast_check_ms; /* own checks of starting containers; 0: none */
} vd_prove_options;

/* Prove.  0 healthy; VD_EUNHEALTHY with the reason in err when not; another
 * code when it could not wait (the engine went away).  *out is filled
 * whenever the return is 0 or VD_EUNHEALTHY, and empty otherwise (the
 * caller releases it either way). */
int vd_prove(vd_docker *d, vd_progress *progress, const vd_prove_options *o, vd_health_report *out,
	     vd_error *err);

/* health/wait's notes on own checks (vd_health_wait_opts.on_note), told as
 * steps "fast_check" of the vd_progress ctx. */
void vd_prove_note(void *ctx, const vd_probe *p, const char *state, const char *detail);

#endif
