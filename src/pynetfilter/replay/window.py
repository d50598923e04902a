"""The capture's frames as the replay walks them: in timestamp order, read as needed, forgotten after.

Theory of operation.  ``tcpdump -i any`` writes packets in the order its
per-CPU buffers are drained, so timestamps may step back a little; the replay
wants them in timestamp order (equal timestamps keep the capture's order).  A
:class:`Frames` window reads the capture lazily and keeps, around the frame
being replayed (the *current* one), only what the replay still looks at:

* ahead, every frame up to ``ahead`` seconds later (the kernel's choices are
  read from the next 0.5 s, a REJECTed connection's segments from the next
  5 s): a frame read in that span is put in its timestamp place, so the order
  equals a full sort unless a packet comes more than ``ahead`` seconds late
  (then it is replayed next, with an ``order`` warning);
* behind, the frames of the last ``behind`` seconds (a REJECTed connection's
  earlier segments, the host's nearest SYN); older ones are dropped.

Memory is then bounded by the capture's packet rate times the two spans, not
by its length.  A window over a list (``Frames.of``) keeps everything, as
tests that build frames by hand expect.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pynetfilter.replay.capture import Frame
    from pynetfilter.replay.warnings import Warnings

AHEAD = 6.0  # seconds read ahead of the current frame: more than any lookahead of the replay
BEHIND = 60.0  # seconds kept behind it: the farthest the replay looks back (rejected.TEMPLATE_WINDOW)


class Frames:
    """Indexable like the list of all frames sorted by time, for indices near the current one."""

    def __init__(self, source: Iterable[Frame], *, ahead: float = AHEAD, behind: float = BEHIND,
                 warnings: Warnings | None = None) -> None:
        self._src: Iterator[Frame] | None = iter(source)
        self._buf: list[Frame] = []
        self._ts: list[float] = []  # the buffer's timestamps, for bisect
        self._base = 0  # the index of _buf[0]
        self._read_ts = -math.inf  # the latest timestamp read so far
        self.ahead, self.behind = ahead, behind
        self.cur = -1
        self.warnings = warnings
        self.peak = 0  # the most frames held at once (memory, for tests and benchmarks)

    @classmethod
    def of(cls, frames: Iterable[Frame]) -> Frames:
        """A window that keeps everything (a list's worth of frames, sorted by time)."""
        return cls(sorted(frames, key=lambda f: f.ts), ahead=math.inf, behind=math.inf)

    # --- reading ----------------------------------------------------------------------------

    def _read_one(self) -> bool:
        if self._src is None:
            return False
        f = next(self._src, None)
        if f is None:
            self._src = None
            return False
        self._read_ts = max(self._read_ts, f.ts)
        first_open = max(self.cur + 1 - self._base, 0)  # frames from here on are not replayed yet
        at = bisect.bisect_right(self._ts, f.ts, lo=first_open)
        if self.cur >= self._base and f.ts < self._ts[self.cur - self._base]:
            # Older than the frame being replayed: more than `ahead` late; it is replayed next.
            if self.warnings is not None:
                self.warnings.add("order", f.n, f", {self._ts[self.cur - self._base] - f.ts:.3f} s late")
            at = first_open
        self._buf.insert(at, f)
        self._ts.insert(at, f.ts)
        self.peak = max(self.peak, len(self._buf))
        return True

    def _fill_to(self, ts: float) -> None:
        while self._src is not None and self._read_ts <= ts:
            self._read_one()

    def has(self, i: int) -> bool:
        """Whether there is a frame *i* (reading ahead as needed)."""
        while i - self._base >= len(self._buf):
            if not self._read_one():
                return False
        if self.ahead != math.inf:
            self._fill_to(self._ts[i - self._base] + self.ahead)
        return True

    def __getitem__(self, i: int) -> Frame:
        if i < self._base:
            raise IndexError(f"frame {i} was dropped (more than {self.behind} s before the current one)")
        if not self.has(i):
            raise IndexError(i)
        return self._buf[i - self._base]

    # --- walking --------------------------------------------------------------------------------

    def at(self, i: int) -> Frame:
        """Make frame *i* the current one: read ahead of it, forget what is too far behind."""
        f = self[i]
        self.cur = i
        if self.behind != math.inf:
            cut = bisect.bisect_left(self._ts, f.ts - self.behind, hi=i - self._base)
            if cut > 0:
                del self._buf[:cut]
                del self._ts[:cut]
                self._base += cut
        return f

    def after(self, i: int) -> Iterator[Frame]:
        """The frames after *i*, in time order (read as the caller goes)."""
        j = i + 1
        while self.has(j):
            yield self._buf[j - self._base]
            j += 1

    def around(self, i: int, window: float) -> Iterator[tuple[int, Frame]]:
        """(index, frame) of the frames within *window* seconds of frame *i*, in time order."""
        t = self[i].ts
        self._fill_to(t + window)
        lo = bisect.bisect_left(self._ts, t - window)
        hi = bisect.bisect_right(self._ts, t + window)
        for k in range(lo, hi):
            yield self._base + k, self._buf[k]

    def first(self) -> Frame | None:
        return self[0] if self.has(0) else None

    def __iter__(self) -> Iterator[Frame]:
        """Every frame in time order, each made current in turn (so the window stays bounded)."""
        i = 0
        while self.has(i):
            yield self.at(i)
            i += 1


def window(frames: Frames | Iterable[Frame]) -> Frames:
    """*frames* as a window (a list of frames keeps all of them)."""
    return frames if isinstance(frames, Frames) else Frames.of(frames)
