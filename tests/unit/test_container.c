/* Unit tests of docker_api/container, image, network and volume parsing on
 * recorded engine answers (tests/unit/data: API 1.41 from Docker 20.10, and a
 * 1.44-shaped answer with several networks, per-endpoint MACs and DNSNames),
 * plus malformed answers, the create-body rewrite per API version and the
 * stats arithmetic. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docker_api/container.h"
#include "docker_api/image.h"
#include "docker_api/network.h"
#include "docker_api/volume.h"
#include "testutil.h"

static char *slurp(const char *name)
{
	return tu_read_data(VD_TEST_DATA, name);
}

static void container__list_recorded(void **state)
{
	char *json = slurp("list_1.41.json");
	vd_error err = VD_ERROR_INIT;
	vd_container_array list;

	assert_int_equal(vd_container_list_parse(json, &list, &err), 0);
	assert_int_equal(list.len, 1);
	assert_string_equal(list.items[0].name, "rec_app");
	assert_string_equal(list.items[0].state, "running");
	assert_string_equal(list.items[0].status, "Up 3 seconds (healthy)");
	assert_string_equal(list.items[0].image, "voxdeploy-test/busybox:1");
	assert_true(!strncmp(list.items[0].image_id, "sha256:", 7));
	assert_string_equal(vd_kvs_get(&list.items[0].labels, "com.docker.compose.service"), "app");
	assert_int_equal(list.items[0].created, 1795737957);
	vd_container_array_release(&list);
	free(json);
}

static void container__inspect_recorded_1_41(void **state)
{
	char *json = slurp("inspect_1.41_healthy.json");
	vd_error err = VD_ERROR_INIT;
	vd_container_info info;

	assert_int_equal(vd_container_info_parse(json, &info, &err), 0);
	assert_string_equal(info.name, "rec_app");
	assert_string_equal(info.status, "running");
	assert_true(info.running);
	assert_false(info.oom_killed);
	assert_int_equal(info.restart_count, 0);
	assert_string_equal(info.health, "healthy");
	assert_string_equal(info.health_output, "probe ok");
	assert_string_equal(info.config_image, "voxdeploy-test/busybox:1");
	assert_true(!strncmp(info.image_id, "sha256:", 7));
	assert_int_equal(info.n_endpoints, 1);
	assert_string_equal(info.endpoints[0].network, "rec_net");
	/* the engine's short-id alias is dropped, the user's kept */
	assert_int_equal(info.endpoints[0].n_aliases, 1);
	assert_string_equal(info.endpoints[0].aliases[0], "bot");
	assert_false(info.tty);
	assert_string_equal(vd_kvs_get(&info.labels, "com.docker.compose.project"), "rec");
	assert_non_null(info.raw);
	vd_container_info_release(&info);
	vd_container_info_release(&info);  /* twice is harmless */
	free(json);
}

static void container__inspect_recorded_1_44(void **state)
{
	char *json = slurp("inspect_1.44_two_networks.json");
	vd_error err = VD_ERROR_INIT;
	vd_container_info info;
	size_t i;

	assert_int_equal(vd_container_info_parse(json, &info, &err), 0);
	assert_int_equal(info.n_endpoints, 2);
	for (i = 0; i < info.n_endpoints; i++) {
		if (!strcmp(info.endpoints[i].network, "second_net")) {
			assert_string_equal(info.endpoints[i].ip, "172.30.0.9");
			assert_int_equal(info.endpoints[i].n_aliases, 0);  /* Aliases: null */
		} else {
			assert_int_equal(info.endpoints[i].n_aliases, 1);
			assert_string_equal(info.endpoints[i].aliases[0], "bot");
		}
	}
	vd_container_info_release(&info);
	free(json);
}

