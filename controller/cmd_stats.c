/* voxdeploy stats — CPU, memory, network and block I/O per service, as
 * `docker stats` computes them: two one-shot samples a second apart (what
 * the engine's precpu_stats is), memory without the inactive page cache. */
#include "controller/cli.h"
#include "common/clock.h"
#include "common/log.h"
#include "controller/model/project.h"
#include "docker_api/container.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_SERVICES 64
#define INTERVAL_MS 1000

struct row {
	const vd_cli_service *c;
	vd_container_sample prev, cur;
	bool ok;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: voxdeploy stats [SERVICE...] [--no-stream] [--json]\n"
		"\n"
		"Resource use of the project's services, as docker stats shows it: CPU %% over\n"
		"the last second (of one CPU: 200 %% is two busy CPUs), memory in use without\n"
		"the inactive page cache against the limit, network and block I/O since the\n"
		"container started, PIDs.  It refreshes every second until interrupted.\n"
		"\n"
		"  SERVICE      only these services (default: all with a running container)\n"
		"  --no-stream  one reading, then exit\n"
		"  --json       a JSON array per reading: service, container, id, cpu_percent,\n"
		"               memory {usage, limit, percent}, net {rx, tx}, block {read,\n"
		"               write}, pids (bytes as numbers)\n"
		"\n"
		"exit: 0 · 2 bad input, an unknown service or no engine\n");
}

static int sample_all(vd_docker *d, struct row *rows, size_t n, bool first, vd_error *err)
{
	size_t i;

	for (i = 0; i < n; i++) {
		vd_container_sample s;

		if (vd_container_stats(d, rows[i].c->id, &s, err)) {
			/* a container that went away meanwhile is shown as such */
			if (err->code != VD_ENOTFOUND && err->code != VD_EAPI)
				return err->code;
			vd_error_release(err);
			rows[i].ok = false;
			continue;
		}
		rows[i].prev = first ? s : rows[i].cur;
		rows[i].cur = s;
		rows[i].ok = true;
	}
	return 0;
}

static double mem_percent(const vd_container_sample *s)
{
	return s->mem_limit ? (double)vd_container_stats_mem_used(s) / (double)s->mem_limit * 100.0 : 0.0;
}

static void print_json(vd_cli *cli, const struct row *rows, size_t n)
{
	yajl_gen g = vd_jgen_new();
	size_t i;

	yajl_gen_array_open(g);
	for (i = 0; i < n; i++) {
		const struct row *r = &rows[i];

		yajl_gen_map_open(g);
		vd_jgen_kstr(g, "service", r->c->service);
		vd_jgen_kstr(g, "container", r->c->name);
		vd_jgen_kstr(g, "id", r->c->id);
		if (!r->ok) {
			vd_jgen_kstr(g, "error", "no longer running");
			yajl_gen_map_close(g);
			continue;
		}
		vd_jgen_str(g, "cpu_percent");
		yajl_gen_double(g, vd_container_stats_cpu_percent(&r->prev, &r->cur));
		vd_jgen_str(g, "memory");
		yajl_gen_map_open(g);
		vd_jgen_kint(g, "usage", (long long)vd_container_stats_mem_used(&r->cur));
		vd_jgen_kint(g, "limit", (long long)r->cur.mem_limit);
		vd_jgen_str(g, "percent");
		yajl_gen_double(g, mem_percent(&r->cur));
		yajl_gen_map_close(g);
		vd_jgen_str(g, "net");
		yajl_gen_map_open(g);
		vd_jgen_kint(g, "rx", (long long)r->cur.net_rx);
		vd_jgen_kint(g, "tx", (long long)r->cur.net_tx);
		yajl_gen_map_close(g);
		vd_jgen_str(g, "block");
		yajl_gen_map_open(g);
		vd_jgen_kint(g, "read", (long long)r->cur.blk_read);
		vd_jgen_kint(g, "write", (long long)r->cur.blk_write);
		yajl_gen_map_close(g);
		vd_jgen_kint(g, "pids", (long long)r->cur.pids);
		yajl_gen_map_close(g);
	}
	yajl_gen_array_close(g);
	vd_cli_print_json(cli, g);
}

