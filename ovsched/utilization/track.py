"""From one reader's readings to samples: the rule the sampler applies as it reads and the
replay of a capture applies to recorded readings, so both give the same samples.

A reading is ``(t_s, raw)``: what the reader fetched (fdinfo text, sysfs values, PDH values)
at ``t_s``. The reader parses it into counters; two successive readings give the sources'
values over the period between them. A percent value outside 0-100 is capped there and the
sample keeps what was measured (``uncapped``): with GuC submission an i915/xe context's busy
time is credited when it is switched out, so one short period can receive several periods'
worth, and PDH's ``PDH_FMT_NOCAP100`` values can pass 100 too. The summary's mean weighs the
measured values by their periods, which for a busy-time counter is its total change between
the first and the last reading over the time between them: the cap loses nothing there.
"""

COLUMNS = ("time_s", "source", "value", "period_s", "uncapped")


def empty():
    return {name: [] for name in COLUMNS}


def is_percent(source):
    """Every source is a busy % except the memory ones (``rss_mb``)."""
    return not source.endswith("_mb")


def cap(source, value):
    """(value shown, value measured when it was capped, else None)."""
    value = float(value)
    if is_percent(source):
        if value > 100.0:
            return 100.0, value
        if value < 0.0:
            return 0.0, value
    return value, None


class Track:
    """One reader's last reading, and the samples each new reading makes."""

    def __init__(self, reader):
        self.reader = reader
        self.last = None  # (t_s, counters)

    def take(self, t_s, raw):
        """Parse the reading ``raw`` taken at ``t_s``; return the samples it ends as
        [(source, value, period_s, uncapped)] (none for the first reading)."""
        parse = getattr(self.reader, "parse", None)  # a reader with read() alone: as read
        counters = raw if parse is None else parse(raw, t_s)
        last, self.last = self.last, (t_s, counters)
        if last is None or t_s <= last[0]:
            return []
        dt_s = t_s - last[0]
        rates = self.reader.rates(last[1], counters, dt_s) or {}
        out = []
        for source, value in rates.items():
            shown, measured = cap(source, value)
            out.append((source, shown, dt_s, measured))
        return out


def append(columns, t_s, samples):
    """Add ``samples`` (from ``Track.take``) at time ``t_s`` to the sample columns."""
    for source, value, period_s, uncapped in samples:
        columns["time_s"].append(t_s)
        columns["source"].append(source)
        columns["value"].append(value)
        columns["period_s"].append(period_s)
        columns["uncapped"].append(uncapped)
