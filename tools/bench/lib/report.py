"""Results: per-case statistics, the terminal table, JSON and CSV files, the gnuplot chart
with the papers' numbers beside ours, and the results section of docs/benchmarks.md."""
import csv
import json
import os
import statistics
import subprocess

from bed import log, rate_bits

# The papers' numbers (../shared/research/papers.md) for cases that match ours.
# Ma et al. TMC 2019 Table 3 (handoff, downtime; 50 ms latency, their own system):
MA = {("idle", "5mbit"): (3.2, 2.8), ("idle", "20mbit"): (3.2, 2.8),
      ("face", "5mbit"): (48.9, 48.1), ("face", "20mbit"): (17.8, 17.3)}
# Machen et al. 2018 Table 1, LXC (total with app found, total with app not found,
# downtime); their link rate is not stated, so they are drawn at every rate.
MACHEN = {"idle": (6.3, 11.0, 2.0), "game": (6.4, 10.9, 2.0), "ram": (19.8, 27.2, 15.3),
          "video": (8.5, 37.3, 3.3), "face": (15.5, 70.1, 3.7)}

WORKLOAD_ORDER = ["idle", "game", "ram", "ram-256m", "ram-512m", "ram-1g", "ram-dirty", "video", "face", "postgres"]
SYSTEM_ORDER = ["dockmig warm", "dockmig app-missing", "dockmig cold-peer", "dockmig return", "naive docker export",
                "podman", "podman5"]


def label(run):
    if run["system"] == "dockmig":
        return f"dockmig {run['case']}"
    if run["system"] == "naive":
        return "naive docker export"
    return run["system"]


def stats(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"median": round(statistics.median(values), 3), "min": round(min(values), 3), "max": round(max(values), 3)}


def summarize(runs, floors):
    groups = {}
    for r in runs:
        groups.setdefault((r["workload"], r["rate"], label(r)), []).append(r)
    rows = []
    for (workload, rate, system), rs in groups.items():
        ok = [r for r in rs if r["ok"]]
        row = {"workload": workload, "rate": rate, "system": system, "runs": len(rs), "ok": len(ok),
               "errors": sorted({r["error"] for r in rs if not r["ok"]}),
               "handoff_seconds": stats([r.get("handoff_seconds") for r in ok]),
               "downtime_seconds": stats([r.get("downtime_seconds") for r in ok]),
               "client_downtime_seconds": stats([r.get("client_downtime_seconds") for r in ok]),
               "bytes_total": stats([r.get("bytes_total") for r in ok]),
               "edge_link_bytes": stats([r.get("edge_bytes", r.get("links", {}).get("EDGE_A_TO_B_BYTES")) for r in ok]),
               "cloud_link_bytes": stats([r.get("links", {}).get("CLOUD_TO_EDGE_B_BYTES") for r in ok]),
               "phases": {}, "floor_seconds": None, "handoff_over_floor": None}
        names = []
        for r in ok:
            names += [n for n in r.get("phases", {}) if n not in names]
        for n in names:
            row["phases"][n] = {"seconds": stats([r["phases"].get(n, {}).get("seconds") for r in ok]),
                                "wire_bytes": stats([r["phases"].get(n, {}).get("wire_bytes") for r in ok])}
        row["downtime_split"] = downtime_split(ok, rate)
        if any(r.get("trips") for r in ok):
            row["trip_bytes"] = [stats([(r.get("trips") or [None, None])[i] for r in ok]) for i in (0, 1)]
        for side in ("source", "destination"):
            row[f"{side}_cpu_seconds"] = stats([r.get(side, {}).get("cpu_seconds") for r in ok])
            row[f"{side}_peak_rss_mb"] = stats([r.get(side, {}).get("peak_rss_mb") for r in ok])
        floor = floors.get(workload)
        if floor and floor.get("ok"):
            seconds = floor_seconds(floor, rate)
            row["floor_seconds"] = round(seconds, 3)
            if row["handoff_seconds"]:
                row["handoff_over_floor"] = round(row["handoff_seconds"]["median"] / seconds, 2)
        rows.append(row)
    order = {s: i for i, s in enumerate(SYSTEM_ORDER)}
    wl_order = lambda w: WORKLOAD_ORDER.index(w) if w in WORKLOAD_ORDER else 99
    rows.sort(key=lambda r: (wl_order(r["workload"]), rate_bits(r["rate"]), order.get(r["system"], 99)))
    return rows


