"""The workloads: what runs in the container, its image, its published port, and its
client (tools/bench/client.py), each chosen to mirror a case in the papers."""
import json
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field

from bed import REPO, BenchError, log, ns, run

HERE = os.path.join(REPO, "tools", "bench")
CLIENT = os.path.join(HERE, "client.py")
IMAGES = os.path.join(HERE, "images.sh")
PYTHON = "/usr/bin/python3"


@dataclass
class Workload:
    name: str
    what: str
    port: int                 # published on the edge's address, same inside
    proto: str = "tcp"
    inner_port: int = 0       # the container's port, when it differs
    cmd: list = field(default_factory=list)   # for the bed's images (idle)
    build: bool = True        # an image of tools/bench/images.sh
    paper: str = ""           # the papers' matching case
    recipe: str = ""          # the images.sh recipe and client.py client, when not the name
    client_opts: list = field(default_factory=list)   # client.py options (ram's size)
    volume: str = ""          # where a named volume (bench-NAME-data) is mounted, if any
    _tag: str = ""

    @property
    def kind(self):
        return self.recipe or self.name

    def image(self, bed):
        if not self.build:
            return bed.env["IMAGE_TINY"]
        if not self._tag:  # a hash of what the image is made from: a changed recipe is a new image
            self._tag = run(["bash", IMAGES, "tag", self.kind]).strip()
        return f"{bed.env['REGISTRY']}/dockmig/bench-{self.kind}:{self._tag}"

    def publish(self):
        return f"{self.port}:{self.inner_port or self.port}/{self.proto}"

    def volume_name(self):
        return f"bench-{self.name}-data"

    def volume_args(self):
        """`docker run` (or `podman run`) options that mount the workload's volume."""
        return ["-v", f"{self.volume_name()}:{self.volume}"] if self.volume else []


WORKLOADS = {
    "idle": Workload(
        "idle", "busybox httpd answering a token; the papers' Busybox / no application", 8080,
        inner_port=80, build=False,
        cmd=["sh", "-c", "mkdir -p /www && cat /proc/sys/kernel/random/uuid > /www/token && exec httpd -f -p 80 -h /www"],
        paper="Ma Busybox; Machen no application"),
    "game": Workload("game", "UDP game state server, 20 Hz tick, 4 players", 7777, proto="udp",
                     paper="Machen game server"),
    "ram": Workload("ram", "redis-server holding 288 MiB of values, half random", 6379,
                    paper="Machen high RAM app"),
    # ram at other sizes, mostly text: memory that grows while the random share stays 1/8
    **{f"ram-{label}": Workload(f"ram-{label}", f"redis-server holding {label[:-1]} {label[-1].upper()}iB of values, "
                                "1/8 random, 7/8 text", 6379, recipe="ram",
                                client_opts=["--ram-mib", str(mib), "--random-pct", "12.5"], paper="Machen high RAM app")
       for label, mib in (("256m", 256), ("512m", 512), ("1g", 1024))},
    # ram that dirties memory faster than a 20 Mbps link carries it
    "ram-dirty": Workload("ram-dirty", "redis-server, 128 MiB half random, and a 32 MiB working set the client "
                          "rewrites with random values at 6 MB/s until the service moves", 6379, recipe="ram",
                          client_opts=["--ram-mib", "128", "--random-pct", "50", "--dirty-mib", "32",
                                       "--dirty-rate", "6"], paper="Machen high RAM app"),
    "video": Workload("video", "nginx streaming a 96 MiB media file, access log in the writable layer", 8081,
                      inner_port=80, paper="Machen video streaming"),
    "face": Workload("face", "Python + OpenCV Haar cascades on client frames (UDP)", 9000, proto="udp",
                     paper="Ma OpenFace; Machen face detection"),
    # a database with its data on a named volume: file-system and volume churn
    "postgres": Workload("postgres", "PostgreSQL 15, a 174 MiB table on a named volume, a client committing "
                         "numbered rows (2 KB each) every 50 ms", 5432, volume="/var/lib/postgresql/data",
                         client_opts=["--db-mib", "200"], paper="(none: issue 13's real service)"),
}


