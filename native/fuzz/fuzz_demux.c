/* libFuzzer target for the multiplexed-stream demuxer (native/demux.c).
 *
 * Strategy: the first bytes of the fuzz input choose the chunk sizes; the
 * rest is a multiplexed stream, fed chunk by chunk into four wp_demux
 * states: one through wp_demux_pieces only, one through wp_demux_gather with
 * no destinations only (the split: each stream in place or in scratch),
 * one through wp_demux_gather only (as the native feed_into does: some
 * streams straight into caller buffers, the others via scratch),
 * one taking turns among the three, and one in per-frame mode
 * (wp_demux_pieces with per_frame set: one piece per segment, open frames
 * flagged).  The byte-at-a-time reference
 * demuxer of check.h (no fast paths, no merging) is fed the same chunks.
 * After every chunk the outputs must match what the header documents for the
 * reference's segments: the same pieces (merging rule included), the same
 * per-stream split (in place exactly when one segment), counts and a fed
 * mask that match the gather, the same state and error.  At the end each
 * state's per-stream output must equal the reference's per-stream
 * concatenation.  Every buffer handed to C is an exact-size heap block, so
 * AddressSanitizer sees any read or write beyond the documented capacity.
 * Any violation abort()s.  The helpers and checks shared with
 * fuzz_chunked.c are in check.h; what is here is the demuxer's own.
 *
 * Input layout (parsed by check.h's reads):
 *   byte 0        low 4 bits: k, the number of chunk-size bytes that follow;
 *                 high 4 bits: the streams wp_demux_gather copies straight to
 *                 caller buffers (bit s for stream s; the taking-turns state
 *                 uses the other streams)
 *   bytes 1..k    chunk sizes, used in turn: b < 0x80 means b bytes,
 *                 b >= 0x80 means (b & 0x7f) * 64 bytes (big chunks); 0 is an
 *                 empty chunk (after k empty chunks in a row the rest is fed)
 *   the rest      the stream; with k == 0 it is fed as one chunk
 */
#include "check.h"

/* ---- the demuxers under test -------------------------------------------- */

/* wp_pieces_format into an exact-size buffer (ASan catches a write past
 * it): "<" then each piece's length in decimal and "s". */
static void check_format(const size_t *starts, const size_t *ends, size_t n)
{
    size_t size = 1 + 21 * n;
    char *format = block_get(size);
    size_t len = wp_pieces_format(starts, ends, n, format);
    CHECK(len <= size && len >= 1 + 2 * n && format[0] == '<');
    const char *p = format + 1;
    for (size_t i = 0; i < n; i++) {
        size_t value = 0;
        CHECK(*p >= '1' && *p <= '9'); /* pieces are never empty; no leading zero */
        while (*p >= '0' && *p <= '9')
            value = value * 10 + (size_t)(*p++ - '0');
        CHECK(*p++ == 's');
        CHECK(value == ends[i] - starts[i]);
    }
    CHECK(p == format + len);
    block_put(format, size);
}

/* wp_demux_pieces on an exact-size copy of the chunk, with scratch of len and
 * room for len / 8 + 2 pieces; checks (nothing from a failed demuxer) and
 * collects. */
static void run_pieces(wp_demux *d, const ref_segments *e, int was_failed, bytes_t *out)
{
    uint8_t *input = block_dup(e->in, e->len);
    pieces_bufs p;
    pieces_get(&p, e->len, e->len / 8 + 2);
    size_t used = (size_t)-1;
    size_t n = wp_demux_pieces(d, input, e->len, p.scratch, p.streams, p.starts, p.ends,
                               &used);
    if (was_failed)
        CHECK(n == 0 && used == 0);
    check_pieces(e, &p, n, used);
    collect_pieces(out, input, e->len, &p, n, used);
    check_format(p.starts, p.ends, n);
    CHECK(memcmp(input, e->in, e->len) == 0); /* input is const */
    block_put(input, e->len);
    pieces_put(&p);
}

/* Per-frame mode (d->per_frame): one piece per reference segment, never
 * merged; short ones end to end in scratch, long ones viewing the input;
 * WP_FRAME_OPEN exactly on a last segment that reaches the input's end while
 * payload is still due (the frame goes on in the next input). */
