/* The v1.6 multiplexed-stream demuxer.
 *
 * Strategy: a frame is an 8-byte header [stream, 0, 0, 0, size:u32 BE] and
 * `size` payload bytes.  next_segment() walks the input and yields payload
 * segments (stream, start, length) as soon as their bytes are present, so a
 * frame is never held back until complete.  A header split across inputs is
 * gathered byte by byte in the state; each header byte is checked the moment
 * it arrives, so a raw TTY stream fails on its first byte instead of waiting
 * for a bogus multi-gigabyte payload.  The two entry points differ only in
 * where the segments go: ordered pieces (wp_demux_pieces) or one buffer per
 * stream (wp_demux_gather).
 */
#include <string.h>

#include "wireproto.h"
#include "spans.h"

enum { NO_SEGMENT = 0, SEGMENT = 1, FAILED = -1 };

static uint32_t read_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
           ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

/* The error a header byte at `index` (0..7) with value `byte` makes. */
static int header_byte_error(unsigned index, uint8_t byte)
{
    if (index == 0)
        return byte >= WP_STREAMS ? WP_ERR_STREAM : WP_OK;
    if (index < 4)
        return byte != 0 ? WP_ERR_PADDING : WP_OK;
    return WP_OK;
}

static int fail(wp_demux *d, int code, uint64_t offset, unsigned index,
                uint8_t byte)
{
    d->error = code;
    d->error_offset = offset;
    d->error_index = (uint8_t)index;
    d->error_byte = byte;
    return FAILED;
}

/* Checks a whole header at h, the first byte at stream offset `offset`. */
static int check_header(wp_demux *d, const uint8_t *h, uint64_t offset)
{
    for (unsigned i = 0; i < 4; i++) {
        int code = header_byte_error(i, h[i]);
        if (code != WP_OK)
            return fail(d, code, offset + i, i, h[i]);
    }
    return SEGMENT;
}

/* Takes one header byte of a header split across inputs. */
static int take_header_byte(wp_demux *d, uint8_t byte, uint64_t offset)
{
    int code = header_byte_error(d->have, byte);
    if (code != WP_OK)
        return fail(d, code, offset, d->have, byte);
    d->header[d->have++] = byte;
    if (d->have == WP_HEADER_SIZE) {
        d->have = 0;
        d->frames++;
        d->stream = d->header[0];
        d->remaining = read_be32(d->header + 4);
    }
    return SEGMENT;
}

/* Finds the next payload segment at or after *pos, consuming the headers
 * before it.  `base` is the stream offset of input[0]. */
static inline int next_segment(wp_demux *d, const uint8_t *in, size_t len,
                               uint64_t base, size_t *pos, uint8_t *stream,
                               size_t *start, size_t *seg_len)
{
    size_t p = *pos;
    while (d->remaining == 0) {
        if (p == len) {
            *pos = p;
            return NO_SEGMENT;
        }
        if (d->have == 0 && len - p >= WP_HEADER_SIZE) {
            const uint8_t *h = in + p;
            if ((h[0] >= WP_STREAMS || (h[1] | h[2] | h[3]) != 0) &&
                check_header(d, h, base + p) == FAILED) {
                *pos = p;
                return FAILED;
            }
            d->stream = h[0];
            d->remaining = read_be32(h + 4);
            d->frames++;
            p += WP_HEADER_SIZE;
        } else {
            if (take_header_byte(d, in[p], base + p) == FAILED) {
                *pos = p;
                return FAILED;
            }
            p++;
        }
    }
    if (p == len) {
        *pos = p;
        return NO_SEGMENT;
    }
    size_t n = len - p < d->remaining ? len - p : d->remaining;
    d->remaining -= (uint32_t)n;
    *stream = d->stream;
    *start = p;
    *seg_len = n;
    *pos = p + n;
    return SEGMENT;
}

/* Where wp_demux_pieces' pieces go; it persists across the spans of one call
 * so that the fused chunked path merges exactly as the plain one does. */
