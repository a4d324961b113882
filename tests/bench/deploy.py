#!/usr/bin/env python3
"""Benchmark: `voxdeploy deploy` against Docker Compose 1.29 and the bare
Engine API on a real stack, in one run on one machine.

The stack is the one of tests/integration/it_deploy.c: an app built from a
busybox Dockerfile (httpd serving /www with `version` and `health` files, a
HEALTHCHECK that fetches /health, a start script that exits at once on
SIGTERM), PostgreSQL 15 with a named volume, and a worker.  voxdeploy and
compose each get their own project, directory and published ports, from the
same Dockerfile and the same compose file (no `version:` and no `name:` key:
both tools take the project from `-p`; compose 1.29 and voxdeploy both read it
and the same `.env`).

A client thread asks the app for /version every 10 ms (http.client to
127.0.0.1, a new connection each time, 100 ms timeout).  For each operation:

  downtime    the longest window without a 200 answer, from the command's start
              until the new version answers and the command has returned
  to-new      from the command's start until /version answers the new version
              (the client sees it; voxdeploy's stability window comes after)
  command     the command's own wall time

APP_ONLY (a change to src/version), ROUNDS rounds, peers interleaved per round:
  (a) upstream:       docker-compose stop app; build app; up -d app
  (b) compose best:   docker-compose build app; up -d --no-deps app
  (c) Engine API:     a clone of the running app container created beforehand
                      (inspect + POST /containers/create over the unix socket),
                      then POST /containers/OLD/stop and /containers/NEW/start
                      back to back: the floor of a stop-first swap (downtime only)
  (v) voxdeploy:      voxdeploy -C REPO --state-dir DIR deploy after the commit
  goals: downtime v/c <= 1.1, v/b <= 0.95, v/a <= 0.3;
         to-new v/b <= 0.9, v/a <= 0.7

FULL_RESTART (the same change, every service restarted), max(3, ROUNDS-2)
rounds, measured until the app answers the new version and PostgreSQL accepts
connections again after its restart (the end of the longest run of refusals,
polled every 20 ms: a TCP connect and a StartupMessage: the server's first
answer is an authentication request, not SQLSTATE 57P03 "starting up" — what
pg_isready checks, without a fork every 20 ms):
  compose `down; build; up -d` (no -v: the named volume stays) and
  `build; up -d --force-recreate` vs `voxdeploy deploy --type full`
  goals: v/down-up <= 0.6, v/force-recreate <= 0.9

ROLLBACK, max(3, ROUNDS-2) rounds: a version whose HEALTHCHECK fails
(src/health removed, wget gets 404); `voxdeploy deploy` must exit 1; measured
from the unhealthy verdict (the journal's step "health" state "failed" record,
its "ts") to the previous version answering again.  goal <= 0.5 s

NO_RESTART: a README-only commit, `voxdeploy deploy` wall time, ROUNDS rounds.
goal <= 100 ms

CADENCE, max(3, ROUNDS-2) rounds, against compose v2 (VD_COMPOSE_V2, else
/usr/local/lib/compose-v2/docker-compose as ../shared/tools/compose-v2.sh
installs it; the section is skipped without one): the same stack on upstream
VoxPersona's HEALTHCHECK cadence — the app interval 30 s, start_period 60 s;
PostgreSQL interval 30 s, start_period 30 s; the app depends_on PostgreSQL
service_healthy — and voxdeploy with its defaults (stable_for 5 s, fast_check
250 ms).  Command times, each round from nothing (containers and volume
removed, fresh state; images stay cached for both):
  first deploy  compose v2 `up -d --build --wait` vs `voxdeploy deploy`
  APP_ONLY      compose v2 `build app; up -d --no-deps --wait app` vs
                `voxdeploy deploy` after the commit
  goals: first deploy <= 0.15, APP_ONLY <= 0.25

voxdeploy waits for a stable health window before it returns (5 s by default;
this branch has no voxdeploy.yml support to shorten it), which counts in its
command time but not in to-new.  Medians are printed with ratios; a benchmark
reports, it does not judge: exit 0 unless something broke (2: a setup or
command failure).  Every container, network, volume and image it makes
carries io.voxdeploy.test=1 and is removed at exit.  The per-step timeline of
voxdeploy's progress lines (stderr) is summarised to show where its time goes.

usage: tests/bench/deploy.py [BUILD_DIR] [ROUNDS]      (ROUNDS default 5, min 5)
       VD_BENCH_ONLY=app,full,rollback,norestart,cadence picks sections (default: all)
"""
import http.client
import json
import os
import re
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone

BUILD = sys.argv[1] if len(sys.argv) > 1 else "build"
ROUNDS = max(5, int(sys.argv[2]) if len(sys.argv) > 2 else 5)
FULL_ROUNDS = max(3, ROUNDS - 2)
VD = os.path.abspath(os.path.join(BUILD, "controller", "voxdeploy"))
DOCKER = "/usr/bin/docker" if os.access("/usr/bin/docker", os.X_OK) else "docker"
COMPOSE = "docker-compose"
SOCK = "/var/run/docker.sock"
BUSYBOX = os.environ.get("VD_TEST_BUSYBOX_IMAGE", "voxdeploy-test/busybox:1")
POSTGRES = os.environ.get("VD_TEST_POSTGRES_IMAGE", "voxdeploy-test/postgres:local")
POLL_S = 0.010       # the client's request period
HTTP_TIMEOUT = 0.100
PG_POLL_S = 0.020
PG_TIMEOUT = 0.250
WAIT_S = 120         # longest wait for a version to answer
ONLY = [w for w in os.environ.get("VD_BENCH_ONLY", "").split(",") if w]
COMPOSE_V2 = os.environ.get("VD_COMPOSE_V2", "/usr/local/lib/compose-v2/docker-compose")


def section(name):
    return not ONLY or name in ONLY


class Broke(Exception):
    """Something the benchmark needs did not work: exit 2."""


def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


# ------------------------------------------------------------------ the stack

DOCKERFILE = """FROM {busybox}
LABEL io.voxdeploy.test=1
COPY src/ /www/
COPY start.sh /start.sh
HEALTHCHECK --interval=1s --timeout=2s --retries=2 CMD wget -q -O- http://127.0.0.1:8080/health || exit 1
CMD ["sh", "/start.sh"]
"""

START_SH = "trap 'exit 0' TERM\nhttpd -f -p 8080 -h /www &\nwait\n"

COMPOSE_FILE = """services:
  app:
    build: .
    stop_grace_period: 1s
    ports: ["127.0.0.1:${{APP_PORT}}:8080"]
    environment:
      DB_HOST: postgres
    depends_on:
      postgres:
        condition: service_healthy
    labels: [io.voxdeploy.test=1]
  postgres:
    image: {postgres}
    stop_grace_period: 10s
    environment:
      POSTGRES_USER: vd
      POSTGRES_PASSWORD: ${{DB_PASSWORD}}
      POSTGRES_DB: vd
    ports: ["127.0.0.1:${{PG_PORT}}:5432"]
    volumes: [pgdata:/var/lib/postgresql/data]
    healthcheck:
      test: ["CMD", "pg_isready", "-U", "vd", "-h", "127.0.0.1"]
      interval: 1s
      timeout: 3s
      retries: 30
    labels: [io.voxdeploy.test=1]
  worker:
    image: {busybox}
    command: ["sleep", "100000"]
    stop_grace_period: 1s
    labels: [io.voxdeploy.test=1]
networks:
  default:
    labels: {{io.voxdeploy.test: "1"}}
volumes:
  pgdata:
    labels: {{io.voxdeploy.test: "1"}}
"""


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def run(cmd, cwd=None, env=None, check=True):
    """Run a command; returns (rc, seconds, stdout, stderr)."""
    t0 = time.time()
    p = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    dt = time.time() - t0
    if check and p.returncode:
        raise Broke("%s exited %d:\n%s%s" % (" ".join(cmd), p.returncode, p.stdout[-3000:], p.stderr[-3000:]))
    return p.returncode, dt, p.stdout, p.stderr


class Stack:
    """One project: a directory with the files, its ports, its tool."""

    def __init__(self, root, project, git):
        self.dir = os.path.join(root, project)
        self.project = project
        self.app_port = free_port()
        self.pg_port = free_port()
        self.git = git
        os.makedirs(self.dir)
        write(os.path.join(self.dir, "Dockerfile"), DOCKERFILE.format(busybox=BUSYBOX))
        write(os.path.join(self.dir, "start.sh"), START_SH)
        write(os.path.join(self.dir, "src/health"), "ok\n")
        write(os.path.join(self.dir, "src/version"), "init\n")
        write(os.path.join(self.dir, "README.md"), "# the stack\n")
        write(os.path.join(self.dir, "docker-compose.yml"), COMPOSE_FILE.format(busybox=BUSYBOX, postgres=POSTGRES))
        write(os.path.join(self.dir, ".gitignore"), ".env\n")
        # the secrets and ports stay out of the repository, as on the server
        write(os.path.join(self.dir, ".env"), "DB_PASSWORD=s3cret-pg\nAPP_PORT=%d\nPG_PORT=%d\n"
              % (self.app_port, self.pg_port))
        self.env = dict(os.environ, GIT_AUTHOR_NAME="bench", GIT_AUTHOR_EMAIL="bench@example.invalid",
                        GIT_COMMITTER_NAME="bench", GIT_COMMITTER_EMAIL="bench@example.invalid")
        self.env.pop("COMPOSE_PROJECT_NAME", None)
        if git:
            self.sh("git", "init", "-q", "-b", "main", ".")
            self.commit("the stack")

    def sh(self, *cmd, check=True):
        return run(list(cmd), cwd=self.dir, env=self.env, check=check)

    def put(self, path, text):
        write(os.path.join(self.dir, path), text)

    def drop(self, path):
        os.unlink(os.path.join(self.dir, path))

    def commit(self, msg):
        self.sh("git", "add", "-A")
        self.sh("git", "commit", "-q", "-m", msg)
        return self.sh("git", "rev-parse", "HEAD")[2].strip()

    def compose(self, *args, check=True):
        return self.sh(COMPOSE, "-p", self.project, *args, check=check)


