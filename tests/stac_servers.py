"""Real servers on 127.0.0.1 for the remote-input tests: nginx for COGs, a pgstac STAC API.

- nginx (Debian's package) serves a folder of COGs with HTTP range requests, as object
  stores and CDNs do. Under ``/flaky/`` it closes the connection without a reply (nginx's
  ``return 444``) for every range request that does not start at byte 0: the header opens,
  the first tile read loses its connection mid-run.
- stac-fastapi-pgstac (the STAC API server behind several public catalogues) on pgstac in
  Debian's PostgreSQL 15 with PostGIS, installed into its own virtual environment
  (``.venv-stac``, pinned in ``tests/stac_server/requirements.txt``; ``make stac-server``)
  because it is a separate deployment with its own dependency pins.

Each class is a context manager that starts its process on a free port and stops it; a
missing program raises :class:`Unavailable` naming the install step.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STAC_VENV = ROOT / ".venv-stac"
PG_BIN = Path("/usr/lib/postgresql/15/bin")


class Unavailable(RuntimeError):
    """A server program is not installed here."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http(url: str, proc: subprocess.Popen, log: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status < 500:
                    return
        except urllib.error.HTTPError as exc:
            if exc.code < 500:
                return  # it answers (e.g. 403 for a folder without index)
            time.sleep(0.2)
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s: {log.read_text()[-2000:]}")


def _stop(proc: subprocess.Popen | None) -> None:
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


class Nginx:
    """nginx serving ``root`` at ``http://127.0.0.1:<port>/`` (and ``/flaky/`` for fault tests)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> Nginx:
        exe = shutil.which("nginx") or "/usr/sbin/nginx"
        if not os.path.exists(exe):
            raise Unavailable("nginx is not installed (apt-get install nginx-light)")
        self.prefix = Path(tempfile.mkdtemp(prefix="agromap-nginx-"))
        user = "user root;" if os.geteuid() == 0 else ""
        conf = self.prefix / "nginx.conf"
        conf.write_text(f"""
{user}
worker_processes 1;
daemon off;
pid {self.prefix}/nginx.pid;
error_log {self.prefix}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log {self.prefix}/access.log;
    client_body_temp_path {self.prefix}/body;
    proxy_temp_path {self.prefix}/proxy;
    fastcgi_temp_path {self.prefix}/fastcgi;
    uwsgi_temp_path {self.prefix}/uwsgi;
    scgi_temp_path {self.prefix}/scgi;
    types {{ image/tiff tif; application/json json; }}
    server {{
        listen 127.0.0.1:{self.port};
        root {self.root};
        location /flaky/ {{
            alias {self.root}/;
            if ($http_range !~ "^bytes=0-") {{ return 444; }}
        }}
    }}
}}
""")
        self.log = self.prefix / "stderr.log"
        self.proc = subprocess.Popen([exe, "-c", str(conf), "-p", str(self.prefix)],
                                     stdout=subprocess.DEVNULL, stderr=self.log.open("w"))
        _wait_http(self.url + "/", self.proc, self.log)
        return self

    def access_log(self) -> list[str]:
        return (self.prefix / "access.log").read_text().splitlines()

    def __exit__(self, *exc: object) -> None:
        _stop(self.proc)
        shutil.rmtree(self.prefix, ignore_errors=True)


def _as_postgres(cmd: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root; CI runs as root.
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


class PgStacApi:
    """PostgreSQL + pgstac + stac-fastapi-pgstac on 127.0.0.1, loaded with ``collection``/``items``."""

    def __init__(self, collection: dict, items: list[dict]) -> None:
        self.collection = collection
        self.items = items
        self.pg_port = free_port()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.pg: subprocess.Popen | None = None
        self.api: subprocess.Popen | None = None

    def __enter__(self) -> PgStacApi:
        for need, how in ((PG_BIN / "initdb", "apt-get install postgresql-15 postgresql-15-postgis-3"),
                          (Path("/usr/share/postgresql/15/extension/postgis.control"), "apt-get install postgresql-15-postgis-3"),
                          (STAC_VENV / "bin" / "uvicorn", "make stac-server")):
            if not need.exists():
                raise Unavailable(f"{need} is missing ({how})")
        self.dir = Path(tempfile.mkdtemp(prefix="agromap-pgstac-"))
        data = self.dir / "pg"
        data.mkdir()
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres")
            shutil.chown(data, "postgres")
        subprocess.run(_as_postgres([str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
                                     "-E", "UTF8", "--no-sync"]), check=True, capture_output=True)
        self.pg_log = self.dir / "pg.log"
        self.pg = subprocess.Popen(
            _as_postgres([str(PG_BIN / "postgres"), "-D", str(data), "-p", str(self.pg_port), "-h", "127.0.0.1",
                          "-k", str(self.dir), "-c", "fsync=off", "-c", "full_page_writes=off"]),
            stdout=subprocess.DEVNULL, stderr=self.pg_log.open("w"))
        dsn = f"postgresql://postgres@127.0.0.1:{self.pg_port}/postgres"
        pypgstac = str(STAC_VENV / "bin" / "pypgstac")
        deadline = time.monotonic() + 60
        while True:
            ready = subprocess.run([str(PG_BIN / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.pg_port)],
                                   capture_output=True)
            if ready.returncode == 0:
                break
            if self.pg.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"PostgreSQL did not start: {self.pg_log.read_text()[-2000:]}")
            time.sleep(0.2)
        subprocess.run([pypgstac, "migrate", "--dsn", dsn], check=True, capture_output=True)
        coll = self.dir / "collection.json"
        coll.write_text(json.dumps(self.collection))
        items = self.dir / "items.ndjson"
        items.write_text("\n".join(json.dumps(i) for i in self.items) + "\n")
        subprocess.run([pypgstac, "load", "collections", str(coll), "--dsn", dsn, "--method", "upsert"],
                       check=True, capture_output=True)
        subprocess.run([pypgstac, "load", "items", str(items), "--dsn", dsn, "--method", "upsert"],
                       check=True, capture_output=True)
        env = {**os.environ, "PGUSER": "postgres", "PGPASSWORD": "", "PGHOST": "127.0.0.1",
               "PGPORT": str(self.pg_port), "PGDATABASE": "postgres",
               "POSTGRES_USER": "postgres", "POSTGRES_PASS": "", "POSTGRES_HOST_READER": "127.0.0.1",
               "POSTGRES_HOST_WRITER": "127.0.0.1", "POSTGRES_PORT": str(self.pg_port),
               "POSTGRES_DBNAME": "postgres"}
        self.api_log = self.dir / "api.log"
        self.api = subprocess.Popen(
            [str(STAC_VENV / "bin" / "uvicorn"), "stac_fastapi.pgstac.app:create_app", "--factory", "--host", "127.0.0.1",
             "--port", str(self.port), "--log-level", "warning"],
            env=env, stdout=subprocess.DEVNULL, stderr=self.api_log.open("w"), cwd=self.dir)
        _wait_http(self.url + "/", self.api, self.api_log, timeout=90)
        return self

    def __exit__(self, *exc: object) -> None:
        _stop(self.api)
        _stop(self.pg)
        shutil.rmtree(self.dir, ignore_errors=True)


if __name__ == "__main__":  # a smoke check: python tests/stac_servers.py
    with Nginx(Path(sys.argv[1] if len(sys.argv) > 1 else ".")) as n:
        print("nginx", n.url)
