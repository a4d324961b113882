#include "controller/cli.h"
#include "controller/state/journal.h"
#include "controller/state/state.h"
#include "common/log.h"

#include <stdlib.h>
#include <string.h>

struct history {
	vd_cli *cli;
	yajl_gen g;   /* --json: the records as an array */
	size_t n;
};

static int on_record(yajl_val rec, void *ctx, vd_error *err)
{
	struct history *h = ctx;
	const char *service = vd_json_str(rec, "service"), *detail = vd_json_str(rec, "detail");

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
	struct history h = { cli, NULL, 0 };
	char *dir = NULL, *end;
	long n = 50;
	const char *count = NULL;
	int r, rc = VD_EXIT_OK;

	if (vd_cli_wants_help(cli)) {
		fprintf(cli->out,
			"usage: voxdeploy history [-n N] [--json]\n\n"
			"The journal: every step of every deploy, oldest first, from\n"
			"$STATE_DIR/journal.jsonl.  -n N shows the last N records (default 50;\n"
			"0 for all).\n");
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
	r = vd_journal_read(dir, (size_t)n, on_record, &h, &err);
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
