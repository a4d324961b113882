/* Unit tests: the multiplexed output stream decoder (logs, exec), whole
 * lines out of it, --since/--until as docker takes them, how `logs` prints
 * (prefix, redaction), and the pure parts of exec. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/log.h"
#include "controller/cli_logs.h"
#include "docker_api/exec.h"
#include "docker_api/logs.h"

#include <stdio.h>
#include <time.h>

/* What the callback saw: per-stream bytes and a transcript that marks each
 * change of stream, so that chunking cannot change it. */
struct seen {
	vd_buf out, err, in;
	vd_buf transcript;
	int last_stream;
	size_t calls;
	size_t empty_calls;
	size_t stop_after;   /* return VD_LOGS_STOP on this call (1-based); 0 never */
	int fail_with;       /* return this on the first call, if set */
};

static void seen_init(struct seen *s)
{
	memset(s, 0, sizeof(*s));
	vd_buf_init(&s->out, 0);
	vd_buf_init(&s->err, 0);
	vd_buf_init(&s->in, 0);
	vd_buf_init(&s->transcript, 0);
	s->last_stream = -1;
}

static void seen_release(struct seen *s)
{
	vd_buf_release(&s->out);
	vd_buf_release(&s->err);
	vd_buf_release(&s->in);
	vd_buf_release(&s->transcript);
}

static int record(int stream, const char *data, size_t len, void *ctx, vd_error *err)
{
	struct seen *s = ctx;
	vd_buf *b = stream == VD_LOGS_STDOUT ? &s->out : stream == VD_LOGS_STDERR ? &s->err : &s->in;

	s->calls++;
	if (!len)
		s->empty_calls++;
	if (s->fail_with)
		return vd_error_set(err, s->fail_with, "callback failed");
	assert_int_equal(vd_buf_put(b, data, len), 0);
	if (stream != s->last_stream) {
		if (s->transcript.len)
			vd_buf_putc(&s->transcript, '|');
		vd_buf_printf(&s->transcript, "%d:", stream);
		s->last_stream = stream;
	}
	vd_buf_put(&s->transcript, data, len);
	if (s->stop_after && s->calls == s->stop_after)
		return VD_LOGS_STOP;
	return 0;
}

/* Append one frame to b. */
static void frame(vd_buf *b, int type, const void *data, uint32_t len)
{
	unsigned char h[8] = { (unsigned char)type, 0, 0, 0,
			       (unsigned char)(len >> 24), (unsigned char)(len >> 16),
			       (unsigned char)(len >> 8), (unsigned char)len };

	assert_int_equal(vd_buf_put(b, h, sizeof(h)), 0);
	assert_int_equal(vd_buf_put(b, data, len), 0);
}

static void frame_s(vd_buf *b, int type, const char *s)
{
	frame(b, type, s, (uint32_t)strlen(s));
}

/* A stream like `echo out1; echo err1 >&2; ...` gives, with lines split
 * across frames and empty frames in between. */
static void sample_stream(vd_buf *b)
{
	frame_s(b, 1, "out1\n");
	frame_s(b, 2, "err1\n");
	frame_s(b, 1, "");
	frame_s(b, 1, "out2 part a ");
	frame_s(b, 1, "part b\n");
	frame_s(b, 2, "err2\nerr3");
	frame_s(b, 2, "");
	frame_s(b, 2, " continued\n");
	frame(b, 1, "bin\0ary\n", 8);
	frame_s(b, 2, "");
}

static const char sample_out[] = "out1\nout2 part a part b\nbin\0ary\n";
static const char sample_err[] = "err1\nerr2\nerr3 continued\n";
static const char sample_transcript[] =
	"1:out1\n|2:err1\n|1:out2 part a part b\n|2:err2\nerr3 continued\n|1:bin\0ary\n";

static void check_sample(const struct seen *s)
{
	assert_int_equal(s->out.len, sizeof(sample_out) - 1);
	assert_memory_equal(s->out.ptr, sample_out, sizeof(sample_out) - 1);
	assert_int_equal(s->err.len, sizeof(sample_err) - 1);
	assert_memory_equal(s->err.ptr, sample_err, sizeof(sample_err) - 1);
	assert_int_equal(s->transcript.len, sizeof(sample_transcript) - 1);
	assert_memory_equal(s->transcript.ptr, sample_transcript, sizeof(sample_transcript) - 1);
	assert_int_equal(s->in.len, 0);
	assert_int_equal(s->empty_calls, 0);
}

/* Feed `b` cut at the given offsets (ascending, within b). */
static int feed_cuts(vd_logs_demux *m, const vd_buf *b, const size_t *cuts, size_t n_cuts,
		     vd_error *err)
{
	size_t at = 0, i;
	int r;

	for (i = 0; i <= n_cuts; i++) {
		size_t end = i < n_cuts ? cuts[i] : b->len;

		r = vd_logs_demux_feed(m, b->ptr + at, end - at, err);
		if (r)
			return r;
		at = end;
	}
	return vd_logs_demux_finish(m, err);
}

