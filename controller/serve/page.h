/* voxdeploy — the status page `serve` answers at GET /, and its login form.
 *
 * Pure functions from what the JSON endpoints serve to one self-contained
 * HTML document: the cached health report (/v1/report's JSON), the
 * journal's records of the last deploys (/v1/deployments' records), the
 * newest dump per database (/metrics' backups) and current.json.  No
 * external asset: the style and the refreshing script are inline, allowed
 * by the nonce of the response's Content-Security-Policy; the deploy bars
 * are inline SVG with presentation attributes (no style attribute, which
 * that policy forbids).  Every text from the data passes the secret
 * redactor, then HTML escaping.
 */
#ifndef VD_CONTROLLER_SERVE_PAGE_H
#define VD_CONTROLLER_SERVE_PAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/buf.h"
#include "common/json.h"
#include "controller/state/backups.h"
#include "controller/state/lock.h"
#include "controller/state/state.h"

/* How many deploys the page shows. */
#define VD_PAGE_DEPLOYS 20

typedef struct vd_page_input {
	const char *project;            /* NULL: current.json's, else "" */
	const char *report_json;        /* NULL: no report (report_error says why) */
	const char *report_error;
	int64_t report_age_ms;          /* how old the report is */
	const vd_state *current;        /* NULL: nothing deployed */
	const vd_freeze *held;          /* deploys held (voxdeploy lock), or NULL */
	yajl_val records;               /* a JSON array of journal records, newest
					 * first: those of the last deploys (and of
					 * the deployed one); NULL: none */
	const vd_backup_info *backups;  /* the newest dump per service */
	size_t n_backups;
	time_t now;
	const char *nonce;              /* of the style and script elements */
	bool logout;                    /* sessions exist: offer "Log out" */
} vd_page_input;

/* The status page, appended to out: 0, VD_ENOMEM or VD_ETOOBIG.  The nonce
 * appears first in the page's first bytes, before anything from the data
 * (a cache may swap it for a fresh one in place). */
int vd_page_render(const vd_page_input *in, vd_buf *out);

/* The login form (one password field posting `token` to /login), with a
 * message ("wrong token") or none, appended to out. */
int vd_page_login(const char *nonce, const char *message, vd_buf *out);

/* The Content-Security-Policy of a page with that nonce. */
void vd_page_csp(const char *nonce, char *out, size_t size);

#endif
