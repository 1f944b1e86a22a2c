#!/usr/bin/python3
"""The benchmark's clients: one per workload, each outside the container, like a user.

    client.py WORKLOAD --addrs A[,B] --port P [--ready SECONDS] [--media FILE]
    client.py ram-load --addrs A --port P [--ram-mib M --random-pct P --dirty-mib D]
    client.py postgres-load --addrs A --port P --db-mib M
    client.py postgres-sql --addrs A --port P --sql QUERY   (prints the rows as JSON)

A client asks its service a small question again and again (every INTERVAL), each time
on a new connection or datagram, and checks every answer against what it knows the
service's state must be (the state continues, it never restarts). It tries the address
that answered last, and the other one after a failure, so it follows the service from the
source edge to the destination. On SIGTERM it prints one JSON object: how many answers,
the longest time without one (the interruption the user saw), and whether the state
continued. With --ready it exits 0 at the first good answer (1 after SECONDS).

Workloads and what "the state continues" means:
  idle   busybox httpd: GET /token; the token written at start never changes
  game   UDP moves of 4 players; the server's position of each player is the sum of the
         moves it acknowledged, and its tick never goes back
  ram    redis with 288 MiB of values, half random: INCR a counter (never goes back), and
         GET a random 64 KiB value that the loader wrote (it must be unchanged). The size
         and random share are options (--ram-mib, --random-pct). With --dirty-mib a writer
         thread keeps rewriting that working set with random values (--dirty-rate MB/s)
         on the source until the service answers at the destination; a dirty key read back
         must hold a version between the last acknowledged and the last sent
  video  nginx: 32 KiB ranges of the media file in order, like a player at ~2.6 Mbit/s;
         every byte must match the file (--media)
  face   UDP frames of 240x180 grey; the service's count of processed frames never goes
         back
  postgres  PostgreSQL: on one kept connection (a new one after a failure), INSERT the
         next number of the client's own sequence with a 2 KB payload and wait for the
         commit's acknowledgement; after every new connection and at the end, every
         acknowledged number must be in the table (rows_lost counts those that are not).
         A number whose answer never came is neither (its row may or may not exist); the
         next insert takes the next number. postgres-load first fills a table with
         --db-mib MiB of rows at 200 bytes each (the volume's bulk: text with a random
         md5 each; on disk the table is about 13% smaller: 200 gives 174 MiB)
Only the standard library is used: the clients run in the bed's namespaces on the host.
"""
import argparse
import json
import random
import signal
import socket
import struct
import sys
import threading
import time

stop = False


def on_term(_signo, _frame):
    global stop
    stop = True


class StateLost(Exception):
    pass


def tcp_ask(addr, port, payload, timeout, want=None):
    """Sends payload on a new TCP connection and reads the answer until the server closes
    (or `want` bytes arrived)."""
    with socket.create_connection((addr, port), timeout=timeout) as s:
        s.settimeout(timeout)
        s.sendall(payload)
        chunks, got = [], 0
        deadline = time.monotonic() + timeout
        while want is None or got < want:
            s.settimeout(max(0.01, deadline - time.monotonic()))
            chunk = s.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)


def udp_ask(addr, port, payload, timeout):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(payload, (addr, port))
        data, _ = s.recvfrom(65535)
        return data


def http_get(addr, port, path, timeout, extra=""):
    answer = tcp_ask(addr, port, f"GET {path} HTTP/1.0\r\nHost: bench\r\nConnection: close\r\n{extra}\r\n".encode(), timeout)
    head, _, body = answer.partition(b"\r\n\r\n")
    status = head.split(b"\r\n", 1)[0]
    if b" 200 " not in status and b" 206 " not in status:
        raise OSError(f"HTTP answer {status!r}")
    return body


def resp(*words):
    out = [f"*{len(words)}\r\n".encode()]
    for w in words:
        w = w if isinstance(w, bytes) else str(w).encode()
        out += [f"${len(w)}\r\n".encode(), w, b"\r\n"]
    return b"".join(out)


# ---- workloads: each has ask(addr) -> a short description of the state it saw ---------

class Idle:
    interval, timeout = 0.05, 0.2

    def __init__(self, args):
        self.port, self.token = args.port, None

    def ask(self, addr):
        token = http_get(addr, self.port, "/token", self.timeout).strip().decode()
        if self.token is None:
            self.token = token
        elif token != self.token:
            raise StateLost(f"token changed from {self.token} to {token}: the service restarted")
        return f"token {token}"


