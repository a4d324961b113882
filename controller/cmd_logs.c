/* voxdeploy logs — the services' container logs, prefixed with their service
 * as compose prints them, redacted; -f follows, and follows the container a
 * deploy puts in the place of the one that stopped; --deploy ID prints the
 * evidence a failed deploy kept. */
#include "controller/cli.h"
#include "controller/cli_logs.h"
#include "common/clock.h"
#include "common/log.h"
#include "controller/config/config.h"
#include "controller/model/compose.h"
#include "controller/model/project.h"
#include "controller/rollout/swap.h"
#include "controller/state/evidence.h"
#include "controller/state/state.h"
#include "docker_api/container.h"
#include "docker_api/events.h"
#include "docker_api/logs.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define LABEL_PROJECT "com.docker.compose.project"
#define LABEL_SERVICE "com.docker.compose.service"
#define LABEL_ONEOFF "com.docker.compose.oneoff"

/* -f: how long to wait, once no container of the services runs, for one to
 * start again (a deploy stops the old container before the new one starts;
 * a full restart stops every service, may dump the databases, and only then
 * starts them again). */
#define FOLLOW_WAIT_MS (5 * 60 * 1000)
/* A followed container may be silent for any time: its stream ends when it
 * stops. */
#define FOLLOW_IDLE_MS (30L * 24 * 3600 * 1000)
/* The most containers followed at once. */
#define MAX_FOLLOWERS 64

static void usage(FILE *f)
{
	fprintf(f,
		"usage: voxdeploy logs [SERVICE...] [-f|--follow] [-n|--tail N] [--since T]\n"
		"                      [--until T] [-t|--timestamps]\n"
		"       voxdeploy logs --deploy ID [SERVICE...] [-n|--tail N]\n"
		"\n"
		"The services' container logs (every service of the compose file, or those\n"
		"named), stdout and stderr, each line prefixed with its service as compose\n"
		"prints them; secrets are redacted.  A service's container is the one running\n"
		"(the one with the service's name during a deploy), else the newest.\n"
		"\n"
		"  -f, --follow       keep printing as the containers log; when a container\n"
		"                     stops and one of the same service starts (a deploy, a\n"
		"                     rollback, a restart), follow that one, without printing\n"
		"                     a line twice; ends when no container of the services\n"
		"                     has run for 5 minutes (or on Ctrl-C).  -f right after\n"
		"                     `logs` is --follow: give a compose file before the\n"
		"                     command or as --file\n"
		"  -n, --tail N       only the last N lines of each container (all: every line)\n"
		"  --since T          lines since T: a duration before now (10m, 1h30m, 90s) or\n"
		"                     a time (2026-01-02T13:23:37Z, 2026-01-02T13:23, unix\n"
		"                     seconds), as docker logs takes it\n"
		"  --until T          lines before T (the same forms)\n"
		"  -t, --timestamps   the engine's time of each line\n"
		"  --deploy ID        the last lines of the containers a failed deploy kept as\n"
		"                     evidence ($STATE_DIR/evidence/ID), no engine needed\n"
		"\n"
		"exit: 0; 2 bad input (an unknown service, a bad --tail, --since or --until,\n"
		"a malformed deploy ID) or no engine.  A deploy that kept no evidence: a\n"
		"message, exit 0.\n");
}

/* The options after the command: services are the words that are no option
 * and no option's value. */
struct args {
	const char **services;
	size_t n_services;
	bool follow, timestamps;
	const char *tail, *since, *until, *deploy;
};

