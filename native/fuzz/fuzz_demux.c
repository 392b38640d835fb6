/* libFuzzer target for the multiplexed-stream demuxer (native/demux.c).
 *
 * Strategy: the first bytes of the fuzz input choose the chunk sizes; the
 * rest is a multiplexed stream, fed chunk by chunk into four wp_demux
 * states: one through wp_demux_pieces only, one through wp_demux_gather with
 * no destinations only (the split: each stream in place or in scratch),
 * one through wp_demux_gather only (as the native feed_into does: some
 * streams straight into caller buffers, the others via scratch),
 * and one taking turns among the three.  A byte-at-a-time reference decoder
 * written here (no fast paths, no merging) is fed the same chunks.  After
 * every chunk the outputs must match what the header documents for the
 * reference's segments: the same pieces (merging rule included), the same
 * per-stream split (in place exactly when one segment), counts that match
 * the gather, the same state and error.  At the end each state's per-stream
 * output must equal the reference's per-stream concatenation.  Every buffer
 * handed to C is an exact-size heap block, so AddressSanitizer sees any read
 * or write beyond the documented capacity.  Any violation abort()s.
 *
 * Input layout:
 *   byte 0        low 4 bits: k, the number of chunk-size bytes that follow;
 *                 high 4 bits: the streams wp_demux_gather copies straight to
 *                 caller buffers (bit s for stream s; the taking-turns state
 *                 uses the other streams)
 *   bytes 1..k    chunk sizes, used in turn: b < 0x80 means b bytes,
 *                 b >= 0x80 means (b & 0x7f) * 64 bytes (big chunks); 0 is an
 *                 empty chunk (after k empty chunks in a row the rest is fed)
 *   the rest      the stream; with k == 0 it is fed as one chunk
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wireproto.h"

#define CHECK(cond)                                                          \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "fuzz_demux: invariant failed at line %d: %s\n", \
                    __LINE__, #cond);                                        \
            abort();                                                         \
        }                                                                    \
    } while (0)

/* ---- small helpers ---------------------------------------------------- */

/* Exact-size allocation: malloc(0) under ASan is a valid 0-byte block. */
static void *xmalloc(size_t n)
{
    void *p = malloc(n);
    CHECK(p != NULL || n == 0);
    return p;
}

/* Exact-size blocks are recycled within one run: a fresh malloc per buffer
 * per chunk made ASan's allocator most of the cost of byte-by-byte feeds.  A
 * recycled block has the same exact size (ASan still sees any overrun) and
 * is poisoned with 0xbe before reuse, so stale bytes cannot pass a check. */
#define POOL_SLOTS 64
static struct {
    void *block;
    size_t size;
} pool[POOL_SLOTS];

