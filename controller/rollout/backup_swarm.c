/* voxdeploy — a database dump on a swarm (rollout/backup.h,
 * vd_backup_swarm_dump).
 *
 * The database runs as a task on whichever node the swarm chose, and
 * voxdeploy talks to the manager only.  pg_dump therefore runs in a helper
 * container on the manager: the database service's own image (its client
 * is the server's major version; pulled here, with the registry's
 * credentials, when the manager lacks it), `sleep` as its only process,
 * attached to one of the service's attachable networks, from where it
 * reaches the database at tasks.<project>_<service> (the task's own
 * address, no virtual IP needed).  The dump streams to the state directory
 * as on one engine (backup.c); the helper is removed in every case, and one
 * a killed run left is removed before the next is made.  A restore runs
 * pg_restore the same way (vd_backup_swarm_restore).
 */
#include "controller/rollout/backup.h"
#include "common/json.h"
#include "common/log.h"
#include "controller/model/stack.h"
#include "docker_api/container.h"
#include "docker_api/image.h"
#include "docker_api/swarm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HELPER_SUFFIX "-voxdeploy-dump"
/* the helper's only process; it ends by itself should nothing remove it */
#define HELPER_LIFETIME "86400"
#define PULL_IDLE_MS 120000L

static int oom(vd_error *err)
{
	return vd_error_set(err, VD_ENOMEM, "out of memory");
}

/* The network the helper joins: the first of the service's networks (in
 * their engine names' order) that a container may join — the default one,
 * one declared attachable, or an external one (the engine tells when it is
 * not attachable). */
static const vd_compose_network *helper_network(const vd_compose *c, const vd_compose_service *s,
						vd_error *err)
{
	const vd_compose_network *best = NULL;
	size_t i;

	for (i = 0; i < s->n_networks; i++) {
		const vd_compose_network *n = vd_compose_network_find(c, s->networks[i].network);

		if (n && (n->implicit || n->attachable || n->external) &&
		    (!best || strcmp(n->name, best->name) < 0))
			best = n;
	}
	if (!best)
		vd_error_set(err, VD_EINVAL, "no network of service %s can take the dump's helper "
			     "container: declare one of them `attachable: true`", s->name);
	return best;
}

int vd_backup_helper_body(const char *image, const char *network, const char *project,
			  vd_buf *out, vd_error *err)
{
	yajl_gen g = vd_jgen_new();
	int r;

	if (!g)
		return oom(err);
	yajl_gen_map_open(g);
	vd_jgen_kstr(g, "Image", image);
	vd_jgen_kstrs(g, "Entrypoint", (char *const[]){ "sleep" }, 1);
	vd_jgen_kstrs(g, "Cmd", (char *const[]){ HELPER_LIFETIME }, 1);
	vd_jgen_str(g, "Labels");
	yajl_gen_map_open(g);
	vd_jgen_kstr(g, VD_BACKUP_HELPER_LABEL, project);
	vd_jgen_kstr(g, "io.voxdeploy.oneoff", "True");
	yajl_gen_map_close(g);
	vd_jgen_str(g, "Healthcheck");
	yajl_gen_map_open(g);
	vd_jgen_kstrs(g, "Test", (char *const[]){ "NONE" }, 1);
	yajl_gen_map_close(g);
	vd_jgen_str(g, "HostConfig");
	yajl_gen_map_open(g);
	vd_jgen_kstr(g, "NetworkMode", network);
	yajl_gen_map_close(g);
	vd_jgen_str(g, "NetworkingConfig");
	yajl_gen_map_open(g);
	vd_jgen_str(g, "EndpointsConfig");
	yajl_gen_map_open(g);
	vd_jgen_str(g, network);
	yajl_gen_map_open(g);
	yajl_gen_map_close(g);
	yajl_gen_map_close(g);
	yajl_gen_map_close(g);
	yajl_gen_map_close(g);
	if ((r = vd_jgen_finish(g, out)))
		return vd_error_set(err, r, "generate JSON: %s", vd_error_code_name(r));
	return 0;
}

static void pull_progress(void *ctx, const char *layer, const char *status)
{
	(void)ctx;
	vd_log_debug("pull %s: %s", layer ? layer : "", status ? status : "");
}

/* The image on this engine: there already, or pulled (the credentials only
 * for the registry's own images). */
static int have_image(vd_docker *d, const char *image, const char *registry, const char *registry_auth,
		      vd_error *err)
{
	vd_push_opts po = { vd_image_from_registry(image, registry) ? registry_auth : NULL, pull_progress,
			    NULL, PULL_IDLE_MS, 0 };
	vd_image_info info;
	int r = vd_image_inspect(d, image, &info, err);

	if (!r) {
		vd_image_info_release(&info);
		return 0;
	}
	if (r != VD_ENOTFOUND)
		return r;
	vd_error_release(err);
	vd_log_info("backup: pulling %s for the dump", image);
	return vd_image_pull(d, image, &po, err);
}

