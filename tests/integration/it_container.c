/* Integration: containers, images, networks and volumes against the real
 * engine — the whole lifecycle, renames, errors with Docker's message, a
 * network connected after create, images tagged and untagged, and the
 * `status` and `version` commands end to end. */
#include "itest.h"
#include "common/json.h"
#include "docker_api/image.h"
#include "docker_api/network.h"
#include "docker_api/volume.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void container__lifecycle(void **state)
{
	vd_docker *d = itest_docker();
	vd_error err = VD_ERROR_INIT;
	vd_container_info info;
	char *id = itest_create("life", "trap 'exit 0' TERM; while true; do sleep 0.1; done", NULL);
	char newname[160];
	int64_t code = -1;

	itest_ok(vd_container_inspect(d, id, &info, &err), &err);
	assert_string_equal(info.status, "created");
	vd_container_info_release(&info);

	itest_ok(vd_container_start(d, id, &err), &err);
	/* starting a running container is not an error (304) */
	itest_ok(vd_container_start(d, id, &err), &err);
	itest_ok(vd_container_inspect(d, id, &info, &err), &err);
	assert_true(info.running);
	assert_true(info.pid > 0);
	vd_container_info_release(&info);

	snprintf(newname, sizeof(newname), "%s_life_renamed", itest_project());
	itest_ok(vd_container_rename(d, id, newname, &err), &err);
	itest_ok(vd_container_inspect(d, newname, &info, &err), &err);
	assert_string_equal(info.id, id);
	vd_container_info_release(&info);

	itest_ok(vd_container_stop(d, id, 5, &err), &err);
	itest_ok(vd_container_wait(d, id, "not-running", 10000, &code, &err), &err);
	assert_int_equal(code, 0);
	itest_ok(vd_container_inspect(d, id, &info, &err), &err);
	assert_string_equal(info.status, "exited");
	vd_container_info_release(&info);
	itest_ok(vd_container_restart(d, id, 1, &err), &err);
	itest_ok(vd_container_kill(d, id, "KILL", &err), &err);
	itest_ok(vd_container_wait(d, id, NULL, 10000, &code, &err), &err);
	assert_int_equal(code, 137);

	itest_ok(vd_container_remove(d, id, false, false, &err), &err);
	assert_int_equal(vd_container_inspect(d, id, &info, &err), VD_ENOTFOUND);
	free(id);
	vd_error_release(&err);
}

static void container__errors_carry_dockers_message(void **state)
{
	vd_docker *d = itest_docker();
	vd_error err = VD_ERROR_INIT;
	vd_container_info info;
	char name[160], *id = itest_create("dup", "sleep 30", NULL), *id2 = NULL, *body;

	/* 404 */
	assert_int_equal(vd_container_inspect(d, "voxdeploy-no-such-container", &info, &err),
			 VD_ENOTFOUND);
	assert_string_equal(vd_error_msg(&err),
			    "inspect container voxdeploy-no-such-container: 404 Not Found: "
			    "No such container: voxdeploy-no-such-container");
	assert_int_equal(err.http_status, 404);
	/* 409: the name is taken */
	snprintf(name, sizeof(name), "%s_dup", itest_project());
	body = itest_body("true", NULL);
	assert_int_equal(vd_container_create(d, name, body, &id2, &err), VD_ECONFLICT);
	assert_non_null(strstr(vd_error_msg(&err), "409 Conflict: Conflict. The container name"));
	assert_non_null(strstr(vd_error_msg(&err), "is already in use"));
	assert_null(id2);
	/* 409: removing a running container without force */
	itest_ok(vd_container_start(d, id, &err), &err);
	assert_int_equal(vd_container_remove(d, id, false, false, &err), VD_ECONFLICT);
	assert_non_null(strstr(vd_error_msg(&err), "409 Conflict"));
	/* kill of a stopped container: 409 */
	itest_ok(vd_container_remove(d, id, true, false, &err), &err);
	/* a name that is only an id prefix elsewhere is not found by name */
	assert_int_equal(vd_container_inspect(d, "zz-not-hex", &info, &err), VD_ENOTFOUND);
	/* an image that does not exist: 404 from create */
	free(body);
	body = strdup("{\"Image\":\"voxdeploy-test/absent:1\",\"Labels\":{\"io.voxdeploy.test\":\"1\"}}");
	assert_int_equal(vd_container_create(d, NULL, body, &id2, &err), VD_ENOTFOUND);
	assert_non_null(strstr(vd_error_msg(&err), "No such image"));
	free(body);
	free(id);
	vd_error_release(&err);
}