static void *block_get(size_t size)
{
    for (int i = 0; i < POOL_SLOTS; i++) {
        if (pool[i].block != NULL && pool[i].size == size) {
            void *block = pool[i].block;
            pool[i].block = NULL;
            if (size)
                memset(block, 0xbe, size);
            return block;
        }
    }
    void *block = xmalloc(size);
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

/* ---- the reference decoder --------------------------------------------- */

/* A run of payload bytes of one frame inside one chunk. */
typedef struct {
    uint8_t stream;
    size_t start, end; /* in the chunk */
} segment;

typedef struct {
    uint64_t offset; /* bytes consumed: header bytes gathered count */
    uint32_t remaining;
    uint8_t stream;
    uint8_t have;
    uint8_t header[WP_HEADER_SIZE];
    uint64_t frame; /* frames whose header is complete */
    int error;
    uint64_t error_offset;
    uint8_t error_byte, error_index;
    bytes_t out[WP_STREAMS];
} reference;

static int ref_header_error(unsigned index, uint8_t byte)
{
    if (index == 0 && byte >= WP_STREAMS)
        return WP_ERR_STREAM;
    if (index >= 1 && index <= 3 && byte != 0)
        return WP_ERR_PADDING;
    return WP_OK;
}

static void ref_header_byte(reference *r, uint8_t byte)
{
    r->header[r->have++] = byte;
    if (r->have < WP_HEADER_SIZE)
        return;
    r->have = 0;
    r->stream = r->header[0];
    r->remaining = ((uint32_t)r->header[4] << 24) | ((uint32_t)r->header[5] << 16) |
                   ((uint32_t)r->header[6] << 8) | r->header[7];
    r->frame++;
}

/* Feeds one chunk a byte at a time; fills segs (room for len entries) and
 * returns how many. */
static size_t ref_feed(reference *r, const uint8_t *in, size_t len, segment *segs)
{
    size_t n = 0;
    uint64_t seg_frame = UINT64_MAX;
    for (size_t i = 0; i < len && r->error == WP_OK; i++) {
        if (r->remaining > 0) {
            if (n > 0 && seg_frame == r->frame && segs[n - 1].end == i) {
                segs[n - 1].end++;
            } else {
                segs[n++] = (segment){r->stream, i, i + 1};
                seg_frame = r->frame;
            }
            bytes_append(&r->out[r->stream], in + i, 1);
            r->remaining--;
        } else {
            int code = ref_header_error(r->have, in[i]);
            if (code != WP_OK) {
                r->error = code;
                r->error_offset = r->offset;
                r->error_byte = in[i];
                r->error_index = r->have;
                break;
            }
            ref_header_byte(r, in[i]);
        }
        r->offset++;
    }
    return n;
}

/* ---- checks against the reference -------------------------------------- */

static void check_state(const wp_demux *d, const reference *r)
{
    CHECK(d->error == r->error);
    if (r->error != WP_OK) {
        CHECK(d->error_offset == r->error_offset);
        CHECK(d->error_byte == r->error_byte);
        CHECK(d->error_index == r->error_index);
        /* Stopped at the bad header: either before it, or inside it with the
         * good bytes before the bad one gathered in the state. */
        CHECK(d->have == 0 || d->have == r->error_index);
        CHECK(d->offset - d->have == r->error_offset - r->error_index);
        CHECK(d->remaining == 0);
        return;
    }
    CHECK(d->offset == r->offset);
    CHECK(d->remaining == r->remaining);
    CHECK(d->have == r->have);
    CHECK(memcmp(d->header, r->header, r->have) == 0);
    if (r->remaining > 0)
        CHECK(d->stream == r->stream);
}

/* Two demuxers fed the same bytes by different entry points agree. */
static void check_same_state(const wp_demux *a, const wp_demux *b)
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

/* What one chunk must produce, from the reference's segments. */
typedef struct {
    const uint8_t *chunk;
    size_t len;
    const segment *segs;
    size_t nsegs;
    int was_failed; /* the demuxer had already failed before this chunk */
} expected;

/* Pieces per the merging rule of wireproto.h: adjacent segments of one
 * stream, each shorter than WP_COALESCE_BELOW, make one piece in scratch. */
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
        } else {
            CHECK(streams[piece] & WP_IN_SCRATCH);
            CHECK(b <= used);
            CHECK(a == scratch_expected); /* scratch pieces lie end to end, in order */
            for (size_t k = i; k < j; k++) {
                size_t seg_len = e->segs[k].end - e->segs[k].start;
                CHECK(a + seg_len <= b);
                CHECK(memcmp(scratch + a, e->chunk + e->segs[k].start, seg_len) == 0);
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

/* Per-stream totals, the number of segments and the first one's start. */
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

/* Stream s's segments, concatenated, are at out. */
static void check_gathered(const expected *e, unsigned s, const uint8_t *out)
{
    for (size_t i = 0; i < e->nsegs; i++) {
        if (e->segs[i].stream != s)
            continue;
        size_t seg_len = e->segs[i].end - e->segs[i].start;
        CHECK(memcmp(out, e->chunk + e->segs[i].start, seg_len) == 0);
        out += seg_len;
    }
}

/* The split/gather outputs: stream s went to dest[s] when that is set, else
 * in place (exactly one segment) or to scratch + s * stride. */
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
            CHECK(first + total <= e->len);
        } else {
            CHECK(direct[s] == -1);
            check_gathered(e, s, scratch + (size_t)s * stride);
        }
    }
}

/* ---- the demuxers under test -------------------------------------------- */

/* Calls wp_demux_pieces with exact-size buffers; checks and collects. */
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

static void run_pieces(wp_demux *d, const expected *e, bytes_t *out)
{
    size_t capacity = e->len / 8 + 2;
    uint8_t *input = block_get(e->len);
    if (e->len)
        memcpy(input, e->chunk, e->len);
    uint8_t *scratch = block_get(e->len);
    uint8_t *streams = block_get(capacity);
    size_t *starts = block_get(capacity * sizeof *starts);
    size_t *ends = block_get(capacity * sizeof *ends);
    size_t used = (size_t)-1;
    size_t n = wp_demux_pieces(d, input, e->len, scratch, streams, starts, ends, &used);
    if (e->was_failed)
        CHECK(n == 0 && used == 0);
    check_pieces(e, scratch, used, streams, starts, ends, n, capacity);
    for (size_t i = 0; i < n; i++) {
        const uint8_t *from = streams[i] & WP_IN_SCRATCH ? scratch : input;
        bytes_append(&out[streams[i] & 3], from + starts[i], ends[i] - starts[i]);
    }
    check_format(starts, ends, n);
    CHECK(memcmp(input, e->chunk, e->len) == 0); /* input is const */
    block_put(input, e->len);
    block_put(scratch, e->len);
    block_put(streams, capacity);
    block_put(starts, capacity * sizeof *starts);
    block_put(ends, capacity * sizeof *ends);
}

/* Calls wp_demux_gather with no destinations (each stream in place or in
 * scratch) and exact-size buffers; checks and collects. */
static void run_split(wp_demux *d, const expected *e, bytes_t *out)
{
    uint8_t *input = block_get(e->len);
    if (e->len)
        memcpy(input, e->chunk, e->len);
    uint8_t *scratch = block_get(WP_STREAMS * e->len);
    size_t *counts = block_get(WP_STREAMS * sizeof *counts);
    int64_t *direct = block_get(WP_STREAMS * sizeof *direct);
    wp_demux_gather(d, input, e->len, scratch, e->len, NULL, counts, direct);
    check_split(e, scratch, e->len, NULL, counts, direct);
    for (unsigned s = 0; s < WP_STREAMS; s++) {
        const uint8_t *from = direct[s] >= 0 ? input + direct[s] : scratch + s * e->len;
        bytes_append(&out[s], from, counts[s]);
    }
    CHECK(memcmp(input, e->chunk, e->len) == 0);
    block_put(input, e->len);
    block_put(scratch, WP_STREAMS * e->len);
    block_put(counts, WP_STREAMS * sizeof *counts);
    block_put(direct, WP_STREAMS * sizeof *direct);
}

/* wp_demux_gather straight into buffers for the streams in dest_mask (as
 * feed_into does for bytearray sinks), into scratch for the others.  Each
 * dest buffer is exactly as large as the reference says that stream's
 * payload in this chunk is, so ASan catches a write past it. */
