#!/usr/bin/env python3
"""Benchmark: how a FULL_RESTART's time grows with the number of services,
`voxdeploy deploy --type full` against Docker Compose v2's
`up -d --build --force-recreate --wait`, in one run on one machine.

The stack is deploy.py's lab stack (imported from it: an app built from a
busybox Dockerfile — httpd serving /www with `version` and `health` files, a
HEALTHCHECK every 1 s —, PostgreSQL with a named volume and a healthcheck
every 1 s, and a worker, `sleep` without a healthcheck, whose stop takes its 1 s grace
period) plus N small services s01..sNN: the fixture busybox
image running `httpd -f -p 8080` (a shell that exits at once on SIGTERM in
front of it, stop_grace_period 1 s), each with a compose `healthcheck:` —
the engine's HEALTHCHECK — that fetches /health every 1 s (interval 1s,
timeout 3s, retries 5: on 2 cores, 50 containers' checks a second can keep
one waiting beyond 2 s, and compose's --wait gives up on the first
unhealthy), and each `depends_on: {postgres:
{condition: service_healthy}}`.  Every size N gets two new projects of its
own, one per peer, each with its own directory, ports and named volume:

  compose v2  `docker compose -p P up -d --build --force-recreate --wait`
              (BuildKit; returns when every container is running and every
              one with a healthcheck is healthy)
  voxdeploy   `voxdeploy -C REPO -p P --state-dir DIR deploy --type full`
              (voxdeploy.yml: `health: {stable_for: 1s}`, deploy.parallel
              left at its default, 8; returns when its health proof has seen
              every container healthy, and stable for 1 s)

What is measured: each command's wall time, from its start to its exit,
after a one-file source change (src/version, written with a version string
of its own each time — `c-K-<nonce>`, `v-K-<nonce>`, `s-K-<nonce>`, the nonce
new in every run —, so that no build finds a layer that the other peer or an
earlier run built; voxdeploy gets it committed).  Both therefore build the
app, replace all N + 3 containers and wait for every healthcheck; voxdeploy's
stability window (1 s) is in its time.  Before each command the stack runs
healthy; after it the script checks (untimed) that /version answers the new
version and that N + 3 containers of the project run, N + 2 of them healthy.
For each N in the sizes (default 2, 12, 22: 5, 15 and 25 services), ROUNDS
rounds, the peers interleaved in each round (the first of them rotating).
Only the measured peer's project runs while it is measured: before each
command (untimed) the other project's containers are stopped and this one's
started again and waited for until healthy — with both running, 50
containers' healthchecks a second kept a 2-core engine so busy that checks
timed out and compose's --wait gave up.  A size's projects are removed
before the next size starts.

Printed: per N the per-round times and medians and the ratio v/compose; the
per-service slope of each peer (least squares of the median time against N
over the sizes measured), in ms per added service, and the slope ratio.
Goals, each with PASS or MISS: at N = 22 (the largest size, when the sizes
are changed) v/compose <= 0.9; voxdeploy's slope <= compose v2's slope.

For information, at the largest N:
  - the sequential baseline: the same voxdeploy project with
    `deploy.parallel: 1` (a third peer in the same rounds; voxdeploy.yml is
    committed with and without the key before each of its deploys), its
    median, and its ratios to voxdeploy's default and to compose v2.  Whether
    voxdeploy knows the key is asked first (`voxdeploy config` on a probe
    project); when it refuses the key as unknown, the change has not landed:
    the script says so and skips the baseline.
  - from voxdeploy's journal ($STATE_DIR/journal.jsonl, the records of each
    measured deploy: step, state, service, ts, step_ms): the time span of
    all `start` steps (the first start's begin record to the last one's
    done record), and how many starts were in progress at the same time at
    most (the begin and done records as intervals) — whether starts overlap —,
    for the default and for the baseline; and where the deploy's time goes,
    each step's first record and its span, as medians over the rounds.
At every N, for both peers alike, from the engine's own events (GET /events,
streamed for the whole run; the container events of the project between the
command's start and its exit): the first stop (kill or die), the first and
the last start (the engine's `start` event: a start done), how many, the
last `health_status: healthy`, and the exit — medians, seconds since the
command's start: where each tool's time goes, in the same terms; and at the
end the per-service slope of each of these milestones over the sizes.

Everything it makes is removed at exit, also on failure, Ctrl-C or SIGTERM:
the containers, networks and volumes of its projects (vdsc<pid>-<peer><N>),
its images (each built one, also those a later build untagged: they carry the
label io.voxdeploy.bench=<run>), the tags <fixture>:voxdeploy-previous that
voxdeploy's deploys put on the fixture images when they were not there
before, its temporary directory (the repositories, the state dirs), and
the build-cache records that descend from the Dockerfile's `RUN : <run>`
step (the only change to deploy.py's Dockerfile besides the label: it puts
the run's name in the cache, so the records of this run's COPY steps can be
told from others'; it is cached after the first build).  BuildKit's records
of the uploaded build contexts name nothing of the run and are left to the
engine's build-cache GC (their count is printed).  At exit the script lists
whatever is left that carries the run's name (docker ps -a, volume ls,
network ls, images): nothing, when all went well (exit 2 otherwise).  The
containers are removed one at a time.  What it cannot remove: a network that
Docker 20.10 leaves with a leaked endpoint count ("has active endpoints" and
no container on it; moby/moby#43286) needs a restart of dockerd — the
script names it and says so.

Needs the engine on /var/run/docker.sock, the fixture images (tests/fixtures/
build-images: voxdeploy-test/busybox:1, voxdeploy-test/postgres:local; no
registry is used) and compose v2: VD_COMPOSE_V2, else
/usr/local/lib/compose-v2/docker-compose (without one the benchmark is
skipped, exit 0).  A benchmark reports, it does not judge: exit 0 unless
something broke (2: a setup or command failure; 130: interrupted).

usage: tests/bench/scale.py [BUILD_DIR] [ROUNDS] [--sizes=2,12,22]
       (ROUNDS default 3; the sizes also from VD_BENCH_SIZES=2,12,22)
"""
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
_argv = sys.argv
sys.argv = _argv[:1]            # build.py reads its own arguments on import
import deploy as lab  # noqa: E402  the lab stack and its helpers (its main() does not run)
import build as bb    # noqa: E402  images, build cache, printing (its main() does not run)
sys.argv = _argv