class Game:
    interval, timeout = 0.05, 0.1

    def __init__(self, args):
        self.port = args.port
        tag = random.randrange(1 << 30)
        self.players = [f"p{tag}-{i}" for i in range(4)]
        self.seq = {p: 0 for p in self.players}          # last move the server acknowledged
        self.pos = {p: {0: (0, 0)} for p in self.players}  # position after each move
        self.tick, self.turn, self.rng = 0, 0, random.Random(tag)

    def ask(self, addr):
        p = self.players[self.turn % len(self.players)]
        seq = self.seq[p] + 1
        if seq not in self.pos[p]:
            dx, dy = self.rng.randint(-3, 3), self.rng.randint(-3, 3)
            x, y = self.pos[p][seq - 1]
            self.pos[p][seq] = (x + dx, y + dy)
            self.pos[p][(seq, "move")] = (dx, dy)
        dx, dy = self.pos[p][(seq, "move")]
        answer = udp_ask(addr, self.port, f"MOVE {p} {seq} {dx} {dy}".encode(), self.timeout).decode().split()
        if answer[0] == "UNKNOWN":
            raise StateLost(f"the server does not know player {p} any more (tick {answer[1]})")
        _, tick, name, aseq, x, y, _n = answer
        tick, aseq, x, y = int(tick), int(aseq), int(x), int(y)
        if name != p or aseq not in (seq, seq - 1):
            raise StateLost(f"answer for {name} seq {aseq}, asked {p} seq {seq}")
        if self.pos[p][aseq] != (x, y):
            raise StateLost(f"player {p} at {(x, y)} after move {aseq}, expected {self.pos[p][aseq]}")
        if tick < self.tick:
            raise StateLost(f"the world's tick went back from {self.tick} to {tick}")
        self.seq[p], self.tick = aseq, tick
        self.turn += 1
        return f"tick {tick}, {p} at {x},{y} after {aseq} moves"


RAM_VALUE = 64 * 1024    # bytes per key
RAM_SEED = 20170613