static void logs__demux_whole(void **state)
{
	vd_buf b = VD_BUF_INIT;
	struct seen s;
	vd_logs_demux m;
	vd_error err = VD_ERROR_INIT;

	sample_stream(&b);
	seen_init(&s);
	vd_logs_demux_init(&m, false, 0, record, &s);
	assert_int_equal(feed_cuts(&m, &b, NULL, 0, &err), 0);
	check_sample(&s);
	assert_int_equal(m.frames, 10);
	vd_logs_demux_release(&m);
	seen_release(&s);
	vd_buf_release(&b);
}

static void logs__demux_byte_at_a_time(void **state)
{
	vd_buf b = VD_BUF_INIT;
	struct seen s;
	vd_logs_demux m;
	vd_error err = VD_ERROR_INIT;
	size_t i;

	sample_stream(&b);
	seen_init(&s);
	vd_logs_demux_init(&m, false, 0, record, &s);
	for (i = 0; i < b.len; i++)
		assert_int_equal(vd_logs_demux_feed(&m, b.ptr + i, 1, &err), 0);
	/* empty chunks are harmless */
	assert_int_equal(vd_logs_demux_feed(&m, b.ptr, 0, &err), 0);
	assert_int_equal(vd_logs_demux_finish(&m, &err), 0);
	check_sample(&s);
	vd_logs_demux_release(&m);
	seen_release(&s);
	vd_buf_release(&b);
}

/* Every way to cut the stream in two and in three pieces. */
static void logs__demux_every_boundary(void **state)
{
	vd_buf b = VD_BUF_INIT;
	vd_error err = VD_ERROR_INIT;
	size_t i, j;

	sample_stream(&b);
	for (i = 0; i <= b.len; i++) {
		for (j = i; j <= b.len; j++) {
			size_t cuts[2] = { i, j };
			struct seen s;
			vd_logs_demux m;

			seen_init(&s);
			vd_logs_demux_init(&m, false, 0, record, &s);
			assert_int_equal(feed_cuts(&m, &b, cuts, 2, &err), 0);
			check_sample(&s);
			vd_logs_demux_release(&m);
			seen_release(&s);
		}
	}
	vd_buf_release(&b);
}

static void logs__demux_random_chunks(void **state)
{
	vd_buf b = VD_BUF_INIT;
	vd_error err = VD_ERROR_INIT;
	unsigned seed = 12345;
	int round;

	sample_stream(&b);
	/* plus a frame bigger than most chunks */
	{
		char big[3000];

		memset(big, 'x', sizeof(big));
		frame(&b, 1, big, sizeof(big));
	}
	for (round = 0; round < 2000; round++) {
		struct seen s;
		vd_logs_demux m;
		size_t at = 0;

		seen_init(&s);
		vd_logs_demux_init(&m, false, 0, record, &s);
		while (at < b.len) {
			size_t n = (size_t)rand_r(&seed) % (round % 2 ? 9 : 200);

			if (n > b.len - at)
				n = b.len - at;
			assert_int_equal(vd_logs_demux_feed(&m, b.ptr + at, n, &err), 0);
			at += n;
		}
		assert_int_equal(vd_logs_demux_finish(&m, &err), 0);
		assert_int_equal(s.out.len, sizeof(sample_out) - 1 + 3000);
		assert_memory_equal(s.out.ptr, sample_out, sizeof(sample_out) - 1);
		assert_int_equal(s.err.len, sizeof(sample_err) - 1);
		assert_memory_equal(s.err.ptr, sample_err, sizeof(sample_err) - 1);
		assert_int_equal(s.empty_calls, 0);
		assert_int_equal(m.frames, 11);
		vd_logs_demux_release(&m);
		seen_release(&s);
	}
	vd_buf_release(&b);
}

static void logs__demux_zero_length_frames(void **state)
{
	vd_buf b = VD_BUF_INIT;
	struct seen s;
	vd_logs_demux m;
	vd_error err = VD_ERROR_INIT;
	int i;

	for (i = 0; i < 5; i++)
		frame_s(&b, i % 2 ? 2 : 1, "");
	seen_init(&s);
	vd_logs_demux_init(&m, false, 0, record, &s);
	assert_int_equal(feed_cuts(&m, &b, NULL, 0, &err), 0);
	assert_int_equal(s.calls, 0);
	assert_int_equal(m.frames, 5);
	vd_logs_demux_release(&m);
	seen_release(&s);
	vd_buf_release(&b);
}

