"""``python -m agromap`` as real processes forked from one interpreter that imported the array stack.

A fresh ``python -m agromap run`` spends ~1.5-2 CPU-s importing numpy, xarray, dask, rasterio and
distributed before it reads its first argument; the command-line tests start dozens of them. The
fork server here (as multiprocessing's ``forkserver`` does) imports that stack once, then forks
one child per request; from the fork on, the child runs exactly as ``python -m agromap ARGS``:
its own pid, argv, working directory, environment, stdout and stderr, and its own exit status
(negative: killed by that signal). A child ends as the interpreter does (threads joined, atexit
handlers run, streams flushed) but skips freeing the heap it inherited, which would copy every
page of it (~0.4 CPU-s a child). Children are started asynchronously, so a test can watch,
signal and kill them, or run two at once. The ``dask`` command line (``dask scheduler``,
``dask worker``) forks the same way, as ``python -m dask``. ``test_70_failure_modes`` checks that a
forked child answers as a fresh process does; ``test_61_startup`` keeps fresh processes where the
imports themselves are under test.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path

#: The server: imports what a run imports, then forks a child per request (one JSON line on stdin)
#: and answers ``{"id", "pid"}`` at once and ``{"id", "code"}`` when the child ends. The loop is
#: single-threaded on purpose: a fork from a threaded process could copy a held lock. An exception
#: escaping the CLI reaches the child's top level: traceback and exit 1, as in ``python -m agromap``.
SERVER = """
import gc, json, os, runpy, select, sys
for name in ("agromap.pipeline.cli", "agromap.pipeline.runner", "agromap.pipeline.preflight", "agromap.io.loaders",
             "agromap.io.stac_read", "agromap.io.stac_search", "agromap.masks", "agromap.pipeline.products.registry",
             "agromap.disaster.flood", "agromap.quicklook", "agromap.zonal", "distributed"):
    __import__(name)


def answer(msg):
    os.write(1, (json.dumps(msg) + "\\n").encode())


def serve():
    gc.freeze()  # keep the imported objects out of the children's collections: fewer copied pages
    answer("ready")
    children, buf, reading = {}, b"", True
    while reading or children:
        ready, _, _ = select.select([0] if reading else [], [], [], 0.005 if children else None)
        if ready:
            chunk = os.read(0, 1 << 16)
            reading = bool(chunk)
            buf += chunk
            while b"\\n" in buf:
                line, buf = buf.split(b"\\n", 1)
                req = json.loads(line)
                pid = os.fork()
                if pid == 0:
                    return req
                children[pid] = req["id"]
                answer({"id": req["id"], "pid": pid})
        for pid in list(children):
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                answer({"id": children.pop(pid), "code": os.waitstatus_to_exitcode(status)})
    sys.exit(0)


req = serve()
os.chdir(req["cwd"])
if req["env"] is not None:
    os.environ.clear()
    os.environ.update(req["env"])
os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
for fd, path in ((1, req["stdout"]), (2, req["stderr"])):
    os.dup2(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC), fd)
sys.argv = [req["module"], *req["argv"]]
try:
    runpy.run_module(req["module"], run_name="__main__", alter_sys=True)
    code = 0
except SystemExit as exc:
    if exc.code is None or isinstance(exc.code, int):
        code = exc.code or 0
    else:
        print(exc.code, file=sys.stderr)
        code = 1
except BaseException as exc:
    sys.excepthook(type(exc), exc, exc.__traceback__)
    code = -2 if isinstance(exc, KeyboardInterrupt) else 1
# Python's own exit, less the teardown of the inherited heap (freeing every object the server
# imported copies its pages: ~0.4 CPU-s a child): non-daemon threads, atexit handlers, streams.
import atexit, signal, threading
threading._shutdown()
atexit._run_exitfuncs()
sys.stdout.flush()
sys.stderr.flush()
if code == -2:  # an uncaught Ctrl-C ends the process by SIGINT, as the interpreter does
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGINT)
os._exit(code)
"""


class ForkedProcess:
    """One forked child, with the part of :class:`subprocess.Popen`'s interface the tests use."""

    def __init__(self, args: list[str], stdout: Path, stderr: Path) -> None:
        self.args = args
        self.pid = 0
        self.returncode: int | None = None
        self._paths = (stdout, stderr)
        self._started, self._ended = threading.Event(), threading.Event()

    def poll(self) -> int | None:
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if not self._ended.wait(timeout):
            raise subprocess.TimeoutExpired(self.args, timeout or 0)
        assert self.returncode is not None
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.returncode is None:
            os.kill(self.pid, sig)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def communicate(self, timeout: float | None = None) -> tuple[str, str]:
        """Wait for the end (killing the child past ``timeout``, then raising) and return its output."""
        try:
            self.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            self.wait()
            raise
        return self._paths[0].read_text(), self._paths[1].read_text()


class ForkServer:
    """Start ``python -m agromap`` children from one server process (see the module docstring)."""

    def __init__(self) -> None:
        self._dir = Path(tempfile.mkdtemp(prefix="agromap-forks-"))
        self._server = subprocess.Popen([sys.executable, "-c", SERVER], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True)
        assert self._server.stdout is not None
        assert json.loads(self._server.stdout.readline()) == "ready"
        self._ids = itertools.count()
        self._lock = threading.Lock()
        self._procs: dict[int, ForkedProcess] = {}
        self._reader = threading.Thread(target=self._read, name="agromap-fork-server", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self._server.stdout is not None
        for line in self._server.stdout:
            msg = json.loads(line)
            proc = self._procs[msg["id"]]
            if "pid" in msg:
                proc.pid = msg["pid"]
                proc._started.set()
            else:
                proc.returncode = msg["code"]
                proc._ended.set()

    def popen(self, *args: str, cwd: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None,
              module: str = "agromap") -> ForkedProcess:
        """Start ``python -m MODULE ARGS`` in ``cwd`` (default: this process's) with ``env``."""
        with self._lock:
            n = next(self._ids)
            proc = ForkedProcess([module, *args], self._dir / f"{n}.stdout", self._dir / f"{n}.stderr")
            self._procs[n] = proc
            req = {"id": n, "module": module, "argv": list(args), "cwd": str(cwd or os.getcwd()),
                   "env": None if env is None else dict(env), "stdout": str(proc._paths[0]),
                   "stderr": str(proc._paths[1])}
            assert self._server.stdin is not None
            self._server.stdin.write(json.dumps(req) + "\n")
            self._server.stdin.flush()
        if not proc._started.wait(60):
            raise RuntimeError("the agromap fork server did not start a child within 60 s")
        return proc

    def run(self, *args: str, cwd: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None,
            module: str = "agromap", timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """Run ``python -m MODULE ARGS`` to its end, as :func:`subprocess.run` with ``capture_output``."""
        proc = self.popen(*args, cwd=cwd, env=env, module=module)
        out, err = proc.communicate(timeout)
        assert proc.returncode is not None
        return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)

    def close(self) -> None:
        """Let running children end (for at most two minutes), then stop the server."""
        assert self._server.stdin is not None
        self._server.stdin.close()
        try:
            self._server.wait(timeout=120)
        except subprocess.TimeoutExpired:  # a child left running by a failed test: stop the server anyway
            self._server.kill()
            self._server.wait()
        self._reader.join(timeout=10)
        for f in self._dir.iterdir():
            f.unlink()
        self._dir.rmdir()
