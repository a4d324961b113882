/* Unit tests of the rules matcher.
 *
 * Every (pattern, path, match) case of the glob table was checked against
 * git itself: the pattern as the only line of a .gitignore in an empty
 * repository, the path through `git check-ignore --no-index -z --stdin`
 * (git 2.39; a path that does not exist counts as a file, its leading
 * directories as directories).  The test itself never runs git.
 *
 * The one case where we differ from git on purpose is not in the table but
 * after it: git's literal-prefix shortcut (dir.c match_pathname) hands
 * wildmatch the pattern from its first wildcard on, so in an anchored
 * "docs" + "**" + "/x" the "**" counts as leading and becomes a globstar (git
 * matches docs/z/x and docsy/z/x); gitignore(5) says such a "**" is a plain
 * "*", which is what we do.
 *
 * The upstream-difference cases compute upstream's own verdict with the
 * workflow's regular expressions (regcomp, REG_EXTENDED, as grep -E) so the
 * table cannot drift from what the workflow really did.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <regex.h>
#include <time.h>
#include <cmocka.h>

#include "controller/plan/rules.h"

struct gc {
	const char *pattern;
	const char *path;
	bool want;
};

static const struct gc glob_cases[] = {
	/* literal names match the name of the file or of a directory, at any depth */
	{ "Dockerfile", "Dockerfile", true },
	{ "Dockerfile", "services/bot/Dockerfile", true },
	{ "Dockerfile", "Dockerfile.dev", false },
	{ "Dockerfile", "docs/Dockerfile-notes.md", false },
	{ "Dockerfile", "app.Dockerfile", false },
	{ "Dockerfile", "Dockerfile/readme", true },
	{ "requirements.txt", "requirements.txt", true },
	{ "requirements.txt", "api/requirements.txt", true },
	{ "requirements.txt", "dev-requirements.txt", false },
	{ "requirements.txt", "old_requirements.txt.bak", false },
	{ "docker-compose.yml", "deploy/docker-compose.yml", true },
	{ "docker-compose.yml", "docker-compose.yml.bak", false },
	{ "docker-compose.yml", "docker-compose_yml", false },
	{ ".gitignore", "src/.gitignore", true },
	{ ".gitignore", "foo.gitignore", false },
	/* '*' stays within one name; no special case for dot files */
	{ "*.md", "README.md", true },
	{ "*.md", "docs/a/b.md", true },
	{ "*.md", "README.md.bak", false },
	{ "*.md", ".md", true },
	{ "*.md", "notes.md/run.sh", true },
	{ "*.md", "a.MD", false },
	{ "*", "any/where/at/all", true },
	{ "*.py", "a.pyc", false },
	{ "README*", "README", true },
	{ "README*", "src/README_parser.py", true },
	{ "README*", "scripts/update_README.sh", false },
	{ "README*", "readme.md", false },
	{ "a*b*c", "axxbyyc", true },
	{ "a*b*c", "axxbyy", false },
	{ "*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false },
	/* '?' */
	{ "?.txt", "a.txt", true },
	{ "?.txt", "ab.txt", false },
	{ "/a?b", "a/b", false },
	{ "a?b", "a\nb", true },
	/* bracket expressions */
	{ "[abc].txt", "b.txt", true },
	{ "[abc].txt", "d.txt", false },
	{ "[!abc].txt", "d.txt", true },
	{ "[^abc].txt", "a.txt", false },
	{ "[a-c]x", "bx", true },
	{ "[a-c]x", "dx", false },
	{ "[z-a]", "m", false },
	{ "[]]", "]", true },
	{ "[!]]x", "ax", true },
	{ "[!]]x", "]x", false },
	{ "[a-]", "-", true },
	{ "[\\]]", "]", true },
	{ "[[:digit:]]*.sql", "sql/001_init.sql", true },
	{ "[[:digit:]]*.sql", "init.sql", false },
	{ "[[:upper:]]*", "Makefile", true },
	{ "[[:upper:]]*", "makefile", false },
	{ "[[:space:]]", "\t", true },
	{ "q[[:a]", "q:", true },
	{ "x[/]y", "x/y", false },
	{ "[!a]", "b/c", true },
	{ "\\[a]", "[a]", true },
	{ "\\[a]", "a", false },
	/* "**" */
	{ "**/foo", "foo", true },
	{ "**/foo", "a/b/foo", true },
	{ "**/foo", "a/b/foo/bar", true },
	{ "**/foo", "xfoo", false },
	{ "foo/**", "foo/a", true },
	{ "foo/**", "foo/a/b", true },
	{ "foo/**", "foo", false },
	{ "foo/**", "x/foo/a", false },
	{ "foo/**/", "foo/a", false },
	{ "foo/**/", "foo/a/b", true },
	{ "a/**/b", "a/b", true },
	{ "a/**/b", "a/x/y/b", true },
	{ "a/**/b", "a/x/yb", false },
	{ "a/**/b", "x/a/b", false },
	{ "a/**/**/b", "a/b", true },
	{ "a**b", "axxb", true },
	{ "a**b", "ax/xb", false },
	{ "a/**b", "a/xb", true },
	{ "a/**b", "a/x/yb", false },
	{ "**", "x/y", true },
	{ "/**", "x", true },
	{ "**/", "x", false },
	{ "**/", "x/y", true },
	/* a '/' at the start or in the middle anchors to the root */
	{ "/Dockerfile", "Dockerfile", true },
	{ "/Dockerfile", "svc/Dockerfile", false },
	{ "deploy/*.yml", "deploy/app.yml", true },
	{ "deploy/*.yml", "x/deploy/app.yml", false },
	{ "deploy/*.yml", "deploy/a/app.yml", false },
	{ "a/b", "a/b/c", true },
	{ "a/b", "x/a/b", false },
	/* a trailing '/' matches directories: every file below one */
	{ "docs/", "docs/a.md", true },
	{ "docs/", "x/docs/b.md", true },
	{ "docs/", "docs", false },
	{ "docs/", "docsx/a", false },
	{ "docs/", "mydocs/a", false },
	{ "/docs/", "docs/b.md", true },
	{ "/docs/", "x/docs/b.md", false },
	{ "sql_scripts/", "old_sql_scripts/x.py", false },
	{ "src/", "lib/src/x.c", true },
	{ "src/", "mysrc/notes.md", false },
	{ "a/b/", "a/b", false },
	{ "a/b/", "a/b/c", true },
	{ "*.d/", "conf.d/x", true },
	{ "*.d/", "conf.d", false },
	/* '\' escapes */
	{ "\\*.md", "*.md", true },
	{ "\\*.md", "a.md", false },
	{ "\\!important", "!important", true },
	{ "a\\ b", "a b", true },
	{ "\\#x", "#x", true },
	{ "a\\/b", "a/b", true },
	{ "\\?", "x", false },
	/* any bytes */
	{ "*.md", "docs/caf\303\251.md", true },
	{ "*.md", "with space/a b.md", true },
	{ "*.md", "new\nline.md", true },
	{ "\377*", "dir/\377x", true },
	{ "[\200-\377]", "\351", true },
	{ "?", "\377", true },
	{ "[[:alpha:]]", "\351", false },
};

