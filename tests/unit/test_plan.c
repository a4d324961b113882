/* Unit tests of controller/plan on real repositories: every scenario of
 * upstream VoxPersona's own test plan gives the type its users expect, plus
 * renames across tiers, deletions, mode changes, submodules, first deploys,
 * a deployed commit missing from the repository, manual overrides, the JSON
 * shape, and where the deployed commit is read from. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/json.h"
#include "controller/plan.h"
#include "controller/state.h"
#include "gitrepo.h"

struct fixture {
	struct repo rp;
	char base[VD_SHA_HEX];
	vd_git *g;
	vd_rules *rules;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	vd_error err = VD_ERROR_INIT;

	repo_init(&f->rp);
	repo_put(&f->rp, "README.md", "# VoxPersona\n", 0644);
	repo_put(&f->rp, "docker-compose.yml", "services:\n  voxpersona:\n    build: .\n", 0644);
	repo_put(&f->rp, "Dockerfile", "FROM python:3.11-slim\nCOPY . .\n", 0644);
	repo_put(&f->rp, "requirements.txt", "aiogram\n", 0644);
	repo_put(&f->rp, "src/config.py", "X = 1\n", 0644);
	repo_put(&f->rp, "src/main.py", "print('hello from the bot, long enough to be a rename')\n", 0644);
	repo_put(&f->rp, "prompts/a.txt", "prompt\n", 0644);
	repo_put(&f->rp, "prompts-by-scenario/b.txt", "prompt\n", 0644);
	repo_put(&f->rp, "sql_scripts/init.sql", "create table t(x int);\n", 0644);
	repo_put(&f->rp, "DEPLOYMENT_GUIDE.md", "guide\n", 0644);
	repo_put(&f->rp, "docs/notes.md", "notes about the deployment, long enough to rename\n", 0644);
	repo_commit(&f->rp, f->base);
	assert_int_equal(vd_git_open(f->rp.dir, &f->g, &err), 0);
	assert_int_equal(vd_rules_default(&f->rules, &err), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	vd_rules_free(f->rules);
	vd_git_free(f->g);
	repo_free(&f->rp);
	free(f);
	return 0;
}

/* Commit the edits and plan from the base commit. */
static void plan_from_base(struct fixture *f, const char *forced, vd_plan *out)
{
	vd_plan_options o = { f->base, NULL, NULL, false, VD_TIER_APP_ONLY, f->rules };
	vd_error err = VD_ERROR_INIT;
	char head[VD_SHA_HEX];
	bool is_auto = true;

	repo_commit(&f->rp, head);
	if (forced) {
		assert_int_equal(vd_tier_parse_type(forced, &is_auto, &o.forced_type, &err), 0);
		o.forced = !is_auto;
	}
	if (vd_plan_make(f->g, &o, out, &err))
		fail_msg("plan: %s", vd_error_msg(&err));
	assert_string_equal(out->to, head);
	assert_string_equal(out->from, f->base);
}

static void expect(struct fixture *f, const char *forced, vd_tier want)
{
	vd_plan p;

	plan_from_base(f, forced, &p);
	if (p.type != want)
		fail_msg("got %s, want %s (%s)", vd_tier_name(p.type), vd_tier_name(want), p.reason);
	assert_int_equal(p.forced, forced && strcmp(forced, "auto"));
	vd_plan_release(&p);
}

/* upstream's test plan, scenario by scenario */
static void plan__readme_edit(void **s)
{
	struct fixture *f = *s;

	repo_put(&f->rp, "README.md", "# VoxPersona bot\n", 0644);
	expect(f, NULL, VD_TIER_NO_RESTART);
}

static void plan__guides_and_changelog(void **s)
{
	struct fixture *f = *s;

	repo_put(&f->rp, "DEPLOYMENT_GUIDE.md", "guide v2\n", 0644);
	repo_put(&f->rp, "SETUP.md", "setup\n", 0644);
	repo_put(&f->rp, "CHANGELOG", "1.1\n", 0644);
	expect(f, NULL, VD_TIER_NO_RESTART);
}

static void plan__config_py(void **s)
{
	struct fixture *f = *s;

	repo_put(&f->rp, "src/config.py", "X = 2\n", 0644);
	expect(f, NULL, VD_TIER_APP_ONLY);
}

