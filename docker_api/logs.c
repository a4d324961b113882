#include "docker_api/logs.h"
#include "common/json.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The engine's own error frame (moby stdcopy's systemErr). */
#define FRAME_SYSERR 3
#define MAX_SYSERR ((size_t)64 << 10)
#define MAX_INSPECT ((size_t)8 << 20)

void vd_logs_demux_init(vd_logs_demux *m, bool raw, uint32_t max_frame, vd_logs_cb cb, void *ctx)
{
	memset(m, 0, sizeof(*m));
	m->raw = raw;
	m->max_frame = max_frame ? max_frame : VD_LOGS_MAX_FRAME;
	m->cb = cb;
	m->ctx = ctx;
	vd_buf_init(&m->syserr, MAX_SYSERR);
}

void vd_logs_demux_release(vd_logs_demux *m)
{
	if (!m)
		return;
	vd_buf_release(&m->syserr);
}

/* A callback's answer: negative fails, positive stops; either sticks. */
static int settle(vd_logs_demux *m, int r)
{
	if (r)
		m->status = r;
	return r;
}

/* A call after the stream failed or stopped: the same answer again. */
static int again(vd_logs_demux *m, vd_error *err)
{
	if (m->status < 0 && err && !err->msg)
		vd_error_set(err, m->status, "output stream: used after an error");
	return m->status;
}

static int parse_header(vd_logs_demux *m, vd_error *err)
{
	const unsigned char *h = m->hdr;
	uint64_t at = m->offset - 8;

	if (h[0] > FRAME_SYSERR || h[1] || h[2] || h[3])
		return vd_error_set(err, VD_EPROTO,
				    "output stream: bad frame header at byte %llu "
				    "(%02x %02x %02x %02x %02x %02x %02x %02x)%s",
				    (unsigned long long)at, h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7],
				    at == 0 ? ": is it a TTY stream?" : "");
	m->stream = h[0];
	m->left = (uint32_t)h[4] << 24 | (uint32_t)h[5] << 16 | (uint32_t)h[6] << 8 | (uint32_t)h[7];
	if (m->left > m->max_frame)
		return vd_error_set(err, VD_EPROTO,
				    "output stream: frame at byte %llu claims %u bytes, more than the "
				    "%u-byte limit", (unsigned long long)at, m->left, m->max_frame);
	if (m->stream == FRAME_SYSERR)
		vd_buf_clear(&m->syserr);
	return 0;
}

/* The current frame is complete. */
static int end_frame(vd_logs_demux *m, vd_error *err)
{
	m->hdr_len = 0;
	m->frames++;
	if (m->stream == FRAME_SYSERR) {
		vd_buf *s = &m->syserr;

		while (s->len && (s->ptr[s->len - 1] == '\n' || s->ptr[s->len - 1] == '\r'))
			s->ptr[--s->len] = '\0';
		return vd_error_set(err, VD_EAPI, "the engine reported an error in the stream: %s",
				    s->len ? vd_buf_cstr(s) : "(no message)");
	}
	return 0;
}

int vd_logs_demux_feed(vd_logs_demux *m, const char *data, size_t len, vd_error *err)
{
	int r = 0;

	if (m->status)
		return again(m, err);
	if (m->raw) {
		m->offset += len;
		if (!len)
			return 0;
		return settle(m, m->cb(VD_LOGS_STDOUT, data, len, m->ctx, err));
	}
	while (len) {
		size_t take;

		if (m->hdr_len < sizeof(m->hdr)) {
			take = sizeof(m->hdr) - m->hdr_len;
			if (take > len)
				take = len;
			memcpy(m->hdr + m->hdr_len, data, take);
			m->hdr_len += take;
			m->offset += take;
			data += take;
			len -= take;
			if (m->hdr_len < sizeof(m->hdr))
				break;
			r = parse_header(m, err);
			if (!r && !m->left)
				r = end_frame(m, err);  /* an empty frame */
			if (r)
				return settle(m, r);
			continue;
		}
		take = m->left < len ? m->left : len;
		if (m->stream == FRAME_SYSERR) {
			size_t room = m->syserr.max - m->syserr.len;

			r = vd_buf_put(&m->syserr, data, take < room ? take : room);
			if (r)
				return settle(m, vd_error_set(err, r, "out of memory"));
		} else {
			r = m->cb(m->stream, data, take, m->ctx, err);
		}
		m->offset += take;
		m->left -= (uint32_t)take;
		data += take;
		len -= take;
		if (!r && !m->left)
			r = end_frame(m, err);
		if (r)
			return settle(m, r);
	}
	return 0;
}

