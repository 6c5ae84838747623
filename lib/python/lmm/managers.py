# SPDX-License-Identifier: LGPL-2.1-or-later
"""lmm.managers — SharedMemoryManager over lmm_server_start(), and a manager
in this process (get_server().serve_forever()) over lmm_manager_*().

The counterpart of multiprocessing.managers.SharedMemoryManager, with its
signature, its states and its errors. start() forks an lmm manager; connect()
joins one that runs already (an lmmd, or a manager another program started);
shutdown() seals every block of a manager this process started and ends it.

Guarantees: start() returns only once the manager accepts connections; the
manager serves only while the process that started it lives (its exit, even
by kill -9, ends it: no orphaned manager), and a forked child never keeps it
alive nor shuts it down; a manager still running at interpreter exit is shut
down and reaped then, as CPython's finalizer does; the uid of each peer,
which the kernel reports, decides who may connect, so authkey is accepted
and ignored.
"""

import atexit
import ctypes
import errno
import operator
import os
import select
import shutil
import sys
import tempfile
import traceback
import types
import weakref
from multiprocessing import ProcessError

from . import _connection
from . import _liblmm as L
from .shared_memory import ShareableList, SharedMemory, _check_size

__all__ = ["SharedMemoryManager"]

_INITIAL, _STARTED, _SHUTDOWN = "initial", "started", "shutdown"


class SharedMemoryManager:
    """A manager of shared memory blocks, lmm's for Python's.

    SharedMemoryManager(address=None, authkey=None, serializer='pickle',
                        ctx=None, *, shutdown_timeout=1.0)

    @address is the manager's socket path: where start() makes it listen
    (None: a fresh private directory), or where connect() finds it (None:
    the user's lmmd, $LMM_SOCKET). @authkey, @serializer and @ctx are
    accepted for compatibility and not used: the manager serves only the
    uids it allows, which the kernel reports for each connection.
    @shutdown_timeout bounds each step of shutdown(), in seconds.
    """

    def __init__(self, address=None, authkey=None, serializer="pickle", ctx=None, *,
                 shutdown_timeout=1.0):
        self._address = None if address is None else os.fsdecode(address)
        self._state = _INITIAL
        self._server = None  # lmm_server *, in the process that started it
        self._conn = None
        self._shutdown_timeout = shutdown_timeout

    def _check_initial(self, started, shut_down):
        if self._state == _STARTED:
            raise ProcessError(started)
        if self._state == _SHUTDOWN:
            raise ProcessError(shut_down)

    def _connection(self):
        if self._conn is None:
            raise ValueError("the SharedMemoryManager has not been started: call start() or "
                             "connect() first")
        return self._conn

    def start(self, initializer=None, initargs=()):
        """Fork a manager process and wait until it accepts connections.

        @initializer(*@initargs) runs in the manager process before it
        serves, as CPython's does; there it sees no fd of this process but
        stdin, stdout and stderr. An exception it raises is printed there and
        fails start() with an OSError (its errno, if it was an OSError).
        """
        self._check_initial("Already started server", "Manager has shut down")
        if initializer is not None and not callable(initializer):
            raise TypeError("initializer must be a callable")
        opts = L.ServerOpts()
        if self._address is not None:
            opts.socket_path = L.encode_path(self._address)
        srv = ctypes.c_void_p()
        if initializer is None:
            r = L.server_start(ctypes.byref(opts), ctypes.byref(srv))
        else:
            # The manager is fork()ed inside the call, and the initializer
            # runs in it through a ctypes callback: the call holds the GIL,
            # so that the forked process's only thread has it. Flush first,
            # as multiprocessing does before a fork, so that nothing buffered
            # is written twice.
            _flush_std_streams()
            callback = L.INITIALIZER(_initializer_callback(initializer, initargs))
            opts.initializer = callback
            r = L.server_start_holding_gil(ctypes.byref(opts), ctypes.byref(srv))
        if r < 0:
            what = "cannot start an lmm manager"
            if initializer is not None:
                what += " (its initializer may have failed: see the manager's stderr)"
            raise L.error(r, what, self._address)
        self._server = srv.value
        self._address = os.fsdecode(L.server_get_address(self._server))
        self._conn = _connection.Connection(self._address, server=self._server)
        self._state = _STARTED
        _started.add(self)
        _connection._servers.add(self)

    def connect(self):
        """Connect to a manager that runs already, at .address (None: the user's lmmd)."""
        self._check_initial("Already started server", "Manager has shut down")
        conn = _connection.Connection(
            self._address if self._address is not None else _connection.default_address())
        conn.call("cannot reach the lmm manager", conn.address, lambda c: 0)
        self._conn, self._address = conn, conn.address
        self._state = _STARTED

    def shutdown(self):
        """End the manager this process started: every block is sealed (no
        new writable mapping, ever), the manager drops its references and
        exits; mappings that processes hold keep working. On a manager that
        connect() joined, or in a forked child, only this process's
        connection is closed. Calling it again does nothing."""
        if self._state != _STARTED:
            return
        self._state = _SHUTDOWN
        srv, self._server = self._server, None
        if srv is None:
            self._conn.close()
            return
        _started.discard(self)
        timeout = self._shutdown_timeout
        L.client_set_timeout(L.server_get_client(srv),
                             0 if timeout is None else max(1, int(timeout * 1e6)))
        r = L.server_shutdown(srv)
        self._conn.detach_server()
        L.server_unref(srv)
        if r < 0:
            raise L.error(r, "the lmm manager did not shut down cleanly", self._address)

    def _after_fork_in_child(self):
        # A forked child's copy of the manager it did not start: liblmm frees
        # the copy and closes only the child's end of the owner connection.
        srv, self._server = self._server, None
        if srv is not None:
            self._conn._forget_server()
            L.server_unref(srv)

    def get_server(self):
        """A manager that runs in this process: its .address, and serve_forever()."""
        self._check_initial("Already started SharedMemoryServer",
                            "SharedMemoryManager has shut down")
        return Server(self._address)

    def __enter__(self):
        if self._state == _INITIAL:
            self.start()
        if self._state != _STARTED:
            raise ProcessError("Manager has shut down")
        return self

    def __exit__(self, exc_type, exc_val, exc_tb):
        self.shutdown()

    def __del__(self):
        try:
            if self._server is not None:
                self.shutdown()
        except Exception:
            pass

    @property
    def address(self):
        return self._address

    @property
    def _process(self):
        """The manager process, for code that peeks at CPython's private attribute."""
        if self._server is None:
            return None
        return types.SimpleNamespace(pid=L.server_get_pid(self._server))

    def SharedMemory(self, size):
        """Returns a new SharedMemory instance with the specified size in
        bytes, kept by the manager until unlink() or shutdown()."""
        conn = self._connection()
        size = _positive_size(size)
        seg = ctypes.c_void_p()
        opts = L.SegmentOpts(size, None, 0)
        conn.call("cannot create block", None, L.segment_create, ctypes.byref(opts),
                  ctypes.byref(seg))
        shm = SharedMemory.__new__(SharedMemory)
        shm._adopt_segment(seg.value, conn, False)
        try:
            shm._map()
        except BaseException:
            shm.close()
            shm.unlink()
            raise
        return shm

    def ShareableList(self, sequence):
        """Returns a new ShareableList instance populated with the values
        from the input sequence, kept by the manager until unlink() or
        shutdown()."""
        return ShareableList._new(self._connection(), sequence, 0)


