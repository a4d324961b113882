/* `voxdeploy stats` against real containers: one busy with a memory limit,
 * one idle without; the numbers as docker stats computes them. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/json.h"
#include "integration/itest.h"
#include "testutil.h"

#define LIMIT (64LL << 20)

static char *dir;

static void start_service(const char *service, const char *script, long long memory)
{
	vd_error err = VD_ERROR_INIT;
	char name[200], host[64], *body, *id = NULL;

	snprintf(name, sizeof(name), "%s-%s-1", itest_project(), service);
	snprintf(host, sizeof(host), "\"HostConfig\":{\"Memory\":%lld}", memory);
	body = itest_service_body(service, script, host);
	itest_ok(vd_container_create(itest_docker(), name, body, &id, &err), &err);
	itest_ok(vd_container_start(itest_docker(), id, &err), &err);
	free(body);
	free(id);
}

static int setup(void **state)
{
	(void)state;
	dir = tu_mkdtemp("vd-it-stats");
	tu_write_str(dir, "compose.yml",
		     "services:\n  busy: {image: busybox, mem_limit: 64m}\n  idle: {image: busybox}\n");
	start_service("busy", "while :; do :; done", LIMIT);
	start_service("idle", "sleep 600", 0);
	return 0;
}

static int teardown(void **state)
{
	int rc = itest_group_teardown(state);

	tu_rm_rf(dir);
	free(dir);
	return rc;
}

static yajl_val entry(yajl_val all, const char *service)
{
	size_t i;

	for (i = 0; i < vd_json_len(all); i++)
		if (!strcmp(vd_json_str(vd_json_idx(all, i), "service"), service))
			return vd_json_idx(all, i);
	fail_msg("no %s in stats", service);
	return NULL;
}

static double num(yajl_val v, const char *a, const char *b)
{
	const char *path[] = { a, b, NULL };
	yajl_val n = yajl_tree_get(v, path, yajl_t_number);

	assert_non_null(n);
	return YAJL_GET_DOUBLE(n);
}

static void stats_json_reads_as_docker_stats(void **state)
{
	char args[256], out[16384];
	vd_error err = VD_ERROR_INIT;
	yajl_val all, busy, idle;
	double usage, limit, pct;

	snprintf(args, sizeof(args), "-p %s stats --no-stream --json", itest_project());
	assert_int_equal(itest_run(dir, args, out, sizeof(out)), 0);
	all = vd_json_parse(out, &err);
	if (!all)
		fail_msg("not JSON: %s", out);
	assert_int_equal(vd_json_len(all), 2);
	busy = entry(all, "busy");
	idle = entry(all, "idle");
	usage = num(busy, "memory", "usage");
	limit = num(busy, "memory", "limit");
	pct = num(busy, "memory", "percent");
	assert_true(limit == (double)LIMIT);
	assert_true(usage > 0 && usage < limit);
	assert_true(pct > 0 && pct < 100);
	assert_true(pct > usage / limit * 100 - 0.01 && pct < usage / limit * 100 + 0.01);
	/* a busy loop uses up to one CPU — less when the machine is busy with
	 * other work, never nothing —; sleep nothing */
	assert_true(num(busy, "cpu_percent", NULL) > 5);
	assert_true(num(busy, "cpu_percent", NULL) > num(idle, "cpu_percent", NULL));
	assert_true(num(idle, "cpu_percent", NULL) < 30);
	/* no limit: the engine reports the host's memory */
	assert_true(num(idle, "memory", "limit") > (double)LIMIT);
	assert_true(num(busy, "pids", NULL) >= 1);
	assert_true(num(busy, "net", "rx") >= 0);
	assert_non_null(strstr(vd_json_str(busy, "container"), "-busy-1"));
	yajl_tree_free(all);
}

static void stats_table_and_bad_input(void **state)
{
	char args[256], out[16384];

	snprintf(args, sizeof(args), "-p %s stats --no-stream busy", itest_project());
	assert_int_equal(itest_run(dir, args, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "MEM USAGE / LIMIT"));
	assert_non_null(strstr(out, "/ 64MiB"));
	assert_non_null(strstr(out, "busy"));
	assert_null(strstr(out, "idle"));
	snprintf(args, sizeof(args), "-p %s stats --no-stream nosuch", itest_project());
	assert_int_equal(itest_run(dir, args, out, sizeof(out)), 2);
	assert_non_null(strstr(out, "no running container of service 'nosuch'"));
	assert_non_null(strstr(out, "busy, idle") ? strstr(out, "busy, idle") : strstr(out, "idle, busy"));
	snprintf(args, sizeof(args), "-p %s stats --no-stream --sideways", itest_project());
	assert_int_equal(itest_run(dir, args, out, sizeof(out)), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(stats_json_reads_as_docker_stats),
		cmocka_unit_test(stats_table_and_bad_input),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
