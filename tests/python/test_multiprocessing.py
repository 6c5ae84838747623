# SPDX-License-Identifier: LGPL-2.1-or-later
"""lmm's blocks and lists in multiprocessing's children, under each start
method (fork, spawn, forkserver): passed as Process arguments, through a
Queue, to a Pool; pickled by name (through the manager) and by fd (no
manager asked, so also for a block nobody can open by name any more); and
what a child's exit does and does not take with it.
"""

import multiprocessing
import os
import pickle
import time
import unittest

import lmm

import lmmtest


def setUpModule():
    lmmtest.start_default_manager()


def tearDownModule():
    lmmtest.reap_multiprocessing_helpers()
    rc = lmmtest.stop_default_manager()
    if rc != 0:
        raise AssertionError("lmmd exited with %r" % rc)


# ---------------------------------------------------------------- children's work


def write_shm(shm, data):
    if isinstance(shm, str):
        shm = lmm.SharedMemory(shm)
    shm.buf[:len(data)] = data
    shm.close()


def write_list(sl, values):
    for i, v in enumerate(values):
        sl[i] = v
    sl.shm.close()


def from_queue(q, done):
    while True:
        obj = q.get()
        if obj is None:
            break
        if isinstance(obj, lmm.SharedMemory):
            obj.buf[0] += 1
            obj.close()
        else:
            obj[0] += 1
            obj.shm.close()
    done.put("ok")


def square_into(sl, i):
    sl[i] = i * i
    return os.getpid()


def make_own_block(q):
    shm = lmm.SharedMemory(create=True, size=64)  # tracked: goes with this process
    kept = lmm.SharedMemory(create=True, size=64, track=False)  # stays until unlink()
    q.put((shm.name, kept.name))
    q.get()  # until the parent has seen both


def describe(shm_or_list):
    """What the child received, as plain data the parent can check."""
    if isinstance(shm_or_list, lmm.ShareableList):
        return ("list", shm_or_list.shm.name, list(shm_or_list), shm_or_list.shm.buf.readonly)
    shm = shm_or_list
    return ("shm", shm.name, bytes(shm.buf[:8]), shm.buf.readonly)


def report(q, obj):
    q.put(describe(obj))
    if isinstance(obj, lmm.ShareableList):
        if not obj.shm.buf.readonly:
            obj[0] = "child"
    elif not obj.buf.readonly:
        obj.buf[0:5] = b"child"


# ---------------------------------------------------------------- tests