def _positive_size(size):
    size = operator.index(size)
    if size <= 0:
        raise ValueError("'size' must be a positive number different from zero")
    _check_size(size)
    return size


def _initializer_callback(initializer, initargs):
    """The C initializer: runs @initializer(*@initargs) in the manager process."""
    def run(_):
        rc = 0
        try:
            initializer(*initargs)
        except OSError as e:
            traceback.print_exc()
            rc = -(e.errno or errno.ECANCELED)
        except BaseException:
            traceback.print_exc()
            rc = -errno.ECANCELED
        _flush_std_streams()
        return rc
    return run


def _flush_std_streams():
    for f in (sys.stdout, sys.stderr):
        try:
            f.flush()
        except (AttributeError, ValueError):
            pass


class Server:
    """An lmm manager in this process (CPython's get_server()): it listens
    at .address from now on and serves in serve_forever()."""

    def __init__(self, address=None):
        m = ctypes.c_void_p()
        r = L.manager_new(None, ctypes.byref(m))
        if r < 0:
            raise L.error(r, "cannot make an lmm manager")
        self._m = m.value
        self._dir = None
        if address is None:
            base = os.environ.get("XDG_RUNTIME_DIR")
            if not base or not base.startswith("/") or not os.access(base, os.W_OK):
                base = None
            self._dir = tempfile.mkdtemp(prefix="lmm-", dir=base)  # 0700
            address = os.path.join(self._dir, "lmmd.sock")
        self.address = os.fsdecode(address)
        r = L.manager_listen(self._m, L.encode_path(self.address))
        if r < 0:
            self._free()
            raise L.error(r, "cannot listen", self.address)

    def serve_forever(self):
        """Serve until a client shuts the manager down (lmmctl shutdown), or
        KeyboardInterrupt; then shut down as documented, and return."""
        if self._m is None:
            raise ProcessError("this server has shut down")
        poll = select.poll()
        poll.register(L.manager_get_fd(self._m), select.POLLIN)
        try:
            while True:
                poll.poll()
                r = L.manager_dispatch(self._m, 0)
                if r == 1:
                    break
                if r < 0:
                    raise L.error(r, "the lmm manager failed", self.address)
        except KeyboardInterrupt:
            pass
        finally:
            r = L.manager_shutdown(self._m)
            self._free()
        if r < 0:
            raise L.error(r, "the lmm manager did not shut down cleanly", self.address)

    def _free(self):
        if self._m is not None:
            L.manager_free(self._m)
            self._m = None
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def __del__(self):
        try:
            self._free()
        except Exception:
            pass


_started = weakref.WeakSet()


@atexit.register
def _shutdown_at_exit():
    for m in list(_started):
        try:
            m.shutdown()
        except Exception:
            pass
