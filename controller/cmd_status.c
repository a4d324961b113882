#include "controller/cli.h"
#include "controller/state/backups.h"
#include "controller/state/lock.h"
#include "controller/state/state.h"
#include "controller/model/project.h"
#include "common/clock.h"
#include "common/json.h"
#include "common/log.h"
#include "docker_api/container.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LABEL_PROJECT "com.docker.compose.project"
#define LABEL_SERVICE "com.docker.compose.service"
#define LABEL_COMMIT "io.voxdeploy.commit"

struct row {
	const vd_container_summary *sum;
	vd_container_info info;
	bool inspected;
	int64_t uptime;    /* seconds, -1 when not running */
};

static int row_cmp(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	const char *sx = vd_kvs_get(&x->sum->labels, LABEL_SERVICE);
	const char *sy = vd_kvs_get(&y->sum->labels, LABEL_SERVICE);
	int c = strcmp(sx ? sx : "", sy ? sy : "");

	return c ? c : strcmp(x->sum->name, y->sum->name);
}

static const char *row_health(const struct row *r)
{
	if (r->inspected)
		return r->info.health;
	return vd_container_summary_health(r->sum);
}

/* status -l: the newest dump of each service (state/backups.h); n 0 when
 * there are none (or none can be read). */
static size_t newest_backups(const vd_cli *cli, vd_backup_info **out)
{
	vd_error err = VD_ERROR_INIT;
	char *dir = vd_state_dir(cli->state_dir);
	size_t n = 0;

	*out = NULL;
	if (!dir || vd_backup_list(dir, out, &n, &err))
		n = 0;
	vd_error_release(&err);
	free(dir);
	return vd_backup_newest_per_service(*out, n);
}

/* The freeze, when deploys are held (an unreadable state directory is no
 * reason to fail `status`: it just shows none). */
static void read_freeze(vd_cli *cli, vd_freeze *f)
{
	vd_error err = VD_ERROR_INIT;
	char *dir = vd_state_dir(cli->state_dir);

	if (!dir || vd_freeze_read(dir, f, &err))
		*f = (vd_freeze)VD_FREEZE_INIT;
	vd_error_release(&err);
	free(dir);
}

static void print_json(vd_cli *cli, const char *project, struct row *rows, size_t n,
		       const vd_backup_info *backups, size_t n_backups, bool long_form,
		       const vd_freeze *held)
{
	yajl_gen g = vd_jgen_new();
	size_t i;

	yajl_gen_map_open(g);
	vd_jgen_kstr(g, "project", project);
	vd_jgen_str(g, "deploys_held");
	if (held->held) {
		yajl_gen_map_open(g);
		vd_jgen_kstr(g, "since", held->since);
		vd_jgen_kstr(g, "by", held->by);
		vd_jgen_kstr(g, "message", held->message);
		yajl_gen_map_close(g);
	} else {
		yajl_gen_null(g);
	}
	vd_jgen_str(g, "containers");
	yajl_gen_array_open(g);
	for (i = 0; i < n; i++) {
		const struct row *r = &rows[i];

		yajl_gen_map_open(g);
		vd_jgen_kstr(g, "name", r->sum->name);
		vd_jgen_kstr(g, "id", r->sum->id);
		vd_jgen_kstr(g, "service", vd_kvs_get(&r->sum->labels, LABEL_SERVICE));
		vd_jgen_kstr(g, "image", r->sum->image);
		vd_jgen_kstr(g, "image_id", r->sum->image_id);
		vd_jgen_kstr(g, "state", r->inspected ? r->info.status : r->sum->state);
		vd_jgen_kstr(g, "health", row_health(r));
		vd_jgen_kstr(g, "status", r->sum->status);
		vd_jgen_kint(g, "created", r->sum->created);
		vd_jgen_kstr(g, "commit", vd_kvs_get(&r->sum->labels, LABEL_COMMIT));
		if (r->inspected) {
			vd_jgen_kstr(g, "started_at", r->uptime >= 0 ? r->info.started_at : NULL);
			vd_jgen_str(g, "uptime_seconds");
			if (r->uptime >= 0)
				yajl_gen_integer(g, r->uptime);
			else
				yajl_gen_null(g);
			vd_jgen_kint(g, "restart_count", r->info.restart_count);
			vd_jgen_kbool(g, "oom_killed", r->info.oom_killed);
			vd_jgen_kint(g, "exit_code", r->info.exit_code);
			vd_jgen_kstr(g, "health_output", r->info.health_output);
		}
		yajl_gen_map_close(g);
	}
	yajl_gen_array_close(g);
	if (long_form) {
		vd_jgen_str(g, "last_backups");
		yajl_gen_array_open(g);
		for (i = 0; i < n_backups; i++) {
			yajl_gen_map_open(g);
			vd_jgen_kstr(g, "service", backups[i].service);
			vd_jgen_kstr(g, "id", backups[i].id);
			vd_jgen_kstr(g, "created", backups[i].created);
			vd_jgen_kint(g, "bytes", (long long)backups[i].bytes);
			yajl_gen_map_close(g);
		}
		yajl_gen_array_close(g);
	}
	yajl_gen_map_close(g);
	vd_cli_print_json(cli, g);
}

static size_t width(struct row *rows, size_t n, size_t min, const char *(*get)(const struct row *))
{
	size_t i, w = min;

	for (i = 0; i < n; i++) {
		const char *s = get(&rows[i]);

		if (s && strlen(s) > w)
			w = strlen(s);
	}
	return w;
}

static const char *get_name(const struct row *r) { return r->sum->name; }
static const char *get_image(const struct row *r) { return r->sum->image; }
static const char *get_service(const struct row *r)
{
	const char *s = vd_kvs_get(&r->sum->labels, LABEL_SERVICE);

	return s ? s : "-";
}

