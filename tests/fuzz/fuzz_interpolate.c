/* ${VAR} interpolation (compose files, voxdeploy.yml, .env values), the
 * duration and byte-size parsers and the command splitter. */
#include "common/buf.h"
#include "controller/model/compose.h"
#include "controller/model/interpolate.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	vd_error err = VD_ERROR_INIT;
	vd_buf out = VD_BUF_INIT;
	vd_kvs unset = { 0 };
	char *in = fuzz_cstr(data, size);
	char **words = NULL;
	size_t n = 0;
	int64_t v;

	if (!in)
		return 0;
	(void)vd_interpolate(in, fuzz_lookup, NULL, &out, &unset, &err);
	(void)vd_compose_parse_duration(in, &v);
	(void)vd_compose_parse_bytes(in, &v);
	if (!vd_compose_split_words(in, &words, &n)) {
		for (size_t i = 0; i < n; i++)
			free(words[i]);
		free(words);
	}
	vd_kvs_release(&unset);
	vd_buf_release(&out);
	vd_error_release(&err);
	free(in);
	return 0;
}
