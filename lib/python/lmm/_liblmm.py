# SPDX-License-Identifier: LGPL-2.1-or-later
"""_liblmm — liblmm.so.1 through ctypes: the one place that knows the C API.

It loads the library (the copy `meson install` put next to this package,
else liblmm.so.1 through the dynamic loader's search path, which is how
`meson devenv` and `meson test` point at a build tree), declares every
function this package calls with its exact C signature, and turns a
negative errno into the exception Python raises for the same case.

Guarantees: every declaration here matches lib/lmm.h (the python suite's
"abi" test compares the structures' sizes and offsets with the compiler's);
calls that may wait for a manager go through `lib`, which releases the GIL;
the short, non-blocking shareable-list calls go through `pylib`, which keeps
it, so that no other thread of this process can close a list while one of
them runs.
"""

import ctypes
import errno
import os

try:
    from ._config import LIBRARY  # written by meson at install time
except ImportError:  # a source tree: the loader's search path decides
    LIBRARY = None

SONAME = "liblmm.so.1"


def _load():
    tried = []
    for path in ([LIBRARY] if LIBRARY else []) + [SONAME]:
        try:
            return ctypes.CDLL(path, use_errno=False), ctypes.PyDLL(path), path
        except OSError as e:
            tried.append(str(e))
    raise ImportError(
        "lmm: cannot load %s (%s); install lmm, or run from a build tree "
        "through 'meson devenv -C BUILDDIR'" % (SONAME, "; ".join(tried)))


lib, pylib, path = _load()

# ---------------------------------------------------------------- constants (lmm.h)

NAME_MAX = 200
CREATE_HUGETLB = 1 << 0
CREATE_SCOPE_CONNECTION = 1 << 1
CREATE_OTHERS_READ = 1 << 2
CREATE_OTHERS_WRITE = 1 << 3
OPEN_RDONLY = 1 << 0
MAP_RDONLY = 1 << 0

ITEM_NONE, ITEM_INT, ITEM_DOUBLE, ITEM_BOOL, ITEM_STR, ITEM_BYTES = range(6)
LIST_ITEM_MAX = 16 * 1024 * 1024
LIST_LEN_MAX = 1 << 26
UINT64_MAX = (1 << 64) - 1

# ---------------------------------------------------------------- structures (lmm.h)

c_void_p = ctypes.c_void_p
c_char_p = ctypes.c_char_p
c_int = ctypes.c_int
c_uint32 = ctypes.c_uint32
c_uint64 = ctypes.c_uint64
c_size_t = ctypes.c_size_t


# The options structures end in room for later versions' fields, which the
# library wants zero: ctypes zeroes a structure it makes.
_RESERVED = [("reserved_", c_uint64 * 8), ("reserved_ptr_", c_void_p * 8)]


class SegmentOpts(ctypes.Structure):
    """lmm_segment_opts"""
    _fields_ = [("size", c_uint64), ("name", c_char_p), ("flags", c_uint32)] + _RESERVED


class ManagerOpts(ctypes.Structure):
    """lmm_manager_opts"""
    _fields_ = [
        ("allow_uids", ctypes.POINTER(ctypes.c_uint)),
        ("n_allow_uids", c_size_t),
        ("allow_gids", ctypes.POINTER(ctypes.c_uint)),
        ("n_allow_gids", c_size_t),
        ("max_bytes_per_uid", c_uint64),
        ("max_blocks_per_uid", c_uint32),
        ("max_conns_per_uid", c_uint32),
    ] + _RESERVED


# int (*lmm_initializer)(void *initargs)
INITIALIZER = ctypes.CFUNCTYPE(c_int, c_void_p)


class ServerOpts(ctypes.Structure):
    """lmm_server_opts"""
    _fields_ = [
        ("manager", ctypes.POINTER(ManagerOpts)),
        ("socket_path", c_char_p),
        ("initializer", INITIALIZER),
        ("initargs", c_void_p),
    ] + _RESERVED


class ItemBuf(ctypes.Structure):
    _fields_ = [("data", c_void_p), ("len", c_size_t)]


class ItemValue(ctypes.Union):
    _fields_ = [("i", ctypes.c_int64), ("d", ctypes.c_double), ("b", ctypes.c_bool),
                ("buf", ItemBuf)]


class Item(ctypes.Structure):
    """lmm_item, as lmm_list_get() fills it: buf.data is an address."""
    _fields_ = [("type", c_int), ("v", ItemValue), ("capacity", c_size_t)]


class InBuf(ctypes.Structure):
    _fields_ = [("data", c_char_p), ("len", c_size_t)]


class InValue(ctypes.Union):
    _fields_ = [("i", ctypes.c_int64), ("d", ctypes.c_double), ("b", ctypes.c_bool),
                ("buf", InBuf)]


class InItem(ctypes.Structure):
    """lmm_item again, as lmm_list_create(), _set(), _count() and _index()
    take it: buf.data is a bytes object, which the structure keeps alive
    (a c_char_p field takes bytes as they are; NULs inside count, since the
    length is buf.len)."""
    _fields_ = [("type", c_int), ("v", InValue), ("capacity", c_size_t)]


# ---------------------------------------------------------------- functions


def _declare(dll, name, restype, *argtypes):
    f = getattr(dll, name)
    f.restype = restype
    f.argtypes = argtypes
    return f


P = ctypes.POINTER
pp = P(c_void_p)  # a handle's out-parameter: lmm_client **, lmm_segment **, ...

