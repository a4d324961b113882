/* Unit tests: reading a container's HEALTHCHECK from its inspect the way the
 * engine runs it (CMD, CMD-SHELL through Config.Shell or /bin/sh -c, user,
 * working directory, timeout), judging a finished own run, and how a
 * container probe's result carries the engine's status and the own run into
 * the report.  Needs nothing running. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/log.h"
#include "health/owncheck.h"
#include "health/report.h"

static yajl_val parse(const char *json)
{
	vd_error err = VD_ERROR_INIT;
	yajl_val v = vd_json_parse(json, &err);

	assert_non_null(v);
	vd_error_release(&err);
	return v;
}

static int read_cmd(const char *json, vd_owncheck_cmd *c)
{
	vd_error err = VD_ERROR_INIT;
	yajl_val v = parse(json);
	int r = vd_owncheck_cmd_from_inspect(v, c, &err);

	if (r)
		assert_non_null(strstr(vd_error_msg(&err), "HEALTHCHECK"));
	yajl_tree_free(v);
	vd_error_release(&err);
	return r;
}

static void owncheck__cmd_is_argv(void **state)
{
	vd_owncheck_cmd c;

	(void)state;
	assert_int_equal(read_cmd("{\"Config\":{\"User\":\"1000:1000\",\"WorkingDir\":\"/app\","
				  "\"Healthcheck\":{\"Test\":[\"CMD\",\"pg_isready\",\"-U\",\"vox\"],"
				  "\"Interval\":30000000000,\"Timeout\":5000000000}}}", &c), 0);
	assert_false(c.shell);
	assert_string_equal(c.argv[0], "pg_isready");
	assert_string_equal(c.argv[2], "vox");
	assert_null(c.argv[3]);
	assert_string_equal(c.user, "1000:1000");
	assert_string_equal(c.working_dir, "/app");
	assert_int_equal(c.timeout_ms, 5000);
	vd_owncheck_cmd_release(&c);
}

static void owncheck__cmd_shell_default_and_config_shell(void **state)
{
	vd_owncheck_cmd c;

	(void)state;
	/* no Timeout: the engine's 30 s; an empty User stays the container's */
	assert_int_equal(read_cmd("{\"Config\":{\"User\":\"\",\"Healthcheck\":{\"Test\":"
				  "[\"CMD-SHELL\",\"curl -f http://localhost:8080/health || exit 1\"]}}}",
				  &c), 0);
	assert_true(c.shell);
	assert_string_equal(c.argv[0], "/bin/sh");
	assert_string_equal(c.argv[1], "-c");
	assert_string_equal(c.argv[2], "curl -f http://localhost:8080/health || exit 1");
	assert_null(c.argv[3]);
	assert_null(c.user);
	assert_null(c.working_dir);
	assert_int_equal(c.timeout_ms, VD_OWNCHECK_DEFAULT_TIMEOUT_MS);
	vd_owncheck_cmd_release(&c);

	/* a Dockerfile SHELL is what the engine uses for CMD-SHELL */
	assert_int_equal(read_cmd("{\"Config\":{\"Shell\":[\"/bin/bash\",\"-o\",\"pipefail\",\"-c\"],"
				  "\"Healthcheck\":{\"Test\":[\"CMD-SHELL\",\"true | cat\"]}}}", &c), 0);
	assert_string_equal(c.argv[0], "/bin/bash");
	assert_string_equal(c.argv[3], "-c");
	assert_string_equal(c.argv[4], "true | cat");
	assert_null(c.argv[5]);
	vd_owncheck_cmd_release(&c);
}

static void owncheck__no_check_or_bad_check(void **state)
{
	vd_owncheck_cmd c;

	(void)state;
	assert_int_equal(read_cmd("{\"Config\":{}}", &c), VD_ENOTFOUND);
	assert_int_equal(read_cmd("{\"Config\":{\"Healthcheck\":{\"Test\":[]}}}", &c), VD_ENOTFOUND);
	assert_int_equal(read_cmd("{\"Config\":{\"Healthcheck\":{\"Test\":[\"NONE\"]}}}", &c),
			 VD_ENOTFOUND);
	assert_int_equal(read_cmd("{\"Config\":{\"Healthcheck\":{\"Test\":[\"HTTP\",\"/\"]}}}", &c),
			 VD_EUNSUPPORTED);
	assert_int_equal(read_cmd("{\"Config\":{\"Healthcheck\":{\"Test\":[\"CMD\"]}}}", &c),
			 VD_EPROTO);
	assert_int_equal(read_cmd("{\"Config\":{\"Healthcheck\":{\"Test\":[\"CMD\",7]}}}", &c),
			 VD_EPROTO);
	assert_null(c.argv);
}

