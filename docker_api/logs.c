#include "docker_api/logs.h"
#include "common/json.h"

#include <stdlib.h>
#include <string.h>

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

int vd_logs_read(vd_docker *d, const char *container, const vd_logs_opts *opts,
		 vd_logs_cb cb, void *ctx, vd_error *err)
{
	static const vd_logs_opts defaults = VD_LOGS_OPTS_INIT;
	vd_docker_req req = { .method = "GET" };
	vd_buf path = VD_BUF_INIT, query = VD_BUF_INIT;
	vd_logs_demux m;
	char *id = NULL;
	bool tty = false;
	long plain_timeout = 0;
	int r;

	if (!opts)
		opts = &defaults;
	/* the inspect is a plain call: keep it inside a short deadline too */
	if (opts->deadline_ms > 0 && opts->deadline_ms < 30000)
		plain_timeout = opts->deadline_ms;
	vd_logs_demux_init(&m, false, opts->max_frame, cb, ctx);
	r = inspect_tty(d, container, plain_timeout, &id, &tty, err);
	if (r)
		goto fail;
	m.raw = tty;

	r = vd_docker_path(&path, "/containers/", id, "/logs");
	if (!r)
		r = vd_docker_query_add(&query, "stdout", "1");
	if (!r)
		r = vd_docker_query_add(&query, "stderr", "1");
	if (!r)
		r = vd_docker_query_add(&query, "tail", opts->tail ? opts->tail : "all");
	if (!r && opts->since)
		r = vd_docker_query_add(&query, "since", opts->since);
	if (!r && opts->until)
		r = vd_docker_query_add(&query, "until", opts->until);
	if (!r)
		r = vd_docker_query_add(&query, "timestamps", opts->timestamps ? "1" : "0");
	if (!r)
		r = vd_docker_query_add(&query, "follow", opts->follow ? "1" : "0");
	if (r) {
		r = vd_error_set(err, r, "out of memory");
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

int vd_logs_collect(vd_docker *d, const char *container, const vd_logs_opts *opts,
		    vd_buf *out, vd_buf *errout, bool *truncated, vd_error *err)
{
	vd_logs_sink sink = { .out = out, .err = errout };
	int r = vd_logs_read(d, container, opts, vd_logs_sink_cb, &sink, err);

	if (truncated)
		*truncated = sink.truncated;
	return r;
}
