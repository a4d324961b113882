/* GET / and its login (serve_private.h): the status page made from the
 * cached report, the journal read from its end, current.json and the
 * dumps, kept for a second (or until any of them changes) and served with
 * a fresh CSP nonce each time; the token checked once at POST /login for a
 * session cookie. */
#include "controller/serve/page.h"
#include "controller/serve/serve_private.h"
#include "controller/state/journal.h"
#include "common/clock.h"
#include "common/log.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#define PAGE_TTL_MS 1000
#define NONCE_LEN 32
#define WRONG_TOKEN_PAUSE_MS 500
#define COOKIE "vd_session"

/* Stands in the cached page where each response's nonce goes. */
static const char placeholder[NONCE_LEN + 1] = "00000000000000000000000000000000";

void serve_page_init(vd_serve *s)
{
	vd_buf_init(&s->page, 8 << 20);
	vd_sessions_init(&s->sessions, 0);
}

void serve_page_release(vd_serve *s)
{
	vd_buf_release(&s->page);
	vd_sessions_release(&s->sessions);
}

static int make_nonce(char out[NONCE_LEN + 1])
{
	unsigned char rnd[NONCE_LEN / 2];
	size_t i;

	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return VD_EIO;
	for (i = 0; i < sizeof(rnd); i++)
		snprintf(out + 2 * i, 3, "%02x", rnd[i]);
	return 0;
}

/* ------------------------------------------------------------------ access */

/* Constant-time comparison: the token's length is all a timing tells. */
static bool same_token(const char *given, size_t n, const char *token)
{
	unsigned char diff = 0;
	size_t i;

	if (n != strlen(token))
		return false;
	for (i = 0; i < n; i++)
		diff |= (unsigned char)(given[i] ^ token[i]);
	return diff == 0;
}

static bool session_ok(vd_serve *s, const vd_serve_request *rq)
{
	char id[VD_SESSION_ID_LEN + 1];
	const char *cookies = serve_header(rq, "Cookie");

	return cookies && vd_cookie_get(cookies, COOKIE, id, sizeof(id)) &&
	       vd_session_valid(&s->sessions, id);
}

bool serve_authorized(vd_serve *s, const vd_serve_request *rq)
{
	const char *h = serve_header(rq, "Authorization");

	if (!s->token)
		return true;
	if (h && !strncmp(h, "Bearer ", 7) && same_token(h + 7, strlen(h + 7), s->token))
		return true;
	return session_ok(s, rq);
}

void serve_redirect(vd_serve_answer *a, const char *to)
{
	serve_answer(a, 303, "text/plain; charset=utf-8", "see other\n");
	a->location = to;
}

void serve_login_form(vd_serve *s, vd_serve_answer *a, unsigned status, const char *message)
{
	vd_buf body = VD_BUF_INIT;

	if (make_nonce(a->nonce) || vd_page_login(a->nonce, message, &body)) {
		a->nonce[0] = '\0';
		serve_answer_error(a, 500, "cannot make the login form");
	} else {
		serve_answer(a, status, "text/html; charset=utf-8", vd_buf_cstr(&body));
	}
	vd_buf_release(&body);
}

/* %XX and '+' of a form value, in place; its length. */
static size_t form_decode(char *v, size_t n)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		char c = v[i];

		if (c == '+') {
			c = ' ';
		} else if (c == '%' && i + 2 < n && isxdigit((unsigned char)v[i + 1]) &&
			   isxdigit((unsigned char)v[i + 2])) {
			char hex[3] = { v[i + 1], v[i + 2], '\0' };

			c = (char)strtol(hex, NULL, 16);
			i += 2;
		}
		v[o++] = c;
	}
	return o;
}

/* The value of `token` in an urlencoded form, decoded into out. */
static bool form_token(const char *body, size_t len, char *out, size_t size, size_t *n)
{
	const char *p = body, *end = body + len;

	while (p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *fe = amp ? amp : end;

		if (fe - p >= 6 && !strncmp(p, "token=", 6)) {
			size_t vl = (size_t)(fe - p - 6);

			if (vl >= size)
				return false;
			memcpy(out, p + 6, vl);
			*n = form_decode(out, vl);
			out[*n] = '\0';
			return true;
		}
		p = fe + 1;
	}
	return false;
}