int vd_logs_demux_finish(vd_logs_demux *m, vd_error *err)
{
	if (m->status < 0)
		return again(m, err);
	if (m->status || m->raw || !m->hdr_len)
		return 0;
	if (m->hdr_len < sizeof(m->hdr))
		return settle(m, vd_error_set(err, VD_EPROTO,
					      "output stream ended inside a frame header "
					      "(%zu of 8 bytes at byte %llu)", m->hdr_len,
					      (unsigned long long)(m->offset - m->hdr_len)));
	return settle(m, vd_error_set(err, VD_EPROTO,
				      "output stream ended inside a frame (%u bytes missing at byte %llu)",
				      m->left, (unsigned long long)m->offset));
}

static int sink_put(vd_logs_sink *s, vd_buf *b, const char *data, size_t len, vd_error *err)
{
	size_t room;
	int r;

	if (!b)
		return 0;
	room = b->max > b->len ? b->max - b->len : 0;
	if (len > room) {
		s->truncated = true;
		len = room;
	}
	r = vd_buf_put(b, data, len);
	if (r)
		return vd_error_set(err, r, "collect output: out of memory");
	return 0;
}

int vd_logs_sink_cb(int stream, const char *data, size_t len, void *ctx, vd_error *err)
{
	vd_logs_sink *s = ctx;

	return sink_put(s, stream == VD_LOGS_STDERR ? s->err : s->out, data, len, err);
}

static int on_data(const char *data, size_t len, void *ctx, vd_error *err)
{
	return vd_logs_demux_feed(ctx, data, len, err);
}

/* Inspect the container: its full id and whether it has a TTY. */
static int inspect_tty(vd_docker *d, const char *container, long timeout_ms, char **out_id,
		       bool *out_tty, vd_error *err)
{
	vd_docker_req req = { .method = "GET", .timeout_ms = timeout_ms };
	vd_buf path = VD_BUF_INIT, body = VD_BUF_INIT;
	yajl_val v = NULL;
	const char *id;
	char *dup = NULL;
	int r;

	vd_buf_init(&body, MAX_INSPECT);
	r = vd_docker_path(&path, "/containers/", container, "/json");
	if (r) {
		r = vd_error_set(err, r, "out of memory");
		goto done;
	}
	req.path = vd_buf_cstr(&path);
	r = vd_docker_request(d, &req, &body, err);
	if (r)
		goto done;
	v = vd_json_parse(vd_buf_cstr(&body), err);
	if (!v) {
		r = vd_error_prefix(err, "inspect");
		goto done;
	}
	id = vd_json_str(v, "Id");
	dup = strdup(id && *id ? id : container);
	if (!dup) {
		r = vd_error_set(err, VD_ENOMEM, "out of memory");
		goto done;
	}
	*out_tty = vd_json_bool(vd_json_get(v, "Config"), "Tty", false);
	*out_id = dup;
done:
	yajl_tree_free(v);
	vd_buf_release(&path);
	vd_buf_release(&body);
	return r;
}

/* The path and query of GET /containers/{id}/logs (/services/{id}/logs). */
static int logs_request(const char *id, const vd_logs_opts *opts, vd_buf *path, vd_buf *query)
{
	int r = vd_docker_path(path, opts->service ? "/services/" : "/containers/", id, "/logs");

	if (!r)
		r = vd_docker_query_add(query, "stdout", "1");
	if (!r)
		r = vd_docker_query_add(query, "stderr", "1");
	if (!r)
		r = vd_docker_query_add(query, "tail", opts->tail ? opts->tail : "all");
	if (!r && opts->since)
		r = vd_docker_query_add(query, "since", opts->since);
	if (!r && opts->until)
		r = vd_docker_query_add(query, "until", opts->until);
	if (!r)
		r = vd_docker_query_add(query, "timestamps", opts->timestamps ? "1" : "0");
	if (!r)
		r = vd_docker_query_add(query, "follow", opts->follow ? "1" : "0");
	return r;
}

