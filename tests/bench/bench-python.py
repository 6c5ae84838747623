#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Python's side of lmm's benchmark: the same operations on Python's own
SharedMemoryManager and ShareableList, timed the same way (median and p99,
nanoseconds, after a warm-up), and beside them lmm's Python package (the
same calls after `from lmm import ...`), interleaved with them. bench-lmm
runs it and reads what it prints, one result a line: KEY MEDIAN P99 N.
Without lmm's package (lib/python, on $PYTHONPATH, and its liblmm) its rows
are skipped with a note on stderr.

  bench-python.py create N WARMUP       smm.SharedMemory(size=4096) + a touch
  bench-python.py shutdown N REPEATS    smm.shutdown() with N blocks, per block
  bench-python.py scale L1,L2,.. M      create against L live blocks, then shutdown
  bench-python.py list BATCHES SIZE     ShareableList int and 64-char str get/set

The manager process shares this process's resource tracker (it is forked),
so its shutdown's unlinks take the blocks off the tracker too.
"""

import sys
import time
from multiprocessing.managers import SharedMemoryManager
from multiprocessing.shared_memory import ShareableList

try:
    import lmm
except ImportError as e:
    lmm = None
    LMM_MISSING = str(e)

SIZE = 4096
now = time.perf_counter_ns


def stats(xs):
    xs = sorted(xs)
    n = len(xs)
    median = xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2
    return median, xs[(n * 99 + 99) // 100 - 1], n


def emit(key, xs):
    print("%s %.1f %.1f %d" % ((key,) + stats(xs)), flush=True)


def create_one(smm):
    """One timed create: what lmm's unnamed create + map + touch does."""
    t0 = now()
    shm = smm.SharedMemory(size=SIZE)
    shm.buf[0] = 1
    t = now() - t0
    shm.close()
    return shm._name, t


def fill(smm, names, n):
    while len(names) < n:
        names.append(create_one(smm)[0])


def no_lmm(what):
    print("bench-python: no lmm package for Python (%s): %s skipped" % (LMM_MISSING, what),
          file=sys.stderr)


def cmd_create(n, warmup):
    """Python's manager, and lmm's from Python, in turn: one create of each a round."""
    smms = {"create": SharedMemoryManager()}
    if lmm is not None:
        smms["create_lmm"] = lmm.SharedMemoryManager()
    else:
        no_lmm("lmm.SharedMemoryManager().SharedMemory(4096)")
    times = {key: [] for key in smms}
    for smm in smms.values():
        smm.start()
    for i in range(warmup + n):
        for key, smm in smms.items():
            t = create_one(smm)[1]
            if i >= warmup:
                times[key].append(t)
    for key, smm in smms.items():
        smm.shutdown()
        emit(key, times[key])


def timed_shutdown(smm, names):
    t0 = now()
    smm.shutdown()
    return (now() - t0) / len(names)


def cmd_shutdown(n, repeats):
    per_block = []
    for _ in range(repeats):
        names = []
        smm = SharedMemoryManager()
        smm.start()
        fill(smm, names, n)
        per_block.append(timed_shutdown(smm, names))
    emit("shutdown.%d" % n, per_block)


def cmd_scale(levels, m):
    names = []
    smm = SharedMemoryManager()
    smm.start()
    for live in levels:
        fill(smm, names, live)
        times = []
        for _ in range(m):
            name, t = create_one(smm)
            names.append(name)
            times.append(t)
        emit("scale.%d" % live, times)
    print("shutdown.max %.1f 0 %d" % (timed_shutdown(smm, names), len(names)), flush=True)


def list_kinds(sl, size, prefix):
    s64 = "y" * 64
    loop = range(size)

    def int_get():
        for _ in loop:
            sl[0]

    def int_set():
        for i in loop:
            sl[0] = i

    def str_get():
        for _ in loop:
            sl[1]

    def str_set():
        for _ in loop:
            sl[1] = s64

    return [(prefix + "int_get", int_get), (prefix + "int_set", int_set),
            (prefix + "str64_get", str_get), (prefix + "str64_set", str_set)]


def cmd_list(batches, size):
    """Python's ShareableList, and lmm's from Python, interleaved."""
    lists = [ShareableList([0, "x" * 64])]
    kinds = list_kinds(lists[0], size, "list.")
    smm = None
    if lmm is not None:
        smm = lmm.SharedMemoryManager()
        smm.start()
        lists.append(smm.ShareableList([0, "x" * 64]))
        kinds += list_kinds(lists[1], size, "list.lmm_")
    else:
        no_lmm("lmm.ShareableList")
    times = {key: [] for key, _ in kinds}
    try:
        # Interleaved, so that all of them see the same machine.
        for b in range(batches + 2):
            for key, f in kinds:
                t0 = now()
                f()
                t = now() - t0
                if b >= 2:  # the first rounds warm up
                    times[key].append(t / size)
        for sl in lists:
            if sl[1] != "y" * 64:
                sys.exit("a ShareableList lost a value")
    finally:
        lists[0].shm.close()
        lists[0].shm.unlink()
        if smm is not None:
            smm.shutdown()
    for key, _ in kinds:
        emit(key, times[key])


def main(argv):
    cmds = {
        "create": lambda a: cmd_create(int(a[0]), int(a[1])),
        "shutdown": lambda a: cmd_shutdown(int(a[0]), int(a[1])),
        "scale": lambda a: cmd_scale([int(x) for x in a[0].split(",")], int(a[1])),
        "list": lambda a: cmd_list(int(a[0]), int(a[1])),
    }
    if len(argv) < 2 or argv[1] not in cmds:
        sys.exit(__doc__)
    cmds[argv[1]](argv[2:])


if __name__ == "__main__":
    main(sys.argv)
