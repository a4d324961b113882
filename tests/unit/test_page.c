/* Unit tests of the status page's renderer (controller/serve/page.h): every
 * text escaped and redacted, failing probes first and marked, failed and
 * rolled-back deploys marked, each step a bar, no style attribute (the CSP
 * forbids them); and of the journal read from its end, which feeds it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "controller/serve/page.h"
#include "controller/state/journal.h"
#include "testutil.h"

#define NONCE "0123456789abcdef0123456789abcdef"
#define SECRET "pg-S3cret-Value-77x"

static const char report_json[] =
	"{\"verdict\":\"unhealthy\",\"healthy\":false,\"reason\":\"web/page failing\",\"services\":["
	"{\"service\":\"db\",\"status\":\"ok\",\"probes\":[{\"probe\":\"pg\",\"kind\":\"postgres\","
	"\"target\":\"postgres://app:" SECRET "@db/app\",\"status\":\"ok\",\"latency_ms\":4,"
	"\"detail\":\"select 1\"}]},"
	"{\"service\":\"web\",\"status\":\"failing\",\"probes\":[{\"probe\":\"container\",\"kind\":"
	"\"container\",\"status\":\"ok\",\"latency_ms\":2,\"detail\":\"running\"},"
	"{\"probe\":\"page\",\"kind\":\"http\",\"status\":\"failing\",\"latency_ms\":1500,"
	"\"detail\":\"<script>alert(1)</script> password=" SECRET "\"}]}]}";

/* Records, newest first, as the page gets them: a failed deploy whose
 * previous version was restored, one whose restore failed, a rollback run,
 * and a deploy that is done (the deployed one). */
static const char records_json[] =
	"["
	"{\"ts\":\"2026-12-03T12:00:40.000Z\",\"deploy_id\":\"d4\",\"step\":\"deploy\",\"state\":\"failed\","
	"\"type\":\"APP_ONLY\",\"from\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"to\":\"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\","
	"\"duration_ms\":\"40000\",\"actor\":\"ci<bot>\",\"detail\":\"health of web failed\"},"
	"{\"ts\":\"2026-12-03T12:00:39.000Z\",\"deploy_id\":\"d4\",\"step\":\"rollback\",\"state\":\"done\",\"step_ms\":\"5000\"},"
	"{\"ts\":\"2026-12-03T12:00:34.000Z\",\"deploy_id\":\"d4\",\"step\":\"rollback\",\"state\":\"begin\"},"
	"{\"ts\":\"2026-12-03T12:00:33.000Z\",\"deploy_id\":\"d4\",\"step\":\"health\",\"state\":\"failed\",\"service\":\"web\",\"step_ms\":\"10000\"},"
	"{\"ts\":\"2026-12-03T12:00:23.000Z\",\"deploy_id\":\"d4\",\"step\":\"health\",\"state\":\"begin\",\"service\":\"web\"},"
	"{\"ts\":\"2026-12-03T12:00:03.000Z\",\"deploy_id\":\"d4\",\"step\":\"build\",\"state\":\"done\",\"service\":\"web\",\"step_ms\":\"20000\"},"
	"{\"ts\":\"2026-12-03T11:59:43.000Z\",\"deploy_id\":\"d4\",\"step\":\"build\",\"state\":\"begin\",\"service\":\"web\"},"
	"{\"ts\":\"2026-12-03T11:59:40.000Z\",\"deploy_id\":\"d4\",\"step\":\"deploy\",\"state\":\"begin\"},"
	"{\"ts\":\"2026-12-03T11:00:10.000Z\",\"deploy_id\":\"d3\",\"step\":\"deploy\",\"state\":\"restore_failed\",\"type\":\"FULL_RESTART\",\"duration_ms\":\"10000\"},"
	"{\"ts\":\"2026-12-03T11:00:09.000Z\",\"deploy_id\":\"d3\",\"step\":\"rollback\",\"state\":\"failed\"},"
	"{\"ts\":\"2026-12-03T11:00:00.000Z\",\"deploy_id\":\"d3\",\"step\":\"deploy\",\"state\":\"begin\"},"
	"{\"ts\":\"2026-12-03T10:30:05.000Z\",\"deploy_id\":\"d2\",\"step\":\"deploy\",\"state\":\"done\",\"type\":\"APP_ONLY\",\"duration_ms\":\"5000\"},"
	"{\"ts\":\"2026-12-03T10:30:04.000Z\",\"deploy_id\":\"d2\",\"step\":\"rollback\",\"state\":\"done\",\"step_ms\":\"4000\"},"
	"{\"ts\":\"2026-12-03T10:30:00.000Z\",\"deploy_id\":\"d2\",\"step\":\"deploy\",\"state\":\"begin\",\"detail\":\"rollback of project demo to voxdeploy-previous\"},"
	"{\"ts\":\"2026-12-03T10:00:30.000Z\",\"deploy_id\":\"d1\",\"step\":\"deploy\",\"state\":\"done\",\"type\":\"FULL_RESTART\","
	"\"from\":\"\",\"to\":\"cccccccccccccccccccccccccccccccccccccccc\",\"duration_ms\":\"30000\",\"actor\":\"alice\","
	"\"note\":\"https://ci.example/run/7?a=1&b=\\\"2\\\"\"},"
	"{\"ts\":\"2026-12-03T10:00:20.000Z\",\"deploy_id\":\"d1\",\"step\":\"swap\",\"state\":\"done\",\"service\":\"web\",\"step_ms\":\"10000\"},"
	"{\"ts\":\"2026-12-03T10:00:10.000Z\",\"deploy_id\":\"d1\",\"step\":\"build\",\"state\":\"done\",\"service\":\"web\",\"step_ms\":\"10000\"},"
	"{\"ts\":\"2026-12-03T10:00:00.000Z\",\"deploy_id\":\"d1\",\"step\":\"deploy\",\"state\":\"begin\"}"
	"]";

