#!/usr/bin/env python3
"""Benchmark: how fast `voxdeploy deploy` builds, against Docker Compose v2
(which builds with BuildKit), in one run on one machine.

The lab stack is the one of tests/bench/deploy.py, imported from it (its
Dockerfile, compose file, .env and clients): an app built from a busybox
Dockerfile (httpd serving /www with `version` and `health` files, a
HEALTHCHECK), PostgreSQL with a named volume, and a worker.  voxdeploy and
compose v2 each get their own project, directory and published ports.  Every
change below is one file, src/version, written with a new value each time
(`c-N-<nonce>` for compose, `v-N-<nonce>`/`k-N-<nonce>` for voxdeploy, the
nonce new in each run: no build can reuse a layer that the other peer or an
earlier run built from the same content); voxdeploy gets it committed.
voxdeploy runs as deploy.py runs it: `voxdeploy -C REPO -p PROJECT --state-dir
DIR deploy`, with `health.stable_for: 1s` in voxdeploy.yml.  The peers are
interleaved in each round, the first of them alternating (rotating with 3).

1. APP_ONLY, ROUNDS rounds: from the command's start until /version answers
   the new version (a client asks every 10 ms, deploy.py's AppClient):
     compose v2 `build app` then `up -d --no-deps app`, timed from the start
     of the first, vs `voxdeploy deploy` (default builder: deploy.builder auto).
   goal: v/compose <= 0.9
2. The build step alone, lab app, ROUNDS rounds, no client running:
     voxdeploy: the journal's build record of the app, state "done", its
     "step_ms" (from just before the build's "begin" record to the image id;
     the context tar, POST /build and the whole progress stream), taken from a
     full `voxdeploy deploy`;
     compose v2: the wall time of the whole `docker compose build app`
     process (its start-up and project loading included).
   goal: v/compose <= 1.0
3. The same on a multi-stage Dockerfile shaped like upstream VoxPersona's
   (cf. tests/integration/compose/voxpersona): ARG BASE; stages base ->
   builder -> production, built with `target: production` and build args; in
   builder a `RUN --mount=type=cache,target=/root/.cache/pip` "pip install -r
   requirements.txt" (with id=pip-<this run>, so that no other pip cache on
   the engine is shared and the run's own can be removed); an independent
   stage `prompts` (parallel to builder under BuildKit) indexing prompts/;
   COPY --from both into production; the sources last.  The pip step is
   SIMULATED: no PyPI is reachable here, so a stand-in package index — a
   Python HTTP server in this script, on the docker bridge's gateway address,
   serving 8 generated "wheels" (tar files, 5.4 MB in all) — is what busybox
   `wget` downloads from into the cache mount (only what the cache lacks, as
   pip does), and each is then unpacked from the cache into a site-packages
   directory.  A server rather than a wheelhouse in
   the build context because upstream's context holds no wheels: a few MB
   more in every context would weigh on each build's context transfer, which
   is part of what is measured.  ROUNDS rounds after a one-file source change
   (the dependency and prompts stages stay cached; the script checks that
   every layer below the sources' is unchanged and that no round downloads).
   voxdeploy's build step (as in 2) vs `docker compose build app`.
   goal: v/compose <= 1.0
4. For information: voxdeploy with `deploy.builder: classic` (its own
   project) on the lab app's build step, in the rounds of 2, next to the
   default builder (the BuildKit gain), and a first deploy of the multi-stage
   project with `deploy.builder: classic`, which must be refused (the cache
   mount needs BuildKit): its exit code and message are printed.

Which builder made each voxdeploy image is read from the image's history
(BuildKit writes the comment "buildkit.dockerfile.v0"), and printed.  Until
voxdeploy knows deploy.builder (its voxdeploy.yml then rejects the key), the
key is left out, section 4 is skipped and sections 1-3 measure its only
builder; section 3's voxdeploy side then shows the refusal instead.

Medians are printed with the per-round values, each ratio with its goal and
PASS or MISS; a benchmark reports, it does not judge: exit 0 unless
something broke (2: a setup or command failure; 130: interrupted).
Everything it makes — containers, networks, volumes, images (each built one,
the ones a later build untagged, and the intermediate images the refused
classic build leaves: the multi-stage images carry io.voxdeploy.bench=<run>),
its temporary directory and the build-cache records of the multi-stage builds (the ones descending from its
base stage, which carries this run's tag, and its pip cache mount) — is
removed at exit, also on failure, Ctrl-C or SIGTERM.  BuildKit's records of
the lab app's few-byte layers and of the build contexts are left to the
engine's build-cache GC (they carry nothing that names this run).  Needs the
engine on /var/run/docker.sock, the fixture images (tests/fixtures/
build-images) and compose v2: VD_COMPOSE_V2, else
/usr/local/lib/compose-v2/docker-compose (without one the benchmark is
skipped, exit 0).  The lab stack's PostgreSQL is the deploy.py stack's own.

usage: tests/bench/build.py [BUILD_DIR] [ROUNDS]     (ROUNDS default 5)
       VD_BENCH_ONLY=app,step,multi picks sections (default: all; 4: its build step goes with step, its refusal with multi)
"""
import http.server
import json
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import urllib.parse

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import deploy as lab  # noqa: E402  the lab stack, its clients and helpers (deploy.py's main() does not run)

