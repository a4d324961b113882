/* The status page's deploys (page_private.h): the journal's records grouped
 * by deploy, each deploy's outcome, and its steps as bars of inline SVG. */
#include "controller/serve/page_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_STEPS 128     /* bars per deploy */
#define MAX_OPEN 32       /* steps begun and not yet ended */
#define MAX_LANES 4       /* overlapping steps stack in lanes */
#define LANE_H 14
#define WIDTH 1000

static bool eq(const char *a, const char *b)
{
	return a && b && !strcmp(a, b);
}

size_t page_deploys(yajl_val records, struct page_deploy *out, size_t cap)
{
	size_t i, k, n = 0;

	for (i = 0; i < vd_json_len(records); i++) {
		yajl_val rec = vd_json_idx(records, i);
		const char *id = vd_json_str(rec, "deploy_id"), *step = vd_json_str(rec, "step");
		const char *state = vd_json_str(rec, "state"), *ts = vd_json_str(rec, "ts");
		const char *detail = vd_json_str(rec, "detail");
		struct page_deploy *d;
		int64_t t = page_ts_ms(ts);

		if (!id || !step || !state)
			continue;
		for (k = 0; k < n && strcmp(out[k].id, id); k++)
			;
		if (k == n) {
			if (n == cap)
				continue;
			memset(&out[n], 0, sizeof(out[n]));
			out[n].id = id;
			out[n].duration_ms = -1;
			n++;
		}
		d = &out[k];
		/* newest first: each record is older than those seen before */
		d->started = ts;
		if (t && (!d->t0 || t < d->t0))
			d->t0 = t;
		if (t > d->t1)
			d->t1 = t;
		if (!strcmp(step, "deploy") && strcmp(state, "begin") && !d->result) {
			const char *ms = vd_json_str(rec, "duration_ms");

			d->result = state;
			d->type = vd_json_str(rec, "type");
			d->from = vd_json_str(rec, "from");
			d->to = vd_json_str(rec, "to");
			d->actor = vd_json_str(rec, "actor");
			d->note = vd_json_str(rec, "note");
			d->detail = detail;
			if (ms)
				d->duration_ms = strtoll(ms, NULL, 10);
		} else if (!strcmp(step, "deploy") && !strcmp(state, "begin")) {
			d->rollback_run = detail && !strncmp(detail, "rollback of ", 12);
		} else if (!strcmp(step, "rollback") && !strcmp(state, "done")) {
			d->rolled_back = true;  /* the previous version runs: it counts if the deploy failed */
		}
	}
	for (k = 0; k < n; k++) {
		out[k].rolled_back = out[k].rolled_back && out[k].result && strcmp(out[k].result, "done");
		if (out[k].duration_ms < 0)
			out[k].duration_ms = out[k].t1 - out[k].t0;
	}
	return n;
}

static bool failed(const struct page_deploy *d)
{
	return d->result && strcmp(d->result, "done");
}

void page_deploy_badge(vd_buf *out, const struct page_deploy *d)
{
	if (!d->result)
		vd_buf_puts(out, "<span class=\"badge warn\">unfinished</span>");
	else if (!failed(d))
		vd_buf_printf(out, "<span class=\"badge ok\">&#10003; %s</span>",
			      d->rollback_run ? "rollback done" : "done");
	else
		vd_buf_printf(out, "<span class=\"badge bad\">&#10007; %s%s%s</span>",
			      d->rollback_run ? "rollback failed" : "failed",
			      d->rolled_back ? " &middot; rolled back" : "",
			      !strcmp(d->result, "restore_failed") ? " &middot; restore failed" : "");
}

/* ------------------------------------------------------------------ steps */

struct step {
	const char *name, *service, *state, *detail;
	int64_t start, end;
	int lane;
};

/* A deploy's steps, oldest first: a begin record matched with the end
 * record of the same step and service; an end without its begin starts
 * step_ms before it; a step never ended runs to the deploy's last record. */