static void rules__glob_table(void **state)
{
	size_t i, n = sizeof(glob_cases) / sizeof(glob_cases[0]);
	int failures = 0;

	assert_true(n >= 60);
	for (i = 0; i < n; i++) {
		vd_error err = VD_ERROR_INIT;
		vd_rules_glob *g = NULL;
		bool got;

		if (vd_rules_glob_new(glob_cases[i].pattern, &g, &err)) {
			print_error("#%zu: pattern \"%s\" refused: %s\n", i, glob_cases[i].pattern,
				    vd_error_msg(&err));
			failures++;
			vd_error_release(&err);
			continue;
		}
		got = vd_rules_glob_match(g, glob_cases[i].path);
		if (got != glob_cases[i].want) {
			print_error("#%zu: pattern \"%s\" path \"%s\": got %s, want %s\n", i,
				    glob_cases[i].pattern, glob_cases[i].path, got ? "match" : "no match",
				    glob_cases[i].want ? "match" : "no match");
			failures++;
		}
		/* the length-taking variant agrees, and stops at len */
		assert_int_equal(vd_rules_glob_match_len(g, glob_cases[i].path,
							 strlen(glob_cases[i].path)), got);
		assert_string_equal(vd_rules_glob_pattern(g), glob_cases[i].pattern);
		vd_rules_glob_free(g);
	}
	assert_int_equal(failures, 0);

	/* the deliberate divergence described at the top */
	{
		vd_error err = VD_ERROR_INIT;
		vd_rules_glob *g = NULL;

		assert_int_equal(vd_rules_glob_new("docs**/x", &g, &err), 0);
		assert_true(vd_rules_glob_match(g, "docsy/x"));
		assert_false(vd_rules_glob_match(g, "docs/z/x"));
		assert_false(vd_rules_glob_match(g, "docsy/z/x"));
		vd_rules_glob_free(g);
	}
}

struct cc {
	const char *path;
	vd_tier want;
	const char *rule;   /* NULL: the fallback decided */
};

static int run_classify(const vd_rules *r, const struct cc *cases, size_t n)
{
	size_t i;
	int failures = 0;

	for (i = 0; i < n; i++) {
		const char *rule = "unset";
		vd_tier got = vd_rules_classify(r, cases[i].path, &rule);

		if (got != cases[i].want ||
		    (cases[i].rule ? !rule || strcmp(rule, cases[i].rule) : rule != NULL)) {
			print_error("\"%s\": got %s by %s, want %s by %s\n", cases[i].path,
				    vd_tier_name(got), rule ? rule : "(default)",
				    vd_tier_name(cases[i].want),
				    cases[i].rule ? cases[i].rule : "(default)");
			failures++;
		}
		/* rule may be NULL */
		assert_int_equal(vd_rules_classify(r, cases[i].path, NULL), got);
	}
	return failures;
}

#define CLASSIFY(r, table) \
	assert_int_equal(run_classify(r, table, sizeof(table) / sizeof(table[0])), 0)

/* Upstream's own test plan and defaults, one file at a time. */
static void rules__default_upstream(void **state)
{
	static const struct cc cases[] = {
		{ "README.md", VD_TIER_NO_RESTART, "*.md" },
		{ "DEPLOYMENT_GUIDE.md", VD_TIER_NO_RESTART, "*.md" },
		{ "SETUP.md", VD_TIER_NO_RESTART, "*.md" },
		{ "CHANGELOG.md", VD_TIER_NO_RESTART, "*.md" },
		{ "CHANGELOG", VD_TIER_NO_RESTART, "CHANGELOG*" },
		{ "README", VD_TIER_NO_RESTART, "README*" },
		{ "DEPLOYMENT_GUIDE", VD_TIER_NO_RESTART, "DEPLOYMENT_GUIDE*" },
		{ "docs/index.rst", VD_TIER_NO_RESTART, "*.rst" },
		{ "docs/diagram.png", VD_TIER_NO_RESTART, "docs/" },
		{ ".gitignore", VD_TIER_NO_RESTART, ".gitignore" },
		{ ".env.template", VD_TIER_NO_RESTART, ".env.template" },
		{ ".env.example", VD_TIER_NO_RESTART, ".env.example" },
		{ "notes.txt", VD_TIER_NO_RESTART, "*.txt" },
		{ "src/config.py", VD_TIER_APP_ONLY, "*.py" },
		{ "main.py", VD_TIER_APP_ONLY, "*.py" },
		{ "src/handlers/start.json", VD_TIER_APP_ONLY, "src/" },
		{ "src/README.md", VD_TIER_APP_ONLY, "src/" },
		/* app_only's prompts/ beats no_restart's *.txt */
		{ "prompts/x.txt", VD_TIER_APP_ONLY, "prompts/" },
		{ "prompts-by-scenario/interview/q.txt", VD_TIER_APP_ONLY, "prompts-by-scenario/" },
		{ "docker-compose.yml", VD_TIER_FULL_RESTART, "docker-compose.yml" },
		{ "Dockerfile", VD_TIER_FULL_RESTART, "Dockerfile" },
		{ "sql_scripts/a.sql", VD_TIER_FULL_RESTART, "*.sql" },
		{ "sql_scripts/README.md", VD_TIER_FULL_RESTART, "sql_scripts/" },
		{ "db/migrate.sql", VD_TIER_FULL_RESTART, "*.sql" },
		/* full_restart's requirements.txt beats no_restart's *.txt */
		{ "requirements.txt", VD_TIER_FULL_RESTART, "requirements.txt" },
		{ "unknown.cfg", VD_TIER_APP_ONLY, NULL },
		{ "Makefile", VD_TIER_APP_ONLY, NULL },
		{ ".github/workflows/deploy.yml", VD_TIER_APP_ONLY, NULL },
	};
	static const char *const full[] = {
		"docker-compose.yml", "Dockerfile", "requirements.txt", "*.sql", "sql_scripts/",
	};
	static const char *const app[] = { "*.py", "src/", "prompts/", "prompts-by-scenario/" };
	static const char *const docs[] = {
		"*.md", "*.txt", "*.rst", "README*", "CHANGELOG*", ".gitignore",
		"DEPLOYMENT_GUIDE*", ".env.template", ".env.example", "docs/",
	};
	vd_error err = VD_ERROR_INIT;
	vd_rules *r = NULL;
	size_t i;

	assert_int_equal(vd_rules_default(&r, &err), 0);
	assert_int_equal(vd_rules_fallback(r), VD_TIER_APP_ONLY);
	assert_int_equal(vd_rules_count(r, VD_TIER_FULL_RESTART), 5);
	assert_int_equal(vd_rules_count(r, VD_TIER_APP_ONLY), 4);
	assert_int_equal(vd_rules_count(r, VD_TIER_NO_RESTART), 10);
	for (i = 0; i < 5; i++)
		assert_string_equal(vd_rules_pattern(r, VD_TIER_FULL_RESTART, i), full[i]);
	for (i = 0; i < 4; i++)
		assert_string_equal(vd_rules_pattern(r, VD_TIER_APP_ONLY, i), app[i]);
	for (i = 0; i < 10; i++)
		assert_string_equal(vd_rules_pattern(r, VD_TIER_NO_RESTART, i), docs[i]);
	assert_null(vd_rules_pattern(r, VD_TIER_NO_RESTART, 10));
	CLASSIFY(r, cases);
	vd_rules_free(r);
}