static void logs__demux_oversize(void **state)
{
	/* 16 MiB + 1: only the header is needed to refuse it */
	static const unsigned char big[8] = { 1, 0, 0, 0, 0x01, 0x00, 0x00, 0x01 };
	static const unsigned char max[8] = { 1, 0, 0, 0, 0x01, 0x00, 0x00, 0x00 };
	struct seen s;
	vd_logs_demux m;
	vd_error err = VD_ERROR_INIT;
	vd_buf b = VD_BUF_INIT;

	seen_init(&s);
	vd_logs_demux_init(&m, false, 0, record, &s);
	assert_int_equal(vd_logs_demux_feed(&m, (const char *)big, 8, &err), VD_EPROTO);
	assert_non_null(strstr(vd_error_msg(&err), "16777217"));
	/* it stays failed */
	assert_int_equal(vd_logs_demux_feed(&m, "x", 1, &err), VD_EPROTO);
	assert_int_equal(vd_logs_demux_finish(&m, &err), VD_EPROTO);
	assert_int_equal(s.calls, 0);
	vd_logs_demux_release(&m);

	/* exactly the limit is fine (the header at least) */
	vd_logs_demux_init(&m, false, 0, record, &s);
	assert_int_equal(vd_logs_demux_feed(&m, (const char *)max, 8, &err), 0);
	assert_int_equal(vd_logs_demux_finish(&m, &err), VD_EPROTO);  /* payload missing */
	vd_logs_demux_release(&m);

	/* a small custom limit */
	vd_logs_demux_init(&m, false, 4, record, &s);
	frame_s(&b, 1, "abcd");
	frame_s(&b, 2, "abcde");
	assert_int_equal(vd_logs_demux_feed(&m, b.ptr, b.len, &err), VD_EPROTO);
	assert_string_equal(vd_buf_cstr(&s.out), "abcd");
	assert_int_equal(s.err.len, 0);
	vd_logs_demux_release(&m);

	vd_buf_release(&b);
	seen_release(&s);
	vd_error_release(&err);
}

static void expect_bad_header(const char *bytes, size_t len, const char *needle)
{
	struct seen s;
	vd_logs_demux m;
	vd_error err = VD_ERROR_INIT;

	seen_init(&s);
	vd_logs_demux_init(&m, false, 0, record, &s);
	assert_int_equal(vd_logs_demux_feed(&m, bytes, len, &err), VD_EPROTO);
	assert_non_null(strstr(vd_error_msg(&err), needle));
	assert_int_equal(vd_logs_demux_finish(&m, &err), VD_EPROTO);
	vd_logs_demux_release(&m);
	seen_release(&s);
	vd_error_release(&err);
}

static void logs__demux_bad_type(void **state)
{
	vd_buf b = VD_BUF_INIT;

	expect_bad_header("\x04\0\0\0\0\0\0\x01x", 9, "bad frame header at byte 0");
	expect_bad_header("\xff\0\0\0\0\0\0\x01x", 9, "ff 00 00 00");
	/* non-zero padding */
	expect_bad_header("\x01\0\x01\0\0\0\0\x01x", 9, "bad frame header");
	/* a TTY stream read as framed: says so */
	expect_bad_header("hello world\n", 12, "TTY");
	/* a bad header after good frames: its offset is reported */
	frame_s(&b, 1, "ok\n");
	vd_buf_put(&b, "\x07\0\0\0\0\0\0\0", 8);
	expect_bad_header(b.ptr, b.len, "at byte 11");
	vd_buf_release(&b);
}

static void logs__demux_engine_error_frame(void **state)
{
	vd_buf b = VD_BUF_INIT;
	struct seen s;
	vd_logs_demux m;
	vd_error err = VD_ERROR_INIT;

	frame_s(&b, 1, "partial\n");
	frame_s(&b, 3, "container is gone\n");
	seen_init(&s);
	vd_logs_demux_init(&m, false, 0, record, &s);
	assert_int_equal(feed_cuts(&m, &b, (size_t[]){ 20 }, 1, &err), VD_EAPI);
	assert_string_equal(vd_error_msg(&err),
			    "the engine reported an error in the stream: container is gone");
	assert_string_equal(vd_buf_cstr(&s.out), "partial\n");
	vd_logs_demux_release(&m);
	seen_release(&s);
	vd_buf_release(&b);
	vd_error_release(&err);
}