ARGS = [a for a in sys.argv[1:] if not a.startswith("--")]
FLAGS = [a for a in sys.argv[1:] if a.startswith("--")]
BUILD = ARGS[0] if len(ARGS) > 0 else "build"
ROUNDS = max(1, int(ARGS[1]) if len(ARGS) > 1 else 3)
SIZES_TEXT = os.environ.get("VD_BENCH_SIZES", "2,12,22")
for _f in FLAGS:
    if _f.startswith("--sizes="):
        SIZES_TEXT = _f[len("--sizes="):]
    else:
        sys.exit("usage: tests/bench/scale.py [BUILD_DIR] [ROUNDS] [--sizes=2,12,22]")
SIZES = sorted({int(x) for x in SIZES_TEXT.split(",") if x.strip()})
if not SIZES or SIZES[0] < 0:
    sys.exit("bench: sizes must be numbers >= 0 (got %r)" % SIZES_TEXT)
VD = os.path.abspath(os.path.join(BUILD, "controller", "voxdeploy"))
lab.VD = bb.VD = VD
COMPOSE_V2 = os.environ.get("VD_COMPOSE_V2", "/usr/local/lib/compose-v2/docker-compose")
DOCKER = lab.DOCKER
BUSYBOX = lab.BUSYBOX
POSTGRES = lab.POSTGRES
Broke = lab.Broke
log = lab.log
CMD_TIMEOUT = 600
GOAL_RATIO = 0.9
GOAL_N = 22
WIDTH = max(2, len(str(SIZES[-1])))


def run(cmd, cwd=None, env=None, check=True):
    """deploy.py's run() with a time limit: (rc, seconds, stdout, stderr)."""
    t0 = time.time()
    try:
        p = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=CMD_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise Broke("%s did not end within %d s" % (" ".join(cmd), CMD_TIMEOUT))
    dt = time.time() - t0
    if check and p.returncode:
        raise Broke("%s exited %d:\n%s%s" % (" ".join(cmd), p.returncode, p.stdout[-3000:], p.stderr[-3000:]))
    return p.returncode, dt, p.stdout, p.stderr


# ------------------------------------------------------------------ the stack

SMALL = """  s{i:0{w}d}:
    image: {busybox}
    command:
      - sh
      - -c
      - "mkdir -p /www; echo ok > /www/health; trap 'exit 0' TERM; httpd -f -p 8080 -h /www & wait"
    stop_grace_period: 1s
    healthcheck:
      test: ["CMD", "wget", "-q", "-O-", "http://127.0.0.1:8080/health"]
      interval: 1s
      timeout: 3s
      retries: 5
    depends_on:
      postgres:
        condition: service_healthy
    labels: [io.voxdeploy.test=1]
"""


