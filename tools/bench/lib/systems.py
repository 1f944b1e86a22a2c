"""The systems compared, one function each, all over the same shaped edge link:

- dockmig in three cases of what the destination already has (warm, app-missing,
  cold-peer), and warm with the memory restored lazily or eagerly whatever its size
  (lazy, eager: `--restore lazy|eager`; warm itself restores as the default, auto, does);
- a naive Docker handoff that ships everything: docker checkpoint, docker export of the
  whole file system, both streamed with zstd -3 over TCP, docker import, create, place the
  checkpoint, start --checkpoint;
- Podman's checkpoint --export / restore --import (podman.py).

Each returns a record: handoff, downtime as the system reports it, the client's view,
bytes by phase and on the links, and whether it worked (ok, and why not).
"""
import json
import os
import re
import shutil
import subprocess
import tempfile
import time

import workloads as W
from bed import BenchError, log, ns, run
from criu_conf import runc_conf_lock

AGENT_PORT = 7170
WARMUP = 3.0     # seconds the client runs before the handoff
SETTLE = 3.0     # and after it, at the destination


def cleanup(bed):
    for host in ("edge-a", "edge-b"):
        ids = bed.docker(host, "ps", "-aq", "--filter", "label=dockmig.bench=1", check=False)
        if ids:
            bed.docker(host, "rm", "-f", *ids.split(), check=False)
    for ref in bed.docker("edge-b", "images", "-q", "--filter", "reference=bench-naive/*", check=False).split():
        bed.docker("edge-b", "rmi", "-f", ref, check=False)
    for host in ("edge-a", "edge-b"):   # dockmig leaves the source's volume in place, as `docker rm` does
        names = bed.docker(host, "volume", "ls", "-q", "--filter", "label=dockmig.bench=1", check=False)
        if names:
            bed.docker(host, "volume", "rm", "-f", *names.split(), check=False)


def prepare_destination(bed, wl, case):
    """warm: the image is cached at edge-b; app-missing: only the base (OS) layers are;
    cold-peer: nothing is (and the registry will be stopped)."""
    image = wl.image(bed)
    base = bed.env["IMAGE_BASE"]
    have = lambda ref: bed.docker_ok("edge-b", "image", "inspect", ref)
    if case == "warm":
        if not have(image):
            with bed.fast_links():
                bed.docker("edge-b", "pull", image, timeout=1800)
        return
    bed.docker("edge-b", "rmi", "-f", image, check=False)
    if case == "app-missing":
        if wl.build and not have(base):
            with bed.fast_links():
                bed.docker("edge-b", "pull", base, timeout=1800)
    else:
        bed.docker("edge-b", "rmi", "-f", base, "dockmig/base:1", check=False)
    if have(image):
        raise BenchError(f"{image} is still on edge-b after rmi")


def diff_counters(before, after):
    return {k: after[k] - before[k] for k in after}


def start_workload(bed, wl, container):
    W.start_container(bed, wl, container)
    W.wait_ready(bed, wl)
    client = W.Client(bed, wl)
    time.sleep(WARMUP)
    return client


def finish(bed, wl, container, client, record, dest="edge-b", running=None, shell=None):
    """Lets the client reach the destination, stops it, and checks the result. running(host)
    and shell(host, command) default to Docker's view of `container`."""
    running = running or (lambda host: bed.docker(host, "inspect", "-f", "{{.State.Running}}", container,
                                                  check=False) == "true")
    shell = shell or (lambda host, command: bed.docker(host, "exec", container, "sh", "-c", command))
    time.sleep(SETTLE if record["ok"] else 0.5)
    seen = client.stop()
    record["client"] = seen
    record["client_downtime_seconds"] = seen.get("max_gap_seconds")
    if "rows_lost" in seen:
        record["rows_lost"] = seen["rows_lost"]
    if seen.get("max_gap_started") and record.get("started_at"):
        # when the client's longest gap began, counted from the start of the handoff
        record["client_gap_offset_seconds"] = round(seen["max_gap_started"] - record["started_at"], 3)
    if not record["ok"]:
        return record
    problems = []
    if not running(dest):
        problems.append(f"{container} does not run on {dest}")
    left = "edge-a" if dest == "edge-b" else "edge-b"
    if running(left):
        problems.append(f"{container} still runs on {left}")
    if not seen.get("state_ok"):
        problems.append(f"the client saw the state lost: {seen.get('state_error')}")
    if seen.get("answered_by", {}).get(bed.addr(dest), 0) == 0:
        problems.append(f"the client got no answer from {dest} after the handoff")
    extra = W.extra_check(wl, lambda command: shell(dest, command), seen) if not problems else ""
    if extra:
        problems.append(extra)
    if problems:
        record["ok"], record["error"] = False, "; ".join(problems)
    return record


