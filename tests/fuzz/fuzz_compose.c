/* The compose loader from memory: one file, or two merged when the input
 * holds a NUL (the text before it is the base, after it the override); then
 * every service's config hash as compose v2 and as compose 1.29 compute it. */
#include "common/log.h"
#include "controller/model/compose.h"
#include "controller/model/spec.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	vd_compose_options opts = { "/proj", NULL, fuzz_lookup, NULL };
	vd_error err = VD_ERROR_INIT;
	vd_compose *c = NULL;
	vd_compose_source src[2];
	const uint8_t *b;
	size_t alen, blen;

	fuzz_split(data, size, &b, &blen, &alen);
	src[0] = (vd_compose_source){ "compose.yaml", (const char *)data, alen };
	src[1] = (vd_compose_source){ "override.yaml", (const char *)b, blen };
	if (!vd_compose_load(src, b < data + size || blen ? 2 : 1, &opts, &c, &err)) {
		for (size_t i = 0; vd_compose_ordered(c, i); i++) {
			const vd_compose_service *s = vd_compose_ordered(c, i);
			vd_kvs env = { NULL, 0 };
			char hash[65];

			if (!vd_compose_service_env(s, fuzz_lookup, NULL, &env, &err)) {
				vd_spec_compose_hash(c, s, &env, hash, &err);
				vd_spec_compose_hash_v1(c, s, &env, "sha256:0", hash, &err);
			}
			vd_error_release(&err);
			vd_kvs_release(&env);
		}
		(void)vd_compose_default_app(c);
		vd_compose_free(c);
	}
	vd_error_release(&err);
	vd_secret_clear();
	return 0;
}
