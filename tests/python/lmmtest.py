# SPDX-License-Identifier: LGPL-2.1-or-later
"""lmmtest — what the python suite's tests share.

- an lmmd of the test process's own (the built one, $LMMD), whose socket is
  put in $LMM_SOCKET: the "default manager" that SharedMemory(name) and
  ShareableList(name=...) reach without a manager object, and that
  multiprocessing children inherit;
- the C peer program ($LMM_PY_PEER) and lmmctl ($LMMCTL);
- counting this process's fds, and the memfds among them.

meson test sets the variables; run a file by hand through
`meson devenv -C build` with them set, or `meson test -C build --suite python`.
"""

import ctypes
import os
import signal
import socket
import subprocess
import tempfile
import time
import unittest


def env(name):
    value = os.environ.get(name)
    if not value:
        raise RuntimeError("$%s is not set: run the python suite through 'meson test'" % name)
    return value


def _die_with_parent():
    # lmmd must not outlive a test process that meson killed on a timeout.
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


class Lmmd:
    """The built lmmd on a socket in a fresh directory; stop() reaps it."""

    def __init__(self, *args):
        self.dir = tempfile.mkdtemp(prefix="lmm-pytest-")
        self.socket = os.path.join(self.dir, "lmmd.sock")
        self.proc = subprocess.Popen([env("LMMD"), "--quiet", "--socket", self.socket, *args],
                                     preexec_fn=_die_with_parent)
        deadline = time.monotonic() + 10
        while True:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            try:
                s.connect(self.socket)
                break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("lmmd did not start on %s" % self.socket)
                time.sleep(0.01)
            finally:
                s.close()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        try:
            os.rmdir(self.dir)
        except OSError:
            pass
        return self.proc.returncode


_default = None


def start_default_manager():
    """An lmmd for this test process, in $LMM_SOCKET (once; setUpModule)."""
    global _default
    if _default is None:
        _default = Lmmd()
        os.environ["LMM_SOCKET"] = _default.socket
    return _default


def stop_default_manager():
    global _default
    if _default is not None:
        rc = _default.stop()
        _default = None
        del os.environ["LMM_SOCKET"]
        return rc
    return None


def peer(*args, check=True, **kw):
    """Run the C peer program; its stdout, as text."""
    p = subprocess.run([env("LMM_PY_PEER"), *args], capture_output=True, text=True, **kw)
    if check and p.returncode != 0:
        raise AssertionError("lmm-py-peer %s failed (%d): %s" % (" ".join(args), p.returncode,
                                                                 p.stderr.strip()))
    return p.stdout


def lmmctl(*args, socket_path=None):
    sock = socket_path or os.environ["LMM_SOCKET"]
    return subprocess.run([env("LMMCTL"), "--socket", sock, *args], capture_output=True,
                          text=True, check=True).stdout


def fds():
    """This process's open fds: {fd: target}."""
    out = {}
    for fd in os.listdir("/proc/self/fd"):
        try:
            out[int(fd)] = os.readlink("/proc/self/fd/" + fd)
        except OSError:  # the directory's own fd, gone already
            pass
    return out


def memfds():
    return {fd: t for fd, t in fds().items() if t.startswith("/memfd:")}


class FdLeakCheck:
    """with FdLeakCheck(test): ... — fails @test if the block leaves an fd open."""

    def __init__(self, test):
        self.test = test

    def __enter__(self):
        self.before = fds()
        return self

    def __exit__(self, *exc):
        if exc[0] is not None:
            return False
        after = fds()
        leaked = {fd: t for fd, t in after.items() if fd not in self.before}
        self.test.assertEqual(leaked, {}, "fds left open")
        return False


def skip_unless_env(*names):
    missing = [n for n in names if not os.environ.get(n)]
    return unittest.skipIf(missing, "needs $%s (run through meson test)" % ", $".join(missing))


def reap_multiprocessing_helpers():
    """Stop and reap the forkserver and resource tracker that multiprocessing
    started for this process (PID 1 here reaps no orphans)."""
    from multiprocessing import forkserver, resource_tracker
    forkserver._forkserver._stop()
    resource_tracker._resource_tracker._stop()