BUILD = sys.argv[1] if len(sys.argv) > 1 else "build"
ROUNDS = max(1, int(sys.argv[2]) if len(sys.argv) > 2 else 5)
VD = os.path.abspath(os.path.join(BUILD, "controller", "voxdeploy"))
lab.VD = VD
COMPOSE_V2 = os.environ.get("VD_COMPOSE_V2", "/usr/local/lib/compose-v2/docker-compose")
DOCKER = lab.DOCKER
BUSYBOX = lab.BUSYBOX
ONLY = [w for w in os.environ.get("VD_BENCH_ONLY", "").split(",") if w]
Broke = lab.Broke
log = lab.log
run = lab.run


def section(name):
    return not ONLY or name in ONLY


# ------------------------------------------------------------------ the multi-stage project

MULTI_DOCKERFILE = r"""# Shaped like upstream VoxPersona's Dockerfile; the pip step is simulated
# (tests/bench/build.py says how and why).
ARG BASE=voxdeploy-test/busybox:1

FROM ${BASE} AS base
LABEL io.voxdeploy.test=1 io.voxdeploy.bench=@TAG@
WORKDIR /app
ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
RUN mkdir -p /app/logs /usr/local/lib/python3/site-packages && : @TAG@

FROM base AS builder
ARG PIP_INDEX_URL
COPY requirements.txt /tmp/requirements.txt
# "pip install -r requirements.txt": each wheel is downloaded into pip's cache
# unless it is there already, then unpacked into site-packages
RUN --mount=type=cache,id=pip-@TAG@,target=/root/.cache/pip \
    set -e; : @TAG@; mkdir -p /root/.cache/pip/wheels /install/site-packages; \
    while read -r req; do \
      case "$req" in ''|'#'*) continue;; esac; \
      whl="${req%%==*}-${req##*==}.tar"; \
      if [ ! -s "/root/.cache/pip/wheels/$whl" ]; then \
        echo "Downloading $whl"; \
        wget -q -O "/root/.cache/pip/wheels/$whl.part" "$PIP_INDEX_URL/$whl"; \
        mv "/root/.cache/pip/wheels/$whl.part" "/root/.cache/pip/wheels/$whl"; \
      else echo "Using cached $whl"; fi; \
      tar -xf "/root/.cache/pip/wheels/$whl" -C /install/site-packages; \
    done < /tmp/requirements.txt; \
    echo "Successfully installed $(ls /install/site-packages | tr '\n' ' ')"

FROM base AS prompts
COPY prompts/ /build/prompts/
RUN cd /build/prompts && md5sum *.txt > /build/prompts.index && wc -c *.txt > /build/prompts.sizes

FROM base AS production
COPY --from=builder /install/site-packages /usr/local/lib/python3/site-packages
COPY --from=prompts /build/prompts.index /build/prompts.sizes /app/
COPY start.sh /start.sh
COPY src/ /www/
EXPOSE 8080
HEALTHCHECK --interval=1s --timeout=2s --retries=2 CMD wget -q -O- http://127.0.0.1:8080/health || exit 1
CMD ["sh", "/start.sh"]
"""

