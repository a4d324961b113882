/* Unit tests of the state files: current.json, the lock and the freeze, the
 * journal, the evidence of failed deploys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "controller/state/evidence.h"
#include "controller/state/journal.h"
#include "controller/state/lock.h"
#include "controller/state/state.h"
#include "testutil.h"

static char *dir;

static int setup(void **state)
{
	dir = tu_mkdtemp("state");
	return 0;
}

static int teardown(void **state)
{
	int rc = tu_rm_rf(dir);

	free(dir);
	dir = NULL;
	return rc;
}

static void state__roundtrip_and_defaults(void **s)
{
	vd_error err = VD_ERROR_INIT;
	vd_state st, back;
	char sub[128], *d;

	memset(&st, 0, sizeof(st));
	st.project = strdup("voxpersona");
	st.commit = strdup("0123456789abcdef0123456789abcdef01234567");
	st.deploy_id = strdup("20261127T003000Z-1a2b3c");
	st.deployed_at = strdup("2026-11-27T00:30:00Z");
	vd_kvs_add(&st.images, "voxpersona", "sha256:aa");
	vd_kvs_add(&st.containers, "voxpersona", "c0ffee");
	/* a directory that does not exist yet is made */
	snprintf(sub, sizeof(sub), "%s/state", dir);
	assert_int_equal(vd_state_save(sub, &st, &err), 0);
	assert_int_equal(vd_state_load(sub, &back, &err), 0);
	assert_string_equal(back.commit, st.commit);
	assert_string_equal(back.deploy_id, st.deploy_id);
	assert_string_equal(vd_kvs_get(&back.containers, "voxpersona"), "c0ffee");
	vd_state_release(&back);
	vd_state_release(&st);
	assert_int_equal(vd_state_load(dir, &back, &err), VD_ENOTFOUND);

	setenv("VOXDEPLOY_STATE_DIR", "/srv/vd", 1);
	d = vd_state_dir(NULL);
	assert_string_equal(d, "/srv/vd");
	free(d);
	d = vd_state_dir("/explicit");
	assert_string_equal(d, "/explicit");
	free(d);
	unsetenv("VOXDEPLOY_STATE_DIR");
	d = vd_state_dir(NULL);
	assert_string_equal(d, VD_STATE_DIR_DEFAULT);
	free(d);
	vd_error_release(&err);
}

static void lock__second_holder_is_told_who(void **s)
{
	vd_error err = VD_ERROR_INIT;
	vd_lock a = VD_LOCK_INIT, b = VD_LOCK_INIT;
	char msg[64];

	assert_int_equal(vd_lock_acquire(dir, "0123456789abcdef0123", "ci", &a, &err), 0);
	/* flock is per open file: a second open in the same process conflicts */
	assert_int_equal(vd_lock_acquire(dir, "ffff", "alice", &b, &err), VD_ELOCKED);
	snprintf(msg, sizeof(msg), "pid %d since ", (int)getpid());
	assert_non_null(strstr(vd_error_msg(&err), "another deploy holds the lock"));
	assert_non_null(strstr(vd_error_msg(&err), msg));
	assert_non_null(strstr(vd_error_msg(&err), "deploying 0123456789ab for ci"));
	assert_int_equal(b.fd, -1);
	vd_lock_release(&a);
	vd_lock_release(&a);  /* twice is harmless */
	assert_int_equal(vd_lock_acquire(dir, "ffff", "alice", &b, &err), 0);
	vd_lock_release(&b);
	vd_error_release(&err);
}

/* A waiter gets the lock once the holder lets go (a thread stands in for
 * the other process: flock is per open file). */
static void *release_later(void *arg)
{
	usleep(300 * 1000);
	vd_lock_release(arg);
	return NULL;
}

static int waited;

static void on_wait(void *ctx, const char *holder, uint64_t wait_ms)
{
	waited++;
	assert_non_null(strstr(holder, "for ci"));
	assert_int_equal(wait_ms, 10000);
}

static void lock__wait_for_the_holder(void **s)
{
	vd_error err = VD_ERROR_INIT;
	vd_lock a = VD_LOCK_INIT, b = VD_LOCK_INIT;
	pthread_t t;

	assert_int_equal(vd_lock_acquire(dir, "aaaa", "ci", &a, &err), 0);
	assert_int_equal(vd_lock_acquire_wait(dir, "bbbb", "bob", 200, NULL, NULL, &b, &err), VD_ELOCKED);
	assert_non_null(strstr(vd_error_msg(&err), "after the wait"));
	vd_error_release(&err);
	assert_int_equal(pthread_create(&t, NULL, release_later, &a), 0);
	assert_int_equal(vd_lock_acquire_wait(dir, "bbbb", "bob", 10000, on_wait, NULL, &b, &err), 0);
	pthread_join(t, NULL);
	assert_int_equal(waited, 1);
	vd_lock_release(&b);
	vd_error_release(&err);
}

