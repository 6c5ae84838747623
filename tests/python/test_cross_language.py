# SPDX-License-Identifier: LGPL-2.1-or-later
"""A Python process and a C process share one list and one block.

The C side is lmm-py-peer (list-peer.c), a program that uses liblmm's public
API only. Lists written from Python are read from C and the other way
round, value for value and byte for byte, slot sizes included; a block a C
program created is attached by name from Python; a C writer hammering an
item never shows a Python reader a torn value; and the structures the
Python package declares through ctypes have the C compiler's sizes and
offsets.
"""

import math
import os
import struct
import subprocess
import unittest

import lmm
from lmm import _liblmm as L

import lmmtest


def setUpModule():
    lmmtest.start_default_manager()


def tearDownModule():
    rc = lmmtest.stop_default_manager()
    if rc != 0:
        raise AssertionError("lmmd exited with %r" % rc)


def sock():
    return os.environ["LMM_SOCKET"]


def as_line(value, slot):
    """How lmm-py-peer prints an item (see list-peer.c)."""
    if value is None:
        return "none - %d" % slot
    if isinstance(value, bool):
        return "bool %d %d" % (value, slot)
    if isinstance(value, int):
        return "int %d %d" % (value, slot)
    if isinstance(value, float):
        return "double %016x %d" % (struct.unpack("<Q", struct.pack("<d", value))[0], slot)
    b = value.encode("utf-8") if isinstance(value, str) else value
    kind = "str" if isinstance(value, str) else "bytes"
    return "%s %s %d" % (kind, b.hex() if b else "-", slot)


