#!/usr/bin/env python3
"""Benchmark: `voxdeploy plan --rules-only --json` against upstream's way of
deciding — `git diff --name-only A B` piped through grep -E with upstream's
regexes — on a generated repository of 100,000 files with 5,000 changed
between two commits.  Both run alternately in the same run; prints the
medians, their ratio (target <= 1.0) and voxdeploy's peak RSS (target
<= 64 MB).

usage: tests/bench/plan.py [BUILD_DIR] [ROUNDS]
"""
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

BUILD = sys.argv[1] if len(sys.argv) > 1 else "build"
ROUNDS = int(sys.argv[2]) if len(sys.argv) > 2 else 11
VD = os.path.join(BUILD, "controller", "voxdeploy")
FILES = 100_000
CHANGED = 5_000

# upstream's deploy workflow: one grep per tier over the changed names
UPSTREAM = r'''
files=$(git diff --name-only "$1" "$2")
full=$(printf '%s\n' "$files" | grep -E 'docker-compose\.yml|Dockerfile|requirements\.txt|\.sql$|sql_scripts/' || true)
app=$(printf '%s\n' "$files" | grep -E '\.py$|src/|prompts/|prompts-by-scenario/' || true)
docs=$(printf '%s\n' "$files" | grep -vE '\.md$|\.txt$|\.rst$|README|CHANGELOG|\.gitignore|DEPLOYMENT_GUIDE' || true)
if [ -n "$full" ]; then echo FULL_RESTART; elif [ -n "$app" ] || [ -n "$docs" ]; then echo APP_ONLY; else echo NO_RESTART; fi
'''


def path_of(i):
    kinds = ["src/pkg%d/mod%d.py", "docs/sec%d/page%d.md", "prompts/set%d/p%d.txt",
             "assets/dir%d/file%d.bin", "sql_scripts/s%d/m%d.sql", "tools/t%d/run%d.sh"]
    k = kinds[i % len(kinds)]
    return k % (i // 600, i)


def make_repo(d):
    subprocess.run(["git", "init", "-q", d], check=True)
    env = dict(os.environ, GIT_AUTHOR_NAME="b", GIT_AUTHOR_EMAIL="b@example.invalid",
               GIT_COMMITTER_NAME="b", GIT_COMMITTER_EMAIL="b@example.invalid")
    fi = subprocess.Popen(["git", "-C", d, "fast-import", "--quiet"], stdin=subprocess.PIPE, env=env)
    out = fi.stdin

    def blob(mark, data):
        out.write(b"blob\nmark :%d\ndata %d\n%s\n" % (mark, len(data), data))

    blob(1, b"one\n")
    blob(2, b"two\n")
    blob(3, b"services:\n  voxpersona:\n    build: .\n    container_name: voxpersona_app\n"
            b"    volumes:\n      - ./tools:/app/tools:ro\n"
            b"  postgres:\n    image: postgres:15\n    volumes:\n"
            b"      - ./sql_scripts:/docker-entrypoint-initdb.d:ro\n")
    blob(4, b"FROM python:3.11-slim\nCOPY src/ ./src/\nCOPY prompts/ ./prompts/\n")
    for n, (mark, msg) in enumerate([(1, b"A"), (2, b"B")]):
        out.write(b"commit refs/heads/main\nmark :%d\ncommitter b <b@example.invalid> %d +0000\n"
                  % (100 + n, 1700000000 + n))
        out.write(b"data %d\n%s\n" % (len(msg), msg))
        if n:
            out.write(b"from :100\n")
            for n in range(CHANGED):  # spread over every kind of file
                i = n * (FILES // CHANGED) + (n % 6 - n * (FILES // CHANGED) % 6) % 6
                out.write(b"M 100644 :2 %s\n" % path_of(i).encode())
        else:
            for i in range(FILES):
                out.write(b"M 100644 :1 %s\n" % path_of(i).encode())
            out.write(b"M 100644 :3 docker-compose.yml\nM 100644 :4 Dockerfile\n")
    out.close()
    if fi.wait():
        sys.exit("bench: git fast-import failed")
    subprocess.run(["git", "-C", d, "symbolic-ref", "HEAD", "refs/heads/main"], check=True)


def timed(cmd, **kw):
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, **kw)
    return time.perf_counter() - t0


def main():
    if not os.access(VD, os.X_OK):
        sys.exit("bench: build voxdeploy first (%s missing)" % VD)
    d = tempfile.mkdtemp(prefix="vd-bench-plan-")
    try:
        print("bench: generating %d files, %d changed" % (FILES, CHANGED), file=sys.stderr)
        make_repo(d)
        a = subprocess.check_output(["git", "-C", d, "rev-parse", "main~1"], text=True).strip()
        b = subprocess.check_output(["git", "-C", d, "rev-parse", "main"], text=True).strip()
        vd = [VD, "-C", d, "plan", "--rules-only", "--json", "--from", a, "--to", b]
        aware = [VD, "-C", d, "plan", "--json", "--from", a, "--to", b]
        peer = ["bash", "-c", UPSTREAM, "upstream", a, b]
        got = subprocess.check_output(vd, text=True)
        if got.count('"path"') != CHANGED:
            sys.exit("bench: voxdeploy listed %d files, expected %d" % (got.count('"path"'), CHANGED))
        got = subprocess.check_output(aware, text=True)
        if "reaches no image" not in got:
            sys.exit("bench: image-aware mode did not run")
        ours, theirs, ours_aware = [], [], []
        for _ in range(ROUNDS):
            ours.append(timed(vd))
            theirs.append(timed(peer, cwd=d))
            ours_aware.append(timed(aware))
        rss_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # max over children
        vd_rss = subprocess.run(["python3", "-c",
                                 "import resource,subprocess,sys;"
                                 "subprocess.run(sys.argv[1:],stdout=subprocess.DEVNULL,check=True);"
                                 "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"] + vd,
                                capture_output=True, text=True, check=True).stdout.strip()
        mo, mt = statistics.median(ours), statistics.median(theirs)
        print("plan --rules-only on %d files, %d changed, %d rounds: voxdeploy median %.1f ms, "
              "git diff | grep median %.1f ms" % (FILES, CHANGED, ROUNDS, mo * 1000, mt * 1000))
        print("ratio voxdeploy/git-pipeline = %.3f (target <= 1.0)" % (mo / mt))
        print("voxdeploy peak RSS = %.1f MB (target <= 64 MB)" % (int(vd_rss) / 1024))
        ma = statistics.median(ours_aware)
        print("image-aware plan median %.1f ms: ratio to the git pipeline = %.3f (target <= 1.5)"
              % (ma * 1000, ma / mt))
        del rss_kb
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
