/* voxdeploy — the one libcurl adapter.
 *
 * Every transfer voxdeploy makes (the Engine API client, the HTTP probe,
 * the notifications) goes through these helpers, so that there is one
 * place for each thing libcurl needs done:
 *
 *   - libcurl is initialised once per process, never per request
 *     (once, done by vd_curl_easy_new / vd_curl_multi_new);
 *   - options are set through vd_curl_setopt(), which remembers the first
 *     one libcurl refuses (the habit of curl's own tool, my_setopt), so a
 *     setup is a list of short lines and one vd_curl_opts_check() at its
 *     end;
 *   - a body is captured by one write callback into a vd_buf with its cap,
 *     and what happens past the cap is the caller's choice;
 *   - a transfer's CURLcode becomes a vd_error through one table
 *     (vd_curl_error).
 *
 * The users keep their own logic (streams, verdicts, retries); they hold
 * raw CURL and CURLM handles and free them with the helpers below, which
 * accept NULL.
 */
#ifndef VD_DOCKER_API_CURL_UTIL_H
#define VD_DOCKER_API_CURL_UTIL_H

#include <curl/curl.h>
#include <stdbool.h>

#include "common/buf.h"
#include "common/error.h"

/* A new easy or multi handle, libcurl initialised first.  VD_ENOMEM "out of
 * memory" (or "cannot initialise libcurl"); *out untouched on failure. */
int vd_curl_easy_new(CURL **out, vd_error *err);
int vd_curl_multi_new(CURLM **out, vd_error *err);
/* NULL is a no-op. */
void vd_curl_easy_free(CURL *e);
void vd_curl_multi_free(CURLM *m);

/* ---- options ---- */

/* The options of one setup: the handle (easy or multi) and the first
 * option libcurl refused.  Once one failed, later vd_curl_setopt()s are
 * skipped, as in curl's tool. */
typedef struct vd_curl_opts {
	CURL *easy;
	CURLM *multi;
	const char *failed;   /* its name ("CURLOPT_URL"); NULL while all took */
	const char *why;      /* libcurl's words for it */
	int code;             /* VD_ENOMEM when libcurl ran out of memory, else VD_ERR */
} vd_curl_opts;

#define VD_CURL_OPTS_EASY(e) { (e), NULL, NULL, NULL, 0 }
#define VD_CURL_OPTS_MULTI(m) { NULL, (m), NULL, NULL, 0 }

/* curl_easy_setopt / curl_multi_setopt (libcurl's type checks included),
 * the result noted in o. */
#define vd_curl_setopt(o, opt, val) \
	((o)->failed ? (void)0 : vd_curl_opts_note((o), #opt, curl_easy_setopt((o)->easy, opt, val)))
#define vd_curl_multi_setopt(o, opt, val)                                          \
	((o)->failed ? (void)0                                                     \
		     : vd_curl_opts_mnote((o), #opt, curl_multi_setopt((o)->multi, opt, val)))

/* What the macros call; not for direct use. */
void vd_curl_opts_note(vd_curl_opts *o, const char *name, CURLcode rc);
void vd_curl_opts_mnote(vd_curl_opts *o, const char *name, CURLMcode mc);

/* 0 when every option took; else err gets "cannot set up the request:
 * CURLOPT_URL: <libcurl's words>" and o->code is returned.  err may be
 * NULL. */
int vd_curl_opts_check(const vd_curl_opts *o, vd_error *err);

/* What every transfer sets: the URL, no signals (we run threads and our
 * own timeouts), the protocols allowed ("http" or "http,https") and the
 * User-Agent. */
void vd_curl_set_basics(vd_curl_opts *o, const char *url, const char *protocols,
			const char *user_agent);
/* The method: HEAD asks for no body, GET is libcurl's own, any other verb
 * goes as it is (a body, if any, is the caller's to set). */
void vd_curl_set_method(vd_curl_opts *o, const char *method);

/* ---- the body ---- */

/* What happens to a body larger than its buffer's cap. */
typedef enum vd_curl_overflow {
	VD_CURL_OVERFLOW_FAIL = 0,  /* stop the transfer: vd_curl_error() says VD_ETOOBIG */
	VD_CURL_OVERFLOW_STOP,      /* keep the first max bytes and stop: enough was read */
	VD_CURL_OVERFLOW_DROP,      /* keep the first max bytes, read and drop the rest */
} vd_curl_overflow;

typedef struct vd_curl_body {
	vd_buf *buf;                /* where it goes, up to buf->max; NULL: read and dropped */
	vd_curl_overflow overflow;
	int result;                 /* out: 0; VD_ETOOBIG when more came than fitted;
				     * VD_ENOMEM when appending failed (the transfer stops) */
} vd_curl_body;

/* The write callback (CURLOPT_WRITEFUNCTION) for a vd_curl_body given as
 * its CURLOPT_WRITEDATA; callers with a callback of their own hand their
 * body bytes on to it. */
size_t vd_curl_body_write(char *data, size_t size, size_t n, void *body);
/* Both options for body, noted in o. */
void vd_curl_set_body(vd_curl_opts *o, vd_curl_body *body);
/* Empty the buffer and forget the result, for another attempt. */
void vd_curl_body_clear(vd_curl_body *body);

/* ---- results ---- */

/* The error of a transfer libcurl ended with rc, from one table: 0 for
 * CURLE_OK; VD_ETIMEOUT for a timeout; VD_ECONNECT when the connection
 * could not be made (refused, host not found); VD_ENOMEM; anything else
 * VD_EPROTO.  err gets libcurl's words: errbuf (CURLOPT_ERRORBUFFER) when
 * it holds any, else curl_easy_strerror(rc); errbuf may be NULL.
 *
 * With body (may be NULL): a body past its cap is VD_ETOOBIG "response
 * larger than N bytes" when it was to fail there, and no error at all when
 * it was to stop there (libcurl's write error is then ours); a body that
 * could not be stored is VD_ENOMEM. */
int vd_curl_error(CURLcode rc, const char *errbuf, const vd_curl_body *body, vd_error *err);

/* Whether the connection failed or broke without an answer (refused, not
 * resolved, reset, nothing received, a TLS handshake failed): another
 * attempt may fare better. */
bool vd_curl_connection_failed(CURLcode rc);

/* The HTTP status of the last answer on e, 0 when none came. */
long vd_curl_status(CURL *e);

/* ---- headers ---- */

/* Append one header line ("Content-Type: application/json", "Expect:" to
 * drop one) to *list; on failure the list is as it was.  0 or VD_ENOMEM. */
int vd_curl_headers_add(struct curl_slist **list, const char *line);
int vd_curl_headers_addf(struct curl_slist **list, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Free the list and set it to NULL; NULL lists are fine. */
void vd_curl_headers_free(struct curl_slist **list);

#endif
