#include "health/postgres.h"
#include "common/buf.h"
#include "common/clock.h"
#include "common/log.h"

#include <libpq-fe.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum phase {
	PH_CONNECTING,
	PH_SENDING,    /* the query is not all written yet */
	PH_READING,
	PH_DONE,
};

struct vd_postgres_check {
	PGconn *conn;
	enum phase phase;
	PostgresPollingStatusType poll;  /* what PQconnectPoll last asked for */
	uint64_t start_ms;
	uint64_t deadline_at;
	char *query;
	char *password;      /* to scrub whatever libpq says, however short */
	char target[128];
	int server_version;
	bool query_failed;
	char query_error[VD_HEALTH_DETAIL_MAX];
	long rows;
	vd_health_result result;
};

/* Replace every occurrence of secret in `in` with "***" (libpq never
 * echoes a password, but a conninfo fragment can; vd_secret_add() ignores
 * values shorter than 4 bytes, so short ones are handled here). */
static void scrub(const char *in, const char *secret, vd_buf *out)
{
	size_t l = secret ? strlen(secret) : 0;
	const char *p = in, *hit;

	if (l < 2) {
		vd_buf_puts(out, in);
		return;
	}
	while ((hit = strstr(p, secret))) {
		vd_buf_put(out, p, (size_t)(hit - p));
		vd_buf_puts(out, "***");
		p = hit + l;
	}
	vd_buf_puts(out, p);
}

/* Quoted fragments of a conninfo parse error may be part of a password:
 * mask them. */
static void mask_quoted(const char *in, vd_buf *out)
{
	const char *p = in;

	while (*p) {
		const char *q = strchr(p, '"'), *end;

		if (!q) {
			vd_buf_puts(out, p);
			return;
		}
		end = strchr(q + 1, '"');
		if (!end) {
			vd_buf_puts(out, p);
			return;
		}
		vd_buf_put(out, p, (size_t)(q - p));
		vd_buf_puts(out, "\"***\"");
		p = end + 1;
	}
}

static const char *opt(PQconninfoOption *opts, const char *key)
{
	for (; opts && opts->keyword; opts++)
		if (!strcmp(opts->keyword, key))
			return opts->val && *opts->val ? opts->val : NULL;
	return NULL;
}

/* Parse, register the password; *out_password (may be NULL) gets a copy. */
static int parse(const char *conninfo, char **out_password, char *target, size_t tsize,
		 vd_error *err)
{
	PQconninfoOption *opts;
	char *msg = NULL;
	const char *pw, *host, *port, *db;
	int r = 0;

	opts = PQconninfoParse(conninfo ? conninfo : "", &msg);
	if (!opts) {
		vd_buf clean = VD_BUF_INIT;

		if (!msg)
			return vd_error_set(err, VD_ENOMEM, "out of memory");
		mask_quoted(msg, &clean);
		r = vd_error_set(err, VD_EINVAL, "malformed conninfo: %s", vd_buf_cstr(&clean));
		/* one line: libpq ends its messages with a newline */
		if (err && err->msg)
			err->msg[strcspn(err->msg, "\n")] = '\0';
		vd_buf_release(&clean);
		PQfreemem(msg);
		return r;
	}
	pw = opt(opts, "password");
	if (pw && vd_secret_add(pw))
		r = vd_error_set(err, VD_ENOMEM, "out of memory");
	if (!r && out_password)
		*out_password = pw ? strdup(pw) : NULL;
	if (target && tsize) {
		host = opt(opts, "host");
		if (!host)
			host = opt(opts, "hostaddr");
		port = opt(opts, "port");
		db = opt(opts, "dbname");
		if (!db)
			db = opt(opts, "user");
		snprintf(target, tsize, "%s:%s/%s", host ? host : "localhost", port ? port : "5432",
			 db ? db : "");
	}
	PQconninfoFree(opts);
	return r;
}

int vd_postgres_validate(const char *conninfo, vd_error *err)
{
	return parse(conninfo, NULL, NULL, 0, err);
}

void vd_postgres_target(const char *conninfo, char *out, size_t size)
{
	vd_error err = VD_ERROR_INIT;

	if (!size)
		return;
	if (parse(conninfo, NULL, out, size, &err))
		snprintf(out, size, "(malformed conninfo)");
	vd_error_release(&err);
}

