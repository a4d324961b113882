/* voxdeploy integration tests — the test stacks' PostgreSQL, as the tests'
 * own client sees it (libpq, user and database "vd" on 127.0.0.1). */
#ifndef VD_TESTS_ITEST_PG_H
#define VD_TESTS_ITEST_PG_H

#include <libpq-fe.h>

/* A connection, retried every 100 ms for 15 s while the server starts; the
 * test fails when none comes. */
PGconn *itest_pg_connect(int port, const char *password);

/* The single number a query such as "SELECT count(*) FROM notes" answers. */
long itest_pg_count(int port, const char *password, const char *query);

#endif