static void logs__demux_truncated(void **state)
{
	vd_buf b = VD_BUF_INIT;
	vd_error err = VD_ERROR_INIT;
	size_t cut;

	sample_stream(&b);
	/* end the stream at every offset: clean only at frame boundaries */
	for (cut = 0; cut <= b.len; cut++) {
		struct seen s;
		vd_logs_demux m;
		int r;

		seen_init(&s);
		vd_logs_demux_init(&m, false, 0, record, &s);
		assert_int_equal(vd_logs_demux_feed(&m, b.ptr, cut, &err), 0);
		r = vd_logs_demux_finish(&m, &err);
		if (m.hdr_len == 0) {
			assert_int_equal(r, 0);
		} else {
			assert_int_equal(r, VD_EPROTO);
			assert_non_null(strstr(vd_error_msg(&err), "ended inside a frame"));
		}
		vd_logs_demux_release(&m);
		seen_release(&s);
	}
	vd_buf_release(&b);

	/* the specific cases */
	{
		struct seen s;
		vd_logs_demux m;

		seen_init(&s);
		vd_logs_demux_init(&m, false, 0, record, &s);
		assert_int_equal(vd_logs_demux_feed(&m, "\x01\0\0", 3, &err), 0);
		assert_int_equal(vd_logs_demux_finish(&m, &err), VD_EPROTO);
		assert_non_null(strstr(vd_error_msg(&err), "frame header (3 of 8 bytes"));
		vd_logs_demux_release(&m);

		vd_logs_demux_init(&m, false, 0, record, &s);
		assert_int_equal(vd_logs_demux_feed(&m, "\x02\0\0\0\0\0\0\x05" "ab", 10, &err), 0);
		assert_int_equal(vd_logs_demux_finish(&m, &err), VD_EPROTO);
		assert_non_null(strstr(vd_error_msg(&err), "3 bytes missing"));
		assert_string_equal(vd_buf_cstr(&s.err), "ab");
		vd_logs_demux_release(&m);
		seen_release(&s);
	}
	vd_error_release(&err);
}

static void logs__demux_raw(void **state)
{
	vd_buf b = VD_BUF_INIT;
	struct seen s;
	vd_logs_demux m;
	vd_error err = VD_ERROR_INIT;
	size_t i;

	/* something that would be a valid framed stream comes through as is */
	sample_stream(&b);
	vd_buf_puts(&b, "tty text\r\n");
	seen_init(&s);
	vd_logs_demux_init(&m, true, 0, record, &s);
	for (i = 0; i < b.len; i += 7)
		assert_int_equal(vd_logs_demux_feed(&m, b.ptr + i, b.len - i < 7 ? b.len - i : 7, &err), 0);
	assert_int_equal(vd_logs_demux_feed(&m, "", 0, &err), 0);
	assert_int_equal(vd_logs_demux_finish(&m, &err), 0);
	assert_int_equal(s.out.len, b.len);
	assert_memory_equal(s.out.ptr, b.ptr, b.len);
	assert_int_equal(s.err.len, 0);
	assert_int_equal(s.empty_calls, 0);
	vd_logs_demux_release(&m);
	seen_release(&s);
	vd_buf_release(&b);
}

static void logs__demux_stop(void **state)
{
	vd_buf b = VD_BUF_INIT;
	struct seen s;
	vd_logs_demux m;
	vd_error err = VD_ERROR_INIT;

	sample_stream(&b);
	seen_init(&s);
	s.stop_after = 2;
	vd_logs_demux_init(&m, false, 0, record, &s);
	assert_int_equal(vd_logs_demux_feed(&m, b.ptr, b.len, &err), VD_LOGS_STOP);
	assert_int_equal(s.calls, 2);
	assert_string_equal(vd_buf_cstr(&s.out), "out1\n");
	assert_string_equal(vd_buf_cstr(&s.err), "err1\n");
	/* nothing more is delivered */
	assert_int_equal(vd_logs_demux_feed(&m, b.ptr, b.len, &err), VD_LOGS_STOP);
	assert_int_equal(s.calls, 2);
	assert_int_equal(vd_logs_demux_finish(&m, &err), 0);
	assert_null(err.msg);
	vd_logs_demux_release(&m);
	seen_release(&s);

	/* raw mode too */
	seen_init(&s);
	s.stop_after = 1;
	vd_logs_demux_init(&m, true, 0, record, &s);
	assert_int_equal(vd_logs_demux_feed(&m, "abc", 3, &err), VD_LOGS_STOP);
	assert_int_equal(vd_logs_demux_feed(&m, "def", 3, &err), VD_LOGS_STOP);
	assert_string_equal(vd_buf_cstr(&s.out), "abc");
	vd_logs_demux_release(&m);
	seen_release(&s);
	vd_buf_release(&b);
}

static void logs__demux_callback_error(void **state)
{
	vd_buf b = VD_BUF_INIT;
	struct seen s;
	vd_logs_demux m;
	vd_error err = VD_ERROR_INIT;

	sample_stream(&b);
	seen_init(&s);
	s.fail_with = VD_EIO;
	vd_logs_demux_init(&m, false, 0, record, &s);
	assert_int_equal(vd_logs_demux_feed(&m, b.ptr, b.len, &err), VD_EIO);
	assert_string_equal(vd_error_msg(&err), "callback failed");
	assert_int_equal(s.calls, 1);
	assert_int_equal(vd_logs_demux_feed(&m, b.ptr, b.len, &err), VD_EIO);
	assert_string_equal(vd_error_msg(&err), "callback failed");
	assert_int_equal(s.calls, 1);
	vd_logs_demux_release(&m);
	seen_release(&s);
	vd_buf_release(&b);
	vd_error_release(&err);
}

