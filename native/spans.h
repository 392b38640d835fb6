/* Internal to the native module: the demuxer's span walkers, shared by the
 * plain entry points (demux.c) and the fused chunked ones (chunked.c). */
#ifndef WIREPROTO_SPANS_H
#define WIREPROTO_SPANS_H

#include "wireproto.h"

typedef struct {
    uint8_t *streams;
    size_t *starts;
    size_t *ends;
    uint8_t *scratch;
    size_t n;           /* pieces written */
    size_t used;        /* scratch bytes used */
    int previous_small; /* the last piece holds only short segments */
} wp_piece_out;

typedef struct {
    uint8_t *scratch; /* stream s gathers at scratch + s * stride ... */
    size_t stride;
    uint8_t *const *dest; /* ... or at dest[s] when dest and dest[s] are set */
    size_t *counts;
    int64_t *direct;
} wp_split_out;

/* Demux input[from:to] (stream bytes) into pieces / per-stream buffers. */
void wp_pieces_span(wp_demux *d, const uint8_t *input, size_t from, size_t to,
                    wp_piece_out *out);
void wp_split_span(wp_demux *d, const uint8_t *input, size_t from, size_t to,
                   wp_split_out *out);
/* The streams that got payload since wp_split_reset, bit s for stream s. */
static inline unsigned wp_split_fed(const wp_split_out *out)
{
    unsigned fed = 0;
    for (unsigned s = 0; s < WP_STREAMS; s++)
        fed |= (unsigned)(out->counts[s] != 0) << s;
    return fed;
}

void wp_split_reset(wp_split_out *out, uint8_t *scratch, size_t stride,
                    uint8_t *const *dest, size_t *counts, int64_t *direct);

#endif
