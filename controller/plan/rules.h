/* voxdeploy — the rules: which restart tier a changed file needs, decided by
 * gitignore-style patterns.
 *
 * A rule set holds one pattern list per tier and the tier for files no
 * pattern matches (APP_ONLY unless changed).  A file gets the HIGHEST tier
 * that has a matching pattern; within that tier the first matching pattern,
 * in the order added, is the one reported as the rule that decided it.
 *
 * Patterns follow gitignore(5), matched like `git check-ignore --no-index`
 * (case-sensitive, bytes, no locale):
 *
 *   `*` any bytes except '/';  `?` one byte except '/';
 *   `[...]` one byte from a set: ranges "a-z", negation "[!...]" or "[^...]",
 *     a leading ']' is literal, '\' escapes, "[:alpha:]"-style classes
 *     (alnum alpha blank cntrl digit graph lower print punct space upper
 *     xdigit, ASCII only); a set never matches '/';
 *   `**` as a whole segment: "**" + "/x" matches x at any depth, "x/" + "**"
 *     everything under x (but not x itself), "a/" + "**" + "/b" zero or more
 *     directories between a and b; any other "**" is a plain `*` (git
 *     itself, through a literal-prefix shortcut, treats the first "**" after
 *     a literal in an anchored pattern as a globstar — "docs" + "**" + "/x"
 *     matches docs/z/x there — this follows the documented rule instead);
 *   `\` makes the next byte literal;
 *   a trailing '/' matches a directory only — since the input is a list of
 *     changed FILES, "docs/" matches every file under a directory named docs;
 *   a '/' at the start or in the middle anchors the pattern to the repository
 *     root ("/Dockerfile", "deploy/prod.env"); without one the pattern matches
 *     the name of the file or of any directory above it, at any depth
 *     ("Dockerfile" matches "services/bot/Dockerfile");
 *   as in git, a pattern that matches a directory matches everything under it
 *     ("*.sql" matches "dump.sql/readme").
 *
 * Unlike a .gitignore file, patterns are taken verbatim (they come from a YAML
 * list, not from lines): no comments, no trimming of trailing blanks.  A
 * leading '!' (negation) is refused rather than silently taken literally —
 * write "\!" for a file name that starts with '!'.
 *
 * Matching never allocates and never fails; it takes time proportional to the
 * path length times the pattern length at worst (no backtracking blow-up on
 * "**").
 */
#ifndef VD_CONTROLLER_RULES_H
#define VD_CONTROLLER_RULES_H

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"

/* The restart tiers, ordered: a higher value needs more restarting. */
typedef enum vd_tier {
	VD_TIER_NO_RESTART = 0,    /* documentation only: files synced, nothing restarted */
	VD_TIER_APP_ONLY = 1,      /* rebuild and recreate the app service */
	VD_TIER_FULL_RESTART = 2,  /* rebuild and recreate every service */
} vd_tier;

#define VD_TIER_COUNT 3

/* "NO_RESTART", "APP_ONLY", "FULL_RESTART" (the plan's and upstream's
 * spelling); "?" for a value outside the enum. */
const char *vd_tier_name(vd_tier tier);

/* The --type spelling: "no-restart", "app-only", "full". */
const char *vd_tier_cli_name(vd_tier tier);

/* The voxdeploy.yml key: "no_restart", "app_only", "full_restart". */
const char *vd_tier_config_name(vd_tier tier);

/* Parse a tier written in any of the three spellings above (exact, case
 * sensitive).  VD_EINVAL listing the accepted names on anything else; *out
 * is untouched on failure. */
int vd_tier_parse(const char *s, vd_tier *out, vd_error *err);

/* Parse a --type value: exactly one of "auto", "full", "app-only",
 * "no-restart" (upstream's workflow_dispatch choices).  "auto" sets *is_auto
 * to true and leaves *out untouched; the other three set *is_auto to false
 * and *out to the tier.  VD_EINVAL naming the value and listing the four on
 * anything else (outputs untouched). */
int vd_tier_parse_type(const char *s, bool *is_auto, vd_tier *out, vd_error *err);

/* One compiled pattern. */
typedef struct vd_rules_glob vd_rules_glob;

/* Compile one pattern.  VD_EINVAL with a message quoting the pattern when it
 * is malformed or can never match: empty, only '/', an empty segment ("a//b"),
 * a "." or ".." segment, an unterminated '[', an unknown "[:class:]", a
 * trailing '\', a leading '!'.  VD_ENOMEM. */
int vd_rules_glob_new(const char *pattern, vd_rules_glob **out, vd_error *err);
void vd_rules_glob_free(vd_rules_glob *g);

/* True when the changed file at path (slash-separated, relative to the
 * repository root, as `git diff --name-only` gives it unquoted; any bytes but
 * NUL) matches the pattern. */
bool vd_rules_glob_match(const vd_rules_glob *g, const char *path);
bool vd_rules_glob_match_len(const vd_rules_glob *g, const char *path, size_t len);

/* The pattern as given to vd_rules_glob_new(). */
const char *vd_rules_glob_pattern(const vd_rules_glob *g);

/* A rule set. */
typedef struct vd_rules vd_rules;

/* An empty rule set: no patterns, unmatched files APP_ONLY. */
int vd_rules_new(vd_rules **out, vd_error *err);

/* Upstream VoxPersona's workflow as patterns:
 *   FULL_RESTART: docker-compose.yml Dockerfile requirements.txt *.sql sql_scripts/
 *   APP_ONLY:     *.py src/ prompts/ prompts-by-scenario/
 *   NO_RESTART:   *.md *.txt *.rst README* CHANGELOG* .gitignore DEPLOYMENT_GUIDE*
 *                 .env.template .env.example docs/
 *   unmatched:    APP_ONLY */
int vd_rules_default(vd_rules **out, vd_error *err);

void vd_rules_free(vd_rules *rules);

/* Append a pattern to a tier's list (see vd_rules_glob_new for what is
 * refused).  On failure the rule set is unchanged; the message quotes the
 * pattern so that a caller can prefix "voxdeploy.yml:12". */
int vd_rules_add(vd_rules *rules, vd_tier tier, const char *pattern, vd_error *err);

/* Drop every pattern of a tier (a config list replaces the default list). */
void vd_rules_clear(vd_rules *rules, vd_tier tier);

/* The tier for files that no pattern matches. */
void vd_rules_set_fallback(vd_rules *rules, vd_tier tier);
vd_tier vd_rules_fallback(const vd_rules *rules);

/* A tier's patterns, in order. */
size_t vd_rules_count(const vd_rules *rules, vd_tier tier);
const char *vd_rules_pattern(const vd_rules *rules, vd_tier tier, size_t i);

/* The tier of one changed file: the highest tier with a matching pattern,
 * else the fallback.  *rule (when rule is not NULL) is set to the deciding
 * pattern, owned by the rule set, or NULL when the fallback decided. */
vd_tier vd_rules_classify(const vd_rules *rules, const char *path, const char **rule);
vd_tier vd_rules_classify_len(const vd_rules *rules, const char *path, size_t len,
			      const char **rule);

#endif
