/* voxdeploy — the release step (voxdeploy.yml deploy.release): a one-off
 * container of the service's NEW image running a command — a migration —
 * with the service's environment, volumes and networks, as `compose run
 * --rm` would (no published ports, no network aliases, no restart, no
 * HEALTHCHECK, labelled com.docker.compose.oneoff=True).  The swap runs it
 * after the dump and before the service's new container starts; its output
 * is told and journalled line by line; exit 0 goes on, anything else (or
 * its timeout) fails the deploy.  The container is always removed.  On a
 * swarm the same step is a job service (below).
 */
#ifndef VD_CONTROLLER_RELEASE_H
#define VD_CONTROLLER_RELEASE_H

#include "common/buf.h"
#include "common/error.h"
#include "controller/config/config.h"
#include "controller/model/compose.h"
#include "controller/model/spec.h"
#include "controller/rollout/progress.h"
#include "docker_api/docker.h"

/* The one-off's create body from the service's (pure; exported for tests):
 * Cmd replaced by argv, and what `compose run` leaves out left out. */
int vd_release_body(const char *service_body, char *const *argv, size_t argc, vd_buf *out,
		    vd_error *err);

/* Run the release step for service s from image (its new reference); the
 * container is named <name>-voxdeploy-release.  0 when it exited 0;
 * VD_EAPI with its exit code and last output line otherwise; VD_ETIMEOUT
 * past the timeout (it is killed). */
int vd_release_run(vd_docker *d, const vd_compose *c, const vd_compose_service *s,
		   const vd_spec_options *spec, const vd_config_release *rel, vd_progress *progress,
		   vd_error *err);

/* On a swarm the one-off is a job service (mode replicated-job, one
 * completion), `<stack service>-voxdeploy-release`, made from the service's
 * ServiceSpec as the deploy sends it (the new image, pinned): ContainerSpec
 * Args replaced by argv, no HEALTHCHECK, no restart, no ports, no network
 * aliases, no update or rollback config, not in the stack (no namespace
 * label; io.voxdeploy.oneoff=True).  Pure; exported for tests. */
int vd_release_job_spec(const char *service_spec, char *const *argv, size_t argc, vd_buf *out,
			vd_error *err);

/* Run it: created (registry_auth: an encoded X-Registry-Auth or NULL),
 * waited for until its task completed (exit 0 goes on) or failed, at most
 * rel->timeout_ms; its output (the job's service logs) told and journalled
 * line by line once it ended; the job service always removed.  Errors as
 * vd_release_run's. */
int vd_release_swarm_run(vd_docker *d, const char *service_spec, const char *service,
			 const vd_config_release *rel, const char *registry_auth, vd_progress *progress,
			 vd_error *err);

#endif
