#include "controller/cli.h"
#include "common/log.h"
#include "controller/model/project.h"
#include "controller/state/state.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

struct command {
	const char *name;
	int (*run)(vd_cli *cli);
	const char *summary;
	bool changes;  /* may change the server: its failures can be 1 or 3 */
};

static const struct command commands[] = {
	{ "backup", vd_cmd_backup, "dump the PostgreSQL databases now (pg_dump in their own containers)", true },
	{ "backups", vd_cmd_backups, "the database dumps kept, newest first" },
	{ "config", vd_cmd_config, "the effective voxdeploy.yml and compose model, secrets redacted" },
	{ "deploy", vd_cmd_deploy, "build, swap, prove health, roll back by itself (--to, --type, --fetch, --dry-run)", true },
	{ "health", vd_cmd_health, "run every health probe once; the health report (exit 4: unhealthy)" },
	{ "history", vd_cmd_history, "the journal: every step of every deploy (-n N)" },
	{ "lock", vd_cmd_lock, "hold deploys with a reason until unlock (a freeze)" },
	{ "logs", vd_cmd_logs, "the services' container logs, prefixed and redacted (-f follows through deploys)" },
	{ "plan", vd_cmd_plan, "decide the deployment type from the changed files; changes nothing" },
	{ "recover", vd_cmd_recover, "finish or undo an interrupted deploy", true },
	{ "restore", vd_cmd_restore, "put a database dump back by its id; the services using it restart", true },
	{ "rollback", vd_cmd_rollback, "back to the previous (or a retained) version of the app", true },
	{ "serve", vd_cmd_serve, "the sidecar's HTTP endpoint: health report, journal, metrics" },
	{ "stats", vd_cmd_stats, "CPU, memory, network and block I/O per service, as docker stats" },
	{ "status", vd_cmd_status, "what is deployed: the project's containers, images, health, uptime" },
	{ "unlock", vd_cmd_unlock, "lift the hold on deploys" },
	{ "version", vd_cmd_version, "client, engine and negotiated API versions" },
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *f)
{
	size_t i;

	fprintf(f,
		"usage: voxdeploy [-C DIR] [-f COMPOSE_FILE] [-p PROJECT] [--state-dir DIR] [-H HOST]\n"
		"                 [--json] [-q|-v] COMMAND [ARGS]\n"
		"\n"
		"voxdeploy deploys a Docker Compose-style stack on one server through the Docker\n"
		"Engine API: it builds while the old version serves, swaps containers, proves\n"
		"health and rolls back by itself.\n"
		"\n"
		"commands:\n");
	for (i = 0; i < N_COMMANDS; i++)
		fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].summary);
	fprintf(f,
		"\n"
		"global options (before or after the command):\n"
		"  -C DIR             the project directory (default: .)\n"
		"  -f FILE            a compose file, repeatable (default: compose.yaml, compose.yml,\n"
		"                     docker-compose.yml or docker-compose.yaml in DIR)\n"
		"  -p NAME            the compose project (default: COMPOSE_PROJECT_NAME, the compose\n"
		"                     file's name:, else DIR's base name)\n"
		"  --state-dir DIR    journal, lock and current state (default: VOXDEPLOY_STATE_DIR,\n"
		"                     else /var/lib/voxdeploy)\n"
		"  -H, --host HOST    the engine: unix:///path or tcp://host:port (default: DOCKER_HOST,\n"
		"                     else unix:///var/run/docker.sock)\n"
		"  --json             machine-readable output\n"
		"  -q, --quiet        errors only;  -v, --verbose  more detail (twice: debug)\n"
		"  -h, --help         this text;  voxdeploy COMMAND --help for a command's own\n"
		"\n"
		"exit codes: 0 done or healthy, 1 deploy failed and the previous version is back,\n"
		"2 bad input or configuration (nothing changed), 3 failed and the restore failed too,\n"
		"4 unhealthy, 75 another deploy holds the lock\n");
}