# ------------------------------------------------------------------ the Engine API


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=60):
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.path)
        self.sock = s


def api(method, path, body=None, ok=(200, 201, 204, 304)):
    c = UnixConnection(SOCK)
    try:
        data = json.dumps(body).encode() if body is not None else None
        c.request(method, "/v1.41" + path, body=data,
                  headers={"Content-Type": "application/json"} if data is not None else {})
        r = c.getresponse()
        raw = r.read()
        if r.status not in ok:
            raise Broke("engine: %s %s: %d %s" % (method, path, r.status, raw[:500]))
        return json.loads(raw) if raw.strip() else None
    finally:
        c.close()


def clone_container(name, clone_name):
    """Create (not start) a copy of a container under another name."""
    info = api("GET", "/containers/%s/json" % name)
    cfg = dict(info["Config"])
    cfg.pop("Hostname", None)   # the old one's short id; let the engine choose
    nets = {}
    for net, ep in (info["NetworkSettings"].get("Networks") or {}).items():
        aliases = [a for a in (ep.get("Aliases") or []) if not info["Id"].startswith(a)]
        nets[net] = {"Aliases": aliases}
        if ep.get("IPAMConfig"):
            nets[net]["IPAMConfig"] = ep["IPAMConfig"]
    cfg["HostConfig"] = info["HostConfig"]
    cfg["NetworkingConfig"] = {"EndpointsConfig": nets}
    return api("POST", "/containers/create?name=%s" % clone_name, cfg)["Id"]


# ------------------------------------------------------------------ the clients


class AppClient(threading.Thread):
    """GET /version every POLL_S; samples (t_sent, t_done, status, body)."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.port = port
        self.samples = []
        self.stopping = False
        self.lock = threading.Lock()

    def run(self):
        while not self.stopping:
            t0 = time.time()
            status, body = 0, None
            c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=HTTP_TIMEOUT)
            try:
                c.request("GET", "/version")
                r = c.getresponse()
                status, body = r.status, r.read().decode(errors="replace").strip()
            except (OSError, http.client.HTTPException):
                pass
            finally:
                c.close()
            t1 = time.time()
            with self.lock:
                self.samples.append((t0, t1, status, body))
            rest = t0 + POLL_S - time.time()
            if rest > 0:
                time.sleep(rest)

    def snapshot(self):
        with self.lock:
            return list(self.samples)

    def stop(self):
        self.stopping = True
        self.join()


def pg_accepts(port):
    """True when PostgreSQL on 127.0.0.1:port would accept a connection: its
    answer to a StartupMessage is not the 57P03 error (starting up, shutting
    down, in recovery).  An authentication request, or any other error (a bad
    password, say), means it accepts connections — pg_isready's PQping rule."""
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=PG_TIMEOUT)
    except OSError:
        return False
    try:
        s.settimeout(PG_TIMEOUT)
        params = b"user\0vd\0database\0vd\0\0"
        s.sendall(struct.pack("!ii", 8 + len(params), 196608) + params)
        head = s.recv(1)
        if head == b"R":
            return True
        if head != b"E":
            return False     # closed: the docker-proxy with nothing behind it
        rest = b""
        while len(rest) < 4096:
            chunk = s.recv(4096)
            if not chunk:
                break
            rest += chunk
            if b"\0\0" in rest[4:]:
                break
        return b"C57P03\0" not in rest
    except OSError:
        return False
    finally:
        s.close()


class PgClient(AppClient):
    def run(self):
        while not self.stopping:
            t0 = time.time()
            ok = pg_accepts(self.port)
            with self.lock:
                self.samples.append((t0, time.time(), 200 if ok else 0, None))
            rest = t0 + PG_POLL_S - time.time()
            if rest > 0:
                time.sleep(rest)


def wait_answer(port, want, limit=WAIT_S):
    deadline = time.time() + limit
    while time.time() < deadline:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=0.5)
            c.request("GET", "/version")
            r = c.getresponse()
            body = r.read().decode().strip()
            c.close()
            if r.status == 200 and (want is None or body == want):
                return
        except (OSError, http.client.HTTPException):
            pass
        time.sleep(0.05)
    raise Broke("port %d never answered %r" % (port, want))


def wait_pg(port, limit=WAIT_S):
    deadline = time.time() + limit
    while time.time() < deadline:
        if pg_accepts(port):
            return
        time.sleep(0.05)
    raise Broke("PostgreSQL on %d never accepted connections" % port)