static size_t steps_of(yajl_val records, const struct page_deploy *d, struct step *st, size_t cap)
{
	struct { const char *name, *service; int64_t at; } open[MAX_OPEN];
	size_t i, k, n = 0, n_open = 0;

	for (i = vd_json_len(records); i-- > 0;) {
		yajl_val rec = vd_json_idx(records, i);
		const char *step = vd_json_str(rec, "step"), *state = vd_json_str(rec, "state");
		const char *service = vd_json_str(rec, "service");
		const char *ms = vd_json_str(rec, "step_ms");
		int64_t t = page_ts_ms(vd_json_str(rec, "ts"));

		if (!eq(vd_json_str(rec, "deploy_id"), d->id) || !step || !state || !strcmp(step, "deploy"))
			continue;
		if (!strcmp(state, "begin")) {
			if (n_open < MAX_OPEN)
				open[n_open++] = (typeof(open[0])){ step, service, t };
			continue;
		}
		if (strcmp(state, "done") && strcmp(state, "failed") && strcmp(state, "skipped"))
			continue;  /* "output", "kept": not the end of a step */
		if (n == cap)
			break;
		st[n] = (struct step){ step, service, state, vd_json_str(rec, "detail"),
				       ms ? t - strtoll(ms, NULL, 10) : t, t, 0 };
		for (k = n_open; k-- > 0;) {
			if (!strcmp(open[k].name, step) &&
			    (open[k].service == service || eq(open[k].service, service))) {
				st[n].start = open[k].at;
				open[k] = open[--n_open];
				break;
			}
		}
		n++;
	}
	for (k = 0; k < n_open && n < cap; k++)
		st[n++] = (struct step){ open[k].name, open[k].service, "unfinished", NULL, open[k].at,
					 d->t1, 0 };
	return n;
}

