#!/usr/bin/env python3
"""Benchmark: an APP_ONLY deploy on a Swarm, voxdeploy against the docker
CLI's `service update --image` and `stack deploy`, in one run on one machine.

The swarm is tests/swarm/cluster's (made for the run and removed at its end,
pass or fail): a manager PREFIX-m1, workers PREFIX-w1 and PREFIX-w2 (nested
Docker 20.10 engines) and a registry PREFIX-reg:5000 with htpasswd auth.  The
stack is tests/integration/it_stack.c's without PostgreSQL: one service
`app` built FROM voxdeploy-test/busybox:1 (httpd serving /www, with `health`
and `version` files) and 2 replicas, one per worker (node.role==worker,
max_replicas_per_node 1), endpoint_mode dnsrr, its port published in host
mode, a HEALTHCHECK (compose `healthcheck:`) that fetches /health every 1 s,
stop_grace_period 1 s, and the same update config for everyone:

    update_config: {parallelism: 1, monitor: 1s, order: stop-first,
                    failure_action: pause}

Each peer has a project of its own on the one cluster, of that same shape,
so that none disturbs another's service (their tasks share the workers; only
one peer is measured at a time, the others' services idle):

  (v) voxdeploy       project vdbv, port 18080: a git repository (the
                      Dockerfile, src/, docker-compose.yml with `build: .`,
                      voxdeploy.yml with deploy.backend swarm, the registry
                      with ${REGISTRY_PASSWORD} from the git-ignored .env, and
                      HTTP probes of /health on both workers, stable_for 2s);
                      first deployed untimed, then per round a commit of
                      src/version and `voxdeploy -C REPO -H MANAGER
                      --state-dir DIR deploy --json` (an APP_ONLY: build on
                      the manager, push, update, converge, health proof)
  (u) service update  project vdbu, port 18081, made by `docker stack deploy`
                      of the same service with `image:`; per round, untimed,
                      an image with a new src/version is built on the manager
                      (`docker build -` of a tar of the same Dockerfile and
                      src/), tagged PREFIX-reg:5000/vdbu-app:rN and pushed by
                      the manager's CLI; then, timed, inside the manager:
                      `docker service update --image IMAGE --with-registry-auth
                      vdbu_app` (the CLI waits until the service converged,
                      and then the update config's monitor, 1 s)
  (s) stack deploy    project vdbs, port 18082; per round the same kind of
                      image (vdbs-app:rN, built and pushed untimed) and the
                      compose file changed to it; timed, inside the manager:
                      `docker stack deploy -c FILE --with-registry-auth vdbs`,
                      which returns once the spec is sent

What is measured, per peer and round (wall clock of this machine; the nodes
are containers of it, with its clock):

  voxdeploy's converge   from its `update` begin to its `converge` done of
                         service app, the elapsed_ms of its --json progress
                         lines (its build, push and health proof excluded);
                         its whole command time is printed for information
  service update         the wall time of `docker exec PREFIX-m1 docker
                         service update ...` (the exec's own floor, `docker
                         exec PREFIX-m1 true`, is printed for information)
  stack deploy           from the command's start until the service
                         converged, polled (below); the command's own time is
                         printed for information

Converged, polled every 100 ms on the manager's Engine API from this machine,
the same test for every peer: UpdateStatus.State is "completed" with a
StartedAt other than before the command, the service's image is not the one
before, and 2 tasks run (desired and actual state running; a task with a
HEALTHCHECK is running only once healthy) with the service's image.  The
poller runs during every peer's command; its time is printed for all three
(for voxdeploy counted from its `update` begin), so the peers can also be
compared on the same yardstick.

Failed requests: during each timed command (for stack deploy until the
service converged) two threads GET http://W1_IP:PORT/version and
http://W2_IP:PORT/version of that peer's project every 50 ms, a new
connection each, 1 s timeout; a failure is a refused or reset connection, a
timeout or an answer other than 200.  Per peer and round: failures of
requests, and the longest window without a 200 answer on either node.  After
each command the new version must answer on both workers (untimed check).

ROUNDS rounds (default 3), the peers interleaved in each round, the first of
them rotating; per round the times, then medians, the ratios v/service-update
and v/stack-deploy, and the goal line

    voxdeploy converge <= 0.9 x docker service update  PASS|MISS (ratio)

A benchmark reports, it does not judge: exit 0 when it ran (goal met or
missed), 2 when something broke (the cluster, a command, a check), 130 when
interrupted.  Progress goes to stderr ("bench: ...").  Everything is removed
at exit, also on failure, Ctrl-C or SIGTERM: the cluster (tests/swarm/cluster
down PREFIX: its containers, network and volumes, with every image, service
and task inside them) and the temporary directory (the repository, the state
dir, the cluster's log).  Nothing is made on this machine's engine but the
cluster.

Needs root, the engine on this machine, the fixture images
(tests/fixtures/build-images) and what tests/swarm/cluster needs (its node
image is made when missing, which takes minutes the first time).

usage: tests/bench/swarm.py [BUILD_DIR] [ROUNDS]      (ROUNDS default 3)
"""
import http.client
import io
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import traceback
import urllib.parse