static int parse_args(vd_cli *cli, struct args *a, vd_error *err)
{
	static const char *const with_value[] = { "--tail", "-n", "--since", "--until", "--deploy" };
	vd_cli opt_cli = *cli;
	char **argv = calloc((size_t)cli->argc + 1, sizeof(char *));
	const vd_cli_opt opts[] = {
		{ "--follow", "-f", NULL, &a->follow, false, false },
		{ "--timestamps", "-t", NULL, &a->timestamps, false, false },
		{ "--tail", "-n", &a->tail, NULL, false, false },
		{ "--since", NULL, &a->since, NULL, false, false },
		{ "--until", NULL, &a->until, NULL, false, false },
		{ "--deploy", NULL, &a->deploy, NULL, false, false },
		{ NULL, NULL, NULL, NULL, false, false },
	};
	int i, r;
	size_t k;

	a->services = calloc((size_t)cli->argc + 1, sizeof(char *));
	if (!argv || !a->services) {
		free(argv);
		return vd_error_set(err, VD_ENOMEM, "out of memory");
	}
	argv[0] = cli->argv[0];
	opt_cli.argc = 1;
	for (i = 1; i < cli->argc; i++) {
		const char *w = cli->argv[i];

		if (w[0] != '-' || !w[1]) {
			a->services[a->n_services++] = w;
			continue;
		}
		argv[opt_cli.argc++] = cli->argv[i];
		for (k = 0; k < sizeof(with_value) / sizeof(with_value[0]); k++)
			if (!strcmp(w, with_value[k]) && i + 1 < cli->argc)
				argv[opt_cli.argc++] = cli->argv[++i];
	}
	opt_cli.argv = argv;
	r = vd_cli_args(&opt_cli, opts, err);
	free(argv);
	return r;
}

static int check_tail(const char *tail, vd_error *err)
{
	const char *p = tail;

	if (!tail || !strcmp(tail, "all"))
		return 0;
	while (*p >= '0' && *p <= '9')
		p++;
	if (p == tail || *p || p - tail > 9)
		return vd_error_set(err, VD_EINVAL,
				    "logs: --tail '%s': give a number of lines or 'all'", tail);
	return 0;
}

/* Where the lines of one container go: split into whole lines, then to the
 * view under the service's index. */
struct sink {
	vd_logview *view;
	size_t service;
	vd_logs_lines lines;
};

static int on_lines(int stream, const char *lines, size_t len, void *ctx, vd_error *err)
{
	struct sink *s = ctx;

	return vd_logview_lines(s->view, s->service, lines, len, err);
}

static void sink_init(struct sink *s, vd_logview *view, size_t service)
{
	s->view = view;
	s->service = service;
	vd_logs_lines_init(&s->lines, 0, on_lines, s);
}

/* ------------------------------------------------------------ --deploy ID */

static int print_evidence(vd_cli *cli, const struct args *a, vd_error *err)
{
	vd_evidence ev = VD_EVIDENCE_INIT;
	vd_logview view;
	const char **names = NULL;
	size_t *items = NULL, n = 0, i, j;
	long tail = a->tail && strcmp(a->tail, "all") ? strtol(a->tail, NULL, 10) : -1;
	char *dir = vd_state_dir(cli->state_dir);
	int r;

	memset(&view, 0, sizeof(view));
	if (!dir)
		return vd_error_set(err, VD_ENOMEM, "out of memory");
	r = vd_evidence_load(dir, a->deploy, &ev, err);
	if (r == VD_ENOTFOUND) {
		vd_error_release(err);
		vd_print(cli->err, "voxdeploy: no evidence kept for deploy %s (it did not fail, or its "
			 "evidence was pruned: the newest %d are kept)\n", a->deploy, VD_EVIDENCE_KEEP);
		r = 0;
		goto done;
	}
	if (r)
		goto done;
	names = calloc(ev.len + 1, sizeof(*names));
	items = calloc(ev.len + 1, sizeof(*items));
	if (!names || !items) {
		r = vd_error_set(err, VD_ENOMEM, "out of memory");
		goto done;
	}
	for (i = 0; i < a->n_services; i++) {
		for (j = 0; j < ev.len && strcmp(ev.items[j].service, a->services[i]); j++)
			;
		if (j == ev.len) {
			vd_buf kept = VD_BUF_INIT;

			for (j = 0; j < ev.len; j++)
				vd_buf_printf(&kept, "%s%s", j ? ", " : "", ev.items[j].service);
			r = vd_error_set(err, VD_EINVAL, "logs: deploy %s kept no evidence of service '%s' "
					 "(it kept: %s)", a->deploy, a->services[i], vd_buf_cstr(&kept));
			vd_buf_release(&kept);
			goto done;
		}
	}
	for (j = 0; j < ev.len; j++) {
		for (i = 0; i < a->n_services && strcmp(ev.items[j].service, a->services[i]); i++)
			;
		if (a->n_services && i == a->n_services)
			continue;
		items[n] = j;
		names[n++] = ev.items[j].service;
	}
	if ((r = vd_logview_init(&view, cli->out, names, n, isatty(fileno(cli->out)), err)))
		goto done;
	for (i = 0; i < n && !r; i++) {
		const char *log = ev.items[items[i]].log ? ev.items[items[i]].log : "";

		if (tail >= 0)
			log = vd_evidence_tail(log, (size_t)tail);
		if (*log)
			r = vd_logview_lines(&view, i, log, strlen(log), err);
		if (!r && !*log)
			vd_print(cli->err, "voxdeploy: %s logged nothing before deploy %s failed\n",
				 names[i], a->deploy);
	}
	if (!r)
		r = vd_logview_flush(&view, true, err);
done:
	vd_logview_release(&view);
	vd_evidence_release(&ev);
	free(names);
	free(items);
	free(dir);
	return r;
}