class _Children:
    start_method = None

    @classmethod
    def setUpClass(cls):
        cls.ctx = multiprocessing.get_context(cls.start_method)

    def run_child(self, target, *args):
        p = self.ctx.Process(target=target, args=args)
        p.start()
        p.join(60)
        self.assertEqual(p.exitcode, 0)

    def test_block_and_list_as_arguments(self):
        shm = lmm.SharedMemory(create=True, size=32)
        self.addCleanup(shm.unlink)
        sl = lmm.ShareableList([0, "", None, b"\0" * 8])
        self.addCleanup(sl.shm.unlink)
        self.run_child(write_shm, shm, b"from a child")
        self.run_child(write_list, sl, [7, "é", 2.5, b"\0x\0"])
        self.assertEqual(bytes(shm.buf[:12]), b"from a child")
        self.assertEqual(list(sl), [7, "é", 2.5, b"\0x\0"])

    def test_through_a_queue(self):
        shm = lmm.SharedMemory(create=True, size=8)
        self.addCleanup(shm.unlink)
        sl = lmm.ShareableList([41])
        self.addCleanup(sl.shm.unlink)
        q, done = self.ctx.Queue(), self.ctx.Queue()
        p = self.ctx.Process(target=from_queue, args=(q, done))
        p.start()
        for _ in range(3):
            q.put(shm)
            q.put(sl)
        q.put(None)
        self.assertEqual(done.get(timeout=60), "ok")
        p.join(60)
        self.assertEqual(p.exitcode, 0)
        self.assertEqual(shm.buf[0], 3)
        self.assertEqual(sl[0], 44)

    def test_pool(self):
        import functools
        sl = lmm.ShareableList([0] * 64)
        self.addCleanup(sl.shm.unlink)
        with self.ctx.Pool(2) as pool:
            pids = pool.map(functools.partial(square_into, sl), range(64))
        self.assertEqual(list(sl), [i * i for i in range(64)])
        self.assertNotIn(os.getpid(), pids)

    def test_by_fd_needs_no_name(self):
        # Unlinked before the child starts: nobody can open it by name, and
        # yet the child gets the memory, through the fd.
        shm = lmm.SharedMemory(create=True, size=16)
        shm.buf[:8] = b"by fd..."
        sl = lmm.ShareableList([1, "two", 3.0])
        shm.unlink()
        sl.shm.unlink()
        with self.assertRaises(FileNotFoundError):
            lmm.SharedMemory(shm.name)
        q = self.ctx.Queue()
        self.run_child(report, q, shm.by_fd())
        self.assertEqual(q.get(timeout=10), ("shm", shm.name, b"by fd...", False))
        self.assertEqual(bytes(shm.buf[:5]), b"child")
        self.run_child(report, q, sl.by_fd())
        self.assertEqual(q.get(timeout=10), ("list", sl.shm.name, [1, "two", 3.0], False))
        self.assertEqual(sl[0], "child")

    def test_by_fd_of_a_shut_down_manager_is_read_only(self):
        # After shutdown every block is sealed against new writable
        # mappings: a child that receives one maps it read-only.
        smm = lmm.SharedMemoryManager()
        smm.start()
        shm = smm.SharedMemory(16)
        shm.buf[:8] = b"sealed.."
        sl = smm.ShareableList(["sealed"])
        smm.shutdown()
        q = self.ctx.Queue()
        self.run_child(report, q, shm.by_fd())
        self.assertEqual(q.get(timeout=10), ("shm", shm.name, b"sealed..", True))
        self.run_child(report, q, sl.by_fd())
        self.assertEqual(q.get(timeout=10), ("list", sl.shm.name, ["sealed"], True))
        # Our own mapping, made before, still writes.
        shm.buf[0:1] = b"S"
        sl[0] = "still"
        self.assertEqual(sl[0], "still")

    def test_a_childs_tracked_blocks_go_with_it(self):
        q = self.ctx.Queue()
        p = self.ctx.Process(target=make_own_block, args=(q,))
        p.start()
        tracked, kept = q.get(timeout=60)
        lmm.SharedMemory(tracked).close()  # there while the child lives
        q.put("seen")
        p.join(60)
        self.assertEqual(p.exitcode, 0)
        deadline = time.monotonic() + 30  # at once, or nearly; a loaded machine is slow
        while True:
            try:
                lmm.SharedMemory(tracked).close()
            except FileNotFoundError:
                break
            if time.monotonic() > deadline:
                self.fail("the child's tracked block outlived it")
            time.sleep(0.01)
        kept_shm = lmm.SharedMemory(kept)  # track=False: until unlink()
        kept_shm.unlink()
        kept_shm.close()

    def test_a_child_does_not_disturb_its_parents_connection(self):
        # The parent's blocks and its connection to the manager are its
        # own: a child's use and exit leave them alone.
        shm = lmm.SharedMemory(create=True, size=8)
        self.addCleanup(shm.unlink)
        self.run_child(write_shm, shm.name, b"x")
        self.run_child(write_shm, shm, b"y")
        again = lmm.SharedMemory(shm.name)  # the parent's connection still works
        self.assertEqual(bytes(again.buf[:1]), b"y")
        again.close()

    def test_pickle_by_name_carries_the_manager(self):
        # A block of a private manager, pickled by name, is found in the
        # child through that manager's address, not the default manager.
        with lmm.SharedMemoryManager() as smm:
            shm = smm.SharedMemory(8)
            sl = smm.ShareableList([0, 0])
            self.assertIn(smm.address.encode(), pickle.dumps(shm))
            q = self.ctx.Queue()
            self.run_child(report, q, shm)
            self.assertEqual(q.get(timeout=10)[0:2], ("shm", shm.name))
            self.run_child(report, q, sl)
            self.assertEqual(q.get(timeout=10)[0:3], ("list", sl.shm.name, [0, 0]))
            self.assertEqual(bytes(shm.buf[:5]), b"child")
            self.assertEqual(sl[0], "child")


class Fork(_Children, unittest.TestCase):
    start_method = "fork"


class Spawn(_Children, unittest.TestCase):
    start_method = "spawn"


class Forkserver(_Children, unittest.TestCase):
    start_method = "forkserver"


if __name__ == "__main__":
    unittest.main(verbosity=2)
