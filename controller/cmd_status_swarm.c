/* voxdeploy status on a Swarm manager: the services of the project's stack
 * (label com.docker.stack.namespace), each with its running and desired
 * replicas, its image and update state, and every task it wants running:
 * slot, node, state and error; and per node what of the stack runs there
 * (also the nodes section of serve's report, and its /metrics). */
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

struct vd_stack_view {
	vd_service_array services;
	vd_node_array nodes;
	struct stack_row *rows;     /* one per service, by name */
	char *project;
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

static void print_json(vd_cli *cli, const struct vd_stack_view *v)
{
	const char *project = v->project;
	const struct stack_row *rows = v->rows;
	const vd_node_array *nodes = &v->nodes;
	size_t i, j, n = v->services.len;
	yajl_gen g = vd_jgen_new();

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
	vd_jgen_str(g, "nodes");
	vd_stack_view_nodes_json(v, g);
	yajl_gen_map_close(g);
	vd_cli_print_json(cli, g);
}

static void print_table(vd_cli *cli, const struct vd_stack_view *v)
{
	const char *project = v->project;
	const struct stack_row *rows = v->rows;
	const vd_node_array *nodes = &v->nodes;
	size_t i, j, n = v->services.len;

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

void vd_stack_view_free(vd_stack_view *v)
{
	size_t i;

	if (!v)
		return;
	for (i = 0; v->rows && i < v->services.len; i++)
		vd_task_array_release(&v->rows[i].tasks);
	free(v->rows);
	vd_service_array_release(&v->services);
	vd_node_array_release(&v->nodes);
	free(v->project);
	free(v);
}

int vd_stack_view_load(vd_docker *d, const char *project, vd_stack_view **out, vd_error *err)
{
	vd_swarm_state st;
	vd_stack_view *v;
	char label[512];
	const char *pairs[] = { "label", label, NULL };
	size_t i;
	int rc;

	*out = NULL;
	/* an engine that cannot tell is no swarm here: the container listing
	 * says what is wrong with it */
	if (vd_swarm_state_get(d, &st, err)) {
		vd_error_release(err);
		return 0;
	}
	if (strcmp(st.node_state, "active") || !st.manager)
		return 0;
	if (!(v = calloc(1, sizeof(*v))) || !(v->project = strdup(project))) {
		free(v);
		return vd_error_set(err, VD_ENOMEM, "out of memory");
	}
	snprintf(label, sizeof(label), VD_STACK_NAMESPACE_LABEL "=%s", project);
	if ((rc = vd_service_list(d, pairs, &v->services, err)) || !v->services.len ||
	    (rc = vd_node_list(d, &v->nodes, err)))
		goto done;
	if (!(v->rows = calloc(v->services.len, sizeof(*v->rows)))) {
		rc = vd_error_set(err, VD_ENOMEM, "out of memory");
		goto done;
	}
	for (i = 0; i < v->services.len && !rc; i++) {
		v->rows[i].svc = &v->services.items[i];
		rc = fill_row(d, &v->rows[i], err);
	}
	if (rc)
		goto done;
	qsort(v->rows, v->services.len, sizeof(*v->rows), row_cmp);
	*out = v;
	v = NULL;
done:
	vd_stack_view_free(v);
	return rc;
}

static int node_cmp(const void *a, const void *b)
{
	const vd_node_info *x = *(const vd_node_info *const *)a, *y = *(const vd_node_info *const *)b;

	return strcmp(x->hostname ? x->hostname : "", y->hostname ? y->hostname : "");
}

void vd_stack_view_nodes_json(const vd_stack_view *v, yajl_gen g)
{
	const vd_node_info **order = calloc(v->nodes.len + 1, sizeof(*order));
	size_t i, j, k;

	yajl_gen_array_open(g);
	for (k = 0; order && k < v->nodes.len; k++)
		order[k] = &v->nodes.items[k];
	if (order)
		qsort(order, v->nodes.len, sizeof(*order), node_cmp);
	for (k = 0; order && k < v->nodes.len; k++) {
		const vd_node_info *n = order[k];

		yajl_gen_map_open(g);
		vd_jgen_kstr(g, "node", n->hostname);
		vd_jgen_kstr(g, "node_id", n->id);
		vd_jgen_kstr(g, "role", n->role);
		vd_jgen_kstr(g, "state", n->state);
		vd_jgen_kstr(g, "availability", n->availability);
		vd_jgen_kbool(g, "leader", n->leader);
		/* the stack's tasks running there, per service */
		vd_jgen_str(g, "running");
		yajl_gen_map_open(g);
		for (i = 0; i < v->services.len; i++) {
			long long running = 0;

			for (j = 0; j < v->rows[i].tasks.len; j++) {
				const vd_task_info *t = &v->rows[i].tasks.items[j];

				running += is(t->desired_state, "running") && is(t->state, "running") &&
					   is(t->node_id, n->id);
			}
			if (running)
				vd_jgen_kint(g, short_name(v->project, v->rows[i].svc), running);
		}
		yajl_gen_map_close(g);
		yajl_gen_map_close(g);
	}
	yajl_gen_array_close(g);
	free(order);
}

int vd_status_swarm(vd_cli *cli, vd_docker *d, const char *project, bool *shown, vd_error *err)
{
	vd_stack_view *v = NULL;
	int rc = vd_stack_view_load(d, project, &v, err);

	*shown = false;
	if (rc || !v)
		return rc;
	if (cli->json)
		print_json(cli, v);
	else
		print_table(cli, v);
	*shown = true;
	vd_stack_view_free(v);
	return 0;
}
