# SPDX-License-Identifier: LGPL-2.1-or-later
"""What the lmm package promises beyond CPython's tests, seen from outside:
its errors, where it is stricter or better than CPython (docs/python.md,
case by case), its managers' life cycle (start, connect, get_server,
shutdown, the owner's death), fork and threads, fd hygiene, and a list
block that another process made hostile.
"""

import ctypes
import errno
import fcntl
import math
import os
import pickle
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import unittest.mock
from multiprocessing import ProcessError

import lmm
from lmm import SharedMemory, ShareableList, SharedMemoryManager

import lmmtest

PR_SET_CHILD_SUBREAPER = 36


def setUpModule():
    # Managers whose starter a test kills are orphaned: become their
    # parent, so that they are reaped (PID 1 here reaps nobody).
    ctypes.CDLL(None).prctl(PR_SET_CHILD_SUBREAPER, 1)
    lmmtest.start_default_manager()


def tearDownModule():
    rc = lmmtest.stop_default_manager()
    if rc != 0:
        raise AssertionError("lmmd exited with %r" % rc)


def python(code, *args, **kw):
    """Run @code in a new interpreter with this environment."""
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          **kw)


def pid_alive(pid):
    """Whether @pid runs (not a zombie): a zombie of ours is reaped here."""
    try:
        r, _ = os.waitpid(pid, os.WNOHANG)
        if r == pid:
            return False
    except ChildProcessError:
        pass
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def wait_gone(pid, timeout=30):
    deadline = time.monotonic() + timeout
    while pid_alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


class Errors(unittest.TestCase):
    """Python's exceptions, with the manager's one-line explanation."""

    def test_name_in_use(self):
        shm = SharedMemory("err-exists", create=True, size=8)
        self.addCleanup(shm.unlink)
        with self.assertRaises(FileExistsError) as cm:
            SharedMemory("err-exists", create=True, size=8)
        self.assertEqual(cm.exception.errno, errno.EEXIST)
        self.assertEqual(cm.exception.filename, "err-exists")
        self.assertIn('"err-exists"', str(cm.exception))  # the manager's text names it
        self.assertIn("in use", str(cm.exception))

    def test_no_such_block(self):
        with self.assertRaises(FileNotFoundError) as cm:
            SharedMemory("err-absent")
        self.assertIn('no block named "err-absent"', str(cm.exception))
        with self.assertRaises(FileNotFoundError):
            ShareableList(name="err-absent")

    def test_bad_names_and_sizes(self):
        for name in ("a/b", "x" * 201, "tab\there", ""):
            with self.subTest(name=name):
                with self.assertRaises(ValueError):
                    SharedMemory(name, create=True, size=8)
        with self.assertRaises(ValueError):
            SharedMemory("nul\0", create=True, size=8)
        with self.assertRaises(TypeError):
            SharedMemory("float-size", create=True, size=8.0)
        with self.assertRaises(TypeError):
            SharedMemory(42)
        with self.assertRaises(OverflowError):  # ctypes would wrap it to 5, silently
            SharedMemory(create=True, size=2**64 + 5)
        with self.assertRaises(OverflowError):
            SharedMemory(create=True, size=2**63)

    def test_past_the_per_user_limit(self):
        with self.assertRaises(OSError) as cm:
            SharedMemory(create=True, size=1 << 40)
        self.assertEqual(cm.exception.errno, errno.EDQUOT)
        self.assertIn("per-user limit", str(cm.exception))

    def test_no_manager(self):
        with self.assertRaises(FileNotFoundError) as cm:
            SharedMemory("x", manager="/nonexistent/lmmd.sock")
        self.assertIn("cannot connect", str(cm.exception))
        with self.assertRaises(FileNotFoundError):
            SharedMemoryManager("/nonexistent/lmmd.sock").connect()

    def test_manager_states(self):
        smm = SharedMemoryManager()
        with self.assertRaises(ValueError):
            smm.ShareableList([1])
        with self.assertRaises(TypeError):
            smm.start(initializer=42)
        smm.start()
        with self.assertRaises(ProcessError):
            smm.start()
        with self.assertRaises(ProcessError):
            smm.get_server()
        smm.shutdown()
        smm.shutdown()  # again: nothing
        with self.assertRaises(ProcessError):
            smm.start()
        with self.assertRaises(ProcessError):
            smm.__enter__()

    def test_list_values(self):
        sl = ShareableList([0, "abc"])
        self.addCleanup(sl.shm.unlink)
        with self.assertRaises(TypeError) as cm:
            sl[0] = [1, 2]
        self.assertIsInstance(cm.exception, KeyError)  # what CPython raises
        with self.assertRaises(OverflowError) as cm:
            sl[0] = 2**63
        self.assertIsInstance(cm.exception, struct.error)  # what CPython raises
        with self.assertRaises(TypeError):
            ShareableList([object()])
        with self.assertRaises(UnicodeEncodeError):
            sl[1] = "\udc80"
        with self.assertRaises(TypeError):
            sl["0"]
        with self.assertRaises(TypeError):
            sl[0:1]
        for i in (2, -3, 2**70):
            with self.assertRaises(IndexError):
                sl[i]
        with self.assertRaises(ValueError):
            ShareableList([b"x" * (16 * 1024 * 1024 + 1)])
        self.assertEqual(list(sl), [0, "abc"])  # nothing changed on the way
        sl.shm.close()
        with self.assertRaises(ValueError):
            sl[0]
        with self.assertRaises(ValueError):
            sl[0] = 1
        self.assertIsNone(sl.shm.buf)