def dockerfile(run_tag):
    """deploy.py's Dockerfile with the run's label and a `RUN : <run>` step
    (the build-cache records of the COPY steps descend from it), and the
    app's HEALTHCHECK as patient as the small services' (timeout 3 s, 5
    retries): with 25 containers checked every second on 2 cores, its 2 s
    timeout made the app unhealthy in the middle of a run (both peers give
    up on the first unhealthy)."""
    lines = lab.DOCKERFILE.format(busybox=BUSYBOX).splitlines(True)
    out = []
    for line in lines:
        if line.startswith("HEALTHCHECK "):
            line = line.replace("--timeout=2s", "--timeout=3s").replace("--retries=2", "--retries=5")
        if line.startswith("LABEL "):
            line = line.rstrip("\n") + " io.voxdeploy.bench=%s\n" % run_tag
            out.append(line)
            out.append("RUN : %s\n" % run_tag)
        else:
            out.append(line)
    return "".join(out)


def compose_file(n):
    base = lab.COMPOSE_FILE.format(busybox=BUSYBOX, postgres=POSTGRES)
    head = "services:\n"
    if not base.startswith(head):
        raise Broke("deploy.py's compose file does not start with services:")
    small = "".join(SMALL.format(i=i, w=WIDTH, busybox=BUSYBOX) for i in range(1, n + 1))
    return head + base[len(head):].replace("\nnetworks:\n", "\n" + small + "networks:\n", 1)


# VD_BENCH_PARALLEL=N: voxdeploy's own peer deploys with deploy.parallel: N
# (where the knee is); unset: voxdeploy's default
PEER_PARALLEL = int(os.environ["VD_BENCH_PARALLEL"]) if os.environ.get("VD_BENCH_PARALLEL") else None


def vd_yml(parallel=None):
    text = "health:\n  stable_for: 1s\n"
    if parallel is not None:
        text += "deploy:\n  parallel: %d\n" % parallel
    return text


def scale_stack(root, project, git, n, run_tag):
    st = lab.Stack(root, project, git=False)
    st.put("Dockerfile", dockerfile(run_tag))
    st.put("docker-compose.yml", compose_file(n))
    st.n = n
    st.parallel = None
    if git:
        st.git = True
        st.put("voxdeploy.yml", vd_yml())
        st.sh("git", "init", "-q", "-b", "main", ".")
        st.commit("the lab stack and %d small services" % n)
    return st


def parallel_key_known(root):
    """(known, message): does this voxdeploy accept deploy.parallel?"""
    d = os.path.join(root, "probe")
    lab.write(os.path.join(d, "docker-compose.yml"), "services:\n  app:\n    image: %s\n" % BUSYBOX)
    lab.write(os.path.join(d, "voxdeploy.yml"), vd_yml(1))
    rc, _, out, err = run([VD, "-C", d, "-p", "vdprobe", "--json", "config"], check=False)
    shutil.rmtree(d)
    if rc == 0:
        value = find_parallel(out)
        return True, "voxdeploy accepts deploy.parallel%s" % (
            "" if value == 1 else " (but its config shows %r for 1)" % value)
    if "parallel" in err:
        return False, ("voxdeploy refuses deploy.parallel (%s): the concurrent FULL_RESTART has not landed"
                       % err.strip().splitlines()[-1])
    raise Broke("voxdeploy config exited %d:\n%s%s" % (rc, out, err))


def default_parallel(stack):
    """deploy.parallel as voxdeploy config shows it for the stack (or '?')."""
    rc, _, out, _ = run([VD, "-C", stack.dir, "-p", stack.project, "--json", "config"], env=stack.env,
                        check=False)
    v = None if rc else find_parallel(out)
    return "?" if v is None else v


def find_parallel(text):
    """deploy.parallel in `voxdeploy --json config`'s output, wherever it is."""
    def find(o):
        if isinstance(o, dict):
            if isinstance(o.get("deploy"), dict) and "parallel" in o["deploy"]:
                return o["deploy"]["parallel"]
            for v in o.values():
                r = find(v)
                if r is not None:
                    return r
        return None
    try:
        return find(json.loads(text))
    except ValueError:
        return None


# ------------------------------------------------------------------ the peers


def v2(stack, *args):
    env = dict(stack.env, DOCKER_BUILDKIT="1")
    return run([COMPOSE_V2, "-p", stack.project] + list(args), cwd=stack.dir, env=env)


def vd(stack, state, *args):
    return run([VD, "-C", stack.dir, "-p", stack.project, "--state-dir", state, "deploy"] + list(args),
               env=stack.env, check=False)