static void logs__stdin_type_and_sink(void **state)
{
	vd_buf b = VD_BUF_INIT, out = VD_BUF_INIT, errb = VD_BUF_INIT;
	vd_logs_sink sink = { .out = &out, .err = &errb };
	vd_logs_demux m;
	vd_error err = VD_ERROR_INIT;

	frame_s(&b, 0, "in0 ");
	frame_s(&b, 1, "out1 ");
	frame_s(&b, 2, "err1 ");
	frame_s(&b, 1, "out2");
	vd_logs_demux_init(&m, false, 0, vd_logs_sink_cb, &sink);
	assert_int_equal(feed_cuts(&m, &b, (size_t[]){ 3, 13, 14 }, 3, &err), 0);
	assert_string_equal(vd_buf_cstr(&out), "in0 out1 out2");
	assert_string_equal(vd_buf_cstr(&errb), "err1 ");
	assert_false(sink.truncated);
	vd_logs_demux_release(&m);
	vd_buf_release(&b);
	vd_buf_release(&out);
	vd_buf_release(&errb);
}

static void logs__sink_cap(void **state)
{
	vd_buf out, errb;
	vd_logs_sink sink;
	vd_error err = VD_ERROR_INIT;

	vd_buf_init(&out, 8);
	vd_buf_init(&errb, 3);
	sink = (vd_logs_sink){ .out = &out, .err = &errb };
	assert_int_equal(vd_logs_sink_cb(VD_LOGS_STDOUT, "12345", 5, &sink, &err), 0);
	assert_false(sink.truncated);
	assert_int_equal(vd_logs_sink_cb(VD_LOGS_STDOUT, "67890", 5, &sink, &err), 0);
	assert_true(sink.truncated);
	assert_string_equal(vd_buf_cstr(&out), "12345678");
	assert_int_equal(vd_logs_sink_cb(VD_LOGS_STDOUT, "more", 4, &sink, &err), 0);
	assert_string_equal(vd_buf_cstr(&out), "12345678");
	assert_int_equal(vd_logs_sink_cb(VD_LOGS_STDERR, "abcdef", 6, &sink, &err), 0);
	assert_string_equal(vd_buf_cstr(&errb), "abc");
	/* a NULL buffer drops its stream */
	sink.err = NULL;
	sink.truncated = false;
	assert_int_equal(vd_logs_sink_cb(VD_LOGS_STDERR, "zzz", 3, &sink, &err), 0);
	assert_false(sink.truncated);
	vd_buf_release(&out);
	vd_buf_release(&errb);
}

static void exec__create_body(void **state)
{
	static const char *const argv[] = { "sh", "-c", "echo \"hi\"; exit 3", NULL };
	static const char *const env[] = { "A=1", "B=two words", NULL };
	vd_exec_opts opts = VD_EXEC_OPTS_INIT;
	vd_buf b = VD_BUF_INIT;
	vd_error err = VD_ERROR_INIT;

	assert_int_equal(vd_exec_create_body(argv, NULL, &b, &err), 0);
	assert_string_equal(vd_buf_cstr(&b),
			    "{\"AttachStdin\":false,\"AttachStdout\":true,\"AttachStderr\":true,"
			    "\"Tty\":false,\"Cmd\":[\"sh\",\"-c\",\"echo \\\"hi\\\"; exit 3\"]}");
	vd_buf_clear(&b);
	opts.env = env;
	opts.user = "postgres";
	opts.working_dir = "/tmp";
	assert_int_equal(vd_exec_create_body(argv, &opts, &b, &err), 0);
	assert_non_null(strstr(vd_buf_cstr(&b),
			       ",\"Env\":[\"A=1\",\"B=two words\"],\"User\":\"postgres\","
			       "\"WorkingDir\":\"/tmp\"}"));
	vd_buf_clear(&b);
	assert_int_equal(vd_exec_create_body((const char *const[]){ NULL }, NULL, &b, &err),
			 VD_EINVAL);
	assert_int_equal(vd_exec_create_body(NULL, NULL, &b, &err), VD_EINVAL);
	vd_buf_release(&b);
	vd_error_release(&err);
}