/* The container's id and TTY mode: the caller's, or an inspect's. */
static int resolve(vd_docker *d, const char *container, const vd_logs_opts *opts, char **out_id,
		   bool *out_tty, vd_error *err)
{
	long plain_timeout = 0;

	if (opts->tty_known) {
		*out_tty = opts->tty;
		*out_id = strdup(container);
		return *out_id ? 0 : vd_error_set(err, VD_ENOMEM, "out of memory");
	}
	/* the inspect is a plain call: keep it inside a short deadline too */
	if (opts->deadline_ms > 0 && opts->deadline_ms < 30000)
		plain_timeout = opts->deadline_ms;
	return inspect_tty(d, container, plain_timeout, out_id, out_tty, err);
}

int vd_logs_read(vd_docker *d, const char *container, const vd_logs_opts *opts,
		 vd_logs_cb cb, void *ctx, vd_error *err)
{
	static const vd_logs_opts defaults = VD_LOGS_OPTS_INIT;
	vd_docker_req req = { .method = "GET" };
	vd_buf path = VD_BUF_INIT, query = VD_BUF_INIT;
	vd_logs_demux m;
	char *id = NULL;
	bool tty = false;
	int r;

	if (!opts)
		opts = &defaults;
	vd_logs_demux_init(&m, false, opts->max_frame, cb, ctx);
	r = resolve(d, container, opts, &id, &tty, err);
	if (r)
		goto fail;
	m.raw = tty;
	if (logs_request(id, opts, &path, &query)) {
		r = vd_error_set(err, VD_ENOMEM, "out of memory");
		goto fail;
	}
	req.path = vd_buf_cstr(&path);
	req.query = vd_buf_cstr(&query);
	req.on_data = on_data;
	req.ctx = &m;
	req.idle_timeout_ms = opts->idle_timeout_ms;
	req.deadline_ms = opts->deadline_ms;
	r = vd_docker_request(d, &req, NULL, err);
	if (r > 0) {
		r = 0;  /* the callback stopped the stream */
		goto done;
	}
	if (!r)
		r = vd_logs_demux_finish(&m, err);
	if (r)
		goto fail;
	goto done;
fail:
	vd_error_prefix(err, "logs of %s", container);
done:
	vd_logs_demux_release(&m);
	vd_buf_release(&path);
	vd_buf_release(&query);
	free(id);
	return r;
}

/* --- a stream the caller's loop drives ------------------------------------ */

struct vd_logs_reader {
	vd_docker_stream *s;
	vd_docker_req req;
	vd_buf path, query;
	vd_logs_demux m;
	char *name;       /* as the caller named the container (messages) */
	int result;       /* the end, once known */
	bool ended;
};

void vd_logs_reader_free(vd_logs_reader *ls)
{
	if (!ls)
		return;
	vd_docker_stream_free(ls->s);
	vd_logs_demux_release(&ls->m);
	vd_buf_release(&ls->path);
	vd_buf_release(&ls->query);
	free(ls->name);
	free(ls);
}

