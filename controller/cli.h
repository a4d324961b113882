/* voxdeploy — the command line: global options, dispatch, exit codes.
 *
 * Each command lives in cmd_<name>.c: it parses its own options, calls the
 * modules, prints, and returns an exit code.  Nothing below the command layer
 * prints.
 */
#ifndef VD_CONTROLLER_CLI_H
#define VD_CONTROLLER_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "common/error.h"
#include "common/json.h"
#include "controller/rollout/deploy.h"
#include "docker_api/docker.h"

/* The exit codes CI acts on (DESIGN.md). */
enum {
	VD_EXIT_OK = 0,
	VD_EXIT_FAILED = 1,          /* deploy failed, previous version restored */
	VD_EXIT_USAGE = 2,           /* bad input or configuration, nothing changed */
	VD_EXIT_RESTORE_FAILED = 3,  /* failed and the restore failed too */
	VD_EXIT_UNHEALTHY = 4,       /* health: unhealthy */
	VD_EXIT_LOCKED = 75,         /* another deploy holds the lock */
};

#define VD_MAX_COMPOSE_FILES 16

typedef struct vd_cli {
	const char *dir;             /* -C */
	const char *compose_files[VD_MAX_COMPOSE_FILES];  /* -f, repeatable */
	size_t n_compose_files;
	const char *project;         /* -p */
	const char *state_dir;       /* --state-dir */
	const char *host;            /* --host / DOCKER_HOST */
	bool json;
	int verbosity;               /* -q: -1, -v: 1, -vv: 2 */
	const char *command;
	int argc;                    /* the command's own arguments */
	char **argv;                 /* argv[0] is the command name */
	bool changes;                /* the command may change the server */
	FILE *out;                   /* stdout unless a test swaps it */
	FILE *err;
} vd_cli;

/* Parse, run, print errors; the process exit code. */
int vd_cli_main(int argc, char **argv);

/* Print "voxdeploy: <message>" for a failure and return its exit code. */
int vd_cli_fail(vd_cli *cli, vd_error *err);

/* A connected engine client for the command (-H, DOCKER_HOST, default). */
int vd_cli_docker(vd_cli *cli, vd_docker **out, vd_error *err);

/* What the commands that act on the project start from: the project
 * (vd_project_resolve with -C, -f, -p), the state directory (caller frees)
 * and an engine client. */
struct vd_project;
int vd_cli_open_project(vd_cli *cli, struct vd_project *proj, char **state_dir, vd_docker **docker,
			vd_error *err);

/* One option a command takes.  With `value` it takes a value — the next
 * word or `--name=VALUE` — that must not be empty unless `empty_ok`; with
 * `optional` the value may be left out (then only `--name=VALUE`, or a
 * next word that is not an option).  With `flag`, it is set to true when
 * the option is given (also for an option with a value). */
typedef struct vd_cli_opt {
	const char *name;        /* "--to" */
	const char *alias;       /* "-s", or NULL */
	const char **value;
	bool *flag;
	bool empty_ok;
	bool optional;
} vd_cli_opt;

/* The command's own arguments against its options (the table ends with a
 * NULL name).  VD_EINVAL "CMD: unknown argument 'X' (see voxdeploy CMD
 * --help)" or "CMD: --to needs a value".  opts NULL: the command takes
 * none. */
int vd_cli_args(const vd_cli *cli, const vd_cli_opt *opts, vd_error *err);
/* The same, collecting the words that are no option (`logs app worker`)
 * into words, at most max_words (more is VD_EINVAL). */
int vd_cli_args_words(const vd_cli *cli, const vd_cli_opt *opts, char **words, size_t max_words,
		      size_t *n_words, vd_error *err);

/* Finish g (and free it) and print what it made on stdout, one line,
 * flushed: the --json output of every command. */
void vd_cli_print_json(vd_cli *cli, yajl_gen g);

/* True when the command's own arguments ask for help. */
bool vd_cli_wants_help(const vd_cli *cli);

/* The commands. */
/* A service's container as `logs` and `stats` show it (cli_services.c). */
typedef struct vd_cli_service {
	char *service;
	char *id;
	char *name;
	bool running;
} vd_cli_service;

/* The project's service containers (each service's own, not a deploy's
 * -voxdeploy-old/-new twin), by service; services (n_services 0: all)
 * narrow them, and one without a container is VD_EINVAL naming those
 * there are. */
int vd_cli_services(vd_docker *d, const char *project, char *const *services, size_t n_services,
		    bool running_only, vd_cli_service **out, size_t *n_out, vd_error *err);
void vd_cli_services_release(vd_cli_service *s, size_t n);

int vd_cmd_config(vd_cli *cli);
int vd_cmd_health(vd_cli *cli);
int vd_cmd_version(vd_cli *cli);
int vd_cmd_plan(vd_cli *cli);
int vd_cmd_deploy(vd_cli *cli);
int vd_cmd_recover(vd_cli *cli);
int vd_cmd_rollback(vd_cli *cli);
int vd_cmd_history(vd_cli *cli);
int vd_cmd_lock(vd_cli *cli);
int vd_cmd_logs(vd_cli *cli);
int vd_cmd_stats(vd_cli *cli);
int vd_cmd_unlock(vd_cli *cli);
int vd_cmd_serve(vd_cli *cli);
int vd_cmd_status(vd_cli *cli);
/* status on a Swarm manager running services of the stack `project`: they
 * and their tasks are printed and *shown set; else nothing is printed. */
int vd_status_swarm(vd_cli *cli, vd_docker *d, const char *project, bool *shown, vd_error *err);
/* The stack `project` on a Swarm manager, as status shows it: its services,
 * their tasks, the swarm's nodes.  *out NULL (and 0) when the engine is no
 * manager or runs no service of that stack. */
typedef struct vd_stack_view vd_stack_view;
int vd_stack_view_load(vd_docker *d, const char *project, vd_stack_view **out, vd_error *err);
/* The nodes, by hostname, as a JSON array: [{"node", "node_id", "role",
 * "state", "availability", "leader", "running": {SERVICE: N, ...}}] — the
 * stack's tasks running on each. */
void vd_stack_view_nodes_json(const vd_stack_view *v, yajl_gen g);
void vd_stack_view_free(vd_stack_view *v);
int vd_cmd_backup(vd_cli *cli);
int vd_cmd_backups(vd_cli *cli);
int vd_cmd_restore(vd_cli *cli);

/* --lock-wait D: a duration ("90s", "10m") into o->lock_wait_ms;
 * VD_EINVAL "CMD: --lock-wait: ..." otherwise.  NULL: no wait. */
int vd_cli_lock_wait(vd_cli *cli, const char *text, vd_deploy_options *o, vd_error *err);
/* What deploy and rollback share (cli_deploy.c): open the project, run
 * (vd_deploy_run, or vd_deploy_rollback when rollback), print progress as
 * it comes (one line per step on stderr, or JSON lines on stdout with
 * --json) and the result (with --json the plan's files too, as
 * `plan --json` gives them); the exit code.  o holds the parsed options;
 * project, state_dir and progress are filled here. */
int vd_cli_deploy(vd_cli *cli, vd_deploy_options *o, bool rollback);

#endif
