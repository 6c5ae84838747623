# SPDX-License-Identifier: LGPL-2.1-or-later
"""do_work() for the documentation's second example (test_seed.py), which
uses it without defining it; in a module of its own so that spawn and
forkserver children can import it."""


def do_work(sl, start, stop):
    """Store partial results in sl: the square of each index."""
    for i in range(start, stop):
        sl[i] = i * i
