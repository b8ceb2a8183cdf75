"""What `weibao serve` must have to itself: its port, and on SQLite the database file.

granian binds with SO_REUSEPORT, so a second server on a busy port starts without a word and the
kernel splits the connections between the two. A probe bind without that option fails where another
listener holds the port. SQLite has one writer process: a second server on the same file would fire
the same timers and replace the first one's demo tokens, so the file is locked for the server's life.
"""

from __future__ import annotations

import errno
import fcntl
import os
import socket
from pathlib import Path
from typing import IO


class Refused(Exception):
    """The server cannot start; the message says why, for a person."""


def check_port_free(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as probe:
        # A closed connection's TIME_WAIT is no server: SO_REUSEADDR lets the probe past it only.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise Refused(f"port {port} on {host} is in use by another process (another weibao "
                              f"serve?); stop it or choose another --port") from exc
            raise Refused(f"cannot listen on {host}:{port}: {exc.strerror}") from exc


def sqlite_path(url: str) -> Path | None:
    """The database file of a SQLite URL; None for PostgreSQL and in-memory databases."""
    prefix = "sqlite:///"
    if not url.startswith(prefix):
        return None
    path = url[len(prefix):].split("?", 1)[0]
    return Path(path) if path and path != ":memory:" else None


def lock_database(url: str) -> IO[str] | None:
    """Hold `<database>.lock` until the process ends (the kernel drops the lock with the last open
    descriptor, so a killed server leaves nothing to clean up). Forked workers share the lock."""
    path = sqlite_path(url)
    if path is None:
        return None
    lock_path = path.with_name(path.name + ".lock")
    handle = open(lock_path, "a+")  # noqa: SIM115 - kept open on purpose: it is the lock
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise Refused(f"{path} is in use by weibao process {holder}: SQLite serves one process; stop "
                      f"it first, or use PostgreSQL for more than one") from exc
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle
