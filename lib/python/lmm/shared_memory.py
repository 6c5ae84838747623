# SPDX-License-Identifier: LGPL-2.1-or-later
"""lmm.shared_memory — SharedMemory and ShareableList over liblmm.

The counterparts of multiprocessing.shared_memory, with its signatures and
exceptions, where each block is a sealed memfd that an lmm manager hands
out: nothing is named in /dev/shm, no resource tracker runs, and a block
whose every holder is gone is freed by the kernel, even after kill -9.

Guarantees:
- SharedMemory.buf is a memoryview of Python's own mmap object over the
  block's fd, mapped only after liblmm has checked the block's seals and
  size (lmm_segment_map()) and found whether it may be mapped writable: a
  block can never shrink under it (no SIGBUS), the view is read-only where
  the block is (frozen, or opened read-only), and close() refuses with
  BufferError while views of it are exported, as CPython's does.
- ShareableList is lmm's list layout (docs/shareable-list.md), read and
  written through lmm_list_*(): a C program and a Python program share one
  list; no item is ever read half-written; an item's slot is never smaller
  than CPython's would be for the same value.
- A SharedMemory or ShareableList pickles by name and its manager's address
  (CPython's behaviour, plus the address), or by fd with by_fd().
- Threads may share a SharedMemory or ShareableList: each block's accesses
  and its close() are serialised by a lock of its own, which a forked child
  gets afresh (one a parent's thread held at fork() would never be freed).
- Every fd made here is close-on-exec; each has one owner that closes it.
"""

import ctypes
import errno
import functools
import mmap
import operator
import os
import struct
import sys
import threading
import types
import weakref

from . import _connection
from . import _liblmm as L

__all__ = ["SharedMemory", "ShareableList"]


def _connection_for(manager):
    """The Connection to use: a SharedMemoryManager's, a socket path's, or the default."""
    if manager is None or isinstance(manager, (str, bytes, os.PathLike)):
        return _connection.for_address(manager)
    conn = getattr(manager, "_connection", None)
    if conn is None:
        raise TypeError("manager must be a SharedMemoryManager or a socket path, not %s"
                        % type(manager).__name__)
    return conn()  # raises ValueError when it was never started


def _check_size(size):
    """ctypes would wrap a size past 64 bits around, silently."""
    if size > _SIZE_MAX:
        raise OverflowError("'size' %d is too large: a block holds at most 2**63-1 bytes" % size)


_SIZE_MAX = (1 << 63) - 1


