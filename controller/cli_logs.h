/* voxdeploy — how `logs` prints: each line prefixed with its service as
 * compose does ("app      | " — the name padded to the longest of those
 * shown, coloured only on a terminal), every line through the redactor, and
 * output gathered into large writes.
 *
 * Lines come in blocks of whole lines (vd_logs_lines); the blocks of one
 * service are held together and redacted as one text, so the redactor runs
 * once per block of lines, not once per line.
 */
#ifndef VD_CONTROLLER_CLI_LOGS_H
#define VD_CONTROLLER_CLI_LOGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "common/buf.h"
#include "common/error.h"

typedef struct vd_logview {
	FILE *out;
	char **prefix;       /* per service: "name   | " (with colour codes) */
	size_t *prefix_len;
	size_t n;
	size_t held_of;      /* the service whose lines `held` are */
	vd_buf held;         /* whole lines not yet redacted */
	vd_buf clean;        /* redacted */
	vd_buf text;         /* prefixed, to be written */
} vd_logview;

/* The services that will be shown, in a fixed order (a line names its
 * service by index).  colour: the prefixes in compose's colours. */
int vd_logview_init(vd_logview *v, FILE *out, const char *const *services, size_t n, bool colour,
		    vd_error *err);
void vd_logview_release(vd_logview *v);

/* Whole lines of service i, each ending in '\n'. */
int vd_logview_lines(vd_logview *v, size_t i, const char *lines, size_t len, vd_error *err);
/* Redact, prefix and write what is held; fflush when flush. */
int vd_logview_flush(vd_logview *v, bool flush, vd_error *err);

#endif
