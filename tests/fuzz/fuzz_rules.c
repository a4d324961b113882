/* The gitignore-style globs of the deploy rules: a pattern, a NUL, then
 * paths one per line matched against it. */
#include "controller/plan/rules.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	vd_error err = VD_ERROR_INIT;
	vd_rules_glob *g = NULL;
	const uint8_t *paths;
	size_t plen, alen;
	char *pat;

	fuzz_split(data, size, &paths, &plen, &alen);
	pat = fuzz_cstr(data, alen);
	if (!pat)
		return 0;
	if (!vd_rules_glob_new(pat, &g, &err)) {
		const char *p = (const char *)paths, *end = p + plen;

		while (p <= end) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);

			if (!memchr(p, 0, n))
				(void)vd_rules_glob_match_len(g, p, n);
			p += n + 1;
		}
		vd_rules_glob_free(g);
	}
	{
		vd_tier t;
		bool is_auto;

		(void)vd_tier_parse(pat, &t, &err);
		(void)vd_tier_parse_type(pat, &is_auto, &t, &err);
	}
	free(pat);
	vd_error_release(&err);
	return 0;
}
