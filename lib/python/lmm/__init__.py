# SPDX-License-Identifier: LGPL-2.1-or-later
"""lmm — Python's shared memory API, on lmm's managers.

    from lmm import SharedMemoryManager, SharedMemory, ShareableList

The same classes, signatures and exceptions as
multiprocessing.managers.SharedMemoryManager and
multiprocessing.shared_memory, backed by liblmm: every block is a sealed
memfd that an lmm manager hands out over a Unix socket, so nothing lives in
/dev/shm, nothing needs a resource tracker, and nothing is left behind when
processes die. Where lmm is stricter or does more, docs/python.md says so,
case by case. lmm.shared_memory and lmm.managers mirror the module names of
multiprocessing.
"""

from .managers import SharedMemoryManager
from .shared_memory import ShareableList, SharedMemory

__all__ = ["SharedMemoryManager", "SharedMemory", "ShareableList"]