static int by_start(const void *a, const void *b)
{
	const struct step *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* Lanes: a step goes to the first lane free at its start. */
static int lanes(struct step *st, size_t n)
{
	int64_t free_at[MAX_LANES] = { 0 };
	int used = 1, l;
	size_t i;

	for (i = 0; i < n; i++) {
		for (l = 0; l < MAX_LANES - 1 && free_at[l] > st[i].start; l++)
			;
		st[i].lane = l;
		if (st[i].end > free_at[l])
			free_at[l] = st[i].end;
		if (l + 1 > used)
			used = l + 1;
	}
	return used;
}

static const char *fill(const struct step *s)
{
	if (!strcmp(s->state, "failed"))
		return "#c0262d";
	if (!strcmp(s->state, "unfinished"))
		return "#c77a16";
	if (!strcmp(s->state, "skipped"))
		return "#9aa3ae";
	if (!strcmp(s->name, "rollback"))
		return "#c77a16";
	return "#2f7de1";
}

static void step_name(vd_buf *out, const struct step *s)
{
	page_text(out, s->name);
	if (s->service) {
		vd_buf_putc(out, ' ');
		page_text(out, s->service);
	}
}

static void bars(vd_buf *out, const struct page_deploy *d, const struct step *st, size_t n,
		 int used)
{
	int64_t span = d->t1 - d->t0 > 0 ? d->t1 - d->t0 : 1;
	char took[32];
	size_t i;

	vd_buf_printf(out, "<svg class=\"bars\" viewBox=\"0 0 %d %d\" height=\"%d\" "
			   "preserveAspectRatio=\"none\" role=\"img\" aria-label=\"the steps of deploy ",
		      WIDTH, used * LANE_H + 2, used * LANE_H + 2);
	page_text(out, d->id);
	vd_buf_puts(out, "\">");
	for (i = 0; i < n; i++) {
		double x = (double)(st[i].start - d->t0) * WIDTH / (double)span;
		double w = (double)(st[i].end - st[i].start) * WIDTH / (double)span;

		if (x < 0)
			x = 0;
		if (w < 3)
			w = 3;
		if (x + w > WIDTH)
			x = WIDTH - w > 0 ? WIDTH - w : 0;
		page_duration(st[i].end - st[i].start, took);
		vd_buf_printf(out, "<rect class=\"step\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" "
				   "fill=\"%s\"><title>",
			      x, st[i].lane * LANE_H + 2, w, LANE_H - 2, fill(&st[i]));
		step_name(out, &st[i]);
		vd_buf_printf(out, ": %s, %s</title></rect>", st[i].state, took);
	}
	vd_buf_puts(out, "</svg>\n");
}

static void step_table(vd_buf *out, const struct step *st, size_t n)
{
	char took[32];
	size_t i;

	vd_buf_printf(out, "<details><summary>%zu step%s</summary><table class=\"rows\"><thead><tr>"
			   "<th>Step</th><th>State</th><th>Took</th><th>Detail</th></tr></thead><tbody>\n",
		      n, n == 1 ? "" : "s");
	for (i = 0; i < n; i++) {
		page_duration(st[i].end - st[i].start, took);
		vd_buf_puts(out, "<tr><td data-label=\"Step\">");
		step_name(out, &st[i]);
		vd_buf_printf(out, "</td><td data-label=\"State\">%s</td><td data-label=\"Took\" "
				   "class=\"num\">%s</td><td data-label=\"Detail\" class=\"detail\">",
			      st[i].state, took);
		page_text(out, st[i].detail);
		vd_buf_puts(out, "</td></tr>\n");
	}
	vd_buf_puts(out, "</tbody></table></details>\n");
}

static void commit(vd_buf *out, const char *sha)
{
	vd_buf_puts(out, "<code title=\"");
	page_text(out, sha);
	vd_buf_puts(out, "\">");
	page_textn(out, sha, strlen(sha) > 12 ? 12 : strlen(sha));
	vd_buf_puts(out, "</code>");
}

static void entry(vd_buf *out, yajl_val records, const struct page_deploy *d, time_t now,
		  struct step *st)
{
	size_t n = steps_of(records, d, st, MAX_STEPS);
	char took[32];
	int used;

	qsort(st, n, sizeof(*st), by_start);
	used = lanes(st, n);
	vd_buf_printf(out, "<li class=\"deploy%s%s%s%s\" data-result=\"%s\" data-deploy=\"",
		      failed(d) ? " failed" : "", d->rolled_back ? " rolled-back" : "",
		      d->rollback_run ? " rollback" : "", d->result ? "" : " unfinished",
		      d->result ? d->result : "unfinished");
	page_text(out, d->id);
	vd_buf_puts(out, "\"><div class=\"meta\">");
	page_deploy_badge(out, d);
	vd_buf_puts(out, " <code class=\"deploy-id\">");
	page_text(out, d->id);
	vd_buf_puts(out, "</code> <span>");
	page_text(out, d->type ? d->type : "");
	vd_buf_puts(out, "</span>");
	if (d->to && *d->to) {
		vd_buf_puts(out, " <span>");
		if (d->from && *d->from) {
			commit(out, d->from);
			vd_buf_puts(out, " &rarr; ");
		}
		commit(out, d->to);
		vd_buf_puts(out, "</span>");
	}
	if (d->actor) {
		vd_buf_puts(out, " <span>by ");
		page_text(out, d->actor);
		vd_buf_puts(out, "</span>");
	}
	vd_buf_puts(out, " <span>");
	page_when(out, d->started, now);
	page_duration(d->duration_ms, took);
	vd_buf_printf(out, "</span> <span>took %s</span></div>\n", took);
	if (d->note || (failed(d) && d->detail)) {
		vd_buf_puts(out, "<div class=\"mute\">");
		page_text(out, failed(d) && d->detail ? d->detail : d->note);
		vd_buf_puts(out, "</div>\n");
	}
	bars(out, d, st, n, used);
	step_table(out, st, n);
	vd_buf_puts(out, "</li>\n");
}

void page_timeline(vd_buf *out, yajl_val records, const struct page_deploy *d, size_t n,
		   time_t now)
{
	struct step *st = calloc(MAX_STEPS, sizeof(*st));
	size_t i;

	vd_buf_printf(out, "<section id=\"deploys\"><h2>Last deploys <span class=\"mute\">(%zu)</span>"
			   "</h2>\n", n);
	if (!n || !st) {
		vd_buf_puts(out, "<p class=\"mute\">No deploys in the journal yet.</p></section>\n");
		free(st);
		return;
	}
	vd_buf_puts(out, "<ol class=\"deploys\">\n");
	for (i = 0; i < n; i++)
		entry(out, records, &d[i], now, st);
	vd_buf_puts(out, "</ol></section>\n");
	free(st);
}
