/* Integration tests of docker_api/swarm against a real swarm of three
 * engines (tests/swarm/cluster: nested engines on one bridge network, one
 * manager and two workers, a registry with htpasswd auth): the state each
 * engine tells, the nodes; a worker that leaves, makes a swarm of its own
 * (init), leaves it and joins the first one again with its token (a wrong
 * token refused); a service created over two nodes on an overlay network,
 * updated (UpdateStatus completed, the tasks of the new spec), an update
 * with a stale version refused as a conflict, rolled back to the previous
 * spec; an image pushed to the registry (wrong credentials refused inside
 * the stream), its digest as the registry tells it, and a service of that
 * image pinned by digest running on both workers, which pull it with the
 * credentials the service carries.  The cluster is removed at the end. */
#include "itest.h"
#include "itest_swarm.h"
#include "common/buf.h"
#include "common/clock.h"
#include "docker_api/image.h"
#include "docker_api/network.h"
#include "docker_api/swarm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WAIT_MS 120000

static struct {
	struct itest_swarm s;
	vd_docker *m, *w1, *w2;
} c;

static int group_setup(void **state)
{
	vd_error err = VD_ERROR_INIT;

	(void)state;
	if (itest_swarm_up(&c.s, "vdsw"))
		return -1;
	if (vd_docker_new(&c.m, c.s.manager, &err) || vd_docker_new(&c.w1, c.s.worker1, &err) ||
	    vd_docker_new(&c.w2, c.s.worker2, &err)) {
		fprintf(stderr, "it_swarm: %s\n", vd_error_msg(&err));
		return -1;
	}
	return 0;
}

static int group_teardown(void **state)
{
	vd_docker_free(c.m);
	vd_docker_free(c.w1);
	vd_docker_free(c.w2);
	itest_swarm_down(&c.s);
	return itest_group_teardown(state);
}

/* How many nodes the manager lists as ready (and the hostnames). */
static size_t ready_nodes(vd_buf *names)
{
	vd_error err = VD_ERROR_INIT;
	vd_node_array nl = { NULL, 0 };
	size_t i, n = 0;

	if (vd_node_list(c.m, &nl, &err)) {
		vd_error_release(&err);
		return 0;
	}
	for (i = 0; i < nl.len; i++)
		if (nl.items[i].state && !strcmp(nl.items[i].state, "ready")) {
			n++;
			if (names)
				vd_buf_printf(names, "%s ", nl.items[i].hostname);
		}
	vd_node_array_release(&nl);
	return n;
}

static void swarm__state_and_nodes(void **state)
{
	vd_error err = VD_ERROR_INIT;
	vd_swarm_state s;
	vd_node_array nl;
	size_t i, leaders = 0, managers = 0;

	(void)state;
	itest_ok(vd_swarm_state_get(c.m, &s, &err), &err);
	assert_string_equal(s.node_state, "active");
	assert_true(s.manager);
	assert_int_equal(s.nodes, 3);
	assert_int_equal(s.managers, 1);
	itest_ok(vd_swarm_state_get(c.w1, &s, &err), &err);
	assert_string_equal(s.node_state, "active");
	assert_false(s.manager);
	itest_ok(vd_node_list(c.m, &nl, &err), &err);
	assert_int_equal(nl.len, 3);
	for (i = 0; i < nl.len; i++) {
		assert_string_equal(nl.items[i].state, "ready");
		leaders += nl.items[i].leader;
		managers += !strcmp(nl.items[i].role, "manager");
	}
	assert_int_equal(leaders, 1);
	assert_int_equal(managers, 1);
	vd_node_array_release(&nl);
	/* a worker cannot list nodes: the engine says it is no manager */
	assert_int_not_equal(vd_node_list(c.w1, &nl, &err), 0);
	assert_non_null(strstr(vd_error_msg(&err), "manager"));
	vd_error_release(&err);
}

static void wait_state(vd_docker *d, const char *want, bool manager)
{
	uint64_t until = vd_now_ms() + WAIT_MS;
	vd_error err = VD_ERROR_INIT;
	vd_swarm_state s;

	for (;;) {
		if (!vd_swarm_state_get(d, &s, &err) && !strcmp(s.node_state, want) && s.manager == manager)
			return;
		vd_error_release(&err);
		if (vd_now_ms() > until)
			fail_msg("the node did not become %s%s (it is %s)", want, manager ? " manager" : "",
				 s.node_state);
		usleep(200000);
	}
}

