/* The status page (page.h): its frame, what is deployed, the health report
 * and the last backups; the deploys' timeline is page_deploys.c's. */
#include "controller/serve/page.h"
#include "controller/serve/page_private.h"
#include "common/clock.h"
#include "common/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REFRESH_S 30

/* Readable from 360 px up: below 640 px the tables become one card per
 * row, labelled from data-label.  No colour is the only mark: failing
 * rows and deploys carry a word and a bar too. */
static const char style[] =
	":root{color-scheme:light dark;--bg:#fff;--fg:#1d2433;--card:#f3f4f6;--line:#d5d9e0;"
	"--mute:#5f6b7a;--ok:#1b7f3b;--bad:#c0262d;--warn:#a15300}\n"
	"@media (prefers-color-scheme:dark){:root{--bg:#111418;--fg:#e6e8eb;--card:#1c2129;"
	"--line:#343c48;--mute:#9aa3ae;--ok:#2f9e55;--bad:#e0474f;--warn:#c77a16}}\n"
	"*{box-sizing:border-box}\n"
	"body{margin:0;font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;"
	"background:var(--bg);color:var(--fg)}\n"
	"header,main,footer{max-width:1200px;margin:0 auto;padding:10px 16px}\n"
	"header{display:flex;flex-wrap:wrap;align-items:center;gap:8px 14px;"
	"border-bottom:1px solid var(--line)}\n"
	"h1{font-size:1.3em;margin:0;overflow-wrap:anywhere}\n"
	"h2{font-size:1.1em;margin:22px 0 8px}\n"
	"nav{margin-left:auto;display:flex;gap:10px;align-items:center}\n"
	"nav form{margin:0}\n"
	"a{color:inherit}\n"
	".badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:.85em;"
	"font-weight:600;color:#fff;background:var(--mute);white-space:nowrap}\n"
	".badge.ok{background:var(--ok)}.badge.bad{background:var(--bad)}"
	".badge.warn{background:var(--warn)}\n"
	".mute{color:var(--mute)}\n"
	"table{border-collapse:collapse;width:100%}\n"
	"th,td{text-align:left;padding:6px 8px;border-bottom:1px solid var(--line);"
	"vertical-align:top}\n"
	"th{font-size:.85em;color:var(--mute);font-weight:600}\n"
	"td.detail{overflow-wrap:anywhere}\n"
	"td.num{white-space:nowrap}\n"
	"tr.failing td{background:rgba(192,38,45,.09)}\n"
	"tr.failing td:first-child{box-shadow:inset 4px 0 var(--bad)}\n"
	"code{font:13px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;overflow-wrap:anywhere}\n"
	"dl{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px;margin:0}\n"
	"dt{color:var(--mute)}\n"
	"dd{margin:0;overflow-wrap:anywhere}\n"
	"ol.deploys{list-style:none;padding:0;margin:0}\n"
	"li.deploy{padding:8px 0 8px 10px;border-bottom:1px solid var(--line);"
	"box-shadow:inset 4px 0 var(--ok)}\n"
	"li.deploy.failed{box-shadow:inset 4px 0 var(--bad)}\n"
	"li.deploy.unfinished{box-shadow:inset 4px 0 var(--warn)}\n"
	".meta{display:flex;flex-wrap:wrap;gap:2px 12px;align-items:baseline}\n"
	"svg.bars{display:block;width:100%;margin:6px 0 2px;background:var(--card);"
	"border-radius:3px}\n"
	"details summary{cursor:pointer;color:var(--mute);font-size:.9em}\n"
	"details table{font-size:.9em}\n"
	"button,input{font:inherit;padding:5px 12px;border:1px solid var(--line);border-radius:6px;"
	"background:var(--card);color:var(--fg)}\n"
	"button{cursor:pointer}\n"
	"form.login{display:flex;flex-direction:column;gap:10px;max-width:360px;margin:40px auto}\n"
	"p.error{color:var(--bad);font-weight:600;margin:0}\n"
	"@media (max-width:640px){table.rows thead{display:none}"
	"table.rows tr{display:block;border-bottom:1px solid var(--line);padding:4px 0}"
	"table.rows td{display:block;border:0;padding:2px 8px}"
	"table.rows td::before{content:attr(data-label);display:inline-block;min-width:6.5em;"
	"color:var(--mute);font-size:.85em}"
	"dl{grid-template-columns:1fr}dt{margin-top:6px}}\n";