static void exec__state_parse(void **state)
{
	vd_exec_state st;
	vd_error err = VD_ERROR_INIT;

	/* recorded from Docker 20.10, trimmed */
	assert_int_equal(vd_exec_state_parse(
		"{\"CanRemove\":false,\"ContainerID\":\"b5a2\",\"DetachKeys\":\"\",\"ExitCode\":3,"
		"\"ID\":\"9f1c\",\"OpenStderr\":true,\"OpenStdin\":false,\"OpenStdout\":true,"
		"\"ProcessConfig\":{\"arguments\":[\"-c\",\"echo hi; exit 3\"],\"entrypoint\":\"sh\","
		"\"privileged\":false,\"tty\":false},\"Running\":false,\"Pid\":4242}", &st, &err), 0);
	assert_true(st.exited);
	assert_false(st.running);
	assert_int_equal(st.exit_code, 3);
	assert_int_equal(st.pid, 4242);

	/* the moment after EOF: exit code still null */
	assert_int_equal(vd_exec_state_parse("{\"ExitCode\":null,\"Running\":false,\"Pid\":1}",
					     &st, &err), 0);
	assert_false(st.exited);
	assert_int_equal(st.exit_code, -1);
	/* or still running (with a stale 0) */
	assert_int_equal(vd_exec_state_parse("{\"ExitCode\":0,\"Running\":true,\"Pid\":1}",
					     &st, &err), 0);
	assert_false(st.exited);
	assert_true(st.running);
	/* exit 0 */
	assert_int_equal(vd_exec_state_parse("{\"ExitCode\":0,\"Running\":false}", &st, &err), 0);
	assert_true(st.exited);
	assert_int_equal(st.exit_code, 0);

	assert_int_equal(vd_exec_state_parse("[1]", &st, &err), VD_EPROTO);
	assert_int_equal(vd_exec_state_parse("{\"ExitCode\":", &st, &err), VD_EPROTO);
	vd_error_release(&err);
}

static void exec__result_init(void **state)
{
	vd_exec_result res;

	vd_exec_result_init(&res, 0);
	assert_int_equal(res.exit_code, -1);
	assert_int_equal(res.out.max, (size_t)1 << 20);
	vd_exec_result_release(&res);
	vd_exec_result_init(&res, 10);
	assert_int_equal(res.err.max, 10);
	vd_exec_result_release(&res);
	vd_exec_result_release(NULL);
}


/* --- whole lines ----------------------------------------------------------- */

/* Each delivery as "<o|e>[text]" so that the blocks are visible. */
static int lines_cb(int stream, const char *lines, size_t len, void *ctx, vd_error *err)
{
	vd_buf *b = ctx;
	size_t i;

	(void)err;
	for (i = 0; i + 1 < len; i++)
		assert_true(lines[i] != '\n' || i + 1 < len);  /* ends at a line's end */
	assert_true(len > 0 && lines[len - 1] == '\n');
	vd_buf_printf(b, "%c[%.*s]", stream == VD_LOGS_STDERR ? 'e' : 'o', (int)len, lines);
	return 0;
}

static void feed(vd_logs_lines *l, int stream, const char *s)
{
	vd_error err = VD_ERROR_INIT;

	assert_int_equal(vd_logs_lines_feed(stream, s, strlen(s), l, &err), 0);
}

static void lines__partial_frames(void **state)
{
	vd_buf got = VD_BUF_INIT;
	vd_logs_lines l;
	vd_error err = VD_ERROR_INIT;

	vd_logs_lines_init(&l, 0, lines_cb, &got);
	feed(&l, VD_LOGS_STDOUT, "a1\na2\nhal");          /* two whole, one begun */
	feed(&l, VD_LOGS_STDERR, "e1 begun ");            /* stderr keeps its own */
	feed(&l, VD_LOGS_STDOUT, "f");
	feed(&l, VD_LOGS_STDOUT, "\nb1\nb2\n");            /* finishes, then whole ones */
	feed(&l, VD_LOGS_STDERR, "and done\ne2");
	feed(&l, VD_LOGS_STDIN, "c\n");                    /* stdin-typed: stdout */
	assert_int_equal(vd_logs_lines_finish(&l, &err), 0);
	assert_string_equal(vd_buf_cstr(&got),
			    "o[a1\na2\n]o[half\n]o[b1\nb2\n]e[e1 begun and done\n]o[c\n]e[e2\n]");
	vd_buf_clear(&got);
	/* finish with nothing pending delivers nothing */
	assert_int_equal(vd_logs_lines_finish(&l, &err), 0);
	assert_int_equal(got.len, 0);
	vd_logs_lines_release(&l);
	vd_buf_release(&got);
}

static void lines__byte_at_a_time(void **state)
{
	static const char text[] = "one\ntwo\n\nthree\n";
	vd_buf got = VD_BUF_INIT;
	vd_logs_lines l;
	vd_error err = VD_ERROR_INIT;
	size_t i;

	vd_logs_lines_init(&l, 0, lines_cb, &got);
	for (i = 0; i < sizeof(text) - 1; i++)
		assert_int_equal(vd_logs_lines_feed(VD_LOGS_STDOUT, text + i, 1, &l, &err), 0);
	assert_int_equal(vd_logs_lines_finish(&l, &err), 0);
	assert_string_equal(vd_buf_cstr(&got), "o[one\n]o[two\n]o[\n]o[three\n]");
	vd_logs_lines_release(&l);
	vd_buf_release(&got);
}