static void freeze__hold_check_lift(void **s)
{
	vd_error err = VD_ERROR_INIT;
	vd_freeze f = VD_FREEZE_INIT;
	bool was = true;

	assert_int_equal(vd_freeze_check(dir, &err), 0);
	assert_int_equal(vd_freeze_lift(dir, &was, &err), 0);
	assert_false(was);
	assert_int_equal(vd_freeze_hold(dir, NULL, "migration by hand", "ann", &err), 0);
	assert_int_equal(vd_freeze_check(dir, &err), VD_ELOCKED);
	assert_non_null(strstr(vd_error_msg(&err), "deploys are held since 20"));
	assert_non_null(strstr(vd_error_msg(&err), "by ann: migration by hand"));
	assert_non_null(strstr(vd_error_msg(&err), "voxdeploy unlock"));
	vd_error_release(&err);
	assert_int_equal(vd_freeze_hold(dir, "2026-01-01T00:00:00Z", NULL, NULL, &err), 0);
	assert_int_equal(vd_freeze_read(dir, &f, &err), 0);
	assert_true(f.held);
	assert_string_equal(f.since, "2026-01-01T00:00:00Z");
	assert_null(f.message);
	vd_freeze_release(&f);
	assert_int_equal(vd_freeze_check(dir, &err), VD_ELOCKED);
	assert_non_null(strstr(vd_error_msg(&err), "no reason given"));
	vd_error_release(&err);
	assert_int_equal(vd_freeze_lift(dir, &was, &err), 0);
	assert_true(was);
	assert_int_equal(vd_freeze_check(dir, &err), 0);
}