def journal(state):
    path = os.path.join(state, "journal.jsonl")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def last_deploy(state):
    j = journal(state)
    if not j:
        return []
    last = j[-1].get("deploy_id")
    return [r for r in j if r.get("deploy_id") == last]


def project_containers(project):
    """The project's containers (label or name), as the engine lists them."""
    seen = {}
    for filt in ({"label": ["com.docker.compose.project=" + project]}, {"name": ["^/" + project + "[-_]"]}):
        for c in lab.api("GET", "/containers/json?all=1&filters=%s" % urllib.parse.quote(json.dumps(filt))):
            seen[c["Id"]] = c
    return list(seen.values())


def check_stack(stack, version):
    """Untimed: the new version answers; N + 3 containers run, N + 2 of them
    healthy (the worker has no healthcheck)."""
    lab.wait_answer(stack.app_port, version, limit=60)
    wait_running(stack, 30)


def wait_running(stack, limit):
    """Until N + 3 containers of the project run and N + 2 are healthy (the
    worker has no healthcheck), at most limit seconds."""
    want_running, want_healthy = stack.n + 3, stack.n + 2
    deadline = time.time() + limit
    while True:
        cs = [c for c in project_containers(stack.project) if c.get("State") == "running"]
        healthy = [c for c in cs if "(healthy)" in (c.get("Status") or "")]
        if len(cs) == want_running and len(healthy) == want_healthy:
            return
        if time.time() > deadline:
            raise Broke("%s: %d containers running (want %d), %d healthy (want %d): %s"
                        % (stack.project, len(cs), want_running, len(healthy), want_healthy,
                           ", ".join("%s %s" % (c["Names"][0], c.get("Status")) for c in cs)))
        time.sleep(0.2)


def park(stack):
    """Untimed: stop the project's running containers (1 s grace each, all at
    once), so that a peer is measured with no other project's healthchecks
    running: on 2 cores, 50 containers checked every second keep the engine
    busy enough to make healthchecks time out."""
    ids = [c["Id"] for c in project_containers(stack.project) if c.get("State") == "running"]
    if ids:
        run([DOCKER, "stop", "-t", "1"] + ids)


def wake(stack):
    """Untimed: start a parked project's containers, PostgreSQL first (the
    others depend on it), then wait until N + 3 run and N + 2 are healthy."""
    cs = [c for c in project_containers(stack.project) if c.get("State") != "running"]
    if not cs:
        return
    pg = [c["Id"] for c in cs if c.get("Labels", {}).get("com.docker.compose.service") == "postgres"]
    rest = [c["Id"] for c in cs if c["Id"] not in pg]
    if pg:
        run([DOCKER, "start"] + pg)
    if rest:
        run([DOCKER, "start"] + rest)
    wait_running(stack, 120)


class Seq:
    """Version strings unique in the run and across runs (build.py's Seq)."""

    def __init__(self):
        self.n = 0
        self.nonce = os.urandom(3).hex()

    def change(self, stack, label, parallel="keep"):
        self.n += 1
        v = "%s-%d-%s" % (label, self.n, self.nonce)
        stack.put("src/version", v + "\n")
        if parallel != "keep" and parallel != stack.parallel:
            stack.put("voxdeploy.yml", vd_yml(parallel))
            stack.parallel = parallel
        if stack.git:
            stack.commit("version " + v)
        return v


# ------------------------------------------------------------------ the engine's events


class Events(threading.Thread):
    """The engine's container events (create, start, kill, die, destroy,
    health_status) of containers labelled io.voxdeploy.test=1, streamed for
    the whole run: [(time, action, name, project)].  The engine keeps only
    its last 256 events and the healthchecks of 50 containers make many, so
    they are read as they come, not asked for afterwards."""

    def __init__(self):
        super().__init__(daemon=True)
        self.events = []
        self.lock = threading.Lock()
        self.stopping = False
        flt = {"type": ["container"], "event": ["create", "start", "kill", "die", "destroy", "health_status"],
               "label": ["io.voxdeploy.test=1"]}
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self.sock.connect(lab.SOCK)
            self.sock.sendall(("GET /v1.41/events?filters=%s HTTP/1.0\r\nHost: docker\r\n\r\n"
                               % urllib.parse.quote(json.dumps(flt))).encode())
        except OSError as e:
            self.sock.close()
            raise Broke("the engine's events: %s" % e)
        self.sock.settimeout(0.5)

    def run(self):
        buf, head = b"", True
        while not self.stopping:
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                break
            if not data:
                break
            buf += data
            if head:
                if b"\r\n\r\n" not in buf:
                    continue
                status, buf = buf.split(b"\r\n\r\n", 1)
                if b" 200 " not in status.split(b"\r\n")[0]:
                    break
                head = False
            *lines, buf = buf.split(b"\n")
            for line in lines:
                try:
                    e = json.loads(line)
                except ValueError:
                    continue
                attrs = (e.get("Actor") or {}).get("Attributes") or {}
                with self.lock:
                    self.events.append((e.get("timeNano", 0) / 1e9, e.get("Action") or e.get("status") or "",
                                        attrs.get("name") or "", attrs.get("com.docker.compose.project") or ""))
        self.sock.close()

    def stop(self):
        self.stopping = True
        self.join(5)

    def of(self, project, t0, t1):
        def ours(name, proj):
            return proj == project or name.startswith(project + "-") or name.startswith(project + "_")
        with self.lock:
            return [e for e in self.events if t0 <= e[0] <= t1 and ours(e[2], e[3])]