static void run_gather(wp_demux *d, const expected *e, unsigned dest_mask, bytes_t *out)
{
    uint8_t *input = block_get(e->len);
    if (e->len)
        memcpy(input, e->chunk, e->len);
    size_t *counts = block_get(WP_STREAMS * sizeof *counts);
    uint8_t **dest = block_get(WP_STREAMS * sizeof *dest);
    size_t room[WP_STREAMS];
    for (unsigned s = 0; s < WP_STREAMS; s++) {
        size_t nsegs, first;
        stream_segments(e, s, &room[s], &nsegs, &first);
        dest[s] = dest_mask >> s & 1 ? block_get(room[s]) : NULL;
    }
    uint8_t *scratch = block_get(WP_STREAMS * e->len);
    int64_t *direct = block_get(WP_STREAMS * sizeof *direct);
    unsigned fed = wp_demux_gather(d, input, e->len, scratch, e->len, dest, counts, direct);
    check_split(e, scratch, e->len, dest, counts, direct);
    for (unsigned s = 0; s < WP_STREAMS; s++)
        CHECK((fed >> s & 1) == (counts[s] != 0));
    CHECK(fed >> WP_STREAMS == 0);
    for (unsigned s = 0; s < WP_STREAMS; s++) {
        CHECK(counts[s] == room[s]);
        const uint8_t *from = dest[s] != NULL ? dest[s]
                              : direct[s] >= 0 ? input + direct[s]
                                               : scratch + s * e->len;
        bytes_append(&out[s], from, counts[s]);
        if (dest[s] != NULL)
            block_put(dest[s], room[s]);
    }
    CHECK(memcmp(input, e->chunk, e->len) == 0);
    block_put(input, e->len);
    block_put(counts, WP_STREAMS * sizeof *counts);
    block_put(dest, WP_STREAMS * sizeof *dest);
    block_put(scratch, WP_STREAMS * e->len);
    block_put(direct, WP_STREAMS * sizeof *direct);
}

/* ---- the driver ---------------------------------------------------------- */

typedef struct {
    wp_demux state;
    bytes_t out[WP_STREAMS];
} contender;

enum { BY_PIECES, BY_SPLIT, BY_GATHER, ALTERNATING, CONTENDERS };

static size_t chunk_size(uint8_t b)
{
    return b & 0x80 ? (size_t)(b & 0x7f) * 64 : b;
}

static void feed_chunk(contender *c, reference *r, const uint8_t *chunk, size_t len,
                       size_t chunk_no, unsigned dest_mask)
{
    segment *segs = block_get((len ? len : 1) * sizeof *segs);
    expected e = {chunk, len, segs, 0, r->error != WP_OK};
    e.nsegs = ref_feed(r, chunk, len, segs);
    run_pieces(&c[BY_PIECES].state, &e, c[BY_PIECES].out);
    run_split(&c[BY_SPLIT].state, &e, c[BY_SPLIT].out);
    run_gather(&c[BY_GATHER].state, &e, dest_mask, c[BY_GATHER].out);
    switch (chunk_no % 3) {
    case 0:
        run_pieces(&c[ALTERNATING].state, &e, c[ALTERNATING].out);
        break;
    case 1:
        run_split(&c[ALTERNATING].state, &e, c[ALTERNATING].out);
        break;
    default:
        run_gather(&c[ALTERNATING].state, &e, ~dest_mask, c[ALTERNATING].out);
    }
    for (int i = 0; i < CONTENDERS; i++) {
        check_state(&c[i].state, r);
        check_same_state(&c[BY_PIECES].state, &c[i].state);
    }
    block_put(segs, (len ? len : 1) * sizeof *segs);
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
    const uint8_t *stream = data + 1 + k;
    size_t total = size - 1 - k;

    contender c[CONTENDERS];
    reference r;
    memset(c, 0, sizeof c);
    memset(&r, 0, sizeof r);

    size_t pos = 0, chunk_no = 0, empty_run = 0;
    while (pos < total || chunk_no == 0) {
        size_t len = total - pos;
        if (k > 0 && empty_run < k) {
            size_t want = chunk_size(sizes[chunk_no % k]);
            len = want < len ? want : len;
        }
        empty_run = len == 0 ? empty_run + 1 : 0;
        feed_chunk(c, &r, stream + pos, len, chunk_no, dest_mask);
        pos += len;
        chunk_no++;
    }
    /* One more empty call: a no-op, or the sticky error again. */
    feed_chunk(c, &r, stream + pos, 0, chunk_no, dest_mask);

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
