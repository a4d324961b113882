#include "controller/cli.h"
#include "controller/state/backups.h"
#include "controller/config/config.h"
#include "controller/rollout/probe_list.h"
#include "controller/model/project.h"
#include "controller/rollout/recover.h"
#include "controller/serve/serve.h"
#include "controller/state/state.h"
#include "common/clock.h"
#include "common/log.h"
#include "health/http.h"
#include "health/report.h"

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
		"       voxdeploy serve --check [--listen ADDR:PORT] [--token-file FILE]\n"
		"\n"
		"Run as the sidecar's endpoint until SIGTERM or SIGINT:\n"
		"  GET /healthz              voxdeploy is alive and the engine answers (200/503)\n"
		"  GET /v1/report[?fresh=1]  the health report as JSON (cached for the TTL)\n"
		"  GET /v1/deployments[?limit=N]  the journal's last N records (1-1000, default 50)\n"
		"  GET /metrics              Prometheus text: deploys by type and result, durations,\n"
		"                            rollbacks, last deploy time, probes, build info\n"
		"  GET /                     the status page for a browser: what is deployed, every\n"
		"                            probe (failing first), the last 20 deploys with their\n"
		"                            steps as bars, the last backups; with a token, a login\n"
		"                            form posts it once for a session cookie (12 h)\n"
		"\n"
		"  --listen ADDR:PORT   where to listen (default %s; port 0 picks a free one)\n"
		"  --token-file FILE    a bearer token every request must carry (or the page's\n"
		"                       session cookie); required when ADDR is not loopback\n"
		"  --report-ttl D       how long a health report is served from cache (default:\n"
		"                       serve.report_ttl of voxdeploy.yml, else 10s)\n"
		"  --check              ask a running serve's /healthz (on ADDR:PORT; 0.0.0.0 and ::\n"
		"                       mean loopback) with the token and exit 0 when it answers\n"
		"                       200, else 1: the sidecar image's HEALTHCHECK\n"
		"\n"
		"At start it runs `voxdeploy recover` (an interrupted deploy is finished or undone)\n"
		"and logs what it did; a recover that fails is logged and serving goes on.\n"
		"The report is `voxdeploy health --json` of the project (-C, -f, -p): the probes\n"
		"run again, with voxdeploy.yml and the compose file as they are then, when the\n"
		"cached one is older than the TTL.\n",
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

struct serve_ctx {
	vd_cli *cli;
	vd_docker *docker;
	const char *state_dir;
};

static int ping_engine(void *ctx, vd_error *err)
{
	struct serve_ctx *sc = ctx;
	vd_docker_req req = { .method = "GET", .path = "/_ping", .unversioned = true,
			      .timeout_ms = 3000 };

	return vd_docker_request(sc->docker, &req, NULL, err);
}

static int report_engine(void *ctx, vd_docker **out, vd_error *err)
{
	*out = ((struct serve_ctx *)ctx)->docker;
	return 0;
}

/* Finish g (a JSON value) and splice it into the report object out as its
 * last member "key", before the closing brace. */
static int splice_member(vd_buf *out, const char *key, yajl_gen g)
{
	vd_buf value = VD_BUF_INIT;
	int r = 0;

	if (vd_jgen_finish(g, &value))
		return VD_ENOMEM;
	out->len--;
	out->ptr[out->len] = '\0';
	if (vd_buf_printf(out, ",\"%s\":%s}", key, vd_buf_cstr(&value)))
		r = VD_ENOMEM;
	vd_buf_release(&value);
	return r;
}

/* The report's last member, "last_backups": each database's newest dump
 * (state/backups.h), spliced in before the object's closing brace. */
static int add_last_backups(const char *state_dir, vd_buf *out)
{
	vd_backup_info *all = NULL;
	vd_error err = VD_ERROR_INIT;
	yajl_gen g;
	size_t n = 0, i;

	if (!state_dir || !out->len || out->ptr[out->len - 1] != '}')
		return 0;
	if (vd_backup_list(state_dir, &all, &n, &err)) {
		vd_error_release(&err);
		n = 0;
	}
	if (!(g = vd_jgen_new())) {
		free(all);
		return VD_ENOMEM;
	}
	n = vd_backup_newest_per_service(all, n);
	yajl_gen_array_open(g);
	for (i = 0; i < n; i++)
		vd_backup_info_json(g, &all[i]);
	yajl_gen_array_close(g);
	free(all);
	return splice_member(out, "last_backups", g);
}

