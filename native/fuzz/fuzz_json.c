/* libFuzzer target for wp_json_open (native/jsonscan.h), the check a JSON
 * stream's cut line passes before it may wait for its newline.
 *
 * Strategy: a reference written another way (strings cut out first, into a
 * copy holding only the brackets outside strings, then a plain stack walk
 * over that copy) must give the same answer for the input, and so for every
 * prefix of it; and an open value stays open for every shorter prefix that
 * still holds its first bracket (the check must not depend on what comes
 * later).  The input and the stack are exact-size heap blocks, so
 * AddressSanitizer sees any read or write past them.  Any violation abort()s.
 *
 * Input layout: byte 0 is max_depth (0 means 512), the rest the bytes.
 *
 * Build and run (clang with the libFuzzer and sanitizer runtimes):
 *   clang -g -O1 -std=c99 -Wall -Wextra -Werror -I native \
 *     -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
 *     native/fuzz/fuzz_json.c -o native/build/fuzz/fuzz_json
 *   native/build/fuzz/fuzz_json -max_total_time=60 -max_len=4096
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonscan.h"

#define CHECK(cond)                                                                       \
    do {                                                                                  \
        if (!(cond)) {                                                                    \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond);  \
            abort();                                                                      \
        }                                                                                 \
    } while (0)

/* The same rule as jsonscan.h, in two passes and with no shared code. */
static int reference_open(const uint8_t *p, size_t n, size_t max_depth)
{
    size_t i = 0;
    while (i < n && strchr(" \t\r\x1e", p[i]) != NULL && p[i] != 0)
        i++;
    if (i == n || (p[i] != '{' && p[i] != '['))
        return 0;
    for (size_t j = i; j < n; j++)
        if (p[j] == '\n')
            return 0;
    uint8_t *brackets = malloc(n - i);
    size_t count = 0;
    int in_string = 0, escaped = 0;
    for (size_t j = i; j < n; j++) {
        uint8_t c = p[j];
        if (in_string) {
            if (escaped)
                escaped = 0;
            else if (c == '\\')
                escaped = 1;
            else if (c == '"')
                in_string = 0;
        } else if (c == '"') {
            in_string = 1;
        } else if (c == '{' || c == '}' || c == '[' || c == ']') {
            brackets[count++] = c;
        }
    }
    int *stack = malloc(sizeof(int) * (count + 1));
    size_t depth = 0;
    int open = 1;
    for (size_t j = 0; j < count && open; j++) {
        uint8_t c = brackets[j];
        if (c == '{' || c == '[') {
            stack[depth++] = c == '{' ? '}' : ']';
            open = depth <= max_depth;
        } else {
            open = depth > 0 && stack[depth - 1] == c && --depth > 0;
        }
    }
    free(stack);
    free(brackets);
    return open;
}

/* Not inlined, so scripts/fuzz.sh can limit coverage instrumentation to this
 * function and wp_json_open (by name) and keep the reference out of it. */
static __attribute__((noinline)) int under_test(const uint8_t *data, size_t n,
                                                size_t max_depth)
{
    uint8_t *copy = malloc(n); /* exact size: ASan sees a read past the end */
    if (n)
        memcpy(copy, data, n);
    size_t cap = (max_depth < n ? max_depth : n) + 1; /* jsonscan.h's stated need */
    uint8_t *stack = malloc(cap);
    int open = wp_json_open(copy, n, max_depth, stack);
    free(stack);
    free(copy);
    return open;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t max_depth = data[0] ? data[0] : 512;
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    int open = under_test(p, n, max_depth);
    CHECK(open == reference_open(p, n, max_depth));
    /* Prefixes: each must agree with the reference, and an open value is
     * open in every prefix that holds its first bracket. */
    size_t first = 0;
    while (first < n && (p[first] == ' ' || p[first] == '\t' || p[first] == '\r' ||
                         p[first] == 0x1e))
        first++;
    for (size_t k = n < 64 ? 0 : n - 64; k < n; k++) {
        int prefix = under_test(p, k, max_depth);
        CHECK(prefix == reference_open(p, k, max_depth));
        if (open && k > first)
            CHECK(prefix);
    }
    return 0;
}
