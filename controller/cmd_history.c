#include "controller/cli.h"
#include "controller/state/evidence.h"
#include "controller/state/journal.h"
#include "controller/state/state.h"
#include "common/log.h"

#include <stdlib.h>
#include <string.h>

struct history {
	vd_cli *cli;
	yajl_gen g;   /* --json: the records as an array */
	size_t n;
	const char *state_dir;
	char deploy[VD_DEPLOY_ID_MAX];  /* the deploy whose records are being shown */
};

/* How a failed container ended, from its kept inspect: "exited 3, OOM
 * killed, unhealthy". */
static void ending(yajl_val inspect, vd_buf *out)
{
	const char *status_path[] = { "state", "Status", NULL };
	const char *code_path[] = { "state", "ExitCode", NULL };
	const char *oom_path[] = { "state", "OOMKilled", NULL };
	const char *health_path[] = { "state", "Health", "Status", NULL };
	yajl_val status = yajl_tree_get(inspect, status_path, yajl_t_string);
	yajl_val code = yajl_tree_get(inspect, code_path, yajl_t_number);
	yajl_val health = yajl_tree_get(inspect, health_path, yajl_t_string);
	const char *st = status ? YAJL_GET_STRING(status) : NULL;

	vd_buf_printf(out, "%s", st ? st : "unknown state");
	if (code && st && !strcmp(st, "exited"))
		vd_buf_printf(out, " %lld", YAJL_GET_INTEGER(code));
	if (YAJL_IS_TRUE(yajl_tree_get(inspect, oom_path, yajl_t_true)))
		vd_buf_puts(out, ", OOM killed");
	if (health)
		vd_buf_printf(out, ", %s", YAJL_GET_STRING(health));
}

/* After a deploy's records: what was kept of its failed containers, as a
 * record of its own (step "evidence"). */
static void show_evidence(struct history *h)
{
	vd_evidence ev = VD_EVIDENCE_INIT;
	vd_error err = VD_ERROR_INIT;
	size_t i;

	if (!h->deploy[0] || vd_evidence_load(h->state_dir, h->deploy, &ev, &err)) {
		vd_error_release(&err);
		return;
	}
	for (i = 0; i < ev.len; i++) {
		const vd_evidence_item *it = &ev.items[i];
		yajl_val inspect = it->inspect ? vd_json_parse(it->inspect, &err) : NULL;
		const char *last = vd_evidence_tail(it->log, 1);
		vd_buf how = VD_BUF_INIT;

		vd_error_release(&err);
		ending(inspect, &how);
		if (h->g) {
			yajl_gen_map_open(h->g);
			vd_jgen_kstr(h->g, "deploy_id", h->deploy);
			vd_jgen_kstr(h->g, "step", "evidence");
			vd_jgen_kstr(h->g, "state", "kept");
			vd_jgen_kstr(h->g, "service", it->service);
			vd_jgen_kstr(h->g, "detail", vd_buf_cstr(&how));
			vd_jgen_kstr(h->g, "last_line", *last ? last : NULL);
			vd_jgen_str(h->g, "inspect");
			if (inspect)
				vd_jgen_value(h->g, inspect);
			else
				yajl_gen_null(h->g);
			yajl_gen_map_close(h->g);
		} else {
			vd_print(h->cli->out, "%-24s %-23s %3s %-14s %-7s %s %s; last line: %.*s; voxdeploy logs --deploy %s\n",
				 "", h->deploy, "", "evidence", "kept", it->service, vd_buf_cstr(&how),
				 (int)strcspn(last, "\n"), *last ? last : "(none)", h->deploy);
		}
		vd_buf_release(&how);
		yajl_tree_free(inspect);
	}
	vd_evidence_release(&ev);
}

static int on_record(yajl_val rec, void *ctx, vd_error *err)
{
	struct history *h = ctx;
	const char *service = vd_json_str(rec, "service"), *detail = vd_json_str(rec, "detail");
	const char *id = vd_json_str(rec, "deploy_id");

	if (id && strcmp(id, h->deploy)) {
		show_evidence(h);
		snprintf(h->deploy, sizeof(h->deploy), "%s", id);
	}
	h->n++;
	if (h->g) {
		vd_jgen_value(h->g, rec);
		return 0;
	}
	vd_print(h->cli->out, "%-24s %-23s %3lld %-14s %-7s%s%s%s%s\n",
		 vd_json_str(rec, "ts") ? vd_json_str(rec, "ts") : "?",
		 vd_json_str(rec, "deploy_id") ? vd_json_str(rec, "deploy_id") : "?",
		 (long long)vd_json_int(rec, "seq", 0),
		 vd_json_str(rec, "step") ? vd_json_str(rec, "step") : "?",
		 vd_json_str(rec, "state") ? vd_json_str(rec, "state") : "?",
		 service ? " " : "", service ? service : "", detail ? " " : "", detail ? detail : "");
	return 0;
}

int vd_cmd_history(vd_cli *cli)
{
	vd_error err = VD_ERROR_INIT;
	struct history h = { cli, NULL, 0, NULL, "" };
	char *dir = NULL, *end;
	long n = 50;
	const char *count = NULL;
	int r, rc = VD_EXIT_OK;

	if (vd_cli_wants_help(cli)) {
		fprintf(cli->out,
			"usage: voxdeploy history [-n N] [--json]\n\n"
			"The journal: every step of every deploy, oldest first, from\n"
			"$STATE_DIR/journal.jsonl.  -n N shows the last N records (default 50;\n"
			"0 for all).  After a deploy whose new containers failed their proof, an\n"
			"\"evidence\" line per container says how it ended and its last line;\n"
			"voxdeploy logs --deploy ID shows what it logged last.\n");
		return VD_EXIT_OK;
	}
	{
		const vd_cli_opt opts[] = {
			{ "-n", NULL, &count, NULL, false, false },
			{ NULL, NULL, NULL, NULL, false, false },
		};

		if (vd_cli_args(cli, opts, &err))
			goto fail;
	}
	if (count) {
		n = strtol(count, &end, 10);
		if (*end || n < 0 || end == count) {
			vd_error_set(&err, VD_EINVAL, "history: -n wants a number >= 0, not '%s'", count);
			goto fail;
		}
	}
	dir = vd_state_dir(cli->state_dir);
	if (!dir) {
		vd_error_set(&err, VD_ENOMEM, "out of memory");
		goto fail;
	}
	if (cli->json) {
		h.g = vd_jgen_new();
		yajl_gen_array_open(h.g);
	}
	h.state_dir = dir;
	r = vd_journal_read(dir, (size_t)n, on_record, &h, &err);
	if (!r)
		show_evidence(&h);
	if (r && r != VD_ENOTFOUND) {
		if (h.g)
			yajl_gen_free(h.g);
		goto fail;
	}
	vd_error_release(&err);
	if (h.g) {
		yajl_gen_array_close(h.g);
		vd_cli_print_json(cli, h.g);
		h.g = NULL;
	} else if (!h.n) {
		vd_print(cli->out, "no deploys recorded in %s yet\n", dir);
	}
	goto done;
fail:
	rc = vd_cli_fail(cli, &err);
done:
	free(dir);
	vd_error_release(&err);
	return rc;
}
