"""/etc/criu/runc.conf for the length of a benchmark run.

runc hands CRIU /etc/criu/runc.conf on every checkpoint and restore. Docker's checkpoint
API has no way to pass CRIU options, and without these two a TCP service that clients keep
connecting to cannot be checkpointed: a connection that arrives while the container is
frozen sits in the accept queue ("In-flight connection"), and one accepted but not yet
closed is an established socket. skip-in-flight drops the first, tcp-close closes the
second (neither could be restored on another host anyway).

dockmig lends the same file for each of its dumps and restores, under a host-wide lock
(src/checkpoint/lent_runc_config.cc); the file is written and removed under that lock too,
or a dump in flight could put back what it saw before. Several benchmarks (on beds of
their own) may run at once: each holds a shared lock on USERS while it runs, and the last
one out removes the file. A file carrying MARK that no running benchmark uses was left by
one that was killed; it is taken over and removed at the end like a new one.
"""
import contextlib
import fcntl
import os

PATH = "/etc/criu/runc.conf"
MARK = "# written by tools/bench/bench for the duration of a benchmark run"
LINES = "skip-in-flight\ntcp-close\n"
DOCKMIG_LOCK = "/run/dockmig-runc-conf.lock"
USERS = "/run/dockmig-bench-runc-conf.users"


@contextlib.contextmanager
def runc_conf_lock():
    """dockmig's host-wide lock on the file (src/checkpoint/lent_runc_config.cc). A plain
    `docker checkpoint create` or `docker start --checkpoint` holds it too: runc hands CRIU
    whatever the file says at that moment, and a dockmig of another bench may have lent it
    lines of its own (a work dir, lazy-pages) for one dump or restore."""
    with open(DOCKMIG_LOCK, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        yield


def _ours():
    try:
        with open(PATH) as f:
            return f.readline().rstrip("\n") == MARK
    except FileNotFoundError:
        return False


class CriuConf:
    """Installs the file for the run (install()), removes it when the last run ends
    (release()). A file that a person wrote is used as it is and never removed."""

    def __init__(self):
        self._users = None

    def install(self, notes):
        with runc_conf_lock():
            self._users = open(USERS, "a")
            fcntl.flock(self._users, fcntl.LOCK_SH)
            if os.path.exists(PATH) and not _ours():
                notes.append(f"{PATH} existed and was used as it is: {open(PATH).read().strip()!r}")
                return
            if not os.path.exists(PATH):
                os.makedirs(os.path.dirname(PATH), exist_ok=True)
                with open(PATH, "w") as f:
                    f.write(MARK + "\n" + LINES)
            notes.append(f"{PATH} held 'skip-in-flight' and 'tcp-close' during the run (all systems)")

    def release(self):
        if self._users is None:
            return
        with runc_conf_lock():
            try:
                fcntl.flock(self._users, fcntl.LOCK_EX | fcntl.LOCK_NB)
                if _ours():
                    os.remove(PATH)
            except BlockingIOError:
                pass  # another benchmark still runs with it
            finally:
                self._users.close()
                self._users = None