MULTI_COMPOSE = """services:
  app:
    build:
      context: .
      dockerfile: Dockerfile
      target: production
      args:
        BASE: ${BASE_IMAGE}
        PIP_INDEX_URL: ${PIP_INDEX_URL}
    stop_grace_period: 1s
    ports: ["127.0.0.1:${APP_PORT}:8080"]
    labels: [io.voxdeploy.test=1]
networks:
  default:
    labels: {io.voxdeploy.test: "1"}
"""

# the simulated requirements: (name, version, files, bytes per file) — 4 MB in all
WHEELS = [("aiogram", "3.4.1", 40, 12000), ("asyncpg", "0.29.0", 20, 30000), ("minio", "7.2.5", 16, 16000),
          ("openai", "1.14.0", 60, 10000), ("pydantic", "2.6.4", 40, 20000), ("numpy", "1.26.4", 30, 40000),
          ("sqlalchemy", "2.0.29", 50, 14000), ("httpx", "0.27.0", 20, 8000)]


def make_wheels(directory):
    """Generate the stand-in wheels: tars of a package directory of text
    files (pseudo-random hex, so sizes are what they say)."""
    os.makedirs(directory)
    rnd = random.Random(4242)
    total = 0
    for name, version, files, size in WHEELS:
        pkg = os.path.join(directory, "src", name)
        os.makedirs(pkg)
        for i in range(files):
            with open(os.path.join(pkg, "mod%03d.py" % i), "w") as f:
                left = size
                while left > 0:
                    line = "# %s\n" % ("%x" % rnd.getrandbits(256)).rjust(64, "0")
                    f.write(line[:left])
                    left -= len(line)
        with tarfile.open(os.path.join(directory, "%s-%s.tar" % (name, version)), "w") as t:
            t.add(pkg, arcname=name)
        total += os.path.getsize(os.path.join(directory, "%s-%s.tar" % (name, version)))
        shutil.rmtree(pkg)
    os.rmdir(os.path.join(directory, "src"))
    return total


class PackageIndex:
    """The stand-in for PyPI: serves the wheels directory over HTTP on the
    docker bridge's gateway address (where build containers reach the host);
    counts the downloads."""

    def __init__(self, directory):
        gw = None
        for cfg in (lab.api("GET", "/networks/bridge").get("IPAM") or {}).get("Config") or []:
            gw = gw or cfg.get("Gateway")
        if not gw:
            raise Broke("the docker bridge network has no gateway address for the package index")
        self.downloads = []
        index = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *a, **kw):
                super().__init__(*a, directory=directory, **kw)

            def log_message(self, fmt, *args):
                index.downloads.append(self.path)

        self.server = http.server.ThreadingHTTPServer((gw, 0), Handler)
        self.url = "http://%s:%d" % (gw, self.server.server_address[1])
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def multi_stack(root, project, git, tag, index_url, builder_yml):
    """The VoxPersona-shaped project: its own files in a deploy.py Stack."""
    st = lab.Stack(root, project, git=False)
    st.put("Dockerfile", MULTI_DOCKERFILE.replace("@TAG@", tag))
    st.put("docker-compose.yml", MULTI_COMPOSE)
    st.put("requirements.txt", "".join("%s==%s\n" % (n, v) for n, v, _, _ in WHEELS))
    for i, name in enumerate(("interview_analysis", "design_audit", "summary", "diarization", "report")):
        st.put("prompts/%s.txt" % name, ("You are the %s assistant. Step %d.\n" % (name, i)) * 40)
    st.put(".dockerignore", ".git\n.env\nlogs/\n")
    st.put(".env", "APP_PORT=%d\nBASE_IMAGE=%s\nPIP_INDEX_URL=%s\n" % (st.app_port, BUSYBOX, index_url))
    if git:
        st.git = True
        st.put("voxdeploy.yml", vd_yml(builder_yml))
        st.sh("git", "init", "-q", "-b", "main", ".")
        st.commit("the VoxPersona-shaped stack")
    return st


# ------------------------------------------------------------------ voxdeploy, compose v2, the engine


def vd_yml(builder):
    text = "health:\n  stable_for: 1s\n"
    if builder:
        text += "deploy:\n  builder: %s\n" % builder
    return text


def lab_stack(root, project, git, builder=None):
    st = lab.Stack(root, project, git=git)
    if git:
        st.put("voxdeploy.yml", vd_yml(builder))
        st.commit("voxdeploy.yml")
    return st


def builder_key_known(root):
    """(known, message): does this voxdeploy accept deploy.builder?"""
    d = os.path.join(root, "probe")
    lab.write(os.path.join(d, "docker-compose.yml"), "services:\n  app:\n    build: .\n")
    lab.write(os.path.join(d, "Dockerfile"), "FROM %s\n" % BUSYBOX)
    lab.write(os.path.join(d, "voxdeploy.yml"), vd_yml("classic"))
    rc, _, out, err = run([VD, "-C", d, "-p", "vdprobe", "config"], check=False)
    shutil.rmtree(d)
    if rc == 0:
        return True, "voxdeploy accepts deploy.builder"
    if "builder" in err:
        return False, "voxdeploy rejects deploy.builder (%s)" % err.strip().splitlines()[-1]
    raise Broke("voxdeploy config exited %d:\n%s%s" % (rc, out, err))


class Vd(lab.Voxdeploy):
    """deploy.py's Voxdeploy plus: run a deploy now, read its build record."""

    def deploy_now(self, *args, expect=0, want_type="APP_ONLY"):
        rc, err = self.deploy(*args, expect=expect)()
        if want_type and want_type not in err:
            raise Broke("voxdeploy did not plan %s:\n%s" % (want_type, err))
        return err

    def last_deploy(self):
        j = self.journal()
        last = j[-1]["deploy_id"]
        return [r for r in j if r.get("deploy_id") == last]

    def build_ms(self, service="app"):
        for r in self.last_deploy():
            if r.get("step") == "build" and r.get("state") == "done" and r.get("service") == service:
                return float(r["step_ms"]) / 1000.0
        raise Broke("no build done record for %s in the last deploy:\n%s"
                    % (service, "\n".join(json.dumps(r) for r in self.last_deploy())))


def v2(stack, *args, check=True):
    env = dict(stack.env, DOCKER_BUILDKIT="1")
    return run([COMPOSE_V2, "-p", stack.project] + list(args), cwd=stack.dir, env=env, check=check)


def history(ref):
    try:
        return lab.api("GET", "/images/%s/history" % urllib.parse.quote(ref, safe=""))
    except Broke:
        return []


def builder_of(ref):
    h = history(ref)
    if not h:
        return "?"
    return "BuildKit" if any("buildkit" in (e.get("Comment") or "") for e in h) else "classic"


def layers(ref):
    try:
        return lab.api("GET", "/images/%s/json" % urllib.parse.quote(ref, safe=""))["RootFS"]["Layers"]
    except (Broke, KeyError):
        return []


def image_ids(ref_prefix):
    """Every image id whose repository is one of ours (all tags)."""
    imgs = lab.api("GET", "/images/json?filters=%s" % urllib.parse.quote(json.dumps({"reference": [ref_prefix]})))
    return {i["Id"] for i in imgs}


def remove_labelled_images(tag):
    """Images that carry this run's io.voxdeploy.bench label (the multi-stage
    builds' and, above all, what a refused classic build leaves: its
    untagged intermediate images), newest (children) first."""
    n = 0
    for _ in range(3):
        imgs = lab.api("GET", "/images/json?all=1&filters=%s"
                       % urllib.parse.quote(json.dumps({"label": ["io.voxdeploy.bench=" + tag]})))
        if not imgs:
            break
        for i in sorted(imgs, key=lambda i: i.get("Created", 0), reverse=True):
            try:
                lab.api("DELETE", "/images/%s?force=1" % i["Id"], ok=(200,))
                n += 1
            except Broke:
                pass
    return n


def build_cache():
    return lab.api("GET", "/system/df?type=build-cache").get("BuildCache") or []


