/* voxdeploy — database dumps: `pg_dump -Fc` run inside a PostgreSQL
 * service's own container through the exec API (its own client: the
 * server's major version), streamed to $STATE_DIR/backups/<id>.dump, and
 * put back with `pg_restore --clean --if-exists --single-transaction`, the
 * file sent to the command's stdin.
 *
 * Each dump is two files: <id>.dump (written as <id>.dump.partial, fsync'd,
 * renamed) and <id>.json, its record:
 *   {"id","deploy_id","service","database","created","bytes","seconds"}
 * A dump is kept only when pg_dump exited 0, the file is not empty and it
 * starts with the custom format's "PGDMP".  Before it starts, the free space
 * of the backups directory must hold pg_database_size × 1.2.
 *
 * Secrets: the password goes to the command's environment (PGPASSWORD) and
 * is a registered secret; it is never in a message, the journal or a file.
 */
#ifndef VD_CONTROLLER_BACKUP_H
#define VD_CONTROLLER_BACKUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "controller/config/config.h"
#include "controller/model/compose.h"
#include "controller/model/interpolate.h"
#include "controller/state/backups.h"
#include "controller/state/journal.h"
#include "docker_api/docker.h"
#include "health/probe.h"

/* A PostgreSQL service whose database is dumped. */
typedef struct vd_backup_target {
	char *service;
	char *user;            /* POSTGRES_USER, else postgres */
	char *password;        /* POSTGRES_PASSWORD, or NULL */
	char *database;        /* POSTGRES_DB, else the user */
} vd_backup_target;

typedef struct vd_backup_targets {
	vd_backup_target *items;
	size_t len;
} vd_backup_targets;

/* The services the settings cover (none with `backup: false`): each whose
 * image is postgres (vd_probe_list_is_postgres_image) or that a configured
 * postgres probe names, kept to backup.services when given (a name there
 * that is no such service is VD_EINVAL); credentials from the service's
 * environment as the container gets it.  A service that runs the image
 * with an entrypoint of its own, or that others wait for to complete (a
 * one-shot psql client), is no server.  out is initialised here. */
int vd_backup_targets_find(const vd_config *c, const vd_compose *model, vd_env_lookup lookup,
			   void *ctx, vd_backup_targets *out, vd_error *err);
const vd_backup_target *vd_backup_targets_get(const vd_backup_targets *t, const char *service);
void vd_backup_targets_release(vd_backup_targets *t);

/* Dump t's database into the state directory: pg_dump runs in the running
 * container (id or name) and connects to db_host, or when that is NULL to
 * the container's own address (the database's own container); deploy_id
 * may be NULL.  *out describes the dump kept.
 * VD_ETOOBIG when the free space is short; VD_EAPI for pg_dump's failure
 * (its stderr's last line in the message); VD_ETIMEOUT past timeout_ms;
 * VD_EIO for the file.  Nothing is left behind when it fails. */
int vd_backup_dump(vd_docker *d, const char *state_dir, const vd_backup_target *t,
		   const char *container, const char *db_host, const char *deploy_id,
		   uint64_t timeout_ms, vd_backup_info *out, vd_error *err);

/* On a swarm (backup_swarm.c): the database service <project>_<service>
 * runs on any node; pg_dump runs in a helper container on this engine (the
 * manager) from the service's own image (pulled when missing here, with
 * registry_auth — an encoded X-Registry-Auth or NULL — when the image is
 * registry's), attached to one of
 * the service's networks a container may join, and connects to
 * tasks.<project>_<service>.  The helper, <project>_<service>-voxdeploy-dump
 * labelled VD_BACKUP_HELPER_LABEL=<project>, is removed in every case.
 * Errors as vd_backup_dump's; VD_ENOTFOUND when the stack has no such
 * service, VD_EINVAL when none of its networks is attachable. */
#define VD_BACKUP_HELPER_LABEL "io.voxdeploy.dump"
int vd_backup_swarm_dump(vd_docker *d, const vd_compose *c, const char *registry,
			 const char *registry_auth, const char *state_dir, const vd_backup_target *t, const char *deploy_id,
			 uint64_t timeout_ms, vd_backup_info *out, vd_error *err);