/* Without JavaScript the page is whole; with it, it reloads while shown. */
static const char script[] =
	"setInterval(function(){if(!document.hidden)location.reload()},30000);\n";

/* ------------------------------------------------------------------ text */

static void escape(vd_buf *out, const char *s, size_t n)
{
	size_t i, run = 0;

	for (i = 0; i < n; i++) {
		const char *e = NULL;

		switch (s[i]) {
		case '&': e = "&amp;"; break;
		case '<': e = "&lt;"; break;
		case '>': e = "&gt;"; break;
		case '"': e = "&quot;"; break;
		case '\'': e = "&#39;"; break;
		default: break;
		}
		if (!e)
			continue;
		vd_buf_put(out, s + run, i - run);
		vd_buf_puts(out, e);
		run = i + 1;
	}
	vd_buf_put(out, s + run, n - run);
}

void page_textn(vd_buf *out, const char *s, size_t n)
{
	vd_buf raw = VD_BUF_INIT, red = VD_BUF_INIT;

	if (!s)
		return;
	if (!vd_buf_put(&raw, s, n) && !vd_secret_redact(vd_buf_cstr(&raw), &red))
		escape(out, vd_buf_cstr(&red), red.len);
	vd_buf_release(&raw);
	vd_buf_release(&red);
}

void page_text(vd_buf *out, const char *s)
{
	vd_buf red = VD_BUF_INIT;

	if (s && !vd_secret_redact(s, &red))
		escape(out, vd_buf_cstr(&red), red.len);
	vd_buf_release(&red);
}

/* ------------------------------------------------------------------ time */

int64_t page_ts_ms(const char *ts)
{
	const char *frac;
	int64_t s, ms = 0;
	int i;

	if (!ts || vd_time_parse(ts, &s))
		return 0;
	frac = strchr(ts, '.');
	for (i = 0; frac && i < 3 && frac[i + 1] >= '0' && frac[i + 1] <= '9'; i++)
		ms = ms * 10 + (frac[i + 1] - '0');
	for (; frac && i < 3; i++)
		ms *= 10;
	return s * 1000 + ms;
}

void page_duration(int64_t ms, char out[32])
{
	if (ms < 0)
		ms = 0;
	if (ms < 1000)
		snprintf(out, 32, "%lld ms", (long long)ms);
	else if (ms < 60000)
		snprintf(out, 32, "%.1f s", (double)ms / 1000.0);
	else if (ms < 3600000)
		snprintf(out, 32, "%lldm%02llds", (long long)(ms / 60000), (long long)(ms / 1000 % 60));
	else
		snprintf(out, 32, "%lldh%02lldm", (long long)(ms / 3600000),
			 (long long)(ms / 60000 % 60));
}

void page_when(vd_buf *out, const char *ts, time_t now)
{
	int64_t at = page_ts_ms(ts);
	char ago[32];

	if (!ts || !*ts) {
		vd_buf_puts(out, "<span class=\"mute\">unknown</span>");
		return;
	}
	vd_buf_puts(out, "<time datetime=\"");
	page_text(out, ts);
	vd_buf_puts(out, "\">");
	/* "2026-11-27 00:30:00 UTC": the seconds are enough */
	if (strlen(ts) >= 19 && ts[10] == 'T') {
		page_textn(out, ts, 10);
		vd_buf_putc(out, ' ');
		page_textn(out, ts + 11, 8);
		vd_buf_puts(out, " UTC");
	} else {
		page_text(out, ts);
	}
	vd_buf_puts(out, "</time>");
	if (at && now) {
		int64_t d = (int64_t)now * 1000 - at;

		if (d < 0)
			d = 0;
		vd_duration_format(d / 1000, ago);
		vd_buf_printf(out, " <span class=\"mute\">(%s ago)</span>", d < 1000 ? "0s" : ago);
	}
}

