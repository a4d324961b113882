/* The serve endpoint's request handling, in process: the server runs in this
 * process on a loopback port (with a token, so authorisation is exercised),
 * each input is sent as the raw bytes of one HTTP connection and the answer
 * read to the end (or until it stalls for 50 ms: an incomplete request waits
 * for the server's idle timeout, which is no finding).  The input's first line is also tried as a --listen value. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/json.h"
#include "controller/journal.h"
#include "controller/serve.h"
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	const uint8_t *nl = memchr(data, '\n', size);
	char *line = fuzz_cstr(data, nl ? (size_t)(nl - data) : size);

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
	if (ready > 0)
		exchange(data, size);
	return 0;
}
