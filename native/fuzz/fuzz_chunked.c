/* libFuzzer target for the HTTP/1.1 chunked decoder and the fused chunked
 * demuxer (native/chunked.c, over the span walkers of native/demux.c).
 *
 * Strategy: the first bytes of the fuzz input choose read sizes; the rest is
 * wire bytes (a chunked body, maybe followed by the next message), fed read
 * by read into five independent contenders:
 *   CHUNKS   wp_chunked_spans alone;
 *   PLAIN    a wp_demux fed CHUNKS' data spans, one wp_demux_pieces call per
 *            span: what the fused paths must be equivalent to;
 *   PIECES   wp_chunked_demux_pieces;
 *   SPLIT    wp_chunked_demux_gather with no destinations (each stream in
 *            place or in scratch at a stride of len);
 *   GATHER   wp_chunked_demux_gather, the streams in a mask straight into
 *            caller buffers, the others via scratch at a stride >= len.
 * A byte-at-a-time reference chunked decoder written here (RFC 9112 section
 * 7.1 as chunked.c implements it, no fast paths) and a byte-at-a-time
 * reference demuxer run over its data spans are fed the same reads.  After
 * every read: CHUNKS' spans are exactly the reference's runs of data bytes,
 * with the same consumed count and the same state (offset, remaining, done,
 * error code, error offset and byte); PLAIN's demux state is the reference
 * demuxer's; each fused contender consumed what the reference says (up to
 * the end of the data span where the stream failed, if it did), its chunk
 * state is the reference's at that point, its demux state is PLAIN's, and its
 * outputs are what wireproto.h documents for the reference's segments
 * (PIECES: the merging rule and WP_IN_SCRATCH; SPLIT/GATHER: in place exactly
 * when one segment, else gathered).  At the end every contender's per-stream
 * payload equals PLAIN's and the reference's.  Every buffer handed to C is an
 * exact-size heap block sized by the capacities in wireproto.h (spans:
 * len / 3 + 1; fused pieces: len / 4 + 2; scratch: len, or 3 * stride + len
 * for split/gather; gather destinations: exactly the stream's payload in
 * this read), so AddressSanitizer sees any access beyond them.  Any
 * violation abort()s.
 *
 * Input layout:
 *   byte 0        low 4 bits: k, the number of read-size bytes that follow;
 *                 high 4 bits: the streams GATHER copies straight to caller
 *                 buffers (bit s for stream s)
 *   bytes 1..k    read sizes, used in turn: b < 0x80 means b bytes,
 *                 b >= 0x80 means (b & 0x7f) * 64 bytes; 0 is an empty read
 *                 (after k empty reads in a row the rest is fed)
 *   the rest      the wire bytes; with k == 0 they are fed as one read
 *
 * Build and run: scripts/fuzz.sh.  Seeds: native/fuzz/make_corpus_chunked.py.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wireproto.h"

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "fuzz_chunked: invariant failed at line %d: %s\n", \
                    __LINE__, #cond);                                          \
            abort();                                                           \
        }                                                                      \
    } while (0)

/* ---- small helpers ---------------------------------------------------- */

static void *xmalloc(size_t n)
{
    void *p = malloc(n);
    CHECK(p != NULL || n == 0);
    return p;
}

/* Exact-size blocks recycled within one run (as in fuzz_demux.c): same exact
 * size, so ASan still sees any overrun; poisoned with 0xbe before reuse. */
#define POOL_SLOTS 64
static struct {
    void *block;
    size_t size;
} pool[POOL_SLOTS];

static void *block_get(size_t size)
{
    void *block = NULL;
    for (int i = 0; i < POOL_SLOTS && block == NULL; i++) {
        if (pool[i].block != NULL && pool[i].size == size) {
            block = pool[i].block;
            pool[i].block = NULL;
        }
    }
    if (block == NULL)
        block = xmalloc(size);
    if (size)
        memset(block, 0xbe, size);
    return block;
}

static void block_put(void *block, size_t size)
{
    for (int i = 0; i < POOL_SLOTS; i++) {
        if (pool[i].block == NULL) {
            pool[i].block = block;
            pool[i].size = size;
            return;
        }
    }
    free(block);
}

