#include "controller/cli.h"
#include "controller/config.h"
#include "controller/probes.h"
#include "controller/project.h"
#include "common/log.h"
#include "health/report.h"
#include "health/wait.h"

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

static bool needs_engine(const vd_probes *p)
{
	size_t i;

	for (i = 0; i < p->len; i++)
		if (p->items[i].kind == VD_PROBE_CONTAINER || p->items[i].kind == VD_PROBE_RESOURCES)
			return true;
	return false;
}

int vd_cmd_health(vd_cli *cli)
{
	vd_error err = VD_ERROR_INIT;
	vd_project proj = { NULL, NULL, 0, NULL };
	vd_config_bundle b = VD_CONFIG_BUNDLE_INIT;
	vd_probes probes = VD_PROBES_INIT;
	vd_health_report report;
	vd_docker *docker = NULL;
	vd_buf out = VD_BUF_INIT;
	const char *service = NULL;
	int a, r, rc = VD_EXIT_OK;

	vd_health_report_init(&report);
	if (vd_cli_wants_help(cli)) {
		usage(cli->out);
		return VD_EXIT_OK;
	}
	for (a = 1; a < cli->argc; a++) {
		if (!strcmp(cli->argv[a], "--service") || !strcmp(cli->argv[a], "-s")) {
			if (a + 1 >= cli->argc) {
				vd_error_set(&err, VD_EINVAL, "health: %s needs a value", cli->argv[a]);
				goto fail;
			}
			service = cli->argv[++a];
		} else {
			vd_error_set(&err, VD_EINVAL, "health: unknown argument '%s' (see voxdeploy health --help)",
				     cli->argv[a]);
			goto fail;
		}
	}
	if (vd_project_resolve(cli->dir, cli->compose_files, cli->n_compose_files, cli->project,
			       &proj, &err) ||
	    vd_config_bundle_load(&proj, &b, &err))
		goto fail;
	if (!b.model) {
		vd_error_set(&err, VD_EINVAL, "no compose file in %s (give -f FILE)", proj.dir);
		goto fail;
	}
	if (vd_probes_build(b.config, b.model, service, vd_env_lookup_process_then, &b.dotenv, &probes,
			    &err))
		goto fail;
	if (needs_engine(&probes) && vd_cli_docker(cli, &docker, &err))
		goto fail;
	r = vd_health_check(docker, probes.items, probes.len, b.config->health.deadline_ms, &report, &err);
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
	vd_probes_release(&probes);
	vd_docker_free(docker);
	vd_config_bundle_release(&b);
	vd_project_release(&proj);
	vd_error_release(&err);
	return rc;
}