def plain_flags(dockmig, verb):
    """The flag that lets dockmig talk without TLS on the bed, if this dockmig has one
    (agent-to-agent TLS refuses plain connections unless both ends ask for them)."""
    help_text = subprocess.run([dockmig, verb, "--help"], capture_output=True, text=True).stdout
    return ["--insecure"] if "--insecure" in help_text else []


def rusage(ru):
    return {"cpu_seconds": round(ru.ru_utime + ru.ru_stime, 3), "peak_rss_mb": round(ru.ru_maxrss / 1024, 1)}


def serve(bed, dockmig, host, state_dir, log_file, *flags):
    """A fresh agent on `host`, so that its rusage is this migration's."""
    agent = subprocess.Popen([*ns(host), dockmig, "serve", "--listen", f"{bed.addr(host)}:{AGENT_PORT}",
                              "--docker", bed.sock(host), "--state-dir", state_dir, *flags,
                              *plain_flags(dockmig, "serve")],
                             stdout=subprocess.DEVNULL, stderr=log_file)
    bed.wait_tcp(host, bed.addr(host), AGENT_PORT)
    return agent


def stop_agent(agent, record):
    agent.terminate()
    try:
        _, _, ru = os.wait4(agent.pid, 0)
        record["destination"] = rusage(ru)
    except ChildProcessError:
        pass


def migrate(bed, dockmig, container, src, dst, state_dir, record, *flags):
    """`dockmig migrate` from `src` to the agent on `dst`, its state (journal, return cache)
    in `state_dir`, with `flags` added; what it reports and the links carried go into `record`."""
    before = bed.counters()
    out = tempfile.TemporaryFile("w+")
    err = tempfile.TemporaryFile("w+")
    t0 = time.monotonic()
    record["started_at"] = time.time()
    src_proc = subprocess.Popen([*ns(src), dockmig, "migrate", container, f"{bed.addr(dst)}:{AGENT_PORT}",
                                 "--docker", bed.sock(src), "--state-dir", state_dir, "--json",
                                 *plain_flags(dockmig, "migrate"), *flags],
                                stdout=out, stderr=err)
    _, status, ru = os.wait4(src_proc.pid, 0)
    record["wall_seconds"] = round(time.monotonic() - t0, 3)
    record["links"] = diff_counters(before, bed.counters())
    record["edge_bytes"] = record["links"].get(f"EDGE_{src[-1].upper()}_TO_{dst[-1].upper()}_BYTES")
    record["source"] = rusage(ru)
    out.seek(0)
    err.seek(0)
    try:
        report = json.loads(out.read())
    except ValueError:
        report = {}
    record["report"] = report
    code = os.waitstatus_to_exitcode(status)
    record["ok"] = code == 0 and report.get("succeeded") is True
    if not record["ok"]:
        record["error"] = f"dockmig migrate exited {code}: {report.get('error') or err.read().strip()[-600:]}"
    for key in ("handoff_seconds", "downtime_seconds", "image_source", "bytes_total"):
        record[key] = report.get(key)
    record["phases"] = report.get("phases", {})
    record["restore"] = report.get("restore", {})


# A case that is warm with another way of restoring: its flags.
RESTORE_CASES = {"lazy": ["--restore", "lazy"], "eager": ["--restore", "eager"]}


def run_dockmig(bed, wl, case, dockmig, state_dir):
    container = f"bench-{wl.name}"
    cleanup(bed)
    prepare_destination(bed, wl, "warm" if case in RESTORE_CASES else case)
    record = {"system": "dockmig", "case": case, "ok": False, "error": ""}
    client = start_workload(bed, wl, container)
    agent = None
    registry_stopped = False
    for d in (state_dir, state_dir + "-source"):
        shutil.rmtree(d, ignore_errors=True)
    os.makedirs(os.path.dirname(state_dir), exist_ok=True)
    agent_log = open(state_dir + ".log", "w")  # the agent's messages, for when a run fails
    try:
        agent = serve(bed, dockmig, "edge-b", state_dir, agent_log)
        if case == "cold-peer":
            bed.registry("stop")
            registry_stopped = True
        migrate(bed, dockmig, container, "edge-a", "edge-b", state_dir + "-source", record,
                *RESTORE_CASES.get(case, []))
    except BenchError as e:
        record["error"] = str(e)
    finally:
        if registry_stopped:
            bed.registry("start")
        if agent is not None:
            stop_agent(agent, record)
        agent_log.close()
    mode = (record.get("restore") or {}).get("mode")
    if case == "lazy" and record["ok"] and mode != "lazy":  # an eager run must not pass for a lazy one
        record["ok"], record["error"] = False, (f"asked for a lazy restore, the destination restored {mode}: "
                                                f"{record['restore'].get('fallback') or 'no reason given'}")
    return finish(bed, wl, container, client, record)


