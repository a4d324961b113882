/* Test helper: a fake Docker engine on a unix socket (a thread of the test)
 * that misbehaves on request, and running the real voxdeploy binary in a
 * project directory with its output captured. */
#ifndef VD_TESTS_FAKEENGINE_H
#define VD_TESTS_FAKEENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <sys/types.h>

enum mode {
	E_NONE,       /* no engine at all (the socket path does not exist) */
	E_OK,         /* a sane, empty engine */
	E_GARBAGE,    /* answers bytes that are no HTTP */
	E_HANGUP,     /* closes every connection without a word */
	E_TRUNCATED,  /* pings fine, then cuts the answer short */
	E_STALL,      /* accepts and never answers */
	E_STALL_LATE, /* pings fine, then never answers */
	E_500,        /* every request: 500 with an engine message */
	E_500_LATE,   /* pings fine, then 500 */
	E_HUGE,       /* pings fine, then a body without end */
	E_BADJSON,    /* pings fine, then 200 with text that is no JSON */
	E_OLDAPI,     /* an engine that speaks only API 1.12 */
};

struct engine {
	enum mode mode;
	char path[108];
	int lfd;
	pthread_t th;
	volatile bool stop;
	int held[64];          /* stalled connections, closed at the end */
	int n_held;
};

struct run {
	int status;       /* from waitpid */
	char *out, *err;  /* what it printed */
	double seconds;
};

/* Start the fake engine at DIR/engine.sock (E_NONE: nothing listens there). */
void engine_start(struct engine *e, enum mode mode, const char *dir);
void engine_stop(struct engine *e);

/* Run the binary (VD_BINARY) in DIR/proj with argv (NULL-terminated; "@HOST"
 * becomes the fake engine's unix:// address) and extra "K=V" environment
 * entries; VOXDEPLOY_STATE_DIR is DIR/state, VOXDEPLOY_API_TIMEOUT 1s and
 * DOCKER_HOST unset.  Kills it and fails after timeout_s. */
void run_vd(const char *dir, const struct engine *e, const char *const *argv,
	    const char *const *env, int timeout_s, struct run *r);
/* Start it the same way without waiting for it, its stdout into DIR/OUT and
 * its stderr into DIR/ERR (OUT's name: the same file): its pid. */
pid_t start_vd(const char *dir, const struct engine *e, const char *const *argv,
	       const char *const *env, const char *out, const char *err);
void run_release(struct run *r);

#endif