if len(sys.argv) > 3 or any(a.startswith("-") for a in sys.argv[1:]):
    print("usage: tests/bench/swarm.py [BUILD_DIR] [ROUNDS]", file=sys.stderr)
    sys.exit(2)
BUILD = sys.argv[1] if len(sys.argv) > 1 else "build"
ROUNDS = max(1, int(sys.argv[2]) if len(sys.argv) > 2 else 3)
VD = os.path.abspath(os.path.join(BUILD, "controller", "voxdeploy"))
HERE = os.path.dirname(os.path.abspath(__file__))
CLUSTER = os.path.join(HERE, "..", "swarm", "cluster")
DOCKER = "/usr/bin/docker" if os.access("/usr/bin/docker", os.X_OK) else "docker"
BUSYBOX = os.environ.get("VD_TEST_BUSYBOX_IMAGE", "voxdeploy-test/busybox:1")
GOAL = 0.9
REPLICAS = 2
PROBE_S = 0.050          # the failed-request client's period, per node
PROBE_TIMEOUT = 1.0
POLL_S = 0.100           # the convergence poller's period
CMD_TIMEOUT = 300        # longest command (a deploy, an update)
CONVERGE_LIMIT = 180     # longest wait for a service to converge
PEERS = ("v", "u", "s")
NAMES = {"v": "voxdeploy deploy", "u": "docker service update", "s": "docker stack deploy"}
PROJECTS = {"v": "vdbv", "u": "vdbu", "s": "vdbs"}
PORTS = {"v": 18080, "u": 18081, "s": 18082}
UPDATE_CONFIG = "{parallelism: 1, monitor: 1s, order: stop-first, failure_action: pause}"


class Broke(Exception):
    pass


def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def run(cmd, cwd=None, env=None, check=True, stdin=None, timeout=CMD_TIMEOUT):
    """(rc, seconds, stdout, stderr); Broke when check and it failed."""
    t0 = time.time()
    try:
        p = subprocess.run(cmd, cwd=cwd, env=env, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=timeout)
    except subprocess.TimeoutExpired:
        raise Broke("%s did not end within %d s" % (" ".join(cmd), timeout))
    dt = time.time() - t0
    out, err = p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")
    if check and p.returncode:
        raise Broke("%s exited %d:\n%s%s" % (" ".join(cmd), p.returncode, out[-3000:], err[-3000:]))
    return p.returncode, dt, out, err


# ------------------------------------------------------------------ the cluster