/* ------------------------------------------------------------------ frame */

void vd_page_csp(const char *nonce, char *out, size_t size)
{
	snprintf(out, size,
		 "default-src 'none'; style-src 'nonce-%s'; script-src 'nonce-%s'; img-src data:; "
		 "form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
		 nonce, nonce);
}

/* The nonce first, before anything from the data (page.h). */
static void head(vd_buf *out, const char *nonce, bool with_script, const char *title)
{
	vd_buf_printf(out, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
			   "<style nonce=\"%s\">\n%s</style>\n", nonce, style);
	if (with_script)
		vd_buf_printf(out, "<script nonce=\"%s\">\n%s</script>\n", nonce, script);
	vd_buf_puts(out, "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\n"
			 "<meta name=\"robots\" content=\"noindex\">\n<title>");
	page_text(out, title);
	vd_buf_puts(out, "</title></head>\n<body>\n");
}

static const char *tail_html = "</body></html>\n";

/* ------------------------------------------------------------------ deployed */

static bool is_link(const char *s)
{
	return s && (!strncmp(s, "https://", 8) || !strncmp(s, "http://", 7)) && !strpbrk(s, " \t\r\n");
}

static void dl_item(vd_buf *out, const char *term, const char *id)
{
	vd_buf_printf(out, "<dt>%s</dt><dd%s%s%s>", term, id ? " id=\"" : "", id ? id : "",
		      id ? "\"" : "");
}

static void deployed(vd_buf *out, const vd_page_input *in, const struct page_deploy *d, size_t n)
{
	const vd_state *st = in->current;
	const struct page_deploy *cur = NULL;
	size_t i;

	vd_buf_puts(out, "<section id=\"deployed\"><h2>Deployed</h2>\n");
	if (in->held && in->held->held) {
		vd_buf_puts(out, "<p id=\"held\"><span class=\"badge warn\">deploys held</span> since ");
		page_text(out, in->held->since ? in->held->since : "?");
		if (in->held->by) {
			vd_buf_puts(out, " by ");
			page_text(out, in->held->by);
		}
		vd_buf_puts(out, ": ");
		page_text(out, in->held->message && *in->held->message ? in->held->message : "no reason given");
		vd_buf_puts(out, " <span class=\"mute\">(voxdeploy unlock lifts it)</span></p>\n");
	}
	if (!st || !st->commit) {
		vd_buf_puts(out, "<p class=\"mute\">Nothing deployed yet.</p></section>\n");
		return;
	}
	for (i = 0; i < n && st->deploy_id; i++)
		if (!strcmp(d[i].id, st->deploy_id))
			cur = &d[i];
	vd_buf_puts(out, "<dl>\n");
	dl_item(out, "Commit", "deployed-commit");
	vd_buf_puts(out, "<code title=\"");
	page_text(out, st->commit);
	vd_buf_puts(out, "\">");
	page_textn(out, st->commit, strlen(st->commit) > 12 ? 12 : strlen(st->commit));
	vd_buf_puts(out, "</code></dd>\n");
	dl_item(out, "Type", "deployed-type");
	page_text(out, cur && cur->type ? cur->type : "unknown");
	vd_buf_puts(out, "</dd>\n");
	dl_item(out, "When", "deployed-when");
	page_when(out, st->deployed_at, in->now);
	vd_buf_puts(out, "</dd>\n");
	dl_item(out, "By", "deployed-by");
	page_text(out, cur && cur->actor ? cur->actor : "unknown");
	vd_buf_puts(out, "</dd>\n");
	if (cur && cur->note) {
		dl_item(out, "Note", "deployed-note");
		if (is_link(cur->note)) {
			vd_buf_puts(out, "<a rel=\"noreferrer noopener\" href=\"");
			page_text(out, cur->note);
			vd_buf_puts(out, "\">");
			page_text(out, cur->note);
			vd_buf_puts(out, "</a>");
		} else {
			page_text(out, cur->note);
		}
		vd_buf_puts(out, "</dd>\n");
	}
	dl_item(out, "Deploy", "deployed-id");
	vd_buf_puts(out, "<code>");
	page_text(out, st->deploy_id ? st->deploy_id : "unknown");
	vd_buf_puts(out, "</code>");
	if (cur) {
		vd_buf_putc(out, ' ');
		page_deploy_badge(out, cur);
	}
	vd_buf_puts(out, "</dd>\n</dl></section>\n");
}