def downtime_split(ok, rate):
    """dockmig's downtime as CRIU's dump and restore (from its own log), Docker's calls
    around them, bytes on the wire after the freeze (finalsync), and the rest; and its
    floor now that memory moves before the freeze: what crossed from the freeze to the
    restore (the checkpoint and final sync phases' bytes on the wire) at the link's rate,
    plus CRIU's own dump and restore."""
    parts = {"criu_dump": [], "criu_restore": [], "criu_hooks": [], "docker_dump": [], "docker_restore": [],
             "wire": [], "rest": [], "floor": [], "over_floor": []}
    for r in ok:
        criu = r.get("report", {}).get("criu", {})
        dump, restore = criu.get("dump", {}).get("seconds", 0), criu.get("restore", {}).get("seconds", 0)
        if not dump or not restore:
            continue
        wire = r.get("phases", {}).get("finalsync", {}).get("seconds", 0)
        parts["criu_dump"].append(dump)
        parts["criu_restore"].append(restore)
        parts["criu_hooks"].append(criu["dump"].get("hooks_seconds", 0) + criu["restore"].get("hooks_seconds", 0))
        # Docker's time after CRIU's dump is downtime only when the images waited for it.
        around = lambda side: criu[side].get("docker_before_seconds", 0) + (
            0 if criu[side].get("docker_after_overlapped") else criu[side].get("docker_after_seconds", 0))
        parts["docker_dump"].append(around("dump"))
        parts["docker_restore"].append(around("restore"))
        parts["wire"].append(wire)
        parts["rest"].append(max(0.0, r["downtime_seconds"] - dump - restore - around("dump") - around("restore") - wire))
        frozen_bytes = sum(r.get("phases", {}).get(p, {}).get("wire_bytes", 0) for p in ("checkpoint", "finalsync"))
        floor = frozen_bytes * 8 / rate_bits(rate) + dump + restore
        parts["floor"].append(floor)
        parts["over_floor"].append(r["downtime_seconds"] / floor)
    return {k: stats(v) for k, v in parts.items()} if parts["rest"] else None


def split_lines(rows, markdown_table):
    """The downtime split of every dockmig row, as a table."""
    head = ["workload", "rate", "system", "downtime s", "CRIU dump s", "CRIU restore s", "of CRIU: runc's hooks s",
            "Docker around dump s", "Docker around restore s", "wire s", "rest s", "floor s", "downtime/floor"]
    lines = []
    for r in rows:
        split = r.get("downtime_split")
        if split:
            lines.append([r["workload"], r["rate"], r["system"], _m(r["downtime_seconds"])] +
                         [_m(split[k]) for k in ("criu_dump", "criu_restore", "criu_hooks", "docker_dump",
                                                 "docker_restore", "wire", "rest", "floor", "over_floor")])
    if not lines:
        return []
    if markdown_table:
        return ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)] + ["| " + " | ".join(l) + " |" for l in lines]
    widths = [max(len(str(x)) for x in col) for col in zip(head, *lines)]
    fmt = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, widths)).rstrip()
    return [fmt(head), fmt(["-" * w for w in widths])] + [fmt(l) for l in lines]


def floor_seconds(floor, rate):
    """(writable layer + checkpoint, zstd -19) / link rate + bare checkpoint + restore."""
    nbytes = floor["upper_zstd19_bytes"] + floor["checkpoint_zstd19_bytes"]
    return nbytes * 8 / rate_bits(rate) + floor["checkpoint_seconds"] + floor["restore_seconds"]


def _m(s, digits=2):
    return "-" if not s else f"{s['median']:.{digits}f}"


def _range(s):
    return "" if not s or s["min"] == s["max"] else f" [{s['min']:.2f}-{s['max']:.2f}]"


def _mb(s):
    return "-" if not s else f"{s['median'] / 1e6:.2f}"


