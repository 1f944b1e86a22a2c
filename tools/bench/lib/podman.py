"""Podman as a peer: podman container checkpoint --export --compress zstd on edge-a, the
archive over the edge link, podman container restore --import on edge-b. The image is
loaded into both hosts' stores first (its layers never move; the archive holds the
writable layer's changes and the CRIU images), as for dockmig's warm case.

How it runs on these machines (../shared/ENVIRONMENT.md): each host's Podman is the
default paths (/var/lib/containers, /run/containers, /run/libpod, /var/lib/cni) bound over
per-host directories inside a persistent private mount namespace of that host, with its
network namespace; a containers.conf pins runc, ulimits this process may set, and the
private CRIU 4.2 on conmon's PATH; cgroupfs and file events (no systemd here).

Podman5 is the same handoff with Podman 5.8 from Debian forky (/opt/podman-5.8, installed
by tools/setup.sh): its own stores in other mount namespaces, runc 1.3, netavark on a
bridge and subnet of its own (4.3's CNI bridge may still be up in the same edge), and a
storage.conf of its own, so the host's Podman 4.3 and its configuration are not used.
"""
import os
import subprocess
import time

import systems
import workloads as W
from bed import NETNS, REPO, BenchError, log, ns, run

CRIU_BIN = os.path.join(REPO, "third_party", "criu", "bin")
PATH = f"{CRIU_BIN}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
MOUNTS = {"storage": "/var/lib/containers", "run": "/run/containers", "libpod": "/run/libpod", "cni": "/var/lib/cni"}
PORT = systems.AGENT_PORT + 2