static void owncheck__judge(void **state)
{
	static const char oci[] = "OCI runtime exec failed: exec failed: unable to start container "
				  "process: exec: \"/bin/sh\": stat /bin/sh: no such file or directory: "
				  "unknown\r\n";
	vd_owncheck_result r;

	(void)state;
	vd_owncheck_judge(0, "accepting connections\n\n", 23, &r);
	assert_int_equal(r.outcome, VD_OWNCHECK_PASSED);
	assert_string_equal(r.detail, "accepting connections");

	vd_owncheck_judge(0, "", 0, &r);
	assert_string_equal(r.detail, "");

	vd_owncheck_judge(1, "first\nno response\n", 18, &r);
	assert_int_equal(r.outcome, VD_OWNCHECK_FAILED);
	assert_int_equal(r.exit_code, 1);
	assert_string_equal(r.detail, "exit code 1: no response");

	/* the runtime could not start the command: not the check's answer */
	vd_owncheck_judge(126, oci, strlen(oci), &r);
	assert_int_equal(r.outcome, VD_OWNCHECK_UNAVAILABLE);
	assert_non_null(strstr(r.detail, "stat /bin/sh"));

	/* the shell ran and its command was not found: the check failed */
	vd_owncheck_judge(127, "sh: curl: not found\n", 20, &r);
	assert_int_equal(r.outcome, VD_OWNCHECK_FAILED);
	assert_string_equal(r.detail, "exit code 127: sh: curl: not found");
}

static void owncheck__judge_redacts_and_caps(void **state)
{
	char big[VD_OWNCHECK_MAX_OUTPUT];
	vd_owncheck_result r;

	(void)state;
	assert_int_equal(vd_secret_add("s3cr3t-owncheck-value"), 0);
	vd_owncheck_judge(1, "password=s3cr3t-owncheck-value rejected\n", 39, &r);
	assert_null(strstr(r.detail, "s3cr3t-owncheck-value"));
	assert_non_null(strstr(r.detail, "***"));

	memset(big, 'x', sizeof(big));
	vd_owncheck_judge(1, big, sizeof(big), &r);
	assert_true(strlen(r.detail) < VD_HEALTH_DETAIL_MAX);
	assert_non_null(strstr(r.detail, "..."));
}

static void owncheck__report_carries_engine_and_own_check(void **state)
{
	vd_health_report rep;
	vd_health_result res;
	vd_probe p;
	vd_buf out = VD_BUF_INIT;

	(void)state;
	memset(&p, 0, sizeof(p));
	p.kind = VD_PROBE_CONTAINER;
	p.service = "app";
	p.container.ref = "vox_app";
	memset(&res, 0, sizeof(res));
	vd_health_result_set(&res, VD_HEALTH_OK, "running, HEALTHCHECK starting; own check passed");
	snprintf(res.engine_health, sizeof(res.engine_health), "starting");
	snprintf(res.own_check, sizeof(res.own_check), "passed");
	res.own_check_exit = 0;
	res.own_check_ms = 31;
	vd_health_report_init(&rep);
	assert_int_equal(vd_health_report_add(&rep, &p, &res, 0, 1), 0);
	assert_int_equal(vd_health_report_json(&rep, &out), 0);
	assert_non_null(strstr(vd_buf_cstr(&out), "\"engine_health\":\"starting\""));
	assert_non_null(strstr(vd_buf_cstr(&out),
			       "\"own_check\":{\"result\":\"passed\",\"exit_code\":0,\"latency_ms\":31}"));
	vd_buf_release(&out);
	vd_health_report_release(&rep);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(owncheck__cmd_is_argv),
		cmocka_unit_test(owncheck__cmd_shell_default_and_config_shell),
		cmocka_unit_test(owncheck__no_check_or_bad_check),
		cmocka_unit_test(owncheck__judge),
		cmocka_unit_test(owncheck__judge_redacts_and_caps),
		cmocka_unit_test(owncheck__report_carries_engine_and_own_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
