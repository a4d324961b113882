/* voxdeploy — the PostgreSQL probe (the one place that speaks libpq).
 *
 * Never blocks: the connection is started with PQconnectStartParams and
 * driven by PQconnectPoll as its socket becomes ready, the query is sent
 * with PQsendQuery and its results are read as they arrive, all under the
 * check's deadline.  TLS (sslmode in the conninfo) and several hosts work as
 * libpq does them; the socket may change while connecting, so ask for it
 * after every step.
 *
 * The password — from `password=`, a URI's user:password@ or a `${VAR}` the
 * caller put there — is registered with vd_secret_add() and scrubbed from
 * every detail and error, whatever libpq says.
 */
#ifndef VD_HEALTH_POSTGRES_H
#define VD_HEALTH_POSTGRES_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "health/probe.h"

/* Parse the conninfo without connecting; register its password as a
 * secret.  VD_EINVAL with libpq's reason (quoted fragments masked: they may
 * be a piece of the password). */
int vd_postgres_validate(const char *conninfo, vd_error *err);

/* "host:port/dbname" (as the conninfo says; libpq's defaults where it says
 * nothing) into out; never the password. */
void vd_postgres_target(const char *conninfo, char *out, size_t size);

/* "15.4" for PQserverVersion()'s 150004 ("9.6.24" for 90624). */
void vd_postgres_version_format(int server_version, char *out, size_t size);

/* One check in flight. */
typedef struct vd_postgres_check vd_postgres_check;

/* Start connecting (no waiting).  timeout_ms bounds the whole check
 * (connect + query); 0 → the probe's timeout.  Fails only for bad input or
 * memory (VD_EINVAL, VD_ENOMEM); a server that cannot be reached is a
 * result, delivered by vd_postgres_check_step(). */
int vd_postgres_check_start(vd_postgres_check **out, const vd_probe *p, uint64_t timeout_ms,
			    vd_error *err);
/* What to wait for: fd and events into *pfd (fd -1 when there is nothing
 * to wait on: call step at once).  Returns the ms left before the check's
 * deadline. */
uint64_t vd_postgres_check_pollfd(const vd_postgres_check *c, struct pollfd *pfd);
/* Advance after the socket was ready (revents from poll) or the deadline
 * came.  Returns true once the check is over and *out holds its result.  */
bool vd_postgres_check_step(vd_postgres_check *c, short revents, vd_health_result *out);
/* Abandon the connection (NULL is a no-op). */
void vd_postgres_check_free(vd_postgres_check *c);

/* A whole check with its own poll loop (for `voxdeploy health` of one probe
 * and for tests): timeout_ms as above. */
void vd_postgres_probe_run(const vd_probe *p, uint64_t timeout_ms, vd_health_result *out);

#endif
