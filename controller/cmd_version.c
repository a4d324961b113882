#include "controller/cli.h"
#include "common/json.h"
#include "common/log.h"

#include <string.h>

static void print_json(vd_cli *cli, vd_docker *d, const vd_engine_info *e)
{
	yajl_gen g = vd_jgen_new();

	yajl_gen_map_open(g);
	vd_jgen_str(g, "client");
	yajl_gen_map_open(g);
	vd_jgen_kstr(g, "version", VD_VERSION);
	vd_jgen_kstr(g, "api_min", VD_DOCKER_API_MIN);
	vd_jgen_kstr(g, "api_max", VD_DOCKER_API_MAX);
	yajl_gen_map_close(g);
	vd_jgen_str(g, "engine");
	if (e) {
		yajl_gen_map_open(g);
		vd_jgen_kstr(g, "host", vd_docker_host(d));
		vd_jgen_kstr(g, "version", e->version);
		vd_jgen_kstr(g, "api_version", e->api_version);
		vd_jgen_kstr(g, "min_api_version", e->min_api_version);
		vd_jgen_kstr(g, "os", e->os);
		vd_jgen_kstr(g, "arch", e->arch);
		vd_jgen_kstr(g, "kernel", e->kernel);
		yajl_gen_map_close(g);
	} else {
		yajl_gen_null(g);
	}
	vd_jgen_kstr(g, "api_version", d ? vd_docker_api_version(d) : NULL);
	yajl_gen_map_close(g);
	vd_cli_print_json(cli, g);
}

int vd_cmd_version(vd_cli *cli)
{
	vd_error err = VD_ERROR_INIT;
	const vd_engine_info *e = NULL;
	vd_docker *d = NULL;
	int rc = VD_EXIT_OK;

	if (vd_cli_wants_help(cli)) {
		fprintf(cli->out,
			"usage: voxdeploy version [--json]\n\n"
			"Print voxdeploy's version, the engine's version and the Engine API version\n"
			"the two agreed on (voxdeploy speaks %s to %s).\n",
			VD_DOCKER_API_MIN, VD_DOCKER_API_MAX);
		return VD_EXIT_OK;
	}
	if (vd_cli_args(cli, NULL, &err))
		goto fail;
	if (vd_cli_docker(cli, &d, &err) || vd_docker_engine_info(d, &e, &err)) {
		/* say what we know about ourselves, then why the engine is missing */
		if (cli->json)
			print_json(cli, NULL, NULL);
		else
			vd_print(cli->out, "voxdeploy %s (Engine API %s-%s)\n", VD_VERSION,
				 VD_DOCKER_API_MIN, VD_DOCKER_API_MAX);
		goto fail;
	}
	if (cli->json) {
		print_json(cli, d, e);
	} else {
		vd_print(cli->out, "voxdeploy %s (Engine API %s-%s)\n", VD_VERSION,
			 VD_DOCKER_API_MIN, VD_DOCKER_API_MAX);
		vd_print(cli->out, "engine    %s (API %s, min %s) %s/%s at %s\n", e->version,
			 e->api_version, e->min_api_version, e->os, e->arch, vd_docker_host(d));
		vd_print(cli->out, "using API %s\n", vd_docker_api_version(d));
	}
	goto done;
fail:
	rc = vd_cli_fail(cli, &err);
done:
	vd_docker_free(d);
	vd_error_release(&err);
	return rc;
}
