#!/usr/bin/env bash
# Benchmark: the status page of `voxdeploy serve` under load.  wrk
# (installed with apt when missing) with 2 threads and 50 keep-alive
# connections against GET / on a project of one busybox container, with a
# journal of 10,000 records (400 deploys: the page shows the last 20) and a
# report served from the cache (serve.report_ttl is 1h; one request before
# the run fills it); then, in the same run, against /healthz (which asks the
# engine each time) for comparison.  Prints requests per second, errors,
# the page's size and the ratio of / to the target.
# Target: / >= 2000 req/s with 50 connections, 0 errors.
#
# usage: tests/bench/page.sh [BUILD_DIR] [DURATION]     (DURATION: 20s)
# Needs the engine and voxdeploy-test/busybox:1 (tests/fixtures/build-images).
set -euo pipefail

build=${1:-build}
duration=${2:-20s}
target=2000
vd="$build/controller/voxdeploy"
docker=docker
[ -x /usr/bin/docker ] && docker=/usr/bin/docker
image=${VD_TEST_BUSYBOX_IMAGE:-voxdeploy-test/busybox:1}
project="vdbenchpage$$"

[ -x "$vd" ] || { echo "bench: build voxdeploy first ($vd missing)" >&2; exit 2; }
bench=page
# shellcheck source=tests/bench/serve_stack.sh
. "$(dirname "$0")/serve_stack.sh"

# the journal as deploys write it: 400 deploys of 25 records, every 7th failed
# and rolled back; current.json names the last one
mkdir -m 700 "$dir/.state"
awk -v project="$project" -v state="$dir/.state" 'BEGIN {
	split("lock sync build tag create stop start health cleanup notify release", steps, " ")
	for (d = 0; d < 400; d++) {
		id = sprintf("20261203T%02d%02d00Z-%06x", int(d / 60) % 24, d % 60, d)
		t = 1796342400 + d * 60
		seq = 0
		printf "{\"ts\":\"%s\",\"deploy_id\":\"%s\",\"seq\":%d,\"step\":\"deploy\",\"state\":\"begin\"}\n", ts(t, 0), id, ++seq
		for (k = 1; k <= 11; k++) {
			svc = (k >= 3 && k <= 8) ? ",\"service\":\"web\"" : ""
			printf "{\"ts\":\"%s\",\"deploy_id\":\"%s\",\"seq\":%d,\"step\":\"%s\",\"state\":\"begin\"%s}\n", ts(t, k * 2), id, ++seq, steps[k], svc
			st = (d % 7 == 0 && k == 8) ? "failed" : "done"
			printf "{\"ts\":\"%s\",\"deploy_id\":\"%s\",\"seq\":%d,\"step\":\"%s\",\"state\":\"%s\"%s,\"step_ms\":\"%d\"}\n", ts(t, k * 2 + 1), id, ++seq, steps[k], st, svc, 1000
		}
		if (d % 7 == 0) {
			printf "{\"ts\":\"%s\",\"deploy_id\":\"%s\",\"seq\":%d,\"step\":\"rollback\",\"state\":\"done\",\"step_ms\":\"3000\"}\n", ts(t, 26), id, ++seq
			result = "failed"
		} else {
			printf "{\"ts\":\"%s\",\"deploy_id\":\"%s\",\"seq\":%d,\"step\":\"notify\",\"state\":\"skipped\"}\n", ts(t, 26), id, ++seq
			result = "done"
		}
		printf "{\"ts\":\"%s\",\"deploy_id\":\"%s\",\"seq\":%d,\"step\":\"deploy\",\"state\":\"%s\",\"type\":\"APP_ONLY\",\"from\":\"%040d\",\"to\":\"%040x\",\"duration_ms\":\"27000\",\"actor\":\"bench\",\"note\":\"https://ci.example/runs/%d\"}\n", ts(t, 27), id, ++seq, result, 0, d, d
	}
	printf "{\"project\":\"%s\",\"commit\":\"%040x\",\"deploy_id\":\"%s\",\"deployed_at\":\"%s\",\"images\":{},\"containers\":{}}\n", project, 399, id, ts(t, 27) > (state "/current.json")
}
function ts(t, s) { return strftime("%Y-%m-%dT%H:%M:%S.000Z", t + s, 1) }' >"$dir/.state/journal.jsonl"
records=$(wc -l <"$dir/.state/journal.jsonl")

serve_up

code=$(curl -s -o "$dir/page.html" -w '%{http_code}' "$base/")
[ "$code" = 200 ] || { echo "bench: / answered $code" >&2; exit 1; }
deploys=$(grep -o '<li class="deploy' "$dir/page.html" | wc -l)
[ "$deploys" = 20 ] || { echo "bench: the page shows $deploys deploys, not 20" >&2; exit 1; }

fail=0
page_rps=0
# run PATH: wrk against it; prints the figures, sets rps
run() {
	local path=$1 out non2xx sock total
	out=$(wrk -t2 -c50 -d"$duration" "$base$path")
	rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
	non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' <<<"$out")
	sock=$(awk -F'[ ,]+' '/Socket errors:/ {print $4 + $6 + $8 + $10}' <<<"$out")
	total=$(awk '/requests in/ {print $1}' <<<"$out")
	printf '%-9s %10.0f req/s  %s requests  errors: %s non-2xx/3xx, %s socket\n' \
		"$path" "$rps" "$total" "${non2xx:-0}" "${sock:-0}"
	[ "${non2xx:-0}" = 0 ] && [ "${sock:-0}" = 0 ] || { echo "bench: $path had errors" >&2; fail=1; }
}

echo "serve on $base, wrk -t2 -c50 -d$duration, $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "journal: $records records; the page: $(wc -c <"$dir/page.html") bytes, $deploys deploys"
run /
page_rps=$rps
run /healthz
awk -v p="$page_rps" -v h="$rps" -v t="$target" 'BEGIN {
	printf "ratio: / %.0f req/s = %.2f x the target %d; %.2f x /healthz\n", p, p / t, t, (h > 0 ? p / h : 0) }'
awk -v r="$page_rps" -v t="$target" 'BEGIN {exit !(r >= t)}' || { echo "bench: / below $target req/s" >&2; fail=1; }
echo "target: / >= $target req/s with 50 connections, 0 errors: $([ $fail = 0 ] && echo met || echo MISSED)"
exit $fail
