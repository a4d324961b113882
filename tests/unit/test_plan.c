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
#include "controller/plan/plan.h"
#include "controller/model/project.h"
#include "controller/plan/reach.h"
#include "controller/state/state.h"
#include "gitrepo.h"
#include "testutil.h"

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
	tu_write_str(dir, "current.json", "{\"commit\":\"not-a-sha\"}");
	assert_int_equal(vd_plan_deployed_commit(dir, NULL, "p", &commit, &source, &err), VD_EINVAL);
	assert_non_null(strstr(vd_error_msg(&err), "is not a full commit id"));
	tu_write_str(dir, "current.json", "{\"commit\":");
	assert_int_equal(vd_plan_deployed_commit(dir, NULL, "p", &commit, &source, &err), VD_EPROTO);
	snprintf(path, sizeof(path), "%s/current.json", dir);
	unlink(path);
	rmdir(dir);
	vd_error_release(&err);
}

/* --- image-aware mode ---------------------------------------------------- */

static const char compose_yml[] =
	"services:\n"
	"  voxpersona:\n"
	"    build:\n"
	"      context: .\n"
	"      target: production\n"
	"    container_name: voxpersona_app\n"
	"    volumes:\n"
	"      - ./logs:/app/logs\n"
	"  postgres:\n"
	"    image: postgres:15\n"
	"    volumes:\n"
	"      - ./sql_scripts:/docker-entrypoint-initdb.d:ro\n"
	"      - ./pg/postgresql.conf:/etc/postgresql/postgresql.conf:ro\n"
	"      - pgdata:/var/lib/postgresql/data\n"
	"volumes:\n"
	"  pgdata: {}\n";

static const char dockerfile[] =
	"FROM python:3.11-slim AS builder\n"
	"COPY requirements.txt .\n"
	"RUN pip wheel -r requirements.txt -w /wheels\n"
	"\n"
	"FROM python:3.11-slim AS docs\n"
	"COPY docs-src/ /docs/\n"
	"\n"
	"FROM python:3.11-slim AS production\n"
	"COPY --from=builder /wheels /wheels\n"
	"COPY src/ ./src/\n"
	"COPY Description/ ./Description/\n"
	"COPY prompts/ ./prompts/\n";

struct aware {
	struct repo rp;
	char base[VD_SHA_HEX];
	vd_git *g;
	vd_rules *rules;
	vd_project proj;
	char *files[1];
};

static int aware_setup(void **state)
{
	struct aware *a = calloc(1, sizeof(*a));
	vd_error err = VD_ERROR_INIT;

	repo_init(&a->rp);
	repo_put(&a->rp, "docker-compose.yml", compose_yml, 0644);
	repo_put(&a->rp, "Dockerfile", dockerfile, 0644);
	repo_put(&a->rp, ".dockerignore", "src/tests\n**/*.pyc\n", 0644);
	repo_put(&a->rp, "requirements.txt", "aiogram\n", 0644);
	repo_put(&a->rp, "src/bot.py", "print(1)\n", 0644);
	repo_put(&a->rp, "src/tests/test_bot.py", "assert True\n", 0644);
	repo_put(&a->rp, "Description/intro.md", "hello\n", 0644);
	repo_put(&a->rp, "prompts/a.txt", "p\n", 0644);
	repo_put(&a->rp, "docs-src/index.md", "docs\n", 0644);
	repo_put(&a->rp, "tools/helper.py", "print(2)\n", 0644);
	repo_put(&a->rp, ".github/workflows/deploy.yml", "on: push\n", 0644);
	repo_put(&a->rp, "sql_scripts/init.sql", "create table t(x int);\n", 0644);
	repo_put(&a->rp, "pg/postgresql.conf", "max_connections = 20\n", 0644);
	repo_put(&a->rp, "logs/README.md", "logs\n", 0644);
	repo_put(&a->rp, "README.md", "readme\n", 0644);
	repo_commit(&a->rp, a->base);
	assert_int_equal(vd_git_open(a->rp.dir, &a->g, &err), 0);
	assert_int_equal(vd_rules_default(&a->rules, &err), 0);
	a->proj.dir = a->rp.dir;
	assert_int_equal(asprintf(&a->files[0], "%s/docker-compose.yml", a->rp.dir) > 0, 1);
	a->proj.files = a->files;
	a->proj.n_files = 1;
	a->proj.name = (char *)"vp";
	*state = a;
	return 0;
}

static int aware_teardown(void **state)
{
	struct aware *a = *state;

	free(a->files[0]);
	vd_rules_free(a->rules);
	vd_git_free(a->g);
	repo_free(&a->rp);
	free(a);
	return 0;
}

/* Commit, plan image-aware from the base, return the plan. */
static void aware_plan(struct aware *a, vd_plan *p, bool rules_only)
{
	vd_plan_options o = { a->base, NULL, NULL, false, VD_TIER_APP_ONLY, a->rules, NULL };
	vd_error err = VD_ERROR_INIT;
	vd_reach *reach = NULL;
	char head[VD_SHA_HEX];

	repo_commit(&a->rp, head);
	if (!rules_only) {
		if (vd_reach_new(a->g, head, &a->proj, NULL, NULL, NULL, &reach, &err))
			fail_msg("reach: %s", vd_error_msg(&err));
		assert_true(vd_reach_active(reach));
		o.reach = reach;
	}
	if (vd_plan_make(a->g, &o, p, &err))
		fail_msg("plan: %s", vd_error_msg(&err));
	vd_reach_free(reach);
}