/* ------------------------------------------------------------ the project */

struct service {
	const char *name;
	const vd_container_summary *container;  /* the one to read first, or NULL */
};

struct project {
	vd_project proj;
	vd_config_bundle b;
	vd_docker *d;
	vd_container_array list;
	struct service *services;
	size_t n;
};

static void project_release(struct project *p)
{
	free(p->services);
	vd_container_array_release(&p->list);
	vd_docker_free(p->d);
	vd_config_bundle_release(&p->b);
	vd_project_release(&p->proj);
}

static bool is_oneoff(const vd_kvs *labels)
{
	const char *v = vd_kvs_get(labels, LABEL_ONEOFF);

	return v && !strcasecmp(v, "true");
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && !strcmp(s + a - b, suffix);
}

/* Which of two containers of a service to read: the running one, the one
 * not set aside by a deploy, the newest. */
static bool better(const vd_container_summary *x, const vd_container_summary *y)
{
	bool xr = !strcmp(x->state, "running"), yr = !strcmp(y->state, "running");
	bool xa = ends_with(x->name, VD_SWAP_OLD_SUFFIX) || ends_with(x->name, VD_SWAP_NEW_SUFFIX);
	bool ya = ends_with(y->name, VD_SWAP_OLD_SUFFIX) || ends_with(y->name, VD_SWAP_NEW_SUFFIX);

	if (xr != yr)
		return xr;
	if (xa != ya)
		return !xa;
	return x->created > y->created;
}

static int add_service(struct project *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		if (!strcmp(p->services[i].name, name))
			return 0;
	p->services[p->n].name = name;
	p->services[p->n].container = NULL;
	p->n++;
	return 0;
}

/* A service's environment values named like secrets, and the project's
 * secret files, join the redactor's list: a container that logs its own
 * password shows ***. */