/* The page of the data above, into out (a fixed "now"). */
static const vd_freeze *held;  /* the next render's freeze, or NULL */

static void render(const char *project, const char *report, const char *records,
		   const vd_state *current, vd_buf *out)
{
	vd_error err = VD_ERROR_INIT;
	yajl_val recs = records ? vd_json_parse(records, &err) : NULL;
	vd_backup_info b;
	vd_page_input in;

	if (records && !recs)
		fail_msg("records: %s", vd_error_msg(&err));
	memset(&b, 0, sizeof(b));
	snprintf(b.id, sizeof(b.id), "20261203T090000Z-postgres");
	snprintf(b.service, sizeof(b.service), "db");
	snprintf(b.database, sizeof(b.database), "app");
	snprintf(b.created, sizeof(b.created), "2026-12-03T09:00:00.000Z");
	b.bytes = 2500000;
	b.ms = 1200;
	memset(&in, 0, sizeof(in));
	in.project = project;
	in.report_json = report;
	in.report_error = report ? NULL : "cannot reach the engine";
	in.report_age_ms = 3000;
	in.current = current;
	in.held = held;
	in.records = recs;
	in.backups = &b;
	in.n_backups = 1;
	in.now = 1796380000;  /* 2026-12-03T13:06:40Z */
	in.nonce = NONCE;
	in.logout = true;
	vd_buf_clear(out);
	assert_int_equal(vd_page_render(&in, out), 0);
	yajl_tree_free(recs);
	vd_error_release(&err);
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (; (hay = strstr(hay, needle)); hay += strlen(needle))
		n++;
	return n;
}

static void page__escaped_and_redacted(void **state)
{
	vd_state cur = { "demo", "cccccccccccccccccccccccccccccccccccccccc", "d1", "2026-12-03T10:00:30Z",
			 { NULL, 0 }, { NULL, 0 } };
	vd_buf out = VD_BUF_INIT;
	const char *html;

	vd_secret_add(SECRET);
	render("<b>demo</b>", report_json, records_json, &cur, &out);
	html = vd_buf_cstr(&out);
	/* texts escaped: no element from the data */
	assert_null(strstr(html, "<script>alert"));
	assert_null(strstr(html, "<b>demo"));
	assert_null(strstr(html, "ci<bot>"));
	assert_non_null(strstr(html, "&lt;script&gt;alert(1)&lt;/script&gt;"));
	assert_non_null(strstr(html, "<h1 id=\"project\">&lt;b&gt;demo&lt;/b&gt;</h1>"));
	assert_non_null(strstr(html, "by ci&lt;bot&gt;"));
	/* a link's attribute too */
	assert_non_null(strstr(html, "href=\"https://ci.example/run/7?a=1&amp;b=&quot;2&quot;\""));
	/* no secret: not the registered value, not after password= */
	assert_null(strstr(html, SECRET));
	assert_non_null(strstr(html, "password=***"));
	/* the nonce on the style and the script, first; no style attribute
	 * (the policy allows none), no external asset */
	assert_int_equal(count(html, "nonce=\"" NONCE "\""), 2);
	assert_true(strstr(html, NONCE) < strstr(html, "&lt;b&gt;demo"));
	assert_null(strstr(html, " style="));
	assert_null(strstr(html, "src="));
	assert_null(strstr(html, "<link"));
	assert_non_null(strstr(html, "<form method=\"post\" action=\"/logout\">"));
	vd_secret_clear();
	vd_buf_release(&out);
}

