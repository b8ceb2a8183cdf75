"""A throw-away PostgreSQL server for the test session, started from the machine's binaries.

initdb refuses to run as root, so as root the cluster is created and run as the `postgres` user
(or `nobody`) via runuser. The server listens on a unix socket in a private directory only.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path


def find_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    return candidates[0] if candidates else None


class PgServer:
    def __init__(self) -> None:
        self.initdb = find_bin("initdb")
        self.pg_ctl = find_bin("pg_ctl")
        self.dir = Path(tempfile.mkdtemp(prefix="weibao-pg-"))
        self.user = None
        if os.geteuid() == 0:
            for candidate in ("postgres", "nobody"):
                try:
                    pwd.getpwnam(candidate)
                    self.user = candidate
                    break
                except KeyError:
                    continue

    @property
    def available(self) -> bool:
        return bool(self.initdb and self.pg_ctl)

    def _run(self, *args: str) -> None:
        cmd = list(args)
        if self.user:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def start(self) -> str:
        data, sock = self.dir / "data", self.dir / "sock"
        sock.mkdir()
        if self.user:
            info = pwd.getpwnam(self.user)
            os.chown(self.dir, info.pw_uid, info.pw_gid)
            os.chown(sock, info.pw_uid, info.pw_gid)
        self._run(
            self.initdb or "initdb",
            "-D",
            str(data),
            "-U",
            "weibao",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        )
        opts = f"-k {sock} -c listen_addresses='' -c fsync=off -c max_connections=200"
        self._run(
            self.pg_ctl or "pg_ctl", "-D", str(data), "-o", opts, "-w", "-l", str(self.dir / "log"), "start"
        )
        self._run(find_bin("createdb") or "createdb", "-h", str(sock), "-U", "weibao", "weibao")
        return f"postgresql+psycopg://weibao@/weibao?host={sock}"

    def stop(self) -> None:
        try:
            self._run(self.pg_ctl or "pg_ctl", "-D", str(self.dir / "data"), "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)