void serve_login(vd_serve *s, const vd_serve_request *rq, vd_serve_answer *a)
{
	const char *type = serve_header(rq, "Content-Type");
	char given[VD_SERVE_MAX_FORM + 1], id[VD_SESSION_ID_LEN + 1];
	size_t n = 0;
	bool ok;

	if (!s->token)
		return serve_redirect(a, "/");  /* nothing to log into */
	if (!type || strncasecmp(type, "application/x-www-form-urlencoded", 33) ||
	    (type[33] && type[33] != ';' && type[33] != ' '))
		return serve_answer_error(a, 415, "a form (application/x-www-form-urlencoded)");
	ok = rq->body && form_token(rq->body, rq->body_len, given, sizeof(given), &n) &&
	     same_token(given, n, s->token);
	memset(given, 0, sizeof(given));
	if (!ok) {
		/* a pause against guessing: it holds one worker thread, not all */
		if (s->opts.login_pause_ms >= 0)
			usleep((useconds_t)(s->opts.login_pause_ms ? s->opts.login_pause_ms
								   : WRONG_TOKEN_PAUSE_MS) * 1000);
		vd_log_info("serve: a login with a wrong token");
		return serve_login_form(s, a, 401, "wrong token");
	}
	if (vd_session_new(&s->sessions, id))
		return serve_answer_error(a, 500, "no randomness for a session");
	serve_redirect(a, "/");
	snprintf(a->cookie, sizeof(a->cookie), COOKIE "=%s; HttpOnly; SameSite=Strict; Path=/; Max-Age=%llu",
		 id, (unsigned long long)(s->sessions.ttl_ms / 1000));
}