/* The per-file tier is the highest tier with a matching pattern, whatever
 * order the tiers were filled in; within it, the first pattern added is the
 * one reported. */
static void rules__highest_tier_wins(void **state)
{
	static const struct cc cases[] = {
		{ "prompts/a.txt", VD_TIER_APP_ONLY, "prompts/" },
		{ "requirements.txt", VD_TIER_FULL_RESTART, "requirements.txt" },
		{ "config/requirements.txt", VD_TIER_FULL_RESTART, "requirements.txt" },
		/* the catch-all "*" comes second in NO_RESTART: *.txt is reported */
		{ "notes.txt", VD_TIER_NO_RESTART, "*.txt" },
		{ "prompts/big.bin", VD_TIER_APP_ONLY, "prompts/" },
		{ "x/prompts/a.sql", VD_TIER_FULL_RESTART, "*.sql" },
		{ "a.sql", VD_TIER_FULL_RESTART, "*.sql" },
		{ "other", VD_TIER_NO_RESTART, "*" },
	};
	vd_error err = VD_ERROR_INIT;
	vd_rules *r = NULL;

	assert_int_equal(vd_rules_new(&r, &err), 0);
	assert_int_equal(vd_rules_fallback(r), VD_TIER_APP_ONLY);
	/* lowest tier first, and a catch-all at the bottom */
	assert_int_equal(vd_rules_add(r, VD_TIER_NO_RESTART, "*.txt", &err), 0);
	assert_int_equal(vd_rules_add(r, VD_TIER_NO_RESTART, "*", &err), 0);
	assert_int_equal(vd_rules_add(r, VD_TIER_FULL_RESTART, "*.sql", &err), 0);
	assert_int_equal(vd_rules_add(r, VD_TIER_FULL_RESTART, "requirements.txt", &err), 0);
	assert_int_equal(vd_rules_add(r, VD_TIER_APP_ONLY, "prompts/", &err), 0);
	assert_int_equal(vd_rules_add(r, VD_TIER_APP_ONLY, "*.txt", &err), 0);
	/* "notes.txt" matches NO_RESTART's *.txt and APP_ONLY's *.txt */
	assert_int_equal(vd_rules_classify(r, "notes.txt", NULL), VD_TIER_APP_ONLY);
	vd_rules_clear(r, VD_TIER_APP_ONLY);
	assert_int_equal(vd_rules_count(r, VD_TIER_APP_ONLY), 0);
	assert_int_equal(vd_rules_add(r, VD_TIER_APP_ONLY, "prompts/", &err), 0);
	CLASSIFY(r, cases);

	/* an empty rule set: everything is the fallback */
	vd_rules_clear(r, VD_TIER_NO_RESTART);
	vd_rules_clear(r, VD_TIER_APP_ONLY);
	vd_rules_clear(r, VD_TIER_FULL_RESTART);
	assert_int_equal(vd_rules_classify(r, "a.sql", NULL), VD_TIER_APP_ONLY);
	vd_rules_set_fallback(r, VD_TIER_NO_RESTART);
	assert_int_equal(vd_rules_fallback(r), VD_TIER_NO_RESTART);
	vd_rules_set_fallback(r, (vd_tier)9);  /* ignored */
	assert_int_equal(vd_rules_classify(r, "a.sql", NULL), VD_TIER_NO_RESTART);
	vd_rules_free(r);
	vd_rules_free(NULL);
	vd_rules_glob_free(NULL);
}

/* Upstream's workflow: FULL if any changed file matches full, else APP if
 * any matches app, else NO_RESTART if all match docs, else APP — for one file,
 * the highest tier whose regex matches. */
static const char *const upstream_full =
	"(docker-compose\\.yml|Dockerfile|requirements\\.txt|\\.sql$|sql_scripts/)";
static const char *const upstream_app = "(\\.py$|src/|prompts/|prompts-by-scenario/)";
static const char *const upstream_docs =
	"(\\.md$|\\.txt$|\\.rst$|README|CHANGELOG|\\.gitignore$|DEPLOYMENT_GUIDE)";

static vd_tier upstream_tier(const char *path)
{
	regex_t full, app, docs;
	vd_tier t;

	assert_int_equal(regcomp(&full, upstream_full, REG_EXTENDED | REG_NOSUB), 0);
	assert_int_equal(regcomp(&app, upstream_app, REG_EXTENDED | REG_NOSUB), 0);
	assert_int_equal(regcomp(&docs, upstream_docs, REG_EXTENDED | REG_NOSUB), 0);
	if (!regexec(&full, path, 0, NULL, 0))
		t = VD_TIER_FULL_RESTART;
	else if (!regexec(&app, path, 0, NULL, 0))
		t = VD_TIER_APP_ONLY;
	else if (!regexec(&docs, path, 0, NULL, 0))
		t = VD_TIER_NO_RESTART;
	else
		t = VD_TIER_APP_ONLY;
	regfree(&full);
	regfree(&app);
	regfree(&docs);
	return t;
}

