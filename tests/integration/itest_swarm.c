/* voxdeploy integration tests — a real swarm (itest_swarm.h). */
#include "itest_swarm.h"
#include "itest.h"
#include "common/json.h"
#include "docker_api/container.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void put_env(struct itest_swarm *c, const char *line)
{
	static const struct {
		const char *key;
		size_t off, size;
	} keys[] = {
		{ "VD_SWARM_MANAGER", offsetof(struct itest_swarm, manager), sizeof(((struct itest_swarm *)0)->manager) },
		{ "VD_SWARM_WORKER1", offsetof(struct itest_swarm, worker1), sizeof(((struct itest_swarm *)0)->worker1) },
		{ "VD_SWARM_WORKER2", offsetof(struct itest_swarm, worker2), sizeof(((struct itest_swarm *)0)->worker2) },
		{ "VD_SWARM_REGISTRY", offsetof(struct itest_swarm, registry),
		  sizeof(((struct itest_swarm *)0)->registry) },
		{ "VD_SWARM_REGISTRY_USER", offsetof(struct itest_swarm, user), sizeof(((struct itest_swarm *)0)->user) },
		{ "VD_SWARM_REGISTRY_PASSWORD", offsetof(struct itest_swarm, password),
		  sizeof(((struct itest_swarm *)0)->password) },
	};
	char key[64], val[256];
	const char *eq = strchr(line, '=');
	size_t n, i;

	if (!eq || (size_t)(eq - line) >= sizeof(key))
		return;
	memcpy(key, line, (size_t)(eq - line));
	key[eq - line] = '\0';
	snprintf(val, sizeof(val), "%s", eq + 1);
	n = strlen(val);
	while (n && (val[n - 1] == '\n' || val[n - 1] == '"' || val[n - 1] == '\''))
		val[--n] = '\0';
	memmove(val, val + (val[0] == '"' || val[0] == '\''), n + 1);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!strcmp(key, keys[i].key))
			snprintf((char *)c + keys[i].off, keys[i].size, "%s", val);
}

int itest_swarm_cmd(struct itest_swarm *c, const char *cmd, const char *arg)
{
	char line[512];
	FILE *p;

	snprintf(line, sizeof(line), "bash %s %s %s %s 2>>/tmp/%s-cluster.log", VD_SWARM_CLUSTER, cmd,
		 c->prefix, arg ? arg : "", c->prefix);
	if (!(p = popen(line, "r")))
		return -1;
	while (fgets(line, sizeof(line), p))
		put_env(c, line);
	return pclose(p);
}

/* The cluster script's log, once the cluster is gone. */
static void remove_log(const struct itest_swarm *c)
{
	char path[96];

	snprintf(path, sizeof(path), "/tmp/%s-cluster.log", c->prefix);
	unlink(path);
}

int itest_swarm_up(struct itest_swarm *c, const char *base)
{
	char cmd[160];

	memset(c, 0, sizeof(*c));
	snprintf(c->prefix, sizeof(c->prefix), "%s%ld", base, (long)getpid());
	fprintf(stderr, "# making a swarm of three engines (%s; log /tmp/%s-cluster.log)\n", c->prefix,
		c->prefix);
	if (!itest_swarm_cmd(c, "up", NULL) && c->manager[0] && c->worker1[0] && c->worker2[0] &&
	    c->registry[0]) {
		c->up = true;
		return 0;
	}
	/* what went wrong, where the test's output shows it */
	fprintf(stderr, "tests/swarm/cluster up failed; the end of its log:\n");
	snprintf(cmd, sizeof(cmd), "tail -n 60 /tmp/%s-cluster.log >&2", c->prefix);
	if (system(cmd))
		fprintf(stderr, "(no log)\n");
	if (!itest_swarm_cmd(c, "down", NULL))
		remove_log(c);
	return -1;
}

void itest_swarm_down(struct itest_swarm *c)
{
	if (c->up && itest_swarm_cmd(c, "down", NULL) != 0)
		fprintf(stderr, "tests/swarm/cluster down %s failed (log /tmp/%s-cluster.log)\n", c->prefix,
			c->prefix);
	else
		remove_log(c);
	c->up = false;
}

void itest_swarm_node_ip(const struct itest_swarm *c, const char *node, char *ip, size_t size)
{
	vd_container_info info;
	vd_error err = VD_ERROR_INIT;
	char name[64], net[64];

	snprintf(name, sizeof(name), "%s-%s", c->prefix, node);
	snprintf(net, sizeof(net), "%s-net", c->prefix);
	memset(&info, 0, sizeof(info));
	ip[0] = '\0';
	if (!vd_container_inspect(itest_docker(), name, &info, &err)) {
		const char *a = vd_json_str(vd_json_at(info.raw, "NetworkSettings", "Networks", net, NULL),
					    "IPAddress");

		snprintf(ip, size, "%s", a ? a : "");
		vd_container_info_release(&info);
	}
	vd_error_release(&err);
}
