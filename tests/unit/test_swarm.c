/* Unit tests of docker_api/swarm on answers recorded from a real
 * three-node swarm of nested Docker 20.10 engines (API 1.41; the join
 * tokens of /swarm replaced): the swarm state of a manager, a worker and an
 * engine in no swarm, nodes, services (plain, an update paused by a failed
 * task, a rollback under way), tasks; malformed answers; the task states'
 * order; the X-Registry-Auth encoding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docker_api/swarm.h"
#include "testutil.h"

static char *slurp(const char *name)
{
	return tu_read_data(VD_TEST_DATA, name);
}

static void state__manager_worker_and_none(void **state)
{
	char *json = slurp("swarm_info_manager_1.41.json");
	vd_error err = VD_ERROR_INIT;
	vd_swarm_state s;

	(void)state;
	assert_int_equal(vd_swarm_state_parse(json, &s, &err), 0);
	assert_string_equal(s.node_state, "active");
	assert_true(s.manager);
	assert_string_equal(s.node_id, "wvc9mw7j16ygit2k97vhkkmft");
	assert_string_equal(s.node_addr, "192.168.80.3");
	assert_int_equal(s.nodes, 3);
	assert_int_equal(s.managers, 1);
	free(json);

	json = slurp("swarm_info_worker_1.41.json");
	assert_int_equal(vd_swarm_state_parse(json, &s, &err), 0);
	assert_string_equal(s.node_state, "active");
	assert_false(s.manager);
	assert_string_equal(s.node_id, "vrbe3nq3cjfxkwchi3vda1dsn");
	assert_int_equal(s.nodes, 0);
	free(json);

	/* an engine in no swarm, and one that says nothing of swarms */
	assert_int_equal(vd_swarm_state_parse("{\"Swarm\":{\"NodeID\":\"\",\"LocalNodeState\":\"inactive\","
					      "\"ControlAvailable\":false}}", &s, &err), 0);
	assert_string_equal(s.node_state, "inactive");
	assert_false(s.manager);
	assert_int_equal(vd_swarm_state_parse("{\"ID\":\"x\"}", &s, &err), 0);
	assert_string_equal(s.node_state, "inactive");

	assert_int_equal(vd_swarm_state_parse("{\"Swarm\":", &s, &err), VD_EPROTO);
	assert_non_null(strstr(vd_error_msg(&err), "engine info"));
	vd_error_release(&err);
}

static void nodes__recorded(void **state)
{
	char *json = slurp("swarm_nodes_1.41.json");
	vd_error err = VD_ERROR_INIT;
	vd_node_array list;
	const vd_node_info *m;
	size_t i, workers = 0;

	(void)state;
	assert_int_equal(vd_node_list_parse(json, &list, &err), 0);
	assert_int_equal(list.len, 3);
	for (i = 0; i < list.len; i++) {
		assert_string_equal(list.items[i].state, "ready");
		assert_string_equal(list.items[i].availability, "active");
		assert_non_null(list.items[i].addr);
		assert_true(list.items[i].version > 0);
		workers += !strcmp(list.items[i].role, "worker");
	}
	assert_int_equal(workers, 2);
	m = vd_node_find(&list, "wvc9mw7j16ygit2k97vhkkmft");
	assert_non_null(m);
	assert_string_equal(m->hostname, "vdswt-m1");
	assert_string_equal(m->role, "manager");
	assert_true(m->leader);
	assert_string_equal(m->addr, "192.168.80.3");
	assert_false(vd_node_find(&list, "jnuzadpjdjnsn0ri38ajr97f7")->leader);
	assert_null(vd_node_find(&list, "nope"));
	assert_null(vd_node_find(&list, NULL));
	vd_node_array_release(&list);
	free(json);

	/* an entry without an ID is malformed; null is an empty list */
	assert_int_equal(vd_node_list_parse("[{\"Spec\":{}}]", &list, &err), VD_EPROTO);
	vd_error_release(&err);
	assert_int_equal(vd_node_list_parse("[]", &list, &err), 0);
	assert_int_equal(list.len, 0);
	vd_node_array_release(&list);
}