def event_stats(events, t0, t1):
    """Seconds since the command's start: the first stop (kill or die), the
    first and the last start, the last `healthy`; the count of starts."""
    kills = [t for t, a, _, _ in events if a in ("kill", "die")]
    starts = [t for t, a, _, _ in events if a == "start"]
    healthy = [t for t, a, _, _ in events if a == "health_status: healthy"]
    if not starts:
        return None
    return {"stop": (min(kills) - t0) if kills else float("nan"), "first": min(starts) - t0,
            "last": max(starts) - t0, "n": len(starts), "healthy": (max(healthy) - t0) if healthy else float("nan"),
            "exit": t1 - t0}


MILESTONES = (("stop", "first stop"), ("first", "first start"), ("last", "last start"),
              ("healthy", "last healthy"), ("exit", "exit"))


def print_events(label, stats):
    """One line of medians; returns them (None without events)."""
    stats = [x for x in stats if x]
    if not stats:
        print("  %-30s (no events seen)" % label)
        return None

    def m(k):
        return statistics.median(x[k] for x in stats)
    print("  %-30s %6.2f %8.2f %8.2f %6d %9.2f %7.2f" % (label, m("stop"), m("first"), m("last"),
                                                     max(x["n"] for x in stats), m("healthy"), m("exit")))
    return {k: m(k) for k, _ in MILESTONES}


# ------------------------------------------------------------------ the journal


def intervals(records, step):
    """[(service, begin, done)] of one deploy's records of a step."""
    begin, out = {}, []
    for r in records:
        if r.get("step") != step:
            continue
        key = r.get("service") or ""
        if r.get("state") == "begin":
            begin[key] = lab.ts_of(r)
        elif r.get("state") == "done" and key in begin:
            out.append((key, begin.pop(key), lab.ts_of(r)))
    return out


def overlap(ivs):
    """The most intervals in progress at once (a done before a begin of the
    same instant)."""
    ev = sorted([(b, 1) for _, b, _ in ivs] + [(d, -1) for _, _, d in ivs], key=lambda e: (e[0], e[1]))
    cur = best = 0
    for _, d in ev:
        cur += d
        best = max(best, cur)
    return best


def start_stats(records):
    ivs = intervals(records, "start")
    if not ivs:
        return None
    return {"span": max(d for _, _, d in ivs) - min(b for _, b, _ in ivs), "max": overlap(ivs), "n": len(ivs),
            "each": statistics.median(d - b for _, b, d in ivs)}


def phases(records):
    """[(step, first record since the deploy's first, span of its records,
    services)] in the order of first appearance."""
    if not records:
        return []
    t0 = lab.ts_of(records[0])
    first, last, svcs, order = {}, {}, {}, []
    for r in records:
        step = r.get("step") or "?"
        t = lab.ts_of(r)
        if step not in first:
            first[step] = t
            svcs[step] = set()
            order.append(step)
        last[step] = t
        if r.get("service"):
            svcs[step].add(r["service"])
    return [(s, first[s] - t0, last[s] - first[s], len(svcs[s])) for s in order]


def print_starts(label, records):
    """Each start's begin (since the first start's begin) and duration, in
    the order of their begins."""
    ivs = sorted(intervals(records, "start"), key=lambda x: x[1])
    if not ivs:
        return
    t0 = ivs[0][1]
    items = ["%s +%.2f/%.0fms" % (s, b - t0, (d - b) * 1000) for s, b, d in ivs]
    print("  %s (service +begin s/duration, from the first start's begin):" % label)
    for i in range(0, len(items), 6):
        print("    " + "  ".join(items[i:i + 6]))