class Measure:
    """Run fn() while the clients watch; result dict with downtime, to_new,
    command (seconds), rc, stderr."""

    def __init__(self, stack, want, with_pg=False):
        self.stack, self.want, self.with_pg = stack, want, with_pg

    def __call__(self, fn):
        app = AppClient(self.stack.app_port)
        pg = PgClient(self.stack.pg_port) if self.with_pg else None
        app.start()
        if pg:
            pg.start()
        try:
            # a baseline: the old version answers before the clock starts
            deadline = time.time() + 30
            while not any(s[2] == 200 for s in app.snapshot()[-3:]):
                if time.time() > deadline:
                    raise Broke("the app on port %d does not answer before the round" % self.stack.app_port)
                time.sleep(0.02)
            t0 = time.time()
            rc, err = fn()
            t_cmd = time.time()
            deadline = t_cmd + WAIT_S
            while True:
                samples = app.snapshot()
                new = [s for s in samples if s[0] >= t0 and s[2] == 200 and
                       (s[1] >= t_cmd if self.want is None else s[3] == self.want)]
                if new:
                    break
                if time.time() > deadline:
                    raise Broke("no answer %r within %d s after the command; its stderr:\n%s"
                                % (self.want, WAIT_S, err))
                time.sleep(0.02)
            t_new = new[0][1]
            t_pg = t0
            if pg:
                while True:
                    # the restart is the longest run of refusals; a lone slow
                    # answer on a busy machine is not
                    ps = [s for s in pg.snapshot() if s[0] >= t0]
                    best, run_len, up_at = 0, 0, None
                    for s in ps:
                        if s[2] != 200:
                            run_len += 1
                        else:
                            if run_len > best:
                                best, up_at = run_len, s[1]
                            run_len = 0
                    if up_at and run_len == 0 and time.time() > max(t_cmd, t_new) + 0.1:
                        t_pg = up_at
                        break
                    if time.time() > deadline:
                        raise Broke("PostgreSQL does not accept connections after the command")
                    time.sleep(0.02)
            t_end = max(t_cmd, t_new)
            time.sleep(0.05)
        finally:
            app.stop()
            if pg:
                pg.stop()
        oks = [s[1] for s in app.samples if s[2] == 200]
        before = [t for t in oks if t < t0]
        inside = [t for t in oks if t0 <= t <= t_end]
        after = [t for t in oks if t > t_end][:1]
        points = before[-1:] + inside + after
        downtime = max((b - a for a, b in zip(points, points[1:])), default=0.0)
        return {"rc": rc, "downtime": downtime, "to_new": max(t_new, t_pg) - t0,
                "command": t_cmd - t0, "stderr": err, "t0": t0, "samples": app.samples}


# ------------------------------------------------------------------ voxdeploy


class Voxdeploy:
    def __init__(self, stack, state_dir):
        self.stack, self.state = stack, state_dir

    def deploy(self, *args, expect=0):
        cmd = [VD, "-C", self.stack.dir, "-p", self.stack.project, "--state-dir", self.state, "deploy"] + list(args)

        def go():
            rc, _, out, err = run(cmd, env=self.stack.env, check=False)
            if rc != expect:
                raise Broke("voxdeploy deploy exited %d (expected %d):\n%s%s" % (rc, expect, out, err))
            return rc, err
        return go

    def journal(self):
        with open(os.path.join(self.state, "journal.jsonl")) as f:
            return [json.loads(line) for line in f if line.strip()]