def build_images(bed, names):
    """Builds the workload images on edge-a (from cached application layers) and pushes
    them to the bed's registry."""
    for kind in dict.fromkeys(WORKLOADS[name].kind for name in names if WORKLOADS[name].build):
        log(f"image for {kind}")
        run(["bash", IMAGES, "image", kind, bed.sock("edge-a"), bed.env["REGISTRY"]], timeout=3600)


def media_file():
    return run(["bash", IMAGES, "media"], timeout=3600).strip()


def start_container(bed, wl, container):
    if wl.volume:  # made first, so that it carries the label cleanup looks for
        bed.docker("edge-a", "volume", "create", "--label", "dockmig.bench=1", wl.volume_name())
    args = ["run", "-d", "--name", container, "--label", "dockmig.bench=1", "-p", wl.publish(), *wl.volume_args(),
            wl.image(bed), *wl.cmd]
    bed.docker("edge-a", *args)


def client_args(bed, wl):
    args = [wl.kind, "--port", str(wl.port), *wl.client_opts]
    if wl.name == "video":
        args += ["--media", media_file()]
    return args


def wait_ready(bed, wl, seconds=60):
    p = subprocess.run([*ns("edge-a"), PYTHON, CLIENT, *client_args(bed, wl), "--addrs", bed.addr("edge-a"),
                        "--ready", str(seconds)], capture_output=True, text=True)
    if p.returncode != 0:
        raise BenchError(f"the {wl.name} service did not answer on edge-a: {p.stderr.strip()}")
    if wl.kind == "postgres":
        loaded = json.loads(run([*ns("edge-a"), PYTHON, CLIENT, "postgres-load", "--addrs", bed.addr("edge-a"),
                                 "--port", str(wl.port), *wl.client_opts], timeout=1800))
        log(f"postgres loaded: table {loaded['table_bytes'] >> 20} MiB, database {loaded['database_bytes'] >> 20} MiB")
    if wl.kind == "ram":
        loaded = json.loads(run([*ns("edge-a"), PYTHON, CLIENT, "ram-load", "--addrs", bed.addr("edge-a"),
                                 "--port", str(wl.port), *wl.client_opts], timeout=1800))
        log(f"redis loaded: {loaded['loaded_bytes'] >> 20} MiB of values, resident {loaded['used_memory_rss'] >> 20} MiB")


class Client:
    """A workload's client in edge-a's namespace, following the service to edge-b."""

    def __init__(self, bed, wl):
        self.proc = subprocess.Popen(
            [*ns("edge-a"), PYTHON, CLIENT, *client_args(bed, wl),
             "--addrs", f"{bed.addr('edge-a')},{bed.addr('edge-b')}"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            out, err = self.proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, err = self.proc.communicate()
        try:
            return json.loads(out.strip().splitlines()[-1])
        except (IndexError, ValueError):
            return {"state_ok": False, "state_error": f"the client printed no result: {err.strip()[-400:]}",
                    "answers": 0, "answered_by": {}, "max_gap_seconds": None}


def extra_check(wl, shell, client):
    """What a workload checks besides its client: video's access log, written in the
    writable layer before the migration, must have continued at the destination;
    postgres's client must have found every acknowledged row at the end.
    shell(command) runs a command in the container at the destination."""
    if wl.kind == "postgres":
        if client.get("rows_lost") is None:
            return f"the client could not count its rows at the end: {client.get('final_check_error')}"
        return f"{client['rows_lost']} acknowledged rows lost" if client["rows_lost"] else ""
    if wl.name != "video":
        return ""
    lines = int(shell("wc -l < /var/log/nginx/access.log"))
    if lines < client.get("answers", 0):
        # When the lines are from: before the freeze only, or after the restore only.
        span = shell("sed -n '1s/.*\\[\\(.*\\)\\].*/\\1/p;$s/.*\\[\\(.*\\)\\].*/\\1/p' /var/log/nginx/access.log")
        now = shell("date +%d/%b/%Y:%H:%M:%S")
        return (f"the access log has {lines} lines, fewer than the {client.get('answers')} answers the client got "
                f"(its first and last lines: {' and '.join(span.split(chr(10)))}; checked at {now})")
    return ""


def settle(seconds):
    time.sleep(seconds)
