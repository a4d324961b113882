/* The engine's JSON-lines streams: GET /events and POST /build progress, fed
 * in pieces as they arrive.  The first byte picks the stream and the chunking. */
#include "common/json.h"
#include "docker_api/build.h"
#include "docker_api/events.h"
#include "fuzz.h"

static int on_event(const vd_event *ev, void *ctx, vd_error *err)
{
	size_t *n = ctx;

	(void)err;
	(void)vd_event_attr(ev, "name");
	(void)vd_event_attr(ev, "exitCode");
	return ++*n > 1000 ? VD_EVENTS_STOP : 0;
}

static void on_progress(const char *line, void *ctx)
{
	(void)line;
	(void)ctx;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	vd_error err = VD_ERROR_INIT;
	unsigned sel;
	size_t off = 0, n = 0;
	int r = 0;

	if (size < 1)
		return 0;
	sel = data[0];
	data++;
	size--;
	if (sel & 1) {
		vd_events_parser p;

		vd_events_parser_init(&p, (sel & 2) ? 64 : 0, on_event, &n);
		while (off < size && r == 0) {
			size_t c = fuzz_chunk(sel >> 2, size - off);

			r = vd_events_parser_feed(&p, (const char *)data + off, c, &err);
			off += c;
		}
		if (r == 0)
			(void)vd_events_parser_finish(&p, &err);
		vd_events_parser_release(&p);
	} else {
		vd_build_stream s;
		char *id = NULL;

		vd_build_stream_init(&s, on_progress, NULL, NULL);
		while (off < size && r == 0) {
			size_t c = fuzz_chunk(sel >> 2, size - off);

			r = vd_build_stream_feed(&s, (const char *)data + off, c, &err);
			off += c;
		}
		if (r == 0)
			(void)vd_build_stream_finish(&s, &id, &err);
		free(id);
		vd_build_stream_release(&s);
	}
	vd_error_release(&err);
	return 0;
}
