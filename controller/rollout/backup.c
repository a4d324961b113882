#include "controller/rollout/backup.h"
#include "common/buf.h"
#include "common/clock.h"
#include "common/json.h"
#include "common/log.h"
#include "controller/rollout/probe_list.h"
#include "controller/state/state.h"
#include "docker_api/container.h"
#include "docker_api/exec.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#define MAGIC "PGDMP"
#define MAX_STDERR ((size_t)16 << 10)
#define SIZE_FACTOR 1.2
#define IDLE_MS (5L * 60 * 1000)  /* a dump may be silent while it reads a big table */
/* pg_dump and friends connect over TCP to the container's own address on
 * its network, as any client does: the password is checked (the socket
 * and 127.0.0.1 are trusted in the official image) before anything is
 * replaced.  127.0.0.1 when it has no such address. */
#define LOCALHOST host

static int oom(vd_error *err)
{
	return vd_error_set(err, VD_ENOMEM, "out of memory");
}

/* --- which services ------------------------------------------------------- */

static bool probe_names(const vd_config *c, const char *service)
{
	size_t i;

	for (i = 0; i < c->health.n_postgres; i++)
		if (c->health.postgres[i].service && !strcmp(c->health.postgres[i].service, service))
			return true;
	return false;
}

static bool listed(const vd_config *c, const char *service)
{
	size_t i;

	if (!c->backup.services)
		return true;
	for (i = 0; i < c->backup.n_services; i++)
		if (!strcmp(c->backup.services[i], service))
			return true;
	return false;
}

static int add_target(vd_backup_targets *out, const vd_compose_service *s, vd_env_lookup lookup,
		      void *ctx, vd_error *err)
{
	vd_backup_target *t = &out->items[out->len];
	vd_kvs env = { NULL, 0 };
	const char *user, *password, *db;
	int r;

	if ((r = vd_compose_service_env(s, lookup, ctx, &env, err)))
		return vd_error_prefix(err, "service %s", s->name);
	vd_probe_list_pg_credentials(&env, &user, &password, &db);
	t->service = strdup(s->name);
	t->user = strdup(user);
	t->database = strdup(db);
	t->password = password ? strdup(password) : NULL;
	out->len++;
	if (!t->service || !t->user || !t->database ||
	    (password && (!t->password || vd_secret_add(t->password))))
		r = oom(err);
	vd_kvs_release(&env);
	return r;
}

int vd_backup_targets_find(const vd_config *c, const vd_compose *model, vd_env_lookup lookup,
			   void *ctx, vd_backup_targets *out, vd_error *err)
{
	size_t i;
	int r = 0;

	memset(out, 0, sizeof(*out));
	if (!c->backup.enabled)
		return 0;
	for (i = 0; i < c->backup.n_services; i++)
		if (!vd_compose_service_find(model, c->backup.services[i]))
			return vd_error_set(err, VD_EINVAL, "voxdeploy.yml: backup.services: no service "
					    "'%s' in the compose file", c->backup.services[i]);
	out->items = calloc(model->n_services ? model->n_services : 1, sizeof(*out->items));
	if (!out->items)
		return oom(err);
	for (i = 0; i < model->n_services && !r; i++) {
		const vd_compose_service *s = &model->services[i];

		/* a PostgreSQL server: the image's own entrypoint, running on (a
		 * one-shot psql from the same image is a client) */
		bool server = vd_probe_list_is_postgres_image(s->image) && !s->entrypoint.set &&
			      !vd_compose_is_one_shot(model, s->name);

		if ((server || probe_names(c, s->name)) && listed(c, s->name))
			r = add_target(out, s, lookup, ctx, err);
	}
	if (r)
		vd_backup_targets_release(out);
	return r;
}

const vd_backup_target *vd_backup_targets_get(const vd_backup_targets *t, const char *service)
{
	size_t i;

	for (i = 0; i < t->len; i++)
		if (!strcmp(t->items[i].service, service))
			return &t->items[i];
	return NULL;
}