/* ------------------------------------------------------------------ health */

struct probe {
	const char *service, *name, *kind, *status, *detail, *target;
	long long latency_ms;
	int rank;   /* failing and error first, then pending, then ok */
	size_t order;
};

static int rank(const char *status)
{
	if (status && !strcmp(status, "ok"))
		return 2;
	if (status && !strcmp(status, "pending"))
		return 1;
	return 0;
}

static int by_rank(const void *a, const void *b)
{
	const struct probe *x = a, *y = b;

	if (x->rank != y->rank)
		return x->rank - y->rank;
	return x->order < y->order ? -1 : x->order > y->order;
}

static void probe_row(vd_buf *out, const struct probe *p)
{
	const char *cls = p->rank == 0 ? "bad" : p->rank == 1 ? "warn" : "ok";
	char lat[32];

	vd_buf_printf(out, "<tr class=\"probe%s\" data-status=\"", p->rank == 0 ? " failing" : "");
	page_text(out, p->status ? p->status : "unknown");
	vd_buf_puts(out, "\"><td data-label=\"Service\">");
	page_text(out, p->service && *p->service ? p->service : "-");
	vd_buf_puts(out, "</td><td data-label=\"Probe\" class=\"probe-name\">");
	page_text(out, p->name);
	vd_buf_puts(out, "</td><td data-label=\"Kind\">");
	page_text(out, p->kind);
	vd_buf_printf(out, "</td><td data-label=\"Status\" class=\"status\"><span class=\"badge %s\">%s",
		      cls, p->rank == 0 ? "&#10007; " : p->rank == 2 ? "&#10003; " : "");
	page_text(out, p->status ? p->status : "unknown");
	page_duration(p->latency_ms, lat);
	vd_buf_printf(out, "</span></td><td data-label=\"Latency\" class=\"num\">%s</td>"
			   "<td data-label=\"Detail\" class=\"detail\">", lat);
	page_text(out, p->detail);
	if (p->target && *p->target) {
		vd_buf_puts(out, " <span class=\"mute\">(");
		page_text(out, p->target);
		vd_buf_puts(out, ")</span>");
	}
	vd_buf_puts(out, "</td></tr>\n");
}

