#include "controller/cli.h"
#include "controller/serve.h"
#include "controller/state.h"
#include "common/clock.h"
#include "common/log.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_LISTEN "127.0.0.1:9180"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: voxdeploy serve [--listen ADDR:PORT] [--token-file FILE] [--report-ttl DURATION]\n"
		"\n"
		"Run as the sidecar's endpoint until SIGTERM or SIGINT:\n"
		"  GET /healthz              voxdeploy is alive and the engine answers (200/503)\n"
		"  GET /v1/report[?fresh=1]  the health report as JSON (cached for the TTL)\n"
		"  GET /v1/deployments[?limit=N]  the journal's last N records (1-1000, default 50)\n"
		"  GET /metrics              Prometheus text: deploys by type and result, durations,\n"
		"                            rollbacks, last deploy time, probes, build info\n"
		"\n"
		"  --listen ADDR:PORT   where to listen (default %s; port 0 picks a free one)\n"
		"  --token-file FILE    a bearer token every request must carry; required when\n"
		"                       ADDR is not a loopback address\n"
		"  --report-ttl D       how long a health report is served from cache (default 10s)\n",
		DEFAULT_LISTEN);
}

static int read_token(const char *path, char **out, vd_error *err)
{
	char line[4096];
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return vd_error_set(err, VD_EINVAL, "cannot read token file %s: %s", path, strerror(errno));
	if (!fgets(line, sizeof(line), f)) {
		fclose(f);
		return vd_error_set(err, VD_EINVAL, "token file %s is empty", path);
	}
	fclose(f);
	n = strcspn(line, "\r\n");
	line[n] = '\0';
	if (n < 16)
		return vd_error_set(err, VD_EINVAL, "the token in %s is shorter than 16 characters", path);
	*out = strdup(line);
	if (!*out)
		return vd_error_set(err, VD_ENOMEM, "out of memory");
	vd_secret_add(*out);
	return 0;
}

static int ping_engine(void *ctx, vd_error *err)
{
	vd_docker_req req = { .method = "GET", .path = "/_ping", .unversioned = true,
			      .timeout_ms = 3000 };

	return vd_docker_request(ctx, &req, NULL, err);
}

int vd_cmd_serve(vd_cli *cli)
{
	vd_serve_options opts = { DEFAULT_LISTEN, NULL, NULL, 0, NULL, NULL, NULL };
	vd_error err = VD_ERROR_INIT;
	vd_serve *srv = NULL;
	vd_docker *docker = NULL;
	char *token = NULL, *state_dir = NULL;
	const char *token_file = NULL;
	sigset_t stop;
	uint64_t ttl;
	int a, sig = 0, rc = VD_EXIT_OK;

	if (vd_cli_wants_help(cli)) {
		usage(cli->out);
		return VD_EXIT_OK;
	}
	for (a = 1; a < cli->argc; a++) {
		const char *arg = cli->argv[a];

		if (a + 1 >= cli->argc || (strcmp(arg, "--listen") && strcmp(arg, "--token-file") &&
					   strcmp(arg, "--report-ttl"))) {
			vd_error_set(&err, VD_EINVAL, "serve: unexpected argument '%s' (see voxdeploy serve --help)",
				     arg);
			goto fail;
		}
		a++;
		if (!strcmp(arg, "--listen")) {
			opts.listen = cli->argv[a];
		} else if (!strcmp(arg, "--token-file")) {
			token_file = cli->argv[a];
		} else if (vd_duration_parse(cli->argv[a], &ttl)) {
			vd_error_set(&err, VD_EINVAL, "serve: --report-ttl: invalid duration '%s'", cli->argv[a]);
			goto fail;
		} else {
			opts.report_ttl_ms = ttl ? (long)ttl : 1;
		}
	}
	if (token_file && read_token(token_file, &token, &err))
		goto fail;
	state_dir = vd_state_dir(cli->state_dir);
	if (!state_dir || vd_docker_new(&docker, cli->host, &err))
		goto fail;
	opts.token = token;
	opts.state_dir = state_dir;
	opts.ping = ping_engine;
	opts.ctx = docker;
	/* the daemon's threads inherit the mask: only this one takes the signals */
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	if (vd_serve_start(&opts, &srv, &err))
		goto fail;
	vd_print(cli->out, "voxdeploy: serving on %s (port %u)\n", opts.listen, vd_serve_port(srv));
	fflush(cli->out);
	sigwait(&stop, &sig);
	vd_log_info("serve: %s: finishing the requests in flight", strsignal(sig));
	vd_serve_stop(srv);
	goto done;
fail:
	if (!err.code)
		vd_error_set(&err, VD_ENOMEM, "out of memory");
	rc = vd_cli_fail(cli, &err);
done:
	vd_docker_free(docker);
	free(token);
	free(state_dir);
	vd_error_release(&err);
	return rc;
}