/* The same helper running pg_restore of dump b (vd_backup_restore). */
int vd_backup_swarm_restore(vd_docker *d, const vd_compose *c, const char *registry,
			    const char *registry_auth, const char *state_dir, const vd_backup_info *b,
			    const vd_backup_target *t, uint64_t timeout_ms, vd_error *err);
/* The helper's create body (pure; exported for tests). */
int vd_backup_helper_body(const char *image, const char *network, const char *project,
			  vd_buf *out, vd_error *err);
/* Remove the helpers of project's dumps a killed run left (told as
 * warnings); 0 unless they cannot be listed. */
int vd_backup_swarm_clean(vd_docker *d, const char *project, vd_error *err);

/* Put dump b back into the database of t's running container (or, with
 * db_host, run in `container` against that host): pg_restore --clean
 * --if-exists --single-transaction, the file on its stdin.
 * VD_EAPI with pg_restore's last error line when it fails (the single
 * transaction leaves the database as it was). */
int vd_backup_restore(vd_docker *d, const char *state_dir, const vd_backup_info *b,
		      const vd_backup_target *t, const char *container, const char *db_host,
		      uint64_t timeout_ms, vd_error *err);

/* `voxdeploy restore`: put dump b back while the server runs.  The services
 * that depend on b's PostgreSQL service (directly or not) and run are
 * stopped (reverse dependency order), the dump restored into the running
 * PostgreSQL container, they are started again (dependency order) and the
 * lot proven healthy (rollout/prove.h) with the probes given.  0 when the
 * restore and the proof passed; VD_EAPI (the database as it was: pg_restore
 * runs in one transaction) when the restore failed and the restarted
 * services are healthy; VD_ERESTORE when they are not; VD_ECONFLICT when
 * the PostgreSQL container is not running (nothing done). */
struct vd_progress;
typedef struct vd_backup_put_back_options {
	const vd_compose *model;
	const vd_config *config;        /* stop grace, health deadline and cadence */
	const vd_backup_target *target;
	const vd_backup_info *backup;
	const char *state_dir;
	const vd_probe *probes;
	size_t n_probes;
	struct vd_progress *progress;   /* every step is told here */
	/* on a swarm: where the helper's image may come from, and its
	 * X-Registry-Auth (or NULL) */
	const char *registry;
	const char *registry_auth;
} vd_backup_put_back_options;

int vd_backup_put_back(vd_docker *d, const vd_backup_put_back_options *o, vd_error *err);

/* The same on a swarm (backup_restore_swarm.c).  The writers are the
 * stack's services that depend on the database, directly or not; each
 * that runs is scaled to 0 replicas, its spec labelled
 * VD_RESTORE_LABEL=<the dump's id>, and waited for until none of its tasks
 * runs (last dependents first); the dump is put back through the helper
 * (vd_backup_swarm_restore); each writer goes back to its spec with
 * rollback=previous (dependencies first) and the lot is proven.  The
 * swarm's previous spec of a writer is then the scaled-down one:
 * `voxdeploy rollback` sees the label and refuses it.  A killed restore's
 * writers (the label on their spec) are put back by recover or the next
 * restore (vd_backup_swarm_leftovers).  Errors as
 * vd_backup_put_back's; VD_EUNSUPPORTED (nothing done) for a writer in
 * global mode, which cannot scale. */
#define VD_RESTORE_LABEL "io.voxdeploy.restore"
int vd_backup_swarm_put_back(vd_docker *d, const vd_backup_put_back_options *o, vd_error *err);

/* The services of the stack `project` a killed restore left at 0 replicas
 * (VD_RESTORE_LABEL still on their spec) back to their spec with
 * rollback=previous, each waited for (deadline_ms) and told as the step
 * "restore"; *n counts them. */
int vd_backup_swarm_leftovers(vd_docker *d, const char *project, uint64_t deadline_ms,
			      struct vd_progress *progress, size_t *n, vd_error *err);

#endif
