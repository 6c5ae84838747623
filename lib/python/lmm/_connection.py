# SPDX-License-Identifier: LGPL-2.1-or-later
"""_connection — this process's connections to lmm managers.

A Connection is one process's lmm_client to one manager socket: made on first
use, made again in a forked child (a client belongs to the process that made
it: in a child liblmm answers -ECHILD), and used by one thread at a time.
The default manager is the one lmm_default_socket_path() names ($LMM_SOCKET,
else the user's lmmd); there is one Connection per socket path and process.

Guarantees: a call never runs on a client made by another process; in a
forked child every client and manager handle inherited from the parent is
dropped at once (liblmm frees the child's copy and closes only the child's
copy of the socket), so a child never keeps its parent's connection, or a
manager its parent started, alive; a lock held by a parent thread at fork()
never blocks the child; an error carries the manager's one-line explanation.
"""

import ctypes
import os
import threading
import weakref

from . import _liblmm as L


class Connection:
    """One process's connection to the manager at @address (a socket path).

    @server: an lmm_server handle whose owner client this process uses while
    it is the process that started that manager.
    """

    def __init__(self, address, server=None):
        self.address = address
        self._server = server
        self._client = None
        self._pid = None
        self._lock = threading.Lock()
        _live.add(self)

    def _get(self):
        """The client for this process, connected now if need be (lock held)."""
        if self._client is not None and self._pid == os.getpid():
            return self._client
        if self._server is not None:
            c = L.server_get_client(self._server)
        else:
            out = ctypes.c_void_p()
            r = L.client_connect(L.encode_path(self.address), ctypes.byref(out))
            if r < 0:
                raise L.error(r, "cannot connect to an lmm manager", self.address)
            c = out.value
        self._client, self._pid = c, os.getpid()
        return c

    def call(self, what, name, f, *args):
        """f(client, *args); a negative errno raises, with the manager's message."""
        with self._lock:
            c = self._get()
            r = f(c, *args)
            if r < 0:
                msg = L.client_last_error(c)
                raise L.error(r, what, name, msg.decode("utf-8", "replace") if msg else None)
            return r

    def detach_server(self):
        """The manager this process started is gone: connect to its address like anyone."""
        with self._lock:
            if self._server is not None and self._client is not None:
                self._client = None  # the server's, freed with it
            self._server = None

    def _forget_server(self):
        """In a forked child: the server handle, and its owner client, are gone."""
        if self._server is not None:
            self._server = None
            self._client = None

    def close(self):
        with self._lock:
            self._drop()

    def _drop(self):
        if self._client is not None and self._server is None:
            L.client_unref(self._client)
        self._client = None

    def _after_fork_in_child(self):
        self._lock = threading.Lock()
        # The parent's client: liblmm frees only this process's copy. A
        # server's owner client is the server's, dropped with it below.
        if self._server is None and self._client is not None:
            L.client_unref(self._client)
        self._client = None

    def __del__(self):
        try:
            if self._pid == os.getpid():
                self._drop()
        except Exception:  # interpreter shutdown
            pass


_live = weakref.WeakSet()
_servers = weakref.WeakSet()  # managers.SharedMemoryManager objects with a started manager
_by_path = {}
_by_path_lock = threading.Lock()


def default_address():
    buf = ctypes.create_string_buffer(4096)
    r = L.default_socket_path(buf, len(buf))
    if r < 0:
        raise L.error(r, "no default lmm manager (set $LMM_SOCKET, or $XDG_RUNTIME_DIR for "
                      "the user's lmmd)")
    return os.fsdecode(buf.value)


def for_address(address=None):
    """This process's Connection to the manager at @address (None: the default)."""
    if address is None:
        address = default_address()
    else:
        address = os.fsdecode(address)
    with _by_path_lock:
        conn = _by_path.get(address)
        if conn is None:
            conn = _by_path[address] = Connection(address)
        return conn


def _after_fork_in_child():
    global _by_path_lock
    _by_path_lock = threading.Lock()
    for m in list(_servers):
        m._after_fork_in_child()
    for conn in list(_live):
        conn._after_fork_in_child()


os.register_at_fork(after_in_child=_after_fork_in_child)