static void container__list_filters_exactly(void **state)
{
	vd_docker *d = itest_docker();
	vd_error err = VD_ERROR_INIT;
	char label[160], *a = itest_create("lista", "sleep 30", NULL);
	char *b = itest_create("lista_longer", "sleep 30", NULL);
	vd_buf name = VD_BUF_INIT, n2 = VD_BUF_INIT;
	const char *by_label[] = { "label", label, NULL };
	const char *by_name[3] = { "name", NULL, NULL };
	vd_container_array list;

	snprintf(label, sizeof(label), "com.docker.compose.project=%s", itest_project());
	itest_ok(vd_container_list(d, true, by_label, &list, &err), &err);
	assert_true(list.len >= 2);
	vd_container_array_release(&list);
	/* the engine's name filter is a regexp: anchored, "lista" is only lista */
	vd_buf_printf(&n2, "%s_lista", itest_project());
	vd_container_name_filter(&name, vd_buf_cstr(&n2));
	by_name[1] = vd_buf_cstr(&name);
	itest_ok(vd_container_list(d, true, by_name, &list, &err), &err);
	assert_int_equal(list.len, 1);
	assert_string_equal(list.items[0].id, a);
	vd_container_array_release(&list);
	vd_buf_release(&name);
	vd_buf_release(&n2);
	free(a);
	free(b);
	vd_error_release(&err);
}

static void container__healthcheck_and_stats(void **state)
{
	vd_docker *d = itest_docker();
	vd_error err = VD_ERROR_INIT;
	vd_container_info info;
	vd_container_sample s1, s2;
	char *id = itest_create("health", "while true; do :; done",
				"\"Healthcheck\":{\"Test\":[\"CMD-SHELL\",\"echo probe says ok\"],"
				"\"Interval\":500000000,\"Timeout\":2000000000,\"Retries\":1}");
	int i;

	itest_ok(vd_container_start(d, id, &err), &err);
	for (i = 0; i < 100; i++) {
		itest_ok(vd_container_inspect(d, id, &info, &err), &err);
		if (info.health && !strcmp(info.health, "healthy"))
			break;
		vd_container_info_release(&info);
		usleep(100000);
	}
	assert_int_not_equal(i, 100);
	assert_string_equal(info.health_output, "probe says ok");
	vd_container_info_release(&info);

	itest_ok(vd_container_stats(d, id, &s1, &err), &err);
	usleep(300000);
	itest_ok(vd_container_stats(d, id, &s2, &err), &err);
	assert_true(s2.has_memory);
	assert_true(s2.mem_usage > 0);
	assert_true(s2.mem_limit > 0);
	assert_true(vd_container_stats_mem_used(&s2) <= s2.mem_usage);
	/* a busy loop uses CPU */
	assert_true(s2.cpu_total > s1.cpu_total);
	assert_true(vd_container_stats_cpu_percent(&s1, &s2) > 1.0);
	itest_ok(vd_container_remove(d, id, true, false, &err), &err);
	free(id);
	vd_error_release(&err);
}

