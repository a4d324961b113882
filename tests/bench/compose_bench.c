/* Benchmark helper for tests/bench/compose.py: load a compose project the
 * way `voxdeploy config --json` does (project discovery, .env, the compose
 * model, then every create request: each used network, each named volume,
 * each service's container), without the rest of the command — the
 * loader's own time, in process; compose.py runs it when `config --json`
 * cannot run.
 *
 * usage: compose_bench DIR [ITERATIONS] [--print]
 *        compose_bench --startup-only
 *   Runs the whole load ITERATIONS times (default 1) in this process; with
 *   more than one, prints "in-process: median N us, p90 N us" on stderr.
 *   --print writes the requests of the last run to stdout as one JSON object
 *   {"networks":[...],"volumes":[...],"containers":{"<service>":{...}}}.
 *   --startup-only exits at once: the cost of starting this process (exec
 *   and loading its ~35 shared libraries), the floor of any process run.
 * Exit status 0, or 1 with the error on stderr.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/json.h"
#include "controller/model/compose.h"
#include "controller/model/interpolate.h"
#include "controller/model/project.h"
#include "controller/model/spec.h"

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* One full run: everything `voxdeploy config --json` would compute. */
static int run_once(const char *dir, vd_buf *out, vd_error *err)
{
	vd_project proj = { 0 };
	vd_kvs dotenv = { NULL, 0 };
	vd_compose *c = NULL;
	vd_spec_options opts = VD_SPEC_OPTIONS_INIT;
	vd_buf envpath = VD_BUF_INIT;
	size_t i;
	int r;

	vd_buf_clear(out);
	r = vd_project_resolve(dir, NULL, 0, NULL, &proj, err);
	if (r)
		goto done;
	vd_buf_printf(&envpath, "%s/.env", proj.dir);
	r = vd_dotenv_load(vd_buf_cstr(&envpath), false, vd_env_lookup_process_then, NULL, &dotenv,
			   err);
	if (r)
		goto done;
	r = vd_compose_load_project(&proj, vd_env_lookup_process_then, &dotenv, &c, err);
	if (r)
		goto done;
	opts.lookup = vd_env_lookup_process_then;
	opts.lookup_ctx = &dotenv;

	vd_buf_puts(out, "{\"networks\":[");
	for (i = 0; i < c->n_networks; i++) {
		const vd_compose_network *n = &c->networks[i];

		if (n->external || !vd_spec_network_used(c, n->key))
			continue;
		if (out->ptr[out->len - 1] != '[')
			vd_buf_putc(out, ',');
		if ((r = vd_spec_network(c, n, &opts, out, err)))
			goto done;
	}
	vd_buf_puts(out, "],\"volumes\":[");
	for (i = 0; i < c->n_volumes; i++) {
		const vd_compose_volume *v = &c->volumes[i];

		if (v->external || !vd_spec_volume_used(c, v->key))
			continue;
		if (out->ptr[out->len - 1] != '[')
			vd_buf_putc(out, ',');
		if ((r = vd_spec_volume(c, v, &opts, out, err)))
			goto done;
	}
	vd_buf_puts(out, "],\"containers\":{");
	for (i = 0; i < c->n_services; i++) {
		const vd_compose_service *s = &c->services[c->order[i]];

		if (i)
			vd_buf_putc(out, ',');
		vd_buf_printf(out, "\"%s\":", s->name);
		if ((r = vd_spec_container(c, s, &opts, out, err)))
			goto done;
	}
	vd_buf_puts(out, "}}\n");
done:
	vd_compose_free(c);
	vd_kvs_release(&dotenv);
	vd_project_release(&proj);
	vd_buf_release(&envpath);
	return r;
}

int main(int argc, char **argv)
{
	vd_error err = VD_ERROR_INIT;
	vd_buf out = VD_BUF_INIT;
	const char *dir = NULL;
	long iterations = 1;
	int print = 0, r = 0;
	uint64_t *times;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--startup-only"))
			return 0;
		if (!strcmp(argv[i], "--print"))
			print = 1;
		else if (!dir)
			dir = argv[i];
		else
			iterations = strtol(argv[i], NULL, 10);
	}
	if (!dir || iterations < 1) {
		fprintf(stderr, "usage: compose_bench DIR [ITERATIONS] [--print]\n");
		return 2;
	}
	times = calloc((size_t)iterations, sizeof(*times));
	if (!times)
		return 1;
	for (long i = 0; i < iterations && !r; i++) {
		uint64_t t0 = now_us();

		r = run_once(dir, &out, &err);
		times[i] = now_us() - t0;
	}
	if (r) {
		fprintf(stderr, "compose_bench: %s\n", vd_error_msg(&err));
	} else {
		if (print)
			fputs(vd_buf_cstr(&out), stdout);
		if (iterations > 1) {
			qsort(times, (size_t)iterations, sizeof(*times), cmp_u64);
			fprintf(stderr, "in-process: %ld runs, median %llu us, p90 %llu us\n", iterations,
				(unsigned long long)times[(iterations - 1) / 2],
				(unsigned long long)times[(iterations * 9) / 10 < iterations
								  ? (iterations * 9) / 10
								  : iterations - 1]);
		}
	}
	free(times);
	vd_buf_release(&out);
	vd_error_release(&err);
	return r ? 1 : 0;
}