static void container__inspect_states(void **state)
{
	vd_error err = VD_ERROR_INIT;
	vd_container_info info;

	assert_int_equal(vd_container_info_parse(
		"{\"Id\":\"abc\",\"Name\":\"/x\",\"RestartCount\":3,\"State\":{\"Status\":\"exited\","
		"\"Running\":false,\"OOMKilled\":true,\"ExitCode\":137,\"Error\":\"\","
		"\"Health\":{\"Status\":\"unhealthy\",\"FailingStreak\":4,\"Log\":[{\"Output\":"
		"\"line1\\nconnection refused\\n\"}]}},\"Config\":{\"Tty\":true,\"Labels\":null}}",
		&info, &err), 0);
	assert_string_equal(info.status, "exited");
	assert_true(info.oom_killed);
	assert_int_equal(info.exit_code, 137);
	assert_int_equal(info.restart_count, 3);
	assert_string_equal(info.health, "unhealthy");
	assert_int_equal(info.failing_streak, 4);
	assert_string_equal(info.health_output, "connection refused");
	assert_null(info.error);
	assert_true(info.tty);
	assert_int_equal(info.labels.len, 0);
	assert_int_equal(info.n_endpoints, 0);
	vd_container_info_release(&info);

	/* found by fuzz_inspect: a FailingStreak no integer holds */
	assert_int_equal(vd_container_info_parse(
		"{\"Id\":\"abc\",\"Name\":\"/x\",\"RestartCount\":3,\"State\":{\"Status\":\"exited\","
		"\"Health\":{\"Status\":\"unhealthy\",\"FailingStreak\":6.66667e+42}},"
		"\"Config\":{\"Tty\":true,\"Labels\":null}}", &info, &err), 0);
	assert_int_equal(info.failing_streak, 0);
	vd_container_info_release(&info);

	/* no HEALTHCHECK: no health */
	assert_int_equal(vd_container_info_parse("{\"Id\":\"abc\",\"State\":{\"Status\":\"created\"}}",
						 &info, &err), 0);
	assert_null(info.health);
	assert_string_equal(info.name, "");
	vd_container_info_release(&info);
}

static void container__malformed_answers(void **state)
{
	static const char *const bad_inspect[] = {
		"", "{", "[]", "null", "{\"Id\":\"x\"}", "{\"State\":{}}", "{\"Id\":5,\"State\":{}}",
		"{\"Id\":\"x\",\"State\":[]}", "{\"Id\":\"x\",\"State\":{}", "\"string\"",
	};
	static const char *const bad_list[] = {
		"", "{}", "[{}]", "[{\"Id\":1}]", "[", "[{\"Id\":\"a\"},", "null",
	};
	vd_error err = VD_ERROR_INIT;
	vd_container_info info;
	vd_container_array list;
	vd_container_sample s;
	vd_image_info img;
	size_t i;

	for (i = 0; i < sizeof(bad_inspect) / sizeof(bad_inspect[0]); i++) {
		int r = vd_container_info_parse(bad_inspect[i], &info, &err);

		if (r != VD_EPROTO)
			fail_msg("inspect '%s': %d %s", bad_inspect[i], r, vd_error_msg(&err));
	}
	for (i = 0; i < sizeof(bad_list) / sizeof(bad_list[0]); i++) {
		int r = vd_container_list_parse(bad_list[i], &list, &err);

		if (r != VD_EPROTO)
			fail_msg("list '%s': %d %s", bad_list[i], r, vd_error_msg(&err));
	}
	/* odd but valid shapes are read leniently: wrong member types ignored */
	assert_int_equal(vd_container_list_parse(
		"[{\"Id\":\"a\",\"Names\":null,\"Labels\":{\"k\":1},\"State\":7}]", &list, &err), 0);
	assert_string_equal(list.items[0].name, "");
	assert_string_equal(list.items[0].state, "");
	assert_int_equal(list.items[0].labels.len, 0);
	vd_container_array_release(&list);
	assert_int_equal(vd_container_stats_parse("{\"memory_stats\":{}}", &s, &err), 0);
	assert_false(s.has_memory || s.mem_usage);
	assert_int_equal(vd_container_stats_parse("nope", &s, &err), VD_EPROTO);
	assert_int_equal(vd_image_info_parse("{\"RepoTags\":[]}", &img, &err), VD_EPROTO);
	vd_error_release(&err);
}

