/* voxdeploy status on a Swarm manager: the services of the project's stack
 * (label com.docker.stack.namespace), each with its running and desired
 * replicas, its image and update state, and every task it wants running:
 * slot, node, state and error. */
#include "controller/cli.h"
#include "controller/model/stack.h"
#include "common/json.h"
#include "common/log.h"
#include "docker_api/swarm.h"

#include <stdlib.h>
#include <string.h>

struct stack_row {
	const vd_service_info *svc;
	vd_task_array tasks;
	int64_t running, desired;
};

static bool is(const char *s, const char *word)
{
	return s && !strcmp(s, word);
}

static const char *node_name(const vd_node_array *nodes, const char *id)
{
	const vd_node_info *n = id ? vd_node_find(nodes, id) : NULL;

	return n && n->hostname ? n->hostname : id ? id : "-";
}

/* The tasks the service wants running, and how many of them run. */
static int fill_row(vd_docker *d, struct stack_row *r, vd_error *err)
{
	size_t i;
	int rc = vd_task_list(d, r->svc->id, &r->tasks, err);

	if (rc)
		return rc;
	for (i = 0; i < r->tasks.len; i++)
		if (is(r->tasks.items[i].desired_state, "running")) {
			r->desired++;
			r->running += is(r->tasks.items[i].state, "running");
		}
	if (r->svc->replicas >= 0)
		r->desired = r->svc->replicas;
	return 0;
}

static int row_cmp(const void *a, const void *b)
{
	return strcmp(((const struct stack_row *)a)->svc->name, ((const struct stack_row *)b)->svc->name);
}

static const char *short_name(const char *project, const vd_service_info *svc)
{
	size_t n = strlen(project);

	return !strncmp(svc->name, project, n) && svc->name[n] == '_' ? svc->name + n + 1 : svc->name;
}

static void print_json(vd_cli *cli, const char *project, const struct stack_row *rows, size_t n,
		       const vd_node_array *nodes)
{
	yajl_gen g = vd_jgen_new();
	size_t i, j;

	yajl_gen_map_open(g);
	vd_jgen_kstr(g, "project", project);
	vd_jgen_kstr(g, "backend", "swarm");
	vd_jgen_str(g, "services");
	yajl_gen_array_open(g);
	for (i = 0; i < n; i++) {
		const vd_service_info *s = rows[i].svc;

		yajl_gen_map_open(g);
		vd_jgen_kstr(g, "name", s->name);
		vd_jgen_kstr(g, "service", short_name(project, s));
		vd_jgen_kstr(g, "id", s->id);
		vd_jgen_kstr(g, "image", s->image);
		vd_jgen_kstr(g, "mode", s->replicas >= 0 ? "replicated" : "global");
		vd_jgen_kint(g, "running", rows[i].running);
		vd_jgen_kint(g, "desired", rows[i].desired);
		vd_jgen_kstr(g, "update_state", s->update_state);
		vd_jgen_kstr(g, "update_message", s->update_message);
		vd_jgen_kstr(g, "commit", vd_kvs_get(&s->labels, "io.voxdeploy.commit"));
		vd_jgen_str(g, "tasks");
		yajl_gen_array_open(g);
		for (j = 0; j < rows[i].tasks.len; j++) {
			const vd_task_info *t = &rows[i].tasks.items[j];

			if (!is(t->desired_state, "running"))
				continue;
			yajl_gen_map_open(g);
			vd_jgen_kint(g, "slot", t->slot);
			vd_jgen_kstr(g, "node", node_name(nodes, t->node_id));
			vd_jgen_kstr(g, "node_id", t->node_id);
			vd_jgen_kstr(g, "state", t->state);
			vd_jgen_kstr(g, "desired_state", t->desired_state);
			vd_jgen_kstr(g, "error", t->error);
			vd_jgen_kstr(g, "container_id", t->container_id);
			vd_jgen_kstr(g, "since", t->timestamp);
			yajl_gen_map_close(g);
		}
		yajl_gen_array_close(g);
		yajl_gen_map_close(g);
	}
	yajl_gen_array_close(g);
	yajl_gen_map_close(g);
	vd_cli_print_json(cli, g);
}

static void print_table(vd_cli *cli, const char *project, const struct stack_row *rows, size_t n,
			const vd_node_array *nodes)
{
	size_t i, j;

	vd_print(cli->out, "stack %s on a swarm of %zu node%s: %zu service%s\n", project, nodes->len,
		 nodes->len == 1 ? "" : "s", n, n == 1 ? "" : "s");
	for (i = 0; i < n; i++) {
		const vd_service_info *s = rows[i].svc;

		vd_print(cli->out, "%-16s  %lld/%lld running%s  %s%s%s\n", short_name(project, s),
			 (long long)rows[i].running, (long long)rows[i].desired, s->replicas < 0 ? " (global)" : "",
			 s->image ? s->image : "-", s->update_state ? "  update " : "",
			 s->update_state ? s->update_state : "");
		for (j = 0; j < rows[i].tasks.len; j++) {
			const vd_task_info *t = &rows[i].tasks.items[j];

			if (!is(t->desired_state, "running"))
				continue;
			vd_print(cli->out, "  task %-3lld on %-16s %s%s%s\n", (long long)t->slot,
				 node_name(nodes, t->node_id), t->state ? t->state : "?", t->error ? ": " : "",
				 t->error ? t->error : "");
		}
	}
}

int vd_status_swarm(vd_cli *cli, vd_docker *d, const char *project, bool *shown, vd_error *err)
{
	vd_swarm_state st;
	vd_service_array services = { NULL, 0 };
	vd_node_array nodes = { NULL, 0 };
	struct stack_row *rows = NULL;
	char label[512];
	const char *pairs[] = { "label", label, NULL };
	size_t i;
	int rc;

	*shown = false;
	/* an engine that cannot tell is no swarm here: the container listing
	 * says what is wrong with it */
	if (vd_swarm_state_get(d, &st, err)) {
		vd_error_release(err);
		return 0;
	}
	if (strcmp(st.node_state, "active") || !st.manager)
		return 0;
	snprintf(label, sizeof(label), VD_STACK_NAMESPACE_LABEL "=%s", project);
	if ((rc = vd_service_list(d, pairs, &services, err)) || !services.len ||
	    (rc = vd_node_list(d, &nodes, err)))
		goto done;
	if (!(rows = calloc(services.len, sizeof(*rows)))) {
		rc = vd_error_set(err, VD_ENOMEM, "out of memory");
		goto done;
	}
	for (i = 0; i < services.len && !rc; i++) {
		rows[i].svc = &services.items[i];
		rc = fill_row(d, &rows[i], err);
	}
	if (rc)
		goto done;
	qsort(rows, services.len, sizeof(*rows), row_cmp);
	if (cli->json)
		print_json(cli, project, rows, services.len, &nodes);
	else
		print_table(cli, project, rows, services.len, &nodes);
	*shown = true;
done:
	for (i = 0; rows && i < services.len; i++)
		vd_task_array_release(&rows[i].tasks);
	free(rows);
	vd_service_array_release(&services);
	vd_node_array_release(&nodes);
	return rc;
}