default_socket_path = _declare(lib, "lmm_default_socket_path", c_int, c_char_p, c_size_t)
client_connect = _declare(lib, "lmm_client_connect", c_int, c_char_p, pp)
client_unref = _declare(lib, "lmm_client_unref", c_void_p, c_void_p)
client_last_error = _declare(lib, "lmm_client_last_error", c_char_p, c_void_p)
client_set_timeout = _declare(lib, "lmm_client_set_timeout", c_int, c_void_p, c_uint64)
client_shutdown_manager = _declare(lib, "lmm_client_shutdown_manager", c_int, c_void_p)

segment_create = _declare(lib, "lmm_segment_create", c_int, c_void_p, P(SegmentOpts), pp)
segment_open = _declare(lib, "lmm_segment_open", c_int, c_void_p, c_char_p, c_uint32, pp)
segment_from_fd = _declare(lib, "lmm_segment_from_fd", c_int, c_int, c_char_p, pp)
segment_unref = _declare(lib, "lmm_segment_unref", c_void_p, c_void_p)
segment_map = _declare(lib, "lmm_segment_map", c_int, c_void_p, c_uint32, pp)
segment_unmap = _declare(lib, "lmm_segment_unmap", c_int, c_void_p)
segment_get_fd = _declare(lib, "lmm_segment_get_fd", c_int, c_void_p)
segment_get_size = _declare(lib, "lmm_segment_get_size", c_uint64, c_void_p)
segment_get_name = _declare(lib, "lmm_segment_get_name", c_char_p, c_void_p)
block_release = _declare(lib, "lmm_block_release", c_int, c_void_p, c_char_p)
block_freeze = _declare(lib, "lmm_block_freeze", c_int, c_void_p, c_char_p)

server_start = _declare(lib, "lmm_server_start", c_int, P(ServerOpts), pp)
# The same call, holding the GIL: a Python initializer then runs in the
# forked manager with the GIL its only thread holds (see managers.py).
server_start_holding_gil = _declare(pylib, "lmm_server_start", c_int, P(ServerOpts), pp)
server_get_address = _declare(lib, "lmm_server_get_address", c_char_p, c_void_p)
server_get_client = _declare(lib, "lmm_server_get_client", c_void_p, c_void_p)
server_get_pid = _declare(lib, "lmm_server_get_pid", c_int, c_void_p)
server_shutdown = _declare(lib, "lmm_server_shutdown", c_int, c_void_p)
server_unref = _declare(lib, "lmm_server_unref", c_void_p, c_void_p)

manager_new = _declare(lib, "lmm_manager_new", c_int, P(ManagerOpts), pp)
manager_free = _declare(lib, "lmm_manager_free", c_void_p, c_void_p)
manager_listen = _declare(lib, "lmm_manager_listen", c_int, c_void_p, c_char_p)
manager_get_fd = _declare(lib, "lmm_manager_get_fd", c_int, c_void_p)
manager_dispatch = _declare(lib, "lmm_manager_dispatch", c_int, c_void_p, c_uint64)
manager_shutdown = _declare(lib, "lmm_manager_shutdown", c_int, c_void_p)

list_create = _declare(lib, "lmm_list_create", c_int, c_void_p, c_char_p, P(InItem), c_size_t,
                       c_uint32, pp)
list_open = _declare(lib, "lmm_list_open", c_int, c_void_p, c_char_p, c_uint32, pp)
list_from_segment = _declare(lib, "lmm_list_from_segment", c_int, c_void_p, pp)
list_unref = _declare(pylib, "lmm_list_unref", c_void_p, c_void_p)
list_len = _declare(pylib, "lmm_list_len", c_size_t, c_void_p)
list_get = _declare(pylib, "lmm_list_get", c_int, c_void_p, c_size_t, P(Item), c_void_p, c_size_t)
list_set = _declare(pylib, "lmm_list_set", c_int, c_void_p, c_size_t, P(InItem))
list_count = _declare(pylib, "lmm_list_count", c_int, c_void_p, P(InItem))
list_index = _declare(pylib, "lmm_list_index", c_int, c_void_p, P(InItem), P(c_size_t))
list_get_name = _declare(pylib, "lmm_list_get_name", c_char_p, c_void_p)
list_get_segment = _declare(pylib, "lmm_list_get_segment", c_void_p, c_void_p)
list_is_writable = _declare(pylib, "lmm_list_is_writable", ctypes.c_bool, c_void_p)

# ---------------------------------------------------------------- errors

# What Python raises where CPython's SharedMemory would meet the same
# condition; anything else is an OSError, which picks its own subclass from
# the errno (FileNotFoundError, FileExistsError, PermissionError, ...).
_NOT_OSERROR = {
    errno.EINVAL: ValueError,
    errno.ERANGE: IndexError,
    errno.ENOMEM: MemoryError,
}


def error(r, what, name=None, message=None):
    """The exception for liblmm's return value @r (a negative errno).

    @what: the failed operation, in words ("cannot open block");
    @name: the block or socket it was about, also set as the OSError's filename;
    @message: the manager's own explanation, when it gave one.
    """
    e = -r
    text = "%s: %s" % (what, message if message else os.strerror(e))
    cls = _NOT_OSERROR.get(e)
    if cls is not None:
        return cls(text if name is None else "%s (%r)" % (text, name))
    return OSError(e, text, name)


def encode_name(name):
    """A block name as liblmm takes it: str (or bytes), UTF-8, no NUL."""
    if isinstance(name, str):
        b = name.encode("utf-8", "surrogateescape")
    elif isinstance(name, bytes):
        b = name
    else:
        raise TypeError("a block name must be str, not %s" % type(name).__name__)
    if b"\0" in b:
        raise ValueError("embedded null character in block name %r" % (name,))
    return b


def decode_name(b):
    return None if b is None else b.decode("utf-8", "surrogateescape")


def encode_path(path):
    b = os.fsencode(path)
    if b"\0" in b:
        raise ValueError("embedded null character in socket path %r" % (path,))
    return b
