#!/usr/bin/env bash
# Benchmark: `voxdeploy serve` under load.  wrk (installed with apt when
# missing) with 2 threads and 100 connections for 30 s against /v1/report
# (answered from the cache: serve.report_ttl is 1h, and one request before
# the run fills it) and against /metrics, on a project of one busybox
# container.  Prints per endpoint the requests per second, the errors
# (non-2xx/3xx answers and socket errors), and the serve process's RSS
# (VmRSS) before, under load (the highest of one sample a second) and a
# second after (wrk has closed its connections by then).
# Targets: >= 5000 req/s each, 0 errors, RSS after <= RSS before + 1 MB.
#
# usage: tests/bench/serve.sh [BUILD_DIR] [DURATION]     (DURATION: 30s)
# Needs the engine and voxdeploy-test/busybox:1 (tests/fixtures/build-images).
set -euo pipefail

build=${1:-build}
duration=${2:-30s}
vd="$build/controller/voxdeploy"
docker=docker
[ -x /usr/bin/docker ] && docker=/usr/bin/docker
image=${VD_TEST_BUSYBOX_IMAGE:-voxdeploy-test/busybox:1}
project="vdbenchserve$$"

[ -x "$vd" ] || { echo "bench: build voxdeploy first ($vd missing)" >&2; exit 2; }
bench=serve
# shellcheck source=tests/bench/serve_stack.sh
. "$(dirname "$0")/serve_stack.sh"

serve_up

code=$(curl -s -o "$dir/report.json" -w '%{http_code}' "$base/v1/report")
[ "$code" = 200 ] || { echo "bench: /v1/report answered $code: $(cat "$dir/report.json")" >&2; exit 1; }
code=$(curl -s -o /dev/null -w '%{http_code}' "$base/metrics")
[ "$code" = 200 ] || { echo "bench: /metrics answered $code" >&2; exit 1; }

rss() { awk '/^VmRSS:/ {print $2}' "/proc/$serve_pid/status"; }

fail=0
# run PATH: wrk against it, print the figures, check the targets
run() {
	local path=$1 out rps non2xx sock before after peak
	before=$(rss)
	out=$(wrk -t2 -c100 -d"$duration" "$base$path" & wpid=$!
		peak=0
		while kill -0 $wpid 2>/dev/null; do
			r=$(rss); ((r > peak)) && peak=$r
			sleep 1
		done
		wait $wpid
		echo "peak $peak")
	peak=$(awk '/^peak / {print $2}' <<<"$out")
	sleep 1  # wrk has closed its connections; let serve release them
	after=$(rss)
	rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
	non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' <<<"$out")
	sock=$(awk -F'[ ,]+' '/Socket errors:/ {print $4 + $6 + $8 + $10}' <<<"$out")
	total=$(awk '/requests in/ {print $1}' <<<"$out")
	printf '%-11s %10.0f req/s  %s requests  errors: %s non-2xx/3xx, %s socket  RSS %s kB -> %s kB (%+d kB; %s kB under load)\n' \
		"$path" "$rps" "$total" "${non2xx:-0}" "${sock:-0}" "$before" "$after" $((after - before)) "$peak"
	awk -v r="$rps" 'BEGIN {exit !(r >= 5000)}' || { echo "bench: $path below 5000 req/s" >&2; fail=1; }
	[ "${non2xx:-0}" = 0 ] && [ "${sock:-0}" = 0 ] || { echo "bench: $path had errors" >&2; fail=1; }
	((after - before <= 1024)) || { echo "bench: $path: RSS grew by more than 1 MB" >&2; fail=1; }
}

echo "serve on $base, wrk -t2 -c100 -d$duration, $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
run /v1/report
run /metrics
echo "targets: >= 5000 req/s, 0 errors, RSS growth <= 1024 kB: $([ $fail = 0 ] && echo met || echo MISSED)"
