"""The test bed as the benchmark uses it: tools/testbed/testbed, the docker CLI per host,
commands in a host's network namespace, and the link counters."""
import contextlib
import os
import subprocess
import sys
import time

REPO = os.path.realpath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
TESTBED = os.path.join(REPO, "tools", "testbed", "testbed")
DOCKER_CLI = "/usr/bin/docker"


def log(message):
    print(f"bench: {message}", file=sys.stderr, flush=True)


class BenchError(Exception):
    """A step of the benchmark failed; the message says which and why."""


def run(args, check=True, timeout=600, input=None):
    """Runs a command and returns its stdout (text); raises BenchError with its stderr."""
    try:
        p = subprocess.run(args, capture_output=True, text=True, timeout=timeout, input=input)
    except subprocess.TimeoutExpired as e:
        raise BenchError(f"{' '.join(map(str, args))} did not finish within {timeout} s") from e
    if check and p.returncode != 0:
        raise BenchError(f"{' '.join(map(str, args))} exited {p.returncode}: {p.stderr.strip()[-800:]}")
    return p.stdout


# The network namespace of each host, from the bed's env (a second bed, made with
# DOCKMIG_BED_INSTANCE=N, names them edge-a-N ...).
NETNS = {"edge-a": "edge-a", "edge-b": "edge-b"}


def ns(host):
    """The prefix that runs a command in HOST's network namespace (nsenter execs it, so a
    Popen's pid is the command's own)."""
    return ["nsenter", f"--net=/run/netns/{NETNS[host]}", "--"]


class Bed:
    def __init__(self):
        self.env = {}
        self.owned = False
        self._roots = {}

    @staticmethod
    def running():
        return subprocess.run([TESTBED, "env"], capture_output=True).returncode == 0

    def attach(self, mode, rate, cloud_rate, wait_seconds, docker_release=None):
        """mode auto: use a running bed (left up at the end) or bring up our own;
        reuse: a running bed or fail; own: wait until no bed runs, then bring up our own.
        docker_release: both edges' Docker release (`testbed up --docker`); a running bed
        must already run it."""
        if self.running():
            if mode in ("auto", "reuse"):
                log("using the test bed that is already running (it stays up afterwards)")
                self.env = self._parse(run([TESTBED, "env"]))
                self._check_release(docker_release)
                return
            log(f"a test bed is running (someone else's?); waiting up to {wait_seconds} s for it to go")
            deadline = time.monotonic() + wait_seconds
            while self.running():
                if time.monotonic() > deadline:
                    raise BenchError("a test bed is still running; --bed auto would use it")
                time.sleep(10)
        elif mode == "reuse":
            raise BenchError("--bed reuse: no test bed is running (tools/testbed/testbed up)")
        log(f"bringing up the test bed (edge link {rate}, cloud links {cloud_rate})")
        self.owned = True
        docker = ["--docker", f"edge-a={docker_release},edge-b={docker_release}"] if docker_release else []
        self.env = self._parse(run([TESTBED, "up", "--rate", rate, "--cloud-rate", cloud_rate, *docker],
                                   timeout=1800))

    def _check_release(self, docker_release):
        if not docker_release:
            return
        running = {h: self.env.get(f"EDGE_{h}_DOCKER_RELEASE", "20.10") for h in ("A", "B")}
        if any(r != docker_release for r in running.values()):
            raise BenchError(f"--docker {docker_release}: the running bed's edges run Docker "
                             f"{running['A']} and {running['B']}; take it down or use --bed own")

    def down(self):
        if self.owned:
            log("taking the test bed down")
            run([TESTBED, "down"], check=False, timeout=600)
            self.owned = False

    def _parse(self, text):
        env = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
        # dockmig's page server at the freeze must be the CRIU that the bed's dockerd runs.
        if "CRIU" in env:
            os.environ["DOCKMIG_CRIU"] = env["CRIU"]
        NETNS.update({"edge-a": env.get("EDGE_A_NETNS", "edge-a"), "edge-b": env.get("EDGE_B_NETNS", "edge-b")})
        return env

    def addr(self, host):
        return self.env[{"edge-a": "EDGE_A_ADDR", "edge-b": "EDGE_B_ADDR"}[host]]

    def sock(self, host):
        return self.env[{"edge-a": "EDGE_A_DOCKER", "edge-b": "EDGE_B_DOCKER"}[host]]

    def docker(self, host, *args, check=True, timeout=600):
        return run([DOCKER_CLI, "-H", self.sock(host), *args], check=check, timeout=timeout).strip()

    def docker_ok(self, host, *args):
        """Whether a docker command succeeds (e.g. `image inspect REF`: is the image there)."""
        return subprocess.run([DOCKER_CLI, "-H", self.sock(host), *args], capture_output=True).returncode == 0

    def docker_root(self, host):
        if host not in self._roots:
            self._roots[host] = self.docker(host, "info", "-f", "{{.DockerRootDir}}")
        return self._roots[host]

    def set_rate(self, rate, cloud_rate):
        run([TESTBED, "rate", rate, "--cloud-rate", cloud_rate])
        self.env["RATE"], self.env["CLOUD_RATE"] = rate, cloud_rate

    @contextlib.contextmanager
    def fast_links(self):
        """Links at 1 Gbit/s while images are prepared (not measured), then back."""
        rate, cloud_rate = self.env["RATE"], self.env["CLOUD_RATE"]
        self.set_rate("1gbit", "1gbit")
        try:
            yield
        finally:
            self.set_rate(rate, cloud_rate)

    def counters(self):
        text = run([TESTBED, "counters"])
        return {k: int(v) for k, v in (l.split("=", 1) for l in text.splitlines() if "=" in l)}

    def registry(self, action):
        run([TESTBED, "registry", action], timeout=120)

    def wait_tcp(self, host, addr, port, seconds=15):
        probe = f"import socket; socket.create_connection(('{addr}', {port}), timeout=1).close()"
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if subprocess.run([*ns(host), "/usr/bin/python3", "-c", probe], capture_output=True).returncode == 0:
                return
            time.sleep(0.1)
        raise BenchError(f"nothing listens on {addr}:{port} in {host} after {seconds} s")


def rate_bits(rate):
    """A tc rate (5mbit, 500kbit, 1gbit, 800bit) in bit/s."""
    for suffix, factor in (("gbit", 1e9), ("mbit", 1e6), ("kbit", 1e3), ("bit", 1)):
        if rate.endswith(suffix):
            return float(rate[: -len(suffix)]) * factor
    raise ValueError(f"not a tc rate: {rate}")