static void container__summary_health_and_uptime(void **state)
{
	static const struct { const char *status, *health, *uptime; } cases[] = {
		{ "Up 5 minutes (healthy)", "healthy", "5 minutes" },
		{ "Up About an hour (unhealthy)", "unhealthy", "About an hour" },
		{ "Up 2 seconds (health: starting)", "starting", "2 seconds" },
		{ "Up 3 days", NULL, "3 days" },
		{ "Up 7 weeks (Paused)", NULL, "7 weeks" },
		{ "Exited (137) 2 minutes ago", NULL, "" },
		{ "Created", NULL, "" },
		{ "", NULL, "" },
	};
	vd_container_summary s;
	char up[64];
	size_t i;

	memset(&s, 0, sizeof(s));
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *h;

		s.status = (char *)cases[i].status;
		h = vd_container_summary_health(&s);
		if (cases[i].health)
			assert_string_equal(h, cases[i].health);
		else
			assert_null(h);
		vd_container_summary_uptime(&s, up, sizeof(up));
		assert_string_equal(up, cases[i].uptime);
	}
}

static void container__name_filter(void **state)
{
	vd_buf b = VD_BUF_INIT;

	assert_int_equal(vd_container_name_filter(&b, "voxpersona_app"), 0);
	assert_string_equal(vd_buf_cstr(&b), "^/voxpersona_app$");
	vd_buf_clear(&b);
	assert_int_equal(vd_container_name_filter(&b, "a.b+c"), 0);
	assert_string_equal(vd_buf_cstr(&b), "^/a\\.b\\+c$");
	vd_buf_release(&b);
}

static const char two_nets[] =
	"{\"Image\":\"app\",\"MacAddress\":\"02:42:ac:11:00:05\",\"HostConfig\":{\"NetworkMode\":\"p_back\"},"
	"\"NetworkingConfig\":{\"EndpointsConfig\":{"
	"\"p_front\":{\"Aliases\":[\"web\"]},"
	"\"p_back\":{\"Aliases\":[\"app\"],\"IPAMConfig\":{\"IPv4Address\":\"172.30.0.5\"}}}}}";

static void container__create_body_below_1_44(void **state)
{
	vd_error err = VD_ERROR_INIT;
	vd_buf create = VD_BUF_INIT, connects = VD_BUF_INIT;

	assert_int_equal(vd_container_create_body(two_nets, false, &create, &connects, &err), 0);
	/* only the NetworkMode network at create, the MAC at the container level */
	assert_string_equal(vd_buf_cstr(&create),
		"{\"Image\":\"app\",\"HostConfig\":{\"NetworkMode\":\"p_back\"},"
		"\"MacAddress\":\"02:42:ac:11:00:05\","
		"\"NetworkingConfig\":{\"EndpointsConfig\":{\"p_back\":{\"Aliases\":[\"app\"],"
		"\"IPAMConfig\":{\"IPv4Address\":\"172.30.0.5\"}}}}}");
	assert_string_equal(vd_buf_cstr(&connects),
		"[{\"Network\":\"p_front\",\"EndpointConfig\":{\"Aliases\":[\"web\"]}}]");
	vd_buf_release(&create);
	vd_buf_release(&connects);
}

