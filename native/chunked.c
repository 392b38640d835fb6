/* HTTP/1.1 chunked transfer coding, alone and fused with the demuxer.
 *
 * Strategy: a byte-level state machine for the framing (size line, CRLFs,
 * trailer section), so nothing is buffered and a line split across inputs
 * needs no copy; chunk data is handed on as spans of the input.  The engine
 * sends logs as one chunk per message, so the fused entry points run the
 * demuxer straight over each data span in the same pass: no intermediate
 * body buffer, no Python call per chunk.
 */
#include <string.h>

#include "spans.h"
#include "wireproto.h"

enum {
    SIZE,       /* reading hex digits of a chunk size */
    EXTENSION,  /* after the size: extensions or whitespace up to CR */
    SIZE_LF,    /* after the size line's CR */
    DATA,       /* chunk data */
    DATA_CR,    /* after the data: CR due */
    DATA_LF,    /* after the data's CR */
    LINE_START, /* start of a trailer line, or the final CRLF */
    TRAILER,    /* inside a trailer line */
    TRAILER_LF, /* after a trailer line's CR */
    FINAL_LF,   /* after the final CR */
    DONE
};

static int hex_value(uint8_t b)
{
    if (b >= '0' && b <= '9')
        return b - '0';
    if (b >= 'a' && b <= 'f')
        return b - 'a' + 10;
    if (b >= 'A' && b <= 'F')
        return b - 'A' + 10;
    return -1;
}

static int chunk_fail(wp_chunked *c, int code, size_t p, const uint8_t *in,
                      uint64_t base)
{
    c->error = code;
    c->error_offset = base + p;
    c->error_byte = in[p];
    return 0;
}

static int size_byte(wp_chunked *c, uint8_t b)
{
    int v = hex_value(b);
    if (v >= 0) {
        if (c->digits == 16)
            return WP_CHUNK_SIZE_TOO_LONG;
        c->size = (c->size << 4) | (uint64_t)v;
        c->digits++;
        return WP_OK;
    }
    if (c->digits > 0 && (b == ';' || b == ' ' || b == '\t')) {
        c->state = EXTENSION;
        return WP_OK;
    }
    if (c->digits > 0 && b == '\r') {
        c->state = SIZE_LF;
        return WP_OK;
    }
    return c->digits > 0 && b == '\n' ? WP_CHUNK_BAD_LINE_END : WP_CHUNK_BAD_SIZE;
}

static int size_line_byte(wp_chunked *c, uint8_t b)
{
    if (c->state != SIZE_LF && ++c->line_len > WP_CHUNK_MAX_LINE)
        return WP_CHUNK_LINE_TOO_LONG;
    switch (c->state) {
    case SIZE:
        return size_byte(c, b);
    case EXTENSION:
        if (b == '\r')
            c->state = SIZE_LF;
        else if (b == '\n' || b == 0)
            return WP_CHUNK_BAD_LINE_END;
        return WP_OK;
    default: /* SIZE_LF */
        if (b != '\n')
            return WP_CHUNK_BAD_LINE_END;
        c->line_len = 0;
        c->remaining = c->size;
        c->state = c->size ? DATA : LINE_START;
        return WP_OK;
    }
}

static int trailer_byte(wp_chunked *c, uint8_t b)
{
    if (c->state != FINAL_LF && ++c->trailer_len > WP_CHUNK_MAX_TRAILER)
        return WP_CHUNK_TRAILER_TOO_LONG;
    switch (c->state) {
    case LINE_START:
        c->state = b == '\r' ? FINAL_LF : TRAILER;
        return b == '\n' ? WP_CHUNK_BAD_LINE_END : WP_OK;
    case TRAILER:
        if (b == '\r')
            c->state = TRAILER_LF;
        return b == '\n' ? WP_CHUNK_BAD_LINE_END : WP_OK;
    case TRAILER_LF:
        c->state = LINE_START;
        return b == '\n' ? WP_OK : WP_CHUNK_BAD_LINE_END;
    default: /* FINAL_LF */
        if (b != '\n')
            return WP_CHUNK_BAD_LINE_END; /* a failed body is not done */
        c->state = DONE;
        c->done = 1;
        return WP_OK;
    }
}

/* One framing byte (any state but DATA and DONE). */
static int framing_byte(wp_chunked *c, uint8_t b)
{
    switch (c->state) {
    case DATA_CR:
        c->state = DATA_LF;
        return b == '\r' ? WP_OK : WP_CHUNK_NO_DATA_END;
    case DATA_LF:
        c->state = SIZE;
        c->size = 0;
        c->digits = 0;
        return b == '\n' ? WP_OK : WP_CHUNK_NO_DATA_END;
    case SIZE:
    case EXTENSION:
    case SIZE_LF:
        return size_line_byte(c, b);
    default:
        return trailer_byte(c, b);
    }
}

