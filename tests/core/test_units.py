"""go-units' HumanDuration at every boundary, in both rule sets wireproto prints.

The expected texts follow Go's rules step by step (docker/go-units duration.go
for the CLI; docker's older pkg/units, whose Status the stub engine keeps):
each case sits on one side of a threshold, so a rule that moves by one unit
or one comparison fails here.
"""

from __future__ import annotations

import re

import pytest

from wireproto.units import human_duration

# Each threshold of either rule set, with the input just below it (a duration is a sum
# of signed terms, "14d-30m-1s"); the two sets part where hours are rounded or cut
# (1.5 hours), and where weeks end (at 2 months, or 3).  At 730d-30m Go's rounded hours
# leave the months while its cut ones count the years: its own "1 years".
TABLE = """
duration        go-units            pkg/units
0s              Less than a second  Less than a second
999ms           Less than a second  Less than a second
1s              1 second            1 seconds
1999ms          1 second            1 seconds
2s              2 seconds           2 seconds
59999ms         59 seconds          59 seconds
1m              About a minute      About a minute
2m-1ms          About a minute      About a minute
2m              2 minutes           2 minutes
1h-1s           59 minutes          59 minutes
1h              About an hour       About an hour
1h30m-1s        About an hour       About an hour
1h30m           2 hours             About an hour
2h-1s           2 hours             About an hour
2h              2 hours             2 hours
47h30m-1s       47 hours            47 hours
47h30m          2 days              47 hours
48h-1s          2 days              47 hours
48h             2 days              2 days
14d-30m-1s      13 days             13 days
14d-30m         2 weeks             13 days
14d-1s          2 weeks             13 days
14d             2 weeks             2 weeks
60d-30m-1s      8 weeks             8 weeks
60d-30m         2 months            8 weeks
90d-1s          3 months            12 weeks
90d             3 months            3 months
730d-30m-1s     24 months           24 months
730d-30m        1 years             24 months
730d-1s         1 years             24 months
730d            2 years             2 years
1155d           3 years             3 years
"""

_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(duration: str) -> float:
    terms = re.findall(r"([+-]?)(\d+)(ms|s|m|h|d)", duration)
    assert "".join("".join(term) for term in terms) == duration, duration
    return sum((-1 if sign == "-" else 1) * int(n) * _UNITS[unit] for sign, n, unit in terms)


BOUNDARIES = [
    pytest.param(parse_duration(duration), go_units, pkg_units, id=duration)
    for duration, go_units, pkg_units in (
        re.split(r"\s{2,}", line) for line in TABLE.strip().splitlines()[1:]
    )
]


@pytest.mark.parametrize(("seconds", "go_units", "pkg_units"), BOUNDARIES)
def test_boundaries(seconds: float, go_units: str, pkg_units: str) -> None:
    assert human_duration(seconds) == go_units
    assert human_duration(seconds, legacy=True) == pkg_units


def test_the_table_reads_as_written() -> None:
    assert len(BOUNDARIES) == 32
    assert parse_duration("14d-30m-1s") == 14 * 86400 - 1800 - 1
    assert parse_duration("2m-1ms") == 119.999


def test_a_negative_duration_is_less_than_a_second() -> None:
    """A clock that stepped back between two readings still prints a duration."""
    assert human_duration(-5) == human_duration(-5, legacy=True) == "Less than a second"
