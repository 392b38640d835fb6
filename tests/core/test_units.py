"""go-units' HumanDuration at every boundary, in both rule sets wireproto prints.

The expected texts follow Go's rules step by step (docker/go-units duration.go
for the CLI; docker's older pkg/units, whose Status the stub engine keeps):
each case sits on one side of a threshold, so a rule that moves by one unit
or one comparison fails here.
"""

from __future__ import annotations

import pytest

from wireproto.units import human_duration

MINUTE, HOUR, DAY = 60, 3600, 86400

GO_UNITS = [
    (0, "Less than a second"),
    (0.999, "Less than a second"),
    (1, "1 second"),
    (1.999, "1 second"),
    (2, "2 seconds"),
    (59.999, "59 seconds"),
    (60, "About a minute"),
    (2 * MINUTE - 0.001, "About a minute"),
    (2 * MINUTE, "2 minutes"),
    (HOUR - 1, "59 minutes"),
    (HOUR, "About an hour"),
    (HOUR + 30 * MINUTE - 1, "About an hour"),  # hours are rounded: 1.49 is 1
    (HOUR + 30 * MINUTE, "2 hours"),
    (47 * HOUR + 30 * MINUTE - 1, "47 hours"),
    (47 * HOUR + 30 * MINUTE, "2 days"),  # rounds to 48 hours
    (14 * DAY - 30 * MINUTE - 1, "13 days"),
    (14 * DAY - 30 * MINUTE, "2 weeks"),
    (60 * DAY - 30 * MINUTE - 1, "8 weeks"),
    (60 * DAY - 30 * MINUTE, "2 months"),
    (730 * DAY - 30 * MINUTE - 1, "24 months"),
    # The rounded hours leave the months, the cut ones count the years: Go's own "1 years".
    (730 * DAY - 30 * MINUTE, "1 years"),
    (730 * DAY, "2 years"),
    (3 * 365 * DAY + 60 * DAY, "3 years"),
]

PKG_UNITS = [
    (0.999, "Less than a second"),
    (1, "1 seconds"),
    (59.999, "59 seconds"),
    (60, "About a minute"),
    (2 * MINUTE - 1, "About a minute"),
    (2 * MINUTE, "2 minutes"),
    (HOUR - 1, "59 minutes"),
    (HOUR, "About an hour"),
    (2 * HOUR - 1, "About an hour"),  # hours are cut
    (2 * HOUR, "2 hours"),
    (48 * HOUR - 1, "47 hours"),
    (48 * HOUR, "2 days"),
    (14 * DAY - 1, "13 days"),
    (14 * DAY, "2 weeks"),
    (90 * DAY - 1, "12 weeks"),
    (90 * DAY, "3 months"),
    (730 * DAY - 1, "24 months"),
    (730 * DAY, "2 years"),
]


@pytest.mark.parametrize(("seconds", "text"), GO_UNITS)
def test_go_units_boundaries(seconds: float, text: str) -> None:
    assert human_duration(seconds) == text


@pytest.mark.parametrize(("seconds", "text"), PKG_UNITS)
def test_pkg_units_boundaries(seconds: int, text: str) -> None:
    assert human_duration(seconds, legacy=True) == text


def test_a_negative_duration_is_less_than_a_second() -> None:
    """A clock that stepped back between two readings still prints a duration."""
    assert human_duration(-5) == human_duration(-5, legacy=True) == "Less than a second"