static void check_frame_pieces(const ref_segments *r, const ref_demux *ref,
                               const pieces_bufs *p, size_t n, size_t used)
{
    CHECK(n == r->nsegs && n <= p->capacity);
    size_t scratch_expected = 0;
    for (size_t i = 0; i < n; i++) {
        const segment *seg = &r->segs[i];
        size_t seg_len = seg->end - seg->start;
        int open = i + 1 == n && ref->remaining > 0 && seg->end == r->len;
        CHECK((p->streams[i] & 3) == seg->stream);
        CHECK(!!(p->streams[i] & WP_FRAME_OPEN) == open);
        CHECK((p->streams[i] & ~(unsigned)(WP_IN_SCRATCH | WP_FRAME_OPEN | 3)) == 0);
        if (seg_len >= WP_COALESCE_BELOW) {
            CHECK(!(p->streams[i] & WP_IN_SCRATCH));
            CHECK(p->starts[i] == seg->start && p->ends[i] == seg->end);
        } else {
            CHECK(p->streams[i] & WP_IN_SCRATCH);
            CHECK(p->starts[i] == scratch_expected && p->ends[i] == scratch_expected + seg_len);
            CHECK(memcmp(p->scratch + p->starts[i], r->in + seg->start, seg_len) == 0);
            scratch_expected += seg_len;
        }
    }
    CHECK(used == scratch_expected);
}

static void run_frame_pieces(wp_demux *d, const ref_segments *e, const ref_demux *ref,
                             bytes_t *out)
{
    uint8_t *input = block_dup(e->in, e->len);
    pieces_bufs p;
    pieces_get(&p, e->len, e->len / 8 + 2);
    size_t used = (size_t)-1;
    size_t n = wp_demux_pieces(d, input, e->len, p.scratch, p.streams, p.starts, p.ends,
                               &used);
    check_frame_pieces(e, ref, &p, n, used);
    collect_pieces(out, input, e->len, &p, n, used);
    CHECK(memcmp(input, e->in, e->len) == 0);
    block_put(input, e->len);
    pieces_put(&p);
}

/* wp_demux_gather at a stride of len: the split (dest_mask < 0, each stream
 * in place or in scratch), or the streams in dest_mask straight into caller
 * buffers (as feed_into does for bytearray sinks), the others via scratch. */
static void run_gather(wp_demux *d, const ref_segments *e, int dest_mask, bytes_t *out)
{
    uint8_t *input = block_dup(e->in, e->len);
    gather_bufs g;
    gather_get(&g, e, e->len, dest_mask);
    unsigned fed = wp_demux_gather(d, input, e->len, g.scratch, g.stride, g.dest, g.counts,
                                   g.direct);
    check_gather(e, &g, fed);
    collect_gather(out, input, &g);
    CHECK(memcmp(input, e->in, e->len) == 0);
    block_put(input, e->len);
    gather_put(&g);
}

/* ---- the driver ---------------------------------------------------------- */

typedef struct {
    wp_demux state;
    bytes_t out[WP_STREAMS];
} contender;

enum { BY_PIECES, BY_SPLIT, BY_GATHER, ALTERNATING, PER_FRAME, CONTENDERS };

static void feed_chunk(contender *c, ref_demux *r, const uint8_t *chunk, size_t len,
                       size_t chunk_no, unsigned dest_mask)
{
    int was_failed = r->error != WP_OK; /* the demuxer had already failed */
    size_t room = (len ? len : 1) * sizeof(segment);
    ref_segments e = {chunk, len, block_get(room), 0, len};
    ref_demux_span(r, chunk, 0, len, e.segs, &e.nsegs);
    run_pieces(&c[BY_PIECES].state, &e, was_failed, c[BY_PIECES].out);
    run_gather(&c[BY_SPLIT].state, &e, -1, c[BY_SPLIT].out);
    run_gather(&c[BY_GATHER].state, &e, (int)dest_mask, c[BY_GATHER].out);
    run_frame_pieces(&c[PER_FRAME].state, &e, r, c[PER_FRAME].out);
    switch (chunk_no % 3) {
    case 0:
        run_pieces(&c[ALTERNATING].state, &e, was_failed, c[ALTERNATING].out);
        break;
    case 1:
        run_gather(&c[ALTERNATING].state, &e, -1, c[ALTERNATING].out);
        break;
    default:
        run_gather(&c[ALTERNATING].state, &e, (int)(~dest_mask & 0xf), c[ALTERNATING].out);
    }
    for (int i = 0; i < CONTENDERS; i++) {
        check_demux(&c[i].state, r);
        check_same_demux(&c[BY_PIECES].state, &c[i].state);
    }
    block_put(e.segs, room);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    reads it;
    if (!reads_start(&it, data, size))
        return 0;
    contender c[CONTENDERS];
    ref_demux r;
    memset(c, 0, sizeof c);
    memset(&r, 0, sizeof r);
    c[PER_FRAME].state.per_frame = 1;

    const uint8_t *chunk;
    size_t len, chunk_no;
    while (reads_next(&it, &chunk, &len, &chunk_no))
        feed_chunk(c, &r, chunk, len, chunk_no, it.dest_mask);

    for (int i = 0; i < CONTENDERS; i++) {
        for (unsigned s = 0; s < WP_STREAMS; s++) {
            CHECK(bytes_equal(&c[i].out[s], &r.out[s]));
            free(c[i].out[s].data);
        }
    }
    for (unsigned s = 0; s < WP_STREAMS; s++)
        free(r.out[s].data);
    pool_clear();
    return 0;
}