def print_phases(label, per_round):
    print("  where voxdeploy's time goes (%s): median seconds from the deploy's first journal record to each "
          "step's first record, its records' span, services" % label)
    acc, order = {}, []
    for rec in per_round:
        for step, at, span, n in rec:
            if step not in acc:
                acc[step] = []
                order.append(step)
            acc[step].append((at, span, n))
    for step in order:
        v = acc[step]
        print("    %7.2f  %7.2f  %3d  %s" % (statistics.median(a for a, _, _ in v),
                                            statistics.median(s for _, s, _ in v), max(n for _, _, n in v), step))


# ------------------------------------------------------------------ printing


def slope(xs, ys):
    """Least squares slope of ys against xs."""
    mx, my = statistics.mean(xs), statistics.mean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den if den else float("nan")


def goal_line(label, ok, detail):
    print("  %-52s %s  (%s)" % (label, "PASS" if ok else "MISS", detail))


# ------------------------------------------------------------------ the rounds


def bench(root, tag, projects, images, events):
    known, why = parallel_key_known(root)
    log(why)
    seq = Seq()
    version = run([COMPOSE_V2, "version", "--short"], check=False)[2].strip()
    vdv = (run([VD, "version"], check=False)[2].strip().splitlines() or ["?"])[0]
    print("scale.py: %d rounds; sizes %s; compose v2 %s; %s; %s"
          % (ROUNDS, " ".join(map(str, SIZES)), version, vdv, why))
    sys.stdout.flush()

    def remember(ps):
        for p in ps:
            images.update(bb.image_ids(p + "-app"))
            images.update(bb.image_ids(p + "_app"))

    med = {"c": {}, "v": {}}
    ev_med = {"c": {}, "v": {}}
    seqres = None
    names = {"c": "compose v2 up -d --build --force-recreate --wait", "v": "voxdeploy deploy --type full",
             "s": "voxdeploy, deploy.parallel: 1"}
    for n in SIZES:
        pv, pc = "%s-v%0*d" % (tag, WIDTH, n), "%s-c%0*d" % (tag, WIDTH, n)
        projects += [pv, pc]
        largest = n == SIZES[-1]
        vs = scale_stack(root, pv, True, n, tag)
        cs = scale_stack(root, pc, False, n, tag)
        state = os.path.join(root, "state-%s" % pv)
        log("N=%d: setting up %s (voxdeploy, app :%d, pg :%d) and %s (compose v2, app :%d, pg :%d)"
            % (n, pv, vs.app_port, vs.pg_port, pc, cs.app_port, cs.pg_port))
        rc, dt, out, err = vd(vs, state)
        remember([pv])
        if rc or "FULL_RESTART" not in err:
            raise Broke("voxdeploy's first deploy exited %d:\n%s%s" % (rc, out, err[-4000:]))
        log("N=%d: voxdeploy first deploy %.2f s" % (n, dt))
        park(vs)
        _, dt, out, err = v2(cs, "up", "-d", "--build", "--wait")
        remember([pc])
        log("N=%d: compose v2 up -d --build --wait %.2f s" % (n, dt))
        check_stack(cs, "init")
        park(cs)
        wake(vs)
        check_stack(vs, "init")
        if n == SIZES[0]:
            print("  deploy.parallel as voxdeploy config shows it for the voxdeploy project: %s"
                  % default_parallel(vs))
        peers = ["c", "v"] + (["s"] if largest and known else [])
        res = {k: [] for k in peers}
        recs = {k: [] for k in peers}
        windows = {k: [] for k in peers}
        for r in range(ROUNDS):
            order = peers[r % len(peers):] + peers[:r % len(peers)]
            log("N=%d round %d/%d: %s" % (n, r + 1, ROUNDS, " ".join(order)))
            for who in order:
                park(vs if who == "c" else cs)
                wake(cs if who == "c" else vs)
                if who == "c":
                    v = seq.change(cs, "c")
                    t0 = time.time()
                    _, dt, _, _ = v2(cs, "up", "-d", "--build", "--force-recreate", "--wait")
                    stack = cs
                else:
                    v = seq.change(vs, who, parallel=1 if who == "s" else PEER_PARALLEL)
                    t0 = time.time()
                    rc, dt, out, err = vd(vs, state, "--type", "full")
                    if rc or "FULL_RESTART" not in err:
                        raise Broke("voxdeploy deploy --type full (%s) exited %d:\n%s%s"
                                    % (names[who], rc, out, err[-4000:]))
                    recs[who].append(last_deploy(state))
                    stack = vs
                res[who].append(dt)
                windows[who].append((stack.project, t0, time.time()))
                remember([stack.project])
                check_stack(stack, v)
        print("N=%d (%d services), %d rounds: command time" % (n, n + 3, ROUNDS))
        for k in peers:
            print("  %-52s median %s   per round: %s" % (names[k], bb.ms(statistics.median(res[k])),
                                                        " ".join("%.0f" % (t * 1000) for t in res[k])))
        time.sleep(0.2)     # the last events on their way
        print("  the engine's events, median s since the command's start: first stop (kill/die), first start, "
              "last start, starts, last healthy, exit")
        for k in peers:
            em = print_events(names[k][:30], [event_stats(events.of(p, a, b), a, b) for p, a, b in windows[k]])
            if k in ev_med and em:
                ev_med[k][n] = em
        mc, mv = statistics.median(res["c"]), statistics.median(res["v"])
        med["c"][n], med["v"][n] = mc, mv
        print("  %-52s %6.3f" % ("ratio v/compose", mv / mc))
        st = [s for s in (start_stats(x) for x in recs["v"]) if s]
        if st:
            print("  voxdeploy's starts (journal): span %.2f s median (per round %s); at most %s in progress at "
                  "once; %d starts, each %.0f ms median"
                  % (statistics.median(s["span"] for s in st), " ".join("%.2f" % s["span"] for s in st),
                     "/".join(str(s["max"]) for s in st), st[0]["n"], statistics.median(s["each"] for s in st)
                     * 1000))
        if largest and recs["v"]:
            print_starts("voxdeploy's starts in its last round", recs["v"][-1])
        if largest:
            if "s" in res:
                ms_ = statistics.median(res["s"])
                seqres = ms_
                print("  sequential baseline (for information): %s median; s/v %.3f, s/compose %.3f"
                      % (bb.ms(ms_).strip(), ms_ / mv, ms_ / mc))
                st1 = [s for s in (start_stats(x) for x in recs["s"]) if s]
                if st1:
                    print("  its starts (journal): span %.2f s median (per round %s); at most %s in progress "
                          "at once; each %.0f ms median"
                          % (statistics.median(s["span"] for s in st1), " ".join("%.2f" % s["span"] for s in st1),
                             "/".join(str(s["max"]) for s in st1),
                             statistics.median(s["each"] for s in st1) * 1000))
            else:
                print("  sequential baseline (deploy.parallel: 1): skipped — %s" % why)
            print_phases("deploy.parallel default", [phases(x) for x in recs["v"]])
            if recs.get("s"):
                print_phases("deploy.parallel: 1", [phases(x) for x in recs["s"]])
        sys.stdout.flush()
        remember([pv, pc])
        log("N=%d: removing %s %s" % (n, pv, pc))
        remove_projects([pv, pc])
        lab.cleanup([pv, pc], set())

    print("Summary: median command time per size (seconds)")
    print("  %4s %8s %12s %12s %10s" % ("N", "services", "compose v2", "voxdeploy", "v/compose"))
    for n in SIZES:
        print("  %4d %8d %12.2f %12.2f %10.3f" % (n, n + 3, med["c"][n], med["v"][n], med["v"][n] / med["c"][n]))
    top = SIZES[-1]
    ratio = med["v"][top] / med["c"][top]
    goal_line("v/compose at N=%d <= %.2f%s" % (top, GOAL_RATIO, "" if top == GOAL_N else " (goal set for N=22)"),
              ratio <= GOAL_RATIO, "%.3f" % ratio)
    if len(SIZES) >= 2:
        sc = slope(SIZES, [med["c"][n] for n in SIZES])
        sv = slope(SIZES, [med["v"][n] for n in SIZES])
        print("  per-service slope (least squares over N=%s): compose v2 %.1f ms/service, voxdeploy %.1f "
              "ms/service, ratio v/compose %s"
              % (",".join(map(str, SIZES)), sc * 1000, sv * 1000, "%.3f" % (sv / sc) if sc > 0 else "n/a"))
        goal_line("voxdeploy's slope <= compose v2's slope", sv <= sc, "%.1f vs %.1f ms/service"
                  % (sv * 1000, sc * 1000))
        if all(len(ev_med[k]) == len(SIZES) for k in ("c", "v")):
            print("  for information, the slope of each milestone of the engine's events (ms/service; "
                  "seconds since the command's start against N):")
            print("    %-12s %s" % ("", "".join("%14s" % label for _, label in MILESTONES)))
            for k, label in (("c", "compose v2"), ("v", "voxdeploy")):
                print("    %-12s %s" % (label, "".join(
                    "%14.1f" % (slope(SIZES, [ev_med[k][n][m] for n in SIZES]) * 1000) for m, _ in MILESTONES)))
    else:
        print("  per-service slope: needs two sizes or more")
    if seqres is not None:
        print("  sequential baseline at N=%d (deploy.parallel: 1), for information: %.2f s" % (top, seqres))
    sys.stdout.flush()