def trip_lines(rows):
    """The edge link's bytes of each trip of the return rows (A -> B, then B -> A)."""
    lines = []
    for r in rows:
        there, back = r.get("trip_bytes") or (None, None)
        if there and back:
            share = back["median"] / there["median"] if there["median"] else 0
            lines.append(f"- {r['workload']} at {r['rate']}: {_mb(there)} MB there, {_mb(back)} MB back "
                         f"({share:.1%} of the way there)")
    return lines


def table(rows):
    head = ["workload", "rate", "system", "ok", "handoff s [min-max]", "downtime s", "client s", "edge MB",
            "cloud MB", "floor s", "/floor", "src cpu s", "src MB", "dst cpu s", "dst MB"]
    lines = []
    for r in rows:
        lines.append([r["workload"], r["rate"], r["system"], f"{r['ok']}/{r['runs']}",
                      _m(r["handoff_seconds"]) + _range(r["handoff_seconds"]), _m(r["downtime_seconds"]),
                      _m(r["client_downtime_seconds"]), _mb(r["edge_link_bytes"]), _mb(r["cloud_link_bytes"]),
                      "-" if r["floor_seconds"] is None else f"{r['floor_seconds']:.2f}",
                      "-" if r["handoff_over_floor"] is None else f"{r['handoff_over_floor']:.2f}",
                      _m(r["source_cpu_seconds"]), _m(r["source_peak_rss_mb"], 1),
                      _m(r["destination_cpu_seconds"]), _m(r["destination_peak_rss_mb"], 1)])
    widths = [max(len(str(x)) for x in col) for col in zip(head, *lines)]
    fmt = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, widths)).rstrip()
    out = [fmt(head), fmt(["-" * w for w in widths])] + [fmt(l) for l in lines]
    for r in rows:
        for e in r["errors"]:
            out.append(f"  {r['workload']} {r['rate']} {r['system']}: FAILED: {e}")
    split = split_lines(rows, markdown_table=False)
    if split:
        out += ["", "dockmig's downtime, split (medians; Docker = its API call before and after CRIU's run; "
                "rest = the downtime less all of these: dockmig and the link's round trips; floor = the bytes "
                "from the freeze to the restore at the link's rate + CRIU's dump and restore)"]
        out += split
    trips = trip_lines(rows)
    if trips:
        out += ["", "A -> B -> A: the edge link's bytes per trip (medians; the return row is the way back)"] + trips
    return "\n".join(out)


