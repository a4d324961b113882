/* The .env reader (compose's rules), and the masking of conninfo strings and
 * URLs that such values feed. */
#include "common/buf.h"
#include "common/json.h"
#include "controller/config/config.h"
#include "controller/model/interpolate.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	vd_error err = VD_ERROR_INIT;
	vd_kvs kvs = { 0 };
	vd_buf out = VD_BUF_INIT;
	char *s;

	(void)vd_dotenv_parse((const char *)data, size, ".env", fuzz_lookup, NULL, &kvs, &err);
	vd_kvs_release(&kvs);
	s = fuzz_cstr(data, size);
	if (s) {
		(void)vd_config_mask_conninfo(s, &out);
		vd_buf_clear(&out);
		(void)vd_config_mask_url(s, &out);
		free(s);
	}
	vd_buf_release(&out);
	vd_error_release(&err);
	return 0;
}
