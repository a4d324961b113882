/* What page.c and page_deploys.c share: text for HTML, times, and the
 * deploys of the journal's records.  Private to controller/serve. */
#ifndef VD_CONTROLLER_SERVE_PAGE_PRIVATE_H
#define VD_CONTROLLER_SERVE_PAGE_PRIVATE_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "common/buf.h"
#include "common/json.h"

/* s redacted, then escaped for HTML text and quoted attribute values
 * (NULL: nothing). */
void page_text(vd_buf *out, const char *s);
/* The same for the first n bytes of s. */
void page_textn(vd_buf *out, const char *s, size_t n);

/* A journal timestamp ("2026-11-27T00:30:00.123Z") in unix ms; 0 when
 * there is none or it cannot be read. */
int64_t page_ts_ms(const char *ts);
/* "850 ms", "12.3 s", "4m05s", "2h13m". */
void page_duration(int64_t ms, char out[32]);
/* "<time datetime=…>ts</time> (3 min ago)". */
void page_when(vd_buf *out, const char *ts, time_t now);

/* One deploy as its records tell it (the strings point into the records). */
struct page_deploy {
	const char *id;
	const char *type, *from, *to, *actor, *note, *detail;
	const char *result;   /* the last "deploy" record's state: done, failed,
			       * restore_failed; NULL: not finished */
	const char *started;  /* the first record's ts */
	int64_t t0, t1;       /* its first and last record, unix ms */
	int64_t duration_ms;  /* the deploy record's, else t1 - t0 */
	bool rolled_back;     /* failed, and the previous version was restored */
	bool rollback_run;    /* a `voxdeploy rollback` */
};

/* The deploys of records (a JSON array, newest first), newest first, at
 * most cap; how many. */
size_t page_deploys(yajl_val records, struct page_deploy *out, size_t cap);
/* The badge of a deploy's outcome ("done", "failed · rolled back", ...). */
void page_deploy_badge(vd_buf *out, const struct page_deploy *d);
/* The timeline section: one entry per deploy with its steps as bars. */
void page_timeline(vd_buf *out, yajl_val records, const struct page_deploy *d, size_t n,
		   time_t now);

#endif
