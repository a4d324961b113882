/* The multiplexed stdout/stderr stream of logs and exec, in pieces; the
 * first byte picks raw (TTY) mode, a small frame cap and the chunking. */
#include "common/buf.h"
#include "docker_api/logs.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	vd_error err = VD_ERROR_INIT;
	vd_buf out, errout;
	vd_logs_sink sink;
	vd_logs_demux m;
	unsigned sel;
	size_t off = 0;
	int r = 0;

	if (size < 1)
		return 0;
	sel = data[0];
	data++;
	size--;
	vd_buf_init(&out, (sel & 4) ? 16 : 1 << 16);
	vd_buf_init(&errout, 1 << 16);
	sink = (vd_logs_sink){ &out, (sel & 8) ? NULL : &errout, false };
	vd_logs_demux_init(&m, sel & 1, (sel & 2) ? 32 : 0, vd_logs_sink_cb, &sink);
	while (off < size && r == 0) {
		size_t c = fuzz_chunk(sel >> 4, size - off);

		r = vd_logs_demux_feed(&m, (const char *)data + off, c, &err);
		off += c;
	}
	if (r == 0)
		(void)vd_logs_demux_finish(&m, &err);
	vd_logs_demux_release(&m);
	vd_buf_release(&out);
	vd_buf_release(&errout);
	vd_error_release(&err);
	return 0;
}
