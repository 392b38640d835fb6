/* The check a line cut by a read passes before it may wait for its newline
 * (wireproto/jsonstream.py, _tail_waits; open_value there is its Python twin,
 * and the two must answer alike for every input).
 *
 * wp_json_open(p, n, max_depth, stack) is 1 when p[0..n) is the start of an
 * object or array that is still open at its end, with nothing a stream
 * scanner would refuse or deliver on the way:
 *   - after the separators " \t\r\x1e" the first byte is '{' or '[';
 *   - there is no '\n' anywhere (the line is cut: its newline is still due);
 *   - outside strings, every closing bracket closes a bracket of its own kind
 *     opened after the first, so the first is never closed;
 *   - the nesting never goes deeper than max_depth.
 * Otherwise 0.  Strings run from a quote to the next unescaped quote, or to
 * the end (a backslash escapes the byte after it, whatever it is).  One pass,
 * no recursion.  ``stack`` holds at least min(max_depth, n) + 1 bytes.
 */
#ifndef WP_JSONSCAN_H
#define WP_JSONSCAN_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline int wp_json_open(const uint8_t *p, size_t n, size_t max_depth, uint8_t *stack)
{
    size_t i = 0;
    while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == 0x1e))
        i++;
    if (i >= n || (p[i] != '{' && p[i] != '['))
        return 0;
    if (memchr(p + i, '\n', n - i) != NULL)
        return 0;
    size_t depth = 0;
    for (; i < n; i++) {
        uint8_t byte = p[i];
        if (byte == '"') {
            for (i++; i < n && p[i] != '"'; i++) {
                if (p[i] == '\\')
                    i++; /* the escaped byte, maybe past the end: the loop stops */
            }
            continue;
        }
        if (byte == '{' || byte == '[') {
            if (depth >= max_depth)
                return 0;
            stack[depth++] = (uint8_t)(byte + 2); /* '{'+2 is '}', '['+2 is ']' */
        } else if (byte == '}' || byte == ']') {
            if (depth == 0 || stack[depth - 1] != byte)
                return 0;
            if (--depth == 0)
                return 0; /* the value closed: the scanner would deliver it now */
        }
    }
    return 1;
}

#endif
