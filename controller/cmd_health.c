#include "controller/cli.h"
#include "controller/rollout/probe_list.h"
#include "controller/model/project.h"
#include "common/log.h"
#include "health/report.h"

#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(f,
		"usage: voxdeploy health [--service NAME] [--json]\n"
		"\n"
		"Run every health probe once, all at the same time, and print the report: per\n"
		"service and probe the status, the time it took and what it found.\n"
		"\n"
		"  --service NAME   only the probes of this service\n"
		"  --json           the report as one JSON object (what `serve` answers at\n"
		"                   /v1/report)\n"
		"\n"
		"The probes: a container probe per service (running, not restarting, not\n"
		"OOM-killed, its HEALTHCHECK healthy), and the postgres, http and resources\n"
		"probes of voxdeploy.yml's health section.  Without a health section, a service\n"
		"whose image is postgres gets a PostgreSQL probe from its POSTGRES_USER,\n"
		"POSTGRES_PASSWORD and POSTGRES_DB; it connects to 127.0.0.1 and the published\n"
		"port when the service publishes 5432, else to the service name (as a sidecar\n"
		"on the project network does).  The whole run is bounded by health.deadline.\n"
		"\n"
		"exit: 0 healthy, 4 unhealthy, 2 bad configuration or unknown service\n");
}

struct engine {
	vd_cli *cli;
	vd_docker *docker;
};

static int get_engine(void *ctx, vd_docker **out, vd_error *err)
{
	struct engine *e = ctx;
	int r = e->docker ? 0 : vd_cli_docker(e->cli, &e->docker, err);

	if (!r)
		*out = e->docker;
	return r;
}

int vd_cmd_health(vd_cli *cli)
{
	vd_error err = VD_ERROR_INIT;
	vd_project proj = { NULL, NULL, 0, NULL };
	vd_health_report report;
	struct engine engine = { cli, NULL };
	vd_buf out = VD_BUF_INIT;
	const char *service = NULL;
	int r, rc = VD_EXIT_OK;

	vd_health_report_init(&report);
	if (vd_cli_wants_help(cli)) {
		usage(cli->out);
		return VD_EXIT_OK;
	}
	{
		const vd_cli_opt opts[] = {
			{ "--service", "-s", &service, NULL, false, false },
			{ NULL, NULL, NULL, NULL, false, false },
		};

		if (vd_cli_args(cli, opts, &err))
			goto fail;
	}
	if (vd_project_resolve(cli->dir, cli->compose_files, cli->n_compose_files, cli->project,
			       &proj, &err))
		goto fail;
	r = vd_probe_list_run(&proj, service, get_engine, &engine, &report, &err);
	if (r && r != VD_EUNHEALTHY)
		goto fail;
	if (cli->json) {
		if (!vd_health_report_json(&report, &out))
			vd_buf_putc(&out, '\n');
	} else {
		vd_health_report_table(&report, &out);
	}
	vd_print_text(cli->out, vd_buf_cstr(&out));
	rc = r ? VD_EXIT_UNHEALTHY : VD_EXIT_OK;
	goto done;
fail:
	rc = vd_cli_fail(cli, &err);
done:
	vd_buf_release(&out);
	vd_health_report_release(&report);
	vd_docker_free(engine.docker);
	vd_project_release(&proj);
	vd_error_release(&err);
	return rc;
}
