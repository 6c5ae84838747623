# SPDX-License-Identifier: LGPL-2.1-or-later AND 0BSD
"""The two examples of Python's SharedMemoryManager documentation, run
against lmm with nothing changed but the import.

The examples are from the documentation of multiprocessing.shared_memory
(Python 3.11 to 3.13), whose code examples are licensed under the Zero-Clause
BSD licence (0BSD) besides the PSF licence. They run as doctests: the names
the documentation shows ('psm_6572_7512') are made by the manager, so the
expected output elides them. The second example leaves do_work and Process
to the reader: do_work is in seed_work.py, and Process comes from each start
method in turn. README.md shows the first example; its copy is run too.
"""

import doctest
import multiprocessing
import os
import re
import unittest

import lmmtest
import seed_work

EXAMPLE_1 = """
>>> from lmm import SharedMemoryManager
>>> smm = SharedMemoryManager()
>>> smm.start()  # Start the process that manages the shared memory blocks
>>> sl = smm.ShareableList(range(4))
>>> sl
ShareableList([0, 1, 2, 3], name='lmm_...')
>>> raw_shm = smm.SharedMemory(size=128)
>>> another_sl = smm.ShareableList('alpha')
>>> another_sl
ShareableList(['a', 'l', 'p', 'h', 'a'], name='lmm_...')
>>> smm.shutdown()  # Calls unlink() on sl, raw_shm, and another_sl
"""

# What lmm adds after the example: the handles still work (the manager
# sealed the blocks, it did not take them away), and the names are gone.
AFTER_1 = """
>>> sl[3], another_sl[0], raw_shm.size
(3, 'a', 128)
>>> from lmm import ShareableList
>>> ShareableList(name=sl.shm.name, manager=smm)
Traceback (most recent call last):
FileNotFoundError: ...
"""

EXAMPLE_2 = """
>>> from lmm import SharedMemoryManager
>>> with SharedMemoryManager() as smm:
...     sl = smm.ShareableList(range(2000))
...     # Divide the work among two processes, storing partial results in sl
...     p1 = Process(target=do_work, args=(sl, 0, 1000))
...     p2 = Process(target=do_work, args=(sl, 1000, 2000))
...     p1.start()
...     p2.start()  # A multiprocessing.Pool might be more efficient
...     p1.join()
...     p2.join()   # Wait for all work to complete in both processes
...     total_result = sum(sl)  # Consolidate the partial results now in sl
"""

AFTER_2 = """
>>> p1.exitcode, p2.exitcode
(0, 0)
>>> total_result == sum(i * i for i in range(2000))
True
"""


def setUpModule():
    lmmtest.start_default_manager()


def tearDownModule():
    lmmtest.reap_multiprocessing_helpers()
    lmmtest.stop_default_manager()


class SeedExamples(unittest.TestCase):

    def run_doctest(self, text, globs, name):
        parser = doctest.DocTestParser()
        runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
        test = parser.get_doctest(text, globs, name, None, 0)
        runner.run(test, out=lambda s: print(s, end=""))
        self.assertEqual(runner.failures, 0, "%s: see the doctest output above" % name)
        self.assertGreater(runner.tries, 0)

    def test_example_1(self):
        globs = {}
        self.run_doctest(EXAMPLE_1 + AFTER_1, globs, "example 1")

    def test_example_2(self):
        for method in ("fork", "spawn", "forkserver"):
            with self.subTest(start_method=method):
                globs = {"Process": multiprocessing.get_context(method).Process,
                         "do_work": seed_work.do_work}
                self.run_doctest(EXAMPLE_2 + AFTER_2, globs, "example 2, " + method)

    def test_readme_shows_example_1(self):
        readme = os.path.join(os.path.dirname(__file__), "..", "..", "README.md")
        with open(readme, encoding="utf-8") as f:
            text = f.read()
        blocks = re.findall(r"```pycon\n(.*?)```", text, re.S)
        self.assertTrue(blocks, "README.md has no ```pycon example")
        shown = blocks[0]
        # The README shows the documentation's output; names vary.
        self.assertEqual(re.sub(r"name='[^']*'", "name='lmm_...'", shown).strip(),
                         EXAMPLE_1.strip())
        self.run_doctest(shown, {}, "README.md")


if __name__ == "__main__":
    unittest.main(verbosity=2)