static void container__create_body_from_1_44(void **state)
{
	vd_error err = VD_ERROR_INIT;
	vd_buf create = VD_BUF_INIT, connects = VD_BUF_INIT;

	assert_int_equal(vd_container_create_body(two_nets, true, &create, &connects, &err), 0);
	/* every network at create; the MAC belongs to the primary endpoint */
	assert_string_equal(vd_buf_cstr(&create),
		"{\"Image\":\"app\",\"HostConfig\":{\"NetworkMode\":\"p_back\"},"
		"\"NetworkingConfig\":{\"EndpointsConfig\":{"
		"\"p_front\":{\"Aliases\":[\"web\"]},"
		"\"p_back\":{\"Aliases\":[\"app\"],\"IPAMConfig\":{\"IPv4Address\":\"172.30.0.5\"},"
		"\"MacAddress\":\"02:42:ac:11:00:05\"}}}}");
	assert_string_equal(vd_buf_cstr(&connects), "[]");
	vd_buf_release(&create);
	vd_buf_release(&connects);

	/* a per-endpoint MAC below 1.44 moves to Config.MacAddress */
	assert_int_equal(vd_container_create_body(
		"{\"Image\":\"a\",\"NetworkingConfig\":{\"EndpointsConfig\":{\"n\":{\"MacAddress\":\"02:00:00:00:00:01\"}}}}",
		false, &create, &connects, &err), 0);
	assert_string_equal(vd_buf_cstr(&create),
		"{\"Image\":\"a\",\"MacAddress\":\"02:00:00:00:00:01\","
		"\"NetworkingConfig\":{\"EndpointsConfig\":{\"n\":{}}}}");
	vd_buf_release(&create);
	vd_buf_release(&connects);

	/* no networks at all: the body passes through */
	assert_int_equal(vd_container_create_body("{\"Image\":\"a\",\"Cmd\":[\"x\"]}", false,
						  &create, &connects, &err), 0);
	assert_string_equal(vd_buf_cstr(&create), "{\"Image\":\"a\",\"Cmd\":[\"x\"]}");
	vd_buf_release(&create);
	vd_buf_release(&connects);

	assert_int_equal(vd_container_create_body("[1]", true, &create, &connects, &err), VD_EINVAL);
	assert_int_equal(vd_container_create_body("{", true, &create, &connects, &err), VD_EPROTO);
	vd_buf_release(&create);
	vd_buf_release(&connects);
	vd_error_release(&err);
}

