#!/usr/bin/env python3
"""A computer-vision service (the bench's "face" workload): OpenCV's Haar cascades, as
Debian packages them, look for faces in the frames that clients send.

UDP, one frame per datagram: an 8-byte header (client id, frame number; both u32) then a
240x180 8-bit grey image. The answer is
    FRAME <processed> <frame number> <faces> <total faces>
where <processed> counts every frame this process has handled since it started: a
client sees it continue across a migration only if the process (and its memory) did.
The service also keeps the last 512 frames in memory, as a tracker keeps history, so
its memory set is moderate (about 100 MB with Python, NumPy and OpenCV).
"""
import os
import socket
import struct

import cv2
import numpy as np

PORT = int(os.environ.get("FACE_PORT", "9000"))
W, H = 240, 180
CASCADES = "/usr/share/opencv4/haarcascades"


def main():
    cascade = cv2.CascadeClassifier(os.path.join(CASCADES, "haarcascade_frontalface_default.xml"))
    if cascade.empty():
        raise SystemExit("no Haar cascade at " + CASCADES)
    history = np.zeros((512, H, W), dtype=np.uint8)
    processed = total = 0
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("0.0.0.0", PORT))
    while True:
        data, peer = sock.recvfrom(65535)
        if len(data) != 8 + W * H:
            continue
        _client, number = struct.unpack("!II", data[:8])
        frame = np.frombuffer(data, dtype=np.uint8, offset=8).reshape(H, W)
        faces = cascade.detectMultiScale(frame, scaleFactor=1.1, minNeighbors=3)
        history[processed % len(history)] = frame
        processed += 1
        total += len(faces)
        sock.sendto(f"FRAME {processed} {number} {len(faces)} {total}".encode(), peer)


if __name__ == "__main__":
    main()