static void network__create_connect_and_find(void **state)
{
	vd_docker *d = itest_docker();
	vd_error err = VD_ERROR_INIT;
	char netname[160], netname2[160], body[1024], *net = NULL, *net2 = NULL, *found = NULL;
	char *cbody, *id = NULL, cname[160], extra[1024];
	vd_container_info info;
	size_t i;
	bool front = false, back = false;

	snprintf(netname, sizeof(netname), "%s_back", itest_project());
	snprintf(netname2, sizeof(netname2), "%s_front", itest_project());
	snprintf(body, sizeof(body), "{\"Name\":\"%s\",\"CheckDuplicate\":true,\"Driver\":\"bridge\","
		 "\"Labels\":{\"io.voxdeploy.test\":\"1\",\"com.docker.compose.project\":\"%s\"}}",
		 netname, itest_project());
	itest_ok(vd_network_create(d, body, &net, &err), &err);
	snprintf(body, sizeof(body), "{\"Name\":\"%s\",\"CheckDuplicate\":true,\"Driver\":\"bridge\","
		 "\"Labels\":{\"io.voxdeploy.test\":\"1\",\"com.docker.compose.project\":\"%s\"}}",
		 netname2, itest_project());
	itest_ok(vd_network_create(d, body, &net2, &err), &err);
	itest_ok(vd_network_find(d, netname, &found, &err), &err);
	assert_string_equal(found, net);
	free(found);
	found = NULL;
	/* "_back" is a substring of nothing else; a prefix is not a match */
	assert_int_equal(vd_network_find(d, itest_project(), &found, &err), VD_ENOTFOUND);

	/* two networks at create: below 1.44 the second is connected after
	 * create, with its alias */
	snprintf(extra, sizeof(extra), "\"HostConfig\":{\"NetworkMode\":\"%s\"},"
		 "\"NetworkingConfig\":{\"EndpointsConfig\":{\"%s\":{\"Aliases\":[\"api\"]},"
		 "\"%s\":{\"Aliases\":[\"web\"]}}}", netname, netname, netname2);
	cbody = itest_body("sleep 30", extra);
	snprintf(cname, sizeof(cname), "%s_multi", itest_project());
	itest_ok(vd_container_create(d, cname, cbody, &id, &err), &err);
	itest_ok(vd_container_inspect(d, id, &info, &err), &err);
	assert_int_equal(info.n_endpoints, 2);
	for (i = 0; i < info.n_endpoints; i++) {
		if (!strcmp(info.endpoints[i].network, netname)) {
			back = true;
			assert_int_equal(info.endpoints[i].n_aliases, 1);
			assert_string_equal(info.endpoints[i].aliases[0], "api");
		} else if (!strcmp(info.endpoints[i].network, netname2)) {
			front = true;
			assert_int_equal(info.endpoints[i].n_aliases, 1);
			assert_string_equal(info.endpoints[i].aliases[0], "web");
		}
	}
	assert_true(front && back);
	vd_container_info_release(&info);
	itest_ok(vd_network_disconnect(d, net2, id, false, &err), &err);
	itest_ok(vd_container_inspect(d, id, &info, &err), &err);
	assert_int_equal(info.n_endpoints, 1);
	vd_container_info_release(&info);
	itest_ok(vd_network_connect(d, net2, id, "{\"Aliases\":[\"again\"]}", &err), &err);
	itest_ok(vd_container_remove(d, id, true, false, &err), &err);
	itest_ok(vd_network_remove(d, net2, &err), &err);
	free(cbody);
	free(id);
	free(net);
	free(net2);
	vd_error_release(&err);
}

static void volume__create_is_idempotent(void **state)
{
	vd_docker *d = itest_docker();
	vd_error err = VD_ERROR_INIT;
	vd_volume_info v1, v2;
	char body[512], label[160];
	const char *pairs[] = { "label", label, NULL };
	vd_volume_array list;

	snprintf(label, sizeof(label), "com.docker.compose.project=%s", itest_project());
	snprintf(body, sizeof(body), "{\"Name\":\"%s_data\",\"Labels\":{\"io.voxdeploy.test\":\"1\","
		 "\"com.docker.compose.project\":\"%s\"}}", itest_project(), itest_project());
	itest_ok(vd_volume_create(d, body, &v1, &err), &err);
	itest_ok(vd_volume_create(d, body, &v2, &err), &err);
	assert_string_equal(v1.name, v2.name);
	assert_string_equal(v1.mountpoint, v2.mountpoint);
	vd_volume_info_release(&v2);
	itest_ok(vd_volume_inspect(d, v1.name, &v2, &err), &err);
	assert_string_equal(vd_kvs_get(&v2.labels, "io.voxdeploy.test"), "1");
	itest_ok(vd_volume_list(d, pairs, &list, &err), &err);
	assert_int_equal(list.len, 1);
	vd_volume_array_release(&list);
	vd_volume_info_release(&v1);
	vd_volume_info_release(&v2);
	assert_int_equal(vd_volume_inspect(d, "voxdeploy-no-such-volume", &v1, &err), VD_ENOTFOUND);
	vd_error_release(&err);
}

