/* The serve endpoint's request handling.  Each input is the raw bytes of one
 * HTTP request.  In process, it is read the way the HTTP layer reads it (the
 * request line, headers, the query split into unescaped arguments) and handed
 * to vd_serve_handle, both looks, as libmicrohttpd would: path dispatch, the
 * bearer token, the query values, the journal and metrics answers, the
 * status page, and a POST's form at /login.  One
 * input in 256 (by its bytes, so a finding replays) also goes over the wire
 * to the real server on a loopback port, answers read to the end or until
 * they stall for 50 ms (an incomplete request waits for the server's idle
 * timeout, which is no finding).  The first line is also tried as a --listen
 * value. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/json.h"
#include "controller/state/journal.h"
#include "controller/serve/serve.h"
#include "fuzz.h"

static vd_serve *srv;
static uint16_t port;
static char state_dir[] = "/tmp/vd-fuzz-serve.XXXXXX";

static int report(void *ctx, vd_buf *out, vd_error *err)
{
	(void)ctx;
	(void)err;
	return vd_buf_puts(out, "{\"healthy\":false,\"probes\":[{\"service\":\"db\",\"name\":\"pg\","
			   "\"status\":\"fail\",\"latency_ms\":3}]}") ? VD_ENOMEM : VD_EUNHEALTHY;
}

static int ping(void *ctx, vd_error *err)
{
	(void)ctx;
	(void)err;
	return 0;
}

static void cleanup(void)
{
	char path[sizeof(state_dir) + 32];

	vd_serve_stop(srv);
	snprintf(path, sizeof(path), "%s/journal.jsonl", state_dir);
	unlink(path);
	rmdir(state_dir);
}

static int start(void)
{
	static vd_serve_options o = { "127.0.0.1:0", "fuzz-token", NULL, 60000, report, ping, NULL };
	vd_error err = VD_ERROR_INIT;
	vd_journal j = VD_JOURNAL_INIT;
	vd_kvs f = { NULL, 0 };

	if (!mkdtemp(state_dir))
		return -1;
	o.state_dir = state_dir;
	o.login_pause_ms = -1;  /* a wrong token at /login answers at once */
	if (vd_journal_open(state_dir, "d1", &j, &err))
		return -1;
	vd_kvs_add(&f, "type", "APP_ONLY");
	vd_kvs_add(&f, "duration_ms", "42000");
	vd_journal_write(&j, "deploy", "begin", NULL, &err);
	vd_journal_write(&j, "deploy", "done", &f, &err);
	vd_journal_write(&j, "rollback", "done", NULL, &err);
	vd_kvs_release(&f);
	vd_journal_close(&j);
	if (vd_serve_start(&o, &srv, &err)) {
		fprintf(stderr, "fuzz_serve: %s\n", vd_error_msg(&err));
		return -1;
	}
	port = vd_serve_port(srv);
	atexit(cleanup);
	return 0;
}

static void exchange(const uint8_t *data, size_t size)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	char buf[4096];

	if (fd < 0)
		return;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0) {
		size_t off = 0;

		while (off < size) {
			ssize_t n = send(fd, data + off, size - off, MSG_NOSIGNAL);

			if (n <= 0)
				break;
			off += (size_t)n;
		}
		shutdown(fd, SHUT_WR);
		for (;;) {
			struct pollfd p = { fd, POLLIN, 0 };

			if (poll(&p, 1, 50) <= 0 || recv(fd, buf, sizeof(buf), 0) <= 0)
				break;
		}
	}
	close(fd);
}

/* --- the request, read as the HTTP layer reads it ---------------------------- */

#define MAX_FIELDS 32

struct request {
	char *names[MAX_FIELDS], *values[MAX_FIELDS];
	size_t n;
	char *args[MAX_FIELDS], *arg_values[MAX_FIELDS];
	size_t nargs;
};

static const char *lookup(char **names, char **values, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcasecmp(names[i], name))
			return values[i];
	return NULL;
}

static const char *header(void *ctx, const char *name)
{
	struct request *r = ctx;

	return lookup(r->names, r->values, r->n, name);
}

static const char *arg(void *ctx, const char *name)
{
	struct request *r = ctx;

	for (size_t i = 0; i < r->nargs; i++)
		if (!strcmp(r->args[i], name))
			return r->arg_values[i];
	return NULL;
}

/* "a=1&b&c=%41": each argument's name and value unescaped */
static void split_query(char *q, struct request *r)
{
	char *save = NULL;

	for (char *kv = strtok_r(q, "&", &save); kv && r->nargs < MAX_FIELDS; kv = strtok_r(NULL, "&", &save)) {
		char *eq = strchr(kv, '=');

		if (eq)
			*eq++ = '\0';
		vd_serve_unescape(kv);
		if (eq)
			vd_serve_unescape(eq);
		r->args[r->nargs] = kv;
		r->arg_values[r->nargs++] = eq ? eq : "";
	}
}

static void in_process(char *text, const char *body)
{
	struct request r = { .n = 0 };
	char *line, *save = NULL, *method, *target, *version, *q;
	vd_serve_request rq = { .header = header, .arg = arg, .ctx = &r };
	vd_serve_answer a = VD_SERVE_ANSWER_INIT;

	line = strtok_r(text, "\r\n", &save);
	if (!line || !(method = strtok_r(line, " ", &q)) || !(target = strtok_r(NULL, " ", &q)))
		return;
	version = strtok_r(NULL, " ", &q);
	while (r.n < MAX_FIELDS && (line = strtok_r(NULL, "\r\n", &save))) {
		char *colon = strchr(line, ':');

		if (!colon)
			break;
		*colon++ = '\0';
		while (*colon == ' ' || *colon == '\t')
			colon++;
		r.names[r.n] = line;
		r.values[r.n++] = colon;
	}
	if ((q = strchr(target, '?'))) {
		*q++ = '\0';
		split_query(q, &r);
	}
	vd_serve_unescape(target);
	rq.method = method;
	rq.version = version ? version : "HTTP/1.0";
	rq.path = target;
	rq.headers_only = true;
	if (!vd_serve_handle(srv, &rq, &a)) {
		rq.headers_only = false;
		rq.has_body = body && *body;
		/* a POST's body is read whole first (a login form) */
		if (!strcmp(method, "POST")) {
			rq.has_body = false;
			rq.body = body ? body : "";
			rq.body_len = strlen(rq.body);
		}
		(void)vd_serve_handle(srv, &rq, &a);
	}
	vd_serve_answer_release(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	const uint8_t *nl = memchr(data, '\n', size);
	char *line = fuzz_cstr(data, nl ? (size_t)(nl - data) : size);
	char *text = fuzz_cstr(data, size);
	uint32_t h = 2166136261u;

	if (!ready)
		ready = start() ? -1 : 1;
	if (line) {
		char addr[128];
		uint16_t p;
		bool loop;
		vd_error err = VD_ERROR_INIT;

		(void)vd_serve_parse_listen(line, addr, sizeof(addr), &p, &loop, &err);
		vd_error_release(&err);
		free(line);
	}
	if (ready > 0 && text) {
		const char *end = strstr(text, "\r\n\r\n");
		char *body = end ? strdup(end + 4) : NULL;  /* in_process cuts text up */

		in_process(text, body);
		free(body);
	}
	free(text);
	for (size_t i = 0; i < size; i++)
		h = (h ^ data[i]) * 16777619u;
	if (ready > 0 && (h & 255) == 0)
		exchange(data, size);
	return 0;
}