static const struct command *find_command(const char *name)
{
	size_t i;

	for (i = 0; i < N_COMMANDS; i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

/* The one map from an error code to the exit status (DESIGN.md), for a
 * command that changes the server and for one that only reads.  A reading
 * command that could not finish changed nothing: 2, never 1 or 3. */
static const struct {
	int code;
	int changes;
	int reads;
} exit_codes[] = {
	{ VD_OK, VD_EXIT_OK, VD_EXIT_OK },
	{ VD_EINVAL, VD_EXIT_USAGE, VD_EXIT_USAGE },
	{ VD_ECONNECT, VD_EXIT_USAGE, VD_EXIT_USAGE },
	{ VD_EUNSUPPORTED, VD_EXIT_USAGE, VD_EXIT_USAGE },
	/* a deploy or rollback that meets a missing image or revision, or
	 * leftovers in the way, stops before it touches anything */
	{ VD_ENOTFOUND, VD_EXIT_USAGE, VD_EXIT_USAGE },
	{ VD_ECONFLICT, VD_EXIT_USAGE, VD_EXIT_USAGE },
	{ VD_EUNHEALTHY, VD_EXIT_UNHEALTHY, VD_EXIT_UNHEALTHY },
	{ VD_ERESTORE, VD_EXIT_RESTORE_FAILED, VD_EXIT_RESTORE_FAILED },
	{ VD_ELOCKED, VD_EXIT_LOCKED, VD_EXIT_LOCKED },
};

static int exit_code(bool changes, int code)
{
	size_t i;

	for (i = 0; i < sizeof(exit_codes) / sizeof(exit_codes[0]); i++)
		if (exit_codes[i].code == code)
			return changes ? exit_codes[i].changes : exit_codes[i].reads;
	return changes ? VD_EXIT_FAILED : VD_EXIT_USAGE;
}

int vd_cli_open_project(vd_cli *cli, vd_project *proj, char **state_dir, vd_docker **docker,
			vd_error *err)
{
	if (!(*state_dir = vd_state_dir(cli->state_dir)))
		return vd_error_set(err, VD_ENOMEM, "out of memory");
	if (vd_project_resolve(cli->dir, cli->compose_files, cli->n_compose_files, cli->project, proj,
			       err))
		return err->code;
	return vd_cli_docker(cli, docker, err);
}

static const vd_cli_opt *find_opt(const vd_cli_opt *opts, const char *arg, size_t len)
{
	for (; opts && opts->name; opts++)
		if ((strlen(opts->name) == len && !strncmp(opts->name, arg, len)) ||
		    (opts->alias && strlen(opts->alias) == len && !strncmp(opts->alias, arg, len)))
			return opts;
	return NULL;
}

int vd_cli_args(const vd_cli *cli, const vd_cli_opt *opts, vd_error *err)
{
	return vd_cli_args_words(cli, opts, NULL, 0, NULL, err);
}

int vd_cli_args_words(const vd_cli *cli, const vd_cli_opt *opts, char **words, size_t max_words,
		      size_t *n_words, vd_error *err)
{
	const char *cmd = cli->argv[0];
	int a;

	if (n_words)
		*n_words = 0;
	for (a = 1; a < cli->argc; a++) {
		const char *arg = cli->argv[a], *eq = arg[0] == '-' ? strchr(arg, '=') : NULL;
		const vd_cli_opt *o = find_opt(opts, arg, eq ? (size_t)(eq - arg) : strlen(arg));
		const char *value = eq ? eq + 1 : NULL;

		if (!o && words && arg[0] != '-' && arg[0]) {
			if (*n_words == max_words)
				return vd_error_set(err, VD_EINVAL, "%s: more than %zu names", cmd, max_words);
			words[(*n_words)++] = cli->argv[a];
			continue;
		}
		if (!o || (eq && !o->value))
			return vd_error_set(err, VD_EINVAL, "%s: unknown argument '%s' (see voxdeploy %s --help)",
					    cmd, arg, cmd);
		if (o->flag)
			*o->flag = true;
		if (!o->value)
			continue;
		if (!eq && a + 1 < cli->argc && (!o->optional || cli->argv[a + 1][0] != '-'))
			value = cli->argv[++a];
		if (!value && o->optional)
			continue;
		if (!value || (!value[0] && !o->empty_ok))
			return vd_error_set(err, VD_EINVAL, "%s: %.*s needs a value", cmd,
					    (int)(eq ? (size_t)(eq - arg) : strlen(arg)), arg);
		*o->value = value;
	}
	return 0;
}

void vd_cli_print_json(vd_cli *cli, yajl_gen g)
{
	vd_buf out = VD_BUF_INIT;

	if (!vd_jgen_finish(g, &out)) {
		vd_buf_putc(&out, '\n');
		vd_print_text(cli->out, vd_buf_cstr(&out));
		fflush(cli->out);
	}
	vd_buf_release(&out);
}

int vd_cli_fail(vd_cli *cli, vd_error *err)
{
	vd_print(cli->err ? cli->err : stderr, "voxdeploy: %s\n", vd_error_msg(err));
	return exit_code(cli->changes, err->code);
}

/* Global options, recognised anywhere on the line; everything else is kept
 * in order for the command.  A lone "--" ends option parsing.  VD_EINVAL
 * with a message on bad usage; `cli` borrows from argv. */
static int parse(int argc, char **argv, vd_cli *cli, vd_error *err)
{
	char **rest;
	int i, n = 0;
	bool dashdash = false;

	memset(cli, 0, sizeof(*cli));
	cli->out = stdout;
	cli->err = stderr;
	rest = calloc((size_t)argc + 1, sizeof(char *));
	if (!rest)
		return vd_error_set(err, VD_ENOMEM, "out of memory");
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char **value = NULL;

		if (dashdash || a[0] != '-' || !a[1]) {
			rest[n++] = argv[i];
			continue;
		}
		if (!strcmp(a, "--")) {
			dashdash = true;
			rest[n++] = argv[i];
			continue;
		}
		if (!strcmp(a, "--json")) {
			cli->json = true;
		} else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
			cli->verbosity = -1;
		} else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
			cli->verbosity++;
		} else if (!strcmp(a, "-vv")) {
			cli->verbosity += 2;
		} else if (!strcmp(a, "-C")) {
			value = &cli->dir;
		} else if (!strcmp(a, "-p") || !strcmp(a, "--project-name")) {
			value = &cli->project;
		} else if (!strcmp(a, "--state-dir")) {
			value = &cli->state_dir;
		} else if (!strcmp(a, "-H") || !strcmp(a, "--host")) {
			value = &cli->host;
		} else if (!strcmp(a, "-f") && n && !strcmp(rest[0], "logs")) {
			/* after `logs`, -f is --follow (as in docker logs -f) */
			rest[n++] = argv[i];
			continue;
		} else if (!strcmp(a, "-f") || !strcmp(a, "--file")) {
			if (cli->n_compose_files == VD_MAX_COMPOSE_FILES) {
				free(rest);
				return vd_error_set(err, VD_EINVAL, "at most %d compose files (-f)",
						    VD_MAX_COMPOSE_FILES);
			}
			value = &cli->compose_files[cli->n_compose_files++];
		} else {
			/* a command option: the command parses it */
			rest[n++] = argv[i];
			continue;
		}
		if (value) {
			if (i + 1 >= argc || !argv[i + 1][0]) {
				free(rest);
				return vd_error_set(err, VD_EINVAL, "option %s needs a value", a);
			}
			*value = argv[++i];
		}
	}
	cli->argc = n;
	cli->argv = rest;
	cli->command = n ? rest[0] : NULL;
	return 0;
}