static void print_table(vd_cli *cli, const char *project, struct row *rows, size_t n)
{
	int wn = (int)width(rows, n, 4, get_name), ws = (int)width(rows, n, 7, get_service);
	int wi = (int)width(rows, n, 5, get_image);
	size_t i;

	if (!n) {
		vd_print(cli->out, "project %s: no containers\n", project);
		return;
	}
	vd_print(cli->out, "project %s: %zu container%s\n", project, n, n == 1 ? "" : "s");
	vd_print(cli->out, "%-*s  %-*s  %-*s  %-10s  %-9s  %s\n", wn, "NAME", ws, "SERVICE", wi,
		 "IMAGE", "STATE", "HEALTH", "UPTIME");
	for (i = 0; i < n; i++) {
		const struct row *r = &rows[i];
		char up[64];

		if (r->inspected && r->uptime >= 0)
			vd_duration_format(r->uptime, up);
		else
			vd_container_summary_uptime(r->sum, up, sizeof(up));
		if (!up[0])
			snprintf(up, sizeof(up), "-");
		vd_print(cli->out, "%-*s  %-*s  %-*s  %-10s  %-9s  %s\n", wn, r->sum->name, ws,
			 get_service(r), wi, r->sum->image,
			 r->inspected ? r->info.status : r->sum->state,
			 row_health(r) ? row_health(r) : "-", up);
	}
}

int vd_cmd_status(vd_cli *cli)
{
	vd_error err = VD_ERROR_INIT;
	vd_project proj = { NULL, NULL, 0, NULL };
	vd_container_array list = { NULL, 0 };
	struct row *rows = NULL;
	vd_backup_info *backups = NULL;
	vd_freeze held = VD_FREEZE_INIT;
	size_t n_backups = 0;
	vd_docker *d = NULL;
	char label[512];
	const char *pairs[] = { "label", label, NULL };
	time_t now = time(NULL);
	bool inspect = false, stack = false;
	size_t i;
	int rc = VD_EXIT_OK;

	if (vd_cli_wants_help(cli)) {
		fprintf(cli->out,
			"usage: voxdeploy status [-l|--long] [--json]\n\n"
			"List the compose project's containers (found by the label\n"
			LABEL_PROJECT "): name, service, image, state, health and uptime\n"
			"as the engine reports them; with --json also ids, image ids and the\n"
			"deployed commit (label " LABEL_COMMIT ").\n"
			"On a Swarm manager running the project's stack: its services with\n"
			"their running and desired replicas, image and update state, and each\n"
			"task's node and state.\n\n"
			"  -l, --long   inspect each container too: exact start time and uptime,\n"
			"               restart count, OOM kill, exit code, last health check output;\n"
			"               and the newest database dump of each service\n");
		return VD_EXIT_OK;
	}
	{
		const vd_cli_opt opts[] = {
			{ "--long", "-l", NULL, &inspect, false, false },
			{ NULL, NULL, NULL, NULL, false, false },
		};

		if (vd_cli_args(cli, opts, &err))
			goto fail;
	}
	if (vd_project_resolve(cli->dir, cli->compose_files, cli->n_compose_files, cli->project,
			       &proj, &err))
		goto fail;
	if (vd_cli_docker(cli, &d, &err))
		goto fail;
	if (vd_status_swarm(cli, d, proj.name, &stack, &err))
		goto fail;
	if (stack)
		goto done;
	snprintf(label, sizeof(label), LABEL_PROJECT "=%s", proj.name);
	if (vd_container_list(d, true, pairs, &list, &err))
		goto fail;
	rows = calloc(list.len ? list.len : 1, sizeof(*rows));
	if (!rows) {
		vd_error_set(&err, VD_ENOMEM, "out of memory");
		goto fail;
	}
	for (i = 0; i < list.len; i++) {
		struct row *r = &rows[i];
		int64_t started;

		r->sum = &list.items[i];
		r->uptime = -1;
		if (!inspect)
			continue;
		/* inspect for health, start time and restarts; a container removed
		 * meanwhile is simply shown from the list */
		if (vd_container_inspect(d, r->sum->id, &r->info, &err)) {
			if (err.code != VD_ENOTFOUND)
				goto fail;
			vd_error_release(&err);
			continue;
		}
		r->inspected = true;
		if (r->info.running && !vd_time_parse(r->info.started_at, &started))
			r->uptime = (int64_t)now - started;
	}
	qsort(rows, list.len, sizeof(*rows), row_cmp);
	n_backups = inspect ? newest_backups(cli, &backups) : 0;
	read_freeze(cli, &held);
	if (cli->json) {
		print_json(cli, proj.name, rows, list.len, backups, n_backups, inspect, &held);
	} else {
		print_table(cli, proj.name, rows, list.len);
		if (held.held)
			vd_print(cli->out, "deploys held since %s%s%s: %s (voxdeploy unlock lifts it)\n",
				 held.since ? held.since : "?", held.by ? " by " : "", held.by ? held.by : "",
				 held.message ? held.message : "no reason given");
		for (i = 0; i < n_backups; i++)
			vd_print(cli->out, "last backup of %s: %s, %llu bytes, %s\n", backups[i].service,
				 backups[i].id, (unsigned long long)backups[i].bytes, backups[i].created);
	}
	goto done;
fail:
	rc = vd_cli_fail(cli, &err);
done:
	for (i = 0; rows && i < list.len; i++)
		vd_container_info_release(&rows[i].info);
	free(rows);
	free(backups);
	vd_freeze_release(&held);
	vd_container_array_release(&list);
	vd_project_release(&proj);
	vd_docker_free(d);
	vd_error_release(&err);
	return rc;
}
