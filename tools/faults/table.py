#!/usr/bin/env python3
"""Turns tools/faults/run's results (one tab-separated line per cell, and a line of notes
per cell) into faults.json and the markdown table of docs/reliability.md."""
import datetime
import json
import sys

FIELDS = ["cell", "point", "side", "action", "migrate_exit", "recover_exit", "outcome",
          "recovery_seconds", "result"]


def read_cells(results_path, notes_path):
    with open(results_path) as results, open(notes_path) as notes:
        rows = [line.rstrip("\n").split("\t") for line in results if line.strip()]
        cell_notes = [line.rstrip("\n") for line in notes]
    return [dict(zip(FIELDS, row), note=note) for row, note in zip(rows, cell_notes)]


def markdown(cells, summary):
    lines = [
        f"Run {summary['date']} at commit `{summary['commit']}`: {summary['cells_run']} cells run, "
        f"{summary['cells_passed']} passed, {summary['violations']} violations. Command: "
        f"`{summary['command']}`.",
        "",
        "| # | fault point | side | action | migrate exit | recover exit | outcome | recovery s | result | note |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for cell in cells:
        note = cell["note"].replace("|", "\\|")
        lines.append(f"| {cell['cell']} | `{cell['point']}` | {cell['side']} | {cell['action']} | "
                     f"{cell['migrate_exit']} | {cell['recover_exit']} | {cell['outcome']} | "
                     f"{cell['recovery_seconds']} | {cell['result']} | {note} |")
    return "\n".join(lines) + "\n"


def main():
    results_path, notes_path, out_dir, commit, command = sys.argv[1:6]
    cells = read_cells(results_path, notes_path)
    summary = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit,
        "command": command,
        "cells_run": len(cells),
        "cells_passed": sum(cell["result"] == "pass" for cell in cells),
        "violations": sum(cell["outcome"] == "VIOLATION" for cell in cells),
    }
    with open(f"{out_dir}/faults.json", "w") as out:
        json.dump({**summary, "cells": cells}, out, indent=2)
    with open(f"{out_dir}/faults.md", "w") as out:
        out.write(markdown(cells, summary))


if __name__ == "__main__":
    main()
