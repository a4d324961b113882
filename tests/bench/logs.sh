#!/usr/bin/env bash
# Benchmark: `voxdeploy logs SERVICE --tail 10000` against
# `docker logs --tail 10000 CONTAINER`, the same chatty container (20,000
# lines of ~100 bytes, stdout and stderr, already logged), alternating,
# several rounds, in one run.  Also the engine's own time for the same call
# (curl on the socket, output discarded): neither client can beat it.  Prints
# the medians and the ratio (target: voxdeploy / docker <= 0.5), and checks
# that both printed the same 10,000 lines.
#
# usage: tests/bench/logs.sh [BUILD_DIR] [ROUNDS]
# Needs the engine and voxdeploy-test/busybox:1 (tests/fixtures/build-images).
set -euo pipefail

build=${1:-build}
rounds=${2:-21}
vd="$build/controller/voxdeploy"
docker=docker
[ -x /usr/bin/docker ] && docker=/usr/bin/docker
image=${VD_TEST_BUSYBOX_IMAGE:-voxdeploy-test/busybox:1}
project="vdbenchlogs$$"
name="${project}-chatty-1"
sock=${DOCKER_HOST:-unix:///var/run/docker.sock}
sock=${sock#unix://}

[ -x "$vd" ] || { echo "bench: build voxdeploy first ($vd missing)" >&2; exit 2; }
dir=$(mktemp -d "${TMPDIR:-/tmp}/vd-bench-logs.XXXXXX")
cleanup() {
	$docker rm -f "$name" >/dev/null 2>&1 || true
	rm -rf "$dir"
}
trap cleanup EXIT

cat >"$dir/compose.yml" <<EOC
name: $project
services:
  chatty:
    image: $image
EOC
$docker run -d --name "$name" \
	--label io.voxdeploy.test=1 \
	--label "com.docker.compose.project=$project" \
	--label com.docker.compose.service=chatty \
	--label com.docker.compose.oneoff=False \
	"$image" sh -c 'i=0; while [ $i -lt 20000 ]; do
		echo "$i GET /api/v1/items?page=$i 200 0.004s user-agent=bench the quick brown fox jumps"
		[ $((i % 10)) = 0 ] && echo "$i WARN slow query on items took 120ms" >&2
		i=$((i+1)); done; sleep 3600' >/dev/null
# wait until it has logged everything
for _ in $(seq 1 100); do
	[ "$($docker logs --tail 1 "$name" 2>&1)" = "19999 GET /api/v1/items?page=19999 200 0.004s user-agent=bench the quick brown fox jumps" ] && break
	sleep 0.2
done

now_ns() { date +%s%N; }
vd_times=() dk_times=() eng_times=()
for _ in $(seq 1 "$rounds"); do
	t0=$(now_ns)
	"$vd" -C "$dir" logs chatty --tail 10000 >/dev/null
	t1=$(now_ns)
	$docker logs --tail 10000 "$name" >/dev/null 2>&1
	t2=$(now_ns)
	curl -s --unix-socket "$sock" -o /dev/null \
		"http://localhost/v1.41/containers/$name/logs?stdout=1&stderr=1&tail=10000"
	t3=$(now_ns)
	vd_times+=($(( (t1 - t0) / 1000 )))
	dk_times+=($(( (t2 - t1) / 1000 )))
	eng_times+=($(( (t3 - t2) / 1000 )))
done

# the same lines: voxdeploy's without their prefix, docker's stdout and stderr
"$vd" -C "$dir" logs chatty --tail 10000 | sed 's/^chatty | //' | sort >"$dir/vd.txt"
$docker logs --tail 10000 "$name" 2>&1 | sort >"$dir/docker.txt"
[ "$(wc -l <"$dir/vd.txt")" -eq 10000 ] || { echo "bench: voxdeploy printed $(wc -l <"$dir/vd.txt") lines" >&2; exit 1; }
cmp -s "$dir/vd.txt" "$dir/docker.txt" || { echo "bench: voxdeploy and docker printed different lines" >&2; exit 1; }

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
vd_med=$(median "${vd_times[@]}")
dk_med=$(median "${dk_times[@]}")
eng_med=$(median "${eng_times[@]}")
ratio=$(awk -v a="$vd_med" -v b="$dk_med" 'BEGIN {printf "%.3f", a / b}')
floor=$(awk -v a="$eng_med" -v b="$dk_med" 'BEGIN {printf "%.3f", a / b}')
echo "logs --tail 10000, $rounds rounds: voxdeploy median ${vd_med} us, docker logs median ${dk_med} us," \
	"the engine alone (curl) median ${eng_med} us"
echo "ratio voxdeploy/docker-logs = $ratio (target <= 0.5; the engine alone is $floor of docker logs)"
awk -v r="$ratio" 'BEGIN {exit !(r <= 0.5)}' || echo "bench: ratio above target" >&2