static void register_secrets(struct project *p)
{
	const vd_compose *c = p->b.model;
	vd_kvs env = { NULL, 0 };
	vd_error err = VD_ERROR_INIT;
	size_t i, j;

	for (i = 0; c && i < c->n_services; i++) {
		char what[512];

		if (vd_compose_service_env(&c->services[i], vd_env_lookup_process_then, &p->b.dotenv,
					   &env, &err)) {
			vd_error_release(&err);
			continue;
		}
		for (j = 0; j < env.len; j++)
			if (env.items[j].value && vd_secret_name(env.items[j].key)) {
				snprintf(what, sizeof(what), "%s of service %s", env.items[j].key,
					 c->services[i].name);
				vd_secret_add_named(what, env.items[j].value);
			}
		vd_kvs_release(&env);
	}
	for (i = 0; c && i < c->n_secrets; i++) {
		vd_buf text = VD_BUF_INIT;
		char buf[4096];
		size_t n;
		FILE *f = c->secrets[i].file ? fopen(c->secrets[i].file, "rb") : NULL;

		vd_buf_init(&text, 64 << 10);
		while (f && (n = fread(buf, 1, sizeof(buf), f)) > 0 && !vd_buf_put(&text, buf, n))
			;
		if (f)
			fclose(f);
		while (text.len && (text.ptr[text.len - 1] == '\n' || text.ptr[text.len - 1] == '\r'))
			text.ptr[--text.len] = '\0';
		if (text.len)
			vd_secret_add_named(c->secrets[i].key, vd_buf_cstr(&text));
		vd_buf_release(&text);
	}
}

/* The project, its services (those asked for, else all) and the container
 * of each to read. */
static int open_project(vd_cli *cli, const struct args *a, struct project *p, vd_error *err)
{
	char label[512];
	const char *pairs[] = { "label", label, NULL };
	const vd_compose *c;
	size_t i, j;
	int r;

	if ((r = vd_project_resolve(cli->dir, cli->compose_files, cli->n_compose_files, cli->project,
				    &p->proj, err)) ||
	    (r = vd_config_bundle_load(&p->proj, &p->b, err)))
		return r;
	c = p->b.model;
	register_secrets(p);
	if ((r = vd_cli_docker(cli, &p->d, err)))
		return r;
	snprintf(label, sizeof(label), LABEL_PROJECT "=%s", p->proj.name);
	if ((r = vd_container_list(p->d, true, pairs, &p->list, err)))
		return r;
	p->services = calloc((c ? c->n_services : 0) + p->list.len + a->n_services + 1,
			     sizeof(*p->services));
	if (!p->services)
		return vd_error_set(err, VD_ENOMEM, "out of memory");
	for (i = 0; i < a->n_services; i++) {
		const char *s = a->services[i];
		bool known = c ? vd_compose_service_find(c, s) != NULL : false;

		for (j = 0; !c && !known && j < p->list.len; j++) {
			const char *l = vd_kvs_get(&p->list.items[j].labels, LABEL_SERVICE);

			known = l && !strcmp(l, s);
		}
		if (!known) {
			vd_buf names = VD_BUF_INIT;

			for (j = 0; c && j < c->n_services; j++)
				vd_buf_printf(&names, "%s%s", j ? ", " : "", c->services[j].name);
			r = vd_error_set(err, VD_EINVAL, "logs: no service '%s' in project %s%s%s%s", s,
					 p->proj.name, names.len ? " (services: " : "",
					 vd_buf_cstr(&names), names.len ? ")" : "");
			vd_buf_release(&names);
			return r;
		}
		add_service(p, s);
	}
	if (!a->n_services && c) {
		for (i = 0; i < c->n_services; i++)
			add_service(p, c->services[i].name);
	} else if (!a->n_services) {
		for (i = 0; i < p->list.len; i++) {
			const char *l = vd_kvs_get(&p->list.items[i].labels, LABEL_SERVICE);

			if (l && !is_oneoff(&p->list.items[i].labels))
				add_service(p, l);
		}
	}
	for (i = 0; i < p->list.len; i++) {
		const vd_container_summary *x = &p->list.items[i];
		const char *l = vd_kvs_get(&x->labels, LABEL_SERVICE);

		if (!l || is_oneoff(&x->labels))
			continue;
		for (j = 0; j < p->n; j++)
			if (!strcmp(p->services[j].name, l) &&
			    (!p->services[j].container || better(x, p->services[j].container)))
				p->services[j].container = x;
	}
	return 0;
}

/* --------------------------------------------------------------- reading */

