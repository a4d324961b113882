/* A Dockerfile's stages, ARGs and COPY/ADD sources: the file's text, a NUL,
 * then context paths one per line matched against the sources that reach
 * the image. */
#include "controller/plan/dockerfile.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const args[] = { "APP=app", "TARGETARCH=amd64", NULL };
	vd_error err = VD_ERROR_INIT;
	vd_dockerfile *df = NULL;
	const uint8_t *paths;
	size_t plen, alen;

	fuzz_split(data, size, &paths, &plen, &alen);
	if (!vd_dockerfile_parse((const char *)data, alen, &df, &err)) {
		vd_dockerfile_sources s;
		const char *target = NULL;

		memset(&s, 0, sizeof(s));
		if (df->n_stages && df->stages[0].name)
			target = df->stages[0].name;
		(void)vd_dockerfile_stage_find(df, "build");
		if (!vd_dockerfile_final_sources(df, plen & 1 ? target : NULL, args, &s, &err)) {
			char *list = fuzz_cstr(paths, plen), *save = NULL, *p;

			for (p = list ? strtok_r(list, "\n", &save) : NULL; p;
			     p = strtok_r(NULL, "\n", &save)) {
				(void)vd_dockerfile_sources_match(&s, p);
				for (size_t i = 0; i < s.n_refs && i < 8; i++)
					(void)vd_dockerfile_source_matches(s.refs[i].pattern, p);
			}
			free(list);
			vd_dockerfile_sources_release(&s);
		}
		vd_dockerfile_free(df);
	}
	vd_error_release(&err);
	return 0;
}