struct uc {
	const char *path;
	vd_tier ours;
	vd_tier upstream;
};

/* Where glob matching decides differently from upstream's substring grep
 * (the list in rules.c and the README), plus look-alikes that agree. */
static void rules__glob_vs_upstream_grep(void **state)
{
	static const struct uc cases[] = {
		/* whole names, not substrings */
		{ "docs/Dockerfile-notes.md", VD_TIER_NO_RESTART, VD_TIER_FULL_RESTART },
		{ "Dockerfile.dev", VD_TIER_APP_ONLY, VD_TIER_FULL_RESTART },
		{ "app.Dockerfile", VD_TIER_APP_ONLY, VD_TIER_FULL_RESTART },
		{ "docker-compose.yml.bak", VD_TIER_APP_ONLY, VD_TIER_FULL_RESTART },
		{ "old_requirements.txt.bak", VD_TIER_APP_ONLY, VD_TIER_FULL_RESTART },
		{ "dev-requirements.txt", VD_TIER_NO_RESTART, VD_TIER_FULL_RESTART },
		/* whole directory names */
		{ "old_sql_scripts/x.py", VD_TIER_APP_ONLY, VD_TIER_FULL_RESTART },
		{ "mysrc/notes.md", VD_TIER_NO_RESTART, VD_TIER_APP_ONLY },
		{ "old_prompts/a.txt", VD_TIER_NO_RESTART, VD_TIER_APP_ONLY },
		/* README* / CHANGELOG* / DEPLOYMENT_GUIDE* are name prefixes */
		{ "scripts/update_README.sh", VD_TIER_APP_ONLY, VD_TIER_NO_RESTART },
		{ "tools/bump-CHANGELOG.sh", VD_TIER_APP_ONLY, VD_TIER_NO_RESTART },
		{ "foo.gitignore", VD_TIER_APP_ONLY, VD_TIER_NO_RESTART },
		/* no_restart patterns upstream never had */
		{ ".env.example", VD_TIER_NO_RESTART, VD_TIER_APP_ONLY },
		{ ".env.template", VD_TIER_NO_RESTART, VD_TIER_APP_ONLY },
		{ "docs/run.sh", VD_TIER_NO_RESTART, VD_TIER_APP_ONLY },
		/* a matching directory matches everything below it */
		{ "notes.md/run.sh", VD_TIER_NO_RESTART, VD_TIER_APP_ONLY },
		{ "dump.sql/x.py", VD_TIER_FULL_RESTART, VD_TIER_APP_ONLY },
		/* agreements that look like differences */
		{ "src/README_parser.py", VD_TIER_APP_ONLY, VD_TIER_APP_ONLY },
		{ "lib/src/x.c", VD_TIER_APP_ONLY, VD_TIER_APP_ONLY },
		{ "requirements-dev.txt", VD_TIER_NO_RESTART, VD_TIER_NO_RESTART },
		{ "deploy/docker-compose.yml", VD_TIER_FULL_RESTART, VD_TIER_FULL_RESTART },
		{ "docs/src/x.md", VD_TIER_APP_ONLY, VD_TIER_APP_ONLY },
		{ "docs/config.py", VD_TIER_APP_ONLY, VD_TIER_APP_ONLY },
		{ "README.rst", VD_TIER_NO_RESTART, VD_TIER_NO_RESTART },
		{ "readme.txt", VD_TIER_NO_RESTART, VD_TIER_NO_RESTART },
	};
	vd_error err = VD_ERROR_INIT;
	vd_rules *r = NULL;
	size_t i;
	int failures = 0;

	assert_int_equal(vd_rules_default(&r, &err), 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		vd_tier ours = vd_rules_classify(r, cases[i].path, NULL);
		vd_tier up = upstream_tier(cases[i].path);

		if (ours != cases[i].ours || up != cases[i].upstream) {
			print_error("\"%s\": ours %s (want %s), upstream %s (want %s)\n",
				    cases[i].path, vd_tier_name(ours), vd_tier_name(cases[i].ours),
				    vd_tier_name(up), vd_tier_name(cases[i].upstream));
			failures++;
		}
	}
	assert_int_equal(failures, 0);
	vd_rules_free(r);
}

/* Patterns that are malformed or can never match are refused, with the
 * pattern quoted, and leave the rule set as it was. */