class SharedMemory:
    """A block of shared memory that an lmm manager hands out as a sealed memfd.

    SharedMemory(name=None, create=False, size=0, *, track=True, manager=None,
                 readonly=False)

    With create=True a new block of exactly @size bytes is created (named
    @name, or by the manager when None); otherwise the block called @name is
    opened. @manager is a SharedMemoryManager or a manager's socket path; by
    default it is the user's lmmd ($LMM_SOCKET). A block this creates with
    @track true lives as long as this process's connection to the manager
    (until unlink() or this process's exit, like CPython's resource tracker
    but without its bugs); with @track false until unlink() or the manager's
    shutdown. @readonly opens the block read-only: .buf is then a read-only
    memoryview, as it is for a block that was frozen.
    """

    # Defaults: close(), unlink() and __del__ work on a half-made object.
    _seg = None      # lmm_segment *, owned unless _list is set
    _list = None     # lmm_list * (a ShareableList's block), owns _seg
    _mmap = None
    _buf = None
    _name = None
    _size = 0
    _conn = None
    _readonly = False
    _closed = True
    _by_fd = False   # pickles as its fd (by_fd()), not its name

    def __init__(self, name=None, create=False, size=0, *, track=True, manager=None,
                 readonly=False):
        size = operator.index(size)
        if not size >= 0:
            raise ValueError("'size' must be a positive integer")
        if create:
            if size == 0:
                raise ValueError("'size' must be a positive number different from zero")
            _check_size(size)
            if readonly:
                raise ValueError("a block is created read-write; open it read-only by name")
        if name is None and not create:
            raise ValueError("'name' can only be None if create=True")
        bname = None if name is None else L.encode_name(name)
        conn = _connection_for(manager)
        seg = ctypes.c_void_p()
        if create:
            opts = L.SegmentOpts(size, bname, L.CREATE_SCOPE_CONNECTION if track else 0)
            conn.call("cannot create block", name, L.segment_create, ctypes.byref(opts),
                      ctypes.byref(seg))
        else:
            conn.call("cannot open block", name, L.segment_open, bname,
                      L.OPEN_RDONLY if readonly else 0, ctypes.byref(seg))
        self._adopt_segment(seg.value, conn, readonly)
        try:
            self._map()
        except BaseException:
            self.close()
            if create:  # leave nothing behind in the manager, as CPython does
                try:
                    self.unlink()
                except OSError:
                    pass
            raise

    def _adopt_segment(self, seg, conn, readonly):
        self._seg = seg
        self._conn = conn
        self._readonly = readonly
        self._name = L.decode_name(L.segment_get_name(seg))
        self._size = L.segment_get_size(seg)
        self._lock = threading.Lock()
        self._closed = False
        _live.add(self)

    @classmethod
    def _from_list(cls, lst, conn, readonly):
        """The block of a ShareableList: owns @lst, maps .buf only when asked for."""
        self = cls.__new__(cls)
        self._adopt_segment(L.list_get_segment(lst), conn, readonly)
        self._list = lst
        self._name = L.decode_name(L.list_get_name(lst))
        return self

    def _map(self):
        """Map the block with Python's mmap, once liblmm has checked it."""
        r = L.segment_map(self._seg, L.MAP_RDONLY if self._readonly else 0, None)
        if r < 0:
            raise L.error(r, "cannot map block", self._name)
        prot = mmap.PROT_READ | (mmap.PROT_WRITE if r == 0 else 0)
        try:
            self._mmap = mmap.mmap(L.segment_get_fd(self._seg), self._size,
                                   flags=mmap.MAP_SHARED, prot=prot)
        finally:
            # liblmm's own mapping was only for the checks; Python's holds
            # the memory from here on, and counts the views it exports.
            if self._list is None:
                L.segment_unmap(self._seg)
        self._buf = memoryview(self._mmap)

    def __del__(self):
        try:
            self.close()
        except OSError:
            pass
        except Exception:
            if not sys.is_finalizing():  # at exit, liblmm's bindings may be gone already
                raise

    def __reduce__(self):
        if self._by_fd:
            return _reduce_by_fd(self, "shm")
        return (functools.partial(type(self), manager=self._address(), readonly=self._readonly),
                (self.name, False, self.size))

    def __repr__(self):
        return f"{self.__class__.__name__}({self.name!r}, size={self.size})"

    def _address(self):
        return self._conn.address if self._conn is not None else None

    @property
    def buf(self):
        "A memoryview of contents of the shared memory block."
        if self._buf is None and self._list is not None and not self._closed:
            with self._lock:
                if self._buf is None:
                    self._map()
        return self._buf

    @property
    def name(self):
        "Unique name that identifies the shared memory block."
        return self._name

    @property
    def size(self):
        "Size in bytes."
        return self._size

    @property
    def readonly(self):
        "Whether this handle opened the block read-only."
        return self._readonly

    def close(self):
        """Closes access to the shared memory from this instance but does
        not destroy the shared memory block."""
        if self._closed:
            return
        with self._lock:
            if self._buf is not None:
                self._buf.release()
                self._buf = None
            if self._mmap is not None:
                self._mmap.close()  # BufferError while views are exported
                self._mmap = None
            if self._list is not None:
                L.list_unref(self._list)  # and with it the segment
            elif self._seg is not None:
                L.segment_unref(self._seg)
            self._list = self._seg = None
            self._closed = True

    def unlink(self):
        """Drop the block from its manager: nobody can open it by name any
        more; holders keep their memory, which the kernel frees with the
        last of them. Only the block's owner (or the manager's user) may."""
        if self._name is None:
            return
        conn = self._conn if self._conn is not None else _connection.for_address(None)
        conn.call("cannot release block", self._name, L.block_release,
                  L.encode_name(self._name))

    def by_fd(self):
        """Another handle on the same memory, which pickles as the block's
        fd instead of its name.

        Passed to a multiprocessing child (as an argument, or through a
        multiprocessing queue or pipe) it arrives as a SharedMemory over the
        same memory without asking any manager: also for a block that was
        unlinked, or a manager the receiver cannot reach. It goes on
        pickling by fd. A forked child simply inherits it.
        """
        seg = _dup_segment(self, "shm")
        shm = SharedMemory.__new__(SharedMemory)
        shm._adopt_segment(seg, self._conn, self._readonly)
        try:
            shm._map()
        except BaseException:
            shm.close()
            raise
        shm._by_fd = True
        return shm