static void swarm__leave_init_join(void **state)
{
	vd_error err = VD_ERROR_INIT;
	vd_swarm_state ms, s;
	char *token = NULL, *node_id = NULL, remote[96];
	vd_buf names = VD_BUF_INIT;
	uint64_t until;

	(void)state;
	itest_ok(vd_swarm_state_get(c.m, &ms, &err), &err);
	itest_ok(vd_swarm_leave(c.w2, false, &err), &err);
	wait_state(c.w2, "inactive", false);
	/* a swarm of its own, then out of it again (a manager leaves by force) */
	itest_ok(vd_swarm_init(c.w2, "0.0.0.0:2377", NULL, &node_id, &err), &err);
	assert_non_null(node_id);
	assert_true(strlen(node_id) >= 20);
	wait_state(c.w2, "active", true);
	itest_ok(vd_swarm_state_get(c.w2, &s, &err), &err);
	assert_string_equal(s.node_id, node_id);
	assert_int_equal(s.nodes, 1);
	free(node_id);
	assert_int_not_equal(vd_swarm_leave(c.w2, false, &err), 0);  /* the last manager: not without force */
	vd_error_release(&err);
	itest_ok(vd_swarm_leave(c.w2, true, &err), &err);
	wait_state(c.w2, "inactive", false);
	/* back into the first swarm: a made-up token refused, the real one taken */
	snprintf(remote, sizeof(remote), "%s:2377", ms.node_addr);
	assert_int_not_equal(vd_swarm_join(c.w2, "0.0.0.0:2377", NULL, remote,
					   "SWMTKN-1-3pu6hszjas19xyp7ghgosyx9k8atbfcr8p2is99znpy26u2lkl-"
					   "1awxwuwd3z9j1z3puu7rcgdbx", &err), 0);
	assert_true(strlen(vd_error_msg(&err)) > 0);
	vd_error_release(&err);
	wait_state(c.w2, "inactive", false);
	itest_ok(vd_swarm_join_token(c.m, false, &token, &err), &err);
	assert_non_null(strstr(token, "SWMTKN-1-"));
	assert_int_not_equal(vd_swarm_join_token(c.w1, false, &node_id, &err), 0);  /* not a manager */
	vd_error_release(&err);
	itest_ok(vd_swarm_join(c.w2, "0.0.0.0:2377", NULL, remote, token, &err), &err);
	free(token);
	wait_state(c.w2, "active", false);
	/* the manager sees it ready again (its old entry stays, down) */
	until = vd_now_ms() + WAIT_MS;
	while (ready_nodes(NULL) < 3) {
		if (vd_now_ms() > until)
			fail_msg("three ready nodes expected after the join");
		usleep(200000);
	}
	ready_nodes(&names);
	assert_non_null(strstr(vd_buf_cstr(&names), "-w2"));
	vd_buf_release(&names);
}

/* A 2-replica service, one task per node, on an overlay network; V is an
 * environment variable the update changes. */
static char *web_spec(const char *name, const char *image, const char *net, int v,
		      const char *constraint)
{
	char *s = NULL;

	if (asprintf(&s,
		     "{\"Name\":\"%s\",\"Labels\":{\"io.voxdeploy.test\":\"1\"},"
		     "\"TaskTemplate\":{\"ContainerSpec\":{\"Image\":\"%s\","
		     "\"Args\":[\"sh\",\"-c\",\"mkdir -p /www; echo v$V > /www/version; "
		     "exec httpd -f -p 8080 -h /www\"],\"Env\":[\"V=%d\"],"
		     "\"Labels\":{\"io.voxdeploy.test\":\"1\"},\"StopGracePeriod\":1000000000},"
		     "\"Placement\":{\"MaxReplicas\":1%s%s%s},"
		     "\"Networks\":[{\"Target\":\"%s\",\"Aliases\":[\"web\"]}],"
		     "\"RestartPolicy\":{\"Condition\":\"any\",\"Delay\":1000000000}},"
		     "\"Mode\":{\"Replicated\":{\"Replicas\":2}},"
		     "\"UpdateConfig\":{\"Parallelism\":1,\"Delay\":0,\"FailureAction\":\"pause\","
		     "\"Monitor\":1000000000,\"Order\":\"stop-first\"},"
		     "\"RollbackConfig\":{\"Parallelism\":1,\"FailureAction\":\"pause\","
		     "\"Monitor\":1000000000,\"Order\":\"stop-first\"},"
		     "\"EndpointSpec\":{\"Mode\":\"dnsrr\"}}",
		     name, image, v, constraint ? ",\"Constraints\":[\"" : "", constraint ? constraint : "",
		     constraint ? "\"]" : "", net) < 0)
		fail_msg("out of memory");
	return s;
}