int vd_logs_reader_open(vd_docker *d, const char *container, const vd_logs_opts *opts,
			vd_logs_cb cb, void *ctx, vd_logs_reader **out, vd_error *err)
{
	static const vd_logs_opts defaults = VD_LOGS_OPTS_INIT;
	vd_logs_reader *ls = calloc(1, sizeof(*ls));
	char *id = NULL;
	bool tty = false;
	int r;

	if (!opts)
		opts = &defaults;
	if (!ls || !(ls->name = strdup(container))) {
		free(ls);
		return vd_error_set(err, VD_ENOMEM, "out of memory");
	}
	vd_buf_init(&ls->path, VD_BUF_DEFAULT_MAX);
	vd_buf_init(&ls->query, VD_BUF_DEFAULT_MAX);
	vd_logs_demux_init(&ls->m, false, opts->max_frame, cb, ctx);
	r = resolve(d, container, opts, &id, &tty, err);
	if (!r && logs_request(id, opts, &ls->path, &ls->query))
		r = vd_error_set(err, VD_ENOMEM, "out of memory");
	if (r)
		goto fail;
	ls->m.raw = tty;
	ls->req.method = "GET";
	ls->req.path = vd_buf_cstr(&ls->path);
	ls->req.query = vd_buf_cstr(&ls->query);
	ls->req.on_data = on_data;
	ls->req.ctx = &ls->m;
	ls->req.idle_timeout_ms = opts->idle_timeout_ms;
	ls->req.deadline_ms = opts->deadline_ms;
	r = vd_docker_stream_open(d, &ls->req, &ls->s, err);
	if (r)
		goto fail;
	free(id);
	*out = ls;
	return 0;
fail:
	vd_error_prefix(err, "logs of %s", container);
	free(id);
	vd_logs_reader_free(ls);
	return r;
}

size_t vd_logs_reader_pollfds(const vd_logs_reader *ls, struct pollfd *fds, size_t max)
{
	return ls->ended ? 0 : vd_docker_stream_pollfds(ls->s, fds, max);
}

long vd_logs_reader_timeout(const vd_logs_reader *ls)
{
	return ls->ended ? 0 : vd_docker_stream_timeout(ls->s);
}

int vd_logs_reader_perform(vd_logs_reader *ls, const struct pollfd *fds, size_t n, vd_error *err)
{
	int r;

	if (ls->ended) {
		if (ls->result < 0 && err && !err->msg)
			vd_error_set(err, ls->result, "logs of %s: the stream failed earlier", ls->name);
		return ls->result;
	}
	r = vd_docker_stream_perform(ls->s, fds, n, err);
	if (!r)
		return 0;
	ls->ended = true;
	/* the callback stopped it (the demux keeps its answer), or the engine
	 * closed it: then it must have closed after a whole frame */
	if (r == VD_DOCKER_STREAM_END && ls->m.status <= 0)
		r = vd_logs_demux_finish(&ls->m, err);
	if (!r || ls->m.status > 0)
		r = VD_DOCKER_STREAM_END;
	if (r < 0)
		vd_error_prefix(err, "logs of %s", ls->name);
	ls->result = r;
	return r;
}

/* --- whole lines ------------------------------------------------------------ */

void vd_logs_lines_init(vd_logs_lines *l, size_t max_line, vd_logs_lines_cb cb, void *ctx)
{
	memset(l, 0, sizeof(*l));
	vd_buf_init(&l->part[0], max_line ? max_line : VD_LOGS_MAX_LINE);
	vd_buf_init(&l->part[1], max_line ? max_line : VD_LOGS_MAX_LINE);
	l->cb = cb;
	l->ctx = ctx;
}

void vd_logs_lines_release(vd_logs_lines *l)
{
	if (!l)
		return;
	vd_buf_release(&l->part[0]);
	vd_buf_release(&l->part[1]);
}

/* Deliver the unfinished line of a stream with its end (a newline, or one
 * added when cut or at the end of the stream). */
static int deliver_part(vd_logs_lines *l, int stream, vd_error *err)
{
	vd_buf *p = &l->part[stream == VD_LOGS_STDERR];
	int r;

	if (!p->len)
		return 0;
	if (p->ptr[p->len - 1] != '\n') {
		/* the cap leaves no room for the newline: one byte more is ours */
		p->max++;
		r = vd_buf_putc(p, '\n');
		p->max--;
		if (r)
			return vd_error_set(err, r, "log lines: out of memory");
	}
	r = l->cb(stream, p->ptr, p->len, l->ctx, err);
	vd_buf_clear(p);
	return r;
}