static void rules__bad_globs(void **state)
{
	static const char *const bad[] = {
		"/", "//", "///",
		"[", "a[b", "*.[ch", "[!", "[]", "[a-", "[\\", "[[:alpha:]",
		"[[:nosuch:]]", "[[::]]",
		"a\\", "\\",
		"!docs/keep.md", "!",
		"a//b", "//a", "docs//", "/a//",
		"./Dockerfile", "src/../x", ".", "..", "a/.", "a\\/",
	};
	vd_error err = VD_ERROR_INIT;
	vd_rules *r = NULL;
	vd_rules_glob *g = NULL;
	size_t i;

	assert_int_equal(vd_rules_new(&r, &err), 0);
	assert_int_equal(vd_rules_add(r, VD_TIER_FULL_RESTART, "Dockerfile", &err), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char quoted[64];

		if (vd_rules_add(r, VD_TIER_FULL_RESTART, bad[i], &err) != VD_EINVAL) {
			print_error("pattern \"%s\" was accepted\n", bad[i]);
			fail();
		}
		snprintf(quoted, sizeof(quoted), "'%s'", bad[i]);
		if (!strstr(vd_error_msg(&err), quoted)) {
			print_error("message for \"%s\" does not quote it: %s\n", bad[i],
				    vd_error_msg(&err));
			fail();
		}
		assert_int_equal(vd_rules_count(r, VD_TIER_FULL_RESTART), 1);
		assert_int_equal(vd_rules_glob_new(bad[i], &g, &err), VD_EINVAL);
		assert_null(g);
	}
	assert_int_equal(vd_rules_add(r, VD_TIER_FULL_RESTART, "", &err), VD_EINVAL);
	assert_string_equal(vd_error_msg(&err), "empty pattern");
	assert_int_equal(vd_rules_add(r, VD_TIER_FULL_RESTART, NULL, &err), VD_EINVAL);
	assert_int_equal(vd_rules_add(r, (vd_tier)7, "x", &err), VD_EINVAL);
	assert_int_equal(vd_rules_add(r, VD_TIER_FULL_RESTART, "a[b", &err), VD_EINVAL);
	assert_string_equal(vd_error_msg(&err),
			    "pattern 'a[b': unterminated '[' (write '\\[' for a literal '[')");
	/* what the config loader will do with it */
	vd_error_prefix(&err, "voxdeploy.yml:7");
	assert_string_equal(vd_error_msg(&err), "voxdeploy.yml:7: pattern 'a[b': unterminated '[' "
			    "(write '\\[' for a literal '[')");
	/* the rule set still works */
	assert_int_equal(vd_rules_classify(r, "x/Dockerfile", NULL), VD_TIER_FULL_RESTART);
	assert_int_equal(vd_rules_count(r, VD_TIER_FULL_RESTART), 1);
	vd_rules_free(r);
	vd_error_release(&err);
}