/* The helper made and started: *id (caller frees). */
static int helper_up(vd_docker *d, const vd_compose *c, const vd_compose_service *s, const char *image,
		     const char *registry, const char *registry_auth, const char *name, char **id,
		     vd_error *err)
{
	const vd_compose_network *net = helper_network(c, s, err);
	vd_buf body = VD_BUF_INIT;
	vd_error e = VD_ERROR_INIT;
	int r;

	if (!net)
		return err->code;
	/* one a killed run left goes first */
	vd_container_remove(d, name, true, true, &e);
	vd_error_release(&e);
	if ((r = have_image(d, image, registry, registry_auth, err)) ||
	    (r = vd_backup_helper_body(image, net->name, c->name, &body, err)) ||
	    (r = vd_container_create(d, name, vd_buf_cstr(&body), id, err)))
		goto done;
	if ((r = vd_container_start(d, *id, err)))
		vd_error_prefix(err, "on network %s", net->name);
done:
	vd_buf_release(&body);
	return r;
}

/* What runs in the helper: a dump or a restore, against host. */
struct job {
	const char *state_dir;
	const vd_backup_target *t;
	const char *deploy_id;         /* a dump's */
	const vd_backup_info *restore; /* NULL: a dump */
	uint64_t timeout_ms;
	vd_backup_info *out;           /* a dump's */
};

static int run_job(vd_docker *d, const struct job *j, const char *id, const char *host, vd_error *err)
{
	if (j->restore)
		return vd_backup_restore(d, j->state_dir, j->restore, j->t, id, host, j->timeout_ms, err);
	return vd_backup_dump(d, j->state_dir, j->t, id, host, j->deploy_id, j->timeout_ms, j->out, err);
}

/* The helper made, the job run in it, the helper removed. */
static int with_helper(vd_docker *d, const vd_compose *c, const char *registry, const char *registry_auth,
		       const struct job *j, vd_error *err)
{
	const vd_backup_target *t = j->t;
	const vd_compose_service *s = vd_compose_service_find(c, t->service);
	char *svc = s ? vd_stack_service_name(c, s->name) : NULL, *name = NULL, *host = NULL, *id = NULL;
	const char *what = j->restore ? "restore" : "dump";
	vd_service_info info;
	vd_error e = VD_ERROR_INIT;
	int r;

	memset(&info, 0, sizeof(info));
	if (!s)
		r = vd_error_set(err, VD_EINVAL, "no service %s in the compose file", t->service);
	else if (!svc || asprintf(&name, "%s" HELPER_SUFFIX, svc) < 0 ||
		 asprintf(&host, "tasks.%s", svc) < 0) {
		free(name);  /* NULL, or the first one made */
		name = host = NULL;
		r = oom(err);
	}
	else if ((r = vd_service_inspect(d, svc, &info, err)))
		vd_error_prefix(err, r == VD_ENOTFOUND ? "the stack has no service %s (deploy it first)"
						       : "service %s", svc);
	else if (!info.image || !*info.image)
		r = vd_error_set(err, VD_EPROTO, "service %s names no image", svc);
	else if ((r = helper_up(d, c, s, info.image, registry, registry_auth, name, &id, err)))
		vd_error_prefix(err, "the %s's helper container %s", what, name);
	if (r)
		vd_error_prefix(err, "%s of %s (database %s)", what, t->service, t->database);
	else  /* its failures say "dump of ..." or "restore of ..." themselves */
		r = run_job(d, j, id, host, err);
	if (name) {
		vd_container_remove(d, id ? id : name, true, true, &e);
		vd_error_release(&e);
	}
	vd_service_info_release(&info);
	free(svc);
	free(name);
	free(host);
	free(id);
	return r;
}

int vd_backup_swarm_dump(vd_docker *d, const vd_compose *c, const char *registry,
			 const char *registry_auth, const char *state_dir, const vd_backup_target *t, const char *deploy_id,
			 uint64_t timeout_ms, vd_backup_info *out, vd_error *err)
{
	struct job j = { state_dir, t, deploy_id, NULL, timeout_ms, out };

	memset(out, 0, sizeof(*out));
	return with_helper(d, c, registry, registry_auth, &j, err);
}

int vd_backup_swarm_restore(vd_docker *d, const vd_compose *c, const char *registry,
			    const char *registry_auth, const char *state_dir, const vd_backup_info *b,
			    const vd_backup_target *t, uint64_t timeout_ms, vd_error *err)
{
	struct job j = { state_dir, t, NULL, b, timeout_ms, NULL };

	return with_helper(d, c, registry, registry_auth, &j, err);
}

int vd_backup_swarm_clean(vd_docker *d, const char *project, vd_error *err)
{
	vd_container_array list = { NULL, 0 };
	char label[512];
	const char *pairs[] = { "label", label, NULL };
	size_t i;
	int r;

	snprintf(label, sizeof(label), VD_BACKUP_HELPER_LABEL "=%s", project);
	if ((r = vd_container_list(d, true, pairs, &list, err)))
		return vd_error_prefix(err, "list the dump helpers");
	for (i = 0; i < list.len; i++) {
		vd_error e = VD_ERROR_INIT;

		if (vd_container_remove(d, list.items[i].id, true, true, &e))
			vd_log(VD_LOG_WARN, "cannot remove %s: %s", list.items[i].name, vd_error_msg(&e));
		else
			vd_log(VD_LOG_WARN, "removed %s, a dump's helper left by a run that did not finish",
			       list.items[i].name);
		vd_error_release(&e);
	}
	vd_container_array_release(&list);
	return 0;
}
