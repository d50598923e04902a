"""The kernel's textsearch algorithms (lib/ts_bm.c, ts_kmp.c, ts_fsm.c) as -m string runs them.

Theory of operation.  xt_string hands the packet bytes between --from and --to
to a textsearch configured with the rule's pattern; the answer is the offset
of the first match or none.  The three algorithms do not always agree, and
the kernel's quirks are part of the behaviour a firewall sees, so each is
rebuilt step by step rather than replaced by ``bytes.find``:

* bm: Boyer-Moore with the kernel's own bad-character and good-suffix tables
  (its good-suffix computation is not textbook, and with --icase the
  bad-character table is keyed by raw text bytes, uppercase and the kernel's
  ``tolower`` of the pattern only).
* kmp: Knuth-Morris-Pratt: exactly the first occurrence (of the uppercased
  pattern in the uppercased text with --icase).
* fsm: a token automaton (struct ts_fsm_token: u16 type, u8 recurrence, u8
  value, host byte order), strict (anchored at both ends) unless the first
  token is HEAD_IGNORE.

Case folding is the kernel's ctype (lib/ctype.c): Latin-1 letters fold too,
and 0xdf and 0xff are "lower case" letters whose upper case is 0xbf and 0xdf.

A packet reaches the search as one block (pynetfilter keeps a datagram in one
piece, like a linear skb), so bm's blind spot for matches split across skb
fragments does not arise.
"""

from __future__ import annotations

import functools

# lib/ctype.c classes
_U, _L, _D, _C, _P, _S, _X, _SP = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80
_A, _W = 0x100, 0x200  # ts_fsm's extra classes: ascii, wildcard


def _ctype(c: int) -> int:
    if c < 128:
        if c == 32:
            return _S | _SP
        if c < 32 or c == 127:
            return _C | (_S if 9 <= c <= 13 else 0)
        if 48 <= c <= 57:
            return _D
        if 65 <= c <= 90:
            return _U | (_X if c <= 70 else 0)
        if 97 <= c <= 122:
            return _L | (_X if c <= 102 else 0)
        return _P
    if c < 160:
        return _C
    if c == 160:
        return _S | _SP
    if c < 192 or c in (215, 247):
        return _P
    return _U if c < 223 else _L


CTYPE = tuple(_ctype(c) for c in range(256))
TOUPPER = bytes(c - 32 if CTYPE[c] & _L else c for c in range(256))
TOLOWER = bytes(c + 32 if CTYPE[c] & _U else c for c in range(256))
# ts_fsm's own table: the ctype classes, plus ascii for 0-127, wildcard for all; 128-159 carry
# no control class there.
FSM_CLASSES = tuple(_W | (_A | CTYPE[c] if c < 128 else (0 if c < 160 else CTYPE[c])) for c in range(256))
# TS_FSM_* token types -> the classes they accept (0: one specific byte)
FSM_TYPES = (0, _W, _D, _D | _X, _P | _U | _L | _D | _SP, _U | _L, _U | _L | _D, _A, _C,
             _P | _U | _L | _D, _L, _U, _P, _S)
SINGLE, PERHAPS, ANY, MULTI, HEAD_IGNORE = 0, 1, 2, 3, 4


def find(algo: str, pattern: bytes, icase: bool, text: bytes) -> int | None:
    """Offset of the first match of *pattern* in *text* as the named algorithm finds it."""
    if algo == "bm":
        return bm_find(pattern, icase, text)
    if algo == "kmp":
        fold = TOUPPER if icase else None
        at = text.translate(fold).find(pattern.translate(fold)) if fold else text.find(pattern)
        return None if at < 0 else at
    return fsm_find(pattern, text)