static void health(vd_buf *out, const vd_page_input *in, yajl_val rep)
{
	yajl_val services = vd_json_get(rep, "services");
	struct probe *rows = NULL;
	size_t i, j, n = 0, cap = 0;
	const char *reason = vd_json_str(rep, "reason");
	char age[32];

	vd_buf_puts(out, "<section id=\"health\"><h2>Health</h2>\n");
	if (!rep) {
		vd_buf_puts(out, "<p id=\"report-error\"><span class=\"badge bad\">no report</span> ");
		page_text(out, in->report_error ? in->report_error : "no health report could be made");
		vd_buf_puts(out, "</p></section>\n");
		return;
	}
	vd_duration_format(in->report_age_ms / 1000, age);
	vd_buf_printf(out, "<p><span class=\"badge %s\" id=\"report-verdict\">",
		      vd_json_bool(rep, "healthy", false) ? "ok" : "bad");
	page_text(out, vd_json_str(rep, "verdict") ? vd_json_str(rep, "verdict") : "unknown");
	vd_buf_puts(out, "</span> ");
	if (reason && *reason)
		page_text(out, reason);
	vd_buf_printf(out, " <span class=\"mute\">(report made %s ago)</span></p>\n",
		      in->report_age_ms < 1000 ? "0s" : age);
	for (i = 0; i < vd_json_len(services); i++) {
		yajl_val svc = vd_json_idx(services, i), probes = vd_json_get(svc, "probes");

		for (j = 0; j < vd_json_len(probes); j++) {
			yajl_val p = vd_json_idx(probes, j);

			if (n == cap) {
				struct probe *more = realloc(rows, (cap = cap ? cap * 2 : 16) * sizeof(*rows));

				if (!more)
					goto done;
				rows = more;
			}
			rows[n] = (struct probe){ vd_json_str(svc, "service"), vd_json_str(p, "probe"),
						  vd_json_str(p, "kind"), vd_json_str(p, "status"),
						  vd_json_str(p, "detail"), vd_json_str(p, "target"),
						  (long long)vd_json_int(p, "latency_ms", 0),
						  rank(vd_json_str(p, "status")), n };
			n++;
		}
	}
	if (!n) {
		vd_buf_puts(out, "<p class=\"mute\">The report has no probes.</p></section>\n");
		goto done;
	}
	qsort(rows, n, sizeof(*rows), by_rank);
	vd_buf_puts(out, "<table class=\"rows\" id=\"probes\"><thead><tr><th>Service</th><th>Probe</th>"
			 "<th>Kind</th><th>Status</th><th>Latency</th><th>Detail</th></tr></thead>"
			 "<tbody>\n");
	for (i = 0; i < n; i++)
		probe_row(out, &rows[i]);
	vd_buf_puts(out, "</tbody></table></section>\n");
done:
	free(rows);
}

/* ------------------------------------------------------------------ backups */

static void size_text(uint64_t bytes, char out[32])
{
	static const char *const units[] = { "B", "kB", "MB", "GB", "TB" };
	double v = (double)bytes;
	int u = 0;

	while (v >= 1000 && u < 4) {
		v /= 1000;
		u++;
	}
	snprintf(out, 32, u ? "%.1f %s" : "%.0f %s", v, units[u]);
}

static void backups(vd_buf *out, const vd_page_input *in)
{
	char size[32], took[32];
	size_t i;

	if (!in->n_backups)
		return;
	vd_buf_puts(out, "<section id=\"backups\"><h2>Last backup</h2>\n"
			 "<table class=\"rows\"><thead><tr><th>Service</th><th>Database</th><th>Made</th>"
			 "<th>Size</th><th>Took</th><th>Dump</th></tr></thead><tbody>\n");
	for (i = 0; i < in->n_backups; i++) {
		const vd_backup_info *b = &in->backups[i];

		size_text(b->bytes, size);
		page_duration((int64_t)b->ms, took);
		vd_buf_puts(out, "<tr class=\"backup\"><td data-label=\"Service\">");
		page_text(out, b->service);
		vd_buf_puts(out, "</td><td data-label=\"Database\">");
		page_text(out, b->database);
		vd_buf_puts(out, "</td><td data-label=\"Made\">");
		page_when(out, b->created, in->now);
		vd_buf_printf(out, "</td><td data-label=\"Size\" class=\"num\">%s</td>"
				   "<td data-label=\"Took\" class=\"num\">%s</td><td data-label=\"Dump\"><code>",
			      size, took);
		page_text(out, b->id);
		vd_buf_puts(out, "</code>");
		if (!b->deploy_id[0])
			vd_buf_puts(out, " <span class=\"mute\">(on demand)</span>");
		vd_buf_puts(out, "</td></tr>\n");
	}
	vd_buf_puts(out, "</tbody></table></section>\n");
}