# A lock a parent's thread held at fork() would stay held in the child.
_live = weakref.WeakSet()


def _after_fork_in_child():
    for shm in list(_live):
        shm._lock = threading.Lock()


os.register_at_fork(after_in_child=_after_fork_in_child)


# ---------------------------------------------------------------- passing fds


def _dup_segment(shm, kind):
    """A new lmm_segment over a duplicate of @shm's fd."""
    if shm._closed:
        raise ValueError("cannot pass a closed %s by fd" % kind)
    fd = os.dup(L.segment_get_fd(shm._seg))  # close-on-exec, as every fd Python makes
    seg = ctypes.c_void_p()
    r = L.segment_from_fd(fd, L.encode_name(shm.name), ctypes.byref(seg))  # consumes fd
    if r < 0:
        raise L.error(r, "cannot use the fd of block", shm.name)
    return seg.value


def _reduce_by_fd(shm, kind):
    from multiprocessing.reduction import DupFd
    if shm._closed:
        raise ValueError("cannot pickle a closed %s" % kind)
    return (_rebuild_by_fd, (DupFd(L.segment_get_fd(shm._seg)), kind, shm.name, shm._address(),
                             shm.readonly))


def _rebuild_by_fd(dupfd, kind, name, address, readonly):
    fd = dupfd.detach()
    os.set_inheritable(fd, False)  # it may have come through exec or recvmsg
    seg = ctypes.c_void_p()
    r = L.segment_from_fd(fd, None if name is None else L.encode_name(name), ctypes.byref(seg))
    if r < 0:
        raise L.error(r, "cannot use the fd of block", name)
    conn = _connection.for_address(address) if address is not None else None
    if kind == "shm":
        self = SharedMemory.__new__(SharedMemory)
        self._adopt_segment(seg.value, conn, readonly)
        try:
            self._map()
        except BaseException:
            self.close()
            raise
        self._by_fd = True
        return self
    lst = ctypes.c_void_p()
    r = L.list_from_segment(seg, ctypes.byref(lst))  # consumes seg
    if r < 0:
        raise L.error(r, "cannot use the list in block", name)
    self = ShareableList._from_handle(lst.value, conn, readonly)
    self._by_fd = True
    return self


# ---------------------------------------------------------------- ShareableList


class _UnsupportedType(TypeError, KeyError):
    """A value no list slot can hold. A KeyError too, which is what CPython raises."""
    __str__ = BaseException.__str__


class _OutOfRange(OverflowError, struct.error):
    """An int beyond 64 bits. A struct.error too, which is what CPython raises."""


_INT_MIN, _INT_MAX = -(1 << 63), (1 << 63) - 1
_list_get, _list_set = L.list_get, L.list_set
_FORMATS = {L.ITEM_INT: "q", L.ITEM_DOUBLE: "d", L.ITEM_BOOL: "xxxxxxx?",
            L.ITEM_NONE: "xxxxxx?x"}