static void evidence__save_load_tail_prune(void **s)
{
	vd_error err = VD_ERROR_INIT;
	vd_evidence ev = VD_EVIDENCE_INIT;
	const char *log = "one\ntwo s3cret-evidence-Marker-77\nthree\n";
	char **ids = NULL, id[VD_DEPLOY_ID_MAX];
	size_t n = 0, i;

	assert_int_equal(vd_secret_add("s3cret-evidence-Marker-77"), 0);
	/* ids name directories: nothing else is taken */
	assert_int_equal(vd_evidence_save(dir, "../../etc", "app", "x", 1, NULL, &err), VD_EINVAL);
	vd_error_release(&err);
	assert_int_equal(vd_evidence_save(dir, "20261204T010000Z-abcdef", "../app", "x", 1, NULL, &err),
			 VD_EINVAL);
	vd_error_release(&err);
	assert_int_equal(vd_evidence_load(dir, "20261204T010000Z-abcdef", &ev, &err), VD_ENOTFOUND);
	assert_non_null(strstr(vd_error_msg(&err), "no evidence kept for deploy 20261204T010000Z-abcdef"));
	vd_error_release(&err);
	assert_int_equal(vd_evidence_save(dir, "20261204T010000Z-abcdef", "worker", "", 0, NULL, &err), 0);
	assert_int_equal(vd_evidence_save(dir, "20261204T010000Z-abcdef", "app", log, strlen(log),
					  "{\"state\":{\"ExitCode\":3}}", &err), 0);
	assert_int_equal(vd_evidence_load(dir, "20261204T010000Z-abcdef", &ev, &err), 0);
	assert_int_equal(ev.len, 2);
	assert_string_equal(ev.items[0].service, "app");
	assert_string_equal(ev.items[0].log, "one\ntwo ***\nthree\n");
	assert_string_equal(ev.items[0].inspect, "{\"state\":{\"ExitCode\":3}}");
	assert_string_equal(ev.items[1].service, "worker");
	assert_string_equal(ev.items[1].log, "");
	assert_null(ev.items[1].inspect);
	assert_string_equal(vd_evidence_tail(ev.items[0].log, 2), "two ***\nthree\n");
	assert_string_equal(vd_evidence_tail(ev.items[0].log, 20), ev.items[0].log);
	assert_string_equal(vd_evidence_tail("a\nb", 1), "b");
	assert_string_equal(vd_evidence_tail("", 5), "");
	vd_evidence_release(&ev);
	/* the newest are kept */
	for (i = 0; i < 5; i++) {
		snprintf(id, sizeof(id), "20261204T01000%zuZ-abcdef", i);
		assert_int_equal(vd_evidence_save(dir, id, "app", "x\n", 2, NULL, &err), 0);
	}
	vd_evidence_prune(dir, 3);
	assert_int_equal(vd_evidence_list(dir, &ids, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_string_equal(ids[0], "20261204T010004Z-abcdef");
	assert_string_equal(ids[2], "20261204T010002Z-abcdef");
	for (i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
	vd_secret_clear();
}

struct seen {
	int n;
	char steps[16][32];
	char last[4096];
};

static int on_record(yajl_val rec, void *ctx, vd_error *err)
{
	struct seen *s = ctx;
	const char *step = vd_json_str(rec, "step");

	if (s->n < 16)
		snprintf(s->steps[s->n], sizeof(s->steps[0]), "%s", step ? step : "?");
	snprintf(s->last, sizeof(s->last), "%s/%s/%lld/%s", vd_json_str(rec, "deploy_id"),
		 vd_json_str(rec, "state"), (long long)vd_json_int(rec, "seq", -1),
		 vd_json_str(rec, "detail") ? vd_json_str(rec, "detail") : "");
	s->n++;
	return 0;
}

static void journal__append_read_torn_and_redacted(void **s)
{
	vd_error err = VD_ERROR_INIT;
	vd_journal j = VD_JOURNAL_INIT;
	vd_kvs fields = { NULL, 0 };
	struct seen seen;
	char id[VD_DEPLOY_ID_MAX], path[128], expect[256];
	FILE *f;

	vd_journal_new_id(id);
	assert_int_equal(strlen(id), 23);
	assert_int_equal(id[8], 'T');
	assert_int_equal(vd_journal_read(dir, 0, on_record, &seen, &err), VD_ENOTFOUND);
	assert_int_equal(vd_journal_open(dir, id, &j, &err), 0);
	assert_int_equal(vd_journal_write(&j, "lock", "done", NULL, &err), 0);
	assert_int_equal(vd_journal_write(&j, "build", "begin", NULL, &err), 0);
	vd_secret_clear();
	vd_secret_add("hunter2-db-password");
	vd_kvs_add(&fields, "detail", "conninfo password=hunter2-db-password");
	assert_int_equal(vd_journal_write(&j, "build", "failed", &fields, &err), 0);
	vd_kvs_release(&fields);
	vd_journal_close(&j);
	/* a crash in the middle of a record */
	snprintf(path, sizeof(path), "%s/journal.jsonl", dir);
	f = fopen(path, "a");
	fputs("{\"ts\":\"2026", f);
	fclose(f);

	memset(&seen, 0, sizeof(seen));
	assert_int_equal(vd_journal_read(dir, 0, on_record, &seen, &err), 0);
	assert_int_equal(seen.n, 3);
	assert_string_equal(seen.steps[0], "lock");
	snprintf(expect, sizeof(expect), "%s/failed/3/conninfo password=***", id);
	assert_string_equal(seen.last, expect);
	/* the last two only, oldest first */
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(vd_journal_read(dir, 2, on_record, &seen, &err), 0);
	assert_int_equal(seen.n, 2);
	assert_string_equal(seen.steps[0], "build");
	/* the next deploy after the crash starts on a line of its own */
	assert_int_equal(vd_journal_open(dir, "next", &j, &err), 0);
	assert_int_equal(vd_journal_write(&j, "lock", "done", NULL, &err), 0);
	vd_journal_close(&j);
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(vd_journal_read(dir, 0, on_record, &seen, &err), 0);
	assert_int_equal(seen.n, 4);
	assert_string_equal(seen.last, "next/done/1/");
	vd_secret_clear();
	vd_error_release(&err);
}

static void journal__many_records(void **s)
{
	vd_error err = VD_ERROR_INIT;
	vd_journal j = VD_JOURNAL_INIT;
	struct seen seen;
	int i;

	assert_int_equal(vd_journal_open(dir, "many", &j, &err), 0);
	for (i = 0; i < 3000; i++)
		assert_int_equal(vd_journal_write(&j, "step", "done", NULL, &err), 0);
	vd_journal_close(&j);
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(vd_journal_read(dir, 0, on_record, &seen, &err), 0);
	assert_int_equal(seen.n, 3000);
	assert_string_equal(seen.last, "many/done/3000/");
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(vd_journal_read(dir, 5, on_record, &seen, &err), 0);
	assert_int_equal(seen.n, 5);
	assert_string_equal(seen.last, "many/done/3000/");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(state__roundtrip_and_defaults, setup, teardown),
		cmocka_unit_test_setup_teardown(lock__second_holder_is_told_who, setup, teardown),
		cmocka_unit_test_setup_teardown(lock__wait_for_the_holder, setup, teardown),
		cmocka_unit_test_setup_teardown(freeze__hold_check_lift, setup, teardown),
		cmocka_unit_test_setup_teardown(evidence__save_load_tail_prune, setup, teardown),
		cmocka_unit_test_setup_teardown(journal__append_read_torn_and_redacted, setup, teardown),
		cmocka_unit_test_setup_teardown(journal__many_records, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