static void lines__overlong_cut(void **state)
{
	vd_buf got = VD_BUF_INIT;
	vd_logs_lines l;
	vd_error err = VD_ERROR_INIT;

	vd_logs_lines_init(&l, 4, lines_cb, &got);
	feed(&l, VD_LOGS_STDOUT, "abcdefghij\nok\n");      /* cut every 4 bytes */
	feed(&l, VD_LOGS_STDOUT, "xy");
	feed(&l, VD_LOGS_STDOUT, "zw12");                   /* reaches the cap unfinished */
	feed(&l, VD_LOGS_STDOUT, "\n");
	assert_int_equal(vd_logs_lines_finish(&l, &err), 0);
	assert_string_equal(vd_buf_cstr(&got),
			    "o[abcd\n]o[efgh\n]o[ij\n]o[ok\n]o[xyzw\n]o[12\n]");
	vd_logs_lines_release(&l);
	vd_buf_release(&got);
}

/* Through the demultiplexer, frames split anywhere. */
static void lines__through_demux(void **state)
{
	static const unsigned char frames[] = {
		1, 0, 0, 0, 0, 0, 0, 6, 'o', 'u', 't', '1', '\n', 'p',
		2, 0, 0, 0, 0, 0, 0, 5, 'e', 'r', 'r', '1', '\n',
		1, 0, 0, 0, 0, 0, 0, 4, 'a', 'r', 't', '\n',
	};
	size_t cut;

	for (cut = 0; cut <= sizeof(frames); cut++) {
		vd_buf got = VD_BUF_INIT;
		vd_logs_lines l;
		vd_logs_demux m;
		vd_error err = VD_ERROR_INIT;

		vd_logs_lines_init(&l, 0, lines_cb, &got);
		vd_logs_demux_init(&m, false, 0, vd_logs_lines_feed, &l);
		assert_int_equal(vd_logs_demux_feed(&m, (const char *)frames, cut, &err), 0);
		assert_int_equal(vd_logs_demux_feed(&m, (const char *)frames + cut,
						    sizeof(frames) - cut, &err), 0);
		assert_int_equal(vd_logs_demux_finish(&m, &err), 0);
		assert_int_equal(vd_logs_lines_finish(&l, &err), 0);
		assert_string_equal(vd_buf_cstr(&got), "o[out1\n]e[err1\n]o[part\n]");
		vd_logs_demux_release(&m);
		vd_logs_lines_release(&l);
		vd_buf_release(&got);
	}
}

/* --- --since / --until ------------------------------------------------------ */

static void since_ok(const char *in, double now, const char *want)
{
	vd_error err = VD_ERROR_INIT;
	char out[48];

	if (vd_logs_parse_time(in, now, out, &err))
		fail_msg("%s: %s", in, vd_error_msg(&err));
	assert_string_equal(out, want);
}

static void logs__parse_time(void **state)
{
	vd_error err = VD_ERROR_INIT;
	char out[48], want[48];
	struct tm tm;
	time_t now = 1767225600, local;  /* 2026-01-01T00:00:00Z */
	static const char *const bad[] = {
		"", "10q", "1h30", "m", "-", "2026-13-01", "2026-01-01T25:00",
		"2026-01-01T10:00:00+0200", "2026-01-01 10:00", "yesterday", "1.2.3",
	};
	size_t i;

	/* durations before now, whole seconds as Go's Unix() */
	since_ok("10m", (double)now + 0.7, "1767225000");
	since_ok("1h30m", (double)now, "1767220200");
	since_ok("1.5h", (double)now, "1767220200");
	since_ok("90s", (double)now, "1767225510");
	since_ok("500ms", (double)now + 0.6, "1767225600");
	since_ok("2h45m30.5s", (double)now, "1767215669");
	since_ok("-1m", (double)now, "1767225660");
	/* RFC 3339 with a zone, and the short forms */
	since_ok("2026-01-02T13:23:37Z", 0, "1767360217.000000000");
	since_ok("2026-01-02T13:23:37.5+02:00", 0, "1767353017.500000000");
	since_ok("2026-01-02T13:23:37.123456789Z", 0, "1767360217.123456789");
	since_ok("2026-01-02T13:23Z", 0, "1767360180.000000000");
	since_ok("2026-01-02T13Z", 0, "1767358800.000000000");
	since_ok("2026-01-02Z", 0, "1767312000.000000000");
	since_ok("2026-01-02T13:23:37-05:30", 0, "1767380017.000000000");
	/* unix times pass as they are; "0" is one */
	since_ok("1767225600", 0, "1767225600");
	since_ok("10", 0, "10");
	since_ok("1767225600.25", 0, "1767225600.25");
	since_ok("0", 0, "0");
	/* no zone: local time at the offset in force now */
	localtime_r(&now, &tm);
	local = 1767360180 - tm.tm_gmtoff;  /* 2026-01-02T13:23 less the offset */
	snprintf(want, sizeof(want), "%lld.000000000", (long long)local);
	since_ok("2026-01-02T13:23", (double)now, want);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (!vd_logs_parse_time(bad[i], (double)now, out, &err))
			fail_msg("'%s' taken as %s", bad[i], out);
		assert_int_equal(err.code, VD_EINVAL);
		vd_error_release(&err);
	}
}