void vd_backup_targets_release(vd_backup_targets *t)
{
	size_t i;

	for (i = 0; t->items && i < t->len; i++) {
		free(t->items[i].service);
		free(t->items[i].user);
		free(t->items[i].password);
		free(t->items[i].database);
	}
	free(t->items);
	memset(t, 0, sizeof(*t));
}

/* --- running pg_dump, psql, pg_restore in the container ------------------- */

/* How psql, pg_dump and pg_restore are run: PGPASSWORD in the command's
 * environment (wiped from memory once it ran), the timeout (0: the backup
 * default) and the silence a big table may take. */
struct pg_run {
	vd_exec_opts o;
	const char *env[2];
	char pw[512];
};

static void pg_run_init(struct pg_run *p, const vd_backup_target *t, uint64_t timeout_ms)
{
	p->o = (vd_exec_opts)VD_EXEC_OPTS_INIT;
	if (t->password) {
		snprintf(p->pw, sizeof(p->pw), "PGPASSWORD=%s", t->password);
		p->env[0] = p->pw;
		p->env[1] = NULL;
		p->o.env = p->env;
	}
	p->o.timeout_ms = (long)(timeout_ms ? timeout_ms : VD_CONFIG_DEFAULT_BACKUP_TIMEOUT_MS);
	p->o.idle_timeout_ms = IDLE_MS;
}

static void pg_run_done(struct pg_run *p)
{
	memset(p->pw, 0, sizeof(p->pw));
}

/* The last non-blank line of a command's stderr, for a message. */
static void last_line(const vd_buf *b, char *out, size_t size)
{
	const char *s = vd_buf_cstr(b);
	size_t end = b->len, start;

	while (end > 0 && (s[end - 1] == '\n' || s[end - 1] == ' ' || s[end - 1] == '\r'))
		end--;
	start = end;
	while (start > 0 && s[start - 1] != '\n')
		start--;
	snprintf(out, size, "%.*s", (int)(end - start), s + start);
}

static int container_host(vd_docker *d, const char *container, char out[64], vd_error *err)
{
	vd_container_info info;
	size_t i;
	int r = vd_container_inspect(d, container, &info, err);

	snprintf(out, 64, "127.0.0.1");
	if (r)
		return r;
	if (!info.running)
		r = vd_error_set(err, VD_ECONFLICT, "container %s is not running", container);
	for (i = 0; i < info.n_endpoints; i++)
		if (info.endpoints[i].ip && *info.endpoints[i].ip) {
			snprintf(out, 64, "%s", info.endpoints[i].ip);
			break;
		}
	vd_container_info_release(&info);
	return r;
}

static int size_of_database(vd_docker *d, const vd_backup_target *t, const char *container,
			    const char *host, uint64_t *bytes, vd_error *err)
{
	const char *argv[] = { "psql", "-X", "-At", "-h", LOCALHOST, "-U", t->user, "-d", t->database, "-c",
			       "SELECT pg_database_size(current_database())", NULL };
	struct pg_run p;
	vd_exec_result res;
	char line[256];
	int r;

	pg_run_init(&p, t, 30000);
	vd_exec_result_init(&res, 64 << 10);
	r = vd_exec_run(d, container, argv, &p.o, &res, err);
	pg_run_done(&p);
	if (!r && (res.exit_code != 0 || sscanf(vd_buf_cstr(&res.out), "%llu",
						 (unsigned long long *)bytes) != 1)) {
		last_line(&res.err, line, sizeof(line));
		r = vd_error_set(err, VD_EAPI, "psql in %s exited %lld: %s", t->service,
				 (long long)res.exit_code, line[0] ? line : "(no message)");
	}
	vd_exec_result_release(&res);
	return r ? vd_error_prefix(err, "the size of database %s", t->database) : 0;
}