/* Add to the unfinished line; a line that reaches the cap is delivered. */
static int add_part(vd_logs_lines *l, int stream, const char *data, size_t len, vd_error *err)
{
	vd_buf *p = &l->part[stream == VD_LOGS_STDERR];
	int r;

	while (len) {
		size_t room = p->max - p->len, take = len < room ? len : room;

		r = vd_buf_put(p, data, take);
		if (r)
			return vd_error_set(err, r, "log lines: out of memory");
		data += take;
		len -= take;
		if (p->len == p->max && (r = deliver_part(l, stream, err)))
			return r;
	}
	return 0;
}

int vd_logs_lines_feed(int stream, const char *data, size_t len, void *ctx, vd_error *err)
{
	vd_logs_lines *l = ctx;
	vd_buf *p;
	const char *first, *last;
	size_t whole;
	int r;

	if (stream != VD_LOGS_STDERR)
		stream = VD_LOGS_STDOUT;
	p = &l->part[stream == VD_LOGS_STDERR];
	last = len ? memrchr(data, '\n', len) : NULL;
	if (!last)
		return add_part(l, stream, data, len, err);
	if (p->len) {
		/* finish the unfinished line first */
		first = memchr(data, '\n', len);
		if ((r = add_part(l, stream, data, (size_t)(first + 1 - data), err)) ||
		    (p->len && (r = deliver_part(l, stream, err))))
			return r;
		len -= (size_t)(first + 1 - data);
		data = first + 1;
	}
	whole = (size_t)(last + 1 - data);
	if (whole > p->max) {
		/* an overlong line among them: cut it line by line */
		while (whole && (first = memchr(data, '\n', whole))) {
			size_t n = (size_t)(first + 1 - data);

			r = n <= p->max ? l->cb(stream, data, n, l->ctx, err)
					: add_part(l, stream, data, n - 1, err);
			if (!r && n > p->max)
				r = deliver_part(l, stream, err);
			if (r)
				return r;
			data += n;
			len -= n;
			whole -= n;
		}
	} else if (whole) {
		if ((r = l->cb(stream, data, whole, l->ctx, err)))
			return r;
		data += whole;
		len -= whole;
	}
	return len ? add_part(l, stream, data, len, err) : 0;
}

int vd_logs_lines_finish(vd_logs_lines *l, vd_error *err)
{
	int r = deliver_part(l, VD_LOGS_STDOUT, err);

	return r ? r : deliver_part(l, VD_LOGS_STDERR, err);
}

int vd_logs_collect(vd_docker *d, const char *container, const vd_logs_opts *opts,
		    vd_buf *out, vd_buf *errout, bool *truncated, vd_error *err)
{
	vd_logs_sink sink = { .out = out, .err = errout };
	int r = vd_logs_read(d, container, opts, vd_logs_sink_cb, &sink, err);

	if (truncated)
		*truncated = sink.truncated;
	return r;
}
/* --- --since and --until ------------------------------------------------- */

/* A Go duration (time.ParseDuration): [-+]?(number unit)+, units ns us µs ms
 * s m h; "0" alone is none here (GetTimestamp reads "0" as a unix time).
 * Nanoseconds into *out. */
static bool parse_go_duration(const char *s, double *out)
{
	static const struct { const char *unit; double ns; } units[] = {
		{ "ns", 1 }, { "us", 1e3 }, { "\xc2\xb5s", 1e3 }, { "\xce\xbcs", 1e3 },
		{ "ms", 1e6 }, { "s", 1e9 }, { "m", 60e9 }, { "h", 3600e9 },
	};
	double total = 0, sign = 1;

	if (*s == '-' || *s == '+')
		sign = *s++ == '-' ? -1 : 1;
	if (!*s)
		return false;
	while (*s) {
		const char *num = s;
		double v = 0, scale = 1;
		bool digits = false;
		size_t i, best = 0, best_len = 0;

		for (; *s >= '0' && *s <= '9'; s++, digits = true)
			v = v * 10 + (*s - '0');
		if (*s == '.')
			for (s++; *s >= '0' && *s <= '9'; s++, digits = true)
				v += (*s - '0') * (scale /= 10);
		if (!digits || s == num)
			return false;
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			size_t n = strlen(units[i].unit);

			if (!strncmp(s, units[i].unit, n) && n > best_len) {
				best = i;
				best_len = n;
			}
		}
		if (!best_len)
			return false;
		total += v * units[best].ns;
		s += best_len;
	}
	*out = sign * total;
	return true;
}