void serve_logout(vd_serve *s, const vd_serve_request *rq, vd_serve_answer *a)
{
	char id[VD_SESSION_ID_LEN + 1];
	const char *cookies = serve_header(rq, "Cookie");

	if (cookies && vd_cookie_get(cookies, COOKIE, id, sizeof(id)))
		vd_session_drop(&s->sessions, id);
	serve_redirect(a, "/");
	snprintf(a->cookie, sizeof(a->cookie), COOKIE "=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
}

/* ------------------------------------------------------------------ the page */

/* What the page shows of the journal: every record of the last
 * VD_PAGE_DEPLOYS deploys, and those of the deployed one when it is older,
 * newest first, as a JSON array. */
struct collect {
	yajl_gen g;
	char ids[VD_PAGE_DEPLOYS][VD_DEPLOY_ID_MAX];
	size_t n_ids;
	const char *current;   /* the deployed deploy id, or NULL */
	bool current_begun;    /* its first record was read */
};

static int collect_record(yajl_val rec, void *ctx, vd_error *err)
{
	struct collect *c = ctx;
	const char *id = vd_json_str(rec, "deploy_id"), *step = vd_json_str(rec, "step");
	const char *state = vd_json_str(rec, "state");
	bool current = id && c->current && !strcmp(id, c->current);
	size_t i;

	if (!id)
		return 0;
	for (i = 0; i < c->n_ids && strcmp(c->ids[i], id); i++)
		;
	if (i == c->n_ids && c->n_ids < VD_PAGE_DEPLOYS)
		snprintf(c->ids[c->n_ids++], VD_DEPLOY_ID_MAX, "%s", id);
	if (current && step && state && !strcmp(step, "deploy") && !strcmp(state, "begin"))
		c->current_begun = true;
	if (i < c->n_ids || current)
		vd_jgen_value(c->g, rec);
	/* a deploy older than the last ones: enough, unless the deployed one
	 * is older still */
	if (i == c->n_ids && (!c->current || c->current_begun))
		return VD_JOURNAL_STOP;
	return 0;
}

static yajl_val read_records(const char *state_dir, const char *current)
{
	struct collect c;
	vd_error err = VD_ERROR_INIT;
	vd_buf text = VD_BUF_INIT;
	yajl_val v = NULL;

	memset(&c, 0, sizeof(c));
	c.current = current;
	if (!(c.g = vd_jgen_new()))
		return NULL;
	yajl_gen_array_open(c.g);
	vd_journal_read_back(state_dir, collect_record, &c, &err);
	yajl_gen_array_close(c.g);
	if (!vd_jgen_finish(c.g, &text))
		v = vd_json_parse(vd_buf_cstr(&text), &err);
	vd_buf_release(&text);
	vd_error_release(&err);
	return v;
}

static void key_of(vd_serve *s, struct page_key *k)
{
	struct stat st;
	char path[4200];

	memset(k, 0, sizeof(*k));
	k->report_at = s->report_at;
	if (!s->opts.state_dir)
		return;
	snprintf(path, sizeof(path), "%s/journal.jsonl", s->opts.state_dir);
	if (!stat(path, &st)) {
		k->journal_size = st.st_size;
		k->journal_mtime = st.st_mtim;
	}
	snprintf(path, sizeof(path), "%s/current.json", s->opts.state_dir);
	if (!stat(path, &st))
		k->state_mtime = st.st_mtim;
}

static bool same_key(const struct page_key *a, const struct page_key *b)
{
	return a->report_at == b->report_at && a->journal_size == b->journal_size &&
	       a->journal_mtime.tv_sec == b->journal_mtime.tv_sec &&
	       a->journal_mtime.tv_nsec == b->journal_mtime.tv_nsec &&
	       a->state_mtime.tv_sec == b->state_mtime.tv_sec &&
	       a->state_mtime.tv_nsec == b->state_mtime.tv_nsec;
}

/* With s->lock held: make the page into s->page, the placeholder nonce
 * where the response's goes; 0 or an error code. */
static int make_page(vd_serve *s)
{
	vd_page_input in;
	vd_freeze held = VD_FREEZE_INIT;
	vd_state st;
	vd_error err = VD_ERROR_INIT;
	vd_backup_info *all = NULL;
	vd_buf html = VD_BUF_INIT;
	bool have_state;
	const char *p;
	size_t i, n = 0;
	int r;

	memset(&in, 0, sizeof(in));
	memset(&st, 0, sizeof(st));
	have_state = s->opts.state_dir && !vd_state_load(s->opts.state_dir, &st, &err);
	vd_error_release(&err);
	if (s->opts.state_dir && !vd_backup_list(s->opts.state_dir, &all, &n, &err))
		n = vd_backup_newest_per_service(all, n);
	vd_error_release(&err);
	in.project = s->opts.project;
	if (s->report_at && (!s->report_code || s->report_code == VD_EUNHEALTHY)) {
		in.report_json = vd_buf_cstr(&s->report);
		in.report_age_ms = (int64_t)(vd_now_ms() - s->report_at);
	} else {
		in.report_error = s->report_error;
	}
	in.current = have_state ? &st : NULL;
	if (s->opts.state_dir && !vd_freeze_read(s->opts.state_dir, &held, &err))
		in.held = &held;
	vd_error_release(&err);
	in.records = s->opts.state_dir ? read_records(s->opts.state_dir, have_state ? st.deploy_id : NULL)
				       : NULL;
	in.backups = all;
	in.n_backups = n;
	in.now = time(NULL);
	in.nonce = placeholder;
	in.logout = s->token != NULL;
	r = vd_page_render(&in, &html);
	vd_buf_clear(&s->page);
	/* the page's texts were redacted one by one; the whole once more, as
	 * everything served is */
	if (!r && vd_secret_redact(vd_buf_cstr(&html), &s->page))
		r = VD_ENOMEM;
	/* the placeholder's first two places: the style's and the script's,
	 * before anything from the data */
	for (i = 0, p = vd_buf_cstr(&s->page); !r && i < 2; i++, p += NONCE_LEN) {
		if (!(p = strstr(p, placeholder))) {
			r = VD_EINVAL;
			break;
		}
		s->page_nonce_at[i] = (size_t)(p - s->page.ptr);
	}
	if (r)
		vd_buf_clear(&s->page);
	yajl_tree_free(in.records);
	vd_freeze_release(&held);
	vd_state_release(&st);
	free(all);
	vd_buf_release(&html);
	return r;
}

void serve_page(vd_serve *s, const vd_serve_request *rq, vd_serve_answer *a)
{
	struct page_key key;
	char nonce[NONCE_LEN + 1];
	int r = 0;

	if (make_nonce(nonce))
		return serve_answer_error(a, 500, "no randomness for a nonce");
	pthread_mutex_lock(&s->lock);
	serve_report_locked(s, false);
	key_of(s, &key);
	if (!s->page_at || !same_key(&key, &s->page_key) || vd_now_ms() - s->page_at >= PAGE_TTL_MS) {
		r = make_page(s);
		s->page_key = key;
		s->page_at = r ? 0 : vd_now_ms();
	}
	if (!r) {
		a->status = 200;
		a->type = "text/html; charset=utf-8";
		vd_buf_clear(&a->body);
		if (vd_buf_put(&a->body, s->page.ptr, s->page.len)) {
			r = VD_ENOMEM;
		} else {
			memcpy(a->body.ptr + s->page_nonce_at[0], nonce, NONCE_LEN);
			memcpy(a->body.ptr + s->page_nonce_at[1], nonce, NONCE_LEN);
			memcpy(a->nonce, nonce, sizeof(nonce));
		}
	}
	pthread_mutex_unlock(&s->lock);
	if (r) {
		vd_log_error("serve: cannot make the status page: %s", vd_error_code_name(r));
		serve_answer_error(a, 500, "cannot make the status page");
	}
}