void vd_postgres_version_format(int v, char *out, size_t size)
{
	if (v <= 0)
		snprintf(out, size, "unknown");
	else if (v >= 100000)
		snprintf(out, size, "%d.%d", v / 10000, v % 10000);
	else
		snprintf(out, size, "%d.%d.%d", v / 10000, v / 100 % 100, v % 100);
}

/* A one-line result through both scrubbers. */
__attribute__((format(printf, 3, 4)))
static void finish(vd_postgres_check *c, vd_health_status status, const char *fmt, ...)
{
	vd_buf raw = VD_BUF_INIT, clean = VD_BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	vd_buf_vprintf(&raw, fmt, ap);
	va_end(ap);
	scrub(vd_buf_cstr(&raw), c->password, &clean);
	vd_health_result_set(&c->result, status, "%s", vd_buf_cstr(&clean));
	c->result.latency_ms = vd_now_ms() - c->start_ms;
	c->phase = PH_DONE;
	if (c->conn) {
		PQfinish(c->conn);
		c->conn = NULL;
	}
	vd_buf_release(&raw);
	vd_buf_release(&clean);
}

static const char *conn_error(const vd_postgres_check *c)
{
	const char *m = c->conn ? PQerrorMessage(c->conn) : NULL;

	return m && *m ? m : "unknown error";
}

int vd_postgres_check_start(vd_postgres_check **out, const vd_probe *p, uint64_t timeout_ms,
			    vd_error *err)
{
	static const char *const keys[] = { "dbname", "fallback_application_name", NULL };
	const char *values[] = { p->postgres.conninfo, "voxdeploy", NULL };
	vd_postgres_check *c;
	int r;

	c = calloc(1, sizeof(*c));
	if (!c)
		return vd_error_set(err, VD_ENOMEM, "out of memory");
	r = parse(p->postgres.conninfo, &c->password, c->target, sizeof(c->target), err);
	if (r)
		goto fail;
	c->query = strdup(p->postgres.query && *p->postgres.query ? p->postgres.query
								     : VD_PROBE_DEFAULT_QUERY);
	if (!c->query) {
		r = vd_error_set(err, VD_ENOMEM, "out of memory");
		goto fail;
	}
	if (!timeout_ms)
		timeout_ms = p->timeout_ms ? p->timeout_ms : VD_PROBE_DEFAULT_TIMEOUT_MS;
	c->start_ms = vd_now_ms();
	c->deadline_at = c->start_ms + timeout_ms;
	/* expand_dbname: the conninfo (or URI) stands in the dbname slot and
	 * is expanded into its parts; libpq never waits in this call */
	c->conn = PQconnectStartParams(keys, values, 1);
	if (!c->conn) {
		r = vd_error_set(err, VD_ENOMEM, "out of memory");
		goto fail;
	}
	c->phase = PH_CONNECTING;
	c->poll = PGRES_POLLING_WRITING;  /* as libpq's documentation says to begin */
	if (PQstatus(c->conn) == CONNECTION_BAD)
		finish(c, VD_HEALTH_FAILING, "cannot connect to %s: %s", c->target, conn_error(c));
	*out = c;
	return 0;
fail:
	vd_postgres_check_free(c);
	return r;
}

uint64_t vd_postgres_check_pollfd(const vd_postgres_check *c, struct pollfd *pfd)
{
	uint64_t now = vd_now_ms();

	pfd->fd = -1;
	pfd->events = 0;
	pfd->revents = 0;
	if (c->phase == PH_DONE)
		return 0;
	pfd->fd = PQsocket(c->conn);
	switch (c->phase) {
	case PH_CONNECTING:
		pfd->events = c->poll == PGRES_POLLING_READING ? POLLIN : POLLOUT;
		break;
	case PH_SENDING:
		pfd->events = POLLIN | POLLOUT;
		break;
	default:
		pfd->events = POLLIN;
		break;
	}
	return now >= c->deadline_at ? 0 : c->deadline_at - now;
}

static void query_sent(vd_postgres_check *c)
{
	int f = PQflush(c->conn);

	if (f < 0)
		finish(c, VD_HEALTH_FAILING, "%s: sending the query: %s", c->target, conn_error(c));
	else
		c->phase = f ? PH_SENDING : PH_READING;
}

static void connected(vd_postgres_check *c)
{
	c->server_version = PQserverVersion(c->conn);
	if (PQsetnonblocking(c->conn, 1) || !PQsendQuery(c->conn, c->query)) {
		finish(c, VD_HEALTH_FAILING, "%s: cannot send the query: %s", c->target,
		       conn_error(c));
		return;
	}
	query_sent(c);
}

