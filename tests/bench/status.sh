#!/usr/bin/env bash
# Benchmark: `voxdeploy status --json` on a project of 50 containers against
# `docker ps -a --filter label=com.docker.compose.project=P` with JSON output,
# the same containers, alternating, several rounds, in one run.  Prints both
# medians and their ratio (target: voxdeploy / docker <= 0.5).
#
# usage: tests/bench/status.sh [BUILD_DIR] [ROUNDS]
set -euo pipefail

build=${1:-build}
rounds=${2:-21}
n=50
vd="$build/controller/voxdeploy"
docker=docker
[ -x /usr/bin/docker ] && docker=/usr/bin/docker
image=${VD_TEST_BUSYBOX_IMAGE:-voxdeploy-test/busybox:1}
project="vdbench$$"

[ -x "$vd" ] || { echo "bench: build voxdeploy first ($vd missing)" >&2; exit 2; }

cleanup() {
	ids=$($docker ps -aq --filter "label=com.docker.compose.project=$project")
	[ -z "$ids" ] || $docker rm -f $ids >/dev/null
}
trap cleanup EXIT

echo "bench: starting $n containers in project $project" >&2
for i in $(seq 1 $n); do
	$docker run -d --name "${project}_svc${i}_1" \
		--label io.voxdeploy.test=1 \
		--label "com.docker.compose.project=$project" \
		--label "com.docker.compose.service=svc$i" \
		"$image" sleep 3600 >/dev/null
done

# docker's CLI takes --format json from 24 on; '{{json .}}' is the same output
fmt=json
$docker ps --format json >/dev/null 2>&1 || fmt='{{json .}}'

now_ns() { date +%s%N; }
vd_times=()
ps_times=()
for r in $(seq 1 "$rounds"); do
	t0=$(now_ns)
	"$vd" -p "$project" status --json >/dev/null
	t1=$(now_ns)
	$docker ps -a --filter "label=com.docker.compose.project=$project" --format "$fmt" >/dev/null
	t2=$(now_ns)
	vd_times+=($(( (t1 - t0) / 1000 )))
	ps_times+=($(( (t2 - t1) / 1000 )))
done

# sanity: both saw all containers
got=$("$vd" -p "$project" status --json | grep -o '"name":' | wc -l)
[ "$got" -eq "$n" ] || { echo "bench: voxdeploy listed $got of $n containers" >&2; exit 1; }

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
vd_med=$(median "${vd_times[@]}")
ps_med=$(median "${ps_times[@]}")
ratio=$(awk -v a="$vd_med" -v b="$ps_med" 'BEGIN {printf "%.3f", a / b}')
echo "status of $n containers, $rounds rounds: voxdeploy median ${vd_med} us, docker ps median ${ps_med} us"
echo "ratio voxdeploy/docker-ps = $ratio (target <= 0.5)"
awk -v r="$ratio" 'BEGIN {exit !(r <= 0.5)}' || echo "bench: ratio above target" >&2
