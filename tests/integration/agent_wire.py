"""The agent protocol's hello and frames for tests that play a peer by hand
(docs/protocol.md, "Hello" and "Frames"). A frame's checksum is XXH3-64, taken from the
libxxhash dockmig itself links, so no Python package is needed."""
import ctypes
import struct

SPOKEN = (2, 2)  # the protocol versions this module speaks, lowest and highest

_xxh = ctypes.CDLL("libxxhash.so.0")
_xxh.XXH3_64bits_withSeed.restype = ctypes.c_uint64
_xxh.XXH3_64bits_withSeed.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint64]


def hello(lowest=SPOKEN[0], highest=SPOKEN[1]):
    return b"DOCKMIG\n" + struct.pack(">HH", highest, lowest)


def frame(kind, payload):
    seed = (kind << 32) | len(payload)
    checksum = _xxh.XXH3_64bits_withSeed(payload, len(payload), seed)
    return struct.pack(">BIQ", kind, len(payload), checksum) + payload


def message(text):
    return frame(1, text)


def read_hello(read):
    """The peer's range, (lowest, highest), from `read(n)`, which returns n bytes."""
    magic, highest = struct.unpack(">8sH", read(10))
    assert magic == b"DOCKMIG\n", magic
    lowest = struct.unpack(">H", read(2))[0] if highest >= 2 else highest
    return lowest, highest


def read_frame(read):
    """(kind, payload) of the next frame, its checksum checked."""
    kind, length, checksum = struct.unpack(">BIQ", read(13))
    payload = read(length)
    assert _xxh.XXH3_64bits_withSeed(payload, length, (kind << 32) | length) == checksum, "a damaged frame"
    return kind, payload


def parse_frame(data):
    """(kind, payload) of the frame at the start of `data`."""
    kind, length, _ = struct.unpack(">BIQ", data[:13])
    return kind, data[13:13 + length]
