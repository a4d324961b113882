/* The evidence of new containers that failed their proof, kept before the
 * restore removes them (controller/state/evidence.h). */
#include "common/log.h"
#include "controller/rollout/swap_private.h"
#include "controller/state/evidence.h"
#include "docker_api/container.h"
#include "docker_api/logs.h"

#include <stdio.h>
#include <string.h>

/* reading a failed container's logs must not hold up the restore */
#define EVIDENCE_LOGS_MS 5000
#define EVIDENCE_LOG_MAX ((size_t)1 << 20)

/* Both streams into one buffer, in the order the engine sent them. */
static int collect(int stream, const char *data, size_t len, void *ctx, vd_error *err)
{
	vd_buf *out = ctx;

	(void)stream;
	(void)err;
	if (out->len + len > EVIDENCE_LOG_MAX)
		return VD_LOGS_STOP;
	return vd_buf_put(out, data, len) ? VD_ENOMEM : 0;
}

static int inspect_summary(vd_swap *w, const struct vd_swap_svc *v, vd_buf *out, vd_error *err)
{
	vd_container_info info;
	yajl_gen g;
	int r;

	memset(&info, 0, sizeof(info));
	if ((r = vd_container_inspect(w->d, v->new_id, &info, err)))
		return r;
	g = vd_jgen_new();
	yajl_gen_map_open(g);
	vd_jgen_kstr(g, "service", v->s->name);
	vd_jgen_kstr(g, "container", info.name);
	vd_jgen_kstr(g, "id", info.id);
	vd_jgen_kstr(g, "image", info.config_image);
	vd_jgen_kstr(g, "image_id", info.image_id);
	vd_jgen_str(g, "state");
	if (yajl_tree_get(info.raw, (const char *[]){ "State", NULL }, yajl_t_object))
		vd_jgen_value(g, yajl_tree_get(info.raw, (const char *[]){ "State", NULL }, yajl_t_object));
	else
		yajl_gen_null(g);
	yajl_gen_map_close(g);
	r = vd_jgen_finish(g, out);
	vd_container_info_release(&info);
	return r ? vd_error_set(err, VD_ENOMEM, "out of memory") : 0;
}

static void keep_one(vd_swap *w, const struct vd_swap_svc *v)
{
	vd_logs_opts lo = VD_LOGS_OPTS_INIT;
	vd_buf log = VD_BUF_INIT, state = VD_BUF_INIT;
	vd_error err = VD_ERROR_INIT;
	char tail[16];

	if (inspect_summary(w, v, &state, &err)) {
		vd_log(VD_LOG_WARN, "evidence of %s: cannot inspect the new container: %s", v->s->name,
		       vd_error_msg(&err));
		vd_error_release(&err);
	}
	snprintf(tail, sizeof(tail), "%d", VD_EVIDENCE_LINES);
	lo.tail = tail;
	lo.deadline_ms = EVIDENCE_LOGS_MS;
	lo.idle_timeout_ms = EVIDENCE_LOGS_MS;
	if (vd_logs_read(w->d, v->new_id, &lo, collect, &log, &err)) {
		vd_log(VD_LOG_WARN, "evidence of %s: cannot read the new container's logs: %s",
		       v->s->name, vd_error_msg(&err));
		vd_error_release(&err);
	}
	if (vd_evidence_save(w->o->state_dir, w->o->deploy_id, v->s->name, vd_buf_cstr(&log), log.len,
			     state.len ? vd_buf_cstr(&state) : NULL, &err)) {
		vd_log(VD_LOG_WARN, "%s", vd_error_msg(&err));
		vd_error_release(&err);
	}
	vd_buf_release(&log);
	vd_buf_release(&state);
}

void vd_swap_keep_evidence(vd_swap *w)
{
	size_t i;

	if (!w->o->state_dir || !w->o->deploy_id || w->o->dry_run)
		return;
	for (i = 0; i < w->n; i++)
		if (w->v[i].new_id)
			keep_one(w, &w->v[i]);
	vd_evidence_prune(w->o->state_dir, VD_EVIDENCE_KEEP);
}