def prune_build_cache(before, tag):
    """Remove the build-cache records this run made that name its tag or
    descend from one that does (the multi-stage builds); returns how many."""
    recs = {r["ID"]: r for r in build_cache() if r["ID"] not in before}

    def parents(r):
        return ([r["Parent"]] if r.get("Parent") else []) + list(r.get("Parents") or [])

    mine = {i for i, r in recs.items() if tag in (r.get("Description") or "")}
    grew = True
    while grew:
        grew = False
        for i, r in recs.items():
            if i not in mine and any(p in mine for p in parents(r)):
                mine.add(i)
                grew = True
    for _ in range(4):              # children before their parents
        left = {r["ID"] for r in build_cache()} & mine
        if not left:
            break
        for i in sorted(left):
            try:
                lab.api("POST", "/build/prune?all=1&filters=%s"
                        % urllib.parse.quote(json.dumps({"id": [i]})))
            except Broke:
                pass
    still = {r["ID"] for r in build_cache()} & mine
    removed = len(mine) - len(still)
    return removed, len(still)


# ------------------------------------------------------------------ printing


def ms(x):
    return "%7.0f ms" % (x * 1000)


def per_round(label, values):
    print("    %-44s %s" % (label, " ".join("%.0f" % (v * 1000) for v in values)))


def ratio_line(label, a, b, goal):
    r = a / b if b else float("inf")
    print("  %-44s %6.3f  (goal <= %.2f: %s)" % (label, r, goal, "PASS" if r <= goal else "MISS"))
    return r


def build_timeline(stderrs):
    """Where voxdeploy's build step goes: its build progress lines, median ms
    since the step's begin line (the engine's own step times in the detail)."""
    print("  voxdeploy's build step: median ms since its begin line at each build progress line "
          "(detail from the first round)")
    seen, detail, order = {}, {}, []
    for err in stderrs:
        lines = [s for s in lab.steps_of(err) if s[1] == "build"]
        begin = next((s[0] for s in lines if s[2] == "begin"), None)
        if begin is None:
            continue
        count = {}
        for el, _, state, rest, _ in lines:
            key = state
            count[key] = count.get(key, 0) + 1
            key = key if count[key] == 1 else "%s #%d" % (key, count[key])
            if key not in seen:
                seen[key], detail[key] = [], rest
                order.append(key)
            seen[key].append(el - begin)
    for key in order:
        print("    %6.0f  %-8s %s" % (statistics.median(seen[key]) * 1000, key, detail[key][:110]))


# ------------------------------------------------------------------ the rounds


class Seq:
    """New versions: unique in the run and across runs (the nonce), so that no
    build meets a layer of the same content in the engine's build cache."""

    def __init__(self):
        self.n = 0
        self.nonce = os.urandom(3).hex()

    def change(self, stack, label):
        self.n += 1
        v = "%s-%d-%s" % (label, self.n, self.nonce)
        stack.put("src/version", v + "\n")
        if stack.git:
            stack.commit("version " + v)
        return v