static bool digits_n(const char *s, int n, int *out)
{
	int v = 0, i;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

/* RFC 3339 and the shorter forms GetTimestamp takes:
 * DATE[THH[:MM[:SS[.frac]]]][Z|±HH:MM]; no zone → local time (the offset
 * in force now, as Go's FixedZone(reference.Zone()) has it). */
static bool parse_rfc3339(const char *s, double now, int64_t *sec, long *nsec)
{
	struct tm tm;
	int y, mo, d, h = 0, mi = 0, se = 0, zh, zm;
	long ns = 0, scale = 100000000L;
	int64_t t, offset = 0;
	bool local = true;

	memset(&tm, 0, sizeof(tm));
	if (!digits_n(s, 4, &y) || s[4] != '-' || !digits_n(s + 5, 2, &mo) || s[7] != '-' ||
	    !digits_n(s + 8, 2, &d))
		return false;
	s += 10;
	if (*s == 'T' || *s == 't') {
		if (!digits_n(s + 1, 2, &h))
			return false;
		s += 3;
		if (*s == ':') {
			if (!digits_n(s + 1, 2, &mi))
				return false;
			s += 3;
			if (*s == ':') {
				if (!digits_n(s + 1, 2, &se))
					return false;
				s += 3;
				if (*s == '.') {
					if (s[1] < '0' || s[1] > '9')
						return false;
					for (s++; *s >= '0' && *s <= '9'; s++, scale /= 10)
						ns += (*s - '0') * scale;
				}
			}
		}
	}
	if (*s == 'Z' || *s == 'z') {
		local = false;
		s++;
	} else if (*s == '+' || *s == '-') {
		if (!digits_n(s + 1, 2, &zh) || s[3] != ':' || !digits_n(s + 4, 2, &zm))
			return false;
		local = false;
		offset = (*s == '-' ? -1 : 1) * (int64_t)(zh * 3600 + zm * 60);
		s += 6;
	}
	if (*s || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 59)
		return false;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	t = (int64_t)timegm(&tm);
	if (local) {
		time_t n = (time_t)now;
		struct tm lt;

		if (localtime_r(&n, &lt))
			offset = lt.tm_gmtoff;
	}
	*sec = t - offset;
	*nsec = ns;
	return true;
}

/* unix "seconds[.nanos]" */
static bool parse_unix(const char *s)
{
	const char *p = s;

	if (*p == '-')
		p++;
	if (*p < '0' || *p > '9')
		return false;
	while (*p >= '0' && *p <= '9')
		p++;
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++)
			;
	return !*p && strlen(s) < 40;
}

int vd_logs_parse_time(const char *value, double now, char out[48], vd_error *err)
{
	double ns;
	int64_t sec;
	long nsec;

	if (!value || !*value)
		return vd_error_set(err, VD_EINVAL, "an empty time");
	if (strcmp(value, "0") && parse_go_duration(value, &ns)) {
		/* Go: reference.Add(-d).Unix(), whole seconds */
		double t = now - ns / 1e9;

		snprintf(out, 48, "%lld", (long long)(t < 0 ? 0 : t));
		return 0;
	}
	if (parse_rfc3339(value, now, &sec, &nsec)) {
		snprintf(out, 48, "%lld.%09ld", (long long)sec, nsec);
		return 0;
	}
	if (!strchr(value, '-') && parse_unix(value)) {
		snprintf(out, 48, "%s", value);
		return 0;
	}
	return vd_error_set(err, VD_EINVAL,
			    "'%s' is no time: give a duration before now (10m, 1h30m), an RFC 3339 "
			    "time (2026-01-02T13:23:37Z) or unix seconds", value);
}
