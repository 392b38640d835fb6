"""A 1 GiB frame fed in 64 KiB pieces demuxes with bounded extra memory."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

# Runs in a fresh process so the peak RSS belongs to this workload alone.
PROBE = """
import json, resource, sys
from wireproto import mux

def peak_kib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

chunk = bytes(64 * 1024)
demuxer = mux.demuxer_class(sys.argv[1])()
frame_size = 1 << 30
sinks = {1: bytearray()}
demuxer.feed(mux.header(1, frame_size))
def one(chunk):
    if sys.argv[2] == "feed":
        for _stream, piece in demuxer.feed(chunk):
            pass
    else:
        demuxer.feed_into(chunk, sinks)
        del sinks[1][:]
one(chunk)
one(chunk)
before = peak_kib()
for _ in range(frame_size // len(chunk) - 2):
    one(chunk)
demuxer.close()
print(json.dumps({"before": before, "after": peak_kib(), "offset": demuxer.offset}))
"""


@pytest.mark.parametrize("method", ["feed", "feed_into"])
def test_a_1_gib_frame_needs_under_1_mib_beyond_the_chunk(backend: str, method: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, backend, method], capture_output=True, text=True, check=True
    )
    figures = json.loads(result.stdout)
    assert figures["offset"] == 8 + (1 << 30)
    assert figures["after"] - figures["before"] < 1024  # KiB