static void aware_expect(const vd_plan *p, const char *path, vd_tier tier, const char *rule_part)
{
	const vd_plan_file *f = file(p, path);

	if (!f)
		fail_msg("%s is not in the plan", path);
	if (f->tier != tier || !strstr(f->rule, rule_part))
		fail_msg("%s: got %s (%s), want %s (%s)", path, vd_tier_name(f->tier), f->rule,
			 vd_tier_name(tier), rule_part);
}

static void plan__aware_doc_copied_into_the_image(void **s)
{
	struct aware *a = *s;
	vd_plan p;

	/* upstream called these docs and deployed stale images */
	repo_put(&a->rp, "Description/intro.md", "hello again\n", 0644);
	aware_plan(a, &p, false);
	assert_int_equal(p.type, VD_TIER_APP_ONLY);
	aware_expect(&p, "Description/intro.md", VD_TIER_APP_ONLY, "Dockerfile:11 COPY Description (voxpersona)");
	vd_plan_release(&p);
	/* the rules alone keep upstream's verdict */
	repo_put(&a->rp, "Description/intro.md", "hello a third time\n", 0644);
	aware_plan(a, &p, true);
	assert_int_equal(p.type, VD_TIER_NO_RESTART);
	vd_plan_release(&p);
}

static void plan__aware_lowers_what_reaches_nothing(void **s)
{
	struct aware *a = *s;
	vd_plan p;

	repo_put(&a->rp, "tools/helper.py", "print(3)\n", 0644);                /* never copied */
	repo_put(&a->rp, ".github/workflows/deploy.yml", "on: [push]\n", 0644);  /* CI only */
	repo_put(&a->rp, "src/tests/test_bot.py", "assert 1\n", 0644);          /* .dockerignore'd */
	repo_put(&a->rp, "src/cache.pyc", "x\n", 0644);                         /* .dockerignore'd */
	repo_put(&a->rp, "docs-src/index.md", "docs v2\n", 0644);               /* an unused stage */
	aware_plan(a, &p, false);
	assert_int_equal(p.type, VD_TIER_NO_RESTART);
	aware_expect(&p, "tools/helper.py", VD_TIER_NO_RESTART, "reaches no image");
	aware_expect(&p, ".github/workflows/deploy.yml", VD_TIER_NO_RESTART, "reaches no image");
	aware_expect(&p, "src/tests/test_bot.py", VD_TIER_NO_RESTART, "reaches no image");
	aware_expect(&p, "docs-src/index.md", VD_TIER_NO_RESTART, "reaches no image");
	vd_plan_release(&p);
}

static void plan__aware_raises_mounts_and_keeps_full(void **s)
{
	struct aware *a = *s;
	vd_plan p;

	/* bind-mounted into postgres: another service → FULL_RESTART */
	repo_put(&a->rp, "pg/postgresql.conf", "max_connections = 30\n", 0644);
	/* bind-mounted into the app: at least APP_ONLY */
	repo_put(&a->rp, "logs/README.md", "logs v2\n", 0644);
	/* a full_restart pattern is never lowered */
	repo_put(&a->rp, "requirements.txt", "aiogram\nasyncpg\n", 0644);
	aware_plan(a, &p, false);
	assert_int_equal(p.type, VD_TIER_FULL_RESTART);
	aware_expect(&p, "pg/postgresql.conf", VD_TIER_FULL_RESTART, "bind mount pg/postgresql.conf -> /etc/postgresql/postgresql.conf (postgres)");
	aware_expect(&p, "logs/README.md", VD_TIER_APP_ONLY, "bind mount logs -> /app/logs (voxpersona)");
	aware_expect(&p, "requirements.txt", VD_TIER_FULL_RESTART, "requirements.txt");
	vd_plan_release(&p);
}

static void plan__aware_code_and_infrastructure(void **s)
{
	struct aware *a = *s;
	vd_plan p;

	repo_put(&a->rp, "src/bot.py", "print(4)\n", 0644);
	repo_put(&a->rp, ".dockerignore", "src/tests\n", 0644);
	aware_plan(a, &p, false);
	assert_int_equal(p.type, VD_TIER_APP_ONLY);
	aware_expect(&p, "src/bot.py", VD_TIER_APP_ONLY, "*.py");
	/* infrastructure is never lowered: .dockerignore keeps the default tier */
	aware_expect(&p, ".dockerignore", VD_TIER_APP_ONLY, "(default)");
	vd_plan_release(&p);
}

static void plan__aware_unresolvable_dockerfile_falls_back(void **s)
{
	struct aware *a = *s;
	vd_plan p;

	repo_put(&a->rp, "Dockerfile", "FROM python:3.11-slim AS production\nARG APP=src\nCOPY ${APP}/ ./src/\n", 0644);
	repo_put(&a->rp, "tools/helper.py", "print(5)\n", 0644);
	aware_plan(a, &p, false);
	/* the Dockerfile is FULL by its pattern; helper.py keeps the rules' verdict */
	aware_expect(&p, "tools/helper.py", VD_TIER_APP_ONLY, "*.py");
	assert_non_null(strstr(p.reason, "uses a variable"));
	vd_plan_release(&p);
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
		cmocka_unit_test_setup_teardown(plan__aware_doc_copied_into_the_image, aware_setup, aware_teardown),
		cmocka_unit_test_setup_teardown(plan__aware_lowers_what_reaches_nothing, aware_setup, aware_teardown),
		cmocka_unit_test_setup_teardown(plan__aware_raises_mounts_and_keeps_full, aware_setup, aware_teardown),
		cmocka_unit_test_setup_teardown(plan__aware_code_and_infrastructure, aware_setup, aware_teardown),
		cmocka_unit_test_setup_teardown(plan__aware_unresolvable_dockerfile_falls_back, aware_setup, aware_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