class Podman:
    """Debian 12's Podman 4.3 (on PATH), CNI networking."""
    system = "podman"
    binary = "podman"
    mounts = MOUNTS
    bridge = "cni-podman0"

    def __init__(self, bed, data, criu_options):
        self.bed, self.data = bed, data          # data: a directory on disk for both stores
        self.nsdir = os.path.join(data, "ns")
        self.conf = os.path.join(data, "containers.conf")
        self.criu_options = criu_options         # CRIU's config lines for this run's dumps and restores
        self.criu_conf = os.path.join(data, "criu.conf")
        self.ready = False
        self.loaded = set()

    def pm(self, host, *args, check=True, timeout=600):
        return run(["nsenter", f"--mount={self.nsdir}/{host}", f"--net=/run/netns/{NETNS[host]}", "--",
                    "env", f"PATH={PATH}", f"CONTAINERS_CONF={self.conf}", *self.extra_env(),
                    self.binary, "--cgroup-manager", "cgroupfs", "--events-backend", "file", *args],
                   check=check, timeout=timeout).strip()

    def extra_env(self):
        return []

    def version(self):
        p = subprocess.run([self.binary, "--version"], capture_output=True, text=True)
        return p.stdout.strip() if p.returncode == 0 else ""

    def config(self, ulimits):
        """containers.conf: runc, file events, cgroupfs, ulimits, the private CRIU on conmon's PATH."""
        return (f'[containers]\ndefault_ulimits = {ulimits}\n'
                f'[engine]\nruntime = "runc"\nevents_logger = "file"\ncgroup_manager = "cgroupfs"\n'
                f'conmon_env_vars = ["PATH={PATH}"]\n[network]\nnetwork_backend = "cni"\n')

    def unavailable(self):
        """Sets Podman up on both edges; returns why it cannot run, or ''."""
        if not self.version():
            return f"{self.binary} is not installed (tools/setup.sh installs it)"
        try:
            self._setup()
            # A smoke test: Podman runs a container on each edge.
            for host in ("edge-a", "edge-b"):
                self._load(host, self.bed.env["IMAGE_TINY"])
                self.pm(host, "run", "--rm", self.bed.env["IMAGE_TINY"], "true", timeout=120)
        except BenchError as e:
            return str(e)
        return ""

    def _setup(self):
        os.makedirs(self.nsdir, exist_ok=True)
        nofile = int(subprocess.run(["sh", "-c", "ulimit -Hn"], capture_output=True, text=True).stdout.strip() or 1024)
        nofile = min(nofile, 1048576)
        nproc = int(open("/proc/sys/kernel/pid_max").read().strip())
        # runc hands CRIU the file a container's org.criu.config annotation names instead of
        # /etc/criu/runc.conf, which a dockmig dump of another bench may have lent out.
        with open(self.criu_conf, "w") as f:
            f.write(self.criu_options)
        with open(self.conf, "w") as f:
            f.write(self.config(f'["nofile={nofile}:{nofile}", "nproc={nproc}:{nproc}"]'))
        # Mount namespaces are kept by binding them to files on a private mount.
        if subprocess.run(["mountpoint", "-q", self.nsdir]).returncode != 0:
            run(["mount", "--bind", self.nsdir, self.nsdir])
            run(["mount", "--make-private", self.nsdir])
        for target in self.mounts.values():
            os.makedirs(target, exist_ok=True)   # mount points in the root namespace (empty)
        for host in ("edge-a", "edge-b"):
            nsfile = os.path.join(self.nsdir, host)
            # A file left by a run that did not clean up holds no namespace any more.
            if subprocess.run(["mountpoint", "-q", nsfile]).returncode != 0:
                open(nsfile, "w").close()
                run(["unshare", f"--mount={nsfile}", "--propagation", "private", "true"])
                for name, target in self.mounts.items():
                    src = os.path.join(self.data, host, name)
                    os.makedirs(src, exist_ok=True)
                    run(["nsenter", f"--mount={nsfile}", "mount", "--bind", src, target])
            # dockerd set the namespace's FORWARD policy to DROP; let traffic reach Podman's
            # bridge too (the rule goes where Docker keeps users' rules).
            rule = ["DOCKER-USER", "-o", self.bridge, "-j", "ACCEPT"]
            if subprocess.run([*ns(host), "iptables", "-C", *rule], capture_output=True).returncode != 0:
                run([*ns(host), "iptables", "-I", *rule])
        self.ready = True

    def _load(self, host, image):
        """Docker's image (from edge-a) into HOST's Podman store: same image ID, so that
        restore --import finds it and does not try to pull."""
        if (host, image) in self.loaded:
            return
        archive = os.path.join(self.data, "images", image.replace("/", "_").replace(":", "_") + ".tar")
        if not os.path.exists(archive):
            os.makedirs(os.path.dirname(archive), exist_ok=True)
            self.bed.docker("edge-a", "save", "-o", archive + ".tmp", image, timeout=1800)
            os.rename(archive + ".tmp", archive)
        self.pm(host, "load", "-q", "-i", archive, timeout=1800)
        self.loaded.add((host, image))

    def _clean(self):
        for host in ("edge-a", "edge-b"):
            self.pm(host, "rm", "-f", "-t", "0", "-a", check=False, timeout=120)
            self.pm(host, "volume", "prune", "-f", check=False, timeout=120)

    def run(self, wl):
        bed = self.bed
        container = f"bench-{wl.name}"
        systems.cleanup(bed)
        self._clean()
        for host in ("edge-a", "edge-b"):
            self._load(host, wl.image(bed))
        record = {"system": self.system, "case": "checkpoint --export", "ok": False, "error": "", "phases": {}}
        # A named volume is Podman's own (made by run); checkpoint --export carries its data.
        self.pm("edge-a", "run", "-d", "--name", container, "-p", wl.publish(), *wl.volume_args(),
                "--annotation", f"org.criu.config={self.criu_conf}", wl.image(bed), *wl.cmd)
        W.wait_ready(bed, wl)
        client = W.Client(bed, wl)
        time.sleep(systems.WARMUP)
        staging = os.path.join(self.data, "staging")
        os.makedirs(staging, exist_ok=True)
        archive_a, archive_b = os.path.join(staging, "export-a.tar.zst"), os.path.join(staging, "import-b.tar.zst")
        xfer = os.path.join(W.HERE, "xfer.py")
        phases = record["phases"]
        try:
            before = bed.counters()
            t0 = time.monotonic()
            record["started_at"] = time.time()
            self.pm("edge-a", "container", "checkpoint", "--export", archive_a, "--compress", "zstd", container,
                    timeout=3600)
            phases["checkpoint"] = {"seconds": round(time.monotonic() - t0, 3), "wire_bytes": 0,
                                    "raw_bytes": os.path.getsize(archive_a)}
            t = time.monotonic()
            recv = subprocess.Popen(["bash", "-c", f"{' '.join(ns('edge-b'))} {W.PYTHON} {xfer} recv {PORT} > {archive_b}"],
                                    stderr=subprocess.PIPE, text=True)
            run(["bash", "-c", f"{' '.join(ns('edge-a'))} {W.PYTHON} {xfer} send {bed.addr('edge-b')}:{PORT} < {archive_a}"],
                timeout=7200)
            recv.communicate(timeout=600)
            phases["transfer"] = {"seconds": round(time.monotonic() - t, 3), "wire_bytes": os.path.getsize(archive_b),
                                  "raw_bytes": os.path.getsize(archive_b)}
            t = time.monotonic()
            self.restore(archive_b)
            phases["restore"] = {"seconds": round(time.monotonic() - t, 3), "wire_bytes": 0, "raw_bytes": 0}
            record["handoff_seconds"] = record["downtime_seconds"] = round(time.monotonic() - t0, 3)
            record["links"] = systems.diff_counters(before, bed.counters())
            record["bytes_total"] = phases["transfer"]["wire_bytes"]
            record["ok"] = True
        except BenchError as e:
            record["error"] = str(e)
        finally:
            for f in (archive_a, archive_b):
                if os.path.exists(f):
                    os.remove(f)
        running = lambda host: self.pm(host, "inspect", "-f", "{{.State.Running}}", container, check=False) == "true"
        shell = lambda host, command: self.pm(host, "exec", container, "sh", "-c", command)
        record = systems.finish(bed, wl, container, client, record, running=running, shell=shell)
        self._clean()
        return record

    def restore(self, archive):
        """restore --import on edge-b; a failure names CRIU's errors (its log is in the store)."""
        try:
            self.pm("edge-b", "container", "restore", "--import", archive, timeout=3600)
        except BenchError as e:
            log_path = str(e).split("log file: ")[-1].split()[0] if "log file: " in str(e) else ""
            lines = run(["nsenter", f"--mount={self.nsdir}/edge-b", "cat", log_path], check=False) if log_path else ""
            errors = [l.split(": ", 1)[-1] for l in lines.splitlines()
                      if "Error" in l and "RLIMIT_NOFILE for self" not in l and "cgroupd" not in l]
            if not errors:
                raise
            raise BenchError(f"podman container restore --import failed; CRIU: {'; '.join(dict.fromkeys(errors))}") from e

    def close(self):
        """Removes the containers, and the mount namespaces with everything mounted in them."""
        if not self.ready:
            return
        self._clean()
        for host in ("edge-a", "edge-b"):
            self.pm(host, "system", "reset", "-f", check=False, timeout=300)
            nsfile = os.path.join(self.nsdir, host)
            subprocess.run(["umount", nsfile], capture_output=True)
        subprocess.run(["umount", self.nsdir], capture_output=True)
        subprocess.run(["rm", "-rf", self.data], capture_output=True)
        self.ready = False
        log(f"{self.system} stores removed")