static void container__stats(void **state)
{
	char *json = slurp("stats_1.41_oneshot.json");
	vd_error err = VD_ERROR_INIT;
	vd_container_sample s, a, b;

	assert_int_equal(vd_container_stats_parse(json, &s, &err), 0);
	assert_true(s.has_memory);
	assert_int_equal(s.mem_usage, 643072);
	assert_int_equal(s.mem_limit, 25276502016ULL);
	assert_int_equal(s.online_cpus, 2);
	assert_int_equal(s.cpu_total, 60926009);
	assert_int_equal(s.pids, 1);
	assert_int_equal(s.net_rx, 1096);
	assert_int_equal(s.net_tx, 0);
	free(json);
	/* every network and both spellings of blkio's ops, as docker stats sums them */
	assert_int_equal(vd_container_stats_parse(
		"{\"networks\":{\"eth0\":{\"rx_bytes\":10,\"tx_bytes\":20},\"eth1\":{\"rx_bytes\":1,\"tx_bytes\":2}},"
		"\"blkio_stats\":{\"io_service_bytes_recursive\":[{\"major\":8,\"op\":\"Read\",\"value\":4096},"
		"{\"op\":\"Write\",\"value\":100},{\"op\":\"read\",\"value\":4},{\"op\":\"Total\",\"value\":9999}]}}",
		&s, &err), 0);
	assert_int_equal(s.net_rx, 11);
	assert_int_equal(s.net_tx, 22);
	assert_int_equal(s.blk_read, 4100);
	assert_int_equal(s.blk_write, 100);
	{
		char u[32];

		vd_container_stats_binary(643072, u);
		assert_string_equal(u, "628KiB");
		vd_container_stats_binary(25276502016.0, u);
		assert_string_equal(u, "23.54GiB");
		vd_container_stats_binary(0, u);
		assert_string_equal(u, "0B");
		vd_container_stats_binary(268435456, u);
		assert_string_equal(u, "256MiB");
		vd_container_stats_decimal(1096, u);
		assert_string_equal(u, "1.1kB");
		vd_container_stats_decimal(999, u);
		assert_string_equal(u, "999B");
		vd_container_stats_decimal(4100, u);
		assert_string_equal(u, "4.1kB");
		vd_container_stats_decimal(12345678, u);
		assert_string_equal(u, "12.3MB");
	}

	/* cgroup v1: total_inactive_file wins over inactive_file */
	assert_int_equal(vd_container_stats_parse(
		"{\"memory_stats\":{\"usage\":1000,\"limit\":4000,\"stats\":{\"inactive_file\":100,"
		"\"total_inactive_file\":300}}}", &s, &err), 0);
	assert_int_equal(vd_container_stats_mem_used(&s), 700);
	/* cgroup v2 */
	assert_int_equal(vd_container_stats_parse(
		"{\"memory_stats\":{\"usage\":1000,\"limit\":4000,\"stats\":{\"inactive_file\":100}}}",
		&s, &err), 0);
	assert_int_equal(vd_container_stats_mem_used(&s), 900);
	/* inactive larger than usage: usage as it is */
	s.mem_inactive_file = 5000;
	assert_int_equal(vd_container_stats_mem_used(&s), 1000);
	/* cgroup v1 whose total_inactive_file is no smaller: inactive_file, as docker */
	assert_int_equal(vd_container_stats_parse(
		"{\"memory_stats\":{\"usage\":1000,\"limit\":4000,\"stats\":{\"inactive_file\":100,"
		"\"total_inactive_file\":1000}}}", &s, &err), 0);
	assert_int_equal(vd_container_stats_mem_used(&s), 900);

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	a.cpu_total = 1000000000ULL;
	a.system_cpu = 100000000000ULL;
	b.cpu_total = 1500000000ULL;
	b.system_cpu = 102000000000ULL;
	b.online_cpus = 2;
	/* 0.5 s of CPU over 2 s of all CPUs' time, times 2 CPUs = 50 % */
	assert_float_equal(vd_container_stats_cpu_percent(&a, &b), 50.0, 1e-9);
	assert_float_equal(vd_container_stats_cpu_percent(&b, &a), 0.0, 1e-9);
	/* large 64-bit counters do not overflow */
	a.cpu_total = 18000000000000000000ULL;
	b.cpu_total = 18000000000500000000ULL;
	assert_float_equal(vd_container_stats_cpu_percent(&a, &b), 50.0, 1e-9);
	vd_error_release(&err);
}

static void image__parse(void **state)
{
	vd_error err = VD_ERROR_INIT;
	vd_image_info info;
	vd_image_array list;

	assert_int_equal(vd_image_info_parse(
		"{\"Id\":\"sha256:ab\",\"RepoTags\":[\"app:latest\",\"app:voxdeploy-previous\"],"
		"\"Created\":\"2026-11-27T00:00:00Z\",\"Size\":123,\"Config\":{\"Labels\":{\"a\":\"b\"}}}",
		&info, &err), 0);
	assert_string_equal(info.id, "sha256:ab");
	assert_int_equal(info.n_repo_tags, 2);
	assert_string_equal(info.repo_tags[1], "app:voxdeploy-previous");
	assert_int_equal(info.size, 123);
	assert_string_equal(vd_kvs_get(&info.labels, "a"), "b");
	vd_image_info_release(&info);

	assert_int_equal(vd_image_list_parse(
		"[{\"Id\":\"sha256:1\",\"RepoTags\":[\"<none>:<none>\"],\"Labels\":null},"
		"{\"Id\":\"sha256:2\",\"RepoTags\":null}]", &list, &err), 0);
	assert_int_equal(list.len, 2);
	assert_int_equal(list.items[0].n_repo_tags, 0);
	assert_int_equal(list.items[1].n_repo_tags, 0);
	vd_image_array_release(&list);
	assert_int_equal(vd_image_list_parse("{}", &list, &err), VD_EPROTO);
	vd_error_release(&err);
}