/* --- how `logs` prints ------------------------------------------------------- */

static char *view_print(const char *const *services, size_t n, bool colour,
			void (*feed_fn)(vd_logview *v))
{
	vd_logview v;
	vd_error err = VD_ERROR_INIT;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	assert_int_equal(vd_logview_init(&v, f, services, n, colour, &err), 0);
	feed_fn(&v);
	assert_int_equal(vd_logview_flush(&v, true, &err), 0);
	vd_logview_release(&v);
	fclose(f);
	return text;
}

static void view_lines(vd_logview *v, size_t i, const char *s, size_t len)
{
	vd_error err = VD_ERROR_INIT;

	assert_int_equal(vd_logview_lines(v, i, s, len, &err), 0);
}

static void feed_two(vd_logview *v)
{
	view_lines(v, 0, "started\nlistening on 8080\n", 26);
	view_lines(v, 1, "ready\n", 6);
	view_lines(v, 0, "token=Zq8-kT4wX9-pL2m7 in use\n", 30);
	view_lines(v, 1, "nul \0 inside\n", 13);
}

static void view__prefix_and_redaction(void **state)
{
	static const char *const services[] = { "app", "postgres" };
	char *text;

	vd_secret_clear();
	assert_int_equal(vd_secret_add("Zq8-kT4wX9-pL2m7"), 0);
	text = view_print(services, 2, false, feed_two);
	/* compose: the name padded to the longest, " | " */
	assert_string_equal(text,
			    "app      | started\n"
			    "app      | listening on 8080\n"
			    "postgres | ready\n"
			    "app      | token=*** in use\n"
			    "postgres | nul ");
	/* the NUL is kept and the line goes on after it */
	assert_memory_equal(text + strlen(text), "\0 inside\n", 9);
	free(text);
	vd_secret_clear();
}

static void feed_one(vd_logview *v)
{
	view_lines(v, 0, "a\n", 2);
}

static void view__colour_on_a_terminal(void **state)
{
	static const char *const services[] = { "app" };
	char *text = view_print(services, 1, true, feed_one);

	assert_string_equal(text, "\033[36mapp |\033[0m a\n");
	free(text);
}

/* Many blocks of one service are held and redacted together; a large
 * output is written out as it grows. */
static void feed_many(vd_logview *v)
{
	char line[64];
	int i;

	for (i = 0; i < 20000; i++) {
		int n = snprintf(line, sizeof(line), "line %d with hunter2hunter2x\n", i);

		view_lines(v, 0, line, (size_t)n);
	}
}

static void view__many_lines(void **state)
{
	static const char *const services[] = { "worker" };
	char *text, *p;
	int i = 0;

	vd_secret_clear();
	assert_int_equal(vd_secret_add("hunter2hunter2x"), 0);
	text = view_print(services, 1, false, feed_many);
	for (p = text; *p; i++) {
		char want[64];
		int n = snprintf(want, sizeof(want), "worker | line %d with ***\n", i);

		assert_memory_equal(p, want, (size_t)n);
		p += n;
	}
	assert_int_equal(i, 20000);
	free(text);
	vd_secret_clear();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(logs__demux_whole),
		cmocka_unit_test(logs__demux_byte_at_a_time),
		cmocka_unit_test(logs__demux_every_boundary),
		cmocka_unit_test(logs__demux_random_chunks),
		cmocka_unit_test(logs__demux_zero_length_frames),
		cmocka_unit_test(logs__demux_oversize),
		cmocka_unit_test(logs__demux_bad_type),
		cmocka_unit_test(logs__demux_engine_error_frame),
		cmocka_unit_test(logs__demux_truncated),
		cmocka_unit_test(logs__demux_raw),
		cmocka_unit_test(logs__demux_stop),
		cmocka_unit_test(logs__demux_callback_error),
		cmocka_unit_test(logs__stdin_type_and_sink),
		cmocka_unit_test(logs__sink_cap),
		cmocka_unit_test(lines__partial_frames),
		cmocka_unit_test(lines__byte_at_a_time),
		cmocka_unit_test(lines__overlong_cut),
		cmocka_unit_test(lines__through_demux),
		cmocka_unit_test(logs__parse_time),
		cmocka_unit_test(view__prefix_and_redaction),
		cmocka_unit_test(view__colour_on_a_terminal),
		cmocka_unit_test(view__many_lines),
		cmocka_unit_test(exec__create_body),
		cmocka_unit_test(exec__state_parse),
		cmocka_unit_test(exec__result_init),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
