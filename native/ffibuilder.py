"""Builds wireproto._native from the C sources here (cffi out-of-line API mode).

setup.py names this file in ``cffi_modules``; ``optional=True`` makes a failed
compile a warning, so an install without a C compiler still succeeds and the
pure-Python backend is used.
"""

from cffi import FFI

# Paths relative to the project root, where setup.py runs: setuptools wants
# relative source paths, and an sdist carries them as they are.
NATIVE = "native"
SOURCES = ["demux.c", "chunked.c"]

ffibuilder = FFI()
ffibuilder.cdef(
    """
    #define WP_OK ...
    #define WP_ERR_STREAM ...
    #define WP_ERR_PADDING ...
    #define WP_COALESCE_BELOW ...
    #define WP_IN_SCRATCH ...
    #define WP_FRAME_OPEN ...

    typedef struct {
        uint64_t offset;
        uint32_t remaining;
        uint8_t stream;
        uint8_t have;
        uint64_t frames;
        int error;
        uint64_t error_offset;
        uint8_t error_byte;
        uint8_t error_index;
        uint8_t per_frame;
        ...;
    } wp_demux;

    #define WP_CHUNK_BAD_SIZE ...
    #define WP_CHUNK_SIZE_TOO_LONG ...
    #define WP_CHUNK_LINE_TOO_LONG ...
    #define WP_CHUNK_BAD_LINE_END ...
    #define WP_CHUNK_NO_DATA_END ...
    #define WP_CHUNK_TRAILER_TOO_LONG ...
    #define WP_CHUNK_MAX_LINE ...
    #define WP_CHUNK_MAX_TRAILER ...

    typedef struct {
        uint64_t offset;
        uint64_t remaining;
        uint8_t done;
        int error;
        uint64_t error_offset;
        uint8_t error_byte;
        ...;
    } wp_chunked;

    size_t wp_chunked_spans(wp_chunked *c, const uint8_t *input, size_t len,
                            size_t *starts, size_t *ends, size_t *consumed);
    size_t wp_chunked_demux_pieces(wp_chunked *c, wp_demux *d, const uint8_t *input,
                                   size_t len, uint8_t *scratch, uint8_t *streams,
                                   size_t *starts, size_t *ends,
                                   size_t *scratch_used, size_t *consumed);

    size_t wp_demux_pieces(wp_demux *d, const uint8_t *input, size_t len,
                           uint8_t *scratch, uint8_t *streams, size_t *starts,
                           size_t *ends, size_t *scratch_used);
    unsigned wp_demux_gather(wp_demux *d, const uint8_t *input, size_t len,
                             uint8_t *scratch, size_t stride, uint8_t *const *dest,
                             size_t *counts, int64_t *direct);
    size_t wp_pieces_format(const size_t *starts, const size_t *ends, size_t n,
                            char *out);
    unsigned wp_chunked_demux_gather(wp_chunked *c, wp_demux *d, const uint8_t *input,
                                     size_t len, uint8_t *scratch, size_t stride,
                                     uint8_t *const *dest, size_t *counts,
                                     int64_t *direct, size_t *consumed);
    """
)
ffibuilder.set_source(
    "wireproto._native",
    '#include "wireproto.h"',
    sources=[f"{NATIVE}/{name}" for name in SOURCES],
    include_dirs=[NATIVE],
    depends=[f"{NATIVE}/wireproto.h", f"{NATIVE}/spans.h"],
    extra_compile_args=["-O3", "-std=c99", "-Wall", "-Wextra"],
    optional=True,
)