/* On a swarm manager running the stack: the report's "nodes" (status
 * --json's: each node and the stack's tasks running there), spliced in
 * before the object's closing brace.  Nothing on one engine; a swarm that
 * cannot be listed leaves it out (the service probes say why). */
static int add_nodes(vd_docker *d, const char *project, vd_buf *out)
{
	vd_stack_view *v = NULL;
	vd_error err = VD_ERROR_INIT;
	yajl_gen g;

	if (!out->len || out->ptr[out->len - 1] != '}' || vd_stack_view_load(d, project, &v, &err) || !v) {
		vd_error_release(&err);
		return 0;
	}
	if (!(g = vd_jgen_new())) {
		vd_stack_view_free(v);
		return VD_ENOMEM;
	}
	vd_stack_view_nodes_json(v, g);
	vd_stack_view_free(v);
	return splice_member(out, "nodes", g);
}

/* The report callback: what `voxdeploy health --json` prints, made afresh
 * (the checkout, and with it the compose file and voxdeploy.yml, changes
 * with every deploy). */
static int make_report(void *ctx, vd_buf *out, vd_error *err)
{
	struct serve_ctx *sc = ctx;
	vd_project proj = { NULL, NULL, 0, NULL };
	vd_health_report report;
	int r;

	vd_health_report_init(&report);
	r = vd_project_resolve(sc->cli->dir, sc->cli->compose_files, sc->cli->n_compose_files,
			       sc->cli->project, &proj, err);
	if (!r)
		r = vd_probe_list_run(&proj, NULL, report_engine, sc, &report, err);
	if ((!r || r == VD_EUNHEALTHY) &&
	    (vd_health_report_json(&report, out) || add_last_backups(sc->state_dir, out) ||
	     add_nodes(sc->docker, proj.name, out)))
		r = vd_error_set(err, VD_ENOMEM, "out of memory");
	else if (!r || r == VD_EUNHEALTHY)
		vd_buf_putc(out, '\n');
	vd_health_report_release(&report);
	vd_project_release(&proj);
	return r;
}

/* At start: the project's name (the page's title, *project, caller frees),
 * the report TTL from voxdeploy.yml (unless --report-ttl gave one), then
 * finish or undo a deploy a crash interrupted, saying what it
 * did (nothing to do: on stdout, with "serving on"; anything else is
 * logged).  Neither stops serve: what fails is logged (and /v1/report will
 * say it too). */
static void start_checks(struct serve_ctx *sc, const char *state_dir, vd_serve_options *opts,
			 char **project)
{
	vd_error err = VD_ERROR_INIT;
	vd_project proj = { NULL, NULL, 0, NULL };
	vd_config_bundle b = VD_CONFIG_BUNDLE_INIT;
	vd_recover_options o;
	vd_recover_result res;
	vd_cli *cli = sc->cli;

	if (vd_project_resolve(cli->dir, cli->compose_files, cli->n_compose_files, cli->project, &proj,
			       &err)) {
		vd_log_warn("serve: no project: %s (no recover; /v1/report will fail)", vd_error_msg(&err));
		goto done;
	}
	*project = strdup(proj.name);
	if (vd_config_bundle_load(&proj, &b, &err)) {
		vd_log_warn("serve: %s", vd_error_msg(&err));
		vd_error_release(&err);
	} else if (!opts->report_ttl_ms && b.config->serve.report_ttl_ms) {
		opts->report_ttl_ms = (long)b.config->serve.report_ttl_ms;
	}
	memset(&o, 0, sizeof(o));
	o.project = &proj;
	o.state_dir = state_dir;
	o.fast_check_ms = b.config ? b.config->health.fast_check_ms : VD_CONFIG_DEFAULT_FAST_CHECK_MS;
	if (vd_recover_run(sc->docker, &o, &res, &err))
		vd_log_error("serve: recover of project %s failed: %s", proj.name, vd_error_msg(&err));
	else if (res.outcome == VD_RECOVER_NOTHING)
		vd_print(cli->out, "voxdeploy: recover: project %s: nothing to do (%s)\n", proj.name,
			 res.detail);
	else if (res.outcome == VD_RECOVER_FAILED)
		vd_log_error("serve: recover: deploy %s: %s: %s (needs a person)", res.deploy_id,
			     vd_recover_outcome_name(res.outcome), res.detail);
	else
		vd_log_warn("serve: recover: deploy %s was interrupted: %s: %s", res.deploy_id,
			    vd_recover_outcome_name(res.outcome), res.detail);
done:
	vd_config_bundle_release(&b);
	vd_project_release(&proj);
	vd_error_release(&err);
}