/* ------------------------------------------------------------------ pages */

int vd_page_render(const vd_page_input *in, vd_buf *out)
{
	struct page_deploy deploys[VD_PAGE_DEPLOYS + 1];
	vd_error err = VD_ERROR_INIT;
	yajl_val rep = in->report_json ? vd_json_parse(in->report_json, &err) : NULL;
	const char *project = in->project && *in->project ? in->project
			      : in->current && in->current->project ? in->current->project : "";
	size_t n = page_deploys(in->records, deploys, VD_PAGE_DEPLOYS + 1), shown;
	struct tm tm;
	char made[32], title[300];
	bool healthy = vd_json_bool(rep, "healthy", false);
	size_t before = out->len;
	int r;

	vd_error_release(&err);
	snprintf(title, sizeof(title), "%s%svoxdeploy", project, *project ? " · " : "");
	head(out, in->nonce, true, title);
	vd_buf_puts(out, "<header><h1 id=\"project\">");
	page_text(out, *project ? project : "voxdeploy");
	vd_buf_printf(out, "</h1><span class=\"badge %s\" id=\"verdict\">%s</span>\n<nav>"
			   "<a href=\"/\">Refresh</a>",
		      !rep ? "warn" : healthy ? "ok" : "bad",
		      !rep ? "no report" : healthy ? "healthy" : "unhealthy");
	if (in->logout)
		vd_buf_puts(out, "<form method=\"post\" action=\"/logout\"><button type=\"submit\">"
				 "Log out</button></form>");
	vd_buf_puts(out, "</nav></header>\n<main>\n");
	deployed(out, in, deploys, n);
	health(out, in, rep);
	/* the deployed one may be an older deploy than the last VD_PAGE_DEPLOYS */
	shown = n > VD_PAGE_DEPLOYS ? VD_PAGE_DEPLOYS : n;
	page_timeline(out, in->records, deploys, shown, in->now);
	backups(out, in);
	gmtime_r(&in->now, &tm);
	strftime(made, sizeof(made), "%Y-%m-%d %H:%M:%S UTC", &tm);
	vd_buf_printf(out, "</main>\n<footer class=\"mute\">voxdeploy %s &middot; page made %s &middot; "
			   "refreshed every %d s while shown</footer>\n%s",
		      VD_VERSION, made, REFRESH_S, tail_html);
	yajl_tree_free(rep);
	/* a put that failed (out of memory) leaves the page without its end */
	r = out->len - before >= strlen(tail_html) &&
	    !strcmp(out->ptr + out->len - strlen(tail_html), tail_html) ? 0 : VD_ENOMEM;
	return r;
}

int vd_page_login(const char *nonce, const char *message, vd_buf *out)
{
	size_t before = out->len;

	head(out, nonce, false, "voxdeploy · log in");
	vd_buf_puts(out, "<main><form class=\"login\" method=\"post\" action=\"/login\">\n"
			 "<h1>voxdeploy</h1>\n"
			 "<label for=\"token\">The bearer token of <code>voxdeploy serve</code></label>\n");
	if (message) {
		vd_buf_puts(out, "<p class=\"error\" id=\"login-error\" role=\"alert\">");
		page_text(out, message);
		vd_buf_puts(out, "</p>\n");
	}
	vd_buf_printf(out, "<input id=\"token\" name=\"token\" type=\"password\" required autofocus "
			   "autocomplete=\"current-password\">\n"
			   "<button type=\"submit\">Log in</button>\n</form></main>\n%s", tail_html);
	return out->len > before ? 0 : VD_ENOMEM;
}