static void pull_split_one(const char *ref, const char *name, const char *tag)
{
	char *n = NULL, *t = NULL;

	assert_int_equal(vd_image_pull_split(ref, &n, &t), 0);
	assert_string_equal(n, name);
	assert_string_equal(t, tag);
	free(n);
	free(t);
}

/* A reference as the pull's fromImage and tag: a registry's port is no
 * tag, a digest wins over a tag. */
static void image__pull_split(void **state)
{
	(void)state;
	pull_split_one("postgres", "postgres", "latest");
	pull_split_one("postgres:16", "postgres", "16");
	pull_split_one("reg:5000/db", "reg:5000/db", "latest");
	pull_split_one("reg:5000/lib/db:16", "reg:5000/lib/db", "16");
	pull_split_one("reg:5000/db@sha256:ab", "reg:5000/db", "sha256:ab");
	pull_split_one("reg:5000/db:16@sha256:ab", "reg:5000/db", "sha256:ab");
	pull_split_one("db:16@sha256:ab", "db", "sha256:ab");
	{
		char *n = NULL, *t = NULL;

		/* an empty tag would pull every tag */
		assert_int_equal(vd_image_pull_split("db:", &n, &t), VD_EINVAL);
		assert_int_equal(vd_image_pull_split("db@", &n, &t), VD_EINVAL);
		assert_null(n);
		assert_null(t);
	}
	/* credentials go only to their own registry */
	assert_true(vd_image_from_registry("reg:5000/app:v1@sha256:ab", "reg:5000"));
	assert_false(vd_image_from_registry("postgres:16", "reg:5000"));
	assert_false(vd_image_from_registry("reg:50000/app", "reg:5000"));
	assert_false(vd_image_from_registry("reg:5000/app", NULL));
}

static void network_volume__parse(void **state)
{
	vd_error err = VD_ERROR_INIT;
	vd_network_array nets;
	vd_volume_array vols;

	assert_int_equal(vd_network_list_parse(
		"[{\"Name\":\"p_default\",\"Id\":\"n1\",\"Driver\":\"bridge\",\"Scope\":\"local\","
		"\"Labels\":{\"com.docker.compose.network\":\"default\"}}]", &nets, &err), 0);
	assert_int_equal(nets.len, 1);
	assert_string_equal(nets.items[0].name, "p_default");
	assert_string_equal(vd_kvs_get(&nets.items[0].labels, "com.docker.compose.network"), "default");
	vd_network_array_release(&nets);

	/* no volumes: the engine says null */
	assert_int_equal(vd_volume_list_parse("{\"Volumes\":null,\"Warnings\":null}", &vols, &err), 0);
	assert_int_equal(vols.len, 0);
	vd_volume_array_release(&vols);
	assert_int_equal(vd_volume_list_parse(
		"{\"Volumes\":[{\"Name\":\"p_postgres_data\",\"Driver\":\"local\",\"Mountpoint\":\"/m\","
		"\"Labels\":null}]}", &vols, &err), 0);
	assert_string_equal(vols.items[0].name, "p_postgres_data");
	vd_volume_array_release(&vols);
	assert_int_equal(vd_volume_list_parse("{\"Volumes\":[{}]}", &vols, &err), VD_EPROTO);
	assert_int_equal(vd_volume_list_parse("{\"Volumes\":7}", &vols, &err), VD_EPROTO);
	vd_error_release(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(container__list_recorded),
		cmocka_unit_test(container__inspect_recorded_1_41),
		cmocka_unit_test(container__inspect_recorded_1_44),
		cmocka_unit_test(container__inspect_states),
		cmocka_unit_test(container__malformed_answers),
		cmocka_unit_test(container__summary_health_and_uptime),
		cmocka_unit_test(container__name_filter),
		cmocka_unit_test(container__create_body_below_1_44),
		cmocka_unit_test(container__create_body_from_1_44),
		cmocka_unit_test(container__stats),
		cmocka_unit_test(image__parse),
		cmocka_unit_test(image__pull_split),
		cmocka_unit_test(network_volume__parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