/* serve --check: GET /healthz of a running serve, with the token. */
static int check_running(const char *listen, const char *token, vd_error *err)
{
	char addr[128], url[200], auth[4200];
	const char *headers[1];
	vd_health_result res;
	vd_probe p;
	uint16_t port;
	bool loopback;
	int r;

	r = vd_serve_parse_listen(listen, addr, sizeof(addr), &port, &loopback, err);
	if (r)
		return r;
	if (!port)
		return vd_error_set(err, VD_EINVAL, "serve --check: --listen needs the port");
	if (!strcmp(addr, "0.0.0.0"))
		snprintf(addr, sizeof(addr), "127.0.0.1");
	else if (!strcmp(addr, "::"))
		snprintf(addr, sizeof(addr), "::1");
	snprintf(url, sizeof(url), strchr(addr, ':') ? "http://[%s]:%u/healthz" : "http://%s:%u/healthz",
		 addr, port);
	memset(&p, 0, sizeof(p));
	memset(&res, 0, sizeof(res));
	p.kind = VD_PROBE_HTTP;
	p.name = "healthz";
	p.http.url = url;
	p.timeout_ms = 5000;
	if (token) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
		headers[0] = auth;
		p.http.headers = headers;
		p.http.n_headers = 1;
	}
	vd_http_probe_run(&p, 0, &res);
	if (res.status != VD_HEALTH_OK)
		return vd_error_set(err, VD_EUNHEALTHY, "%s: %s", url, res.detail);
	return 0;
}

int vd_cmd_serve(vd_cli *cli)
{
	vd_serve_options opts = { DEFAULT_LISTEN, NULL, NULL, 0, NULL, NULL, NULL };
	struct serve_ctx sc = { cli, NULL, NULL };
	vd_error err = VD_ERROR_INIT;
	vd_serve *srv = NULL;
	vd_docker *docker = NULL;
	char *token = NULL, *state_dir = NULL, *project = NULL;
	const char *token_file = NULL, *report_ttl = NULL;
	sigset_t stop;
	uint64_t ttl;
	bool check = false;
	int sig = 0, rc = VD_EXIT_OK;

	if (vd_cli_wants_help(cli)) {
		usage(cli->out);
		return VD_EXIT_OK;
	}
	{
		const vd_cli_opt o[] = {
			{ "--check", NULL, NULL, &check, false, false },
			{ "--listen", NULL, &opts.listen, NULL, false, false },
			{ "--token-file", NULL, &token_file, NULL, false, false },
			{ "--report-ttl", NULL, &report_ttl, NULL, false, false },
			{ NULL, NULL, NULL, NULL, false, false },
		};

		if (vd_cli_args(cli, o, &err))
			goto fail;
	}
	if (report_ttl) {
		if (vd_duration_parse(report_ttl, &ttl)) {
			vd_error_set(&err, VD_EINVAL, "serve: --report-ttl: invalid duration '%s'", report_ttl);
			goto fail;
		}
		opts.report_ttl_ms = ttl ? (long)ttl : 1;
	}
	if (token_file && read_token(token_file, &token, &err))
		goto fail;
	if (check) {
		if (check_running(opts.listen, token, &err)) {
			vd_print(cli->err, "voxdeploy: unhealthy: %s\n", vd_error_msg(&err));
			rc = 1;  /* what a Docker HEALTHCHECK understands */
		}
		goto done;
	}
	state_dir = vd_state_dir(cli->state_dir);
	if (!state_dir || vd_docker_new(&docker, cli->host, &err))
		goto fail;
	sc.docker = docker;
	sc.state_dir = state_dir;
	start_checks(&sc, state_dir, &opts, &project);
	opts.project = project;
	opts.token = token;
	opts.state_dir = state_dir;
	opts.ping = ping_engine;
	opts.report = make_report;
	opts.ctx = &sc;
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
	free(project);
	free(state_dir);
	vd_error_release(&err);
	return rc;
}