def bench(root, tag, projects, images):
    known, why = builder_key_known(root)
    log(why)
    builder = "auto" if known else None
    seq = Seq()
    projects += [tag + s for s in "vcknmq"]
    pv, pc, pk, pn_v, pn_c, pq = projects[-6:]

    def remember():
        for p in projects:
            images.update(image_ids(p + "-app"))
            images.update(image_ids(p + "_app"))

    version = run([COMPOSE_V2, "version", "--short"], check=False)[2].strip()
    vdv = (run([VD, "version"], check=False)[2].strip().splitlines() or ["?"])[0]
    print("build.py: %d rounds; compose v2 %s; %s; %s" % (ROUNDS, version, vdv, why))
    sys.stdout.flush()

    lab_needed = section("app") or section("step")
    if lab_needed:
        vs = lab_stack(root, pv, git=True, builder=builder)
        cs = lab_stack(root, pc, git=False)
        vd = Vd(vs, os.path.join(root, "state-v"))
        ks = kd = None
        if known and section("step"):
            ks = lab_stack(root, pk, git=True, builder="classic")
            kd = Vd(ks, os.path.join(root, "state-k"))
        log("setting up the lab stacks %s (voxdeploy), %s (compose v2)%s in %s"
            % (pv, pc, ", %s (voxdeploy, classic)" % pk if ks else "", root))
        vd.deploy_now(want_type="FULL_RESTART")
        if kd:
            kd.deploy_now(want_type="FULL_RESTART")
        _, dt, out, err = v2(cs, "up", "-d", "--build")
        if "load build definition" not in out + err:
            raise Broke("compose v2 did not build with BuildKit:\n" + out[-2000:] + err[-2000:])
        log("compose v2 up -d --build: %.2f s" % dt)
        remember()
        for st in (vs, cs) + ((ks,) if ks else ()):
            lab.wait_answer(st.app_port, "init")
        print("  voxdeploy's images are built by: %s (default builder)%s"
              % (builder_of(pv + "-app:latest"),
                 ", %s (deploy.builder: classic)" % builder_of(pk + "-app:latest") if ks else ""))
        sys.stdout.flush()

    # ---------------------------------------------------------- 1. APP_ONLY
    if section("app"):
        res = {"c": [], "v": []}
        cbuild, vbuild, verr = [], [], []
        for r in range(ROUNDS):
            log("APP_ONLY round %d/%d" % (r + 1, ROUNDS))
            for who in (("c", "v") if r % 2 == 0 else ("v", "c")):
                if who == "c":
                    v = seq.change(cs, "c")

                    def seq_c():
                        cbuild.append(v2(cs, "build", "app")[1])
                        v2(cs, "up", "-d", "--no-deps", "app")
                        return 0, ""
                    res["c"].append(lab.Measure(cs, v)(seq_c))
                else:
                    v = seq.change(vs, "v")
                    m = lab.Measure(vs, v)(vd.deploy())
                    if "APP_ONLY" not in m["stderr"]:
                        raise Broke("voxdeploy did not plan APP_ONLY:\n" + m["stderr"])
                    res["v"].append(m)
                    verr.append(m["stderr"])
                    vbuild.append(vd.build_ms())
                remember()
        tc, tv = lab.med(res["c"], "to_new"), lab.med(res["v"], "to_new")
        print("1. APP_ONLY on the lab app, %d rounds: from the command's start until /version answers the new "
              "version (medians)" % ROUNDS)
        print("  %-44s %s   (its build app: %s; command %s)" % ("compose v2 build app; up -d --no-deps app",
                                                                 ms(tc), ms(statistics.median(cbuild)).strip(),
                                                                 ms(lab.med(res["c"], "command")).strip()))
        print("  %-44s %s   (its build step: %s; command %s)" % ("voxdeploy deploy", ms(tv),
                                                                  ms(statistics.median(vbuild)).strip(),
                                                                  ms(lab.med(res["v"], "command")).strip()))
        per_round("per round, compose v2 ms", [m["to_new"] for m in res["c"]])
        per_round("per round, voxdeploy ms", [m["to_new"] for m in res["v"]])
        ratio_line("APP_ONLY to the new version v/compose-v2", tv, tc, 0.9)
        lab.print_timeline("APP_ONLY", verr)
        sys.stdout.flush()

    # ---------------------------------------------------------- 2. the build step (and 4. classic)
    if section("step"):
        steps = {"c": [], "v": [], "k": []}
        verr2, kerr = [], []
        for r in range(ROUNDS):
            log("build step round %d/%d" % (r + 1, ROUNDS))
            peers = ["c", "v", "k"] if kd else ["c", "v"]
            peers = peers[r % len(peers):] + peers[:r % len(peers)]
            for who in peers:
                if who == "c":
                    seq.change(cs, "c")
                    steps["c"].append(v2(cs, "build", "app")[1])
                elif who == "v":
                    seq.change(vs, "v")
                    verr2.append(vd.deploy_now())
                    steps["v"].append(vd.build_ms())
                else:
                    seq.change(ks, "k")
                    kerr.append(kd.deploy_now())
                    steps["k"].append(kd.build_ms())
                remember()
        sc, sv = statistics.median(steps["c"]), statistics.median(steps["v"])
        print("2. the build step on the lab app after a one-file change, %d rounds (medians)" % ROUNDS)
        print("  %-44s %s" % ("compose v2 build app (process wall time)", ms(sc)))
        print("  %-44s %s   (%s)" % ("voxdeploy build step (journal step_ms)", ms(sv),
                                     builder_of(pv + "-app:latest")))
        per_round("per round, compose v2 ms", steps["c"])
        per_round("per round, voxdeploy ms", steps["v"])
        ratio_line("build step v/compose-v2", sv, sc, 1.0)
        build_timeline(verr2)
        if kd:
            sk = statistics.median(steps["k"])
            print("4. for information: voxdeploy with deploy.builder: classic, the same build step")
            print("  %-44s %s   (%s)" % ("voxdeploy build step, classic", ms(sk), builder_of(pk + "-app:latest")))
            per_round("per round, voxdeploy classic ms", steps["k"])
            print("  %-44s %6.3f" % ("classic/compose-v2", sk / sc))
            print("  %-44s %6.3f" % ("default builder/classic", sv / sk))
            build_timeline(kerr)
        else:
            print("4. voxdeploy deploy.builder: classic: skipped (%s)" % why)
        sys.stdout.flush()

    # ---------------------------------------------------------- 3. the multi-stage Dockerfile
    if section("multi"):
        wheels = os.path.join(root, "index")
        size = make_wheels(wheels)
        index = PackageIndex(wheels)
        try:
            bench_multi(root, tag, seq, index, size, builder, known, pn_v, pn_c, pq, remember)
        finally:
            index.close()


