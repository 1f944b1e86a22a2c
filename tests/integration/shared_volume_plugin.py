#!/usr/bin/env python3
"""A legacy Docker volume plugin for the bed: Docker's VolumeDriver HTTP API on a unix
socket, each volume a directory under one root that every edge's dockerd on this host
sees, with global scope: the shared storage a volume of another driver stands for.

usage: shared_volume_plugin.py SOCKET ROOT
"""
import json
import os
import socketserver
import sys
from http.server import BaseHTTPRequestHandler

SOCKET, ROOT = sys.argv[1], sys.argv[2]


def volume_dir(name):
    if not name or "/" in name or name in (".", ".."):
        raise ValueError("bad volume name %r" % name)
    return os.path.join(ROOT, name)


def answer(path, body):
    name = body.get("Name", "")
    if path == "/Plugin.Activate":
        return {"Implements": ["VolumeDriver"]}
    if path == "/VolumeDriver.Capabilities":
        return {"Capabilities": {"Scope": "global"}}
    if path == "/VolumeDriver.Create":
        os.makedirs(volume_dir(name), exist_ok=True)
        return {"Err": ""}
    if path == "/VolumeDriver.Remove":
        return {"Err": ""}  # the data is shared: another edge may still use it
    if path in ("/VolumeDriver.Mount", "/VolumeDriver.Path"):
        if not os.path.isdir(volume_dir(name)):
            return {"Err": "no such volume " + name}
        return {"Mountpoint": volume_dir(name), "Err": ""}
    if path == "/VolumeDriver.Unmount":
        return {"Err": ""}
    if path == "/VolumeDriver.Get":
        if not os.path.isdir(volume_dir(name)):
            return {"Err": "no such volume " + name}
        return {"Volume": {"Name": name, "Mountpoint": volume_dir(name)}, "Err": ""}
    if path == "/VolumeDriver.List":
        return {"Volumes": [{"Name": n, "Mountpoint": volume_dir(n)} for n in sorted(os.listdir(ROOT))], "Err": ""}
    return {"Err": "unknown call " + path}


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            reply = answer(self.path, json.loads(raw) if raw.strip() else {})
        except (ValueError, OSError) as error:
            reply = {"Err": str(error)}
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/vnd.docker.plugins.v1+json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def address_string(self):
        return "docker"

    def log_message(self, *args):
        pass


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


if __name__ == "__main__":
    os.makedirs(ROOT, exist_ok=True)
    if os.path.exists(SOCKET):
        os.unlink(SOCKET)
    Server(SOCKET, Handler).serve_forever()