static bool task_runs(const vd_task_info *t)
{
	return t->node_id && t->state && !strcmp(t->desired_state, "running") &&
	       !strcmp(t->state, "running");
}

/* Wait until `want` tasks of the service run, on as many nodes. */
static void wait_tasks(const char *service, size_t want)
{
	uint64_t until = vd_now_ms() + WAIT_MS;
	vd_error err = VD_ERROR_INIT;
	char last[512] = "";

	for (;;) {
		vd_task_array tl = { NULL, 0 };
		size_t i, j, running = 0, nodes = 0;

		if (!vd_task_list(c.m, service, &tl, &err)) {
			for (i = 0; i < tl.len; i++) {
				const vd_task_info *t = &tl.items[i];

				if (!task_runs(t))
					continue;
				running++;
				for (j = 0; j < i; j++)
					if (task_runs(&tl.items[j]) && !strcmp(tl.items[j].node_id, t->node_id))
						break;
				nodes += j == i;
			}
			snprintf(last, sizeof(last), "%zu running on %zu nodes of %zu tasks", running, nodes,
				 tl.len);
			vd_task_array_release(&tl);
			if (running == want && nodes == want)
				return;
		} else {
			snprintf(last, sizeof(last), "%s", vd_error_msg(&err));
			vd_error_release(&err);
		}
		if (vd_now_ms() > until)
			fail_msg("%s: want %zu tasks running on as many nodes: %s", service, want, last);
		usleep(250000);
	}
}

/* The service's UpdateStatus.State becomes want (a fail on paused). */
static void wait_update(const char *service, const char *want)
{
	uint64_t until = vd_now_ms() + WAIT_MS;
	vd_error err = VD_ERROR_INIT;
	char last[256] = "none";

	for (;;) {
		vd_service_info s;

		if (!vd_service_inspect(c.m, service, &s, &err)) {
			bool done = s.update_state && !strcmp(s.update_state, want);

			snprintf(last, sizeof(last), "%s: %s", s.update_state ? s.update_state : "none",
				 s.update_message ? s.update_message : "");
			vd_service_info_release(&s);
			if (done)
				return;
			if (strstr(last, "paused") && !strstr(want, "paused"))
				fail_msg("%s: the update paused: %s", service, last);
		} else {
			snprintf(last, sizeof(last), "%s", vd_error_msg(&err));
			vd_error_release(&err);
		}
		if (vd_now_ms() > until)
			fail_msg("%s: UpdateStatus %s expected, it is %s", service, want, last);
		usleep(250000);
	}
}

/* The V of every running task's container spec. */
static void assert_tasks_env(const char *service, const char *env)
{
	vd_error err = VD_ERROR_INIT;
	vd_buf path = VD_BUF_INIT, body = VD_BUF_INIT;
	vd_task_array tl;
	size_t i, seen = 0;

	itest_ok(vd_task_list(c.m, service, &tl, &err), &err);
	for (i = 0; i < tl.len; i++) {
		yajl_val v, envs;
		size_t k;
		bool found = false;

		if (!task_runs(&tl.items[i]))
			continue;
		vd_buf_release(&path);
		vd_buf_release(&body);
		vd_docker_path(&path, "/tasks/", tl.items[i].id, NULL);
		itest_ok(vd_docker_get(c.m, vd_buf_cstr(&path), NULL, &body, &err), &err);
		v = vd_json_parse(vd_buf_cstr(&body), &err);
		assert_non_null(v);
		envs = vd_json_at(v, "Spec", "ContainerSpec", "Env", NULL);
		for (k = 0; k < vd_json_len(envs); k++)
			found |= YAJL_IS_STRING(vd_json_idx(envs, k)) &&
				 !strcmp(vd_json_idx(envs, k)->u.string, env);
		yajl_tree_free(v);
		assert_true(found);
		seen++;
	}
	assert_int_equal(seen, 2);
	vd_task_array_release(&tl);
	vd_buf_release(&path);
	vd_buf_release(&body);
}