def _fill(item, value):
    """Set the lmm_item @item (an L.InItem) to @value; return the bytes it points to, if any."""
    v = item.v
    if value is None:
        item.type = L.ITEM_NONE
    elif value.__class__ is int or (isinstance(value, int) and not isinstance(value, bool)):
        if not _INT_MIN <= value <= _INT_MAX:
            raise _OutOfRange("int %d does not fit a list item (64 bits, signed)" % value)
        item.type = L.ITEM_INT
        v.i = value
    elif value.__class__ is str or isinstance(value, str):
        b = value.encode("utf-8")
        item.type = L.ITEM_STR
        v.buf.data = b
        v.buf.len = len(b)
        return b
    elif isinstance(value, float):
        item.type = L.ITEM_DOUBLE
        v.d = value
    elif isinstance(value, bool):
        item.type = L.ITEM_BOOL
        v.b = value
    elif isinstance(value, bytes):
        b = bytes(value)
        item.type = L.ITEM_BYTES
        v.buf.data = b
        v.buf.len = len(b)
        return b
    else:
        raise _UnsupportedType("a ShareableList holds int, float, bool, str, bytes and None, "
                               "not %s" % type(value).__name__)
    return None


def _variants(value):
    """The items equal to @value under Python's ==, at most one per type a
    list holds; None when @value's type is none of them (then Python compares)."""
    t = type(value)
    out = []
    if value is None:
        out.append((L.ITEM_NONE, None))
    elif t is bool or t is int:
        if _INT_MIN <= value <= _INT_MAX:
            out.append((L.ITEM_INT, int(value)))
        try:
            if float(value) == value:
                out.append((L.ITEM_DOUBLE, float(value)))
        except OverflowError:
            pass
        if value == 0 or value == 1:
            out.append((L.ITEM_BOOL, bool(value)))
    elif t is float:
        out.append((L.ITEM_DOUBLE, value))
        if value.is_integer() and _INT_MIN <= value <= _INT_MAX:
            out.append((L.ITEM_INT, int(value)))
        if value == 0.0 or value == 1.0:
            out.append((L.ITEM_BOOL, value == 1.0))
    elif t is str:
        try:
            out.append((L.ITEM_STR, value.encode("utf-8")))
        except UnicodeEncodeError:  # not UTF-8: no item can equal it
            pass
    elif t is bytes:
        out.append((L.ITEM_BYTES, value))
    else:
        return None
    return out


def _variant_item(kind, value):
    item = L.InItem()
    item.type = kind
    v = item.v
    if kind == L.ITEM_INT:
        v.i = value
    elif kind == L.ITEM_DOUBLE:
        v.d = value
    elif kind == L.ITEM_BOOL:
        v.b = value
    elif kind in (L.ITEM_STR, L.ITEM_BYTES):
        v.buf.data = value
        v.buf.len = len(value)
    return item