static int read_all(vd_cli *cli, struct project *p, const vd_logs_opts *lo, vd_logview *view,
		    vd_error *err)
{
	size_t i;
	int r = 0;

	for (i = 0; i < p->n && !r; i++) {
		struct sink s;

		if (!p->services[i].container) {
			vd_print(cli->err, "voxdeploy: service %s has no container\n", p->services[i].name);
			continue;
		}
		sink_init(&s, view, i);
		r = vd_logs_read(p->d, p->services[i].container->id, lo, vd_logs_lines_feed, &s.lines, err);
		if (!r)
			r = vd_logs_lines_finish(&s.lines, err);
		vd_logs_lines_release(&s.lines);
		if (r == VD_ENOTFOUND) {
			/* removed since the list (a deploy's old container) */
			vd_print(cli->err, "voxdeploy: %s: %s\n", p->services[i].name, vd_error_msg(err));
			vd_error_release(err);
			r = 0;
		}
		if (!r)
			r = vd_logview_flush(view, false, err);
	}
	if (!r)
		r = vd_logview_flush(view, true, err);
	return r;
}

/* ----------------------------------------------------------------- -f */

struct follower {
	char *id;
	struct sink sink;
	vd_logs_reader *reader;
	char since[48];
};

struct follow {
	vd_cli *cli;
	struct project *p;
	const vd_logs_opts *lo;
	vd_logview *view;
	struct follower *f[MAX_FOLLOWERS];
	size_t n;
	char **seen;            /* every container followed so far */
	size_t n_seen;
	double t0;              /* unix seconds when following began (minus a margin) */
	vd_events_parser events;
	vd_docker_req ev_req;
	vd_docker_stream *ev;
	vd_buf ev_query, ev_filters;
	int ev_error;           /* the events stream failed: follow what runs, no more */
	vd_error *err;
};

static void follower_free(struct follower *f)
{
	if (!f)
		return;
	vd_logs_reader_free(f->reader);
	vd_logs_lines_release(&f->sink.lines);
	free(f->id);
	free(f);
}

static bool following(const struct follow *fw, const char *id)
{
	size_t i;

	for (i = 0; i < fw->n; i++)
		if (!strcmp(fw->f[i]->id, id))
			return true;
	return false;
}

static bool seen(const struct follow *fw, const char *id)
{
	size_t i;

	for (i = 0; i < fw->n_seen; i++)
		if (!strcmp(fw->seen[i], id))
			return true;
	return false;
}

static int remember(struct follow *fw, const char *id)
{
	char **n;

	if (seen(fw, id))
		return 0;
	n = realloc(fw->seen, (fw->n_seen + 1) * sizeof(*n));
	if (!n)
		return VD_ENOMEM;
	fw->seen = n;
	if (!(fw->seen[fw->n_seen] = strdup(id)))
		return VD_ENOMEM;
	fw->n_seen++;
	return 0;
}

/* "sec.nanos" of the later of two engine times (either may be ""). */
static const char *later(const char *a, const char *b)
{
	if (!*a)
		return b;
	if (!*b)
		return a;
	return strtod(a, NULL) >= strtod(b, NULL) ? a : b;
}

/* Start following container id of service i.  from_start: a container met
 * while following: no --tail; all its lines when it was made after
 * following began and is met for the first time, else those of this run
 * (since its last run ended), so that no line is printed twice. */