void wp_pieces_span(wp_demux *d, const uint8_t *input, size_t from, size_t to,
                    wp_piece_out *out)
{
    /* Stream offset of input[0], as if the whole input were stream bytes:
     * unsigned wrap-around is defined, and base + p is right for p in span. */
    uint64_t base = d->offset - from;
    size_t pos = from;
    uint8_t s;
    size_t start, seg_len;
    size_t n = out->n;
    while (next_segment(d, input, to, base, &pos, &s, &start, &seg_len) == SEGMENT) {
        int small = seg_len < WP_COALESCE_BELOW;
        /* Per frame: each segment its own piece, flagged while its frame is open. */
        uint8_t open = d->per_frame && d->remaining ? WP_FRAME_OPEN : 0;
        if (small) {
            /* Short segments go to scratch, adjacent ones of a stream into
             * one piece, so a chunk of log lines is all scratch pieces laid
             * out in order: Python makes them in one call (wp_pieces_format). */
            if (d->per_frame || !(out->previous_small && (out->streams[n - 1] & 3) == s)) {
                out->streams[n] = s | WP_IN_SCRATCH | open;
                out->starts[n] = out->used;
                n++;
            }
            memcpy(out->scratch + out->used, input + start, seg_len);
            out->used += seg_len;
            out->ends[n - 1] = out->used;
        } else {
            out->streams[n] = s | open;
            out->starts[n] = start;
            out->ends[n] = start + seg_len;
            n++;
        }
        out->previous_small = small;
    }
    out->n = n;
    d->offset = base + pos;
}

void wp_split_span(wp_demux *d, const uint8_t *input, size_t from, size_t to,
                   wp_split_out *out)
{
    uint64_t base = d->offset - from;
    size_t pos = from;
    uint8_t s;
    size_t start, seg_len;
    while (next_segment(d, input, to, base, &pos, &s, &start, &seg_len) == SEGMENT) {
        size_t *count = &out->counts[s];
        if (out->dest != NULL && out->dest[s] != NULL) {
            memcpy(out->dest[s] + *count, input + start, seg_len);
            *count += seg_len;
            continue;
        }
        uint8_t *dest = out->scratch + (size_t)s * out->stride;
        if (*count == 0) {
            /* First segment of this stream: hand it out in place unless
             * another one follows. */
            out->direct[s] = (int64_t)start;
            *count = seg_len;
            continue;
        }
        if (out->direct[s] >= 0) {
            memcpy(dest, input + out->direct[s], *count);
            out->direct[s] = -1;
        }
        memcpy(dest + *count, input + start, seg_len);
        *count += seg_len;
    }
    d->offset = base + pos;
}

void wp_split_reset(wp_split_out *out, uint8_t *scratch, size_t stride,
                    uint8_t *const *dest, size_t *counts, int64_t *direct)
{
    out->scratch = scratch;
    out->stride = stride;
    out->dest = dest;
    out->counts = counts;
    out->direct = direct;
    for (unsigned i = 0; i < WP_STREAMS; i++) {
        counts[i] = 0;
        direct[i] = -1;
    }
}

size_t wp_demux_pieces(wp_demux *d, const uint8_t *input, size_t len,
                       uint8_t *scratch, uint8_t *streams, size_t *starts,
                       size_t *ends, size_t *scratch_used)
{
    wp_piece_out out = {streams, starts, ends, scratch, 0, 0, 0};
    if (d->error == WP_OK)
        wp_pieces_span(d, input, 0, len, &out);
    *scratch_used = out.used;
    return out.n;
}

unsigned wp_demux_gather(wp_demux *d, const uint8_t *input, size_t len,
                         uint8_t *scratch, size_t stride, uint8_t *const *dest,
                         size_t *counts, int64_t *direct)
{
    wp_split_out out;
    wp_split_reset(&out, scratch, stride, dest, counts, direct);
    if (d->error == WP_OK)
        wp_split_span(d, input, 0, len, &out);
    return wp_split_fed(&out);
}

size_t wp_pieces_format(const size_t *starts, const size_t *ends, size_t n,
                        char *out)
{
    char *p = out;
    *p++ = '<';
    for (size_t i = 0; i < n; i++) {
        char digits[20];
        size_t len = ends[i] - starts[i], k = 0;
        do {
            digits[k++] = (char)('0' + len % 10);
            len /= 10;
        } while (len);
        while (k)
            *p++ = digits[--k];
        *p++ = 's';
    }
    return (size_t)(p - out);
}