# The return cache must hold a whole ram-1g (1.2 GB) for the way back.
RETURN_STORE_BUDGET = "4G"


def run_dockmig_return(bed, wl, dockmig, state_dir):
    """A user who comes back: edge-a -> edge-b, then back to edge-a, whose agent keeps the
    pages the container left with (its return cache). The record is the way back's; the
    way there is in record["there"], and both trips' bytes in record["trips"]."""
    container = f"bench-{wl.name}"
    cleanup(bed)
    prepare_destination(bed, wl, "warm")
    record = {"system": "dockmig", "case": "return", "ok": False, "error": ""}
    there = {"ok": False, "error": ""}
    client = start_workload(bed, wl, container)
    state_a, state_b = state_dir + "-a", state_dir + "-b"
    for d in (state_a, state_b):
        shutil.rmtree(d, ignore_errors=True)
    os.makedirs(os.path.dirname(state_dir), exist_ok=True)
    agent_log = open(state_dir + ".log", "w")
    agent = None
    try:
        agent = serve(bed, dockmig, "edge-b", state_b, agent_log)
        migrate(bed, dockmig, container, "edge-a", "edge-b", state_a, there)
        stop_agent(agent, there)
        agent = None
        if not there["ok"]:
            record["error"] = "the way there: " + there["error"]
        else:
            time.sleep(SETTLE)
            agent = serve(bed, dockmig, "edge-a", state_a, agent_log, "--store-budget", RETURN_STORE_BUDGET)
            migrate(bed, dockmig, container, "edge-b", "edge-a", state_b, record)
    except BenchError as e:
        record["error"] = str(e)
    finally:
        if agent is not None:
            stop_agent(agent, record)
        agent_log.close()
    record["there"] = {k: there.get(k) for k in ("ok", "handoff_seconds", "downtime_seconds", "bytes_total")}
    record["there"]["edge_bytes"] = there.get("edge_bytes")
    record["trips"] = [there.get("edge_bytes"), record.get("edge_bytes")]
    return finish(bed, wl, container, client, record, dest="edge-a")