static void plan__prompts(void **s)
{
	struct fixture *f = *s;

	repo_put(&f->rp, "prompts/a.txt", "better prompt\n", 0644);
	repo_put(&f->rp, "prompts-by-scenario/b.txt", "better prompt\n", 0644);
	expect(f, NULL, VD_TIER_APP_ONLY);
}

static void plan__code_and_docs(void **s)
{
	struct fixture *f = *s;

	repo_put(&f->rp, "src/main.py", "print('hello again from the bot, long enough')\n", 0644);
	repo_put(&f->rp, "README.md", "# more docs\n", 0644);
	expect(f, NULL, VD_TIER_APP_ONLY);
}

static void plan__compose_comment(void **s)
{
	struct fixture *f = *s;

	repo_put(&f->rp, "docker-compose.yml", "# a comment\nservices:\n  voxpersona:\n    build: .\n", 0644);
	expect(f, NULL, VD_TIER_FULL_RESTART);
}

static void plan__requirements(void **s)
{
	struct fixture *f = *s;

	repo_put(&f->rp, "requirements.txt", "aiogram\nasyncpg\n", 0644);
	expect(f, NULL, VD_TIER_FULL_RESTART);
}

static void plan__dockerfile(void **s)
{
	struct fixture *f = *s;

	repo_put(&f->rp, "Dockerfile", "FROM python:3.12-slim\nCOPY . .\n", 0644);
	expect(f, NULL, VD_TIER_FULL_RESTART);
}

static void plan__manual_no_restart_over_code(void **s)
{
	struct fixture *f = *s;
	vd_plan p;

	repo_put(&f->rp, "src/config.py", "X = 3\n", 0644);
	plan_from_base(f, "no-restart", &p);
	assert_int_equal(p.type, VD_TIER_NO_RESTART);
	assert_true(p.forced);
	assert_non_null(strstr(p.reason, "forced by --type no-restart (the changes alone: APP_ONLY"));
	vd_plan_release(&p);
}

static void plan__manual_full_over_docs(void **s)
{
	struct fixture *f = *s;

	repo_put(&f->rp, "README.md", "# docs only\n", 0644);
	expect(f, "full", VD_TIER_FULL_RESTART);
}

static void plan__manual_auto_is_no_override(void **s)
{
	struct fixture *f = *s;

	repo_put(&f->rp, "README.md", "# docs, auto\n", 0644);
	expect(f, "auto", VD_TIER_NO_RESTART);
}

static const vd_plan_file *file(const vd_plan *p, const char *path)
{
	size_t i;

	for (i = 0; i < p->n_files; i++)
		if (!strcmp(p->files[i].path, path))
			return &p->files[i];
	return NULL;
}

static void plan__renames_count_both_paths(void **s)
{
	struct fixture *f = *s;
	const vd_plan_file *pf;
	vd_plan p;

	/* docs → code: the new path decides */
	repo_put(&f->rp, "docs/notes.md", NULL, 0);
	repo_put(&f->rp, "src/notes.py", "notes about the deployment, long enough to rename\n", 0644);
	/* code → sql: the higher of the two */
	repo_put(&f->rp, "src/main.py", NULL, 0);
	repo_put(&f->rp, "sql_scripts/main.sql", "print('hello from the bot, long enough to be a rename')\n", 0644);
	plan_from_base(f, NULL, &p);
	assert_int_equal(p.type, VD_TIER_FULL_RESTART);
	pf = file(&p, "src/notes.py");
	assert_non_null(pf);
	assert_string_equal(pf->status, "renamed");
	assert_string_equal(pf->old_path, "docs/notes.md");
	assert_int_equal(pf->tier, VD_TIER_APP_ONLY);
	pf = file(&p, "sql_scripts/main.sql");
	assert_non_null(pf);
	assert_int_equal(pf->tier, VD_TIER_FULL_RESTART);
	vd_plan_release(&p);
}