PODMAN5 = "/opt/podman-5.8"


class Podman5(Podman):
    """Podman 5.8 from forky in PODMAN5 (tools/setup.sh): netavark with iptables (the
    edges' dockerd uses iptables too), on its bridge podman0 with 10.90.0.0/16, so that it
    does not meet the CNI bridge 4.3 left in the same edge (cni-podman0, 10.88.0.0/16)."""
    system = "podman5"
    binary = os.path.join(PODMAN5, "usr", "bin", "podman")
    mounts = {"storage": "/var/lib/containers", "run": "/run/containers", "libpod": "/run/libpod"}
    bridge = "podman0"

    def __init__(self, bed, data, criu_options):
        super().__init__(bed, data, criu_options)
        self.storage_conf = os.path.join(data, "storage.conf")

    def extra_env(self):
        return [f"CONTAINERS_STORAGE_CONF={self.storage_conf}"]

    def config(self, ulimits):
        with open(self.storage_conf, "w") as f:
            f.write('[storage]\ndriver = "overlay"\n'
                    'runroot = "/run/containers/storage"\ngraphroot = "/var/lib/containers/storage"\n')
        usr = os.path.join(PODMAN5, "usr")
        return (f'[containers]\ndefault_ulimits = {ulimits}\n'
                f'seccomp_profile = "{usr}/share/containers/seccomp.json"\n'
                f'[engine]\nruntime = "runc"\nevents_logger = "file"\ncgroup_manager = "cgroupfs"\n'
                f'conmon_path = ["{usr}/bin/conmon"]\n'
                f'helper_binaries_dir = ["{usr}/lib/podman", "{usr}/libexec/podman"]\n'
                f'conmon_env_vars = ["PATH={PATH}"]\n'
                f'[engine.runtimes]\nrunc = ["{usr}/sbin/runc"]\n'
                f'[network]\nnetwork_backend = "netavark"\nfirewall_driver = "iptables"\n'
                # under the per-host store, so that each edge has its own default network
                f'network_config_dir = "/var/lib/containers/networks"\n'
                f'default_network = "podman"\ndefault_subnet = "10.90.0.0/16"\n')