/* Spaces, newlines, non-UTF-8 bytes and long paths are just bytes. */
static void rules__odd_paths(void **state)
{
	static const struct cc cases[] = {
		{ "docs/my notes.md", VD_TIER_NO_RESTART, "*.md" },
		{ "src/with space/a b.py", VD_TIER_APP_ONLY, "*.py" },
		{ "line\nbreak.md", VD_TIER_NO_RESTART, "*.md" },
		{ "sql_scripts/new\nline", VD_TIER_FULL_RESTART, "sql_scripts/" },
		{ "a\nDockerfile", VD_TIER_APP_ONLY, NULL },
		{ "docs/caf\303\251.md", VD_TIER_NO_RESTART, "*.md" },
		{ "bin/\377\376.md", VD_TIER_NO_RESTART, "*.md" },
		{ "\377/Dockerfile", VD_TIER_FULL_RESTART, "Dockerfile" },
		{ "\377\377\377", VD_TIER_APP_ONLY, NULL },
		{ "\t", VD_TIER_APP_ONLY, NULL },
		{ "", VD_TIER_APP_ONLY, NULL },
	};
	vd_error err = VD_ERROR_INIT;
	vd_rules *r = NULL;
	vd_rules_glob *g = NULL;
	size_t n = 8192, i;
	char *p = malloc(n + 16), *deep = malloc(2 * 4100 + 32);
	const char *rule;

	assert_non_null(p);
	assert_non_null(deep);
	assert_int_equal(vd_rules_default(&r, &err), 0);
	CLASSIFY(r, cases);

	/* one 8 KiB name */
	memset(p, 'x', n);
	memcpy(p + n, ".md", 4);
	assert_int_equal(vd_rules_classify(r, p, &rule), VD_TIER_NO_RESTART);
	assert_string_equal(rule, "*.md");
	memcpy(p + n, ".sh", 4);
	assert_int_equal(vd_rules_classify(r, p, &rule), VD_TIER_APP_ONLY);
	assert_null(rule);
	/* 4,100 directories, the deciding one at the bottom or the top */
	for (i = 0; i < 4100; i++)
		memcpy(deep + 2 * i, "d/", 2);
	strcpy(deep + 2 * 4100, "sql_scripts/x");
	assert_int_equal(vd_rules_classify(r, deep, &rule), VD_TIER_FULL_RESTART);
	assert_string_equal(rule, "sql_scripts/");
	memcpy(deep, "docs/", 5);
	for (i = 0; i < 4100; i++)
		memcpy(deep + 5 + 2 * i, "d/", 2);
	strcpy(deep + 5 + 2 * 4100, "run.sh");
	assert_int_equal(vd_rules_classify(r, deep, &rule), VD_TIER_NO_RESTART);
	assert_string_equal(rule, "docs/");
	/* an anchored pattern deep down */
	assert_int_equal(vd_rules_glob_new("docs/**/run.sh", &g, &err), 0);
	assert_true(vd_rules_glob_match(g, deep));
	deep[0] = 'e';
	assert_false(vd_rules_glob_match(g, deep));
	vd_rules_glob_free(g);
	/* classify_len looks at len bytes only */
	assert_int_equal(vd_rules_classify_len(r, "Dockerfile.md", 10, &rule), VD_TIER_FULL_RESTART);
	assert_string_equal(rule, "Dockerfile");
	free(p);
	free(deep);
	vd_rules_free(r);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Inputs that make a backtracking matcher exponential must stay instant. */
static void rules__pathological(void **state)
{
	struct pc {
		const char *pattern;
		const char *unit;   /* repeated */
		size_t times;
		const char *tail;
		bool want;
	} cases[] = {
		{ "**/**/**/**/a", "x/", 200, "b", false },
		{ "**/**/**/**/a", "x/", 200, "a", true },
		{ "**/**/**/**/**/**/**/**/**/**/**/**/a/", "x/", 300, "b", false },
		{ "**/a/**/a/**/a/**/a/**/a/**/a/**/b", "a/", 300, "a", false },
		{ "**/a/**/a/**/a/**/a/**/a/**/a/**/b", "a/", 300, "b", true },
		{ "/**/x*x*x*x*x*x*x*x*y/**/z", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx/", 100, "q", false },
		{ "*a*a*a*a*a*a*a*a*a*a*a*b", "a", 8192, "", false },
		{ "*a*a*a*a*a*a*a*a*a*a*a*b", "a", 8192, "b", true },
		{ "?*?*?*?*?*?*?*?*?*?*?*?*[!a]", "a", 8192, "", false },
	};
	size_t i, k;
	double t0 = now();

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t ul = strlen(cases[i].unit);
		char *path = malloc(ul * cases[i].times + strlen(cases[i].tail) + 1);
		vd_error err = VD_ERROR_INIT;
		vd_rules_glob *g = NULL;

		assert_non_null(path);
		for (k = 0; k < cases[i].times; k++)
			memcpy(path + k * ul, cases[i].unit, ul);
		strcpy(path + k * ul, cases[i].tail);
		assert_int_equal(vd_rules_glob_new(cases[i].pattern, &g, &err), 0);
		if (vd_rules_glob_match(g, path) != cases[i].want) {
			print_error("pattern \"%s\": want %s\n", cases[i].pattern,
				    cases[i].want ? "match" : "no match");
			fail();
		}
		vd_rules_glob_free(g);
		free(path);
	}
	/* generous: a backtracking matcher would not finish at all; under
	 * valgrind this takes a few milliseconds */
	assert_true(now() - t0 < 2.0);
}

/* The benchmark's shape: 100,000 paths through the default rules. */
static void rules__many_paths(void **state)
{
	static const char *const dirs[] = { "src/", "docs/", "src/handlers/", "prompts/", "tests/",
					    "sql_scripts/", "a/b/c/d/", "" };
	static const char *const names[] = { "main.py", "README.md", "data.json", "notes.txt",
					     "Dockerfile", "x.sql", "run.sh", "CHANGELOG" };
	size_t counts[VD_TIER_COUNT] = { 0, 0, 0 };
	vd_error err = VD_ERROR_INIT;
	vd_rules *r = NULL;
	char path[256];
	double t0;
	size_t i;

	assert_int_equal(vd_rules_default(&r, &err), 0);
	t0 = now();
	for (i = 0; i < 100000; i++) {
		snprintf(path, sizeof(path), "%smod%zu/%s", dirs[i % 8], i % 97, names[(i / 8) % 8]);
		counts[vd_rules_classify(r, path, NULL)]++;
	}
	assert_int_equal(counts[0] + counts[1] + counts[2], 100000);
	assert_true(counts[0] > 0 && counts[1] > 0 && counts[2] > 0);
	assert_true(now() - t0 < 10.0);
	vd_rules_free(r);
}

static void rules__tier_names(void **state)
{
	static const struct {
		const char *s;
		vd_tier t;
	} ok[] = {
		{ "no_restart", VD_TIER_NO_RESTART }, { "no-restart", VD_TIER_NO_RESTART },
		{ "NO_RESTART", VD_TIER_NO_RESTART }, { "app_only", VD_TIER_APP_ONLY },
		{ "app-only", VD_TIER_APP_ONLY }, { "APP_ONLY", VD_TIER_APP_ONLY },
		{ "full_restart", VD_TIER_FULL_RESTART }, { "full", VD_TIER_FULL_RESTART },
		{ "FULL_RESTART", VD_TIER_FULL_RESTART },
	};
	static const char *const bad[] = { "", "auto", "Full", "app only", "full-restart ", "none" };
	vd_error err = VD_ERROR_INIT;
	vd_tier t;
	bool is_auto;
	size_t i;

	assert_true(VD_TIER_NO_RESTART < VD_TIER_APP_ONLY);
	assert_true(VD_TIER_APP_ONLY < VD_TIER_FULL_RESTART);
	assert_string_equal(vd_tier_name(VD_TIER_NO_RESTART), "NO_RESTART");
	assert_string_equal(vd_tier_name(VD_TIER_APP_ONLY), "APP_ONLY");
	assert_string_equal(vd_tier_name(VD_TIER_FULL_RESTART), "FULL_RESTART");
	assert_string_equal(vd_tier_name((vd_tier)3), "?");
	assert_string_equal(vd_tier_cli_name(VD_TIER_NO_RESTART), "no-restart");
	assert_string_equal(vd_tier_cli_name(VD_TIER_APP_ONLY), "app-only");
	assert_string_equal(vd_tier_cli_name(VD_TIER_FULL_RESTART), "full");
	assert_string_equal(vd_tier_config_name(VD_TIER_FULL_RESTART), "full_restart");
	assert_string_equal(vd_tier_config_name(VD_TIER_APP_ONLY), "app_only");
	assert_string_equal(vd_tier_config_name(VD_TIER_NO_RESTART), "no_restart");

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		t = (vd_tier)-1;
		assert_int_equal(vd_tier_parse(ok[i].s, &t, &err), 0);
		assert_int_equal(t, ok[i].t);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		t = VD_TIER_APP_ONLY;
		assert_int_equal(vd_tier_parse(bad[i], &t, &err), VD_EINVAL);
		assert_int_equal(t, VD_TIER_APP_ONLY);
		assert_non_null(strstr(vd_error_msg(&err), "no_restart, app_only or full_restart"));
	}
	assert_int_equal(vd_tier_parse(NULL, &t, &err), VD_EINVAL);

	/* --type: the four workflow_dispatch choices, exactly */
	t = VD_TIER_NO_RESTART;
	assert_int_equal(vd_tier_parse_type("auto", &is_auto, &t, &err), 0);
	assert_true(is_auto);
	assert_int_equal(t, VD_TIER_NO_RESTART);
	assert_int_equal(vd_tier_parse_type("full", &is_auto, &t, &err), 0);
	assert_false(is_auto);
	assert_int_equal(t, VD_TIER_FULL_RESTART);
	assert_int_equal(vd_tier_parse_type("app-only", &is_auto, &t, &err), 0);
	assert_int_equal(t, VD_TIER_APP_ONLY);
	assert_int_equal(vd_tier_parse_type("no-restart", &is_auto, &t, &err), 0);
	assert_false(is_auto);
	assert_int_equal(t, VD_TIER_NO_RESTART);
	{
		static const char *const bad_types[] = {
			"", "AUTO", "app_only", "full_restart", "NO_RESTART", "restart", "full ",
		};

		for (i = 0; i < sizeof(bad_types) / sizeof(bad_types[0]); i++) {
			is_auto = true;
			t = VD_TIER_APP_ONLY;
			assert_int_equal(vd_tier_parse_type(bad_types[i], &is_auto, &t, &err),
					 VD_EINVAL);
			assert_true(is_auto);
			assert_int_equal(t, VD_TIER_APP_ONLY);
		}
	}
	assert_int_equal(vd_tier_parse_type("restart", &is_auto, &t, &err), VD_EINVAL);
	assert_string_equal(vd_error_msg(&err), "invalid deployment type 'restart': expected one "
			    "of auto, full, app-only, no-restart");
	assert_int_equal(vd_tier_parse_type(NULL, &is_auto, &t, &err), VD_EINVAL);
	vd_error_release(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rules__glob_table),
		cmocka_unit_test(rules__default_upstream),
		cmocka_unit_test(rules__highest_tier_wins),
		cmocka_unit_test(rules__glob_vs_upstream_grep),
		cmocka_unit_test(rules__bad_globs),
		cmocka_unit_test(rules__odd_paths),
		cmocka_unit_test(rules__pathological),
		cmocka_unit_test(rules__many_paths),
		cmocka_unit_test(rules__tier_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
