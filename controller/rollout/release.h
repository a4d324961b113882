/* voxdeploy — the release step (voxdeploy.yml deploy.release): a one-off
 * container of the service's NEW image running a command — a migration —
 * with the service's environment, volumes and networks, as `compose run
 * --rm` would (no published ports, no network aliases, no restart, no
 * HEALTHCHECK, labelled com.docker.compose.oneoff=True).  The swap runs it
 * after the dump and before the service's new container starts; its output
 * is told and journalled line by line; exit 0 goes on, anything else (or
 * its timeout) fails the deploy.  The container is always removed.
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

#endif
