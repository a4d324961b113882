/* voxdeploy integration tests — a real swarm for the tests that need one:
 * tests/swarm/cluster run for them (nested engines: a manager, two workers,
 * a registry with htpasswd auth), its env lines read back. */
#ifndef VD_TESTS_ITEST_SWARM_H
#define VD_TESTS_ITEST_SWARM_H

#include <stdbool.h>
#include <stddef.h>

struct itest_swarm {
	char prefix[32];          /* the cluster's name: its containers are PREFIX-m1, ... */
	char manager[64];         /* each engine's API, tcp://127.0.0.1:PORT */
	char worker1[64], worker2[64];
	char registry[96];        /* as the nodes reach it, PREFIX-reg:5000 */
	char user[64], password[128];
	bool up;
};

/* tests/swarm/cluster up, the cluster named <base><pid>: 0 when it stands
 * (its env read into c); else the end of its log on stderr, whatever it
 * left removed, -1. */
int itest_swarm_up(struct itest_swarm *c, const char *base);
/* Another command of the script (stop-node, start-node, env) with an
 * argument (may be NULL): its exit status; the env lines it prints are
 * read into c. */
int itest_swarm_cmd(struct itest_swarm *c, const char *cmd, const char *arg);
/* tests/swarm/cluster down, when it is up. */
void itest_swarm_down(struct itest_swarm *c);
/* A node's address on the cluster's network, as this machine reaches it
 * ("" when it has none); node: m1, w1, ... */
void itest_swarm_node_ip(const struct itest_swarm *c, const char *node, char *ip, size_t size);

#endif