static void image__tag_list_remove(void **state)
{
	vd_docker *d = itest_docker();
	vd_error err = VD_ERROR_INIT;
	vd_image_info info, base;
	vd_image_array list;
	char repo[160], ref[200], filter[200];
	size_t i;
	bool seen = false;

	itest_ok(vd_image_inspect(d, itest_busybox_image(), &base, &err), &err);
	snprintf(repo, sizeof(repo), "voxdeploy-test/%s", itest_project());
	itest_ok(vd_image_tag(d, base.id, repo, "voxdeploy-previous", &err), &err);
	snprintf(ref, sizeof(ref), "%s:voxdeploy-previous", repo);
	itest_ok(vd_image_inspect(d, ref, &info, &err), &err);
	assert_string_equal(info.id, base.id);
	vd_image_info_release(&info);
	snprintf(filter, sizeof(filter), "%s:*", repo);
	itest_ok(vd_image_list(d, filter, &list, &err), &err);
	for (i = 0; i < list.len; i++)
		if (list.items[i].n_repo_tags && !strcmp(list.items[i].repo_tags[0], ref))
			seen = true;
	assert_true(seen);
	vd_image_array_release(&list);
	/* removing a tag keeps the image */
	itest_ok(vd_image_remove(d, ref, false, false, &err), &err);
	assert_int_equal(vd_image_inspect(d, ref, &info, &err), VD_ENOTFOUND);
	itest_ok(vd_image_inspect(d, base.id, &info, &err), &err);
	vd_image_info_release(&info);
	vd_image_info_release(&base);
	vd_error_release(&err);
}

/* The commands end to end, through the built binary. */
static void cli__status_and_version(void **state)
{
	vd_docker *d = itest_docker();
	vd_error err = VD_ERROR_INIT;
	char args[256], out[16384], *id;
	yajl_val v;

	id = itest_create("app", "sleep 60",
			  "\"Healthcheck\":{\"Test\":[\"CMD-SHELL\",\"true\"],\"Interval\":500000000}");
	itest_ok(vd_container_start(d, id, &err), &err);
	snprintf(args, sizeof(args), "-p %s status --json", itest_project());
	assert_int_equal(itest_run(NULL, args, out, sizeof(out)), 0);
	v = vd_json_parse(out, &err);
	assert_non_null(v);
	assert_string_equal(vd_json_str(v, "project"), itest_project());
	assert_true(vd_json_len(vd_json_get(v, "containers")) >= 1);
	yajl_tree_free(v);
	/* --long inspects: exact uptime and restart count */
	snprintf(args, sizeof(args), "-p %s status --long --json", itest_project());
	assert_int_equal(itest_run(NULL, args, out, sizeof(out)), 0);
	v = vd_json_parse(out, &err);
	assert_non_null(v);
	assert_non_null(vd_json_get(vd_json_idx(vd_json_get(v, "containers"), 0), "restart_count"));
	assert_true(vd_json_int(vd_json_idx(vd_json_get(v, "containers"), 0), "uptime_seconds", -1) >= 0);
	yajl_tree_free(v);
	snprintf(args, sizeof(args), "status -p %s", itest_project());
	assert_int_equal(itest_run(NULL, args, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "NAME"));
	assert_non_null(strstr(out, "_app"));
	assert_non_null(strstr(out, "running"));

	assert_int_equal(itest_run(NULL, "--json version", out, sizeof(out)), 0);
	v = vd_json_parse(out, &err);
	assert_non_null(v);
	assert_string_equal(vd_json_str(v, "api_version"), vd_docker_api_version(d));
	yajl_tree_free(v);

	/* bad input: exit 2 with a message */
	assert_int_equal(itest_run(NULL, "-H unix:///nonexistent.sock status", out, sizeof(out)), 2);
	assert_non_null(strstr(out, "cannot reach the Docker engine at unix:///nonexistent.sock"));
	assert_int_equal(itest_run(NULL, "-p 'Bad Name' status", out, sizeof(out)), 2);
	assert_non_null(strstr(out, "project name 'Bad Name' is invalid"));
	assert_int_equal(itest_run(NULL, "frobnicate", out, sizeof(out)), 2);
	assert_non_null(strstr(out, "unknown command 'frobnicate'"));
	assert_int_equal(itest_run(NULL, "status extra", out, sizeof(out)), 2);
	assert_int_equal(itest_run(NULL, "-p", out, sizeof(out)), 2);
	assert_non_null(strstr(out, "option -p needs a value"));
	free(id);
	vd_error_release(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(container__lifecycle),
		cmocka_unit_test(container__errors_carry_dockers_message),
		cmocka_unit_test(container__list_filters_exactly),
		cmocka_unit_test(container__healthcheck_and_stats),
		cmocka_unit_test(network__create_connect_and_find),
		cmocka_unit_test(volume__create_is_idempotent),
		cmocka_unit_test(image__tag_list_remove),
		cmocka_unit_test(cli__status_and_version),
	};

	return cmocka_run_group_tests(tests, NULL, itest_group_teardown);
}
