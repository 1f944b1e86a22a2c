"""A client that holds one TCP connection to a sequence server and sends it the next
number every 50 ms, each answered with "SEQ TOTAL CONNECTIONS" (the server's count of
lines and of connections so far). A lost connection is reconnected and the sequence goes
on. Writes one JSON line per event to LOG: connect, ack, lost; stops once STOP exists.

Usage: sequence_client.py SOURCE_ADDR SERVER_ADDR PORT LOG STOP
"""
import json
import os
import socket
import sys
import time

source, server, port, log_path, stop_path = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
log = open(log_path, "a", buffering=1)


def note(event, **fields):
    log.write(json.dumps(dict(event=event, t=round(time.time(), 3), **fields)) + "\n")


def connect():
    while not os.path.exists(stop_path):
        try:
            connection = socket.create_connection((server, port), timeout=1, source_address=(source, 0))
            # A handoff keeping the connection answers within its downtime (2 s on the
            # bed); one closing it at the freeze sends the client nothing: a reset comes
            # from the destination once the route follows, else this timeout ends it.
            connection.settimeout(15)
            note("connect", local_port=connection.getsockname()[1])
            return connection
        except OSError as error:
            note("connect_failed", error=str(error))
            time.sleep(0.1)
    return None


connection, replies, seq = connect(), b"", 0
while connection and not os.path.exists(stop_path):
    seq += 1
    sent_at = time.time()
    try:
        connection.sendall(b"%d\n" % seq)
        while b"\n" not in replies:
            chunk = connection.recv(4096)
            if not chunk:
                raise ConnectionError("closed by the server")
            replies += chunk
        line, replies = replies.split(b"\n", 1)
        answered, total, connections = (int(word) for word in line.split())
        note("ack", seq=answered, total=total, connections=connections, wait=round(time.time() - sent_at, 3))
    except (OSError, ValueError) as error:
        note("lost", seq=seq, error=str(error))
        connection.close()
        connection, replies = connect(), b""
        continue
    time.sleep(0.05)
