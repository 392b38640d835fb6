"""Docker's go-units duration format, shared by the CLI's tables and the stub engine.

``docker ps`` and ``docker images`` print it ("2 minutes ago"), and an engine
puts it in a container's Status ("Up 3 hours", "Exited (0) 2 days ago").  It
lives in the core so that the CLI and the engine, which must not import each
other, both reach it.
"""

from __future__ import annotations

_HOURS_PER_DAY, _DAYS_PER_WEEK, _DAYS_PER_MONTH, _DAYS_PER_YEAR = 24, 7, 30, 365


def human_duration(seconds: float, *, legacy: bool = False) -> str:
    """go-units' HumanDuration of a duration of ``seconds``.

    ``legacy`` gives the rules of docker's older pkg/units, which the stub
    engine's State.String() keeps: no singular "1 second", hours cut rather
    than rounded to the nearest, and weeks up to three months rather than two.
    """
    whole, minutes = int(seconds), int(seconds / 60)
    hours = int(seconds / 3600) if legacy else int(seconds / 3600 + 0.5)
    days = hours // _HOURS_PER_DAY
    if whole < 1:
        return "Less than a second"
    if whole == 1 and not legacy:
        return "1 second"
    if whole < 60:
        return f"{whole} seconds"
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    if hours == 1:
        return "About an hour"
    if hours < 2 * _HOURS_PER_DAY:
        return f"{hours} hours"
    if days < 2 * _DAYS_PER_WEEK:
        return f"{days} days"
    if days < (3 if legacy else 2) * _DAYS_PER_MONTH:
        return f"{days // _DAYS_PER_WEEK} weeks"
    if days < 2 * _DAYS_PER_YEAR:
        return f"{days // _DAYS_PER_MONTH} months"
    # Go counts the years from the hours cut, not rounded, in both versions.
    return f"{int(seconds / 3600) // _HOURS_PER_DAY // _DAYS_PER_YEAR} years"