static void plan__rename_away_from_a_higher_tier(void **s)
{
	struct fixture *f = *s;
	const vd_plan_file *pf;
	vd_plan p;

	/* moving the Dockerfile into docs still touches the Dockerfile */
	repo_put(&f->rp, "Dockerfile", NULL, 0);
	repo_put(&f->rp, "docs/Dockerfile.md", "FROM python:3.11-slim\nCOPY . .\n", 0644);
	plan_from_base(f, NULL, &p);
	pf = file(&p, "docs/Dockerfile.md");
	assert_non_null(pf);
	assert_int_equal(pf->tier, VD_TIER_FULL_RESTART);
	assert_string_equal(pf->rule, "Dockerfile");
	assert_int_equal(p.type, VD_TIER_FULL_RESTART);
	vd_plan_release(&p);
}

static void plan__deletion_mode_and_submodule(void **s)
{
	struct fixture *f = *s;
	vd_plan p;

	repo_put(&f->rp, "requirements.txt", NULL, 0);
	plan_from_base(f, NULL, &p);
	assert_int_equal(p.type, VD_TIER_FULL_RESTART);
	assert_string_equal(file(&p, "requirements.txt")->status, "deleted");
	/* a new base: the mode of a script changes, a submodule moves */
	memcpy(f->base, p.to, VD_SHA_HEX);
	vd_plan_release(&p);
	repo_put(&f->rp, "src/config.py", "X = 1\n", 0755);
	plan_from_base(f, NULL, &p);
	assert_int_equal(p.type, VD_TIER_APP_ONLY);
	assert_int_equal(p.n_files, 1);
	memcpy(f->base, p.to, VD_SHA_HEX);
	vd_plan_release(&p);
	repo_put_gitlink(&f->rp, "vendor/lib", "0123456789abcdef0123456789abcdef01234567");
	plan_from_base(f, NULL, &p);
	assert_int_equal(p.type, VD_TIER_APP_ONLY);
	assert_string_equal(file(&p, "vendor/lib")->rule, "(default)");
	vd_plan_release(&p);
}

static void plan__no_changes_first_deploy_missing_commit(void **s)
{
	struct fixture *f = *s;
	vd_plan_options o = { NULL, NULL, NULL, false, VD_TIER_APP_ONLY, f->rules };
	vd_error err = VD_ERROR_INIT;
	vd_plan p;

	/* from == to */
	o.from = f->base;
	o.to = f->base;
	assert_int_equal(vd_plan_make(f->g, &o, &p, &err), 0);
	assert_int_equal(p.type, VD_TIER_NO_RESTART);
	assert_int_equal(p.n_files, 0);
	assert_non_null(strstr(p.reason, "no changes"));
	vd_plan_release(&p);
	/* nothing deployed */
	o.from = NULL;
	assert_int_equal(vd_plan_make(f->g, &o, &p, &err), 0);
	assert_int_equal(p.type, VD_TIER_FULL_RESTART);
	assert_string_equal(p.from, "");
	assert_non_null(strstr(p.reason, "first deploy"));
	vd_plan_release(&p);
	/* a deployed commit the repository does not have */
	o.from = "0123456789abcdef0123456789abcdef01234567";
	o.from_source = "state";
	assert_int_equal(vd_plan_make(f->g, &o, &p, &err), 0);
	assert_int_equal(p.type, VD_TIER_FULL_RESTART);
	assert_non_null(strstr(p.reason, "is not in the repository"));
	vd_plan_release(&p);
	/* the same sha given by hand is an error */
	o.from_source = NULL;
	assert_int_equal(vd_plan_make(f->g, &o, &p, &err), VD_EINVAL);
	assert_non_null(strstr(vd_error_msg(&err), "unknown revision"));
	o.from = f->base;
	o.to = "no-such-branch";
	assert_int_equal(vd_plan_make(f->g, &o, &p, &err), VD_EINVAL);
	assert_string_equal(vd_error_msg(&err), "unknown revision 'no-such-branch'");
	vd_error_release(&err);
}

