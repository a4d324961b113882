/* The test stacks' PostgreSQL from the tests' side (itest_pg.h). */
#include "itest_pg.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

PGconn *itest_pg_connect(int port, const char *password)
{
	char conninfo[256];
	PGconn *c;
	int tries;

	snprintf(conninfo, sizeof(conninfo),
		 "host=127.0.0.1 port=%d user=vd password=%s dbname=vd connect_timeout=5", port, password);
	for (tries = 0; tries < 150; tries++) {
		c = PQconnectdb(conninfo);
		if (PQstatus(c) == CONNECTION_OK)
			return c;
		PQfinish(c);
		usleep(100 * 1000);
	}
	fail_msg("cannot connect to PostgreSQL on port %d", port);
	return NULL;
}

long itest_pg_count(int port, const char *password, const char *query)
{
	PGconn *c = itest_pg_connect(port, password);
	PGresult *r = PQexec(c, query);
	long n;

	assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
	n = atol(PQgetvalue(r, 0, 0));
	PQclear(r);
	PQfinish(c);
	return n;
}