class Cluster:
    def __init__(self, prefix, root):
        self.prefix = prefix
        self.log_path = os.path.join(root, "cluster.log")
        self.up_ = False
        self.env = {}

    def node(self, n):
        return "%s-%s" % (self.prefix, n)

    def up(self):
        log("making the swarm %s (tests/swarm/cluster up; log %s)" % (self.prefix, self.log_path))
        self.up_ = True     # whatever up leaves, down removes
        with open(self.log_path, "ab") as lf:
            p = subprocess.run(["bash", CLUSTER, "up", self.prefix], stdout=subprocess.PIPE, stderr=lf,
                               timeout=1800)
        out = p.stdout.decode(errors="replace")
        for line in out.splitlines():
            k, eq, v = line.partition("=")
            if eq:
                if len(v) >= 2 and v[0] == v[-1] and v[0] in "\"'":
                    v = v[1:-1]
                self.env[k.strip()] = v
        if p.returncode or not self.env.get("VD_SWARM_MANAGER") or not self.env.get("VD_SWARM_REGISTRY"):
            with open(self.log_path, errors="replace") as f:
                tail = "".join(f.readlines()[-30:])
            raise Broke("tests/swarm/cluster up %s exited %d; the end of its log:\n%s"
                        % (self.prefix, p.returncode, tail))
        if "\\" in self.env.get("VD_SWARM_REGISTRY_PASSWORD", ""):
            raise Broke("the registry password is printed shell-quoted; this script reads it plain")
        self.manager = self.env["VD_SWARM_MANAGER"]
        self.registry = self.env["VD_SWARM_REGISTRY"]
        self.user = self.env.get("VD_SWARM_REGISTRY_USER", "vdtest")
        self.password = self.env["VD_SWARM_REGISTRY_PASSWORD"]
        u = urllib.parse.urlparse(self.manager.replace("tcp://", "http://", 1))
        self.api_host, self.api_port = u.hostname, u.port
        self.w1, self.w2 = self.ip("w1"), self.ip("w2")
        log("swarm up: manager %s, registry %s, workers %s %s" % (self.manager, self.registry, self.w1, self.w2))

    def ip(self, n):
        _, _, out, _ = run([DOCKER, "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
                            self.node(n)])
        ip = out.strip()
        if not ip:
            raise Broke("no address for %s" % self.node(n))
        return ip

    def down(self):
        if not self.up_:
            return
        with open(self.log_path, "ab") as lf:
            p = subprocess.run(["bash", CLUSTER, "down", self.prefix], stdout=lf, stderr=lf, timeout=600)
        if p.returncode:
            log("tests/swarm/cluster down %s exited %d" % (self.prefix, p.returncode))
        else:
            log("swarm %s removed" % self.prefix)
        self.up_ = False

    def exec_argv(self, *cmd, stdin=False):
        return [DOCKER, "exec"] + (["-i"] if stdin else []) + [self.node("m1")] + list(cmd)

    def m1(self, *cmd, stdin=None, check=True, timeout=CMD_TIMEOUT):
        """A command inside the manager (its docker CLI)."""
        return run(self.exec_argv(*cmd, stdin=stdin is not None), stdin=stdin, check=check, timeout=timeout)

    def api(self, path):
        c = http.client.HTTPConnection(self.api_host, self.api_port, timeout=10)
        try:
            c.request("GET", path)
            r = c.getresponse()
            body = r.read()
        finally:
            c.close()
        if r.status != 200:
            raise Broke("GET %s: %d %s" % (path, r.status, body[:300]))
        return json.loads(body)


# ------------------------------------------------------------------ the stack

DOCKERFILE = """FROM {busybox}
COPY src /www
CMD ["httpd", "-f", "-p", "8080", "-h", "/www"]
"""

SERVICE = """services:
  app:
{image}    stop_grace_period: 1s
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/health"]
      interval: 1s
      timeout: 3s
      retries: 3
    ports: [{{target: 8080, published: {port}, mode: host}}]
    deploy:
      replicas: {replicas}
      endpoint_mode: dnsrr
      placement: {{constraints: [node.role==worker], max_replicas_per_node: 1}}
      update_config: {update}
"""


def compose_vd(project, port):
    """voxdeploy's file: the project's name, the app built."""
    return "name: %s\n" % project + SERVICE.format(image="    build: .\n", port=port, replicas=REPLICAS,
                                                   update=UPDATE_CONFIG)


def compose_cli(image, port):
    """docker stack deploy's (20.10: a version key, no name key): the image."""
    return 'version: "3.8"\n' + SERVICE.format(image="    image: %s\n" % image, port=port, replicas=REPLICAS,
                                               update=UPDATE_CONFIG)


