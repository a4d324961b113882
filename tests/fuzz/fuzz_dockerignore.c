/* .dockerignore: the file's text, a NUL, then context paths one per line
 * asked of the matcher (and cleaned as Go's filepath.Clean would). */
#include "docker_api/dockerignore.h"
#include "docker_api/path.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	vd_error err = VD_ERROR_INIT;
	vd_dockerignore *di = NULL;
	const uint8_t *paths;
	size_t plen, alen;

	fuzz_split(data, size, &paths, &plen, &alen);
	if (!vd_dockerignore_parse((const char *)data, alen, &di, &err)) {
		char *list = fuzz_cstr(paths, plen), *save = NULL, *p;

		for (p = list ? strtok_r(list, "\n", &save) : NULL; p; p = strtok_r(NULL, "\n", &save)) {
			char *c = vd_path_clean(p);

			(void)vd_dockerignore_excluded(di, p);
			(void)vd_dockerignore_matches(di, p);
			(void)vd_dockerignore_reopens(di, p);
			(void)vd_dockerignore_keep(di, p, &err);
			free(c);
		}
		for (size_t i = 0; i < vd_dockerignore_count(di); i++) {
			bool ex;

			(void)vd_dockerignore_pattern(di, i, &ex);
		}
		free(list);
		vd_dockerignore_free(di);
	}
	vd_error_release(&err);
	return 0;
}