def _slot_size(value, encoded):
    """CPython's slot for a str or bytes value, 8*(len//8+1), counted in
    characters for str (gh-88336) — and never less than the UTF-8 bytes need."""
    return max(8 * (len(value) // 8 + 1), (len(encoded) + 7) // 8 * 8)


class ShareableList:
    """A fixed-length list of int, float, bool, str, bytes and None values
    in one shared block, in lmm's layout: C programs share it through
    lmm_list_*().

    ShareableList(sequence=None, *, name=None, manager=None, readonly=False)

    With @sequence a new list is made from its values (in a block named
    @name, or named by the manager), living as long as this process's
    connection to the manager, as SharedMemory(create=True) does; without,
    the list in block @name is opened. @manager and @readonly are as for
    SharedMemory.
    """

    _by_fd = False  # pickles as its block's fd (by_fd()), not its name

    def __init__(self, sequence=None, *, name=None, manager=None, readonly=False):
        conn = _connection_for(manager)
        if name is None or sequence is not None:
            if readonly:
                raise ValueError("a list is created read-write; open it read-only by name")
            lst = self._create(conn, sequence or (), name, L.CREATE_SCOPE_CONNECTION)
        else:
            out = ctypes.c_void_p()
            conn.call("cannot open list", name, L.list_open, L.encode_name(name),
                      L.OPEN_RDONLY if readonly else 0, ctypes.byref(out))
            lst = out.value
        self._setup(lst, conn, readonly)

    @staticmethod
    def _create(conn, sequence, name, flags):
        values = list(sequence or ())
        items = (L.InItem * max(len(values), 1))()
        for i, v in enumerate(values):
            b = _fill(items[i], v)  # the array keeps b
            if b is not None:
                items[i].capacity = _slot_size(v, b)
                if items[i].capacity > L.LIST_ITEM_MAX:
                    raise ValueError("item %d is %d bytes; a list item holds at most %d"
                                     % (i, len(b), L.LIST_ITEM_MAX))
        out = ctypes.c_void_p()
        conn.call("cannot create list", name, L.list_create,
                  None if name is None else L.encode_name(name), items, len(values), flags,
                  ctypes.byref(out))
        return out.value

    @classmethod
    def _new(cls, conn, sequence, flags):
        self = cls.__new__(cls)
        self._setup(cls._create(conn, sequence, None, flags), conn, False)
        return self

    @classmethod
    def _from_handle(cls, lst, conn, readonly):
        self = cls.__new__(cls)
        self._setup(lst, conn, readonly)
        return self

    def _setup(self, lst, conn, readonly):
        self._len = L.list_len(lst)
        self.shm = SharedMemory._from_list(lst, conn, readonly)
        # What get and set use, under the block's lock: one item each way,
        # and a buffer for str and bytes values that grows to the largest.
        self._out = L.Item()
        self._outp = ctypes.byref(self._out)
        self._outv = self._out.v
        self._outbuf = self._out.v.buf
        self._in = L.InItem()
        self._inp = ctypes.byref(self._in)
        self._grow(64)

    def _grow(self, size):
        self._bufsize = size
        self._buf = ctypes.create_string_buffer(size)
        self._bufaddr = ctypes.addressof(self._buf)
        self._bufview = memoryview(self._buf).cast("B")

    def _position(self, position, message):
        i = operator.index(position)
        if i < 0:
            i += self._len
        if not 0 <= i < self._len:
            raise IndexError(message)
        return i

    def _closed(self):
        return ValueError("ShareableList %r is closed" % (self.shm.name,))

    def _get(self, i):
        """Read item @i into self._out (the lock held); return its value."""
        lst = self.shm._list
        if lst is None:
            raise self._closed()
        r = _list_get(lst, i, self._outp, self._buf, self._bufsize)
        if r == -errno.ENOBUFS:
            self._grow(max(self._outbuf.len + 1, 2 * self._bufsize))
            r = _list_get(lst, i, self._outp, self._buf, self._bufsize)
        if r < 0:
            raise L.error(r, "cannot read item %d of list" % i, self.shm.name)
        return self._value()

    def _value(self):
        t = self._out.type
        if t == 1:  # L.ITEM_INT
            return self._outv.i
        if t == 4:  # L.ITEM_STR
            at = self._outbuf.data - self._bufaddr if self._outbuf.data else 0
            return self._bufview[at:at + self._outbuf.len].tobytes().decode()
        if t == 2:  # L.ITEM_DOUBLE
            return self._outv.d
        if t == 3:  # L.ITEM_BOOL
            return self._outv.b
        if t == 5:  # L.ITEM_BYTES
            at = self._outbuf.data - self._bufaddr if self._outbuf.data else 0
            return self._bufview[at:at + self._outbuf.len].tobytes()
        return None

    def __getitem__(self, position):
        if position.__class__ is not int:
            position = operator.index(position)
        if position < 0:
            position += self._len
        if not 0 <= position < self._len:
            raise IndexError("index out of range")
        shm = self.shm
        with shm._lock:
            lst = shm._list
            if lst is not None and _list_get(lst, position, self._outp, self._buf,
                                             self._bufsize) == 0:
                return self._value()
            return self._get(position)  # the slow path, with its errors

    def __setitem__(self, position, value):
        if position.__class__ is not int:
            position = operator.index(position)
        if position < 0:
            position += self._len
        if not 0 <= position < self._len:
            raise IndexError("assignment index out of range")
        shm = self.shm
        with shm._lock:
            lst = shm._list
            if lst is None:
                raise self._closed()
            b = _fill(self._in, value)
            r = _list_set(lst, position, self._inp)
            self._in.v.buf.data = None  # b is the caller's to free
            if r == 0:
                return
        if r == -errno.ENOSPC:
            raise ValueError("%s item exceeds available storage: %d bytes do not fit item %d's "
                             "slot" % (type(value).__name__, len(b), position))
        if r == -errno.EROFS:
            raise TypeError("cannot modify read-only memory: ShareableList %r is read-only"
                            % (self.shm.name,))
        raise L.error(r, "cannot write item %d of list" % position, self.shm.name)

    def __len__(self):
        return self._len

    def __iter__(self):
        for i in range(self._len):
            yield self[i]

    def __reduce__(self):
        if self._by_fd:
            return _reduce_by_fd(self.shm, "list")
        return (functools.partial(type(self), name=self.shm.name, manager=self.shm._address(),
                                  readonly=self.shm.readonly), ())

    def __repr__(self):
        return f"{self.__class__.__name__}({list(self)}, name={self.shm.name!r})"

    def _get_packing_format(self, position):
        "CPython's struct format for item @position (str and bytes: its slot's size)."
        if not isinstance(position, int):
            position = operator.index(position)
        if position < 0:
            position += self._len
        if not 0 <= position < self._len:
            raise IndexError("Requested position out of range.")
        with self.shm._lock:
            self._get(position)
            t, capacity = self._out.type, self._out.capacity
        return "%ds" % capacity if t in (L.ITEM_STR, L.ITEM_BYTES) else _FORMATS[t]

    @property
    def format(self):
        "The struct packing format CPython would report for the items now stored."
        return "".join(self._get_packing_format(i) for i in range(self._len))

    def count(self, value):
        "L.count(value) -> integer -- return number of occurrences of value."
        variants = _variants(value)
        if variants is None:
            return sum(value == entry for entry in self)
        n = 0
        with self.shm._lock:
            lst = self.shm._list
            if lst is None:
                raise self._closed()
            for kind, v in variants:
                r = L.list_count(lst, ctypes.byref(_variant_item(kind, v)))
                if r < 0:
                    raise L.error(r, "cannot count in list", self.shm.name)
                n += r
        return n

    def index(self, value):
        """L.index(value) -> integer -- return first index of value.
        Raises ValueError if the value is not present."""
        variants = _variants(value)
        if variants is None:
            for position, entry in enumerate(self):
                if value == entry:
                    return position
            raise ValueError(f"{value!r} not in this container")
        found = None
        with self.shm._lock:
            lst = self.shm._list
            if lst is None:
                raise self._closed()
            for kind, v in variants:
                out = ctypes.c_size_t()
                r = L.list_index(lst, ctypes.byref(_variant_item(kind, v)), ctypes.byref(out))
                if r == -errno.ENOENT:
                    continue
                if r < 0:
                    raise L.error(r, "cannot search list", self.shm.name)
                found = out.value if found is None else min(found, out.value)
        if found is None:
            raise ValueError(f"{value!r} not in this container")
        return found

    def by_fd(self):
        """Another handle on the same list, which pickles as its block's fd
        instead of its name (see SharedMemory.by_fd())."""
        seg = _dup_segment(self.shm, "list")
        lst = ctypes.c_void_p()
        r = L.list_from_segment(seg, ctypes.byref(lst))  # consumes seg
        if r < 0:
            raise L.error(r, "cannot use the list in block", self.shm.name)
        other = ShareableList._from_handle(lst.value, self.shm._conn, self.shm.readonly)
        other._by_fd = True
        return other

    __class_getitem__ = classmethod(types.GenericAlias)
