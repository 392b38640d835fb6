/* What the libFuzzer targets fuzz_demux.c and fuzz_chunked.c share: one copy
 * of the helpers, the reference demuxer and the checks against it, so the two
 * harnesses cannot drift apart on what "correct" means.  Each harness is one
 * translation unit and includes this once, hence static functions.
 *
 * Strategy (both harnesses): a byte-at-a-time reference decoder, written with
 * no fast paths and no merging, is fed the same reads as the code under test;
 * after every read the outputs must be what wireproto.h documents for the
 * reference's payload segments.  Every buffer handed to C is an exact-size
 * heap block, so AddressSanitizer sees any access beyond the documented
 * capacity.  Any violation abort()s.
 */
#ifndef WP_FUZZ_CHECK_H
#define WP_FUZZ_CHECK_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wireproto.h"

/* __FILE__ and __LINE__ are the failing check's own, in a harness or here. */
#define CHECK(cond)                                                          \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__,       \
                    __LINE__, #cond);                                        \
            abort();                                                         \
        }                                                                    \
    } while (0)

/* ---- exact-size blocks ----------------------------------------------------- */

/* Blocks are recycled within one run: a fresh malloc per buffer per read made
 * ASan's allocator most of the cost of byte-by-byte feeds.  A recycled block
 * has the same exact size (ASan still sees any overrun; malloc(0) is a valid
 * 0-byte block) and is poisoned with 0xbe before reuse, so stale bytes cannot
 * pass a check. */
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
    if (block == NULL) {
        block = malloc(size);
        CHECK(block != NULL || size == 0);
    }
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

/* An exact-size copy of the input: C must treat it as const (checked with
 * memcmp after the call). */
static uint8_t *block_dup(const uint8_t *p, size_t n)
{
    uint8_t *block = block_get(n);
    if (n)
        memcpy(block, p, n);
    return block;
}

static void pool_clear(void)
{
    for (int i = 0; i < POOL_SLOTS; i++) {
        free(pool[i].block);
        pool[i].block = NULL;
    }
}

/* ---- growable byte strings (per-stream outputs) ----------------------------- */

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

/* ---- the fuzz input: read sizes, then the bytes to feed ------------------- */

/* Layout (each harness's top comment says what the high bits choose):
 *   byte 0        low 4 bits: k, the number of read-size bytes that follow;
 *                 high 4 bits: dest_mask, for the harness
 *   bytes 1..k    read sizes, used in turn: b < 0x80 means b bytes,
 *                 b >= 0x80 means (b & 0x7f) * 64 bytes; 0 is an empty read
 *                 (after k empty reads in a row the rest is fed)
 *   the rest      the bytes to feed; with k == 0 they are fed as one read
 * After the last read comes one more empty read: a no-op, or the sticky
 * error (or done) again. */
typedef struct {
    const uint8_t *sizes, *rest;
    size_t k, total, pos, empty_run;
    size_t no; /* reads handed out so far */
    unsigned dest_mask;
    int done;
} reads;

/* 0 when the input is too short to hold its read sizes. */
static int reads_start(reads *it, const uint8_t *data, size_t size)
{
    memset(it, 0, sizeof *it);
    if (size == 0)
        return 0;
    it->k = data[0] & 0x0f;
    it->dest_mask = data[0] >> 4;
    if (1 + it->k > size)
        return 0;
    it->sizes = data + 1;
    it->rest = data + 1 + it->k;
    it->total = size - 1 - it->k;
    return 1;
}

/* The next read (its bytes, length and number), or 0 after the final one. */
static int reads_next(reads *it, const uint8_t **in, size_t *len, size_t *no)
{
    if (it->done)
        return 0;
    size_t n = it->total - it->pos;
    if (n == 0 && it->no > 0) {
        it->done = 1; /* the final empty read */
    } else if (it->k > 0 && it->empty_run < it->k) {
        uint8_t b = it->sizes[it->no % it->k];
        size_t want = b & 0x80 ? (size_t)(b & 0x7f) * 64 : b;
        n = want < n ? want : n;
    }
    it->empty_run = n == 0 ? it->empty_run + 1 : 0;
    *in = it->rest + it->pos;
    *len = n;
    *no = it->no++;
    it->pos += n;
    return 1;
}

/* ---- the reference demuxer (byte at a time, no merging) ------------------- */

/* A run of payload bytes of one frame inside one input. */
typedef struct {
    uint8_t stream;
    size_t start, end; /* in the input */
} segment;