static void services__plain_updated_rolled_back(void **state)
{
	char *json = slurp("swarm_service_1.41.json");
	vd_error err = VD_ERROR_INIT;
	vd_service_info s;
	vd_service_array list;

	(void)state;
	assert_int_equal(vd_service_info_parse(json, &s, &err), 0);
	assert_string_equal(s.id, "py9ple937bhvs323i3cpklkrq");
	assert_string_equal(s.name, "web");
	assert_int_equal(s.version, 25);
	assert_string_equal(s.image, "voxdeploy-test/busybox:1");
	assert_int_equal(s.replicas, 2);
	assert_null(s.update_state);
	assert_false(s.has_previous);
	assert_non_null(s.raw);
	assert_non_null(vd_json_at(s.raw, "Spec", "TaskTemplate", "ContainerSpec", NULL));
	vd_service_info_release(&s);
	free(json);

	/* an update the swarm paused: a task failed */
	json = slurp("swarm_service_updated_1.41.json");
	assert_int_equal(vd_service_info_parse(json, &s, &err), 0);
	assert_string_equal(s.name, "rec");
	assert_string_equal(s.update_state, "paused");
	assert_non_null(strstr(s.update_message, "update paused due to failure"));
	assert_true(s.has_previous);
	assert_string_equal(s.previous_image, "voxdeploy-test/busybox:1");
	assert_int_equal(s.version, 85);
	vd_service_info_release(&s);
	free(json);

	json = slurp("swarm_service_rollback_1.41.json");
	assert_int_equal(vd_service_info_parse(json, &s, &err), 0);
	assert_string_equal(s.update_state, "rollback_started");
	assert_string_equal(s.update_message, "manually requested rollback");
	assert_int_equal(s.version, 87);
	vd_service_info_release(&s);
	free(json);

	json = slurp("swarm_services_1.41.json");
	assert_int_equal(vd_service_list_parse(json, &list, &err), 0);
	assert_int_equal(list.len, 2);
	assert_string_equal(list.items[0].name, "web");
	assert_string_equal(list.items[1].name, "web2");
	vd_service_array_release(&list);
	free(json);

	/* a global service, labels, and what is not an answer */
	assert_int_equal(vd_service_info_parse("{\"ID\":\"g\",\"Version\":{\"Index\":3},\"Spec\":{\"Name\":"
					       "\"agent\",\"Labels\":{\"com.docker.stack.namespace\":"
					       "\"vox\"},\"Mode\":{\"Global\":{}}}}", &s, &err), 0);
	assert_int_equal(s.replicas, -1);
	assert_string_equal(vd_kvs_get(&s.labels, "com.docker.stack.namespace"), "vox");
	assert_null(s.image);
	vd_service_info_release(&s);
	assert_int_equal(vd_service_info_parse("{\"Spec\":{}}", &s, &err), VD_EPROTO);
	vd_error_release(&err);
	assert_int_equal(vd_service_info_parse("[", &s, &err), VD_EPROTO);
	vd_error_release(&err);
}

static void tasks__recorded_and_states(void **state)
{
	char *json = slurp("swarm_tasks_1.41.json");
	vd_error err = VD_ERROR_INIT;
	vd_task_array list;
	size_t i;

	(void)state;
	assert_int_equal(vd_task_list_parse(json, &list, &err), 0);
	assert_int_equal(list.len, 2);
	for (i = 0; i < list.len; i++) {
		const vd_task_info *t = &list.items[i];

		assert_string_equal(t->service_id, "py9ple937bhvs323i3cpklkrq");
		assert_string_equal(t->desired_state, "running");
		assert_string_equal(t->state, "running");
		assert_string_equal(t->image, "voxdeploy-test/busybox:1");
		assert_non_null(t->node_id);
		assert_non_null(t->container_id);
		assert_int_equal(strlen(t->container_id), 64);
		assert_true(t->slot == 1 || t->slot == 2);
		assert_non_null(t->timestamp);
	}
	/* two slots on two nodes */
	assert_int_not_equal(list.items[0].slot, list.items[1].slot);
	assert_string_not_equal(list.items[0].node_id, list.items[1].node_id);
	vd_task_array_release(&list);
	free(json);

	assert_true(vd_task_state_rank("new") < vd_task_state_rank("pending"));
	assert_true(vd_task_state_rank("assigned") < vd_task_state_rank("starting"));
	assert_true(vd_task_state_rank("starting") < vd_task_state_rank("running"));
	assert_true(vd_task_state_rank("running") < vd_task_state_rank("shutdown"));
	assert_true(vd_task_state_rank("shutdown") < vd_task_state_rank("failed"));
	assert_true(vd_task_state_rank("failed") < vd_task_state_rank("rejected"));
	assert_int_equal(vd_task_state_rank("Running"), -1);
	assert_int_equal(vd_task_state_rank(NULL), -1);
}

/* base64url as the engine decodes it (padded), every remainder */
static void auth__encoding(void **state)
{
	vd_buf b = VD_BUF_INIT;

	(void)state;
	/* {"username":"u","password":"p","serveraddress":"r:5000"}: 56 bytes, one */
	assert_int_equal(vd_registry_auth_encode("u", "p", "r:5000", &b), 0);
	assert_string_equal(vd_buf_cstr(&b),
			    "eyJ1c2VybmFtZSI6InUiLCJwYXNzd29yZCI6InAiLCJzZXJ2ZXJhZGRyZXNzIjoicjo1MDAwIn0=");
	vd_buf_release(&b);
	/* '>' and '?' make '+' and '/' in standard base64: here '-' and '_' */
	assert_int_equal(vd_registry_auth_encode("a", ">>>???", "h", &b), 0);
	assert_null(strchr(vd_buf_cstr(&b), '+'));
	assert_null(strchr(vd_buf_cstr(&b), '/'));
	assert_non_null(strchr(vd_buf_cstr(&b), '-'));
	assert_non_null(strchr(vd_buf_cstr(&b), '_'));
	assert_int_equal(vd_buf_cstr(&b)[0] != '\0', 1);
	assert_int_equal(strlen(vd_buf_cstr(&b)) % 4, 0);
	vd_buf_release(&b);
	/* 49 bytes: two padding characters */
	assert_int_equal(vd_registry_auth_encode(NULL, NULL, "x", &b), 0);
	assert_string_equal(vd_buf_cstr(&b),
			    "eyJ1c2VybmFtZSI6IiIsInBhc3N3b3JkIjoiIiwic2VydmVyYWRkcmVzcyI6IngifQ==");
	vd_buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(state__manager_worker_and_none),
		cmocka_unit_test(nodes__recorded),
		cmocka_unit_test(services__plain_updated_rolled_back),
		cmocka_unit_test(tasks__recorded_and_states),
		cmocka_unit_test(auth__encoding),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