static int check_space(const char *dir, uint64_t db_bytes, vd_error *err)
{
	struct statvfs sv;
	uint64_t free_b, need = (uint64_t)((double)db_bytes * SIZE_FACTOR);

	if (statvfs(dir, &sv))
		return vd_error_set(err, VD_EIO, "cannot read the free space of %s: %s", dir,
				    strerror(errno));
	free_b = (uint64_t)sv.f_bavail * (uint64_t)sv.f_frsize;
	if (free_b < need)
		return vd_error_set(err, VD_ETOOBIG,
				    "not enough space for the dump in %s: %llu MB free, the database is "
				    "%llu MB and the dump may need %llu MB (its size × %.1f); free some "
				    "space or lower backup.keep", dir,
				    (unsigned long long)(free_b >> 20), (unsigned long long)(db_bytes >> 20),
				    (unsigned long long)(need >> 20), SIZE_FACTOR);
	return 0;
}

struct dump_sink {
	int fd;
	uint64_t bytes;
	char head[sizeof(MAGIC)];
	size_t head_len;
	vd_buf err;
};

static int on_dump_output(int stream, const char *data, size_t len, void *ctx, vd_error *err)
{
	struct dump_sink *s = ctx;

	if (stream == VD_LOGS_STDERR) {
		size_t room = s->err.max > s->err.len ? s->err.max - s->err.len : 0;

		vd_buf_put(&s->err, data, len < room ? len : room);
		return 0;
	}
	if (s->head_len < sizeof(MAGIC) - 1) {
		size_t k = sizeof(MAGIC) - 1 - s->head_len;

		memcpy(s->head + s->head_len, data, len < k ? len : k);
		s->head_len += len < k ? len : k;
	}
	s->bytes += len;
	while (len) {
		ssize_t w = write(s->fd, data, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return vd_error_set(err, VD_EIO, "writing the dump: %s", strerror(errno));
		data += w;
		len -= (size_t)w;
	}
	return 0;
}

/* Milliseconds in it: two dumps in one second still sort newest first. */
static void now_rfc3339(char out[32])
{
	struct timespec ts;
	struct tm tm;
	char sec[24];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(sec, sizeof(sec), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, 32, "%.19s.%03dZ", sec, (int)(ts.tv_nsec / 1000000L) % 1000);
}

int vd_backup_dump(vd_docker *d, const char *state_dir, const vd_backup_target *t,
		   const char *container, const char *db_host, const char *deploy_id,
		   uint64_t timeout_ms, vd_backup_info *out, vd_error *err)
{
	char host[256] = "127.0.0.1";
	const char *argv[] = { "pg_dump", "-Fc", "-h", LOCALHOST, "-U", t->user, "-d", t->database, NULL };
	struct pg_run p;
	vd_exec_result res;
	struct dump_sink sink = { .fd = -1 };
	char idbuf[VD_DEPLOY_ID_MAX], line[256];
	char *dir = vd_backup_dir(state_dir), *partial = NULL, *final = NULL;
	uint64_t t0 = vd_now_ms(), db_bytes = 0;
	int r, dfd;

	memset(out, 0, sizeof(*out));
	vd_buf_init(&sink.err, MAX_STDERR);
	vd_exec_result_init(&res, 4096);
	vd_journal_new_id(idbuf);
	snprintf(out->id, sizeof(out->id), "%s-%s", idbuf, t->service);
	snprintf(out->deploy_id, sizeof(out->deploy_id), "%s", deploy_id ? deploy_id : "");
	snprintf(out->service, sizeof(out->service), "%s", t->service);
	snprintf(out->database, sizeof(out->database), "%s", t->database);
	now_rfc3339(out->created);
	if (!dir || !(partial = vd_backup_path(state_dir, out->id, ".dump.partial")) ||
	    !(final = vd_backup_path(state_dir, out->id, ".dump"))) {
		r = oom(err);
		goto done;
	}
	if ((mkdir(state_dir, 0700) && errno != EEXIST) || (mkdir(dir, 0700) && errno != EEXIST)) {
		r = vd_error_set(err, VD_EIO, "cannot create %s: %s", dir, strerror(errno));
		goto done;
	}
	if (db_host)
		snprintf(host, sizeof(host), "%s", db_host);
	else if ((r = container_host(d, container, host, err)))
		goto done;
	if ((r = size_of_database(d, t, container, host, &db_bytes, err)) ||
	    (r = check_space(dir, db_bytes, err)))
		goto done;
	sink.fd = open(partial, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (sink.fd < 0) {
		r = vd_error_set(err, VD_EIO, "cannot create %s: %s", partial, strerror(errno));
		goto done;
	}
	pg_run_init(&p, t, timeout_ms);
	p.o.on_output = on_dump_output;
	p.o.output_ctx = &sink;
	r = vd_exec_run(d, container, argv, &p.o, &res, err);
	pg_run_done(&p);
	if (r)
		goto done;
	last_line(&sink.err, line, sizeof(line));
	if (res.exit_code != 0) {
		r = vd_error_set(err, VD_EAPI, "pg_dump exited %lld: %s", (long long)res.exit_code,
				 line[0] ? line : "(no message)");
		goto done;
	}
	if (!sink.bytes || sink.head_len < sizeof(MAGIC) - 1 || memcmp(sink.head, MAGIC, sizeof(MAGIC) - 1)) {
		r = vd_error_set(err, VD_EAPI, "pg_dump's output is no custom-format dump (%llu bytes%s)",
				 (unsigned long long)sink.bytes, sink.bytes ? ", no PGDMP header" : "");
		goto done;
	}
	if (fsync(sink.fd) || close(sink.fd)) {
		sink.fd = -1;
		r = vd_error_set(err, VD_EIO, "cannot write %s: %s", partial, strerror(errno));
		goto done;
	}
	sink.fd = -1;
	if (rename(partial, final)) {
		r = vd_error_set(err, VD_EIO, "cannot rename %s: %s", partial, strerror(errno));
		goto done;
	}
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		fsync(dfd);
		close(dfd);
	}
	out->bytes = sink.bytes;
	out->ms = vd_now_ms() - t0;
	if ((r = vd_backup_write_info(state_dir, out, err)))
		unlink(final);
done:
	if (sink.fd >= 0)
		close(sink.fd);
	if (r && partial)
		unlink(partial);
	if (r)
		vd_error_prefix(err, "dump of %s (database %s)", t->service, t->database);
	vd_exec_result_release(&res);
	vd_buf_release(&sink.err);
	free(dir);
	free(partial);
	free(final);
	return r;
}

int vd_backup_restore(vd_docker *d, const char *state_dir, const vd_backup_info *b,
		      const vd_backup_target *t, const char *container, const char *db_host,
		      uint64_t timeout_ms, vd_error *err)
{
	char host[64] = "127.0.0.1";
	const char *argv[] = { "pg_restore", "--clean", "--if-exists", "--single-transaction",
			       "--exit-on-error", "-h", LOCALHOST, "-U", t->user, "-d", t->database, NULL };
	struct pg_run p;
	vd_exec_result res;
	char line[256], *path = vd_backup_path(state_dir, b->id, ".dump");
	int r, fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;

	vd_exec_result_init(&res, 64 << 10);
	if (!path) {
		r = oom(err);
		goto done;
	}
	if (db_host)
		snprintf(host, sizeof(host), "%s", db_host);
	else if ((r = container_host(d, container, host, err)))
		goto done;
	if (fd < 0) {
		r = vd_error_set(err, VD_EIO, "cannot read %s: %s", path, strerror(errno));
		goto done;
	}
	pg_run_init(&p, t, timeout_ms);
	p.o.attach_stdin = true;
	p.o.stdin_fd = fd;
	r = vd_exec_run(d, container, argv, &p.o, &res, err);
	pg_run_done(&p);
	if (!r && res.exit_code != 0) {
		last_line(&res.err, line, sizeof(line));
		r = vd_error_set(err, VD_EAPI, "pg_restore exited %lld: %s", (long long)res.exit_code,
				 line[0] ? line : "(no message)");
	}
done:
	if (fd >= 0)
		close(fd);
	if (r)
		vd_error_prefix(err, "restore of %s into %s (database %s)", b->id, t->service,
				t->database);
	vd_exec_result_release(&res);
	free(path);
	return r;
}