def remove_projects(projects):
    """The projects' containers one at a time (the CLI's `rm -f` of many at
    once races on the 20.10 engine), then their networks and volumes, each
    tried a few times; deploy.py's cleanup() sweeps after it."""
    for p in projects:
        for c in project_containers(p):
            try:
                lab.api("DELETE", "/containers/%s?force=1&v=1" % c["Id"], ok=(204, 404))
            except (Broke, OSError):
                pass
    for p in projects:
        for what, path in (("network", "/networks/%s_default" % p), ("volume", "/volumes/%s_pgdata?force=1" % p)):
            for attempt in range(5):
                try:
                    lab.api("DELETE", path, ok=(204, 404))
                    break
                except (Broke, OSError) as e:
                    if attempt == 4:
                        log("cannot remove the %s of %s: %s" % (what, p, e))
                    time.sleep(0.5)


def snapshot():
    def lines(*cmd):
        return subprocess.run([DOCKER] + list(cmd), capture_output=True, text=True).stdout.split("\n")
    return {"containers": [x for x in lines("ps", "-a", "--format", "{{.Names}}") if x],
            "volumes": [x for x in lines("volume", "ls", "-q") if x],
            "networks": [x for x in lines("network", "ls", "--format", "{{.Name}}") if x],
            "images": [x for x in lines("images", "-a", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}") if x]}


def main():
    bb.preflight("scale.py", VD, BUILD, COMPOSE_V2)
    root = tempfile.mkdtemp(prefix="vd-bench-scale-")
    tag = "vdsc%d" % os.getpid()
    projects, images = [], set()
    cache_before = {r["ID"] for r in bb.build_cache()}
    previous = {ref: lab.image_id(ref.split(":")[0] + ":voxdeploy-previous") for ref in (BUSYBOX, POSTGRES)}
    rc = 0

    def on_signal(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)     # also when started with SIGINT ignored (a background job)
    events = None
    try:
        events = Events()
        events.start()
        bench(root, tag, projects, images, events)
    except Broke as e:
        log("broke: %s" % e)
        rc = 2
    except KeyboardInterrupt:
        log("interrupted")
        rc = 130
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if events:
            events.stop()
        log("cleaning up %s" % " ".join(projects))
        for p in projects:
            images.update(bb.image_ids(p + "-app"))
            images.update(bb.image_ids(p + "_app"))
        remove_projects(projects)
        lab.cleanup(projects, images)
        n = bb.remove_labelled_images(tag)
        if n:
            log("removed %d more images labelled io.voxdeploy.bench=%s" % (n, tag))
        for ref, before in previous.items():
            prev = ref.split(":")[0] + ":voxdeploy-previous"
            if before is None and lab.image_id(prev) == lab.image_id(ref):
                subprocess.run([DOCKER, "rmi", prev], capture_output=True)   # the tag only: ref keeps the image
                log("removed the tag %s (voxdeploy's, not there before the run)" % prev)
        removed, left = bb.prune_build_cache(cache_before, tag)
        others = len({r["ID"] for r in bb.build_cache()} - cache_before)
        log("build cache: %d records of this run removed%s; %d other records new since the start (build "
            "contexts, other users of the engine) left to the engine's GC"
            % (removed, ", %d left (in use?)" % left if left else "", others))
        shutil.rmtree(root, ignore_errors=True)
        snap = snapshot()
        mine = {k: [x for x in v if tag in x] for k, v in snap.items()}
        labelled = lab.api("GET", "/images/json?all=1&filters=%s"
                           % urllib.parse.quote(json.dumps({"label": ["io.voxdeploy.bench=" + tag]})))
        if labelled:
            mine["images"] += [i["Id"] for i in labelled]
        left_over = {k: v for k, v in mine.items() if v}
        log("left behind (docker ps -a, volume ls, network ls, images naming %s; %s): %s"
            % (tag, root, json.dumps(left_over) if left_over else "nothing")
            + ("" if not os.path.exists(root) else "; the temporary directory is still there"))
        if left_over.get("networks"):
            log("a network that no container uses but the engine says 'has active endpoints' is the 20.10 "
                "engine's endpoint-count leak (moby/moby#43286): only a restart of dockerd frees it")
        if left_over and rc == 0:
            rc = 2
    sys.exit(rc)


if __name__ == "__main__":
    main()