class BetterThanCPython(unittest.TestCase):
    """Each case of docs/python.md where lmm is stricter or better."""

    def test_exact_size_sealed(self):
        shm = SharedMemory("exact", create=True, size=1000)
        self.addCleanup(shm.unlink)
        self.addCleanup(shm.close)
        self.assertEqual((shm.size, len(shm.buf)), (1000, 1000))
        self.assertIn("shrink,grow", lmmtest.lmmctl("stat", "exact"))

    def test_trailing_nuls_and_lengths_kept(self):
        values = ["a\0\0", b"\0\0", "\0", b"x\0", "é\0"]
        sl = ShareableList(values)
        self.addCleanup(sl.shm.unlink)
        self.assertEqual(list(sl), values)  # CPython strips the NULs (gh-96779)
        sl[0] = "\0\0\0"
        self.assertEqual(sl[0], "\0\0\0")

    def test_multibyte_text_is_never_cut(self):
        # CPython sizes a str slot in characters and cuts the UTF-8 bytes
        # (gh-88336): reading it back raises UnicodeDecodeError.
        values = ["ééééé", "👋" * 7, "日本語のテキスト"]
        sl = ShareableList(values)
        self.addCleanup(sl.shm.unlink)
        self.assertEqual(list(sl), values)
        sl[1] = "👋" * 8  # 32 bytes fit: the slot is its first value's 28 rounded up to 8
        self.assertEqual(sl[1], "👋" * 8)

    def test_count_and_index_compare_as_python_does(self):
        values = [1, 1.0, True, 0, -0.0, False, None, "a", b"a", 2**53 + 1, float(2**53),
                  math.nan, math.inf, "", b"", -2**63]
        sl = ShareableList(values)
        self.addCleanup(sl.shm.unlink)
        probes = values + [2, 2.0, "b", 2**53, 2**64, 1.5, "1", b"\0", -0.5, 0.0,
                           bytearray(b"a"), (1,), 2**63 - 1]
        for v in probes:
            with self.subTest(value=v):
                # CPython's ShareableList: value == entry, for each entry.
                self.assertEqual(sl.count(v), sum(v == e for e in values))
                expected = [i for i, e in enumerate(values) if v == e]
                if expected:
                    self.assertEqual(sl.index(v), expected[0])
                else:
                    with self.assertRaises(ValueError):
                        sl.index(v)

    def test_no_resource_tracker_and_nothing_in_dev_shm(self):
        # In a mount namespace of its own with an empty /dev/shm, so that
        # what other tests running meanwhile put there does not count.
        code = """if 1:
            import os
            from multiprocessing import resource_tracker
            import lmm
            shm = lmm.SharedMemory(create=True, size=4096)
            sl = lmm.ShareableList(range(10))
            with lmm.SharedMemoryManager() as smm:
                smm.SharedMemory(10)
                smm.ShareableList("abc")
            print(resource_tracker._resource_tracker._pid, os.listdir("/dev/shm"))
        """
        p = subprocess.run(["unshare", "--mount", "sh", "-c",
                            'mount -t tmpfs lmm-test /dev/shm && exec "$0" "$@"',
                            sys.executable, "-c", code], capture_output=True, text=True)
        if p.returncode != 0 and (p.stderr.startswith("unshare:") or
                                  "mount" in p.stderr and "lmm" not in p.stderr):
            self.skipTest("cannot give the test a /dev/shm of its own: " + p.stderr.strip())
        self.assertEqual((p.returncode, p.stdout, p.stderr), (0, "None []\n", ""))

    def test_a_failed_attach_removes_nothing(self):
        # gh-153279: CPython's attach unlinks the block when mapping it fails.
        shm = SharedMemory("attach-fails", create=True, size=64)
        self.addCleanup(shm.unlink)
        self.addCleanup(shm.close)
        with unittest.mock.patch("lmm.shared_memory.mmap.mmap",
                                 side_effect=OSError(errno.ENOMEM, "no memory")):
            with self.assertRaises(OSError):
                SharedMemory("attach-fails")
        SharedMemory("attach-fails").close()  # still there

    def test_killed_creator_leaves_nothing_behind(self):
        # CPython's blocks stay in /dev/shm after kill -9 (its tracker dies
        # too); lmm's manager drops the creator's tracked blocks when its
        # connection closes, however it closes. Untracked ones stay.
        code = """if 1:
            import sys, time, lmm
            a = lmm.SharedMemory(create=True, size=10)
            b = lmm.SharedMemory(create=True, size=10, track=False)
            print(a.name, b.name, flush=True)
            time.sleep(60)
        """
        p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
        tracked, kept = p.stdout.readline().split()
        p.kill()
        p.wait()
        p.stdout.close()
        deadline = time.monotonic() + 30  # at once, or nearly; a loaded machine is slow
        while True:
            try:
                SharedMemory(tracked).close()
            except FileNotFoundError:
                break
            if time.monotonic() > deadline:
                self.fail("a tracked block outlived its creator")
            time.sleep(0.01)
        b = SharedMemory(kept)
        b.unlink()
        b.close()

    def test_list_readers_never_see_a_torn_item(self):
        # Two threads here and one writer process; every value read is one
        # that was written whole.
        a, b = "A" * 3000, b"B" * 4000
        sl = ShareableList(["x" * 4000])
        self.addCleanup(sl.shm.unlink)
        code = """if 1:
            import sys, time, lmm
            sl = lmm.ShareableList(name=sys.argv[1])
            a, b = "A" * 3000, b"B" * 4000
            end = time.monotonic() + 1.0
            while time.monotonic() < end:
                sl[0] = a
                sl[0] = b
        """
        writer = subprocess.Popen([sys.executable, "-c", code, sl.shm.name])
        bad = []

        def read():
            while writer.poll() is None:
                v = sl[0]
                if v not in (a, b, "x" * 4000):
                    bad.append(v[:20])

        threads = [threading.Thread(target=read) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(writer.returncode, 0)
        self.assertEqual(bad, [])


class ReadOnly(unittest.TestCase):

    def test_open_read_only(self):
        shm = SharedMemory("ro", create=True, size=8)
        self.addCleanup(shm.unlink)
        shm.buf[0] = 1
        ro = SharedMemory("ro", readonly=True)
        self.addCleanup(ro.close)
        self.assertTrue(ro.readonly)
        self.assertTrue(ro.buf.readonly)
        with self.assertRaises(TypeError):
            ro.buf[0] = 2
        self.assertEqual(ro.buf[0], 1)
        with self.assertRaises(ValueError):
            SharedMemory("ro2", create=True, size=8, readonly=True)

    def test_list_read_only(self):
        sl = ShareableList([1, "a"], name="ro-list")
        self.addCleanup(sl.shm.unlink)
        ro = ShareableList(name="ro-list", readonly=True)
        self.assertEqual(list(ro), [1, "a"])
        with self.assertRaisesRegex(TypeError, "read-only"):
            ro[0] = 2
        sl[0] = 3
        self.assertEqual(ro[0], 3)
        ro2 = pickle.loads(pickle.dumps(ro))  # pickles read-only too
        with self.assertRaises(TypeError):
            ro2[0] = 2


class OtherUsers(unittest.TestCase):
    """Another uid gets what a block's owner shared, and nothing more: it
    cannot write a block shared read-only, unlink it, or see a private one."""

    def test_what_another_uid_may_do(self):
        m = lmmtest.Lmmd("--allow-uid", "12345")
        self.addCleanup(m.stop)
        os.chmod(m.dir, 0o755)  # the socket itself is 0666 for a manager that serves others
        lmmtest.lmmctl("--share", "ro", "create", "shared-ro", "4096", socket_path=m.socket)
        shared = SharedMemory("shared-ro", manager=m.socket)
        self.addCleanup(shared.close)
        shared.buf[:5] = b"owner"
        SharedMemory("private", create=True, size=64, manager=m.socket, track=False).close()
        code = """if 1:
            import os, sys, lmm
            sock = sys.argv[1]
            def outcome(f):
                try:
                    return repr(f())
                except Exception as e:
                    return type(e).__name__
            print(os.getuid())
            print(outcome(lambda: lmm.SharedMemory("shared-ro", manager=sock)))
            ro = lmm.SharedMemory("0/shared-ro", manager=sock, readonly=True)
            print(ro.buf.readonly, bytes(ro.buf[:5]))
            print(outcome(lambda: ro.buf.__setitem__(0, 1)))
            print(outcome(ro.unlink))
            print(outcome(lambda: lmm.SharedMemory("private", manager=sock)))
            print(outcome(lambda: lmm.SharedMemory("0/private", manager=sock)))
            mine = lmm.SharedMemory("private", create=True, size=8, manager=sock)
            mine.unlink()
            print("own namespace ok")
        """
        p = subprocess.run([sys.executable, "-c", code, m.socket], user=12345, group=12345,
                           capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout.splitlines(), [
            "12345",
            "PermissionError",        # read-write: shared read-only
            "True b'owner'",          # read-only: what the owner wrote
            "TypeError",              # a read-only view
            "PermissionError",        # unlink: only the owner
            "FileNotFoundError",      # not shared: not there for this uid
            "FileNotFoundError",
            "own namespace ok",       # its own "private" beside root's
        ])
        SharedMemory("shared-ro", manager=m.socket).close()  # still there for the owner


class Buffers(unittest.TestCase):

    def test_close_refuses_while_views_are_exported(self):
        shm = SharedMemory(create=True, size=16)
        self.addCleanup(shm.unlink)
        view = shm.buf[2:4]
        with self.assertRaises(BufferError):
            shm.close()
        view[0] = 9  # still mapped
        view.release()
        shm.close()
        shm.close()  # again: nothing
        self.assertIsNone(shm.buf)

    def test_a_lists_buf_is_the_raw_block(self):
        sl = ShareableList([0x0102030405060708])
        self.addCleanup(sl.shm.unlink)
        raw = bytes(sl.shm.buf)
        self.assertEqual(raw[:8], b"LMMLIST\0")  # lmm's layout: docs/shareable-list.md
        self.assertEqual(len(raw), sl.shm.size)
        self.assertIn(struct.pack("<q", 0x0102030405060708), raw)


class HostileListBlock(unittest.TestCase):
    """Another process with write access scribbles on a list: this process
    gets exceptions or plausible values, never a crash or a hang."""

    def test_garbage_is_refused(self):
        shm = SharedMemory("not-a-list", create=True, size=4096)
        self.addCleanup(shm.unlink)
        self.addCleanup(shm.close)
        shm.buf[:] = bytes(range(256)) * 16
        with self.assertRaises(OSError) as cm:
            ShareableList(name="not-a-list")
        self.assertEqual(cm.exception.errno, errno.EBADMSG)

    def test_scribbled_descriptors(self):
        import random
        rng = random.Random(1234)
        sl = ShareableList([1, "two", b"three", 4.0, None, True] * 8)
        self.addCleanup(sl.shm.unlink)
        buf = sl.shm.buf
        desc_offset = struct.unpack_from("<Q", buf, 32)[0]
        outcomes = {"value": 0, "refused": 0}
        for _ in range(300):
            i = rng.randrange(len(sl))
            at = desc_offset + 40 * i + rng.choice([8, 12, 16, 20, 24, 32])  # past the seq
            struct.pack_into("<I", buf, at, rng.getrandbits(32))
            try:
                sl[rng.randrange(len(sl))]
                outcomes["value"] += 1
            except OSError as e:
                self.assertEqual(e.errno, errno.EBADMSG)
                outcomes["refused"] += 1
            except UnicodeDecodeError:
                self.fail("a str that is not UTF-8 was handed out")
        self.assertGreater(outcomes["refused"], 0)
        print("\n300 scribbles: %(value)d reads gave a value, %(refused)d were refused" % outcomes)

    def test_an_item_locked_by_a_dead_writer(self):
        # A writer killed mid-set leaves its item's sequence odd: that item
        # fails with EBUSY after a second, the others work.
        sl = ShareableList([1, 2, 3])
        self.addCleanup(sl.shm.unlink)
        desc_offset = struct.unpack_from("<Q", sl.shm.buf, 32)[0]
        seq = struct.unpack_from("<Q", sl.shm.buf, desc_offset + 40)[0]
        struct.pack_into("<Q", sl.shm.buf, desc_offset + 40, seq | 1)
        t0 = time.monotonic()
        with self.assertRaises(OSError) as cm:
            sl[1]
        self.assertEqual(cm.exception.errno, errno.EBUSY)
        self.assertLess(time.monotonic() - t0, 5)
        self.assertEqual((sl[0], sl[2]), (1, 3))


class Managers(unittest.TestCase):

    def test_start_at_an_address_and_connect(self):
        d = tempfile.mkdtemp(prefix="lmm-pytest-")
        path = os.path.join(d, "m.sock")
        with SharedMemoryManager(address=path, authkey=b"ignored") as smm:
            self.assertEqual(smm.address, path)
            sl = smm.ShareableList(["from the starter"])
            other = SharedMemoryManager(address=path)
            other.connect()
            shm = other.SharedMemory(16)
            self.assertEqual(ShareableList(name=sl.shm.name, manager=other)[0], "from the starter")
            self.assertEqual(SharedMemory(shm.name, manager=smm).size, 16)
            other.shutdown()  # a connected manager: only our connection goes
            self.assertEqual(smm.ShareableList([1])[0], 1)
        self.assertFalse(os.path.exists(path))
        os.rmdir(d)

    def test_connect_to_the_default_manager(self):
        smm = SharedMemoryManager()
        smm.connect()
        self.assertEqual(smm.address, os.environ["LMM_SOCKET"])
        shm = smm.SharedMemory(8)  # kept by the manager: no tracker, no scope
        SharedMemory(shm.name).close()
        smm.shutdown()
        shm.unlink()  # through its own connection, still there
        shm.close()

    def test_initializer_runs_in_the_manager(self):
        # In the manager process, once; what this process had buffered is
        # written once too (flushed before the fork, as multiprocessing does).
        code = """if 1:
            import os, sys, lmm
            def init(path, word):
                with open(path, "w") as f:
                    f.write("%d %s" % (os.getpid(), word))
                print("initializer", end="")
            print("buffered ", end="")
            smm = lmm.SharedMemoryManager()
            smm.start(init, (sys.argv[1], "ok"))
            print(" " + str(smm._process.pid))
            smm.shutdown()
        """
        with tempfile.NamedTemporaryFile("r") as f:
            p = python(code, f.name)
            self.assertEqual(p.returncode, 0, p.stderr)
            pid, word = f.read().split()
        self.assertEqual(word, "ok")
        self.assertEqual(p.stdout, "buffered initializer %s\n" % pid)

    def test_a_failing_initializer_fails_start(self):
        code = """if 1:
            import errno, sys, lmm
            def fail(kind):
                if kind == "oserror":
                    raise PermissionError(errno.EACCES, "no")
                raise RuntimeError("initializer says no")
            smm = lmm.SharedMemoryManager()
            for kind in ("oserror", "other"):
                try:
                    smm.start(fail, (kind,))
                except OSError as e:
                    print(type(e).__name__, e.errno == errno.ECANCELED,
                          "initializer may have failed" in str(e), flush=True)
            smm.start()  # nothing was started: it still can be
            smm.shutdown()
        """
        p = python(code)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, "PermissionError False True\nOSError True True\n")
        self.assertIn("PermissionError: [Errno 13] no", p.stderr)  # the manager's traceback
        self.assertIn("RuntimeError: initializer says no", p.stderr)

    def test_the_starters_death_ends_the_manager(self):
        # Even with a forked child of the starter still running: the child
        # dropped its copy of the owner connection at fork.
        code = """if 1:
            import os, sys, time, lmm
            smm = lmm.SharedMemoryManager()
            smm.start()
            child = os.fork()
            if child == 0:
                time.sleep(30)
                os._exit(0)
            print(smm._process.pid, smm.address, child, flush=True)
            time.sleep(60)
        """
        p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
        pid, address, grandchild = p.stdout.readline().split()
        p.stdout.close()
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
        self.assertTrue(wait_gone(int(pid)), "the manager outlived its starter")
        self.assertFalse(os.path.exists(address))
        # The grandchild, orphaned to us (the subreaper), is still asleep.
        self.assertTrue(pid_alive(int(grandchild)))
        os.kill(int(grandchild), signal.SIGKILL)
        self.assertTrue(wait_gone(int(grandchild)))

    def test_shutdown_seals_and_handles_keep_working(self):
        smm = SharedMemoryManager()
        smm.start()
        shm = smm.SharedMemory(8)
        sl = smm.ShareableList([1])
        pid = smm._process.pid
        smm.shutdown()
        self.assertIsNone(smm._process)
        self.assertTrue(wait_gone(pid))
        shm.buf[0] = 1  # mappings made before keep writing
        sl[0] = 2
        self.assertEqual((shm.buf[0], sl[0]), (1, 2))
        with self.assertRaises(FileNotFoundError):
            smm.SharedMemory(8)

    def test_serve_forever_in_a_thread(self):
        server = SharedMemoryManager().get_server()
        t = threading.Thread(target=server.serve_forever)
        t.start()
        try:
            client = SharedMemoryManager(server.address)
            client.connect()
            sl = client.ShareableList(["served in a thread"])
            self.assertEqual(ShareableList(name=sl.shm.name, manager=server.address)[0],
                             "served in a thread")
        finally:
            lmmtest.lmmctl("shutdown", socket_path=server.address)
            t.join(10)
        self.assertFalse(t.is_alive())
        self.assertFalse(os.path.exists(os.path.dirname(server.address)))  # its private dir
        self.assertEqual(sl[0], "served in a thread")  # sealed, still readable

    def test_serve_forever_stops_on_sigint(self):
        code = """if 1:
            import lmm
            server = lmm.SharedMemoryManager().get_server()
            print(server.address, flush=True)
            server.serve_forever()
            print("returned", flush=True)
        """
        p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
        address = p.stdout.readline().strip()
        smm = SharedMemoryManager(address)
        smm.connect()
        smm.SharedMemory(8).close()
        p.send_signal(signal.SIGINT)
        self.assertEqual(p.stdout.read(), "returned\n")
        p.stdout.close()
        self.assertEqual(p.wait(10), 0)
        self.assertFalse(os.path.exists(address))