def python_slot(value):
    """The slot lmm.ShareableList gives a value: CPython's (8 bytes for a
    scalar, 8*(len//8+1) for str and bytes), never less than the UTF-8 needs."""
    if isinstance(value, (str, bytes)):
        b = value.encode("utf-8") if isinstance(value, str) else value
        return max(8 * (len(value) // 8 + 1), (len(b) + 7) // 8 * 8)
    return 8


SAMPLE = [
    -2**63, 2**63 - 1, 0, -0.0, 1.5, math.inf, -math.inf, math.nan,
    True, False, None,
    "a\0b\0\0",            # trailing NULs: CPython strips them (gh-96779)
    "héllo 👋 wörld",       # multibyte: CPython sizes its slot in characters (gh-88336)
    b"\0\1\0\xff\0",
    "", b"",
    "x" * 100,
]


class PythonToC(unittest.TestCase):

    def test_list_written_in_python_is_read_in_c(self):
        sl = lmm.ShareableList(SAMPLE, name="py-to-c")
        self.addCleanup(sl.shm.unlink)
        out = lmmtest.peer(sock(), "read", "py-to-c").splitlines()
        self.assertEqual(out, [as_line(v, python_slot(v)) for v in SAMPLE])

    def test_c_sees_every_set_from_python(self):
        sl = lmm.ShareableList([0, "room for a longer value", None], name="py-sets")
        self.addCleanup(sl.shm.unlink)
        sl[0] = "now str"       # an int's 8-byte slot takes a short str
        sl[1] = b"bytes\0now"
        sl[2] = -1.25
        out = lmmtest.peer(sock(), "read", "py-sets").splitlines()
        self.assertEqual(out, [as_line("now str", 8), as_line(b"bytes\0now", 24),
                               as_line(-1.25, 8)])

    def test_a_value_too_long_for_its_slot_changes_nothing_either_side(self):
        sl = lmm.ShareableList(["abc"], name="py-full")
        self.addCleanup(sl.shm.unlink)
        with self.assertRaisesRegex(ValueError, "exceeds available storage"):
            sl[0] = "y" * 9
        p = subprocess.run([lmmtest.env("LMM_PY_PEER"), sock(), "set", "py-full", "0", "str",
                            ("z" * 9).encode().hex()], capture_output=True, text=True)
        self.assertEqual(p.returncode, 1)
        self.assertIn("cannot set the item", p.stderr)
        self.assertEqual(sl[0], "abc")


class CToPython(unittest.TestCase):

    def test_list_written_in_c_is_read_in_python(self):
        lmmtest.peer(sock(), "write", "c-to-py")
        sl = lmm.ShareableList(name="c-to-py")
        self.addCleanup(sl.shm.unlink)
        got = list(sl)
        expected = [-2**63, 2**63 - 1, -0.0, None, 1.5, True, False, None,
                    "a\0b\0\0", "héllo 👋", b"\0\1\0\xff\0", "", "roomy"]
        self.assertEqual(len(got), len(expected))
        for i, (g, e) in enumerate(zip(got, expected)):
            with self.subTest(i=i):
                if i == 3:  # the NaN, its payload kept to the bit
                    self.assertTrue(math.isnan(g))
                    self.assertEqual(struct.pack("<d", g), struct.pack("<Q", 0x7ff8000000000001))
                    continue
                self.assertEqual(type(g), type(e))
                self.assertEqual(g, e)
        self.assertEqual(math.copysign(1, got[2]), -1.0)  # -0.0 stays negative
        # The slots C gave: exact lengths rounded to 8, and the 64 it asked for.
        self.assertEqual(sl.format, "qqdddxxxxxxx?xxxxxxx?xxxxxx?x8s16s8s8s64s")

        # Python writes into C's roomy slot; C reads it back.
        long_value = "ü" * 32  # 64 bytes of UTF-8: fits exactly
        sl[12] = long_value
        out = lmmtest.peer(sock(), "read", "c-to-py").splitlines()
        self.assertEqual(out[12], as_line(long_value, 64))
        with self.assertRaisesRegex(ValueError, "exceeds available storage"):
            sl[12] = long_value + "!"

    def test_c_sets_python_reads(self):
        sl = lmm.ShareableList([1, 2.5, "abcdefgh"], name="c-sets")
        self.addCleanup(sl.shm.unlink)
        lmmtest.peer(sock(), "set", "c-sets", "0", "str", "héllo".encode().hex())
        lmmtest.peer(sock(), "set", "c-sets", "1", "bool", "1")
        lmmtest.peer(sock(), "set", "c-sets", "2", "bytes", "00ff00")
        self.assertEqual(list(sl), ["héllo", True, b"\0\xff\0"])
        self.assertEqual(sl.count(True), 1)
        self.assertEqual(sl.index(b"\0\xff\0"), 2)

    def test_block_created_in_c_is_attached_by_name(self):
        lmmtest.peer(sock(), "block", "c-block", "10000")
        shm = lmm.SharedMemory("c-block")
        self.addCleanup(shm.unlink)
        self.addCleanup(shm.close)
        self.assertEqual(shm.size, 10000)  # exactly: no page rounding
        self.assertEqual(bytes(shm.buf), bytes((i * 7 + 3) & 0xff for i in range(10000)))
        self.assertFalse(shm.buf.readonly)
        shm.buf[:5] = b"hello"
        cat = subprocess.run([lmmtest.env("LMMCTL"), "--socket", sock(), "cat", "c-block"],
                             capture_output=True, check=True).stdout
        self.assertEqual(cat[:5], b"hello")
        self.assertEqual(cat[5:], bytes((i * 7 + 3) & 0xff for i in range(5, 10000)))

    def test_frozen_block_from_c_is_read_only_in_python(self):
        lmmtest.peer(sock(), "block", "c-frozen", "4096")
        lmmtest.lmmctl("freeze", "c-frozen")
        shm = lmm.SharedMemory("c-frozen")
        self.addCleanup(shm.unlink)
        self.addCleanup(shm.close)
        self.assertTrue(shm.buf.readonly)
        self.assertEqual(shm.buf[1], 10)
        with self.assertRaises(TypeError):
            shm.buf[0] = 0


class NoTornItems(unittest.TestCase):

    def test_c_writer_python_reader(self):
        # C sets item 1 to 3000 'A's (str) and 4096 'B's (bytes) in turn for
        # a second; every value Python reads meanwhile must be one of them.
        initial = "x" * 4096
        sl = lmm.ShareableList([0, initial, 0], name="hammered")
        self.addCleanup(sl.shm.unlink)
        a, b = "A" * 3000, b"B" * 4096
        seen = {initial: 0, a: 0, b: 0}
        writer = subprocess.Popen([lmmtest.env("LMM_PY_PEER"), sock(), "hammer", "hammered",
                                   "1", "1000"], stdout=subprocess.PIPE, text=True)
        reads = 0
        while True:
            done = writer.poll() is not None  # then one read more: the last value set
            v = sl[1]
            self.assertIn(v, seen)  # anything else is a torn read
            seen[v] += 1
            reads += 1
            if done:
                break
        sets = int(writer.stdout.read())
        writer.stdout.close()
        self.assertEqual(writer.returncode, 0)
        self.assertEqual(list(sl)[::2], [0, 0])  # neighbours untouched
        self.assertGreater(seen[a] + seen[b], 0, "the reader never saw the writer's values")
        print("\nC writer: %d sets; Python reader: %d reads (A %d, B %d), none torn"
              % (sets, reads, seen[a], seen[b]))


class Abi(unittest.TestCase):
    """The ctypes declarations match what the C compiler makes of lmm.h."""

    def test_structures_and_constants(self):
        c = dict(line.rsplit(" ", 1) for line in lmmtest.peer("abi").splitlines())
        c = {k: int(v) for k, v in c.items()}
        import ctypes
        py = {
            "lmm_item": ctypes.sizeof(L.Item),
            "lmm_item.type": L.Item.type.offset,
            "lmm_item.i": L.Item.v.offset + L.ItemValue.i.offset,
            "lmm_item.d": L.Item.v.offset + L.ItemValue.d.offset,
            "lmm_item.b": L.Item.v.offset + L.ItemValue.b.offset,
            "lmm_item.buf.data": L.Item.v.offset + L.ItemValue.buf.offset + L.ItemBuf.data.offset,
            "lmm_item.buf.len": L.Item.v.offset + L.ItemValue.buf.offset + L.ItemBuf.len.offset,
            "lmm_item.capacity": L.Item.capacity.offset,
            "lmm_segment_opts": ctypes.sizeof(L.SegmentOpts),
            "lmm_manager_opts": ctypes.sizeof(L.ManagerOpts),
            "lmm_server_opts": ctypes.sizeof(L.ServerOpts),
            "LMM_NAME_MAX": L.NAME_MAX,
            "LMM_LIST_ITEM_MAX": L.LIST_ITEM_MAX,
            "LMM_LIST_LEN_MAX": L.LIST_LEN_MAX,
            "LMM_CREATE_SCOPE_CONNECTION": L.CREATE_SCOPE_CONNECTION,
            "LMM_OPEN_RDONLY": L.OPEN_RDONLY,
            "LMM_MAP_RDONLY": L.MAP_RDONLY,
        }
        for struct_, cls in (("lmm_segment_opts", L.SegmentOpts),
                             ("lmm_manager_opts", L.ManagerOpts),
                             ("lmm_server_opts", L.ServerOpts)):
            for field, *_ in cls._fields_:
                py["%s.%s" % (struct_, field)] = getattr(cls, field).offset
        self.assertEqual(py, c)


if __name__ == "__main__":
    unittest.main(verbosity=2)