static void pool_clear(void)
{
    for (int i = 0; i < POOL_SLOTS; i++) {
        free(pool[i].block);
        pool[i].block = NULL;
    }
}

typedef struct {
    uint8_t *data;
    size_t len, cap;
} bytes_t;

static void bytes_append(bytes_t *b, const uint8_t *p, size_t n)
{
    if (n == 0)
        return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n)
            cap *= 2;
        b->data = realloc(b->data, cap);
        CHECK(b->data != NULL);
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

static int bytes_equal(const bytes_t *a, const bytes_t *b)
{
    return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

/* ---- the reference chunked decoder ------------------------------------- */

enum {
    R_SIZE,       /* hex digits of a chunk size */
    R_EXT,        /* after the size: extensions / whitespace up to CR */
    R_SIZE_LF,    /* LF of the size line due */
    R_DATA,       /* chunk data */
    R_DATA_CR,    /* CR after the data due */
    R_DATA_LF,    /* LF after the data due */
    R_LINE_START, /* start of a trailer line or of the final CRLF */
    R_TRAILER,    /* inside a trailer line */
    R_TRAILER_LF, /* LF of a trailer line due */
    R_FINAL_LF,   /* LF of the final CRLF due */
    R_DONE
};

typedef struct {
    int st;
    uint64_t offset; /* wire offset of the next byte */
    uint64_t remaining, size;
    unsigned digits;
    uint32_t line_len;    /* size-line bytes, its LF excluded */
    uint32_t trailer_len; /* trailer-section bytes, the final LF excluded */
    int done, error;
    uint64_t error_offset;
    uint8_t error_byte;
} ref_chunks;

static int hex_digit(uint8_t b)
{
    static const char digits[] = "0123456789abcdef";
    uint8_t lower = b >= 'A' && b <= 'Z' ? (uint8_t)(b + 32) : b;
    const char *p = lower ? strchr(digits, lower) : NULL;
    return p ? (int)(p - digits) : -1;
}

/* One wire byte: 0, or the WP_CHUNK_* error it makes (the caller records it;
 * the byte is then not consumed). */
static int ref_chunk_byte(ref_chunks *r, uint8_t b)
{
    switch (r->st) {
    case R_DATA:
        if (--r->remaining == 0)
            r->st = R_DATA_CR;
        return 0;
    case R_DATA_CR:
        if (b != '\r')
            return WP_CHUNK_NO_DATA_END;
        r->st = R_DATA_LF;
        return 0;
    case R_DATA_LF:
        if (b != '\n')
            return WP_CHUNK_NO_DATA_END;
        r->st = R_SIZE;
        r->size = 0;
        r->digits = 0;
        return 0;
    case R_SIZE:
    case R_EXT:
        if (++r->line_len > WP_CHUNK_MAX_LINE)
            return WP_CHUNK_LINE_TOO_LONG;
        if (r->st == R_EXT) {
            if (b == '\n' || b == 0)
                return WP_CHUNK_BAD_LINE_END;
            if (b == '\r')
                r->st = R_SIZE_LF;
            return 0;
        }
        if (hex_digit(b) >= 0) {
            if (r->digits == 16)
                return WP_CHUNK_SIZE_TOO_LONG;
            r->size = r->size * 16 + (uint64_t)hex_digit(b);
            r->digits++;
            return 0;
        }
        if (r->digits == 0)
            return WP_CHUNK_BAD_SIZE; /* the size needs a digit first */
        if (b == ';' || b == ' ' || b == '\t') {
            r->st = R_EXT;
            return 0;
        }
        if (b == '\r') {
            r->st = R_SIZE_LF;
            return 0;
        }
        return b == '\n' ? WP_CHUNK_BAD_LINE_END : WP_CHUNK_BAD_SIZE;
    case R_SIZE_LF:
        if (b != '\n')
            return WP_CHUNK_BAD_LINE_END;
        r->line_len = 0;
        r->remaining = r->size;
        r->st = r->size ? R_DATA : R_LINE_START;
        return 0;
    case R_LINE_START:
    case R_TRAILER:
    case R_TRAILER_LF:
        if (++r->trailer_len > WP_CHUNK_MAX_TRAILER)
            return WP_CHUNK_TRAILER_TOO_LONG;
        if (r->st == R_TRAILER_LF) {
            if (b != '\n')
                return WP_CHUNK_BAD_LINE_END;
            r->st = R_LINE_START;
            return 0;
        }
        if (b == '\n')
            return WP_CHUNK_BAD_LINE_END;
        if (b == '\r')
            r->st = r->st == R_LINE_START ? R_FINAL_LF : R_TRAILER_LF;
        else
            r->st = R_TRAILER;
        return 0;
    case R_FINAL_LF:
        if (b != '\n')
            return WP_CHUNK_BAD_LINE_END; /* a failed body is not done */
        r->st = R_DONE;
        r->done = 1;
        return 0;
    }
    CHECK(0); /* R_DONE takes no bytes */
    return 0;
}

/* ---- the reference demuxer (byte at a time, no merging) ---------------- */

typedef struct {
    uint8_t stream;
    size_t start, end; /* in the read */
} segment;

typedef struct {
    uint64_t offset; /* stream bytes consumed */
    uint32_t remaining;
    uint8_t stream, have;
    uint8_t header[WP_HEADER_SIZE];
    uint64_t frame; /* frames whose header is complete */
    int error;
    uint64_t error_offset;
    uint8_t error_byte, error_index;
    bytes_t out[WP_STREAMS];
} ref_demux;

/* Demuxes in[from:to] (one data span of a read); appends its segments. */
static void ref_demux_span(ref_demux *r, const uint8_t *in, size_t from, size_t to,
                           segment *segs, size_t *nsegs)
{
    size_t n = *nsegs;
    int open = 0; /* segs[n - 1] is this frame's, in this span */
    for (size_t i = from; i < to && r->error == WP_OK; i++, r->offset++) {
        if (r->remaining > 0) {
            if (open && segs[n - 1].end == i)
                segs[n - 1].end++;
            else
                segs[n++] = (segment){r->stream, i, i + 1};
            open = 1;
            bytes_append(&r->out[r->stream], in + i, 1);
            r->remaining--;
            continue;
        }
        open = 0;
        uint8_t b = in[i];
        int code = r->have == 0 && b >= WP_STREAMS                  ? WP_ERR_STREAM
                   : r->have >= 1 && r->have <= 3 && b != 0 ? WP_ERR_PADDING
                                                                    : WP_OK;
        if (code != WP_OK) {
            r->error = code;
            r->error_offset = r->offset;
            r->error_byte = b;
            r->error_index = r->have;
            break;
        }
        r->header[r->have++] = b;
        if (r->have == WP_HEADER_SIZE) {
            r->have = 0;
            r->stream = r->header[0];
            r->remaining = (uint32_t)r->header[4] << 24 | (uint32_t)r->header[5] << 16 |
                           (uint32_t)r->header[6] << 8 | r->header[7];
            r->frame++;
        }
    }
    *nsegs = n;
}

/* ---- what one read must produce ---------------------------------------- */

typedef struct {
    size_t start, end;
} span;

typedef struct {
    const uint8_t *in; /* the read, as the fuzz input holds it */
    size_t len;
    span *spans; /* the reference's data spans (room for len + 1) */
    size_t nspans;
    size_t consumed;
    segment *segs; /* the reference demuxer's segments (room for len + 1) */
    size_t nsegs;
    size_t fused_consumed; /* what the fused paths consume */
    ref_chunks fused;      /* and their chunk state after this read */
} expected;

typedef struct {
    ref_chunks chunks;
    ref_demux demux;
    int stream_failed; /* the fused paths stopped at a stream error */
    ref_chunks fused;  /* chunk state of the fused paths */
    bytes_t data;      /* all chunk data */
} reference;

static void close_span(reference *r, expected *e, size_t from, size_t to)
{
    e->spans[e->nspans++] = (span){from, to};
    bytes_append(&r->data, e->in + from, to - from);
    if (r->stream_failed)
        return;
    ref_demux_span(&r->demux, e->in, from, to, e->segs, &e->nsegs);
    if (r->demux.error != WP_OK) {
        /* The fused paths stop after this span, before the next byte. */
        r->stream_failed = 1;
        r->fused = r->chunks;
        e->fused_consumed = to;
    }
}

static void ref_read(reference *r, expected *e)
{
    int was_failed = r->stream_failed;
    e->nspans = e->nsegs = e->consumed = e->fused_consumed = 0;
    size_t i = 0;
    if (r->chunks.error == 0 && !r->chunks.done) {
        size_t open = SIZE_MAX; /* start of the span being read */
        for (; i < e->len && r->chunks.st != R_DONE; i++) {
            int data = r->chunks.st == R_DATA;
            if (!data && open != SIZE_MAX) {
                close_span(r, e, open, i);
                open = SIZE_MAX;
            }
            int code = ref_chunk_byte(&r->chunks, e->in[i]);
            if (code) {
                r->chunks.error = code;
                r->chunks.error_offset = r->chunks.offset;
                r->chunks.error_byte = e->in[i];
                break;
            }
            r->chunks.offset++;
            if (data && open == SIZE_MAX)
                open = i;
        }
        if (open != SIZE_MAX)
            close_span(r, e, open, i);
    }
    e->consumed = i;
    if (!r->stream_failed) {
        r->fused = r->chunks;
        e->fused_consumed = i;
    } else if (was_failed) {
        e->fused_consumed = 0;
    }
    e->fused = r->fused;
}

/* ---- checks -------------------------------------------------------------- */

static void check_chunks(const wp_chunked *c, const ref_chunks *r)
{
    CHECK(c->offset == r->offset);
    CHECK(c->done == r->done);
    CHECK(c->error == r->error);
    CHECK(c->remaining == r->remaining);
    if (r->error) {
        CHECK(c->error_offset == r->error_offset);
        CHECK(c->error_byte == r->error_byte);
        return;
    }
    CHECK(c->size == r->size);
    CHECK(c->line_len == r->line_len);
    CHECK(c->trailer_len == r->trailer_len);
    CHECK(c->digits == r->digits); /* the fast path leaves them as bytes would */
}

static void check_demux(const wp_demux *d, const ref_demux *r)
{
    CHECK(d->error == r->error);
    if (r->error != WP_OK) {
        CHECK(d->error_offset == r->error_offset);
        CHECK(d->error_byte == r->error_byte);
        CHECK(d->error_index == r->error_index);
        CHECK(d->have == 0 || d->have == r->error_index);
        CHECK(d->offset - d->have == r->error_offset - r->error_index);
        CHECK(d->remaining == 0);
        return;
    }
    CHECK(d->offset == r->offset);
    CHECK(d->remaining == r->remaining);
    CHECK(d->have == r->have);
    CHECK(memcmp(d->header, r->header, r->have) == 0);
    CHECK(d->frames == r->frame);
    if (r->remaining > 0)
        CHECK(d->stream == r->stream);
}

static void check_same_demux(const wp_demux *a, const wp_demux *b)
{
    CHECK(a->offset == b->offset);
    CHECK(a->remaining == b->remaining);
    CHECK(a->have == b->have);
    CHECK(memcmp(a->header, b->header, a->have) == 0);
    CHECK(a->error == b->error);
    CHECK(a->error_offset == b->error_offset);
    CHECK(a->error_byte == b->error_byte);
    CHECK(a->error_index == b->error_index);
    CHECK(a->frames == b->frames);
    if (a->remaining > 0)
        CHECK(a->stream == b->stream);
}

/* Pieces per the merging rule of wireproto.h: a run of adjacent segments of
 * one stream, each shorter than WP_COALESCE_BELOW, makes one piece in
 * scratch; any other segment is a piece viewing the input. */
static void check_pieces(const expected *e, const uint8_t *scratch, size_t used,
                         const uint8_t *streams, const size_t *starts,
                         const size_t *ends, size_t n, size_t capacity)
{
    CHECK(n <= capacity);
    CHECK(used <= e->len);
    size_t piece = 0, scratch_expected = 0;
    for (size_t i = 0; i < e->nsegs;) {
        size_t j = i + 1;
        while (j < e->nsegs && e->segs[j].stream == e->segs[i].stream &&
               e->segs[j - 1].end - e->segs[j - 1].start < WP_COALESCE_BELOW &&
               e->segs[j].end - e->segs[j].start < WP_COALESCE_BELOW)
            j++;
        CHECK(piece < n);
        CHECK((streams[piece] & ~(unsigned)WP_IN_SCRATCH) == e->segs[i].stream);
        size_t a = starts[piece], b = ends[piece];
        CHECK(a < b);
        if (e->segs[i].end - e->segs[i].start >= WP_COALESCE_BELOW) {
            CHECK(j == i + 1);
            CHECK(!(streams[piece] & WP_IN_SCRATCH));
            CHECK(a == e->segs[i].start && b == e->segs[i].end);
            CHECK(b <= e->fused_consumed);
        } else {
            CHECK(streams[piece] & WP_IN_SCRATCH);
            CHECK(b <= used);
            CHECK(a == scratch_expected); /* scratch pieces lie end to end, in order */
            for (size_t k = i; k < j; k++) {
                size_t seg_len = e->segs[k].end - e->segs[k].start;
                CHECK(a + seg_len <= b);
                CHECK(memcmp(scratch + a, e->in + e->segs[k].start, seg_len) == 0);
                a += seg_len;
                scratch_expected += seg_len;
            }
            CHECK(a == b);
        }
        piece++;
        i = j;
    }
    CHECK(piece == n);
    CHECK(used == scratch_expected);
}

static void stream_segments(const expected *e, unsigned s, size_t *total, size_t *nsegs,
                            size_t *first)
{
    *total = *nsegs = *first = 0;
    for (size_t i = 0; i < e->nsegs; i++) {
        if (e->segs[i].stream != s)
            continue;
        if ((*nsegs)++ == 0)
            *first = e->segs[i].start;
        *total += e->segs[i].end - e->segs[i].start;
    }
}

static void check_gathered(const expected *e, unsigned s, const uint8_t *out)
{
    for (size_t i = 0; i < e->nsegs; i++) {
        if (e->segs[i].stream != s)
            continue;
        size_t seg_len = e->segs[i].end - e->segs[i].start;
        CHECK(memcmp(out, e->in + e->segs[i].start, seg_len) == 0);
        out += seg_len;
    }
}

static void check_split(const expected *e, const uint8_t *scratch, size_t stride,
                        uint8_t *const *dest, const size_t *counts, const int64_t *direct)
{
    for (unsigned s = 0; s < WP_STREAMS; s++) {
        size_t total, nsegs, first;
        stream_segments(e, s, &total, &nsegs, &first);
        CHECK(counts[s] == total);
        if (dest != NULL && dest[s] != NULL) {
            CHECK(direct[s] == -1);
            check_gathered(e, s, dest[s]);
        } else if (nsegs == 1) {
            CHECK(direct[s] == (int64_t)first);
            CHECK(first + total <= e->fused_consumed);
        } else {
            CHECK(direct[s] == -1);
            check_gathered(e, s, scratch + (size_t)s * stride);
        }
    }
}

/* ---- the contenders --------------------------------------------------------- */

typedef struct {
    wp_chunked chunks;
    wp_demux demux;
    bytes_t out[WP_STREAMS];
} contender;

enum { CHUNKS, PLAIN, PIECES, SPLIT, GATHER, CONTENDERS };

static void run_chunks(contender *c, const uint8_t *input, const expected *e)
{
    size_t capacity = e->len / 3 + 1;
    size_t *starts = block_get(capacity * sizeof *starts);
    size_t *ends = block_get(capacity * sizeof *ends);
    size_t consumed = (size_t)-1;
    size_t n = wp_chunked_spans(&c->chunks, input, e->len, starts, ends, &consumed);
    CHECK(n <= capacity);
    CHECK(consumed == e->consumed);
    CHECK(n == e->nspans);
    for (size_t i = 0; i < n; i++) {
        CHECK(starts[i] < ends[i] && ends[i] <= consumed);
        CHECK(starts[i] == e->spans[i].start && ends[i] == e->spans[i].end);
        bytes_append(&c->out[0], input + starts[i], ends[i] - starts[i]);
    }
    block_put(starts, capacity * sizeof *starts);
    block_put(ends, capacity * sizeof *ends);
}

/* The plain demuxer over CHUNKS' spans, each an exact-size block. */
static void run_plain(contender *c, const expected *e)
{
    for (size_t i = 0; i < e->nspans; i++) {
        size_t len = e->spans[i].end - e->spans[i].start;
        size_t capacity = len / 8 + 2;
        uint8_t *input = block_get(len);
        memcpy(input, e->in + e->spans[i].start, len);
        uint8_t *scratch = block_get(len);
        uint8_t *streams = block_get(capacity);
        size_t *starts = block_get(capacity * sizeof *starts);
        size_t *ends = block_get(capacity * sizeof *ends);
        size_t used;
        size_t n = wp_demux_pieces(&c->demux, input, len, scratch, streams, starts, ends,
                                   &used);
        CHECK(n <= capacity && used <= len);
        for (size_t k = 0; k < n; k++) {
            const uint8_t *from = streams[k] & WP_IN_SCRATCH ? scratch : input;
            CHECK(starts[k] < ends[k] && ends[k] <= (streams[k] & WP_IN_SCRATCH ? used : len));
            bytes_append(&c->out[streams[k] & 3], from + starts[k], ends[k] - starts[k]);
        }
        block_put(input, len);
        block_put(scratch, len);
        block_put(streams, capacity);
        block_put(starts, capacity * sizeof *starts);
        block_put(ends, capacity * sizeof *ends);
    }
}

static void run_pieces(contender *c, const uint8_t *input, const expected *e)
{
    size_t capacity = e->len / 4 + 2;
    uint8_t *scratch = block_get(e->len);
    uint8_t *streams = block_get(capacity);
    size_t *starts = block_get(capacity * sizeof *starts);
    size_t *ends = block_get(capacity * sizeof *ends);
    size_t used = (size_t)-1, consumed = (size_t)-1;
    size_t n = wp_chunked_demux_pieces(&c->chunks, &c->demux, input, e->len, scratch, streams,
                                       starts, ends, &used, &consumed);
    CHECK(consumed == e->fused_consumed);
    check_pieces(e, scratch, used, streams, starts, ends, n, capacity);
    for (size_t i = 0; i < n; i++) {
        const uint8_t *from = streams[i] & WP_IN_SCRATCH ? scratch : input;
        bytes_append(&c->out[streams[i] & 3], from + starts[i], ends[i] - starts[i]);
    }
    block_put(scratch, e->len);
    block_put(streams, capacity);
    block_put(starts, capacity * sizeof *starts);
    block_put(ends, capacity * sizeof *ends);
}

/* SPLIT (dest_mask < 0) or GATHER: stream s into dest[s] when its bit is
 * set, exactly as large as the reference says its payload in this read is. */
static void run_split(contender *c, const uint8_t *input, const expected *e, int dest_mask,
                      size_t stride)
{
    size_t scratch_len = e->len ? (WP_STREAMS - 1) * stride + e->len : 0;
    uint8_t *scratch = block_get(scratch_len);
    size_t *counts = block_get(WP_STREAMS * sizeof *counts);
    int64_t *direct = block_get(WP_STREAMS * sizeof *direct);
    uint8_t **dest = NULL;
    size_t room[WP_STREAMS];
    if (dest_mask >= 0) {
        dest = block_get(WP_STREAMS * sizeof *dest);
        for (unsigned s = 0; s < WP_STREAMS; s++) {
            size_t nsegs, first;
            stream_segments(e, s, &room[s], &nsegs, &first);
            dest[s] = dest_mask >> s & 1 ? block_get(room[s]) : NULL;
        }
    }
    size_t consumed = (size_t)-1;
    unsigned fed = wp_chunked_demux_gather(&c->chunks, &c->demux, input, e->len, scratch,
                                           stride, dest, counts, direct, &consumed);
    for (unsigned s = 0; s < WP_STREAMS; s++)
        CHECK((fed >> s & 1) == (counts[s] != 0));
    CHECK(fed >> WP_STREAMS == 0);
    CHECK(consumed == e->fused_consumed);
    check_split(e, scratch, stride, dest, counts, direct);
    for (unsigned s = 0; s < WP_STREAMS; s++) {
        const uint8_t *from = dest != NULL && dest[s] != NULL ? dest[s]
                              : direct[s] >= 0              ? input + direct[s]
                                                            : scratch + s * stride;
        bytes_append(&c->out[s], from, counts[s]);
        if (dest != NULL && dest[s] != NULL)
            block_put(dest[s], room[s]);
    }
    if (dest != NULL)
        block_put(dest, WP_STREAMS * sizeof *dest);
    block_put(scratch, scratch_len);
    block_put(counts, WP_STREAMS * sizeof *counts);
    block_put(direct, WP_STREAMS * sizeof *direct);
}

/* ---- the driver ---------------------------------------------------------- */

static size_t read_size(uint8_t b)
{
    return b & 0x80 ? (size_t)(b & 0x7f) * 64 : b;
}

static void feed_read(contender *c, reference *r, const uint8_t *in, size_t len,
                      size_t read_no, unsigned dest_mask)
{
    expected e;
    memset(&e, 0, sizeof e);
    e.in = in;
    e.len = len;
    e.spans = block_get((len + 1) * sizeof *e.spans);
    e.segs = block_get((len + 1) * sizeof *e.segs);
    ref_read(r, &e);

    uint8_t *input = block_get(len);
    if (len)
        memcpy(input, in, len);
    run_chunks(&c[CHUNKS], input, &e);
    check_chunks(&c[CHUNKS].chunks, &r->chunks);
    run_plain(&c[PLAIN], &e);
    check_demux(&c[PLAIN].demux, &r->demux);

    run_pieces(&c[PIECES], input, &e);
    run_split(&c[SPLIT], input, &e, -1, len);
    /* Stride above len on odd reads: the streams' scratch areas apart. */
    run_split(&c[GATHER], input, &e, (int)dest_mask, len + (read_no & 1) * 5);
    for (int i = PIECES; i < CONTENDERS; i++) {
        check_chunks(&c[i].chunks, &e.fused);
        check_same_demux(&c[i].demux, &c[PLAIN].demux);
    }
    CHECK(len == 0 || memcmp(input, in, len) == 0); /* input is const */
    block_put(input, len);
    block_put(e.spans, (len + 1) * sizeof *e.spans);
    block_put(e.segs, (len + 1) * sizeof *e.segs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t k = data[0] & 0x0f;
    unsigned dest_mask = data[0] >> 4;
    if (1 + k > size)
        return 0;
    const uint8_t *sizes = data + 1;
    const uint8_t *wire = data + 1 + k;
    size_t total = size - 1 - k;

    static contender c[CONTENDERS];
    static reference r;
    memset(c, 0, sizeof c);
    memset(&r, 0, sizeof r);

    size_t pos = 0, read_no = 0, empty_run = 0;
    while (pos < total || read_no == 0) {
        size_t len = total - pos;
        if (k > 0 && empty_run < k) {
            size_t want = read_size(sizes[read_no % k]);
            len = want < len ? want : len;
        }
        empty_run = len == 0 ? empty_run + 1 : 0;
        feed_read(c, &r, wire + pos, len, read_no, dest_mask);
        pos += len;
        read_no++;
    }
    /* One more empty read: a no-op, or the sticky error / done again. */
    feed_read(c, &r, wire + pos, 0, read_no, dest_mask);

    CHECK(bytes_equal(&c[CHUNKS].out[0], &r.data));
    for (unsigned s = 0; s < WP_STREAMS; s++) {
        CHECK(bytes_equal(&c[PLAIN].out[s], &r.demux.out[s]));
        for (int i = PIECES; i < CONTENDERS; i++)
            CHECK(bytes_equal(&c[i].out[s], &c[PLAIN].out[s]));
    }
    for (int i = 0; i < CONTENDERS; i++)
        for (unsigned s = 0; s < WP_STREAMS; s++)
            free(c[i].out[s].data);
    free(r.data.data);
    for (unsigned s = 0; s < WP_STREAMS; s++)
        free(r.demux.out[s].data);
    pool_clear();
    return 0;
}