class ForkAndThreads(unittest.TestCase):

    def test_fork_child_gets_its_own_connection(self):
        shm = SharedMemory(create=True, size=8)  # makes this process's connection
        self.addCleanup(shm.unlink)
        pid = os.fork()
        if pid == 0:
            try:
                mine = SharedMemory(create=True, size=8)  # works: not -ECHILD
                other = SharedMemory(shm.name)
                other.buf[0] = 42
                mine.unlink()
                os._exit(0)
            except BaseException:
                os._exit(1)
        _, status = os.waitpid(pid, 0)
        self.assertEqual(os.waitstatus_to_exitcode(status), 0)
        self.assertEqual(shm.buf[0], 42)
        SharedMemory(shm.name).close()  # the parent's connection was not disturbed

    def test_fork_while_another_thread_is_inside_a_list(self):
        # The list's lock, held by a thread of the parent at fork(), is not
        # held in the child, where that thread does not exist.
        sl = ShareableList([1, "x"])
        self.addCleanup(sl.shm.unlink)
        inside, leave = threading.Event(), threading.Event()

        def hold():
            with sl.shm._lock:  # as a thread in the middle of sl[i] does
                inside.set()
                leave.wait()

        t = threading.Thread(target=hold)
        t.start()
        inside.wait()
        try:
            pid = os.fork()
            if pid == 0:
                os._exit(0 if (sl[0], sl[1]) == (1, "x") else 1)
            deadline = time.monotonic() + 10
            while True:
                r, status = os.waitpid(pid, os.WNOHANG)
                if r == pid or time.monotonic() > deadline:
                    break
                time.sleep(0.01)
            if r != pid:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                self.fail("the child hung on a lock its parent's thread held")
            self.assertEqual(os.waitstatus_to_exitcode(status), 0)
        finally:
            leave.set()
            t.join()

    def test_threads_share_connections_and_lists(self):
        sl = ShareableList([0] * 8)
        self.addCleanup(sl.shm.unlink)
        errors = []

        def work(k):
            try:
                for i in range(50):
                    shm = SharedMemory(create=True, size=64)
                    SharedMemory(shm.name).close()
                    shm.unlink()
                    shm.close()
                    sl[k] = sl[k] + 1
            except BaseException as e:
                errors.append(e)

        threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        self.assertEqual(list(sl), [50] * 8)