static void service__create_update_rollback(void **state)
{
	vd_error err = VD_ERROR_INIT;
	char name[64], net[64], body[256], *spec, *id = NULL, *net_id = NULL;
	vd_service_update_opts uo = { NULL, false };
	vd_service_info s;
	int64_t stale;

	(void)state;
	snprintf(name, sizeof(name), "%s_web", c.s.prefix);
	snprintf(net, sizeof(net), "%s_default", c.s.prefix);
	snprintf(body, sizeof(body),
		 "{\"Name\":\"%s\",\"Driver\":\"overlay\",\"Attachable\":true,"
		 "\"Labels\":{\"io.voxdeploy.test\":\"1\"}}", net);
	itest_ok(vd_network_create(c.m, body, &net_id, &err), &err);
	free(net_id);
	spec = web_spec(name, itest_busybox_image(), net, 1, NULL);
	itest_ok(vd_service_create(c.m, spec, NULL, &id, &err), &err);
	free(spec);
	assert_non_null(id);
	/* a second service of that name: a conflict */
	spec = web_spec(name, itest_busybox_image(), net, 1, NULL);
	assert_int_equal(vd_service_create(c.m, spec, NULL, &net_id, &err), VD_ECONFLICT);
	vd_error_release(&err);
	free(spec);
	wait_tasks(name, 2);
	assert_tasks_env(name, "V=1");

	/* the update: the whole spec, at the version read */
	itest_ok(vd_service_inspect(c.m, id, &s, &err), &err);
	assert_false(s.has_previous);
	stale = s.version;
	spec = web_spec(name, itest_busybox_image(), net, 2, NULL);
	itest_ok(vd_service_update(c.m, id, s.version, spec, &uo, &err), &err);
	vd_service_info_release(&s);
	/* the version it was read at is stale now */
	assert_int_equal(vd_service_update(c.m, id, stale, spec, &uo, &err), VD_ECONFLICT);
	assert_non_null(strstr(vd_error_msg(&err), "out of sequence"));
	vd_error_release(&err);
	free(spec);
	wait_update(name, "completed");
	wait_tasks(name, 2);
	assert_tasks_env(name, "V=2");
	itest_ok(vd_service_inspect(c.m, id, &s, &err), &err);
	assert_true(s.has_previous);

	/* back to the previous spec: the current one sent, rollback=previous */
	spec = web_spec(name, itest_busybox_image(), net, 2, NULL);
	uo.rollback = true;
	itest_ok(vd_service_update(c.m, id, s.version, spec, &uo, &err), &err);
	vd_service_info_release(&s);
	free(spec);
	wait_update(name, "rollback_completed");
	wait_tasks(name, 2);
	assert_tasks_env(name, "V=1");

	itest_ok(vd_service_remove(c.m, id, &err), &err);
	assert_int_equal(vd_service_inspect(c.m, id, &s, &err), VD_ENOTFOUND);
	vd_error_release(&err);
	free(id);
}

static void progress_count(void *ctx, const char *layer, const char *status)
{
	(void)layer;
	(void)status;
	(*(int *)ctx)++;
}

