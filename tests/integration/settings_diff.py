#!/usr/bin/env python3
"""settings_diff.py BEFORE.json AFTER.json: compares two `docker inspect` outputs of one
container, before and after a handoff, field by field over what the user set (Config,
HostConfig, Path, Args, Name, Image). Fields that may differ, and why, are the table
below; it is the table of docs/design.md ("Every setting kept"). Prints each other
difference and exits 1 if there is one."""
import json
import sys

# field -> why it may differ at the destination
MAY_DIFFER = {
    "HostConfig.CgroupParent": "the host's cgroup layout",
    "HostConfig.CgroupnsMode": "the destination daemon's default",
    "HostConfig.ContainerIDFile": "a file on the source host",
    "HostConfig.ConsoleSize": "the source's terminal",
    "HostConfig.MaskedPaths": "Docker's defaults, recomputed from SecurityOpt",
    "HostConfig.ReadonlyPaths": "Docker's defaults, recomputed from SecurityOpt",
}


def flatten(value, prefix, out):
    if isinstance(value, dict) and value:
        for key, item in value.items():
            flatten(item, f"{prefix}.{key}" if prefix else key, out)
    else:
        out[prefix] = value


def settings(inspect):
    out = {}
    for key in ("Config", "HostConfig"):
        flatten(inspect.get(key) or {}, key, out)
    for key in ("Path", "Args", "Name", "Image"):
        out[key] = inspect.get(key)
    return out


def empty(value):
    return value in (None, "", [], {}, 0, False)


def main():
    before = settings(json.load(open(sys.argv[1]))[0])
    after = settings(json.load(open(sys.argv[2]))[0])
    lost = 0
    for field in sorted(set(before) | set(after)):
        a, b = before.get(field), after.get(field)
        if a == b or (empty(a) and empty(b)):
            continue
        if any(field == f or field.startswith(f + ".") for f in MAY_DIFFER):
            continue
        print(f"  {field}: {json.dumps(a)} -> {json.dumps(b)}")
        lost += 1
    return 1 if lost else 0


if __name__ == "__main__":
    sys.exit(main())
