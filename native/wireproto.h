/* wireproto native hot paths: everything the cffi module exports.
 *
 * The C side works on spans: the caller passes the input buffer, a state
 * struct it allocated once and output arrays sized by the rules below.  C
 * returns counts and offsets and never touches Python objects.
 */
#ifndef WIREPROTO_H
#define WIREPROTO_H

#include <stddef.h>
#include <stdint.h>

/* Error codes (sticky: once set, every later call returns it at once). */
#define WP_OK 0
#define WP_ERR_STREAM 1  /* header byte 0 is not a stream id 0..3 */
#define WP_ERR_PADDING 2 /* header bytes 1..3 are not zero */

#define WP_STREAMS 4
#define WP_HEADER_SIZE 8
/* Payload segments shorter than this are copied into scratch by
 * wp_demux_pieces, adjacent ones of one stream merged into one piece; longer
 * ones are always handed out as views of the input.  The Python backend makes
 * the same pieces. */
#define WP_COALESCE_BELOW 1024
/* Flag on a piece's stream byte: its bytes are in scratch, not in the input. */
#define WP_IN_SCRATCH 0x80
/* Flag on a piece's stream byte in per-frame mode (wp_demux.per_frame): the
 * piece is the start or middle of a frame the input ended inside, so the
 * caller holds it until the frame's last piece comes.  Only ever on the last
 * piece of an input. */
#define WP_FRAME_OPEN 0x40

typedef struct {
    uint64_t offset;       /* stream offset of the next input byte */
    uint32_t remaining;    /* payload bytes of the current frame still due */
    uint8_t stream;        /* stream id of the current frame */
    uint8_t have;          /* header bytes received of the next frame (0..7) */
    uint64_t frames;       /* frame headers read so far */
    uint8_t header[WP_HEADER_SIZE];
    int error;             /* WP_OK or a sticky error code */
    uint64_t error_offset; /* stream offset of the offending byte */
    uint8_t error_byte;    /* the offending byte's value */
    uint8_t error_index;   /* its place in the frame header (0..3) */
    uint8_t per_frame;     /* set by the caller: wp_demux_pieces gives one piece
                            * per segment, never merging (docker-py's one item
                            * per frame), and flags an open frame's piece */
} wp_demux;

/* Demux `len` bytes into pieces in order.  Capacity the caller provides:
 * `streams`, `starts`, `ends` hold len / 8 + 2 entries, `scratch` len bytes.
 * Piece i is stream `streams[i] & 3`; its bytes are input[starts[i]:ends[i]],
 * or scratch[starts[i]:ends[i]] when streams[i] has WP_IN_SCRATCH.
 * *scratch_used is how many scratch bytes the merged pieces took.
 * Returns the number of pieces; on bad input, the pieces before the bad byte
 * and sets d->error.  With d->per_frame set, no two segments are merged: each
 * piece is one frame's payload in this input, WP_FRAME_OPEN on the last one
 * when the frame goes on past the input. */
size_t wp_demux_pieces(wp_demux *d, const uint8_t *input, size_t len,
                       uint8_t *scratch, uint8_t *streams, size_t *starts,
                       size_t *ends, size_t *scratch_used);

/* Demux `len` bytes, gathering each stream's payload; counts[s] is stream
 * s's length in this input.  When dest and dest[s] are non-NULL, stream s's
 * payload is copied straight to dest[s], which must have room for len bytes
 * (or at least for that stream's payload in this input), and direct[s] is
 * -1: this is how payload lands in the caller's buffers with a single copy.
 * Otherwise, when the payload is one contiguous span of the input, direct[s]
 * is its start and nothing is copied; else direct[s] is -1 and the payload
 * was copied to scratch + s * stride (stride >= len; scratch holds
 * 3 * stride + len bytes).
 * Returns the streams that got payload, bit s for stream s (so the caller
 * learns which sinks to prepare next time without reading counts); errors
 * are in d->error. */
unsigned wp_demux_gather(wp_demux *d, const uint8_t *input, size_t len,
                         uint8_t *scratch, size_t stride, uint8_t *const *dest,
                         size_t *counts, int64_t *direct);

/* The struct module format ("<" then "<length>s" per piece) that cuts
 * pieces 0..n-1 out of scratch in one call, when all of them lie there (in
 * order, end to end, as wp_demux_pieces lays out short pieces).  `out` holds
 * 1 + 21 * n bytes.  Returns the format's length. */
size_t wp_pieces_format(const size_t *starts, const size_t *ends, size_t n,
                        char *out);

/* ---- HTTP/1.1 chunked transfer coding (RFC 9112 section 7.1) ---------- */

/* Error codes of wp_chunked.error (sticky). */
#define WP_CHUNK_BAD_SIZE 1      /* a chunk-size byte is not a hex digit */
#define WP_CHUNK_SIZE_TOO_LONG 2 /* more than 16 hex digits */
#define WP_CHUNK_LINE_TOO_LONG 3 /* a chunk-size line over WP_CHUNK_MAX_LINE */
#define WP_CHUNK_BAD_LINE_END 4  /* a line ending that is not CRLF */
#define WP_CHUNK_NO_DATA_END 5   /* chunk data not followed by CRLF */
#define WP_CHUNK_TRAILER_TOO_LONG 6 /* trailer section over WP_CHUNK_MAX_TRAILER */

/* Limits, as h11 bounds a chunk header line by its event-size limit: a peer
 * cannot make us scan an endless size line or trailer section. */
#define WP_CHUNK_MAX_LINE 4096
#define WP_CHUNK_MAX_TRAILER 16384

typedef struct {
    uint64_t offset;       /* wire offset of the next input byte */
    uint64_t remaining;    /* chunk-data bytes of the current chunk still due */
    uint64_t size;         /* the chunk size being read */
    uint32_t line_len;     /* bytes of the current size line */
    uint32_t trailer_len;  /* bytes of the trailer section */
    uint8_t state;         /* internal: where in the grammar we are */
    uint8_t digits;        /* hex digits of the size read so far */
    uint8_t done;          /* the last chunk and trailer section were read */
    int error;             /* 0 or a sticky WP_CHUNK_* code */
    uint64_t error_offset; /* wire offset of the offending byte */
    uint8_t error_byte;
} wp_chunked;

/* Decode chunked framing in input[0:len]: writes the chunk-data spans
 * [starts[i], ends[i]) (at most len / 3 + 1 of them) and returns their number.
 * Stops at the end of the body (c->done; *consumed tells where the next
 * message begins) or at a framing error (c->error). */
size_t wp_chunked_spans(wp_chunked *c, const uint8_t *input, size_t len,
                        size_t *starts, size_t *ends, size_t *consumed);

/* The fused paths: a chunked body carrying a multiplexed stream, decoded in
 * one pass.  Same outputs as wp_demux_pieces / wp_demux_gather, with room for
 * len / 4 + 2 pieces.  Framing errors are in c->error, stream errors in
 * d->error; decoding stops at the first of either. */
size_t wp_chunked_demux_pieces(wp_chunked *c, wp_demux *d, const uint8_t *input,
                               size_t len, uint8_t *scratch, uint8_t *streams,
                               size_t *starts, size_t *ends,
                               size_t *scratch_used, size_t *consumed);
/* As wp_demux_gather, for a chunked body (the same return value). */
unsigned wp_chunked_demux_gather(wp_chunked *c, wp_demux *d,
                                 const uint8_t *input, size_t len,
                                 uint8_t *scratch, size_t stride,
                                 uint8_t *const *dest, size_t *counts,
                                 int64_t *direct, size_t *consumed);


#endif