def refusal(err, journal):
    for rec in reversed(journal):
        if rec.get("step") == "build" and rec.get("state") == "failed":
            return rec.get("detail") or ""
    lines = [line for line in err.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def bench_multi(root, tag, seq, index, size, builder, known, pn_v, pn_c, pq, remember):
    ms_v = multi_stack(root, pn_v, True, tag, index.url, builder)
    ms_c = multi_stack(root, pn_c, False, tag, index.url, None)
    md = Vd(ms_v, os.path.join(root, "state-m"))
    log("setting up the VoxPersona-shaped projects %s (voxdeploy), %s (compose v2); package index %s (%.1f MB)"
        % (pn_v, pn_c, index.url, size / 1e6))
    print("3. the build step on the VoxPersona-shaped multi-stage Dockerfile, %d rounds" % ROUNDS)
    _, dt, out, err = v2(ms_c, "build", "app")
    if not any(d.endswith(".tar") for d in index.downloads) and "Using cached" not in out + err:
        raise Broke("the build containers did not download from the package index %s:\n%s"
                    % (index.url, (out + err)[-3000:]))
    log("compose v2 first build (downloads %d wheels): %.2f s" % (len(index.downloads), dt))
    remember()
    rc, _, out, err = run([VD, "-C", ms_v.dir, "-p", ms_v.project, "--state-dir", md.state, "deploy"],
                          env=ms_v.env, check=False)
    remember()
    if rc:
        msg = refusal(err, md.journal() if os.path.exists(os.path.join(md.state, "journal.jsonl")) else [])
        print("  voxdeploy (%s) cannot build it: deploy exited %d: %s"
              % ("deploy.builder: auto" if builder else "its only builder", rc, msg))
        print("  %-44s %s" % ("build step v/compose-v2", "  -     (goal <= 1.00: MISS, not built)"))
        if not known:
            print("4. the classic refusal of the cache mount: shown above (voxdeploy builds classic only)")
        return
    lab.wait_answer(ms_v.app_port, "init")
    steps = {"c": [], "v": []}
    errs = []
    cached = {"c": 0, "v": 0}
    prev = {"c": layers(pn_c + "-app:latest"), "v": layers(pn_v + "-app:latest")}
    downloads = len(index.downloads)
    for r in range(ROUNDS):
        log("multi-stage round %d/%d" % (r + 1, ROUNDS))
        for who in (("c", "v") if r % 2 == 0 else ("v", "c")):
            if who == "c":
                seq.change(ms_c, "c")
                steps["c"].append(v2(ms_c, "build", "app")[1])
                ref = pn_c + "-app:latest"
            else:
                seq.change(ms_v, "v")
                errs.append(md.deploy_now())
                steps["v"].append(md.build_ms())
                ref = pn_v + "-app:latest"
            now = layers(ref)
            if len(now) == len(prev[who]) and now[:-1] == prev[who][:-1] and now[-1] != prev[who][-1]:
                cached[who] += 1
            prev[who] = now
            remember()
    sc, sv = statistics.median(steps["c"]), statistics.median(steps["v"])
    print("  %-44s %s   (every layer below the sources' unchanged: %d/%d rounds)"
          % ("compose v2 build app (process wall time)", ms(sc), cached["c"], ROUNDS))
    print("  %-44s %s   (%s; every layer below the sources' unchanged: %d/%d rounds)"
          % ("voxdeploy build step (journal step_ms)", ms(sv), builder_of(pn_v + "-app:latest"),
             cached["v"], ROUNDS))
    print("  package downloads during the rounds: %d" % (len(index.downloads) - downloads))
    per_round("per round, compose v2 ms", steps["c"])
    per_round("per round, voxdeploy ms", steps["v"])
    ratio_line("build step v/compose-v2", sv, sc, 1.0)
    build_timeline(errs)
    if known:
        qs = multi_stack(root, pq, True, tag, index.url, "classic")
        qd = Vd(qs, os.path.join(root, "state-q"))
        rc, _, out, err = run([VD, "-C", qs.dir, "-p", qs.project, "--state-dir", qd.state, "deploy"],
                              env=qs.env, check=False)
        remember()
        msg = refusal(err, qd.journal() if os.path.exists(os.path.join(qd.state, "journal.jsonl")) else [])
        clear = rc != 0 and re.search(r"buildkit|--mount", msg, re.I) is not None
        print("4. deploy.builder: classic on this Dockerfile: %s, exit %d: %s"
              % ("refused" if rc else "NOT refused (built?)", rc, msg))
        print("  the message names BuildKit or --mount: %s" % ("yes" if clear else "NO"))
    sys.stdout.flush()


def preflight(script, vd, build, compose_v2):
    """What a benchmark against compose v2 needs, or exit saying what is missing
    (no compose v2: skipped, exit 0)."""
    if not os.access(vd, os.X_OK):
        sys.exit("bench: build voxdeploy first (%s missing; ninja -C %s)" % (vd, build))
    if not os.access(compose_v2, os.X_OK):
        print("%s: skipped, no compose v2 at %s (../shared/tools/compose-v2.sh installs one; "
              "VD_COMPOSE_V2 names another)" % (script, compose_v2))
        sys.exit(0)
    try:
        lab.api("GET", "/version")
    except (OSError, Broke, ValueError) as e:
        sys.exit("bench: no Docker engine answers on %s (%s); start one: nohup dockerd >/tmp/dockerd.log 2>&1 &"
                 % (lab.SOCK, e))
    for ref in (BUSYBOX, lab.POSTGRES):
        if not lab.image_id(ref):
            sys.exit("bench: the fixture image %s is missing: tests/fixtures/build-images makes it" % ref)


def main():
    preflight("build.py", VD, BUILD, COMPOSE_V2)
    root = tempfile.mkdtemp(prefix="vd-bench-build-")
    tag = "vdbb%d" % os.getpid()
    projects, images = [], set()
    cache_before = {r["ID"] for r in build_cache()}
    rc = 0

    def on_signal(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)     # also when started with SIGINT ignored (a background job)
    try:
        bench(root, tag, projects, images)
    except Broke as e:
        log("broke: %s" % e)
        rc = 2
    except KeyboardInterrupt:
        log("interrupted")
        rc = 130
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        log("cleaning up %s" % " ".join(projects))
        for p in projects:
            images.update(image_ids(p + "-app"))
            images.update(image_ids(p + "_app"))
        lab.cleanup(projects, images)
        n = remove_labelled_images(tag)
        if n:
            log("removed %d more images labelled io.voxdeploy.bench=%s" % (n, tag))
        removed, left = prune_build_cache(cache_before, tag)
        log("build cache: %d records of this run removed%s" % (removed, ", %d left (in use?)" % left if left else ""))
        shutil.rmtree(root, ignore_errors=True)
    sys.exit(rc)


if __name__ == "__main__":
    main()