def run_naive(bed, wl, staging):
    """docker checkpoint + export of everything + transfer + import + create + restore.
    A named volume (docker export leaves volumes out) crosses as a tar of its data dir,
    after the checkpoint, into a volume of the same name made at the destination."""
    container = f"bench-{wl.name}"
    cleanup(bed)
    record = {"system": "naive", "case": "docker export", "ok": False, "error": "", "phases": {}}
    client = start_workload(bed, wl, container)
    os.makedirs(staging, exist_ok=True)
    fs_tar, ck_tar = os.path.join(staging, "fs.tar"), os.path.join(staging, "checkpoint.tar")
    xfer = os.path.join(W.HERE, "xfer.py")
    dest = f"{bed.addr('edge-b')}:{AGENT_PORT + 1}"
    phases = record["phases"]

    def phase(name, t, wire=0):
        phases[name] = {"seconds": round(time.monotonic() - t, 3), "wire_bytes": wire, "raw_bytes": 0}

    def ship(source_cmd, out_file):
        """source_cmd | zstd -3 | TCP over the edge link | zstd -d > out_file; returns wire bytes."""
        recv = subprocess.Popen(["bash", "-c", f"{' '.join(ns('edge-b'))} {W.PYTHON} {xfer} recv {AGENT_PORT + 1} "
                                 f"| zstd -d -q > {out_file}"], stderr=subprocess.PIPE, text=True)
        send = subprocess.run(["bash", "-o", "pipefail", "-c", f"{source_cmd} | zstd -3 -q -T2 | "
                               f"{' '.join(ns('edge-a'))} {W.PYTHON} {xfer} send {dest}"],
                              capture_output=True, text=True, timeout=7200)
        _, recv_err = recv.communicate(timeout=600)
        if send.returncode != 0 or recv.returncode != 0:
            raise BenchError(f"transfer failed: {send.stderr.strip()[-300:]} {recv_err.strip()[-300:]}")
        return int(re.findall(r"bytes (\d+)", send.stderr)[-1])

    try:
        before = bed.counters()
        t0 = time.monotonic()
        record["started_at"] = time.time()
        with runc_conf_lock():
            bed.docker("edge-a", "checkpoint", "create", container, "ck")
        phase("checkpoint", t0)
        cid = bed.docker("edge-a", "inspect", "-f", "{{.Id}}", container)
        ck_dir = os.path.join(bed.docker_root("edge-a"), "containers", cid, "checkpoints", "ck")
        t = time.monotonic()
        docker_a = f"/usr/bin/docker -H {bed.sock('edge-a')}"
        phase("export", t, ship(f"{docker_a} export {container}", fs_tar))
        t = time.monotonic()
        phase("checkpoint_transfer", t, ship(f"tar -C {ck_dir} -cf - .", ck_tar))
        volume_args = []
        for mount in json.loads(bed.docker("edge-a", "inspect", "-f", "{{json .Mounts}}", container)):
            if mount["Type"] != "volume":
                continue
            t = time.monotonic()
            vol_tar = os.path.join(staging, "volume.tar")
            wire = ship(f"tar -C {mount['Source']} --numeric-owner -cf - .", vol_tar)
            bed.docker("edge-b", "volume", "create", "--label", "dockmig.bench=1", mount["Name"])
            run(["tar", "-C", bed.docker("edge-b", "volume", "inspect", "-f", "{{.Mountpoint}}", mount["Name"]),
                 "--numeric-owner", "-xpf", vol_tar], timeout=1800)
            os.remove(vol_tar)
            phase(f"volume {mount['Name']}", t, wire)
            volume_args += ["-v", f"{mount['Name']}:{mount['Destination']}"]
        t = time.monotonic()
        image = bed.docker("edge-b", "import", fs_tar, f"bench-naive/{wl.name}:1", timeout=1800)
        phase("import", t)
        t = time.monotonic()
        config = bed.docker("edge-a", "inspect", "-f", "{{json .Config.Entrypoint}}|{{json .Config.Cmd}}", container)
        entrypoint, cmd = (json.loads(x) for x in config.split("|"))
        args = ["create", "--name", container, "--label", "dockmig.bench=1", "-p", wl.publish(), *volume_args]
        if entrypoint:
            args += ["--entrypoint", entrypoint[0]]
        args += [image, *((entrypoint or [])[1:]), *(cmd or [])]
        new_id = bed.docker("edge-b", *args)
        dest_dir = os.path.join(bed.docker_root("edge-b"), "containers", new_id, "checkpoints", "ck")
        os.makedirs(dest_dir)
        run(["tar", "-C", dest_dir, "-xf", ck_tar])
        with runc_conf_lock():
            bed.docker("edge-b", "start", "--checkpoint", "ck", container)
        phase("restore", t)
        record["handoff_seconds"] = record["downtime_seconds"] = round(time.monotonic() - t0, 3)
        record["links"] = diff_counters(before, bed.counters())
        record["bytes_total"] = sum(p["wire_bytes"] for p in phases.values())
        record["ok"] = True
    except BenchError as e:
        record["error"] = str(e)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return finish(bed, wl, container, client, record)


def measure_floor(bed, wl):
    """The floor's parts on one host (edge-a), no network: bytes that must cross (the
    writable layer and the checkpoint, zstd -19) and bare checkpoint + restore time."""
    container = f"bench-{wl.name}"
    cleanup(bed)
    client = start_workload(bed, wl, container)
    record = {"ok": False, "error": ""}
    try:
        t = time.monotonic()
        with runc_conf_lock():
            bed.docker("edge-a", "checkpoint", "create", container, "floor")
        record["checkpoint_seconds"] = round(time.monotonic() - t, 3)
        info = bed.docker("edge-a", "inspect", "-f", "{{.Id}}|{{.GraphDriver.Data.UpperDir}}", container)
        cid, upper = info.split("|")
        ck_dir = os.path.join(bed.docker_root("edge-a"), "containers", cid, "checkpoints", "floor")
        size = lambda d: int(run(["bash", "-o", "pipefail", "-c", f"tar -C {d} -cf - . | zstd -19 -T2 -q | wc -c"],
                                 timeout=3600))
        record["upper_zstd19_bytes"] = size(upper)
        record["checkpoint_zstd19_bytes"] = size(ck_dir)
        with open(os.path.join(ck_dir, "dockmig-restore-nonce"), "w") as f:
            f.write(str(time.time_ns()))  # docs/testbed.md: a restore on the same daemon
        t = time.monotonic()
        with runc_conf_lock():
            bed.docker("edge-a", "start", "--checkpoint", "floor", container)
        record["restore_seconds"] = round(time.monotonic() - t, 3)
        record["ok"] = True
    except BenchError as e:
        record["error"] = str(e)
    time.sleep(1.0)
    seen = client.stop()
    if record["ok"] and not seen.get("state_ok"):
        record["ok"], record["error"] = False, f"after the one-host restore: {seen.get('state_error')}"
    cleanup(bed)
    return record