/* Read what has arrived; results are complete once PQgetResult says NULL. */
static void read_results(vd_postgres_check *c)
{
	char ver[32];

	if (!PQconsumeInput(c->conn)) {
		finish(c, VD_HEALTH_FAILING, "%s: connection lost: %s", c->target, conn_error(c));
		return;
	}
	while (!PQisBusy(c->conn)) {
		PGresult *res = PQgetResult(c->conn);
		ExecStatusType st;

		if (!res) {
			vd_postgres_version_format(c->server_version, ver, sizeof(ver));
			if (c->query_failed)
				finish(c, VD_HEALTH_FAILING, "PostgreSQL %s: query failed: %s", ver,
				       c->query_error);
			else
				finish(c, VD_HEALTH_OK, "PostgreSQL %s, %s: %ld row%s", ver, c->query,
				       c->rows, c->rows == 1 ? "" : "s");
			return;
		}
		st = PQresultStatus(res);
		if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK || st == PGRES_EMPTY_QUERY) {
			c->rows += PQntuples(res);
		} else if (!c->query_failed) {
			c->query_failed = true;
			snprintf(c->query_error, sizeof(c->query_error), "%s",
				 PQresultErrorMessage(res)[0] ? PQresultErrorMessage(res)
							       : PQresStatus(st));
		}
		PQclear(res);
	}
}

bool vd_postgres_check_step(vd_postgres_check *c, short revents, vd_health_result *out)
{
	if (c->phase != PH_DONE && vd_now_ms() >= c->deadline_at)
		finish(c, VD_HEALTH_FAILING, "%s: no answer within %llu ms (%s)", c->target,
		       (unsigned long long)(c->deadline_at - c->start_ms),
		       c->phase == PH_CONNECTING ? "connecting" : "waiting for the query");
	switch (c->phase) {
	case PH_CONNECTING:
		if (PQsocket(c->conn) < 0) {
			finish(c, VD_HEALTH_FAILING, "cannot connect to %s: %s", c->target,
			       conn_error(c));
			break;
		}
		if (!revents)
			break;
		c->poll = PQconnectPoll(c->conn);
		if (c->poll == PGRES_POLLING_OK)
			connected(c);
		else if (c->poll == PGRES_POLLING_FAILED)
			finish(c, VD_HEALTH_FAILING, "cannot connect to %s: %s", c->target,
			       conn_error(c));
		else if (PQsocket(c->conn) < 0)
			finish(c, VD_HEALTH_FAILING, "cannot connect to %s: no socket", c->target);
		break;
	case PH_SENDING:
		if (!revents)
			break;
		if ((revents & POLLIN) && !PQconsumeInput(c->conn)) {
			finish(c, VD_HEALTH_FAILING, "%s: connection lost: %s", c->target,
			       conn_error(c));
			break;
		}
		query_sent(c);
		if (c->phase == PH_READING)
			read_results(c);
		break;
	case PH_READING:
		if (revents)
			read_results(c);
		break;
	case PH_DONE:
		break;
	}
	if (c->phase != PH_DONE)
		return false;
	*out = c->result;
	return true;
}

void vd_postgres_check_free(vd_postgres_check *c)
{
	if (!c)
		return;
	if (c->conn)
		PQfinish(c->conn);
	free(c->query);
	if (c->password) {
		explicit_bzero(c->password, strlen(c->password));
		free(c->password);
	}
	free(c);
}

void vd_postgres_probe_run(const vd_probe *p, uint64_t timeout_ms, vd_health_result *out)
{
	vd_postgres_check *c = NULL;
	vd_error err = VD_ERROR_INIT;
	struct pollfd pfd;

	memset(out, 0, sizeof(*out));
	if (vd_postgres_check_start(&c, p, timeout_ms, &err)) {
		vd_health_result_set(out, VD_HEALTH_ERROR, "%s", vd_error_msg(&err));
		vd_error_release(&err);
		return;
	}
	for (;;) {
		uint64_t left = vd_postgres_check_pollfd(c, &pfd);
		int n = 0;

		if (pfd.fd >= 0 && left > 0) {
			n = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
			if (n < 0 && errno != EINTR) {
				vd_health_result_set(out, VD_HEALTH_ERROR, "poll: %s", strerror(errno));
				break;
			}
		}
		if (vd_postgres_check_step(c, n > 0 ? pfd.revents : 0, out))
			break;
	}
	vd_postgres_check_free(c);
}
