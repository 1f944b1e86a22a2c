#!/usr/bin/env python3
"""A tiny multiplayer state server (the bench's "game" workload), UDP like most game servers.

The world advances every tick (20 Hz): the tick count grows and a few non-player
characters walk around a 64x64 map. Players join implicitly by sending moves:
    MOVE <player> <seq> <dx> <dy>
A move is applied once, when seq is the player's next one (a resent move is not applied
twice); every datagram is answered with the player's state as the server knows it:
    OK <tick> <player> <seq> <x> <y> <players>
or, for a player the server does not know and a move that is not its first,
    UNKNOWN <tick> <player>
which a client reads as "the server lost my state". Nothing is kept on disk: the state is
in memory only, so it continues after a migration only if the process did.
"""
import os
import socket
import threading
import time

PORT = int(os.environ.get("GAME_PORT", "7777"))
TICK = 0.05

tick = 0
players = {}  # name -> [seq, x, y]
npcs = [[i * 7 % 64, i * 13 % 64, 1, -1] for i in range(16)]
lock = threading.Lock()


def world():
    global tick
    next_at = time.monotonic()
    while True:
        next_at += TICK
        with lock:
            tick += 1
            for npc in npcs:
                npc[0] = (npc[0] + npc[2]) % 64
                npc[1] = (npc[1] + npc[3]) % 64
        time.sleep(max(0.0, next_at - time.monotonic()))


def main():
    threading.Thread(target=world, daemon=True).start()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("0.0.0.0", PORT))
    while True:
        data, peer = sock.recvfrom(512)
        try:
            verb, name, seq, dx, dy = data.decode().split()
            seq, dx, dy = int(seq), int(dx), int(dy)
        except ValueError:
            continue
        if verb != "MOVE":
            continue
        with lock:
            state = players.get(name)
            if state is None:
                if seq != 1:
                    sock.sendto(f"UNKNOWN {tick} {name}".encode(), peer)
                    continue
                state = players[name] = [0, 0, 0]
            if seq == state[0] + 1:
                state[0], state[1], state[2] = seq, state[1] + dx, state[2] + dy
            answer = f"OK {tick} {name} {state[0]} {state[1]} {state[2]} {len(players)}"
        sock.sendto(answer.encode(), peer)


if __name__ == "__main__":
    main()