static void print_table(vd_cli *cli, const struct row *rows, size_t n, bool clear)
{
	int ws = 7, wc = 9;
	size_t i;

	for (i = 0; i < n; i++) {
		if ((int)strlen(rows[i].c->service) > ws)
			ws = (int)strlen(rows[i].c->service);
		if ((int)strlen(rows[i].c->name) > wc)
			wc = (int)strlen(rows[i].c->name);
	}
	if (clear)
		fputs("\033[H\033[2J", cli->out);
	vd_print(cli->out, "%-*s  %-*s  %7s  %-21s  %6s  %-19s  %-19s  %s\n", ws, "SERVICE", wc, "CONTAINER",
		 "CPU %", "MEM USAGE / LIMIT", "MEM %", "NET I/O", "BLOCK I/O", "PIDS");
	for (i = 0; i < n; i++) {
		const struct row *r = &rows[i];
		char mu[32], ml[32], rx[32], tx[32], br[32], bw[32], mem[72], net[72], blk[72];

		if (!r->ok) {
			vd_print(cli->out, "%-*s  %-*s  %7s  %-21s  %6s  %-19s  %-19s  %s\n", ws, r->c->service, wc,
				 r->c->name, "--", "-- / --", "--", "--", "--", "--");
			continue;
		}
		vd_container_stats_binary((double)vd_container_stats_mem_used(&r->cur), mu);
		vd_container_stats_binary((double)r->cur.mem_limit, ml);
		vd_container_stats_decimal((double)r->cur.net_rx, rx);
		vd_container_stats_decimal((double)r->cur.net_tx, tx);
		vd_container_stats_decimal((double)r->cur.blk_read, br);
		vd_container_stats_decimal((double)r->cur.blk_write, bw);
		snprintf(mem, sizeof(mem), "%s / %s", mu, ml);
		snprintf(net, sizeof(net), "%s / %s", rx, tx);
		snprintf(blk, sizeof(blk), "%s / %s", br, bw);
		vd_print(cli->out, "%-*s  %-*s  %6.2f%%  %-21s  %5.2f%%  %-19s  %-19s  %llu\n", ws, r->c->service, wc,
			 r->c->name, vd_container_stats_cpu_percent(&r->prev, &r->cur), mem, mem_percent(&r->cur),
			 net, blk, (unsigned long long)r->cur.pids);
	}
	fflush(cli->out);
}

/* Sleep until `until` (monotonic ms) unless interrupted. */
static void pause_until(uint64_t until)
{
	uint64_t now;

	while (!stop && (now = vd_now_ms()) < until) {
		uint64_t left = until - now;

		usleep((useconds_t)(left > 100 ? 100000 : left * 1000));
	}
}

int vd_cmd_stats(vd_cli *cli)
{
	vd_error err = VD_ERROR_INIT;
	vd_project proj = { NULL, NULL, 0, NULL };
	vd_docker *d = NULL;
	vd_cli_service *cs = NULL;
	struct row *rows = NULL;
	char *services[MAX_SERVICES];
	size_t n_services = 0, n = 0, i;
	bool no_stream = false, tty = isatty(fileno(cli->out));
	const vd_cli_opt opts[] = {
		{ "--no-stream", NULL, NULL, &no_stream, false, false },
		{ NULL, NULL, NULL, NULL, false, false },
	};
	int rc = VD_EXIT_OK;

	if (vd_cli_wants_help(cli)) {
		usage(cli->out);
		return VD_EXIT_OK;
	}
	if (vd_cli_args_words(cli, opts, services, MAX_SERVICES, &n_services, &err) ||
	    vd_project_resolve(cli->dir, cli->compose_files, cli->n_compose_files, cli->project, &proj, &err) ||
	    vd_cli_docker(cli, &d, &err) ||
	    vd_cli_services(d, proj.name, services, n_services, true, &cs, &n, &err))
		goto fail;
	if (!n) {
		if (cli->json)
			vd_print(cli->out, "[]\n");
		else
			vd_print(cli->out, "project %s: no running containers\n", proj.name);
		goto done;
	}
	if (!(rows = calloc(n, sizeof(*rows)))) {
		vd_error_set(&err, VD_ENOMEM, "out of memory");
		goto fail;
	}
	for (i = 0; i < n; i++)
		rows[i].c = &cs[i];
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (sample_all(d, rows, n, true, &err))
		goto fail;
	for (;;) {
		uint64_t next = vd_now_ms() + INTERVAL_MS;

		pause_until(next);
		if (stop)
			break;
		if (sample_all(d, rows, n, false, &err))
			goto fail;
		if (cli->json)
			print_json(cli, rows, n);
		else
			print_table(cli, rows, n, tty && !no_stream);
		if (no_stream)
			break;
		if (!tty && !cli->json)
			vd_print(cli->out, "\n");
	}
	goto done;
fail:
	rc = vd_cli_fail(cli, &err);
done:
	free(rows);
	vd_cli_services_release(cs, n);
	vd_docker_free(d);
	vd_project_release(&proj);
	vd_error_release(&err);
	return rc;
}