static int follow_add(struct follow *fw, size_t i, const char *id, bool from_start, vd_error *err)
{
	struct follower *f;
	vd_container_info info;
	vd_logs_opts lo = *fw->lo;
	char since[48] = "";
	bool met_before;
	int r;

	if (fw->n == MAX_FOLLOWERS || following(fw, id))
		return 0;
	memset(&info, 0, sizeof(info));
	if ((r = vd_container_inspect(fw->p->d, id, &info, err)))
		return r;
	met_before = seen(fw, info.id);
	f = calloc(1, sizeof(*f));
	if (!f || !(f->id = strdup(info.id)) || remember(fw, info.id)) {
		follower_free(f);
		vd_container_info_release(&info);
		return vd_error_set(err, VD_ENOMEM, "out of memory");
	}
	if (from_start) {
		const char *created = vd_json_str(info.raw, "Created");
		char t[48];
		vd_error ignore = VD_ERROR_INIT;

		if (!met_before && created && !vd_logs_parse_time(created, 0, t, &ignore) &&
		    strtod(t, NULL) >= fw->t0)
			since[0] = '\0';  /* made after we began: all of it is new */
		else if (info.running && info.finished_at &&
			 !vd_logs_parse_time(info.finished_at, 0, t, &ignore) && strtod(t, NULL) > 0)
			snprintf(since, sizeof(since), "%s", t);  /* after its last run */
		else if (!info.running && info.started_at &&
			 !vd_logs_parse_time(info.started_at, 0, t, &ignore))
			snprintf(since, sizeof(since), "%s", t);  /* it ran and stopped again */
		vd_error_release(&ignore);
		lo.tail = NULL;
	}
	snprintf(f->since, sizeof(f->since), "%s", later(since, lo.since ? lo.since : ""));
	lo.since = f->since[0] ? f->since : NULL;
	lo.follow = true;
	lo.tty_known = true;
	lo.tty = info.tty;
	lo.idle_timeout_ms = FOLLOW_IDLE_MS;
	sink_init(&f->sink, fw->view, i);
	r = vd_logs_reader_open(fw->p->d, f->id, &lo, vd_logs_lines_feed, &f->sink.lines, &f->reader,
				err);
	vd_container_info_release(&info);
	if (r) {
		follower_free(f);
		return r;
	}
	fw->f[fw->n++] = f;
	return 0;
}

static int on_event(const vd_event *ev, void *ctx, vd_error *err)
{
	struct follow *fw = ctx;
	const char *service = vd_event_attr(ev, LABEL_SERVICE);
	const char *oneoff = vd_event_attr(ev, LABEL_ONEOFF);
	size_t i;
	int r;

	if (!service || !ev->actor_id || (oneoff && !strcasecmp(oneoff, "true")) ||
	    following(fw, ev->actor_id))
		return 0;
	for (i = 0; i < fw->p->n && strcmp(fw->p->services[i].name, service); i++)
		;
	if (i == fw->p->n)
		return 0;
	r = follow_add(fw, i, ev->actor_id, true, err);
	if (r == VD_ENOTFOUND) {
		/* gone again before we looked */
		vd_error_release(err);
		r = 0;
	}
	return r;
}

static int on_event_data(const char *data, size_t len, void *ctx, vd_error *err)
{
	struct follow *fw = ctx;

	return vd_events_parser_feed(&fw->events, data, len, err);
}

/* Every container of the services that starts from t0 on. */
static int open_events(struct follow *fw, vd_error *err)
{
	char t[32], label[512];
	const char *pairs[] = { "type", "container", "event", "start", "label", label, NULL };
	int r;

	snprintf(label, sizeof(label), LABEL_PROJECT "=%s", fw->p->proj.name);
	vd_events_parser_init(&fw->events, 0, on_event, fw);
	vd_buf_init(&fw->ev_query, 1 << 16);
	vd_buf_init(&fw->ev_filters, 1 << 16);
	r = vd_docker_filters_json(&fw->ev_filters, pairs);
	if (!r)
		r = vd_docker_query_add(&fw->ev_query, "since", vd_events_timestamp(fw->t0, t));
	if (!r)
		r = vd_docker_query_add(&fw->ev_query, "filters", vd_buf_cstr(&fw->ev_filters));
	if (r)
		return vd_error_set(err, VD_ENOMEM, "out of memory");
	fw->ev_req.method = "GET";
	fw->ev_req.path = "/events";
	fw->ev_req.query = vd_buf_cstr(&fw->ev_query);
	fw->ev_req.on_data = on_event_data;
	fw->ev_req.ctx = fw;
	fw->ev_req.idle_timeout_ms = FOLLOW_IDLE_MS;
	r = vd_docker_stream_open(fw->p->d, &fw->ev_req, &fw->ev, err);
	return r ? vd_error_prefix(err, "events") : 0;
}