static void registry__push_pull_by_digest(void **state)
{
	vd_error err = VD_ERROR_INIT;
	vd_buf good = VD_BUF_INIT, bad = VD_BUF_INIT;
	char repo[160], ref[200], pinned[300], name[64], net[64], *digest = NULL, *asked = NULL;
	char *spec, *id = NULL;
	vd_push_opts po = { NULL, progress_count, NULL, 0, 0 };
	vd_service_info s;
	int told = 0;

	(void)state;
	po.ctx = &told;
	snprintf(repo, sizeof(repo), "%s/%s-app", c.s.registry, c.s.prefix);
	snprintf(ref, sizeof(ref), "%s:v1", repo);
	assert_int_equal(vd_registry_auth_encode(c.s.user, c.s.password, c.s.registry, &good), 0);
	assert_int_equal(vd_registry_auth_encode(c.s.user, "not-the-password", c.s.registry, &bad), 0);
	itest_ok(vd_image_tag(c.m, itest_busybox_image(), repo, "v1", &err), &err);

	/* wrong credentials: the engine says so inside the stream */
	po.registry_auth = vd_buf_cstr(&bad);
	assert_int_equal(vd_image_push(c.m, repo, "v1", &po, &digest, &err), VD_EAPI);
	assert_null(digest);
	assert_non_null(strstr(vd_error_msg(&err), "push"));
	assert_true(strstr(vd_error_msg(&err), "unauthorized") || strstr(vd_error_msg(&err), "auth"));
	assert_null(strstr(vd_error_msg(&err), c.s.password));
	vd_error_release(&err);
	assert_int_not_equal(vd_image_registry_digest(c.m, ref, vd_buf_cstr(&bad), &asked, &err), 0);
	vd_error_release(&err);

	po.registry_auth = vd_buf_cstr(&good);
	itest_ok(vd_image_push(c.m, repo, "v1", &po, &digest, &err), &err);
	assert_non_null(digest);
	assert_int_equal(strncmp(digest, "sha256:", 7), 0);
	assert_true(told > 0);
	itest_ok(vd_image_registry_digest(c.m, ref, vd_buf_cstr(&good), &asked, &err), &err);
	assert_string_equal(asked, digest);

	/* a service pinned by digest, on the workers only: they pull it with the
	 * credentials the service carries */
	snprintf(name, sizeof(name), "%s_pinned", c.s.prefix);
	snprintf(net, sizeof(net), "%s_pinned_net", c.s.prefix);
	{
		char body[256], *net_id = NULL;

		snprintf(body, sizeof(body),
			 "{\"Name\":\"%s\",\"Driver\":\"overlay\",\"Labels\":{\"io.voxdeploy.test\":\"1\"}}",
			 net);
		itest_ok(vd_network_create(c.m, body, &net_id, &err), &err);
		free(net_id);
	}
	snprintf(pinned, sizeof(pinned), "%s@%s", ref, digest);
	spec = web_spec(name, pinned, net, 1, "node.role==worker");
	itest_ok(vd_service_create(c.m, spec, vd_buf_cstr(&good), &id, &err), &err);
	free(spec);
	wait_tasks(name, 2);
	itest_ok(vd_service_inspect(c.m, id, &s, &err), &err);
	assert_string_equal(s.image, pinned);
	vd_service_info_release(&s);
	itest_ok(vd_service_remove(c.m, id, &err), &err);

	/* a pull by digest on the manager (what a dump's helper does): refused
	 * credentials said inside the stream, never the password; then pulled */
	{
		vd_image_info info;

		vd_image_remove(c.m, pinned, true, false, &err);
		vd_image_remove(c.m, ref, true, false, &err);
		vd_error_release(&err);
		assert_int_equal(vd_image_inspect(c.m, pinned, &info, &err), VD_ENOTFOUND);
		vd_error_release(&err);
		po.registry_auth = vd_buf_cstr(&bad);
		assert_int_equal(vd_image_pull(c.m, pinned, &po, &err), VD_EAPI);
		assert_non_null(strstr(vd_error_msg(&err), "pull"));
		assert_null(strstr(vd_error_msg(&err), c.s.password));
		vd_error_release(&err);
		po.registry_auth = vd_buf_cstr(&good);
		itest_ok(vd_image_pull(c.m, pinned, &po, &err), &err);
		itest_ok(vd_image_inspect(c.m, pinned, &info, &err), &err);
		vd_image_info_release(&info);
	}
	free(id);
	free(digest);
	free(asked);
	vd_buf_release(&good);
	vd_buf_release(&bad);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(swarm__state_and_nodes),
		cmocka_unit_test(service__create_update_rollback),
		cmocka_unit_test(registry__push_pull_by_digest),
		cmocka_unit_test(swarm__leave_init_join),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
