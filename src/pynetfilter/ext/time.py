"""-m time (xt_time): time of day, weekdays, days of the month and a date range.

Evaluation uses the engine clock (``par.now``) as the kernel uses the real
time: UTC epoch seconds, whole seconds.  With --kerneltz (--localtz) the
kernel shifts by its own timezone (sys_tz, set by the settimeofday() of the
boot scripts, usually 0 on servers); pynetfilter uses
``engine.tz_minuteswest`` when the engine has it, else 0 (UTC)."""

from __future__ import annotations

import calendar
import re
import time as _time
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from pynetfilter.errors import KernelRefusal, ParameterProblem
from pynetfilter.ext.base import CheckContext, Match, Opt, Options, RuleContext
from pynetfilter.ext.types import strtoul

if TYPE_CHECKING:
    from pynetfilter.netfilter.par import Par
    from pynetfilter.packet.model import Packet

MAX_DAYTIME = 24 * 60 * 60 - 1
INT_MAX = 2**31 - 1
ALL_WEEKDAYS, ALL_MONTHDAYS = 0xFE, 0xFFFFFFFE
F_LOCAL_TZ, F_CONTIGUOUS = 1, 2
WEEK_DAYS = (None, "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_NUM10 = re.compile(r"[ \t\n\v\f\r]*([+-]?)([0-9]*)")


def strtoul10(s: str) -> tuple[int, str]:
    """C strtoul(s, &end, 10): (value, rest); no digits gives (0, s); a minus wraps."""
    m = _NUM10.match(s)
    if m is None or not m.group(2):
        return 0, s
    v = int(m.group(2))
    if v > 2**64 - 1:
        v = 2**64 - 1
    elif m.group(1) == "-":
        v = (-v) & (2**64 - 1)
    return v, s[m.end():]


def parse_date(text: str) -> int:
    """YYYY[-MM[-DD[Thh[:mm[:ss]]]]] in UTC, as time_parse_date (mktime normalises)."""
    bad = ParameterProblem(f'Invalid date "{text}" specified. Should be YYYY[-MM[-DD[Thh[:mm[:ss]]]]]')
    fields = [1970, 1, 1, 0, 0, 0]
    seps = ("-", "-", "T", ":", ":", "")
    limits = ((1970, 2038), (0, 12), (0, 31), (0, 23), (0, 59), (0, 59))
    s = text
    for k in range(6):
        v, e = strtoul10(s)
        ends = e[:1] == "" or (k < 5 and e[:1] == seps[k])
        if not ends or not limits[k][0] <= v <= limits[k][1]:
            raise bad
        fields[k] = v
        if e == "":
            break
        s = e[1:]
    year, month, day, hour, minute, second = fields
    if month == 0:
        year, month = year - 1, 12
    days = calendar.timegm((year, month, 1, 0, 0, 0)) // 86400 + day - 1
    ret = days * 86400 + hour * 3600 + minute * 60 + second
    if ret < 0:
        raise ParameterProblem(f'Invalid date "{text}": mktime returned an error')
    return ret & 0xFFFFFFFF


def parse_daytime(text: str) -> int:
    bad = ParameterProblem(f'invalid time "{text}" specified: expected hh:mm[:ss] within 00:00:00-23:59:59')
    hour, e = strtoul10(text)
    if e[:1] != ":" or hour > 23:
        raise bad
    minute, e = strtoul10(e[1:])
    if e[:1] not in (":", "") or minute > 59:
        raise bad
    second = 0
    if e:
        second, e = strtoul10(e[1:])
        if e or second > 59:
            raise bad
    return 3600 * hour + 60 * minute + second


def _segments(arg: str, size: int) -> list[str]:
    """my_strseg: comma-separated pieces, each cut to *size* - 1 characters."""
    out: list[str] = []
    rest: str | None = arg
    while rest:
        piece, sep, tail = rest.partition(",")
        out.append(piece[: size - 1])
        rest = tail if sep else None
    return out


def parse_monthdays(arg: str) -> int:
    ret = 0
    for day in _segments(arg, 3):
        r = strtoul(day) if day else (0, "")
        if r is None or r[1] not in ("", ",") or r[0] > 31:
            raise ParameterProblem(f"{day} is not a valid day for --monthdays: expected 1-31")
        ret |= 1 << r[0]
    return ret


def parse_weekdays(arg: str) -> int:
    ret = 0
    for day in _segments(arg, 4):
        r = strtoul(day) if day else (0, "")
        if r is not None and r[1] == "":
            if r[0] == 0:
                raise ParameterProblem(f'bad value "{day}": expected a weekday 1-7 or Mon..Sun')
            ret |= 1 << (r[0] % 32)
            continue
        hits = [i for i in range(1, 8) if day[:2] == WEEK_DAYS[i][:2] and len(day) >= 2]  # type: ignore[index]
        if not hits:
            raise ParameterProblem(f"{day} is not a valid day specifier: expected a weekday 1-7 or Mon..Sun")
        for i in hits:
            ret |= 1 << i
    return ret & 0xFF


def fmt_daytime(t: int) -> str:
    return f"{t // 3600:02d}:{t // 60 % 60:02d}:{t % 60:02d}"


def fmt_date(t: int, sep: str) -> str:
    return _time.strftime(f"%Y-%m-%d{sep}%H:%M:%S", _time.gmtime(t))


def fmt_monthdays(mask: int, human: bool) -> str:
    out = []
    for i in range(1, 32):
        if mask & (1 << i):
            suffix = {1: "st", 2: "nd", 3: "rd"}.get(i % 10, "th") if human else ""
            out.append(f"{i}{suffix}")
    return " " + ",".join(out)


def fmt_weekdays(mask: int) -> str:
    return " " + ",".join(WEEK_DAYS[i] for i in range(1, 8) if mask & (1 << i))  # type: ignore[misc]


@dataclass(frozen=True, slots=True)
class Time(Match):
    """struct xt_time_info."""

    name: ClassVar[str] = "time"
    options: ClassVar[tuple[Opt, ...]] = (
        Opt("datestart"),
        Opt("datestop"),
        Opt("timestart"),
        Opt("timestop"),
        Opt("contiguous", nargs=0),
        Opt("weekdays", invert=True),
        Opt("monthdays", invert=True),
        Opt("localtz", nargs=0, excl=("utc",)),
        Opt("utc", nargs=0, excl=("localtz", "kerneltz")),
        Opt("kerneltz", nargs=0, excl=("utc",)),
    )

    date_start: int = 0
    date_stop: int = INT_MAX
    daytime_start: int = 0
    daytime_stop: int = MAX_DAYTIME
    monthdays: int = ALL_MONTHDAYS
    weekdays: int = ALL_WEEKDAYS
    flags: int = 0

    @classmethod
    def parse(cls, opts: Options, ctx: RuleContext) -> Time:
        v = {"date_start": 0, "date_stop": INT_MAX, "daytime_start": 0, "daytime_stop": MAX_DAYTIME,
             "monthdays": ALL_MONTHDAYS, "weekdays": ALL_WEEKDAYS, "flags": 0}
        for g in opts.items:
            n = g.opt.name
            if n == "datestart":
                v["date_start"] = parse_date(g.value)
            elif n == "datestop":
                v["date_stop"] = parse_date(g.value)
            elif n == "timestart":
                v["daytime_start"] = parse_daytime(g.value)
            elif n == "timestop":
                v["daytime_stop"] = parse_daytime(g.value)
            elif n == "contiguous":
                v["flags"] |= F_CONTIGUOUS
            elif n in ("localtz", "kerneltz"):
                v["flags"] |= F_LOCAL_TZ
            elif n == "monthdays":
                v["monthdays"] = parse_monthdays(g.value) ^ (ALL_MONTHDAYS if g.inverted else 0)
            elif n == "weekdays":
                v["weekdays"] = parse_weekdays(g.value) ^ (ALL_WEEKDAYS if g.inverted else 0)
        if "contiguous" in opts and v["daytime_start"] < v["daytime_stop"]:
            raise ParameterProblem("time: --contiguous only makes sense when stoptime is before starttime")
        return cls(**v)

    def check(self, ctx: CheckContext) -> None:
        if self.daytime_start > MAX_DAYTIME or self.daytime_stop > MAX_DAYTIME:
            raise KernelRefusal("time: start or stop time greater than 23:59:59 (EDOM)")

    def mt(self, pkt: Packet, par: Par) -> bool:
        stamp = int(par.now // 1)
        if self.flags & F_LOCAL_TZ:
            stamp -= 60 * int(getattr(par.engine, "tz_minuteswest", 0) or 0)
        if stamp < self.date_start or stamp > self.date_stop:
            return False
        daytime = stamp % 86400
        if self.daytime_start < self.daytime_stop:
            if daytime < self.daytime_start or daytime > self.daytime_stop:
                return False
        else:
            if self.daytime_start > daytime > self.daytime_stop:
                return False
            if self.flags & F_CONTIGUOUS and daytime <= self.daytime_stop:
                stamp -= 86400  # the early hours belong to the day the period started
        days = stamp // 86400
        weekday = (4 + days - 1) % 7 + 1  # 1970-01-01 was a Thursday; Monday is 1
        if not self.weekdays & (1 << weekday):
            return False
        if self.monthdays != ALL_MONTHDAYS:
            mday = _time.gmtime(days * 86400).tm_mday
            if not self.monthdays & (1 << mday):
                return False
        return True

    def save(self) -> str:
        out = ""
        if self.daytime_start != 0 or self.daytime_stop != MAX_DAYTIME:
            out += f" --timestart {fmt_daytime(self.daytime_start)}"
            out += f" --timestop {fmt_daytime(self.daytime_stop)}"
        if self.monthdays != ALL_MONTHDAYS:
            out += " --monthdays" + fmt_monthdays(self.monthdays, False)
        if self.weekdays != ALL_WEEKDAYS:
            out += " --weekdays" + fmt_weekdays(self.weekdays)
        if self.date_start != 0:
            out += f" --datestart {fmt_date(self.date_start, 'T')}"
        if self.date_stop != 0:
            out += f" --datestop {fmt_date(self.date_stop, 'T')}"
        if self.flags & F_LOCAL_TZ:
            out += " --kerneltz"
        if self.flags & F_CONTIGUOUS:
            out += " --contiguous"
        return out

    def exact_save(self) -> str | None:
        # Day 0 ("--monthdays 0", or an empty item as in "1,,2") sets bit 0, which save never
        # prints; "--weekdays 8" shifts its bit out of the byte and leaves an empty list.
        lost_day0 = self.monthdays & 1 and self.monthdays != ALL_MONTHDAYS
        if not lost_day0 and self.weekdays:
            return None
        out = self.save()
        if lost_day0:
            days = fmt_monthdays(self.monthdays, False).strip()
            out = out.replace(" --monthdays" + fmt_monthdays(self.monthdays, False),
                              " --monthdays 0" + ("," + days if days else ""), 1)
        if not self.weekdays:
            out = out.replace(" --weekdays" + fmt_weekdays(self.weekdays), " --weekdays 8", 1)
        return out

    def describe(self, numeric: bool) -> str:
        out = " TIME"
        if self.daytime_start != 0 or self.daytime_stop != MAX_DAYTIME:
            out += f" from {fmt_daytime(self.daytime_start)} to {fmt_daytime(self.daytime_stop)}"
        if self.weekdays != ALL_WEEKDAYS:
            out += " on" + fmt_weekdays(self.weekdays)
        if self.monthdays != ALL_MONTHDAYS:
            out += " on" + fmt_monthdays(self.monthdays, True)
        if self.date_start != 0:
            out += " starting from " + fmt_date(self.date_start, " ")
        if self.date_stop != INT_MAX:
            out += " until date " + fmt_date(self.date_stop, " ")
        if not self.flags & F_LOCAL_TZ:
            out += " UTC"
        if self.flags & F_CONTIGUOUS:
            out += " contiguous"
        return out


EXTENSION = Time
