"""Peers that trickle their handshake to an agent a byte at a time, to show that they cannot
hold its handshake places past its deadline (docs/protocol.md, "Hello").

trickle_peers.py HOST PORT COUNT KIND LOG: opens COUNT connections, then sends each one
byte of its handshake every 5 s: KIND `hello` is a dockmig hello (for an --insecure
agent), `tls` the start of a TLS ClientHello record. Once every connection is open it
writes the time to LOG.open; once the agent has closed them all (or after 120 s) it writes
LOG, a JSON list with, per peer: `sent` (bytes sent), `whole` (the handshake's length),
`held` (seconds from connect to the agent's close, null if never closed) and `closed_at`.
"""
import json
import select
import socket
import sys
import time

import agent_wire

INTERVAL = 5
GIVE_UP = 120


def handshake(kind):
    if kind == "hello":
        return agent_wire.hello()
    # A handshake record announcing a 512-byte ClientHello: a TLS server waits for all of it.
    return bytes([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xFC, 0x03, 0x03]) + bytes(501)


def closed_by_agent(peer):
    try:
        return not peer["socket"].recv(4096)  # an --insecure agent sends its own hello first
    except OSError:
        return True


def main():
    host, port, count, kind, log = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
    whole = handshake(kind)
    peers = []
    for _ in range(count):
        peers.append({"socket": socket.create_connection((host, port), timeout=5), "connected": time.time(),
                      "sent": 0, "closed": None})
    with open(log + ".open", "w") as marker:
        marker.write(str(time.time()))
    next_byte, give_up = time.time(), time.time() + GIVE_UP
    while time.time() < give_up and any(p["closed"] is None for p in peers):
        if time.time() >= next_byte:
            for p in peers:
                if p["closed"] is None and p["sent"] < len(whole):
                    try:
                        p["socket"].send(whole[p["sent"]:p["sent"] + 1])
                        p["sent"] += 1
                    except OSError:
                        p["closed"] = time.time()
            next_byte += INTERVAL
        waiting = [p for p in peers if p["closed"] is None]
        readable, _, _ = select.select([p["socket"] for p in waiting], [], [], 0.2)
        for p in waiting:
            if p["socket"] in readable and closed_by_agent(p):
                p["closed"] = time.time()
    with open(log, "w") as out:
        json.dump([{"sent": p["sent"], "whole": len(whole), "closed_at": p["closed"],
                    "held": None if p["closed"] is None else p["closed"] - p["connected"]} for p in peers], out)


if __name__ == "__main__":
    main()