@functools.lru_cache(maxsize=1024)
def _bm_tables(pattern: bytes, icase: bool) -> tuple[bytes, list[int], list[int]]:
    """compute_prefix_tbl: the (case-folded) pattern, bad_shift[256], good_shift[patlen]."""
    pat = pattern.translate(TOUPPER) if icase else pattern
    n = len(pat)
    bad = [n] * 256
    for i in range(n - 1):
        bad[pat[i]] = n - 1 - i
        if icase:
            bad[TOLOWER[pat[i]]] = n - 1 - i
    good = [1] + [n] * (n - 1)
    i, g = n - 1, 1
    while i > 0:
        j = i - 1
        while j >= 1 - g:
            if _subpattern(pat, i, j, g):
                good[g] = n - j - g
                break
            j -= 1
        g += 1
        i -= 1
    return pat, bad, good


def _subpattern(pat: bytes, i: int, j: int, g: int) -> bool:
    x, y = i + g - 1, j + g - 1
    while pat[x] == pat[y]:
        x -= 1
        y -= 1
        if y < 0:
            return True
        g -= 1
        if g == 0:
            return pat[i - 1] != pat[j - 1]
    return False


def bm_find(pattern: bytes, icase: bool, text: bytes) -> int | None:
    pat, bad, good = _bm_tables(pattern, icase)
    n = len(pat)
    fold = TOUPPER if icase else None
    shift = n - 1
    while shift < len(text):
        i = 0
        while i < n:
            t = text[shift - i]
            if (fold[t] if fold else t) != pat[n - 1 - i]:
                break
            i += 1
        if i == n:
            return shift - (n - 1)
        shift = max(shift - i + bad[text[shift - i]], shift + good[i])
    return None


def _fsm_tokens(pattern: bytes) -> list[tuple[int, int, int]]:
    """(class mask or 0, recurrence, value) per 4-byte token, as fsm_init maps them."""
    return [(FSM_TYPES[int.from_bytes(pattern[k:k + 2], "little")], pattern[k + 2], pattern[k + 3])
            for k in range(0, len(pattern), 4)]


def _tok(tok: tuple[int, int, int], d: int) -> bool:
    return bool(FSM_CLASSES[d] & tok[0]) if tok[0] else tok[2] == d


def fsm_find(pattern: bytes, text: bytes) -> int | None:  # noqa: C901 - one automaton, kept whole
    """fsm_find on one block: *pos* plays the kernel's consumed + block_idx."""
    tokens = _fsm_tokens(pattern)
    end = len(text)
    if end == 0:
        return None
    strict = tokens[0][1] != HEAD_IGNORE
    pos = 0
    while True:  # startover
        start = pos
        restart = False
        k = 0
        while k < len(tokens):
            cur = tokens[k]
            nxt = tokens[k + 1] if k + 1 < len(tokens) else None
            rec = cur[1]
            k += 1
            if rec in (SINGLE, MULTI):  # one occurrence required here (MULTI: then as ANY)
                if pos >= end:
                    return None
                if not _tok(cur, text[pos]):
                    if strict:
                        return None
                    pos += 1
                    restart = True
                    break
                pos += 1
                if rec == SINGLE:
                    continue
            if rec == PERHAPS:
                if pos >= end or not _tok(cur, text[pos]):
                    continue
                pos += 1
                continue
            if rec in (MULTI, ANY):
                if nxt is None:
                    return start
                if pos >= end:
                    continue
                mismatch = False
                while not _tok(nxt, text[pos]):
                    if not _tok(cur, text[pos]):
                        mismatch = True
                        break
                    pos += 1
                    if pos >= end:
                        return None
                if mismatch:
                    if strict:
                        return None
                    pos += 1
                    restart = True
                    break
                continue
            # HEAD_IGNORE (only ever the first of several tokens)
            if pos >= end:
                continue
            assert nxt is not None
            while not _tok(nxt, text[pos]):
                if not _tok(cur, text[pos]):
                    return None
                pos += 1
                if pos >= end:
                    return None
            start = pos
        if restart:
            continue
        return start if pos >= end else None
