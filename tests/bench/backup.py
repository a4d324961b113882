#!/usr/bin/env python3
"""Benchmark: voxdeploy's database dump and restore against the docker CLI
doing the same inside the same container, in one run on one machine.

A PostgreSQL container (the fixture image, a named volume) holds a database
of at least 300 MB (one table of ~1 kB rows of random hex: it compresses
about 2:1, so the dump is big too and the stream, not a fixed cost, is what
is measured).  Per
round, interleaved:

  dump     (p) docker exec PG pg_dump -Fc -U vd -d vd > FILE
           (v) voxdeploy backup            (pg_dump -Fc in the container
               through the exec API, streamed to $STATE_DIR/backups, with
               its size check and the PGDMP header check)
  restore  (p) docker exec -i PG pg_restore --clean --if-exists
               --single-transaction -U vd -d vd < FILE
           (v) voxdeploy restore ID --yes  (the same pg_restore with the dump
               on its stdin through a hijacked exec; nothing depends on the
               database here, and health.stable_for is 100 ms, so the rest
               of the command is small)

goals: v/p <= 1.05 for each (the stream is the limit; no copy more than
needed).  Then the downtime a FULL_RESTART pays for its dump: the journal's
"backup" step of `voxdeploy deploy --type full` (the writers are stopped for
that long before PostgreSQL stops).

usage: tests/bench/backup.py [BUILD_DIR] [ROUNDS] [MB]   (ROUNDS default 3, MB default 320)
Everything it makes carries io.voxdeploy.test=1 and is removed at exit.
"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

BUILD = sys.argv[1] if len(sys.argv) > 1 else "build"
ROUNDS = max(1, int(sys.argv[2]) if len(sys.argv) > 2 else 3)
MB = max(300, int(sys.argv[3]) if len(sys.argv) > 3 else 320)
VD = os.path.abspath(os.path.join(BUILD, "controller", "voxdeploy"))
DOCKER = "/usr/bin/docker" if os.access("/usr/bin/docker", os.X_OK) else "docker"
POSTGRES = os.environ.get("VD_TEST_POSTGRES_IMAGE", "voxdeploy-test/postgres:local")
PW = "bench-pw-7c1"


def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


def run(cmd, cwd=None, stdin=None, stdout=None, check=True):
    t0 = time.time()
    p = subprocess.run(cmd, cwd=cwd, stdin=stdin, stdout=stdout if stdout else subprocess.PIPE,
                       stderr=subprocess.PIPE)
    dt = time.time() - t0
    if check and p.returncode:
        raise SystemExit("bench: %s exited %d: %s" % (" ".join(cmd), p.returncode,
                                                     (p.stderr or b"")[-2000:].decode(errors="replace")))
    return dt, (p.stdout or b"").decode(errors="replace") if not stdout else ""


def psql(container, query):
    return run([DOCKER, "exec", container, "psql", "-X", "-At", "-U", "vd", "-d", "vd", "-c", query])[1].strip()


def main():
    if not os.access(VD, os.X_OK):
        sys.exit("bench: build voxdeploy first (%s missing)" % VD)
    root = tempfile.mkdtemp(prefix="vd-bench-backup-")
    project = "vdbb%d" % os.getpid()
    state = os.path.join(root, "state")
    env = dict(os.environ, GIT_AUTHOR_NAME="bench", GIT_AUTHOR_EMAIL="bench@example.invalid",
               GIT_COMMITTER_NAME="bench", GIT_COMMITTER_EMAIL="bench@example.invalid")
    pg = project + "-postgres-1"
    try:
        with open(os.path.join(root, "docker-compose.yml"), "w") as f:
            f.write("name: %s\nservices:\n  postgres:\n    image: %s\n"
                    "    environment: {POSTGRES_USER: vd, POSTGRES_PASSWORD: %s, POSTGRES_DB: vd}\n"
                    "    volumes: [pgdata:/var/lib/postgresql/data]\n"
                    "    healthcheck: {test: [CMD, pg_isready, -U, vd, -h, 127.0.0.1], interval: 1s}\n"
                    "    labels: [io.voxdeploy.test=1]\n"
                    "networks:\n  default:\n    labels: {io.voxdeploy.test: \"1\"}\n"
                    "volumes:\n  pgdata:\n    labels: {io.voxdeploy.test: \"1\"}\n" % (project, POSTGRES, PW))
        with open(os.path.join(root, "voxdeploy.yml"), "w") as f:
            f.write("health: {stable_for: 100ms}\nbackup: {keep: 2}\n")
        for cmd in (["git", "init", "-q", "-b", "main", "."], ["git", "add", "-A"],
                    ["git", "commit", "-q", "-m", "the stack"]):
            subprocess.run(cmd, cwd=root, env=env, check=True)
        vd = [VD, "-C", root, "--state-dir", state]
        log("first deploy of %s" % project)
        run(vd + ["deploy"])
        rows = MB * 1024 * 1024 // 1100   # ~1.1 kB a row on disk
        log("filling the database with about %d MB" % MB)
        psql(pg, "CREATE TABLE bulk AS SELECT o.i AS id, (SELECT string_agg(md5(random()::text || k.j || o.i), '') "
                 "FROM generate_series(1, 28) AS k(j)) AS body FROM generate_series(1, %d) AS o(i)" % rows)
        size = int(psql(pg, "SELECT pg_database_size('vd')"))
        log("database size %.0f MB" % (size / 1048576))
        res = {k: [] for k in ("pd", "vd", "pr", "vr")}
        dump = os.path.join(root, "peer.dump")
        for r in range(ROUNDS):
            log("round %d/%d" % (r + 1, ROUNDS))
            order = ("p", "v") if r % 2 == 0 else ("v", "p")
            for who in order:
                psql(pg, "CHECKPOINT")
                if who == "p":
                    with open(dump, "wb") as out:
                        res["pd"].append(run([DOCKER, "exec", pg, "pg_dump", "-Fc", "-U", "vd", "-d", "vd"],
                                             stdout=out)[0])
                else:
                    res["vd"].append(run(vd + ["backup"])[0])
            backups = json.loads(run(vd + ["--json", "backups"])[1])
            bid = backups[0]["id"]
            for who in order:
                psql(pg, "CHECKPOINT")   # the same starting point: no WAL flush of the last one pending
                if who == "p":
                    with open(dump, "rb") as inp:
                        res["pr"].append(run([DOCKER, "exec", "-i", pg, "pg_restore", "--clean", "--if-exists",
                                              "--single-transaction", "-U", "vd", "-d", "vd"], stdin=inp)[0])
                else:
                    res["vr"].append(run(vd + ["restore", bid, "--yes"])[0])
        n = int(psql(pg, "SELECT count(*) FROM bulk"))
        if n != rows:
            raise SystemExit("bench: %d rows after the restores, %d expected" % (n, rows))
        vbytes = backups[0]["bytes"]
        pbytes = os.path.getsize(dump)
        # the downtime a FULL_RESTART pays for its dump
        run(vd + ["deploy", "--type", "full"])
        step = None
        with open(os.path.join(state, "journal.jsonl")) as f:
            for line in f:
                j = json.loads(line)
                if j.get("step") == "backup" and j.get("state") == "done":
                    step = int(j.get("step_ms", 0))
        med = {k: statistics.median(v) for k, v in res.items()}
        print("BACKUP, database %.0f MB, dump %.0f MB (voxdeploy) / %.0f MB (docker exec), %d rounds (medians)"
              % (size / 1048576, vbytes / 1048576, pbytes / 1048576, ROUNDS))
        for label, p, v in (("dump", "pd", "vd"), ("restore", "pr", "vr")):
            ratio = med[v] / med[p]
            print("  %-8s docker exec %8.0f ms   voxdeploy %8.0f ms   v/p %.3f  (goal <= 1.05: %s)"
                  % (label, med[p] * 1000, med[v] * 1000, ratio, "meets" if ratio <= 1.05 else "MISSES"))
            print("    per round ms: docker exec %s; voxdeploy %s"
                  % (" ".join("%.0f" % (x * 1000) for x in res[p]), " ".join("%.0f" % (x * 1000) for x in res[v])))
        if step is not None:
            print("  FULL_RESTART: the dump keeps the writers stopped for %d ms before PostgreSQL stops" % step)
    finally:
        log("cleaning up")
        ids = subprocess.run([DOCKER, "ps", "-aq", "--filter", "label=com.docker.compose.project=" + project],
                             capture_output=True, text=True).stdout.split()
        if ids:
            subprocess.run([DOCKER, "rm", "-f", "-v"] + ids, capture_output=True)
        subprocess.run([DOCKER, "network", "rm", project + "_default"], capture_output=True)
        subprocess.run([DOCKER, "volume", "rm", "-f", project + "_pgdata"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