def markdown(rows):
    out = ["| workload | rate | system | ok | handoff s (median [min-max]) | downtime s | client-seen s | "
           "edge link MB | cloud link MB | floor s | handoff/floor | dockmig CPU s src/dst | peak RSS MB src/dst |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        cpu = "" if not r["source_cpu_seconds"] else f"{_m(r['source_cpu_seconds'])} / {_m(r['destination_cpu_seconds'])}"
        rss = "" if not r["source_peak_rss_mb"] else f"{_m(r['source_peak_rss_mb'], 1)} / {_m(r['destination_peak_rss_mb'], 1)}"
        out.append(f"| {r['workload']} | {r['rate']} | {r['system']} | {r['ok']}/{r['runs']} | "
                   f"{_m(r['handoff_seconds'])}{_range(r['handoff_seconds'])} | {_m(r['downtime_seconds'])} | "
                   f"{_m(r['client_downtime_seconds'])} | {_mb(r['edge_link_bytes'])} | {_mb(r['cloud_link_bytes'])} | "
                   f"{'-' if r['floor_seconds'] is None else r['floor_seconds']} | "
                   f"{'-' if r['handoff_over_floor'] is None else r['handoff_over_floor']} | {cpu} | {rss} |")
    for r in rows:
        for e in r["errors"]:
            out.append(f"\n- {r['workload']} {r['rate']} {r['system']} failed: {e}")
    split = split_lines(rows, markdown_table=True)
    if split:
        out += ["", "dockmig's downtime, split: CRIU's own dump and restore (from its log; the hooks are runc's "
                "and dockerd's, inside CRIU's time), Docker's API call before and after CRIU's run (dockerd, "
                "containerd, runc), the bytes after the freeze (finalsync), and the rest (dockmig, the link's "
                "round trips). Medians of each part, so they need not add up exactly. The floor: the bytes "
                "that crossed from the freeze to the restore (checkpoint and final sync phases) at the link's "
                "rate, plus CRIU's own dump and restore; downtime/floor is what Docker and dockmig add.", ""]
        out += split
    trips = trip_lines(rows)
    if trips:
        out += ["", "A -> B -> A: the edge link's bytes on each trip (medians; the `dockmig return` row is the "
                "way back, to an edge whose agent kept the pages the container left with).", ""] + trips
    return "\n".join(out)


def write_files(out_dir, stem, result):
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, stem)
    with open(path + ".json", "w") as f:
        json.dump(result, f, indent=1)
    with open(path + ".csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["workload", "rate", "system", "runs", "ok", "handoff_median", "handoff_min", "handoff_max",
                    "downtime_median", "client_downtime_median", "client_downtime_max", "edge_link_bytes_median",
                    "cloud_link_bytes_median", "floor_seconds", "handoff_over_floor", "source_cpu_seconds",
                    "source_peak_rss_mb", "destination_cpu_seconds", "destination_peak_rss_mb", "phases", "errors"])
        g = lambda s, k="median": "" if not s else s[k]
        for r in result["summary"]:
            w.writerow([r["workload"], r["rate"], r["system"], r["runs"], r["ok"], g(r["handoff_seconds"]),
                        g(r["handoff_seconds"], "min"), g(r["handoff_seconds"], "max"), g(r["downtime_seconds"]),
                        g(r["client_downtime_seconds"]), g(r["client_downtime_seconds"], "max"),
                        g(r["edge_link_bytes"]), g(r["cloud_link_bytes"]), r["floor_seconds"] or "",
                        r["handoff_over_floor"] or "", g(r["source_cpu_seconds"]), g(r["source_peak_rss_mb"]),
                        g(r["destination_cpu_seconds"]), g(r["destination_peak_rss_mb"]),
                        json.dumps({n: {"seconds": g(p["seconds"]), "wire_bytes": g(p["wire_bytes"])}
                                    for n, p in r["phases"].items()}), " | ".join(r["errors"])])
    return path


def chart(rows, png):
    """Handoff and downtime per workload and rate (log scale), ours beside the papers'."""
    cols = ["dockmig warm handoff", "dockmig warm downtime", "dockmig warm client-seen",
            "naive handoff", "podman handoff", "Ma et al. handoff", "Ma et al. downtime",
            "Machen (app found) total, rate n/a", "Machen downtime, rate n/a"]
    colors = ["#1f4e9c", "#4f8fdc", "#9cc3f0", "#d9822b", "#8a5cc2", "#2e8b57", "#8fd19e", "#7f7f7f", "#c7c7c7"]
    by = {(r["workload"], r["rate"], r["system"]): r for r in rows}
    groups = sorted({(r["workload"], r["rate"]) for r in rows},
                    key=lambda g: (WORKLOAD_ORDER.index(g[0]) if g[0] in WORKLOAD_ORDER else 99, rate_bits(g[1])))
    if not groups:
        return None
    med = lambda r, k: (r[k]["median"] if r and r.get(k) else None)
    data = []
    for wl, rate in groups:
        warm = by.get((wl, rate, "dockmig warm"))
        vals = [med(warm, "handoff_seconds"), med(warm, "downtime_seconds"), med(warm, "client_downtime_seconds"),
                med(by.get((wl, rate, "naive docker export")), "handoff_seconds"),
                med(by.get((wl, rate, "podman")), "handoff_seconds"),
                *(MA.get((wl, rate)) or (None, None)),
                *((MACHEN[wl][0], MACHEN[wl][2]) if wl in MACHEN else (None, None))]
        data.append((f"{wl}\\n{rate.replace('mbit', ' Mbps')}", vals))
    dat = png[:-4] + ".dat"
    script = f"""
set terminal pngcairo size {max(900, 140 * len(groups) + 300)},560 font ",10"
set output "{png}"
set title "Handoff and downtime per workload and edge-link rate (median; papers' numbers beside)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set logscale y
set yrange [0.05:*]
set bmargin 4
set ylabel "seconds (log scale)"
set datafile missing "-"
set key outside right top vertical
set grid ytics
array C[{len(cols)}] = [{", ".join(f'"{c}"' for c in colors)}]
plot for [i=2:{len(cols) + 1}] "{dat}" using i:xtic(1) title columnhead(i) noenhanced lc rgb C[i-1]
"""
    # columnhead needs a header row of titles, one per column.
    with open(dat, "w") as f:
        f.write("group " + " ".join(f'"{c}"' for c in cols) + "\n")
        for name, vals in data:
            f.write(f"\"{name}\" " + " ".join("-" if v is None else f"{max(v, 0.01):.3f}" for v in vals) + "\n")
    p = subprocess.run(["gnuplot"], input=script, capture_output=True, text=True)
    if p.returncode != 0:
        log(f"gnuplot failed: {p.stderr.strip()[-400:]}")
        return None
    return png


