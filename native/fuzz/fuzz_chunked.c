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
 * 7.1 as chunked.c implements it, no fast paths) and the byte-at-a-time
 * reference demuxer of check.h run over its data spans are fed the same
 * reads.  After every read: CHUNKS' spans are exactly the reference's runs of
 * data bytes, with the same consumed count and the same state (offset,
 * remaining, done, error code, error offset and byte); PLAIN's demux state is
 * the reference demuxer's; each fused contender consumed what the reference
 * says (up to the end of the data span where the stream failed, if it did),
 * its chunk state is the reference's at that point, its demux state is
 * PLAIN's, and its outputs are what wireproto.h documents for the reference's
 * segments (PIECES: the merging rule and WP_IN_SCRATCH; SPLIT/GATHER: in
 * place exactly when one segment, else gathered).  At the end every
 * contender's per-stream payload equals PLAIN's and the reference's.  Every
 * buffer handed to C is an exact-size heap block sized by the capacities in
 * wireproto.h (spans: len / 3 + 1; fused pieces: len / 4 + 2; scratch: len,
 * or 3 * stride + len for split/gather; gather destinations: exactly the
 * stream's payload in this read), so AddressSanitizer sees any access beyond
 * them.  Any violation abort()s.  The helpers and checks shared with
 * fuzz_demux.c are in check.h; what is here is the chunked decoder's own.
 *
 * Input layout (parsed by check.h's reads):
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
#include "check.h"

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

/* ---- what one read must produce ---------------------------------------- */

typedef struct {
    size_t start, end;
} span;

typedef struct {
    ref_segments ref; /* the reference demuxer's segments of this read;
                         ref.consumed: what the fused paths consume */
    span *spans;      /* the reference's data spans (room for len + 1) */
    size_t nspans;
    size_t consumed; /* what wp_chunked_spans consumes */
    ref_chunks fused; /* the fused paths' chunk state after this read */
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
    bytes_append(&r->data, e->ref.in + from, to - from);
    if (r->stream_failed)
        return;
    ref_demux_span(&r->demux, e->ref.in, from, to, e->ref.segs, &e->ref.nsegs);
    if (r->demux.error != WP_OK) {
        /* The fused paths stop after this span, before the next byte. */
        r->stream_failed = 1;
        r->fused = r->chunks;
        e->ref.consumed = to;
    }
}

static void ref_read(reference *r, expected *e)
{
    int was_failed = r->stream_failed;
    e->nspans = e->ref.nsegs = e->consumed = e->ref.consumed = 0;
    size_t i = 0;
    if (r->chunks.error == 0 && !r->chunks.done) {
        size_t open = SIZE_MAX; /* start of the span being read */
        for (; i < e->ref.len && r->chunks.st != R_DONE; i++) {
            int data = r->chunks.st == R_DATA;
            if (!data && open != SIZE_MAX) {
                close_span(r, e, open, i);
                open = SIZE_MAX;
            }
            int code = ref_chunk_byte(&r->chunks, e->ref.in[i]);
            if (code) {
                r->chunks.error = code;
                r->chunks.error_offset = r->chunks.offset;
                r->chunks.error_byte = e->ref.in[i];
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
        e->ref.consumed = i;
    } else if (was_failed) {
        e->ref.consumed = 0;
    }
    e->fused = r->fused;
}

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

/* ---- the contenders --------------------------------------------------------- */

typedef struct {
    wp_chunked chunks;
    wp_demux demux;
    bytes_t out[WP_STREAMS];
} contender;

enum { CHUNKS, PLAIN, PIECES, SPLIT, GATHER, CONTENDERS };

/* wp_chunked_spans with room for len / 3 + 1 spans: exactly the
 * reference's spans and consumed count. */
static void run_chunks(contender *c, const uint8_t *input, const expected *e)
{
    size_t capacity = e->ref.len / 3 + 1;
    size_t *starts = block_get(capacity * sizeof *starts);
    size_t *ends = block_get(capacity * sizeof *ends);
    size_t consumed = (size_t)-1;
    size_t n = wp_chunked_spans(&c->chunks, input, e->ref.len, starts, ends, &consumed);
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

/* The plain demuxer over CHUNKS' spans, each an exact-size block with
 * scratch of its length and room for len / 8 + 2 pieces. */
static void run_plain(contender *c, const expected *e)
{
    for (size_t i = 0; i < e->nspans; i++) {
        size_t len = e->spans[i].end - e->spans[i].start;
        uint8_t *input = block_dup(e->ref.in + e->spans[i].start, len);
        pieces_bufs p;
        pieces_get(&p, len, len / 8 + 2);
        size_t used;
        size_t n = wp_demux_pieces(&c->demux, input, len, p.scratch, p.streams, p.starts,
                                   p.ends, &used);
        collect_pieces(c->out, input, len, &p, n, used);
        block_put(input, len);
        pieces_put(&p);
    }
}

/* wp_chunked_demux_pieces with scratch of len and room for len / 4 + 2
 * pieces. */
static void run_pieces(contender *c, const uint8_t *input, const expected *e)
{
    pieces_bufs p;
    pieces_get(&p, e->ref.len, e->ref.len / 4 + 2);
    size_t used = (size_t)-1, consumed = (size_t)-1;
    size_t n = wp_chunked_demux_pieces(&c->chunks, &c->demux, input, e->ref.len, p.scratch,
                                       p.streams, p.starts, p.ends, &used, &consumed);
    CHECK(consumed == e->ref.consumed);
    check_pieces(&e->ref, &p, n, used);
    collect_pieces(c->out, input, e->ref.len, &p, n, used);
    pieces_put(&p);
}

/* SPLIT (dest_mask < 0) or GATHER: wp_chunked_demux_gather, stream s into
 * its own destination when its bit is set, else in place or in scratch. */
static void run_split(contender *c, const uint8_t *input, const expected *e, int dest_mask,
                      size_t stride)
{
    gather_bufs g;
    gather_get(&g, &e->ref, stride, dest_mask);
    size_t consumed = (size_t)-1;
    unsigned fed = wp_chunked_demux_gather(&c->chunks, &c->demux, input, e->ref.len,
                                           g.scratch, g.stride, g.dest, g.counts, g.direct,
                                           &consumed);
    CHECK(consumed == e->ref.consumed);
    check_gather(&e->ref, &g, fed);
    collect_gather(c->out, input, &g);
    gather_put(&g);
}

/* ---- the driver ---------------------------------------------------------- */

static void feed_read(contender *c, reference *r, const uint8_t *in, size_t len,
                      size_t read_no, unsigned dest_mask)
{
    expected e;
    memset(&e, 0, sizeof e);
    e.ref.in = in;
    e.ref.len = len;
    e.spans = block_get((len + 1) * sizeof *e.spans);
    e.ref.segs = block_get((len + 1) * sizeof *e.ref.segs);
    ref_read(r, &e);

    uint8_t *input = block_dup(in, len);
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
    block_put(e.ref.segs, (len + 1) * sizeof *e.ref.segs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    reads it;
    if (!reads_start(&it, data, size))
        return 0;
    static contender c[CONTENDERS];
    static reference r;
    memset(c, 0, sizeof c);
    memset(&r, 0, sizeof r);

    const uint8_t *in;
    size_t len, read_no;
    while (reads_next(&it, &in, &len, &read_no))
        feed_read(c, &r, in, len, read_no, it.dest_mask);

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