static void page__failing_probes_first_and_marked(void **state)
{
	vd_buf out = VD_BUF_INIT;
	const char *html, *failing, *pg, *container;

	render("demo", report_json, NULL, NULL, &out);
	html = vd_buf_cstr(&out);
	failing = strstr(html, "<td data-label=\"Probe\" class=\"probe-name\">page</td>");
	pg = strstr(html, "<td data-label=\"Probe\" class=\"probe-name\">pg</td>");
	container = strstr(html, "<td data-label=\"Probe\" class=\"probe-name\">container</td>");
	assert_non_null(failing);
	assert_non_null(pg);
	assert_non_null(container);
	/* failing first; the others in the report's order */
	assert_true(failing < pg && pg < container);
	assert_int_equal(count(html, "<tr class=\"probe failing\" data-status=\"failing\">"), 1);
	assert_int_equal(count(html, "<tr class=\"probe\" data-status=\"ok\">"), 2);
	assert_non_null(strstr(html, "&#10007; failing</span>"));
	assert_non_null(strstr(html, "1.5 s"));
	assert_non_null(strstr(html, "<span class=\"badge bad\" id=\"verdict\">unhealthy</span>"));
	assert_non_null(strstr(html, "(report made 3s ago)"));
	assert_non_null(strstr(html, "Nothing deployed yet."));
	vd_buf_release(&out);
}

static void page__deploys_marked_and_timed(void **state)
{
	vd_state cur = { "demo", "cccccccccccccccccccccccccccccccccccccccc", "d1", "2026-12-03T10:00:30Z",
			 { NULL, 0 }, { NULL, 0 } };
	vd_buf out = VD_BUF_INIT;
	const char *html, *d4, *d1;

	render(NULL, report_json, records_json, &cur, &out);
	html = vd_buf_cstr(&out);
	/* the project from current.json when none is given */
	assert_non_null(strstr(html, "<h1 id=\"project\">demo</h1>"));
	/* newest first, each marked */
	d4 = strstr(html, "<li class=\"deploy failed rolled-back\" data-result=\"failed\" data-deploy=\"d4\">");
	d1 = strstr(html, "<li class=\"deploy\" data-result=\"done\" data-deploy=\"d1\">");
	assert_non_null(d4);
	assert_non_null(d1);
	assert_true(d4 < d1);
	assert_non_null(strstr(html, "&#10007; failed &middot; rolled back</span>"));
	assert_non_null(strstr(html, "<li class=\"deploy failed\" data-result=\"restore_failed\" data-deploy=\"d3\">"));
	assert_non_null(strstr(html, "&#10007; failed &middot; restore failed</span>"));
	assert_non_null(strstr(html, "<li class=\"deploy rollback\" data-result=\"done\" data-deploy=\"d2\">"));
	assert_non_null(strstr(html, "&#10003; rollback done</span>"));
	assert_int_equal(count(html, "<li class=\"deploy"), 4);
	/* d4's steps: build, health (failed), rollback, each a bar with its duration */
	assert_non_null(strstr(html, "<title>build web: done, 20.0 s</title>"));
	assert_non_null(strstr(html, "<title>health web: failed, 10.0 s</title>"));
	assert_non_null(strstr(html, "fill=\"#c0262d\"><title>health web: failed"));
	assert_non_null(strstr(html, "<title>rollback: done, 5.0 s</title>"));
	assert_non_null(strstr(html, "took 40.0 s"));
	/* the build began at the deploy's 3rd of 60 s: x = 3/60 of 1000 */
	assert_non_null(strstr(html, "x=\"50.0\" y=\"2\" width=\"333.3\""));
	/* what is deployed, from current.json and d1's records */
	assert_non_null(strstr(html, "<code title=\"cccccccccccccccccccccccccccccccccccccccc\">cccccccccccc</code>"));
	assert_non_null(strstr(html, "<dd id=\"deployed-type\">FULL_RESTART</dd>"));
	assert_non_null(strstr(html, "<dd id=\"deployed-by\">alice</dd>"));
	assert_non_null(strstr(html, "<dd id=\"deployed-note\"><a rel=\"noreferrer noopener\" href="));
	/* the last backup */
	assert_non_null(strstr(html, "<section id=\"backups\">"));
	assert_non_null(strstr(html, "2.5 MB"));
	vd_buf_release(&out);
}

static void page__nothing_yet(void **state)
{
	vd_buf out = VD_BUF_INIT;
	const char *html;

	render("demo", NULL, "[]", NULL, &out);
	html = vd_buf_cstr(&out);
	assert_non_null(strstr(html, "<span class=\"badge warn\" id=\"verdict\">no report</span>"));
	assert_non_null(strstr(html, "cannot reach the engine"));
	assert_non_null(strstr(html, "No deploys in the journal yet."));
	assert_non_null(strstr(html, "</html>\n"));
	vd_buf_release(&out);
}