BEGIN, END = "<!-- bench results: begin (written by tools/bench/bench --update-docs) -->", "<!-- bench results: end -->"


def update_docs(doc, text):
    with open(doc) as f:
        content = f.read()
    if BEGIN not in content or END not in content:
        log(f"{doc} has no results markers; not updated")
        return False
    head, rest = content.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    with open(doc, "w") as f:
        f.write(head + BEGIN + "\n" + text.strip() + "\n" + END + tail)
    return True


def targets(rows, runs):
    """Issue 4's performance targets, as measured (never asserted): one line each."""
    by = {(r["workload"], r["rate"], r["system"]): r for r in rows}
    med = lambda r, k: r[k]["median"] if r and r.get(k) else None
    out = []
    warm = [r for r in rows if r["system"] == "dockmig warm"]

    def line(ok, text):
        out.append(f"- {'met' if ok else ('MISSED' if ok is False else 'not measured')}: {text}")

    for r in warm:
        if r["handoff_over_floor"] is not None:
            line(r["handoff_over_floor"] <= 1.25, f"{r['workload']} at {r['rate']}: warm handoff "
                 f"{med(r, 'handoff_seconds'):.2f} s = {r['handoff_over_floor']:.2f} x the floor "
                 f"{r['floor_seconds']:.2f} s (target <= 1.25 x)")
    for r in warm:
        if r["rate"] != "5mbit" or r["workload"] == "ram":
            continue
        h = med(r, "handoff_seconds")
        for peer, factor in (("naive docker export", 5), ("podman", 2)):
            p = med(by.get((r["workload"], r["rate"], peer)), "handoff_seconds")
            if h and p:
                line(p / h >= factor, f"{r['workload']} at 5mbit: {peer} {p:.2f} s / dockmig warm {h:.2f} s = "
                     f"{p / h:.1f} x (target >= {factor} x)")
            else:
                line(None, f"{r['workload']} at 5mbit: dockmig warm vs {peer}")
    for r in warm:
        if r["workload"] == "idle" and med(r, "handoff_seconds"):
            h, d = med(r, "handoff_seconds"), med(r, "downtime_seconds")
            line(h < 3.2 and d < 2.8, f"idle at {r['rate']}: handoff {h:.2f} s, downtime {d:.2f} s "
                 "(target below Ma et al.'s Busybox 3.2 s and 2.8 s)")
        if r["workload"] in ("idle", "game") and r["rate"] == "20mbit" and med(r, "client_downtime_seconds") is not None:
            c = r["client_downtime_seconds"]["median"]
            line(c < 1.0, f"{r['workload']} at 20mbit: client-seen downtime {c:.2f} s (max "
                 f"{r['client_downtime_seconds']['max']:.2f} s; target < 1 s)")
    rss = [(r.get(side, {}).get("peak_rss_mb"), side, r["workload"]) for r in runs if r.get("system") == "dockmig"
           for side in ("source", "destination") if r.get(side, {}).get("peak_rss_mb")]
    if rss:
        worst = max(rss)
        line(worst[0] < 64, f"dockmig's peak RSS: at most {worst[0]:.1f} MB ({worst[1]}, {worst[2]}) over "
             f"{len(rss) // 2} migrations (target < 64 MB on each side)")
    return "\n".join(out)