static void note_end(struct follow *fw, size_t k, int r, vd_error *e)
{
	struct follower *f = fw->f[k];

	if (r < 0 && r != VD_ENOTFOUND)
		vd_print(fw->cli->err, "voxdeploy: %s: %s\n", fw->p->services[f->sink.service].name,
			 vd_error_msg(e));
}

static int follow_run(struct follow *fw, vd_error *err)
{
	struct pollfd fds[MAX_FOLLOWERS * 4 + 8];
	vd_deadline quiet = vd_deadline_in(FOLLOW_WAIT_MS);
	int r = 0;

	while (!r) {
		size_t n = 0, k;
		long wait = 1000;
		int pr;

		if (fw->n)
			quiet = vd_deadline_in(FOLLOW_WAIT_MS);
		else if (vd_deadline_expired(quiet) || fw->ev_error)
			break;
		for (k = 0; k < fw->n; k++) {
			size_t m = vd_logs_reader_pollfds(fw->f[k]->reader, fds + n, 4);
			long t = vd_logs_reader_timeout(fw->f[k]->reader);

			n += m;
			if (t < wait)
				wait = t;
		}
		if (fw->ev && !fw->ev_error) {
			size_t m = vd_docker_stream_pollfds(fw->ev, fds + n, 4);
			long t = vd_docker_stream_timeout(fw->ev);

			n += m;
			if (t < wait)
				wait = t;
		}
		pr = poll(fds, n, (int)(wait < 0 ? 0 : wait));
		if (pr < 0 && errno != EINTR)
			return vd_error_set(err, VD_EIO, "poll: %s", strerror(errno));
		for (k = 0; k < fw->n;) {
			struct follower *f = fw->f[k];
			vd_error e = VD_ERROR_INIT;
			int fr = vd_logs_reader_perform(f->reader, fds, n, &e);

			if (fr) {
				/* the container stopped (or its stream broke): what
				 * it logged last, then wait for the next start */
				if (vd_logs_lines_finish(&f->sink.lines, &e) && fr > 0)
					fr = e.code;
				note_end(fw, k, fr, &e);
				follower_free(f);
				fw->f[k] = fw->f[--fw->n];
			} else {
				k++;
			}
			vd_error_release(&e);
		}
		if (fw->ev && !fw->ev_error) {
			vd_error e = VD_ERROR_INIT;
			int er = vd_docker_stream_perform(fw->ev, fds, n, &e);

			if (er < 0 && e.code != VD_ENOMEM && !fw->n) {
				r = vd_error_set(err, er, "events: %s", vd_error_msg(&e));
			} else if (er) {
				/* without events no new container is found: follow
				 * those that run to their end */
				vd_print(fw->cli->err, "voxdeploy: no more events (%s): following the "
					 "running containers to their end\n",
					 er < 0 ? vd_error_msg(&e) : "the engine closed the stream");
				fw->ev_error = er < 0 ? er : VD_EAPI;
			}
			vd_error_release(&e);
		}
		if (!r)
			r = vd_logview_flush(fw->view, true, err);
	}
	return r;
}