static void plan__json_shape(void **s)
{
	struct fixture *f = *s;
	vd_error err = VD_ERROR_INIT;
	vd_buf out = VD_BUF_INIT;
	yajl_val v, f0;
	vd_plan p;

	repo_put(&f->rp, "src/config.py", "X = 4\n", 0644);
	plan_from_base(f, NULL, &p);
	assert_int_equal(vd_plan_json(&p, &out), 0);
	v = vd_json_parse(vd_buf_cstr(&out), &err);
	assert_non_null(v);
	assert_string_equal(vd_json_str(v, "type"), "APP_ONLY");
	assert_string_equal(vd_json_str(v, "from"), f->base);
	assert_string_equal(vd_json_str(v, "to"), p.to);
	assert_false(vd_json_bool(v, "forced", true));
	assert_non_null(vd_json_str(v, "reason"));
	f0 = vd_json_idx(vd_json_get(v, "files"), 0);
	assert_string_equal(vd_json_str(f0, "path"), "src/config.py");
	assert_string_equal(vd_json_str(f0, "status"), "modified");
	assert_string_equal(vd_json_str(f0, "tier"), "APP_ONLY");
	assert_string_equal(vd_json_str(f0, "rule"), "*.py");
	yajl_tree_free(v);
	vd_buf_release(&out);
	vd_plan_release(&p);
}

static void plan__deployed_commit_from_state(void **s)
{
	struct fixture *f = *s;
	vd_error err = VD_ERROR_INIT;
	char dir[] = "/tmp/vd-state-XXXXXX", path[512], *commit = NULL;
	const char *source = NULL;
	vd_state st;
	FILE *fp;

	assert_non_null(mkdtemp(dir));
	/* nothing there: a first deploy (no engine asked) */
	assert_int_equal(vd_plan_deployed_commit(dir, NULL, "p", &commit, &source, &err), 0);
	assert_null(commit);
	memset(&st, 0, sizeof(st));
	st.project = strdup("p");
	st.commit = strdup(f->base);
	assert_int_equal(vd_kvs_add(&st.images, "voxpersona", "sha256:abc"), 0);
	assert_int_equal(vd_state_save(dir, &st, &err), 0);
	vd_state_release(&st);
	assert_int_equal(vd_plan_deployed_commit(dir, NULL, "p", &commit, &source, &err), 0);
	assert_string_equal(commit, f->base);
	assert_string_equal(source, "state");
	free(commit);
	assert_int_equal(vd_state_load(dir, &st, &err), 0);
	assert_string_equal(vd_kvs_get(&st.images, "voxpersona"), "sha256:abc");
	vd_state_release(&st);
	/* a broken state file is an error, never a silent first deploy */
	snprintf(path, sizeof(path), "%s/current.json", dir);
	fp = fopen(path, "w");
	fputs("{\"commit\":\"not-a-sha\"}", fp);
	fclose(fp);
	assert_int_equal(vd_plan_deployed_commit(dir, NULL, "p", &commit, &source, &err), VD_EINVAL);
	assert_non_null(strstr(vd_error_msg(&err), "is not a full commit id"));
	fp = fopen(path, "w");
	fputs("{\"commit\":", fp);
	fclose(fp);
	assert_int_equal(vd_plan_deployed_commit(dir, NULL, "p", &commit, &source, &err), VD_EPROTO);
	unlink(path);
	rmdir(dir);
	vd_error_release(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(plan__readme_edit, setup, teardown),
		cmocka_unit_test_setup_teardown(plan__guides_and_changelog, setup, teardown),
		cmocka_unit_test_setup_teardown(plan__config_py, setup, teardown),
		cmocka_unit_test_setup_teardown(plan__prompts, setup, teardown),
		cmocka_unit_test_setup_teardown(plan__code_and_docs, setup, teardown),
		cmocka_unit_test_setup_teardown(plan__compose_comment, setup, teardown),
		cmocka_unit_test_setup_teardown(plan__requirements, setup, teardown),
		cmocka_unit_test_setup_teardown(plan__dockerfile, setup, teardown),
		cmocka_unit_test_setup_teardown(plan__manual_no_restart_over_code, setup, teardown),
		cmocka_unit_test_setup_teardown(plan__manual_full_over_docs, setup, teardown),
		cmocka_unit_test_setup_teardown(plan__manual_auto_is_no_override, setup, teardown),
		cmocka_unit_test_setup_teardown(plan__renames_count_both_paths, setup, teardown),
		cmocka_unit_test_setup_teardown(plan__rename_away_from_a_higher_tier, setup, teardown),
		cmocka_unit_test_setup_teardown(plan__deletion_mode_and_submodule, setup, teardown),
		cmocka_unit_test_setup_teardown(plan__no_changes_first_deploy_missing_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(plan__json_shape, setup, teardown),
		cmocka_unit_test_setup_teardown(plan__deployed_commit_from_state, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
