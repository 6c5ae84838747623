#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Python's side of lmm's benchmark: the same operations on Python's own
SharedMemoryManager and ShareableList, timed the same way (median and p99,
nanoseconds, after a warm-up). bench-lmm runs it and reads what it prints,
one result a line: KEY MEDIAN P99 N.

  bench-python.py create N WARMUP       smm.SharedMemory(size=4096) + a touch
  bench-python.py shutdown N REPEATS    smm.shutdown() with N blocks, per block
  bench-python.py scale L1,L2,.. M      create against L live blocks, then shutdown
  bench-python.py list BATCHES SIZE     ShareableList int and 64-byte str get/set

The manager process shares this process's resource tracker (it is forked),
so its shutdown's unlinks take the blocks off the tracker too.
"""

import sys
import time
from multiprocessing.managers import SharedMemoryManager
from multiprocessing.shared_memory import ShareableList

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


def cmd_create(n, warmup):
    names, times = [], []
    smm = SharedMemoryManager()
    smm.start()
    for i in range(warmup + n):
        name, t = create_one(smm)
        names.append(name)
        if i >= warmup:
            times.append(t)
    smm.shutdown()
    emit("create", times)


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


def cmd_list(batches, size):
    sl = ShareableList([0, "x" * 64])
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

    kinds = [("list.int_get", int_get), ("list.int_set", int_set),
             ("list.str64_get", str_get), ("list.str64_set", str_set)]
    times = {key: [] for key, _ in kinds}
    try:
        # Interleaved, so that all four see the same machine.
        for b in range(batches + 2):
            for key, f in kinds:
                t0 = now()
                f()
                t = now() - t0
                if b >= 2:  # the first rounds warm up
                    times[key].append(t / size)
        if sl[1] != s64:
            sys.exit("ShareableList lost a value")
    finally:
        sl.shm.close()
        sl.shm.unlink()
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