SERVICES = ("app", "postgres", "worker")
def ts_of(record):
    return datetime.strptime(record["ts"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc).timestamp()


def swap_path(records):
    """From one deploy's journal records: the app's stop, the gap from the old
    one stopped to asking for the new one's start, and the start (seconds)."""
    at = {}
    for j in records:
        if j.get("service") in (None, "app"):
            at.setdefault("%s:%s" % (j.get("step"), j.get("state")), ts_of(j))
    try:
        return (at["stop:done"] - at["stop:begin"], at["start:begin"] - at["stop:done"],
                at["start:done"] - at["start:begin"])
    except KeyError:
        return None


def fsync_ms(directory, n=20):
    """Median and worst latency of an append + fsync in directory (the journal's
    cost per record)."""
    path = os.path.join(directory, "fsync-probe")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    times = []
    try:
        for _ in range(n):
            t0 = time.perf_counter()
            os.write(fd, b"x" * 200 + b"\n")
            os.fsync(fd)
            times.append(time.perf_counter() - t0)
    finally:
        os.close(fd)
        os.unlink(path)
    return statistics.median(times) * 1000, max(times) * 1000


STEP_RE = re.compile(r"^\[\s*([\d.]+)s\]\s+(\S+)\s+(\S+)\s*(.*?)(?:\s+\(([\d.]+)s\))?$")


def steps_of(stderr):
    """voxdeploy's progress lines: [(elapsed, step, state, rest, step_s)]."""
    out = []
    for line in stderr.splitlines():
        m = STEP_RE.match(line.strip())
        if m:
            out.append((float(m.group(1)), m.group(2), m.group(3), m.group(4),
                        float(m.group(5)) if m.group(5) else None))
    return out


def timeline_summary(stderrs):
    """Median elapsed time at which each step:state:service line appears."""
    seen = {}
    detail = {}
    order = []
    for err in stderrs:
        count = {}
        for el, step, state, rest, _ in steps_of(err):
            head = rest.split(":")[0]
            key = "%s %s %s" % (step, state, head if head in SERVICES else "")
            count[key] = count.get(key, 0) + 1
            if count[key] > 1:      # the restore's health wait, say
                key += " (#%d)" % count[key]
            if key not in seen:
                detail[key] = rest
            if key not in seen:
                seen[key] = []
                order.append(key)
            seen[key].append(el)
    return [(k, statistics.median(seen[k]), detail[k]) for k in order]


def print_timeline(what, stderrs):
    print("  voxdeploy %s timeline: median seconds since its start at each progress line "
          "(detail from the first round)" % what)
    for key, el, rest in timeline_summary(stderrs):
        print("    %7.2f  %-28s %s" % (el, key, rest))


def rounds_line(label, results, key):
    print("    %-34s %s" % (label, " ".join("%.0f" % (r[key] * 1000) for r in results)))


# ------------------------------------------------------------------ the rounds


def med(results, key):
    return statistics.median(r[key] for r in results)


def ratio_line(label, a, b, goal):
    r = a / b if b else float("inf")
    mark = "meets" if r <= goal else "MISSES"
    print("  %-34s %6.3f  (goal <= %.2f: %s)" % (label, r, goal, mark))


def ms(x):
    return "%8.0f ms" % (x * 1000)


def cleanup(projects, images):
    for p in projects:
        ids = subprocess.run([DOCKER, "ps", "-aq", "--filter", "label=com.docker.compose.project=" + p],
                             capture_output=True, text=True).stdout.split()
        ids += subprocess.run([DOCKER, "ps", "-aq", "--filter", "name=^/" + p],
                              capture_output=True, text=True).stdout.split()
        if ids:
            subprocess.run([DOCKER, "rm", "-f"] + sorted(set(ids)), capture_output=True)
        subprocess.run([DOCKER, "network", "rm", p + "_default"], capture_output=True)
        subprocess.run([DOCKER, "volume", "rm", "-f", p + "_pgdata"], capture_output=True)
        for ref in (p + "_app", p + "-app"):
            tags = subprocess.run([DOCKER, "images", "--format", "{{.Repository}}:{{.Tag}}",
                                   "--filter", "reference=" + ref], capture_output=True, text=True).stdout.split()
            if tags:
                subprocess.run([DOCKER, "rmi", "-f"] + tags, capture_output=True)
    if images:
        subprocess.run([DOCKER, "rmi", "-f"] + sorted(images), capture_output=True)


def image_id(ref):
    p = subprocess.run([DOCKER, "image", "inspect", "-f", "{{.Id}}", ref], capture_output=True, text=True)
    return p.stdout.strip() if p.returncode == 0 else None


def main():
    if not os.access(VD, os.X_OK):
        sys.exit("bench: build voxdeploy first (%s missing)" % VD)
    root = tempfile.mkdtemp(prefix="vd-bench-deploy-")
    tag = "vdbd%d" % os.getpid()
    projects = [tag + "v", tag + "c", tag + "w", tag + "x"]
    images = set()
    rc = 0

    def on_signal(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_signal)
    try:
        bench(root, projects, images)
    except Broke as e:
        log("broke: %s" % e)
        rc = 2
    except KeyboardInterrupt:
        log("interrupted")
        rc = 130
    finally:
        log("cleaning up %s" % " ".join(projects))
        cleanup(projects, images)
        shutil.rmtree(root, ignore_errors=True)
    sys.exit(rc)


def bench(root, projects, images):
    vs = Stack(root, projects[0], git=True)
    cs = Stack(root, projects[1], git=False)
    vd = Voxdeploy(vs, os.path.join(root, "state"))
    vs.put("voxdeploy.yml", "health:\n  stable_for: 1s\n")
    vs.commit("voxdeploy.yml")

    def remember():
        for ref in (vs.project + "-app:latest", cs.project + "_app:latest"):
            i = image_id(ref)
            if i:
                images.add(i)

    log("setting up %s (voxdeploy, app :%d, pg :%d) and %s (compose, app :%d, pg :%d) in %s"
        % (vs.project, vs.app_port, vs.pg_port, cs.project, cs.app_port, cs.pg_port, root))
    rc, dt, _, err = run([VD, "-C", vs.dir, "-p", vs.project, "--state-dir", vd.state, "deploy"], env=vs.env,
                         check=False)
    if rc:
        raise Broke("voxdeploy's first deploy exited %d:\n%s" % (rc, err))
    log("voxdeploy first deploy (FULL_RESTART): %.2f s" % dt)
    _, dt, _, _ = cs.compose("up", "-d", "--build")
    log("compose up -d --build: %.2f s" % dt)
    remember()
    wait_answer(vs.app_port, "init")
    wait_answer(cs.app_port, "init")
    wait_pg(vs.pg_port)
    wait_pg(cs.pg_port)
    isready = "/usr/lib/postgresql/15/bin/pg_isready"
    if os.access(isready, os.X_OK):     # the probe agrees with pg_isready
        for port in (vs.pg_port, cs.pg_port):
            if run([isready, "-q", "-h", "127.0.0.1", "-p", str(port), "-U", "vd"], check=False)[0]:
                raise Broke("pg_isready says PostgreSQL on %d does not accept connections" % port)

    seq = [0]
    # a run's own version strings: BuildKit's cache outlives a run, and a
    # version an earlier run built would come back cached for voxdeploy only
    nonce = "%x" % (int(time.time() * 1000) & 0xffffffff)

    def change(stack, label):
        seq[0] += 1
        v = "%s-%d-%s" % (label, seq[0], nonce)
        stack.put("src/version", v + "\n")
        if stack.git:
            stack.commit("version " + v)
        return v

    # ---------------------------------------------------------- APP_ONLY
    if section("app"):
        res = {k: [] for k in "abcv"}
        vd_err = []
        for r in range(ROUNDS):
            log("APP_ONLY round %d/%d" % (r + 1, ROUNDS))
            v = change(cs, "a")

            def seq_a():
                for args in (("stop", "app"), ("build", "app"), ("up", "-d", "app")):
                    cs.compose(*args)
                return 0, ""
            res["a"].append(Measure(cs, v)(seq_a))
            remember()

            v = change(cs, "b")

            def seq_b():
                cs.compose("build", "app")
                cs.compose("up", "-d", "--no-deps", "app")
                return 0, ""
            res["b"].append(Measure(cs, v)(seq_b))
            remember()

            old = cs.project + "_app_1"
            new = cs.project + "_app_1_clone"
            clone_container(old, new)

            calls = []

            def seq_c():
                t0 = time.time()
                api("POST", "/containers/%s/stop?t=1" % old)
                t1 = time.time()
                api("POST", "/containers/%s/start" % new)
                calls.append((t1 - t0, 0.0, time.time() - t1))
                return 0, ""
            res["c"].append(Measure(cs, None)(seq_c))
            res["c"][-1]["path"] = calls[0]
            api("DELETE", "/containers/%s?force=1" % old)
            api("POST", "/containers/%s/rename?name=%s" % (new, old))

            v = change(vs, "v")
            m = Measure(vs, v)(vd.deploy())
            last = vd.journal()[-1]["deploy_id"]
            m["path"] = swap_path([j for j in vd.journal() if j.get("deploy_id") == last])
            res["v"].append(m)
            vd_err.append(m["stderr"])
            if "APP_ONLY" not in m["stderr"]:
                raise Broke("voxdeploy did not plan APP_ONLY:\n" + m["stderr"])
            remember()

        names = {"a": "(a) compose stop; build; up -d", "b": "(b) compose build; up -d --no-deps",
                 "c": "(c) Engine API stop+start", "v": "(v) voxdeploy deploy"}
        print("APP_ONLY, %d rounds (medians): downtime / time to the new version / command" % ROUNDS)
        for k in "abcv":
            print("  %-36s %s %s %s" % (names[k], ms(med(res[k], "downtime")),
                                         ms(med(res[k], "to_new")) if k != "c" else "         -",
                                         ms(med(res[k], "command"))))
        print("  per round, downtime ms:")
        for k in "abcv":
            rounds_line(names[k], res[k], "downtime")
        dv = med(res["v"], "downtime")
        ratio_line("downtime v/c", dv, med(res["c"], "downtime"), 1.1)
        ratio_line("downtime v/b", dv, med(res["b"], "downtime"), 0.95)
        ratio_line("downtime v/a", dv, med(res["a"], "downtime"), 0.3)
        tv = med(res["v"], "to_new")
        ratio_line("time to the new version v/b", tv, med(res["b"], "to_new"), 0.9)
        ratio_line("time to the new version v/a", tv, med(res["a"], "to_new"), 0.7)
        print_timeline("APP_ONLY", vd_err)
        vpaths = [r["path"] for r in res["v"] if r.get("path")]
        cpaths = [r["path"] for r in res["c"]]
        print("  the swap's critical path (median ms): stop / stopped -> start asked / start")
        for label, paths in (("(c) Engine API calls", cpaths), ("(v) voxdeploy, journal ts", vpaths)):
            if paths:
                print("    %-34s %6.0f %6.0f %6.0f" % (label, *(statistics.median(p[i] for p in paths) * 1000
                                                          for i in range(3))))
        fm, fw = fsync_ms(vd.state)
        print("  append + fsync in the state dir (one journal record): median %.1f ms, worst %.1f ms of 20"
              % (fm, fw))
        sys.stdout.flush()

    # ---------------------------------------------------------- FULL_RESTART
    if section("full"):
        full = {"down": [], "force": [], "v": []}
        full_err = []
        for r in range(FULL_ROUNDS):
            log("FULL_RESTART round %d/%d" % (r + 1, FULL_ROUNDS))
            v = change(cs, "fd")

            def seq_down():
                cs.compose("down")
                cs.compose("build")
                cs.compose("up", "-d")
                return 0, ""
            full["down"].append(Measure(cs, v, with_pg=True)(seq_down))
            remember()

            v = change(cs, "ff")

            def seq_force():
                cs.compose("build")
                cs.compose("up", "-d", "--force-recreate")
                return 0, ""
            full["force"].append(Measure(cs, v, with_pg=True)(seq_force))
            remember()

            v = change(vs, "fv")
            m = Measure(vs, v, with_pg=True)(vd.deploy("--type", "full"))
            full["v"].append(m)
            full_err.append(m["stderr"])
            remember()
        print("FULL_RESTART, %d rounds (medians): until the new version answers and PostgreSQL accepts / "
              "downtime / command" % FULL_ROUNDS)
        fnames = {"down": "compose down; build; up -d", "force": "compose build; up -d --force-recreate",
                  "v": "voxdeploy deploy --type full"}
        for k in ("down", "force", "v"):
            print("  %-36s %s %s %s" % (fnames[k], ms(med(full[k], "to_new")), ms(med(full[k], "downtime")),
                                         ms(med(full[k], "command"))))
        print("  per round, until new version + PostgreSQL ms:")
        for k in ("down", "force", "v"):
            rounds_line(fnames[k], full[k], "to_new")
        tv = med(full["v"], "to_new")
        ratio_line("v/down-up", tv, med(full["down"], "to_new"), 0.6)
        ratio_line("v/force-recreate", tv, med(full["force"], "to_new"), 0.9)
        print_timeline("FULL_RESTART", full_err)
        sys.stdout.flush()

    # ---------------------------------------------------------- ROLLBACK
    if section("rollback"):
        back = []
        back_err = []
        back_journal = []
        good = vs.sh("git", "rev-parse", "HEAD")[2].strip()
        good_version = open(os.path.join(vs.dir, "src/version")).read().strip()
        for r in range(FULL_ROUNDS):
            log("ROLLBACK round %d/%d" % (r + 1, FULL_ROUNDS))
            vs.sh("git", "checkout", "-q", "-f", "-B", "main", good)
            vs.drop("src/health")
            seq[0] += 1
            vs.put("src/version", "broken-%d-%s\n" % (seq[0], nonce))
            broken = vs.commit("broken health %d" % seq[0])
            m = Measure(vs, good_version)(vd.deploy("--to", broken, expect=1))
            ids = [j for j in vd.journal() if j.get("step") == "health" and j.get("state") == "failed"]
            if not ids:
                raise Broke("no health:failed record in the journal:\n" + m["stderr"])
            verdict = ts_of(ids[-1])
            answers = [s[1] for s in m["samples"] if s[0] >= verdict and s[2] == 200 and s[3] == good_version]
            if not answers:
                raise Broke("the previous version never answered after the verdict")
            m["back"] = answers[0] - verdict
            # where the time after the verdict goes: the journal's records of this deploy
            after = []
            for j in vd.journal():
                if j.get("deploy_id") != ids[-1]["deploy_id"]:
                    continue
                t = ts_of(j)
                if t >= verdict:
                    key = "%s %s %s" % (j.get("step"), j.get("state"), j.get("service") or "")
                    after.append((key.strip(), t - verdict))
            after.append(("(client) previous version answers", m["back"]))
            back_journal.append(after)
            back.append(m)
            back_err.append(m["stderr"])
            remember()
        vs.sh("git", "checkout", "-q", "-f", "-B", "main", good)
        print("ROLLBACK, %d rounds (medians): unhealthy verdict -> previous version answers %s (goal <= 500 ms: %s); "
              "downtime %s; command %s" % (FULL_ROUNDS, ms(med(back, "back")).strip(),
                                           "meets" if med(back, "back") <= 0.5 else "MISSES",
                                           ms(med(back, "downtime")).strip(), ms(med(back, "command")).strip()))
        rounds_line("per round, verdict -> previous ms", back, "back")
        print_timeline("ROLLBACK", back_err)
        print("  after the verdict, from the journal (median ms since the health:failed record):")
        keys, seen = [], {}
        for rec in back_journal:
            count = {}
            for k, t in rec:
                count[k] = count.get(k, 0) + 1
                k = k if count[k] == 1 else "%s (#%d)" % (k, count[k])
                if k not in seen:
                    seen[k] = []
                    keys.append(k)
                seen[k].append(t)
        for k in keys:
            print("    %6.0f  %s" % (statistics.median(seen[k]) * 1000, k))
        sys.stdout.flush()

    # ---------------------------------------------------------- NO_RESTART
    if section("norestart"):
        times = []
        for r in range(ROUNDS):
            vs.put("README.md", "# the stack\n\nround %d\n" % r)
            vs.commit("docs %d" % r)
            rc, dt, out, err = run([VD, "-C", vs.dir, "-p", vs.project, "--state-dir", vd.state, "deploy"],
                                   env=vs.env, check=False)
            if rc or "NO_RESTART" not in err:
                raise Broke("NO_RESTART deploy exited %d:\n%s%s" % (rc, out, err))
            times.append(dt)
        mt = statistics.median(times)
        rounds_line("NO_RESTART per round ms", [{"t": t} for t in times], "t")
        print("NO_RESTART, %d rounds: voxdeploy deploy median %s (goal <= 100 ms: %s)"
              % (ROUNDS, ms(mt).strip(), "meets" if mt <= 0.1 else "MISSES"))
        sys.stdout.flush()

    if section("cadence"):
        bench_cadence(root, projects[2], projects[3])


# ------------------------------------------------------------------ upstream's cadence

CADENCE_HEALTHCHECK = ("HEALTHCHECK --interval=30s --start-period=60s --timeout=10s --retries=3 "
                       "CMD wget -q -O- http://127.0.0.1:8080/health || exit 1")
CADENCE_PG = """    healthcheck:
      test: ["CMD-SHELL", "pg_isready -U vd -h 127.0.0.1"]
      interval: 30s
      timeout: 10s
      start_period: 30s
      retries: 3
"""


def cadence_stack(root, project, git):
    st = Stack(root, project, git)
    st.put("Dockerfile", DOCKERFILE.format(busybox=BUSYBOX).replace(
        DOCKERFILE.splitlines()[4], CADENCE_HEALTHCHECK))
    compose = COMPOSE_FILE.format(busybox=BUSYBOX, postgres=POSTGRES)
    start = compose.index("    healthcheck:\n")
    end = compose.index("    labels:", start)
    st.put("docker-compose.yml", compose[:start] + CADENCE_PG + compose[end:])
    if git:
        st.commit("upstream's HEALTHCHECK cadence")
    return st


def bench_cadence(root, vproject, cproject):
    if not os.access(COMPOSE_V2, os.X_OK):
        print("CADENCE: skipped, no compose v2 at %s (../shared/tools/compose-v2.sh installs one; "
              "VD_COMPOSE_V2 names another)" % COMPOSE_V2)
        return
    rounds = max(3, ROUNDS - 2)
    vs = cadence_stack(root, vproject, git=True)
    cs = cadence_stack(root, cproject, git=False)
    first = {"c": [], "v": []}
    app = {"c": [], "v": []}

    def v2(*args):
        return cs.sh(COMPOSE_V2, "-p", cs.project, *args)

    def vdeploy(state):
        rc, dt, out, err = run([VD, "-C", vs.dir, "-p", vs.project, "--state-dir", state, "deploy"],
                               env=vs.env, check=False)
        if rc:
            raise Broke("voxdeploy deploy exited %d:\n%s%s" % (rc, out, err))
        return dt, err

    for r in range(rounds):
        log("CADENCE round %d/%d" % (r + 1, rounds))
        cleanup([vs.project, cs.project], set())
        state = os.path.join(root, "cadence-state-%d" % r)
        order = ("c", "v") if r % 2 == 0 else ("v", "c")
        for who in order:
            if who == "c":
                first["c"].append(v2("up", "-d", "--build", "--wait")[1])
            else:
                dt, err = vdeploy(state)
                if "FULL_RESTART" not in err:
                    raise Broke("voxdeploy's first deploy was not a FULL_RESTART:\n" + err)
                first["v"].append(dt)
        cur = "init" if r == 0 else "cadence-%d" % (r - 1)
        wait_answer(vs.app_port, cur)
        wait_answer(cs.app_port, cur)
        for who in order:
            stack = cs if who == "c" else vs
            stack.put("src/version", "cadence-%d\n" % r)
            if who == "c":
                t0 = time.time()
                v2("build", "app")
                v2("up", "-d", "--no-deps", "--wait", "app")
                app["c"].append(time.time() - t0)
            else:
                stack.commit("version cadence-%d" % r)
                dt, err = vdeploy(state)
                if "APP_ONLY" not in err:
                    raise Broke("voxdeploy did not plan APP_ONLY:\n" + err)
                app["v"].append(dt)
        wait_answer(vs.app_port, "cadence-%d" % r)
        wait_answer(cs.app_port, "cadence-%d" % r)
    version = run([COMPOSE_V2, "version", "--short"], check=False)[2].strip()
    print("CADENCE (interval 30 s, start_period 60 s / 30 s), %d rounds, command time (medians); "
          "compose v2 %s" % (rounds, version))
    for label, res in (("first deploy", first), ("APP_ONLY", app)):
        print("  %-14s compose v2 %s   voxdeploy %s" % (label, ms(statistics.median(res["c"])),
                                                        ms(statistics.median(res["v"]))))
        rounds_line("  %s compose v2 per round ms" % label, [{"t": t} for t in res["c"]], "t")
        rounds_line("  %s voxdeploy per round ms" % label, [{"t": t} for t in res["v"]], "t")
    ratio_line("first deploy v/compose-v2", statistics.median(first["v"]), statistics.median(first["c"]), 0.15)
    ratio_line("APP_ONLY v/compose-v2", statistics.median(app["v"]), statistics.median(app["c"]), 0.25)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
