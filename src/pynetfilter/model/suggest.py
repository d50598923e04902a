"""" (did you mean X?)": the nearest known name to a misspelt one, for one-line errors.

Used for targets, chains and tables; option names have their own list in
syntax/command.py.  difflib's ratio with a high cutoff suggests only names one
or two edits away (``ACCPET`` -> ``ACCEPT``, ``KUBE-SERVICE`` -> ``KUBE-SERVICES``),
never an unrelated one.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def nearest(word: str, candidates: Iterable[str]) -> str | None:
    """The candidate closest to *word*, or None when none is close (or *word* is one of them)."""
    names = [c for c in dict.fromkeys(candidates) if c]
    if word in names:
        return None
    for c in names:  # two neighbouring letters swapped (tpc -> tcp): a typo whatever the ratio says
        if len(c) == len(word) and c != word:
            diff = [i for i in range(len(c)) if c[i] != word[i]]
            if len(diff) == 2 and diff[1] == diff[0] + 1 and c[diff[0]] == word[diff[1]] \
                    and c[diff[1]] == word[diff[0]]:
                return c
    close = difflib.get_close_matches(word, names, n=1, cutoff=0.75)
    if not close:
        # A case slip (accept, Kube-Services) is a typo whatever the ratio says.
        folded = [c for c in names if c.casefold() == word.casefold()]
        return folded[0] if folded else None
    return close[0]


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """" (did you mean X?)" or "" when nothing is close."""
    best = nearest(word, candidates)
    return f" (did you mean {best}?)" if best is not None else ""
