/* voxdeploy tests: helpers the unit and the integration tests share.
 *
 * Files and temporary directories; loopback TCP, raw HTTP and requests
 * through libcurl; a webhook receiver; running a program with its output in
 * files.  Each helper fails the running cmocka test when what it must do
 * cannot be done, unless it says otherwise.
 */
#ifndef VD_TESTS_TESTUTIL_H
#define VD_TESTS_TESTUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/buf.h"
#include "common/json.h"

/* A new directory /tmp/vd-NAME-XXXXXX; its path (caller frees). */
char *tu_mkdtemp(const char *name);
/* Remove path and everything below it, following no link: 0, also when
 * there was nothing; -1 when something could not be removed. */
int tu_rm_rf(const char *path);
/* The directory DIR/NAME with exactly mode (the umask aside). */
void tu_mkdir(const char *dir, const char *name, mode_t mode);

/* Write DIR/NAME anew: len bytes of data, a string, or printf's output. */
void tu_write(const char *dir, const char *name, const void *data, size_t len);
void tu_write_str(const char *dir, const char *name, const char *text);
void tu_write_fmt(const char *dir, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The whole of a file, NUL-terminated (caller frees); NULL when it cannot
 * be read. */
char *tu_read_file(const char *path);
/* DIR/NAME read whole (a recorded answer); the test fails when it cannot
 * be read.  Caller frees. */
char *tu_read_data(const char *dir, const char *name);
/* The same, but "" when it cannot be read: what a process has written so
 * far, where it may not have written yet. */
char *tu_slurp(const char *path);

/* The member of v at a path of keys (the variable arguments, NULL-ended)
 * must be `want` as compact JSON — or, when want is "absent", missing; the
 * test fails saying what it found. */
void tu_assert_json_at(yajl_val v, const char *want, ...);

/* A TCP port on 127.0.0.1 that nothing listens on now (bound, then closed). */
uint16_t tu_free_port(void);
/* A socket listening on 127.0.0.1 at a port of the kernel's choice, which
 * goes into *port; the kernel completes up to 16 connections unaccepted. */
int tu_listen(uint16_t *port);
/* A socket connected to 127.0.0.1:port. */
int tu_connect(uint16_t port);
/* A webhook receiver: a thread accepts on 127.0.0.1:port, keeps each whole
 * request (headers and body; the first 64) and answers 200. */
typedef struct tu_hook {
	int fd;
	uint16_t port;
	pthread_t thread;
	pthread_mutex_t lock;
	char *requests[64];
	int n;
} tu_hook;

#define TU_HOOK_INIT { .fd = -1, .lock = PTHREAD_MUTEX_INITIALIZER }

void tu_hook_start(tu_hook *h);
/* How many requests have come, and the last one (caller frees; NULL when
 * none). */
int tu_hook_last(tu_hook *h, char **last);
/* Stop the thread, free what it kept. */
void tu_hook_stop(tu_hook *h);
/* Whether the peer hangs up on fd (or resets it) within timeout_ms; a byte
 * it sends instead is read and dropped, and the answer is no. */
bool tu_peer_closed(int fd, int timeout_ms);
/* Send all n bytes, or as many as the peer takes before it goes. */
void tu_send_all(int fd, const void *data, size_t n);
/* Send len raw bytes to 127.0.0.1:port (the server may close before it has
 * taken them all), shut the sending side, and read until the server closes
 * or 5 s pass.  The answer's status: 0 when it has none, -1 when nothing
 * took the connection.  The answer in *answer (what it held is freed; the
 * caller frees) unless answer is NULL. */
int tu_http_raw(uint16_t port, const char *req, size_t len, char **answer);
/* Ask 127.0.0.1:port for GET /healthz until something takes the connection,
 * at most timeout_ms: the status as tu_http_raw gives it. */
int tu_http_wait(uint16_t port, int timeout_ms);

/* libcurl's write callback: appends to the vd_buf the user data points to. */
size_t tu_curl_to_buf(char *data, size_t size, size_t n, void *buf);
/* METHOD http://127.0.0.1:port/PATH through libcurl, with one more header
 * line (or NULL), taking at most timeout_s: the answer's status, 0 when
 * none came; its body in *body, cleared first. */
long tu_http_request(uint16_t port, const char *method, const char *path, const char *header,
		     long timeout_s, vd_buf *body);

/* A program to run. */
struct tu_proc {
	const char *const *argv;  /* argv[0] is its path; NULL-terminated */
	const char *cwd;          /* where it runs; NULL: here */
	const char *out;          /* its stdout into this file, made anew; NULL: ours */
	const char *err;          /* its stderr likewise; out's name: into the same file */
	const char *const *env;   /* our environment changed in order, "K=V" setting and
				   * "K" unsetting; NULL-terminated, or NULL */
	bool null_stdin;          /* its stdin from /dev/null, not ours */
};

/* Start it: its pid. */
pid_t tu_spawn(const struct tu_proc *p);
/* Wait for pid to end, at most timeout_s (0: however long it takes); past
 * that kill it and fail the test, naming what.  The status from waitpid. */
int tu_wait(pid_t pid, int timeout_s, const char *what);
/* Wait until the file at path holds needle, at most timeout_ms: its text
 * then, or the last one read (caller frees). */
char *tu_wait_for_text(const char *path, const char *needle, int timeout_ms);

#endif
