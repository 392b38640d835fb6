"""Which of the JSON parsers ``wireproto.jsonstream`` knows are importable here."""

from __future__ import annotations

from wireproto import jsonstream


def installed(name: str) -> bool:
    try:
        jsonstream.choose(name)
    except ImportError:
        return False
    return True


INSTALLED = [name for name in jsonstream.PARSERS if installed(name)]