static void release(vd_cli *cli)
{
	free(cli->argv);
	cli->argv = NULL;
}

int vd_cli_docker(vd_cli *cli, vd_docker **out, vd_error *err)
{
	vd_docker *d = NULL;
	int r = vd_docker_new(&d, cli->host, err);

	if (!r)
		r = vd_docker_connect(d, err);
	if (r && r != VD_ECONNECT && r != VD_EUNSUPPORTED && r != VD_ENOMEM && r != VD_EINVAL) {
		/* An engine whose ping stalls, hangs up, is no HTTP or fails is
		 * no engine to talk to, and nothing was asked of it yet (exit 2). */
		vd_error_prefix(err, "cannot reach the Docker engine at %s", vd_docker_host(d));
		err->code = r = VD_ECONNECT;
	}
	if (r) {
		vd_docker_free(d);
		return r;
	}
	*out = d;
	return 0;
}

bool vd_cli_wants_help(const vd_cli *cli)
{
	int i;

	for (i = 1; i < cli->argc; i++)
		if (!strcmp(cli->argv[i], "-h") || !strcmp(cli->argv[i], "--help"))
			return true;
	return false;
}

static bool wants_help(const vd_cli *cli)
{
	int i;

	for (i = 0; i < cli->argc; i++)
		if (!strcmp(cli->argv[i], "-h") || !strcmp(cli->argv[i], "--help") ||
		    !strcmp(cli->argv[i], "help"))
			return true;
	return false;
}

int vd_cli_main(int argc, char **argv)
{
	vd_error err = VD_ERROR_INIT;
	const struct command *cmd;
	vd_cli cli;
	int rc;

	vd_secret_add_env();
	if (parse(argc, argv, &cli, &err)) {
		rc = vd_cli_fail(&cli, &err);
		fprintf(stderr, "try 'voxdeploy --help'\n");
		goto done;
	}
	vd_log_set_level(cli.verbosity < 0 ? VD_LOG_ERROR :
			 cli.verbosity == 0 ? VD_LOG_WARN :
			 cli.verbosity == 1 ? VD_LOG_INFO : VD_LOG_DEBUG);
	if (!cli.command || (!strcmp(cli.command, "help") && cli.argc == 1) ||
	    (!find_command(cli.command) && wants_help(&cli))) {
		usage(cli.command ? stdout : stderr);
		rc = cli.command ? VD_EXIT_OK : VD_EXIT_USAGE;
		goto done;
	}
	cmd = find_command(cli.command);
	if (!cmd && cli.command[0] == '-') {
		/* no global option of that name, and nothing before it was a command */
		vd_error_set(&err, VD_EINVAL, "unknown option '%s'", cli.command);
		rc = vd_cli_fail(&cli, &err);
		fprintf(stderr, "try 'voxdeploy --help'\n");
		goto done;
	}
	if (!cmd) {
		size_t i;
		vd_buf names = VD_BUF_INIT;

		for (i = 0; i < N_COMMANDS; i++)
			vd_buf_printf(&names, "%s%s", i ? ", " : "", commands[i].name);
		vd_error_set(&err, VD_EINVAL, "unknown command '%s' (commands: %s)", cli.command,
			     vd_buf_cstr(&names));
		vd_buf_release(&names);
		rc = vd_cli_fail(&cli, &err);
		goto done;
	}
	cli.changes = cmd->changes;
	rc = cmd->run(&cli);
done:
	release(&cli);
	vd_error_release(&err);
	vd_secret_clear();
	return rc;
}