class Fds(unittest.TestCase):

    def test_no_fd_leaks(self):
        SharedMemory(create=True, size=1).unlink()  # this process's connection, made once
        with lmmtest.FdLeakCheck(self):
            for _ in range(50):
                shm = SharedMemory(create=True, size=4096)
                again = SharedMemory(shm.name)
                sl = ShareableList([1, "x"])
                sl2 = pickle.loads(pickle.dumps(sl))
                by_fd = shm.by_fd()
                for obj in (again, by_fd, shm):
                    obj.close()
                sl2.shm.close()
                sl.shm.unlink()
                sl.shm.close()
                with self.assertRaises(FileExistsError):
                    SharedMemory(shm.name, create=True, size=1)
                shm.unlink()
                with self.assertRaises(FileNotFoundError):
                    SharedMemory(shm.name)
            with SharedMemoryManager() as smm:
                smm.SharedMemory(8).close()

    def test_every_fd_is_close_on_exec(self):
        shm = SharedMemory(create=True, size=64)
        self.addCleanup(shm.unlink)
        self.addCleanup(shm.close)
        sl = ShareableList([1])
        self.addCleanup(sl.shm.unlink)
        sl.shm.buf  # a second mapping, Python's
        with SharedMemoryManager() as smm:
            smm.SharedMemory(8)
            for fd, target in lmmtest.fds().items():
                if fd > 2 and (target.startswith("/memfd:") or target.startswith("socket:")):
                    with self.subTest(fd=fd, target=target):
                        self.assertTrue(fcntl.fcntl(fd, fcntl.F_GETFD) & fcntl.FD_CLOEXEC)


if __name__ == "__main__":
    unittest.main(verbosity=2)