typedef struct {
    uint64_t offset; /* stream bytes consumed: header bytes gathered count */
    uint32_t remaining;
    uint8_t stream, have;
    uint8_t header[WP_HEADER_SIZE];
    uint64_t frame; /* frames whose header is complete */
    int error;
    uint64_t error_offset;
    uint8_t error_byte, error_index;
    bytes_t out[WP_STREAMS];
} ref_demux;

/* Demuxes in[from:to] (a whole read, or one data span of it); appends its
 * segments to segs (room for one per byte). */
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

/* ---- demux state checks ---------------------------------------------------- */

static void check_demux(const wp_demux *d, const ref_demux *r)
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
    CHECK(d->frames == r->frame);
    if (r->remaining > 0)
        CHECK(d->stream == r->stream);
}

/* Two demuxers fed the same bytes by different entry points agree. */
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

/* ---- what one read must produce ------------------------------------------- */

/* The reference's segments of one read, as the checkers below need them. */
typedef struct {
    const uint8_t *in; /* the read, as the fuzz input holds it */
    size_t len;
    segment *segs; /* room for one per byte (and at least one) */
    size_t nsegs;
    size_t consumed; /* what the code under test consumes: views end by here */
} ref_segments;

/* Stream s's total, its number of segments and the first one's start. */
static void stream_segments(const ref_segments *r, unsigned s, size_t *total,
                            size_t *nsegs, size_t *first)
{
    *total = *nsegs = *first = 0;
    for (size_t i = 0; i < r->nsegs; i++) {
        if (r->segs[i].stream != s)
            continue;
        if ((*nsegs)++ == 0)
            *first = r->segs[i].start;
        *total += r->segs[i].end - r->segs[i].start;
    }
}

/* Stream s's segments, concatenated, are at out. */
static void check_gathered(const ref_segments *r, unsigned s, const uint8_t *out)
{
    for (size_t i = 0; i < r->nsegs; i++) {
        if (r->segs[i].stream != s)
            continue;
        size_t seg_len = r->segs[i].end - r->segs[i].start;
        CHECK(memcmp(out, r->in + r->segs[i].start, seg_len) == 0);
        out += seg_len;
    }
}

/* ---- the pieces outputs (wp_demux_pieces, wp_chunked_demux_pieces) -------- */

/* Exact-size buffers at the capacities wireproto.h documents. */
typedef struct {
    size_t scratch_len, capacity;
    uint8_t *scratch, *streams;
    size_t *starts, *ends;
} pieces_bufs;

static void pieces_get(pieces_bufs *p, size_t scratch_len, size_t capacity)
{
    p->scratch_len = scratch_len;
    p->capacity = capacity;
    p->scratch = block_get(scratch_len);
    p->streams = block_get(capacity);
    p->starts = block_get(capacity * sizeof *p->starts);
    p->ends = block_get(capacity * sizeof *p->ends);
}

static void pieces_put(const pieces_bufs *p)
{
    block_put(p->scratch, p->scratch_len);
    block_put(p->streams, p->capacity);
    block_put(p->starts, p->capacity * sizeof *p->starts);
    block_put(p->ends, p->capacity * sizeof *p->ends);
}

/* Pieces per the merging rule of wireproto.h: a run of adjacent segments of
 * one stream, each shorter than WP_COALESCE_BELOW, makes one piece in
 * scratch; any other segment is a piece viewing the input. */
