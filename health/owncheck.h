/* voxdeploy — a container's own HEALTHCHECK, run by voxdeploy through the
 * exec API while the engine still says `starting`.
 *
 * The engine runs a check first `interval` after the container starts (30 s
 * by default), so a container that is ready in one second shows `starting`
 * for thirty.  voxdeploy runs the same test itself, as the engine would
 * (moby's daemon/health.go): CMD as argv, CMD-SHELL through the container's
 * SHELL (default /bin/sh -c), the container's user, working directory and
 * environment, the check's timeout (default 30 s), exit code 0 = passed,
 * stdout and stderr together, at most 4096 bytes kept.
 *
 * A passing run is evidence the container is ready.  A failing run is no
 * verdict: only the engine says unhealthy (retries, start_period).  A run
 * that the engine cannot start (no shell for CMD-SHELL, no such binary, the
 * exec refused) is "unavailable": the caller goes back to the engine's
 * status.  A run past its timeout is stopped (docker_api/exec.h,
 * vd_exec_kill); one that cannot be stopped is reported as left running.
 *
 * One run is a small state machine a poll loop drives (health/wait.c):
 * vd_owncheck_start, then pollfds/timeout/step until step says it is done.
 */
#ifndef VD_HEALTH_OWNCHECK_H
#define VD_HEALTH_OWNCHECK_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "common/json.h"
#include "docker_api/docker.h"
#include "health/probe.h"

#define VD_OWNCHECK_DEFAULT_TIMEOUT_MS 30000
#define VD_OWNCHECK_MAX_OUTPUT 4096

/* The test of a container, read from its inspect. */
typedef struct vd_owncheck_cmd {
	char **argv;            /* NULL-terminated */
	char *user;             /* Config.User, or NULL */
	char *working_dir;      /* Config.WorkingDir, or NULL */
	uint64_t timeout_ms;    /* Healthcheck.Timeout, else 30 s */
	bool shell;             /* CMD-SHELL */
} vd_owncheck_cmd;

/* Read the test from an inspect answer (pure).  VD_ENOTFOUND when the
 * container has no check (no Healthcheck, an empty Test, NONE);
 * VD_EUNSUPPORTED for a test type the engine does not run either;
 * VD_EPROTO for a malformed one; VD_ENOMEM. */
int vd_owncheck_cmd_from_inspect(yajl_val inspect, vd_owncheck_cmd *out, vd_error *err);
void vd_owncheck_cmd_release(vd_owncheck_cmd *c);

typedef enum vd_owncheck_outcome {
	VD_OWNCHECK_PASSED = 0,   /* exit code 0 */
	VD_OWNCHECK_FAILED,       /* another exit code */
	VD_OWNCHECK_TIMEOUT,      /* ran past its timeout (stopped, unless left_running) */
	VD_OWNCHECK_UNAVAILABLE,  /* the engine could not run it */
} vd_owncheck_outcome;

/* "passed", "failed", "timeout", "unavailable". */
const char *vd_owncheck_outcome_name(vd_owncheck_outcome o);

typedef struct vd_owncheck_result {
	vd_owncheck_outcome outcome;
	int64_t exit_code;        /* -1 when not known */
	uint64_t latency_ms;      /* from the exec's create to its exit code */
	bool left_running;        /* timed out and could not be stopped */
	/* the output's last non-blank line ("exit code N: " before it when
	 * the run failed) or why it could not run; one line, redacted
	 * (vd_health_result_set) */
	char detail[VD_HEALTH_DETAIL_MAX];
} vd_owncheck_result;

/* Judge a finished run (pure): exit code and output → outcome and detail.
 * An exit code 126/127 whose output is the runtime's own "exec failed"
 * message means the command could not start: unavailable. */
void vd_owncheck_judge(int64_t exit_code, const char *output, size_t len,
		       vd_owncheck_result *out);

typedef struct vd_owncheck vd_owncheck;

/* Create and start one run in container `id` (a full id: the stop checks
 * its cgroup) under timeout_ms (0 → the check's own).  On failure to create
 * or start, the run is not started: *out is NULL and res says unavailable
 * (return 0), or a code for out of memory. */
int vd_owncheck_start(vd_docker *d, const char *id, const vd_owncheck_cmd *cmd,
		      uint64_t timeout_ms, vd_owncheck **out, vd_owncheck_result *res,
		      vd_error *err);
/* The sockets to wait on (at most max written). */
size_t vd_owncheck_pollfds(const vd_owncheck *o, struct pollfd *fds, size_t max);
/* Milliseconds until vd_owncheck_step() must be called anyway. */
long vd_owncheck_timeout(const vd_owncheck *o);
/* Do what is ready (fds: poll's results for the entries pollfds wrote, or
 * NULL).  Returns true once the run is over, with *res filled. */
bool vd_owncheck_step(vd_owncheck *o, const struct pollfd *fds, size_t n,
		      vd_owncheck_result *res);
/* Free a run; one still going is stopped first. */
void vd_owncheck_free(vd_owncheck *o);

#endif