def vd_yml(cl, port):
    return ("health:\n"
            "  deadline: 120s\n"
            "  stable_for: 2s\n"
            "  http:\n"
            "    - {name: web1, service: app, url: \"http://%s:%d/health\", expect_status: [200]}\n"
            "    - {name: web2, service: app, url: \"http://%s:%d/health\", expect_status: [200]}\n"
            "deploy:\n"
            "  backend: swarm\n"
            "  registry: {address: \"%s\", username: %s, password: \"${REGISTRY_PASSWORD}\"}\n"
            % (cl.w1, port, cl.w2, port, cl.registry, cl.user))


GIT_ENV = dict(os.environ, GIT_AUTHOR_NAME="bench", GIT_AUTHOR_EMAIL="bench@example.invalid",
               GIT_COMMITTER_NAME="bench", GIT_COMMITTER_EMAIL="bench@example.invalid")


class VdRepo:
    def __init__(self, root, cl):
        self.dir = os.path.join(root, "vdbv")
        self.state = os.path.join(root, "vdbv-state")
        self.cl = cl
        p = PROJECTS["v"]
        write(os.path.join(self.dir, "Dockerfile"), DOCKERFILE.format(busybox=BUSYBOX))
        write(os.path.join(self.dir, "src", "health"), "ok\n")
        write(os.path.join(self.dir, "README.md"), "# the benchmark's stack\n")
        write(os.path.join(self.dir, "docker-compose.yml"), compose_vd(p, PORTS["v"]))
        write(os.path.join(self.dir, "voxdeploy.yml"), vd_yml(cl, PORTS["v"]))
        write(os.path.join(self.dir, ".gitignore"), ".env\n")
        write(os.path.join(self.dir, ".env"), "REGISTRY_PASSWORD=%s\n" % cl.password)
        run(["git", "init", "-q", "-b", "main", "."], cwd=self.dir, env=GIT_ENV)

    def commit(self, version):
        write(os.path.join(self.dir, "src", "version"), version)
        run(["git", "add", "-A"], cwd=self.dir, env=GIT_ENV)
        run(["git", "commit", "-q", "-m", "version %s" % version], cwd=self.dir, env=GIT_ENV)

    def argv(self):
        return [VD, "-C", self.dir, "-H", self.cl.manager, "--state-dir", self.state, "deploy", "--json"]


def progress(out):
    """voxdeploy --json's lines as objects (what is not JSON is skipped)."""
    recs = []
    for line in out.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                recs.append(json.loads(line))
            except ValueError:
                pass
    return recs


def vd_times(recs):
    """(update begin s, converge done s, type) from voxdeploy's progress lines
    (elapsed_ms since its start), of service app."""
    ub = cd = None
    kind = None
    for r in recs:
        if r.get("service") == "app" and r.get("step") == "update" and r.get("state") == "begin" and ub is None:
            ub = r.get("elapsed_ms")
        if r.get("service") == "app" and r.get("step") == "converge" and r.get("state") == "done":
            cd = r.get("elapsed_ms")
        if "result" in r:
            kind = r.get("type")
    if ub is None or cd is None:
        raise Broke("no update begin / converge done of service app in voxdeploy's progress:\n%s"
                    % "\n".join(json.dumps(r) for r in recs))
    return ub / 1000.0, cd / 1000.0, kind