static void check_pieces(const ref_segments *r, const pieces_bufs *p, size_t n, size_t used)
{
    CHECK(n <= p->capacity);
    CHECK(used <= r->len);
    size_t piece = 0, scratch_expected = 0;
    for (size_t i = 0; i < r->nsegs;) {
        size_t j = i + 1;
        while (j < r->nsegs && r->segs[j].stream == r->segs[i].stream &&
               r->segs[j - 1].end - r->segs[j - 1].start < WP_COALESCE_BELOW &&
               r->segs[j].end - r->segs[j].start < WP_COALESCE_BELOW)
            j++;
        CHECK(piece < n);
        CHECK((p->streams[piece] & ~(unsigned)WP_IN_SCRATCH) == r->segs[i].stream);
        size_t a = p->starts[piece], b = p->ends[piece];
        CHECK(a < b);
        if (r->segs[i].end - r->segs[i].start >= WP_COALESCE_BELOW) {
            CHECK(j == i + 1);
            CHECK(!(p->streams[piece] & WP_IN_SCRATCH));
            CHECK(a == r->segs[i].start && b == r->segs[i].end);
            CHECK(b <= r->consumed);
        } else {
            CHECK(p->streams[piece] & WP_IN_SCRATCH);
            CHECK(b <= used);
            CHECK(a == scratch_expected); /* scratch pieces lie end to end, in order */
            for (size_t k = i; k < j; k++) {
                size_t seg_len = r->segs[k].end - r->segs[k].start;
                CHECK(a + seg_len <= b);
                CHECK(memcmp(p->scratch + a, r->in + r->segs[k].start, seg_len) == 0);
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

/* Appends the n pieces to out, each within scratch[:used] or input[:len]. */
static void collect_pieces(bytes_t *out, const uint8_t *input, size_t len,
                           const pieces_bufs *p, size_t n, size_t used)
{
    CHECK(n <= p->capacity && used <= p->scratch_len);
    for (size_t i = 0; i < n; i++) {
        int in_scratch = p->streams[i] & WP_IN_SCRATCH;
        const uint8_t *from = in_scratch ? p->scratch : input;
        CHECK(p->starts[i] < p->ends[i] && p->ends[i] <= (in_scratch ? used : len));
        bytes_append(&out[p->streams[i] & 3], from + p->starts[i],
                     p->ends[i] - p->starts[i]);
    }
}

/* ---- the gather outputs (wp_demux_gather, wp_chunked_demux_gather) -------- */

/* Exact-size buffers: scratch for WP_STREAMS streams at stride (the last
 * area len long), counts, direct and, unless the split (dest == NULL), a
 * destination per stream in the mask exactly as large as the reference says
 * that stream's payload in this read is, so ASan catches a write past it. */
typedef struct {
    size_t stride, scratch_len;
    uint8_t *scratch;
    uint8_t **dest;
    size_t room[WP_STREAMS];
    size_t *counts;
    int64_t *direct;
} gather_bufs;

/* dest_mask < 0: no destinations (each stream in place or in scratch). */
static void gather_get(gather_bufs *g, const ref_segments *r, size_t stride, int dest_mask)
{
    g->stride = stride;
    g->scratch_len = r->len ? (WP_STREAMS - 1) * stride + r->len : 0;
    g->scratch = block_get(g->scratch_len);
    g->counts = block_get(WP_STREAMS * sizeof *g->counts);
    g->direct = block_get(WP_STREAMS * sizeof *g->direct);
    g->dest = NULL;
    if (dest_mask < 0)
        return;
    g->dest = block_get(WP_STREAMS * sizeof *g->dest);
    for (unsigned s = 0; s < WP_STREAMS; s++) {
        size_t nsegs, first;
        stream_segments(r, s, &g->room[s], &nsegs, &first);
        g->dest[s] = dest_mask >> s & 1 ? block_get(g->room[s]) : NULL;
    }
}

static void gather_put(const gather_bufs *g)
{
    if (g->dest != NULL) {
        for (unsigned s = 0; s < WP_STREAMS; s++)
            if (g->dest[s] != NULL)
                block_put(g->dest[s], g->room[s]);
        block_put(g->dest, WP_STREAMS * sizeof *g->dest);
    }
    block_put(g->scratch, g->scratch_len);
    block_put(g->counts, WP_STREAMS * sizeof *g->counts);
    block_put(g->direct, WP_STREAMS * sizeof *g->direct);
}

/* fed is the mask of streams with payload; stream s went to dest[s] when that
 * is set, else in place (exactly one segment) or to scratch + s * stride. */
static void check_gather(const ref_segments *r, const gather_bufs *g, unsigned fed)
{
    CHECK(fed >> WP_STREAMS == 0);
    for (unsigned s = 0; s < WP_STREAMS; s++) {
        size_t total, nsegs, first;
        stream_segments(r, s, &total, &nsegs, &first);
        CHECK(g->counts[s] == total);
        CHECK((fed >> s & 1) == (g->counts[s] != 0));
        if (g->dest != NULL && g->dest[s] != NULL) {
            CHECK(g->counts[s] == g->room[s]);
            CHECK(g->direct[s] == -1);
            check_gathered(r, s, g->dest[s]);
        } else if (nsegs == 1) {
            CHECK(g->direct[s] == (int64_t)first);
            CHECK(first + total <= r->consumed);
        } else {
            CHECK(g->direct[s] == -1);
            check_gathered(r, s, g->scratch + (size_t)s * g->stride);
        }
    }
}

static void collect_gather(bytes_t *out, const uint8_t *input, const gather_bufs *g)
{
    for (unsigned s = 0; s < WP_STREAMS; s++) {
        const uint8_t *from = g->dest != NULL && g->dest[s] != NULL ? g->dest[s]
                              : g->direct[s] >= 0 ? input + g->direct[s]
                                                  : g->scratch + s * g->stride;
        bytes_append(&out[s], from, g->counts[s]);
    }
}

#endif /* WP_FUZZ_CHECK_H */
