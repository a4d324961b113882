/* `plan` is how CI previews a deploy, so it must decide what the deploy
 * decides.  On one real repository, commit after commit of the kinds a
 * VoxPersona-like project sees (docs, code, prompts, dependencies, compose,
 * Dockerfile, SQL, renames across tiers, a file no image copies, a new
 * voxdeploy.yml at the target, a forced type, --rules-only, a first deploy),
 * `voxdeploy plan --json --to C` and `voxdeploy deploy --dry-run --json --to C`
 * run against the real engine with the same deployed commit, and their type,
 * from, to, forced, reason and files must be the same — and the type the one
 * a user expects.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/json.h"
#include "controller/state/state.h"
#include "gitrepo.h"
#include "itest.h"
#include "testutil.h"

struct fx {
	char *tmp;
	char proj[512], state[512];
	struct repo rp;
};

/* Run the binary with args (NULL-terminated after the fixed ones); its
 * stdout (caller frees) and exit status. */
static char *run_vd(struct fx *f, const char *const *args, int *status)
{
	const char *argv[24];
	char out[600], err[600];
	size_t n = 0, i;
	pid_t pid;
	char *text;
	struct tu_proc p = { argv, NULL, out, err, NULL, true };

	snprintf(out, sizeof(out), "%s/out", f->tmp);
	snprintf(err, sizeof(err), "%s/err", f->tmp);
	argv[n++] = VD_BINARY;
	argv[n++] = "-C";
	argv[n++] = f->proj;
	argv[n++] = "-p";
	argv[n++] = itest_project();
	argv[n++] = "--state-dir";
	argv[n++] = f->state;
	for (i = 0; args[i] && n < 23; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	pid = tu_spawn(&p);
	*status = tu_wait(pid, 120, args[0]);
	text = tu_slurp(out);
	if (!WIFEXITED(*status) || WEXITSTATUS(*status) != 0) {
		char *e = tu_slurp(err);

		print_error("voxdeploy %s: status %d\nstdout:\n%s\nstderr:\n%s\n", args[0], *status, text, e);
		free(e);
	}
	return text;
}

/* The last line of text that is a JSON object. */
static yajl_val last_object(char *text)
{
	vd_error err = VD_ERROR_INIT;
	char *line = text, *last = NULL, *nl;
	yajl_val v;

	while (*line) {
		nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		if (line[0] == '{')
			last = line;
		if (!nl)
			break;
		line = nl + 1;
	}
	assert_non_null(last);
	v = vd_json_parse(last, &err);
	if (!v)
		fail_msg("not JSON (%s): %s", vd_error_msg(&err), last);
	vd_error_release(&err);
	return v;
}

static void same_str(const char *what, const char *key, const char *a, const char *b)
{
	if ((a == NULL) != (b == NULL) || (a && strcmp(a, b)))
		fail_msg("%s: %s differs: plan \"%s\", deploy \"%s\"", what, key, a ? a : "(none)",
			 b ? b : "(none)");
}

/* plan's object and deploy's result agree; the type is want. */
static void agree(struct fx *f, const char *what, const char *to, const char *extra, const char *want)
{
	char words[64] = "", *extra2 = NULL;
	const char *plan_args[] = { "plan", "--json", "--to", to, NULL, NULL, NULL };
	const char *deploy_args[] = { "deploy", "--dry-run", "--json", "--to", to, NULL, NULL, NULL };
	static const char *const keys[] = { "type", "from", "to", "reason" };
	static const char *const fkeys[] = { "path", "old_path", "status", "tier", "rule" };
	char *ptext, *dtext;
	yajl_val p, d, pf, df;
	int st;
	size_t i, k;

	/* extra: one or two words */
	if (extra) {
		snprintf(words, sizeof(words), "%s", extra);
		if ((extra2 = strchr(words, ' ')))
			*extra2++ = '\0';
		plan_args[4] = deploy_args[5] = words;
		plan_args[5] = deploy_args[6] = extra2;
	}
	ptext = run_vd(f, plan_args, &st);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	dtext = run_vd(f, deploy_args, &st);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	p = last_object(ptext);
	d = last_object(dtext);
	same_str(what, "result", "done", vd_json_str(d, "result"));
	assert_true(vd_json_bool(d, "dry_run", false));
	for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
		same_str(what, keys[k], vd_json_str(p, keys[k]), vd_json_str(d, keys[k]));
	if (strcmp(want, vd_json_str(p, "type")))
		fail_msg("%s: the type is %s, not %s", what, vd_json_str(p, "type"), want);
	if (vd_json_bool(p, "forced", false) != !!(extra && !strncmp(extra, "--type", 6)))
		fail_msg("%s: forced is %d", what, vd_json_bool(p, "forced", false));
	pf = vd_json_get(p, "files");
	df = vd_json_get(d, "files");
	assert_true(YAJL_IS_ARRAY(pf) && YAJL_IS_ARRAY(df));
	if (pf->u.array.len != df->u.array.len)
		fail_msg("%s: plan names %zu files, deploy %zu", what, pf->u.array.len, df->u.array.len);
	for (i = 0; i < pf->u.array.len; i++)
		for (k = 0; k < sizeof(fkeys) / sizeof(fkeys[0]); k++)
			same_str(what, fkeys[k], vd_json_str(pf->u.array.values[i], fkeys[k]),
				 vd_json_str(df->u.array.values[i], fkeys[k]));
	print_message("%-34s %-12s %zu file%s: %s\n", what, vd_json_str(p, "type"), pf->u.array.len,
		      pf->u.array.len == 1 ? "" : "s", vd_json_str(p, "reason"));
	yajl_tree_free(p);
	yajl_tree_free(d);
	free(ptext);
	free(dtext);
}

static void deployed(struct fx *f, const char *commit)
{
	vd_error err = VD_ERROR_INIT;

	if (vd_state_update(f->state, itest_project(), commit, "it-plan-agree", NULL, NULL, &err))
		fail_msg("state: %s", vd_error_msg(&err));
}

static void plan_agree__corpus(void **state)
{
	struct fx f;
	char compose[1024], dockerfile[512], prev[VD_SHA_HEX], c[VD_SHA_HEX];

	(void)state;
	memset(&f, 0, sizeof(f));
	f.tmp = tu_mkdtemp("vd-plan-agree");
	snprintf(f.proj, sizeof(f.proj), "%s/proj", f.tmp);
	snprintf(f.state, sizeof(f.state), "%s/state", f.tmp);
	snprintf(compose, sizeof(compose),
		 "services:\n"
		 "  app:\n"
		 "    build: .\n"
		 "    labels: { io.voxdeploy.test: \"1\" }\n"
		 "    depends_on: [db]\n"
		 "  db:\n"
		 "    image: %s\n"
		 "    command: [\"sleep\", \"600\"]\n"
		 "    labels: { io.voxdeploy.test: \"1\" }\n",
		 itest_busybox_image());
	snprintf(dockerfile, sizeof(dockerfile),
		 "FROM %s\nCOPY requirements.txt /app/\nCOPY src/ /app/src/\nCOPY prompts/ /app/prompts/\n"
		 "CMD [\"sleep\", \"600\"]\n", itest_busybox_image());
	repo_init_at(&f.rp, f.proj);
	repo_put(&f.rp, "README.md", "# bot\n", 0100644);
	repo_put(&f.rp, "docker-compose.yml", compose, 0100644);
	repo_put(&f.rp, "Dockerfile", dockerfile, 0100644);
	repo_put(&f.rp, "requirements.txt", "aiogram\n", 0100644);
	repo_put(&f.rp, "src/main.py", "print('hello from the bot, long enough to be a rename')\n", 0100644);
	repo_put(&f.rp, "src/config.py", "X = 1  # settings, long enough to be found as a rename\n", 0100644);
	repo_put(&f.rp, "prompts/a.txt", "prompt\n", 0100644);
	repo_put(&f.rp, "sql_scripts/init.sql", "create table t(x int);\n", 0100644);
	repo_put(&f.rp, "docs/notes.md", "notes\n", 0100644);
	repo_put(&f.rp, "tools/lint.sh", "echo lint\n", 0100644);
	repo_commit(&f.rp, prev);

	/* nothing deployed: a first deploy */
	agree(&f, "first deploy", prev, NULL, "FULL_RESTART");

#define STEP(what, extra, want, ...)                        \
	do {                                                \
		__VA_ARGS__;                                \
		repo_commit(&f.rp, c);                      \
		deployed(&f, prev);                         \
		agree(&f, what, c, extra, want);            \
		memcpy(prev, c, VD_SHA_HEX);                \
	} while (0)

	STEP("docs", NULL, "NO_RESTART", repo_put(&f.rp, "README.md", "# bot\nmore\n", 0100644));
	STEP("code", NULL, "APP_ONLY", repo_put(&f.rp, "src/main.py", "print('hello again')\n", 0100644));
	STEP("docs and code", NULL, "APP_ONLY",
	     repo_put(&f.rp, "docs/notes.md", "notes 2\n", 0100644);
	     repo_put(&f.rp, "src/main.py", "print('and again')\n", 0100644));
	STEP("prompts", NULL, "APP_ONLY", repo_put(&f.rp, "prompts/a.txt", "prompt 2\n", 0100644));
	STEP("dependencies", NULL, "FULL_RESTART", repo_put(&f.rp, "requirements.txt", "aiogram\nhttpx\n", 0100644));
	STEP("SQL", NULL, "FULL_RESTART", repo_put(&f.rp, "sql_scripts/init.sql", "create table u(y int);\n", 0100644));
	STEP("Dockerfile", NULL, "FULL_RESTART",
	     strcat(dockerfile, "ENV PYTHONUNBUFFERED=1\n");
	     repo_put(&f.rp, "Dockerfile", dockerfile, 0100644));
	STEP(".dockerignore", NULL, "APP_ONLY", repo_put(&f.rp, ".dockerignore", "docs/\n", 0100644));
	STEP("compose file", NULL, "FULL_RESTART",
	     strcat(compose, "    stop_grace_period: 3s\n");
	     repo_put(&f.rp, "docker-compose.yml", compose, 0100644));
	STEP("rename code into docs", NULL, "APP_ONLY",
	     repo_put(&f.rp, "src/config.py", NULL, 0);
	     repo_put(&f.rp, "docs/config.md", "X = 1  # settings, long enough to be found as a rename\n", 0100644));
	STEP("a file no image copies", NULL, "NO_RESTART", repo_put(&f.rp, "tools/lint.sh", "echo lint 2\n", 0100644));
	STEP("the same, --rules-only", "--rules-only", "APP_ONLY",
	     repo_put(&f.rp, "tools/lint.sh", "echo lint 3\n", 0100644));
	STEP("docs, --type full", "--type full", "FULL_RESTART",
	     repo_put(&f.rp, "README.md", "# bot\nmore\nand more\n", 0100644));
	/* the target's own voxdeploy.yml decides: code is docs now */
	STEP("voxdeploy.yml at the target", NULL, "NO_RESTART",
	     repo_put(&f.rp, "voxdeploy.yml",
		      "rules:\n  image_aware: false\n  app_only: []\n  unmatched: no_restart\n", 0100644);
	     repo_put(&f.rp, "src/main.py", "print('quiet')\n", 0100644));
#undef STEP

	repo_close(&f.rp);
	assert_int_equal(tu_rm_rf(f.tmp), 0);
	free(f.tmp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(plan_agree__corpus),
	};

	return cmocka_run_group_tests(tests, NULL, itest_group_teardown);
}