def ram_value(k, random_half):
    if random_half:
        return random.Random(RAM_SEED + k).randbytes(RAM_VALUE)
    line = f"frame {k} of a compressible half: sensor readings 0000 1111 2222 3333\n".encode()
    return (line * (RAM_VALUE // len(line) + 1))[:RAM_VALUE]


def ram_layout(args):
    """How many 64 KiB values are random (rand:K) and how many text (text:K): ram is 288 MiB,
    half random, 2304 keys of each."""
    keys = args.ram_mib * 1024 * 1024 // RAM_VALUE
    rand = int(keys * args.random_pct / 100)
    return rand, keys - rand


def dirty_value(k, version):
    """The dirtier's value of dirty:K at VERSION: a header naming both, then random bytes that
    only they decide (so a value read back says which write it is, and can be checked)."""
    head = f"dirty {k} {version:012d}\n".encode()
    return head + random.Random(f"{RAM_SEED}-{k}-{version}").randbytes(RAM_VALUE - len(head))


class Dirtier(threading.Thread):
    """Rewrites dirty:K (K in the working set) with new random values at RATE bytes a second,
    one SET at a time on a kept connection, to the source address only: it makes the
    container dirty memory faster than the edge link carries it while the handoff runs, and
    stops once the service answers at the destination (whose link it would fill).
    issued[k] is the newest version sent, acked[k] the newest redis acknowledged: a value
    read back must lie between the two."""

    def __init__(self, addr, port, keys, rate):
        super().__init__(daemon=True)
        self.addr, self.port, self.keys, self.rate = addr, port, keys, rate
        self.lock = threading.Lock()
        self.issued, self.acked = [0] * keys, [0] * keys
        self.recent = []          # the last keys acknowledged, newest last
        self.writes, self.bytes, self.errors = 0, 0, 0
        self.started = self.stopped_at = None
        self.done = threading.Event()

    def run(self):
        self.started = pace_start = time.time()
        paced = 0   # bytes written since pace_start
        rng, sock, reader = random.Random(), None, None
        while not self.done.is_set():
            ahead = paced / self.rate - (time.time() - pace_start)
            if ahead < -0.5:   # behind after a stall (the freeze): no burst to catch up
                pace_start, paced, ahead = time.time(), 0, 0
            if ahead > 0:
                time.sleep(min(ahead, 0.1))
                continue
            k = rng.randrange(self.keys)
            with self.lock:
                self.issued[k] += 1
                version = self.issued[k]
            try:
                if sock is None:
                    sock = socket.create_connection((self.addr, self.port), timeout=5)
                    reader = sock.makefile("rb")
                sock.sendall(resp("SET", f"dirty:{k}", dirty_value(k, version)))
                if not reader.readline().startswith(b"+OK"):
                    raise OSError("SET not acknowledged")
            except OSError:
                self.errors += 1
                if sock is not None:
                    sock.close()
                sock = None
                time.sleep(0.1)
                continue
            with self.lock:
                self.acked[k] = max(self.acked[k], version)
                self.recent = (self.recent + [k])[-64:]
            self.writes += 1
            self.bytes += RAM_VALUE
            paced += RAM_VALUE
        self.stopped_at = time.time()
        if sock is not None:
            sock.close()

    def stop(self):
        if not self.done.is_set():
            self.done.set()
            self.join(timeout=10)

    def check(self, addr, port):
        """Reads one dirty key (one written lately, once the dirtier has stopped) and raises
        StateLost unless it holds a version between the acknowledged and the newest sent."""
        with self.lock:
            k = random.choice(self.recent) if self.done.is_set() and self.recent else random.randrange(self.keys)
            low = self.acked[k]
        head = f"${RAM_VALUE}\r\n".encode()
        got = tcp_ask(addr, port, resp("GET", f"dirty:{k}"), 1.0, want=len(head) + RAM_VALUE + 2)
        if len(got) < len(head) + RAM_VALUE:
            raise OSError(f"short answer to GET dirty:{k}")
        value = got[len(head):len(head) + RAM_VALUE]
        with self.lock:
            high = self.issued[k]
        try:
            version = int(value.split(b"\n", 1)[0].split()[2])
        except (IndexError, ValueError):
            raise StateLost(f"dirty:{k} holds no value the dirtier wrote") from None
        if not low <= version <= high or value != dirty_value(k, version):
            raise StateLost(f"dirty:{k} holds version {version}; acknowledged {low}, newest sent {high}")

    def summary(self):
        end = self.stopped_at or time.time()
        seconds = end - self.started if self.started else 0
        return {"writes": self.writes, "mb": round(self.bytes / 1e6, 1), "seconds": round(seconds, 1),
                "mb_per_s": round(self.bytes / 1e6 / seconds, 2) if seconds else 0, "errors": self.errors,
                "keys": self.keys}


class Ram:
    interval, timeout = 0.05, 0.2

    def __init__(self, args):
        self.port, self.counter, self.n = args.port, None, 0
        self.rand_keys, _ = ram_layout(args)
        self.addrs = args.addrs
        self.dirtier = None
        if args.dirty_mib and not args.ready:
            self.dirtier = Dirtier(args.addrs[0], args.port, args.dirty_mib * 1024 * 1024 // RAM_VALUE,
                                   args.dirty_rate * 1e6)
            self.dirtier.start()

    def ask(self, addr):
        answer = tcp_ask(addr, self.port, resp("INCR", "bench:counter"), self.timeout, want=3)
        if not answer.startswith(b":"):
            raise OSError(f"redis answered {answer[:40]!r}")
        value = int(answer[1:].split(b"\r\n")[0])
        if self.counter is not None and value <= self.counter:
            raise StateLost(f"counter went back from {self.counter} to {value}")
        self.counter = value
        self.n += 1
        if self.dirtier and addr != self.addrs[0]:
            self.dirtier.stop()   # the service moved: the dirtier's job is done
        if self.n % 10 == 0 and self.rand_keys:  # and a value the loader wrote, unchanged
            k = random.randrange(self.rand_keys)
            head = f"${RAM_VALUE}\r\n".encode()
            got = tcp_ask(addr, self.port, resp("GET", f"rand:{k}"), 1.0, want=len(head) + RAM_VALUE + 2)
            if got[:len(head)] != head or got[len(head):len(head) + RAM_VALUE] != ram_value(k, True):
                raise StateLost(f"rand:{k} is not the value the loader wrote")
        if self.dirtier and self.n % 10 == 5:
            self.dirtier.check(addr, self.port)
        return f"counter {value}"

    def summary(self):
        if not self.dirtier:
            return {}
        self.dirtier.stop()
        return {"dirtier": self.dirtier.summary()}


def ram_load(args):
    """Fills redis with --ram-mib of 64 KiB values, --random-pct of them random
    (incompressible), the rest text, and the dirtier's working set (--dirty-mib) at version 0."""
    rand, text = ram_layout(args)
    dirty = args.dirty_mib * 1024 * 1024 // RAM_VALUE
    values = [(f"rand:{k}", lambda k=k: ram_value(k, True)) for k in range(rand)]
    values += [(f"text:{k}", lambda k=k: ram_value(k, False)) for k in range(text)]
    values += [(f"dirty:{k}", lambda k=k: dirty_value(k, 0)) for k in range(dirty)]
    with socket.create_connection((args.addrs[0], args.port), timeout=30) as s:
        f = s.makefile("rb")
        for start in range(0, len(values), 64):  # pipelined, 64 SETs before reading their answers
            batch = values[start:start + 64]
            s.sendall(b"".join(resp("SET", key, make()) for key, make in batch))
            for _ in batch:
                line = f.readline()
                if not line.startswith(b"+OK"):
                    raise SystemExit(f"SET failed: {line!r}")
        s.sendall(resp("INFO", "memory"))
        size = int(f.readline()[1:])
        info = f.read(size + 2).decode()
    rss = next(int(l.split(":")[1]) for l in info.splitlines() if l.startswith("used_memory_rss:"))
    print(json.dumps({"loaded_bytes": len(values) * RAM_VALUE, "used_memory_rss": rss}))


class Video:
    interval, timeout, chunk = 0.1, 0.5, 32 * 1024

    def __init__(self, args):
        self.port, self.offset = args.port, 0
        self.media = open(args.media, "rb")
        self.size = self.media.seek(0, 2)

    def ask(self, addr):
        end = min(self.offset + self.chunk, self.size) - 1
        body = http_get(addr, self.port, "/video.mp4", self.timeout, f"Range: bytes={self.offset}-{end}\r\n")
        self.media.seek(self.offset)
        if body != self.media.read(end - self.offset + 1):
            raise StateLost(f"bytes {self.offset}-{end} of the media differ from the file")
        self.offset = (end + 1) % self.size
        return f"played to byte {self.offset}"


class Face:
    interval, timeout = 0.1, 0.5
    W, H = 240, 180

    def __init__(self, args):
        self.port, self.processed, self.number = args.port, None, 0
        self.client = random.randrange(1 << 31)
        self.noise = random.Random(1).randbytes(self.W * self.H * 2)

    def ask(self, addr):
        self.number += 1
        # A moving textured frame (a camera pointed at a scene that shifts).
        shift = (self.number * 977) % (self.W * self.H)
        frame = self.noise[shift:shift + self.W * self.H]
        answer = udp_ask(addr, self.port, struct.pack("!II", self.client, self.number) + frame, self.timeout)
        _, processed, number, faces, _total = answer.decode().split()
        processed = int(processed)
        if int(number) != self.number:
            raise OSError("an answer to an older frame")
        if self.processed is not None and processed <= self.processed:
            raise StateLost(f"processed-frame count went back from {self.processed} to {processed}: the service restarted")
        self.processed = processed
        return f"frame {processed} processed, {faces} faces"


class PgError(OSError):
    pass


class PgConnection:
    """A PostgreSQL connection over the wire protocol (version 3, simple queries), to a
    server that trusts the client (no password), as user and database `postgres`."""

    def __init__(self, addr, port, timeout):
        self.sock = socket.create_connection((addr, port), timeout=timeout)
        self.reader = self.sock.makefile("rb")
        params = b"user\0postgres\0database\0postgres\0\0"
        self.sock.sendall(struct.pack("!II", 8 + len(params), 3 << 16) + params)
        self._answer()

    def _message(self):
        head = self.reader.read(5)
        if len(head) < 5:
            raise PgError("the server closed the connection")
        kind, length = head[:1], struct.unpack("!I", head[1:])[0]
        return kind, self.reader.read(length - 4)

    def _answer(self):
        """Messages until ReadyForQuery: the data rows, each a list of text values."""
        rows, error = [], None
        while True:
            kind, body = self._message()
            if kind == b"Z":
                break
            if kind == b"E":
                error = " ".join(f[1:].decode(errors="replace") for f in body.split(b"\0") if f[:1] in (b"S", b"M"))
            elif kind == b"R" and struct.unpack("!I", body[:4])[0] != 0:
                raise PgError("the server asks for a password; the bench's servers trust their clients")
            elif kind == b"D":
                count, pos, row = struct.unpack("!H", body[:2])[0], 2, []
                for _ in range(count):
                    size = struct.unpack("!i", body[pos:pos + 4])[0]
                    pos += 4
                    row.append(None if size < 0 else body[pos:pos + size].decode())
                    pos += max(size, 0)
                rows.append(row)
        if error:
            raise PgError(f"PostgreSQL: {error}")
        return rows

    def query(self, sql):
        payload = sql.encode() + b"\0"
        self.sock.sendall(b"Q" + struct.pack("!I", 4 + len(payload)) + payload)
        return self._answer()

    def close(self):
        try:
            self.sock.sendall(b"X" + struct.pack("!I", 4))
        except OSError:
            pass
        self.sock.close()


class Postgres:
    interval, timeout = 0.05, 1.0

    def __init__(self, args):
        self.port, self.addrs = args.port, args.addrs
        self.conn = self.conn_addr = self.last_addr = None
        self.next = 1
        self.acked, self.unanswered = [], []
        self.connections, self.lost, self.unanswered_present = 0, [], 0
        self.acked_by = {}           # address -> numbers it acknowledged
        self.run = random.randrange(1 << 31)   # this client's rows, beside other clients'

    def _connect(self, addr):
        if self.conn is not None:
            self.conn.close()
            self.conn = None
        conn = PgConnection(addr, self.port, self.timeout)
        if self.connections == 0:
            conn.query("CREATE TABLE IF NOT EXISTS bench_seq (run bigint, n bigint, payload text NOT NULL, "
                       "PRIMARY KEY (run, n))")
        self.conn, self.conn_addr = conn, addr
        self.connections += 1
        self._check(conn)

    def _check(self, conn):
        """Every acknowledged number must be in the table; raises StateLost if not."""
        if not self.acked:
            return
        present = {int(r[0]) for r in conn.query(f"SELECT n FROM bench_seq WHERE run = {self.run}")}
        self.lost = [n for n in self.acked if n not in present]
        self.unanswered_present = sum(1 for n in self.unanswered if n in present)
        if self.lost:
            raise StateLost(f"{len(self.lost)} acknowledged rows are not in the table (first {self.lost[0]})")

    def ask(self, addr):
        if self.conn is None or self.conn_addr != addr:
            self._connect(addr)
        n = self.next
        self.next += 1
        try:
            self.conn.query(f"INSERT INTO bench_seq VALUES ({self.run}, {n}, repeat(md5(random()::text), 64))")
        except OSError:
            self.unanswered.append(n)
            self.conn.close()
            self.conn = None
            raise
        self.acked.append(n)
        self.acked_by.setdefault(addr, []).append(n)
        self.last_addr = addr
        return f"row {n} committed"

    def summary(self):
        """The end: the last acknowledged rows checked again on a new connection."""
        out = {"rows_acked": len(self.acked), "rows_unanswered": len(self.unanswered),
               "connections": self.connections,
               "acked_range_by": {a: [ns[0], ns[-1]] for a, ns in self.acked_by.items()}}
        try:
            if self.last_addr:
                conn = PgConnection(self.last_addr, self.port, 5.0)
                try:
                    self._check(conn)
                finally:
                    conn.close()
            out["rows_lost"] = len(self.lost)
        except StateLost:
            out["rows_lost"] = len(self.lost)
        except OSError as e:
            out["final_check_error"] = str(e)
        out["unanswered_committed"] = self.unanswered_present
        return out


def postgres_load(args):
    """Fills table filler with --db-mib MiB of rows, counted at 200 bytes a row: a
    number, a line of text and a random md5 (hex) each. Prints the sizes PostgreSQL
    counts (the table comes out about 13% smaller than the estimate)."""
    rows = args.db_mib * 1024 * 1024 // 200
    conn = PgConnection(args.addrs[0], args.port, 600)
    conn.query("DROP TABLE IF EXISTS filler")
    conn.query("BEGIN; CREATE TABLE filler AS SELECT g AS id, 'order ' || g || ' of customer ' || (g % 9973) || "
               "' shipped from the edge warehouse; items 3, state delivered, note none; ' || md5(random()::text) "
               f"AS line FROM generate_series(1, {rows}) g; COMMIT; CHECKPOINT")
    size = int(conn.query("SELECT pg_total_relation_size('filler')")[0][0])
    database = int(conn.query("SELECT pg_database_size('postgres')")[0][0])
    conn.close()
    print(json.dumps({"table_bytes": size, "database_bytes": database, "rows": rows}))


WORKLOADS = {"idle": Idle, "game": Game, "ram": Ram, "video": Video, "face": Face, "postgres": Postgres}


def ends(items, head, tail):
    return items if len(items) <= head + tail else items[:head] + items[-tail:]


def run(args):
    client = WORKLOADS[args.workload](args)
    addrs, current = args.addrs, 0
    answers, failures, by_addr = 0, 0, {a: 0 for a in addrs}
    first_ok = last_ok = None
    max_gap, gap_at = 0.0, None
    state_ok, state_error, last_state = True, "", ""
    started = time.time()
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    failed_since_answer = False
    # The probes since the last answer, and those of the longest gap: where a client-seen
    # gap's time went (which address, how long each try waited, what it got).
    probes, gap_probes = [], []
    while not stop:
        t = time.time()
        addr = addrs[current]
        try:
            last_state = client.ask(addr)
        except StateLost as e:
            state_ok, state_error = False, str(e)
            break
        except (OSError, ValueError, IndexError) as e:
            probes.append([t, addr, round(time.time() - t, 3), f"{type(e).__name__}: {e}"[:60]])
            failures += 1
            failed_since_answer = True
            current = (current + 1) % len(addrs)
            if args.ready and time.time() - started > args.ready:
                print(f"no answer from {addrs} within {args.ready} s: {e}", file=sys.stderr)
                return 1
            time.sleep(0.01)
            continue
        now = time.time()
        answers += 1
        by_addr[addr] += 1
        if args.ready:
            return 0
        if last_ok is not None and now - last_ok > max_gap:
            max_gap, gap_at = now - last_ok, last_ok
            gap_probes = probes + [[t, addr, round(now - t, 3), "answer"]]
        probes = []
        first_ok = first_ok or now
        last_ok = now
        failed_since_answer = False
        time.sleep(max(0.0, client.interval - (time.time() - t)))
    if failed_since_answer and last_ok is not None and time.time() - last_ok > max_gap:
        max_gap, gap_at = time.time() - last_ok, last_ok   # no answer since: the gap lasts to the end
        gap_probes = probes
    print(json.dumps({
        "workload": args.workload, "answers": answers, "failures": failures, "answered_by": by_addr,
        "first_answer": first_ok, "last_answer": last_ok, "max_gap_seconds": round(max_gap, 3),
        "max_gap_started": gap_at,
        "max_gap_probes": [[round(p[0] - gap_at, 3), *p[1:]] for p in ends(gap_probes, 10, 30)] if gap_at else [],
        "state_ok": state_ok, "state_error": state_error,
        "last_state": last_state, **(client.summary() if hasattr(client, "summary") else {}),
    }))
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("workload", choices=sorted(WORKLOADS) + ["ram-load", "postgres-load", "postgres-sql"])
    parser.add_argument("--addrs", required=True, type=lambda s: s.split(","))
    parser.add_argument("--port", required=True, type=int)
    parser.add_argument("--ready", type=float, default=0, help="exit 0 at the first good answer; 1 after this many seconds")
    parser.add_argument("--media", help="video: the media file the server serves, to check every byte")
    parser.add_argument("--ram-mib", type=int, default=288, help="ram: MiB of 64 KiB values the loader writes (288)")
    parser.add_argument("--random-pct", type=float, default=50, help="ram: percent of them random, the rest text (50)")
    parser.add_argument("--dirty-mib", type=int, default=0,
                        help="ram: a working set of this many MiB that a writer keeps rewriting with random values")
    parser.add_argument("--dirty-rate", type=float, default=6.0, help="ram: the writer's MB a second (6)")
    parser.add_argument("--db-mib", type=int, default=200, help="postgres-load: MiB of rows to load (200)")
    parser.add_argument("--sql", help="postgres-sql: the query")
    args = parser.parse_args()
    if args.workload == "ram-load":
        ram_load(args)
        return 0
    if args.workload == "postgres-load":
        postgres_load(args)
        return 0
    if args.workload == "postgres-sql":
        conn = PgConnection(args.addrs[0], args.port, 30)
        print(json.dumps(conn.query(args.sql)))
        conn.close()
        return 0
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
