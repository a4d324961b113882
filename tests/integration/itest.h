/* voxdeploy integration tests: shared set-up against the real engine.
 *
 * Every resource a test makes carries the label io.voxdeploy.test=1 and the
 * compose project label of this run (itest_project()), so that
 * itest_cleanup() — called from each test group's teardown, and tests/run
 * at the very end — removes exactly what the tests made, pass or fail.
 */
#ifndef VD_TESTS_ITEST_H
#define VD_TESTS_ITEST_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "docker_api/docker.h"
#include "docker_api/container.h"

/* A connected client (the engine from DOCKER_HOST or the default socket);
 * fails the test run with a clear message when no engine answers. */
vd_docker *itest_docker(void);
/* A project name unique to this process: "vdit<pid>x<time>". */
const char *itest_project(void);
/* The fixture images tests/fixtures/build-images makes. */
const char *itest_busybox_image(void);
const char *itest_postgres_image(void);

/* A create body for a busybox container running `sh -c script`, labelled
 * for cleanup; extra_config is spliced into Config (may be NULL, else a
 * JSON fragment like "\"Healthcheck\":{...}"). Caller frees. */
char *itest_body(const char *script, const char *extra_config);
/* The same for a container of a compose service of this run's project
 * (the service and oneoff labels too); service NULL: itest_body. */
char *itest_service_body(const char *service, const char *script, const char *extra_config);
/* Create a labelled busybox container named <project>_<suffix>; returns id. */
char *itest_create(const char *suffix, const char *script, const char *extra_config);

/* Create and start `web`: busybox httpd answering /health with "ok" on
 * 127.0.0.1:port, with a HEALTHCHECK every 0.5 s; returns its id. */
char *itest_web(int port);

/* Run the binary as `VD_BINARY [-C dir] args` through /bin/sh (args is a
 * shell command line; dir may be NULL), its stdout and stderr together into
 * out (cut to outsz - 1 bytes): the shell's exit code (128 + N when signal N
 * ended the binary), -1 when a signal ended the shell. */
int itest_run(const char *dir, const char *args, char *out, size_t outsz);

/* The major version of the compose that `CMD version --short` names
 * ("1.29.2" 1, "2.26.1" or "v2.29.7" 2); 0 when it does not answer. */
int itest_compose_major(const char *cmd);

/* Remove every container, network and volume labelled for this run. */
/* What an end-to-end test's project left, through the engine's own CLI
 * (clean-up only): its containers with their anonymous volumes, the
 * network <project>_default, the volume <project>_pgdata, the images
 * <project>-app and <project>_app and dangling test-labelled build layers. */
void itest_remove_project(const char *project);
void itest_cleanup(void);
int itest_group_teardown(void **state);

/* Fail the test with the error's message when r != 0. */
#define itest_ok(r, err) \
	do { \
		int r_ = (r); \
		if (r_) \
			fail_msg("%s:%d: %d %s", __FILE__, __LINE__, r_, vd_error_msg(err)); \
	} while (0)

#endif
