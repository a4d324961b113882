/* The redactor on any text: structural hiding (secret-named keys, URL
 * passwords) and the registered values, with names of the model kept.  A
 * strong registered value must never come out; nothing may crash. */
#include "fuzz.h"
#include "common/log.h"

#include <stdbool.h>

static const char strong[] = "Zq8-fuzz-Token-41e7";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	vd_buf out = VD_BUF_INIT;
	char *in = fuzz_cstr(data, size);

	if (!ready) {
		vd_log_set_level(VD_LOG_ERROR);
		vd_secret_add_named("DB_PASSWORD", "postgres");
		vd_secret_add(strong);
		vd_secret_add("s3cr3t-pw");
		vd_secret_keep("service", "postgres");
		vd_secret_keep("path", "/var/lib/postgresql/data");
		ready = true;
	}
	if (in && !vd_secret_redact(in, &out) && strstr(vd_buf_cstr(&out), strong))
		abort();
	vd_buf_release(&out);
	free(in);
	return 0;
}
