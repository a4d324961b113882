/* voxdeploy.yml: the settings file, with interpolation, and its JSON view. */
#include "common/buf.h"
#include "common/log.h"
#include "controller/config/config.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	vd_error err = VD_ERROR_INIT;
	vd_config *c = NULL;

	if (!vd_config_parse((const char *)data, size, "voxdeploy.yml", fuzz_lookup, NULL, &c, &err)) {
		vd_buf out = VD_BUF_INIT;

		(void)vd_config_json(c, &out);
		vd_buf_release(&out);
		vd_config_free(c);
	}
	vd_error_release(&err);
	vd_secret_clear();
	return 0;
}
