#!/usr/bin/python3
"""Moves one byte stream over TCP, for the naive handoff (the benchmark's baseline).

    xfer.py recv PORT  > FILE      accept one connection on PORT, copy it to stdout
    xfer.py send ADDR:PORT < FILE  connect (retrying for 10 s), copy stdin to it

Each prints the number of bytes it moved on stderr as `bytes N`.
"""
import socket
import sys
import time


def recv(port):
    with socket.create_server(("0.0.0.0", port), reuse_port=True) as server:
        conn, _ = server.accept()
        total = 0
        with conn:
            while True:
                chunk = conn.recv(1 << 20)
                if not chunk:
                    break
                sys.stdout.buffer.write(chunk)
                total += len(chunk)
    sys.stdout.flush()
    print(f"bytes {total}", file=sys.stderr)


def send(target):
    addr, port = target.rsplit(":", 1)
    deadline = time.monotonic() + 10
    while True:
        try:
            conn = socket.create_connection((addr, int(port)), timeout=10)
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    total = 0
    with conn:
        conn.settimeout(None)
        while True:
            chunk = sys.stdin.buffer.read1(1 << 20)
            if not chunk:
                break
            conn.sendall(chunk)
            total += len(chunk)
        conn.shutdown(socket.SHUT_WR)
        conn.recv(1)  # the receiver closes when it has everything
    print(f"bytes {total}", file=sys.stderr)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "recv":
        recv(int(sys.argv[2]))
    elif len(sys.argv) == 3 and sys.argv[1] == "send":
        send(sys.argv[2])
    else:
        sys.exit(__doc__)