def context_tar(version):
    """The app's build context (Dockerfile, src/) as a tar, for `docker build -`."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for name, text in (("Dockerfile", DOCKERFILE.format(busybox=BUSYBOX)), ("src/health", "ok\n"),
                           ("src/version", version)):
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = int(time.time())
            info.mode = 0o644
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def make_image(cl, peer, rnd, version):
    """Untimed: an image of the app with src/version = version, built on the
    manager and pushed to the registry by its CLI; its reference."""
    ref = "%s/%s-app:r%d" % (cl.registry, PROJECTS[peer], rnd)
    cl.m1("docker", "build", "-q", "-t", ref, "-", stdin=context_tar(version))
    cl.m1("docker", "push", "-q", ref)
    return ref


def put_on_manager(cl, path, text):
    cl.m1("sh", "-c", "mkdir -p \"$(dirname %s)\" && cat > %s" % (path, path), stdin=text.encode())


# ------------------------------------------------------------------ what runs


def service(cl, name):
    return cl.api("/services/%s" % urllib.parse.quote(name))


def service_image(svc):
    return svc["Spec"]["TaskTemplate"]["ContainerSpec"]["Image"]


def update_started(svc):
    return (svc.get("UpdateStatus") or {}).get("StartedAt")


def converged(cl, name, before):
    """The common test: (done, why not).  before: (update StartedAt, image)
    of the service before the command, or None (a new service)."""
    svc = service(cl, name)
    us = svc.get("UpdateStatus") or {}
    image = service_image(svc)
    if before is not None:
        if image == before[1]:
            return False, "the image is the previous one"
        if us.get("StartedAt") == before[0]:
            return False, "no new update (UpdateStatus %s)" % us.get("State")
        if us.get("State") != "completed":
            if us.get("State") in ("paused", "rollback_started", "rollback_paused", "rollback_completed"):
                raise Broke("%s: update %s: %s" % (name, us.get("State"), us.get("Message")))
            return False, "UpdateStatus %s" % us.get("State")
    filt = urllib.parse.quote(json.dumps({"service": [name]}))
    tasks = cl.api("/tasks?filters=%s" % filt)
    ok = [t for t in tasks if t.get("DesiredState") == "running" and t["Status"]["State"] == "running"
          and t["Spec"]["ContainerSpec"]["Image"] == image]
    if len(ok) != REPLICAS:
        return False, "%d of %d tasks running the service's image" % (len(ok), REPLICAS)
    return True, ""


def wait_converged(cl, name, before, limit=CONVERGE_LIMIT):
    deadline = time.time() + limit
    while True:
        done, why = converged(cl, name, before)
        if done:
            return time.time()
        if time.time() > deadline:
            raise Broke("%s did not converge within %d s: %s" % (name, limit, why))
        time.sleep(POLL_S)


class Poller(threading.Thread):
    """The convergence test every POLL_S from the start until it holds: at
    holds the time it held first."""

    def __init__(self, cl, name, before):
        super().__init__(daemon=True)
        self.cl, self.name, self.before = cl, name, before
        self.at = None
        self.error = None
        self.why = ""
        self.halt = threading.Event()

    def run(self):
        while not self.halt.is_set():
            try:
                done, self.why = converged(self.cl, self.name, self.before)
            except Exception as e:      # noqa: BLE001  reported by the caller
                self.error = e
                return
            if done:
                self.at = time.time()
                return
            self.halt.wait(POLL_S)

    def result(self, limit):
        """The time it converged, waiting up to limit seconds more."""
        self.join(limit)
        if self.error:
            raise Broke(str(self.error))
        if self.at is None:
            self.halt.set()
            raise Broke("%s did not converge: %s" % (self.name, self.why))
        return self.at


class Probe(threading.Thread):
    """GET http://IP:PORT/version every PROBE_S: requests, failures and the
    times of the answers (ok or not)."""

    def __init__(self, ip, port):
        super().__init__(daemon=True)
        self.ip, self.port = ip, port
        self.halt = threading.Event()
        self.samples = []       # (t, ok, what)

    def once(self):
        c = http.client.HTTPConnection(self.ip, self.port, timeout=PROBE_TIMEOUT)
        try:
            c.request("GET", "/version", headers={"Connection": "close"})
            r = c.getresponse()
            body = r.read()
            return r.status == 200, "%d %s" % (r.status, body.decode(errors="replace").strip()[:40])
        except (OSError, http.client.HTTPException) as e:
            return False, type(e).__name__
        finally:
            c.close()

    def run(self):
        nxt = time.time()
        while not self.halt.is_set():
            ok, what = self.once()
            self.samples.append((time.time(), ok, what))
            nxt += PROBE_S
            now = time.time()
            if nxt < now:
                nxt = now
            self.halt.wait(nxt - now)


class Probes:
    def __init__(self, cl, port):
        self.p = [Probe(cl.w1, port), Probe(cl.w2, port)]

    def start(self):
        for p in self.p:
            p.start()

    def stop(self):
        for p in self.p:
            p.halt.set()
        for p in self.p:
            p.join(PROBE_TIMEOUT * 3)
        n = sum(len(p.samples) for p in self.p)
        failed = sum(1 for p in self.p for s in p.samples if not s[1])
        return {"requests": n, "failed": failed, "gap": max(longest_gap(p.samples) for p in self.p),
                "kinds": sorted({s[2] for p in self.p for s in p.samples if not s[1]})}


def longest_gap(samples):
    """The longest time without a 200 answer: from the last ok answer before a
    run of failures (or its first failure) to the next ok answer (or the end)."""
    best, last_ok, start = 0.0, None, None
    for t, ok, _ in samples:
        if ok:
            if start is not None:
                best = max(best, t - start)
                start = None
            last_ok = t
        elif start is None:
            start = last_ok if last_ok is not None else t
    if start is not None and samples:
        best = max(best, samples[-1][0] - start)
    return best


def wait_version(cl, port, want, limit=60):
    """Untimed: both workers answer /version with want."""
    deadline = time.time() + limit
    got = {}
    while True:
        for ip in (cl.w1, cl.w2):
            p = Probe(ip, port)
            ok, what = p.once()
            got[ip] = what
        if all(v == "200 %s" % want for v in got.values()):
            return
        if time.time() > deadline:
            raise Broke("port %d does not answer version %s on both workers within %d s: %s"
                        % (port, want, limit, got))
        time.sleep(0.2)


# ------------------------------------------------------------------ the peers


def measure_vd(cl, repo, version):
    name = PROJECTS["v"] + "_app"
    svc = service(cl, name)
    before = (update_started(svc), service_image(svc))
    repo.commit(version)
    probes = Probes(cl, PORTS["v"])
    poller = Poller(cl, name, before)
    probes.start()
    poller.start()
    t0 = time.time()
    rc, dt, out, err = run(repo.argv(), check=False)
    t_end = time.time()
    stats = probes.stop()
    if rc:
        poller.halt.set()
        raise Broke("voxdeploy deploy exited %d:\n%s%s" % (rc, out[-4000:], err[-3000:]))
    if err.strip():
        log("voxdeploy deploy --json wrote to stderr:\n%s" % err.rstrip()[-3000:])
    ub, cd, kind = vd_times(progress(out))
    if kind != "APP_ONLY":
        raise Broke("voxdeploy deployed %s, not APP_ONLY:\n%s" % (kind, out[-3000:]))
    at = poller.result(30)
    wait_version(cl, PORTS["v"], version)
    return {"time": cd - ub, "command": dt, "poll": at - (t0 + ub), "update_begin": ub,
            "after_cmd": t_end - at, **stats}


def measure_update(cl, version, rnd):
    name = PROJECTS["u"] + "_app"
    ref = make_image(cl, "u", rnd, version)
    svc = service(cl, name)
    before = (update_started(svc), service_image(svc))
    probes = Probes(cl, PORTS["u"])
    poller = Poller(cl, name, before)
    probes.start()
    poller.start()
    t0 = time.time()
    rc, dt, out, err = cl.m1("docker", "service", "update", "--image", ref, "--with-registry-auth", name,
                             check=False)
    stats = probes.stop()
    if rc:
        poller.halt.set()
        raise Broke("docker service update exited %d:\n%s%s" % (rc, out[-3000:], err[-3000:]))
    at = poller.result(30)
    wait_version(cl, PORTS["u"], version)
    return {"time": dt, "command": dt, "poll": at - t0, **stats}


def measure_stack(cl, version, rnd, path):
    name = PROJECTS["s"] + "_app"
    ref = make_image(cl, "s", rnd, version)
    put_on_manager(cl, path, compose_cli(ref, PORTS["s"]))
    svc = service(cl, name)
    before = (update_started(svc), service_image(svc))
    probes = Probes(cl, PORTS["s"])
    poller = Poller(cl, name, before)
    probes.start()
    poller.start()
    t0 = time.time()
    rc, dt, out, err = cl.m1("docker", "stack", "deploy", "-c", path, "--with-registry-auth", PROJECTS["s"],
                             check=False)
    if rc:
        poller.halt.set()
        probes.stop()
        raise Broke("docker stack deploy exited %d:\n%s%s" % (rc, out[-3000:], err[-3000:]))
    try:
        at = poller.result(CONVERGE_LIMIT)
    finally:
        stats = probes.stop()
    wait_version(cl, PORTS["s"], version)
    return {"time": at - t0, "command": dt, "poll": at - t0, **stats}


def setup(cl, root, nonce):
    """Untimed: the registry login on the manager, the three projects deployed
    and converged, each answering its first version."""
    cl.m1("docker", "login", "-u", cl.user, "--password-stdin", cl.registry, stdin=cl.password.encode())
    repo = VdRepo(root, cl)
    v0 = "v-0-%s" % nonce
    repo.commit(v0)
    log("first deploy of %s by voxdeploy" % PROJECTS["v"])
    rc, dt, out, err = run(repo.argv(), check=False)
    if rc:
        raise Broke("voxdeploy's first deploy exited %d:\n%s%s" % (rc, out[-4000:], err[-3000:]))
    wait_converged(cl, PROJECTS["v"] + "_app", None)
    wait_version(cl, PORTS["v"], v0)
    paths = {}
    for k in ("u", "s"):
        v = "%s-0-%s" % (k, nonce)
        ref = make_image(cl, k, 0, v)
        paths[k] = "/tmp/vdbench/%s.yml" % PROJECTS[k]
        put_on_manager(cl, paths[k], compose_cli(ref, PORTS[k]))
        log("first deploy of %s by docker stack deploy" % PROJECTS[k])
        cl.m1("docker", "stack", "deploy", "-c", paths[k], "--with-registry-auth", PROJECTS[k])
        wait_converged(cl, PROJECTS[k] + "_app", None)
        wait_version(cl, PORTS[k], v)
    return repo, paths


def update_configs(cl):
    """Each project's service's UpdateConfig as the swarm stores it: a line
    saying they are the same, or each of them."""
    got = {k: service(cl, PROJECTS[k] + "_app")["Spec"].get("UpdateConfig") for k in PEERS}
    if all(got[k] == got["v"] for k in PEERS):
        return "the same on the three services: %s" % json.dumps(got["v"], sort_keys=True)
    return "DIFFERENT: " + "; ".join("%s %s" % (PROJECTS[k], json.dumps(got[k], sort_keys=True)) for k in PEERS)


def exec_floor(cl, n=5):
    ts = [cl.m1("true")[1] for _ in range(n)]
    return statistics.median(ts)


def fmt_failed(r):
    return "%d/%d failed, longest gap %.2f s" % (r["failed"], r["requests"], r["gap"])


def bench(cl, root):
    nonce = "%x" % (int(time.time() * 1000) & 0xffffffff)
    repo, paths = setup(cl, root, nonce)
    uc0 = update_configs(cl)
    log("update config before the rounds: %s" % uc0)
    floor = exec_floor(cl)
    log("docker exec %s true: %.0f ms median (the exec's floor)" % (cl.node("m1"), floor * 1000))
    res = {k: [] for k in PEERS}
    for rnd in range(1, ROUNDS + 1):
        order = PEERS[(rnd - 1) % 3:] + PEERS[:(rnd - 1) % 3]
        for k in order:
            version = "%s-%d-%s" % (k, rnd, nonce)
            log("round %d/%d: %s (%s)" % (rnd, ROUNDS, NAMES[k], PROJECTS[k]))
            if k == "v":
                r = measure_vd(cl, repo, version)
            elif k == "u":
                r = measure_update(cl, version, rnd)
            else:
                r = measure_stack(cl, version, rnd, paths["s"])
            res[k].append(r)
            log("  %.2f s (command %.2f s, converged by the poll after %.2f s); %s"
                % (r["time"], r["command"], r["poll"], fmt_failed(r)))
        v, u, s = (res[k][-1] for k in PEERS)
        print("round %d (order %s):" % (rnd, " ".join(order)))
        print("  voxdeploy converge     %6.2f s   (update begin -> converge done; command %.2f s, update begin "
              "at %.2f s; poll %.2f s)   %s" % (v["time"], v["command"], v["update_begin"], v["poll"], fmt_failed(v)))
        print("  docker service update  %6.2f s   (command; poll %.2f s)   %s" % (u["time"], u["poll"], fmt_failed(u)))
        print("  docker stack deploy    %6.2f s   (until converged; command %.2f s)   %s"
              % (s["time"], s["command"], fmt_failed(s)))
        sys.stdout.flush()

    def med(k, key):
        return statistics.median(r[key] for r in res[k])

    mv, mu, ms = med("v", "time"), med("u", "time"), med("s", "time")
    print("Summary: medians of %d rounds (seconds; peers interleaved, each on its own project of the same "
          "2-replica service, update_config %s)" % (ROUNDS, UPDATE_CONFIG))
    print("  %-54s %7.2f   per round: %s" % ("voxdeploy converge (update begin -> converge done)", mv,
                                             " ".join("%.2f" % r["time"] for r in res["v"])))
    print("  %-54s %7.2f   per round: %s" % ("docker service update --image (command)", mu,
                                             " ".join("%.2f" % r["time"] for r in res["u"])))
    print("  %-54s %7.2f   per round: %s" % ("docker stack deploy (until converged)", ms,
                                             " ".join("%.2f" % r["time"] for r in res["s"])))
    print("  ratio voxdeploy/service-update %.3f, voxdeploy/stack-deploy %.3f" % (mv / mu, mv / ms))
    print("  for information: voxdeploy's whole command (build, push, update, converge, health proof) %.2f s; "
          "by the same poll (service converged): voxdeploy %.2f, service update %.2f, stack deploy %.2f "
          "(v/u %.3f, v/s %.3f); docker exec floor %.0f ms"
          % (med("v", "command"), med("v", "poll"), med("u", "poll"), med("s", "poll"),
             med("v", "poll") / med("u", "poll"), med("v", "poll") / med("s", "poll"), floor * 1000))
    print("  failed requests (GET /version on both workers every %d ms), per round:" % (PROBE_S * 1000))
    for k in PEERS:
        kinds = sorted({x for r in res[k] for x in r["kinds"]})
        print("    %-22s %s   total %d/%d; longest gap median %.2f s%s"
              % (NAMES[k], "  ".join("%d/%d" % (r["failed"], r["requests"]) for r in res[k]),
                 sum(r["failed"] for r in res[k]), sum(r["requests"] for r in res[k]), med(k, "gap"),
                 ("; failures: " + ", ".join(kinds)) if kinds else ""))
    uc1 = update_configs(cl)
    print("  update config (Spec.UpdateConfig) before the rounds: %s" % uc0)
    if uc1 != uc0:
        print("  update config after the rounds: %s" % uc1)
    ratio = mv / mu
    print("voxdeploy converge <= %.1f x docker service update  %s (%.3f)"
          % (GOAL, "PASS" if ratio <= GOAL else "MISS", ratio))
    sys.stdout.flush()


def main():
    if not os.access(VD, os.X_OK):
        log("build voxdeploy first (%s missing)" % VD)
        sys.exit(2)
    if os.geteuid() != 0:
        log("needs root (tests/swarm/cluster does)")
        sys.exit(2)
    root = tempfile.mkdtemp(prefix="vd-bench-swarm-")
    cl = Cluster("vdbsw%d" % os.getpid(), root)
    rc = 0

    def on_signal(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        cl.up()
        bench(cl, root)
    except Broke as e:
        log("broke: %s" % e)
        rc = 2
    except KeyboardInterrupt:
        log("interrupted")
        rc = 130
    except Exception:           # noqa: BLE001  a bug here is a broken run too
        log("broke: %s" % traceback.format_exc().rstrip())
        rc = 2
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        try:
            cl.down()
        except Exception as e:  # noqa: BLE001
            log("cluster down %s: %s" % (cl.prefix, e))
            rc = rc or 2
        shutil.rmtree(root, ignore_errors=True)
        left = subprocess.run([DOCKER, "ps", "-aq", "--filter", "label=io.voxdeploy.swarm=%s" % cl.prefix],
                              capture_output=True, text=True).stdout.split()
        if left:
            log("left behind: %d containers of %s" % (len(left), cl.prefix))
            rc = rc or 2
    sys.exit(rc)


if __name__ == "__main__":
    main()
