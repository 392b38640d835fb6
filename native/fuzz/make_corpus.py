"""Writes the seed corpus of native/fuzz/fuzz_demux.c into native/fuzz/corpus/.

Each seed is ``[k][k chunk-size bytes][stream]`` (see the top of
fuzz_demux.c).  Run from anywhere: ``python native/fuzz/make_corpus.py``.
The seeds are deterministic, so re-running changes nothing.
"""

from __future__ import annotations

import random
import struct
from pathlib import Path

CORPUS = Path(__file__).resolve().parent / "corpus"


def frame(stream: int, payload: bytes) -> bytes:
    return struct.pack(">BxxxI", stream, len(payload)) + payload


def seed(sizes: list[int], stream: bytes, dest_mask: int = 0) -> bytes:
    """A fuzz input: chunk sizes (encoded bytes, see chunk_size()) then the stream.

    ``dest_mask``: the streams wp_demux_gather writes straight to caller buffers.
    """
    assert len(sizes) < 16 and 0 <= dest_mask < 16
    return bytes([dest_mask << 4 | len(sizes), *sizes]) + stream


def log_lines(rng: random.Random, count: int) -> bytes:
    return b"".join(
        frame(rng.choice((1, 1, 2)), b"x" * rng.randint(1, 120) + b"\n") for _ in range(count)
    )


def seeds() -> dict[str, bytes]:
    rng = random.Random(1606)
    logs = log_lines(rng, 40)
    tiny = b"".join(frame(i % 2 + 1, bytes(16)) for i in range(64))
    bulk = frame(1, bytes(range(256)) * 8) + frame(2, b"e" * 1500) + frame(1, b"tail")
    return {
        "empty": seed([], b""),
        "one-frame": seed([], frame(1, b"hello\n")),
        "all-streams": seed([], b"".join(frame(s, b"s%d" % s) for s in range(4))),
        "zero-length-frames": seed([3], frame(1, b"") + frame(2, b"") + frame(1, b"a")),
        "logs-whole": seed([], logs),
        "logs-bytewise": seed([1], logs),
        "logs-split-headers": seed([5, 11, 0, 3], logs, dest_mask=0b0010),
        "tiny-merged": seed([0x88], tiny),
        "tiny-odd-splits": seed([7, 13, 0x81], tiny, dest_mask=0b0110),
        "bulk-views": seed([0xA0, 0x90], bulk),
        "bulk-small-chunks": seed([100, 0x85], bulk, dest_mask=0b0100),
        "stdin-systemerr": seed(
            [0x82, 9],
            b"".join(frame(s, b"%d" % s * n) for s in (0, 3, 3, 0) for n in (3, 1100)),
            dest_mask=0b1001,
        ),
        "same-stream-run": seed([], b"".join(frame(1, b"y" * n) for n in (10, 1023, 1024, 5))),
        "truncated-payload": seed([4], frame(1, b"abc")[:-1]),
        "truncated-header": seed([2], frame(1, b"abc") + frame(2, b"x")[:5]),
        "bad-stream": seed([], frame(1, b"ok") + b"\x04\0\0\0\0\0\0\x01z"),
        "bad-padding": seed([], frame(2, b"ok") + b"\x01\0\x07\0\0\0\0\x01z"),
        "bad-padding-split": seed([9, 1], frame(1, b"ok") + b"\x01\0\0\x01\0\0\0\x01"),
        "tty-text": seed([16], b"total 0\ndrwxr-xr-x 2 root root\n"),
        "huge-size": seed([8], b"\x01\0\0\0\xff\xff\xff\xff" + b"z" * 64),
    }


def main() -> None:
    CORPUS.mkdir(exist_ok=True)
    for name, data in seeds().items():
        (CORPUS / name).write_bytes(data)
    print(f"wrote {len(seeds())} seeds to {CORPUS}")


if __name__ == "__main__":
    main()