/* A freeze is on the page with its reason, escaped. */
static void page__deploys_held(void **state)
{
	vd_freeze f = { true, "2026-12-03T12:00:00Z", "ann", "release <freeze> until QA" };
	vd_buf out = VD_BUF_INIT;

	held = &f;
	render("demo", NULL, "[]", NULL, &out);
	held = NULL;
	assert_non_null(strstr(vd_buf_cstr(&out), "<p id=\"held\"><span class=\"badge warn\">deploys held</span> "
					    "since 2026-12-03T12:00:00Z by ann: release &lt;freeze&gt; until QA"));
	render("demo", NULL, "[]", NULL, &out);
	assert_null(strstr(vd_buf_cstr(&out), "deploys held"));
	vd_buf_release(&out);
}

static void page__login_form(void **state)
{
	vd_buf out = VD_BUF_INIT;
	char csp[400];

	assert_int_equal(vd_page_login(NONCE, "wrong <token>", &out), 0);
	assert_non_null(strstr(vd_buf_cstr(&out), "<form class=\"login\" method=\"post\" action=\"/login\">"));
	assert_non_null(strstr(vd_buf_cstr(&out), "name=\"token\" type=\"password\""));
	assert_non_null(strstr(vd_buf_cstr(&out), "wrong &lt;token&gt;"));
	assert_null(strstr(vd_buf_cstr(&out), "<script"));
	vd_buf_release(&out);
	vd_page_csp(NONCE, csp, sizeof(csp));
	assert_string_equal(csp, "default-src 'none'; style-src 'nonce-" NONCE "'; script-src 'nonce-" NONCE
			    "'; img-src data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'");
}

/* ------------------------------------------------------------------ journal */

struct seen {
	char ids[64][VD_DEPLOY_ID_MAX];
	long long seq[64];
	size_t n, stop_at;
};

static int see(yajl_val rec, void *ctx, vd_error *err)
{
	struct seen *s = ctx;

	snprintf(s->ids[s->n], VD_DEPLOY_ID_MAX, "%s", vd_json_str(rec, "deploy_id"));
	s->seq[s->n] = vd_json_int(rec, "seq", 0);
	return ++s->n == s->stop_at ? VD_JOURNAL_STOP : 0;
}

static void page__journal_read_back(void **state)
{
	vd_error err = VD_ERROR_INIT;
	char *dir = tu_mkdtemp("page"), big[70000 + 64];
	vd_journal j = VD_JOURNAL_INIT;
	struct seen s;
	int i;

	memset(&s, 0, sizeof(s));
	assert_int_equal(vd_journal_read_back(dir, see, &s, &err), VD_ENOTFOUND);
	vd_error_release(&err);
	assert_int_equal(vd_journal_open(dir, "a", &j, &err), 0);
	for (i = 0; i < 3; i++)
		assert_int_equal(vd_journal_write(&j, "build", "begin", NULL, &err), 0);
	vd_journal_close(&j);
	/* an overlong line (skipped), records spanning the 64 KB blocks, and a
	 * torn last line (skipped) */
	memset(big, 'x', sizeof(big));
	memcpy(big, "{\"deploy_id\":\"long\",\"x\":\"", 25);
	strcpy(big + sizeof(big) - 4, "\"}\n");
	{
		FILE *f;
		char path[300];

		snprintf(path, sizeof(path), "%s/journal.jsonl", dir);
		f = fopen(path, "a");
		assert_non_null(f);
		fputs(big, f);
		for (i = 0; i < 40; i++)
			fprintf(f, "{\"deploy_id\":\"b\",\"seq\":%d,\"pad\":\"%03000d\"}\n", i + 1, 0);
		fputs("{\"deploy_id\":\"torn\",\"se", f);
		fclose(f);
	}
	assert_int_equal(vd_journal_read_back(dir, see, &s, &err), 0);
	assert_int_equal(s.n, 43);
	assert_string_equal(s.ids[0], "b");
	assert_int_equal(s.seq[0], 40);
	assert_int_equal(s.seq[39], 1);
	assert_string_equal(s.ids[40], "a");
	assert_int_equal(s.seq[40], 3);
	assert_int_equal(s.seq[42], 1);
	/* stopped when asked */
	memset(&s, 0, sizeof(s));
	s.stop_at = 5;
	assert_int_equal(vd_journal_read_back(dir, see, &s, &err), 0);
	assert_int_equal(s.n, 5);
	assert_int_equal(s.seq[4], 36);
	assert_int_equal(tu_rm_rf(dir), 0);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(page__escaped_and_redacted),
		cmocka_unit_test(page__failing_probes_first_and_marked),
		cmocka_unit_test(page__deploys_marked_and_timed),
		cmocka_unit_test(page__nothing_yet),
		cmocka_unit_test(page__deploys_held),
		cmocka_unit_test(page__login_form),
		cmocka_unit_test(page__journal_read_back),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