/* The common case in one step: the CRLF after chunk data, or a whole size
 * line of hex digits and CRLF.  Leaves the state exactly as taking the same
 * bytes one at a time would; returns how many it took (0: take them one at a
 * time, which also finds any error). */
static size_t framing_fast(wp_chunked *c, const uint8_t *in, size_t avail)
{
    if (c->state == DATA_CR) {
        if (avail < 2 || in[0] != '\r' || in[1] != '\n')
            return 0;
        c->state = SIZE;
        c->size = 0;
        c->digits = 0;
        return 2;
    }
    if (c->state != SIZE || c->digits != 0)
        return 0;
    uint64_t size = 0;
    size_t n = 0;
    int v;
    while (n < avail && n < 16 && (v = hex_value(in[n])) >= 0) {
        size = (size << 4) | (uint64_t)v;
        n++;
    }
    if (n == 0 || avail - n < 2 || in[n] != '\r' || in[n + 1] != '\n')
        return 0;
    c->size = size;
    c->digits = (uint8_t)n;
    c->line_len = 0;
    c->remaining = size;
    c->state = size ? DATA : LINE_START;
    return n + 2;
}

/* The next chunk-data span at or after *pos, in [*from, *to).  Returns 0 at
 * the end of the input, the end of the body, or an error. */
static int next_data(wp_chunked *c, const uint8_t *in, size_t len, uint64_t base,
                     size_t *pos, size_t *from, size_t *to)
{
    size_t p = *pos;
    while (p < len && c->state != DATA && c->state != DONE) {
        size_t taken = framing_fast(c, in + p, len - p);
        if (taken) {
            p += taken;
            continue;
        }
        int code = framing_byte(c, in[p]);
        if (code != WP_OK) {
            *pos = p;
            return chunk_fail(c, code, p, in, base);
        }
        p++;
    }
    if (p == len || c->state == DONE) {
        *pos = p;
        return 0;
    }
    size_t n = len - p < c->remaining ? len - p : (size_t)c->remaining;
    c->remaining -= n;
    if (c->remaining == 0)
        c->state = DATA_CR;
    *from = p;
    *to = p + n;
    *pos = p + n;
    return 1;
}

size_t wp_chunked_spans(wp_chunked *c, const uint8_t *input, size_t len,
                        size_t *starts, size_t *ends, size_t *consumed)
{
    size_t pos = 0, n = 0, from, to;
    if (c->error == WP_OK)
        while (next_data(c, input, len, c->offset, &pos, &from, &to)) {
            starts[n] = from;
            ends[n] = to;
            n++;
        }
    c->offset += pos;
    *consumed = pos;
    return n;
}

size_t wp_chunked_demux_pieces(wp_chunked *c, wp_demux *d, const uint8_t *input,
                               size_t len, uint8_t *scratch, uint8_t *streams,
                               size_t *starts, size_t *ends,
                               size_t *scratch_used, size_t *consumed)
{
    wp_piece_out out = {streams, starts, ends, scratch, 0, 0, 0};
    size_t pos = 0, from, to;
    if (c->error == WP_OK && d->error == WP_OK)
        while (next_data(c, input, len, c->offset, &pos, &from, &to)) {
            wp_pieces_span(d, input, from, to, &out);
            if (d->error != WP_OK)
                break; /* pos is past this span: the chunk layer took it */
        }
    c->offset += pos;
    *consumed = pos;
    *scratch_used = out.used;
    return out.n;
}

static size_t chunked_split(wp_chunked *c, wp_demux *d, const uint8_t *input,
                            size_t len, wp_split_out *out)
{
    size_t pos = 0, from, to;
    if (c->error == WP_OK && d->error == WP_OK)
        while (next_data(c, input, len, c->offset, &pos, &from, &to)) {
            wp_split_span(d, input, from, to, out);
            if (d->error != WP_OK)
                break;
        }
    c->offset += pos;
    return pos;
}

unsigned wp_chunked_demux_gather(wp_chunked *c, wp_demux *d,
                                 const uint8_t *input, size_t len,
                                 uint8_t *scratch, size_t stride,
                                 uint8_t *const *dest, size_t *counts,
                                 int64_t *direct, size_t *consumed)
{
    wp_split_out out;
    wp_split_reset(&out, scratch, stride, dest, counts, direct);
    *consumed = chunked_split(c, d, input, len, &out);
    return wp_split_fed(&out);
}