static int follow_all(vd_cli *cli, struct project *p, const vd_logs_opts *lo, vd_logview *view,
		      vd_error *err)
{
	struct follow fw;
	size_t i;
	int r;

	memset(&fw, 0, sizeof(fw));
	fw.cli = cli;
	fw.p = p;
	fw.lo = lo;
	fw.view = view;
	fw.err = err;
	/* a container that starts between the list and the events stream is
	 * still seen: the stream begins a little before now */
	fw.t0 = vd_events_now() - 2.0;
	r = open_events(&fw, err);
	for (i = 0; i < p->n && !r; i++) {
		if (!p->services[i].container) {
			vd_print(cli->err, "voxdeploy: service %s has no container yet: waiting for one\n",
				 p->services[i].name);
			continue;
		}
		r = follow_add(&fw, i, p->services[i].container->id, false, err);
		if (r == VD_ENOTFOUND) {
			vd_error_release(err);
			r = 0;
		}
	}
	if (!r)
		r = follow_run(&fw, err);
	if (!r && !fw.n)
		vd_print(cli->err, "voxdeploy: no container of %s has run for %d minutes: done\n",
			 p->n == 1 ? p->services[0].name : "the services", FOLLOW_WAIT_MS / 60000);
	for (i = 0; i < fw.n; i++)
		follower_free(fw.f[i]);
	for (i = 0; i < fw.n_seen; i++)
		free(fw.seen[i]);
	free(fw.seen);
	vd_docker_stream_free(fw.ev);
	vd_events_parser_release(&fw.events);
	vd_buf_release(&fw.ev_query);
	vd_buf_release(&fw.ev_filters);
	return r;
}

/* --------------------------------------------------------------- command */

int vd_cmd_logs(vd_cli *cli)
{
	vd_error err = VD_ERROR_INIT;
	struct args a;
	struct project p;
	vd_logview view;
	vd_logs_opts lo = VD_LOGS_OPTS_INIT;
	char since[48], until[48];
	const char **names = NULL;
	size_t i;
	int rc = VD_EXIT_OK;

	memset(&a, 0, sizeof(a));
	memset(&p, 0, sizeof(p));
	memset(&view, 0, sizeof(view));
	if (vd_cli_wants_help(cli)) {
		usage(cli->out);
		return VD_EXIT_OK;
	}
	if (parse_args(cli, &a, &err) || check_tail(a.tail, &err))
		goto fail;
	if (cli->json) {
		vd_error_set(&err, VD_EINVAL, "logs: no --json form (log lines are text)");
		goto fail;
	}
	if (a.since && vd_logs_parse_time(a.since, vd_events_now(), since, &err)) {
		vd_error_prefix(&err, "logs: --since");
		goto fail;
	}
	if (a.until && vd_logs_parse_time(a.until, vd_events_now(), until, &err)) {
		vd_error_prefix(&err, "logs: --until");
		goto fail;
	}
	if (a.deploy) {
		if (a.follow || a.since || a.until || a.timestamps) {
			vd_error_set(&err, VD_EINVAL, "logs: --deploy prints kept lines: no -f, --since, "
				     "--until or -t with it");
			goto fail;
		}
		if (print_evidence(cli, &a, &err))
			goto fail;
		goto done;
	}
	if (open_project(cli, &a, &p, &err))
		goto fail;
	names = calloc(p.n + 1, sizeof(*names));
	if (!names) {
		vd_error_set(&err, VD_ENOMEM, "out of memory");
		goto fail;
	}
	for (i = 0; i < p.n; i++)
		names[i] = p.services[i].name;
	if (vd_logview_init(&view, cli->out, names, p.n, isatty(fileno(cli->out)), &err))
		goto fail;
	lo.tail = a.tail;
	lo.since = a.since ? since : NULL;
	lo.until = a.until ? until : NULL;
	lo.timestamps = a.timestamps;
	if (!p.n)
		vd_print(cli->err, "voxdeploy: project %s has no services\n", p.proj.name);
	else if (a.follow ? follow_all(cli, &p, &lo, &view, &err) : read_all(cli, &p, &lo, &view, &err))
		goto fail;
	goto done;
fail:
	rc = vd_cli_fail(cli, &err);
done:
	vd_logview_flush(&view, true, NULL);
	vd_logview_release(&view);
	free(names);
	free(a.services);
	project_release(&p);
	vd_error_release(&err);
	return rc;
}
