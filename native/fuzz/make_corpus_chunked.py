"""Writes the seed corpus of native/fuzz/fuzz_chunked.c into native/fuzz/corpus_chunked/.

Each seed is ``[dest_mask << 4 | k][k read-size bytes][wire bytes]`` (see the
top of fuzz_chunked.c): a chunked body, mostly carrying a multiplexed stream
so the fused paths get past the framing, sometimes followed by the next
message, and one seed per framing error.  Run from anywhere:
``python native/fuzz/make_corpus_chunked.py``.  The seeds are deterministic.
"""

from __future__ import annotations

import random
from pathlib import Path

from make_corpus import frame, seed

CORPUS = Path(__file__).resolve().parent / "corpus_chunked"
END = b"0\r\n\r\n"


def chunk(data: bytes, ext: bytes = b"", size: bytes | None = None) -> bytes:
    """One chunk: size line (hex of len(data) unless given), data, CRLF."""
    return (size if size is not None else b"%x" % len(data)) + ext + b"\r\n" + data + b"\r\n"


def chunked(*pieces: bytes, trailers: bytes = b"") -> bytes:
    return b"".join(chunk(p) for p in pieces if p) + b"0\r\n" + trailers + b"\r\n"


def seeds() -> dict[str, bytes]:
    rng = random.Random(9112)
    lines = [frame(rng.choice((1, 1, 2)), b"x" * rng.randint(1, 120) + b"\n") for _ in range(30)]
    logs = b"".join(lines)
    big = frame(1, bytes(range(256)) * 12) + frame(2, b"e" * 1500)
    return {
        "empty-body": seed([], END),
        "nothing": seed([], b""),
        "one-chunk": seed([], chunked(frame(1, b"hello\n"))),
        "chunk-per-frame": seed([], chunked(*lines)),
        "chunk-per-frame-bytewise": seed([1], chunked(*lines[:8]), dest_mask=0b0010),
        "frames-split-across-chunks": seed(
            [7, 0x81, 0, 3],
            b"".join(chunk(logs[i : i + 37]) for i in range(0, len(logs), 37)) + END,
            dest_mask=0b0110,
        ),
        "headers-split-across-chunks": seed(
            [5, 11],
            b"".join(chunk(logs[i : i + 3]) for i in range(0, 120, 3)) + END,
        ),
        "extensions": seed(
            [9, 0x82],
            chunk(frame(1, b"a"), b";name=value")
            + chunk(frame(2, b"bb"), b' ;q="x y";r')
            + chunk(frame(1, b"ccc"), b"\t;t")
            + b"0;last=1\r\n\r\n",
        ),
        "trailers": seed(
            [13],
            chunked(frame(1, b"data\n"), trailers=b"X-Trailer: 1\r\nChecksum: abc\r\n"),
            dest_mask=0b0010,
        ),
        "big-chunks": seed([0xC0, 0x90], chunk(big) + END, dest_mask=0b0100),
        "big-chunks-whole": seed([], chunk(big[:2000]) + chunk(big[2000:]) + END),
        "upper-hex-leading-zeros": seed(
            [], chunk(frame(1, b"z" * 300), size=b"00000134") + b"000\r\n\r\n"
        ),
        "zero-size-frames": seed(
            [3], chunked(frame(1, b"") + frame(2, b""), frame(1, b"a") + frame(3, b""))
        ),
        "same-stream-run": seed([], chunked(*(frame(1, b"y" * n) for n in (10, 1023, 1024, 5, 5)))),
        "trailing-response": seed(
            [6, 0x81],
            chunked(frame(1, b"ok\n")) + b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        ),
        "trailing-after-trailers": seed(
            [], chunked(frame(2, b"err"), trailers=b"A: b\r\n") + b"0\r\n\r\nmore"
        ),
        "raw-body-not-muxed": seed([4], chunked(b"total 0\n", b"drwxr-xr-x 2 root\n")),
        "stream-error-mid-body": seed(
            [], chunked(frame(1, b"ok"), b"\x07\0\0\0\0\0\0\x01z", frame(1, b"after"))
        ),
        "padding-error-split": seed(
            [2, 1], chunked(frame(2, b"ok") + b"\x01\0", b"\x05\0\0\0\0\x01z")
        ),
        "truncated-body": seed([8], chunk(frame(1, b"abcdef"))[:-3]),
        "huge-chunk-size": seed([0x81], b"ffffffffffffffff\r\n" + frame(1, b"q" * 40)),
        # One seed per framing error.
        "err-bad-size": seed([], chunk(frame(1, b"a")) + b"g\r\n"),
        "err-empty-size": seed([], b"\r\n" + END),
        "err-ext-before-digit": seed([], b";x\r\n" + END),
        "err-size-too-long": seed([], b"0" * 17 + b"1\r\nx\r\n" + END),
        "err-line-too-long": seed([0xC0], b"1;" + b"e" * 4100 + b"\r\nx\r\n" + END),
        "err-bare-lf-size": seed([], b"5\n" + frame(1, b"a")[:5]),
        "err-bare-lf-ext": seed([], b"5;x\nabcde\r\n" + END),
        "err-nul-in-ext": seed([], b"5;x\0y\r\nabcde\r\n" + END),
        "err-size-cr-not-lf": seed([], b"5\r\rabcde\r\n" + END),
        "err-no-data-end": seed([], chunk(frame(1, b"abc"))[:-2] + b"XY" + END),
        "err-no-data-lf": seed([3], chunk(frame(1, b"abc"))[:-1] + b"X" + END),
        "err-trailer-bare-lf": seed([], b"0\r\nX: 1\n\r\n"),
        "err-trailer-cr-not-lf": seed([], b"0\r\nX: 1\rY\r\n"),
        "err-final-lf": seed([], b"0\r\n\rX"),
        "err-line-start-lf": seed([], b"0\r\n\n"),
        "err-trailer-too-long": seed(
            [0xFF, 0xFF], b"0\r\n" + b"".join(b"T: " + b"v" * 1000 + b"\r\n" for _ in range(17))
        ),
    }


def main() -> None:
    CORPUS.mkdir(exist_ok=True)
    for name, data in seeds().items():
        (CORPUS / name).write_bytes(data)
    print(f"wrote {len(seeds())} seeds to {CORPUS}")


if __name__ == "__main__":
    main()
