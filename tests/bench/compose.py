#!/usr/bin/env python3
"""Benchmark: load a VoxPersona-sized compose project and produce every create
request, voxdeploy against `docker-compose config` (Debian's docker-compose
1.29), alternately in the same run.

The project is tests/integration/compose/voxpersona (copied to a temporary
directory): the app built from a Dockerfile with a target and build args,
PostgreSQL with a healthcheck and a named volume, a MinIO-like service, a
declared bridge network with an IPAM subnet and a fixed address,
depends_on service_healthy, bind mounts, ${VAR:-default} nearly everywhere,
env_file and a .env.

Each process run is timed from Python (spawn and wait included, the same for
both sides); the start-up floor of voxdeploy's binary (exec and its shared
libraries, no work) is measured alongside, so the work itself is visible.

voxdeploy's side: `voxdeploy config --json`, one process per run, as
docker-compose is; when it cannot run, the bench helper
build/tests/compose_bench, which does the same loading — discover the
project, read .env, load the compose model, and build every network, volume
and container create body — and then also reports its in-process median (no
process start-up) over many runs (`compose_bench DIR 1000`).

Prints both medians of ROUNDS runs, their ratio, and whether voxdeploy's
median is within the 5 ms target.  No assertion: tests never time things.

usage: tests/bench/compose.py [BUILD_DIR] [ROUNDS]
"""
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "build")
ROUNDS = int(sys.argv[2]) if len(sys.argv) > 2 else 21
VD_CONFIG = os.path.join(BUILD, "controller", "voxdeploy")
HELPER = os.path.join(BUILD, "tests", "compose_bench")
CORPUS = os.path.join(HERE, "..", "integration", "compose", "voxpersona")
TARGET_MS = 5.0


def voxdeploy_command(project):
    """`voxdeploy config --json` when it runs, else the bench helper."""
    if os.path.exists(VD_CONFIG):
        probe = subprocess.run([VD_CONFIG, "-C", project, "config", "--json"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if probe.returncode == 0:
            return [VD_CONFIG, "-C", project, "config", "--json"], "voxdeploy config --json"
    if not os.access(HELPER, os.X_OK):
        sys.exit("bench: build the helper first (%s missing)" % HELPER)
    return [HELPER, project, "--print"], "compose_bench (load + create requests)"


def timed(cmd, cwd):
    t0 = time.perf_counter_ns()
    p = subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    t1 = time.perf_counter_ns()
    if p.returncode != 0:
        sys.exit("bench: %s failed: %s" % (" ".join(cmd), p.stderr.decode(errors="replace")))
    return (t1 - t0) / 1e6


def main():
    if not shutil.which("docker-compose"):
        sys.exit("bench: docker-compose (Debian's 1.29) is not installed")
    tmp = tempfile.mkdtemp(prefix="vd-bench-compose-")
    try:
        project = os.path.join(tmp, "voxpersona")
        shutil.copytree(CORPUS, project)
        vd_cmd, vd_name = voxdeploy_command(project)
        dc_cmd = ["docker-compose", "config"]
        # warm the page cache and Python's imports once each
        timed(vd_cmd, project)
        timed(dc_cmd, project)
        vd, dc, floor, spawn = [], [], [], []
        for _ in range(ROUNDS):
            vd.append(timed(vd_cmd, project))
            dc.append(timed(dc_cmd, project))
            floor.append(timed([HELPER, "--startup-only"], project))
            spawn.append(timed(["/bin/true"], project))
        inproc = ""
        if vd_cmd[0] == HELPER:
            p = subprocess.run([HELPER, project, "1000"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, check=True)
            inproc = p.stderr.decode().strip()
        vd_med, dc_med = statistics.median(vd), statistics.median(dc)
        print("compose project %s, %d rounds, alternating" % ("voxpersona", ROUNDS))
        print("  voxdeploy (%s): median %.2f ms (min %.2f, max %.2f)" %
              (vd_name, vd_med, min(vd), max(vd)))
        print("  start-up floor (the same binary, exiting at once): median %.2f ms" %
              statistics.median(floor))
        print("  spawn floor (/bin/true from here): median %.2f ms" % statistics.median(spawn))
        if inproc:
            print("  voxdeploy %s" % inproc)
        print("  docker-compose config (1.29): median %.2f ms (min %.2f, max %.2f)" %
              (dc_med, min(dc), max(dc)))
        print("ratio voxdeploy/docker-compose = %.4f (%.0fx faster)" % (vd_med / dc_med, dc_med / vd_med))
        print("voxdeploy median %.2f ms: %s the %.0f ms target" %
              (vd_med, "within" if vd_med <= TARGET_MS else "ABOVE", TARGET_MS))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
