/* wireproto._pieces: a read's short pieces as (stream, bytes) tuples, in C.
 *
 * For a read of log lines the demuxer's C walk (demux.c) lays every piece's
 * payload end to end in scratch, flagged WP_IN_SCRATCH, and lists their
 * spans.  cut() turns that listing into the list Demuxer.feed returns, one
 * bytes object and one tuple a piece, with no Python code per piece.  A read
 * with any piece left in the input (a large frame) is not its business: it
 * returns None and the Python code cuts views of the input as before.
 *
 * Optional, like the cffi module: without it the same list is made with
 * struct (codec/native/mux.py, SpanBuffers._short_pieces).  A CPython
 * extension rather than cffi: cffi cannot make Python objects.
 *
 * The arrays come as buffers (cffi's views of the demuxer's arrays) and
 * every span is checked against them: a bad argument is a ValueError, never
 * a read outside them.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#include "wireproto.h"

static PyObject *stream_ids[WP_STREAMS];

typedef struct {
    Py_buffer streams, starts, ends, scratch;
    int taken; /* how many of the four are held */
} Arrays;

static void release(Arrays *a)
{
    Py_buffer *views[] = {&a->streams, &a->starts, &a->ends, &a->scratch};
    for (int i = 0; i < a->taken; i++)
        PyBuffer_Release(views[i]);
    a->taken = 0;
}

static int take(Arrays *a, PyObject *const *args)
{
    Py_buffer *views[] = {&a->streams, &a->starts, &a->ends, &a->scratch};
    for (int i = 0; i < 4; i++) {
        if (PyObject_GetBuffer(args[i], views[i], PyBUF_SIMPLE) < 0) {
            release(a);
            return -1;
        }
        a->taken = i + 1;
    }
    return 0;
}

static size_t span_at(const Py_buffer *view, Py_ssize_t i)
{
    size_t value;
    memcpy(&value, (const char *)view->buf + (size_t)i * sizeof value, sizeof value);
    return value;
}

static int fits(const Arrays *a, Py_ssize_t count, Py_ssize_t used)
{
    Py_ssize_t span_bytes = count * (Py_ssize_t)sizeof(size_t);
    if (count < 0 || used < 0 || count > PY_SSIZE_T_MAX / (Py_ssize_t)sizeof(size_t)) {
        PyErr_SetString(PyExc_ValueError, "negative count or used");
        return 0;
    }
    if (a->streams.len < count || a->starts.len < span_bytes || a->ends.len < span_bytes
        || a->scratch.len < used) {
        PyErr_SetString(PyExc_ValueError, "count or used past the arrays");
        return 0;
    }
    return 1;
}

static int all_in_scratch(const Arrays *a, Py_ssize_t count)
{
    const uint8_t *streams = a->streams.buf;
    for (Py_ssize_t i = 0; i < count; i++)
        if (!(streams[i] & WP_IN_SCRATCH))
            return 0;
    return 1;
}

static PyObject *piece(const Arrays *a, Py_ssize_t i, Py_ssize_t used)
{
    size_t start = span_at(&a->starts, i), end = span_at(&a->ends, i);
    if (start > end || end > (size_t)used) {
        PyErr_Format(PyExc_ValueError, "piece %zd spans %zu..%zu, past %zd bytes", i, start,
                     end, used);
        return NULL;
    }
    const char *scratch = a->scratch.buf;
    PyObject *data = PyBytes_FromStringAndSize(scratch + start, (Py_ssize_t)(end - start));
    if (data == NULL)
        return NULL;
    PyObject *pair = PyTuple_New(2);
    if (pair == NULL) {
        Py_DECREF(data);
        return NULL;
    }
    uint8_t stream = ((const uint8_t *)a->streams.buf)[i] & (WP_STREAMS - 1);
    Py_INCREF(stream_ids[stream]);
    PyTuple_SET_ITEM(pair, 0, stream_ids[stream]);
    PyTuple_SET_ITEM(pair, 1, data);
    return pair;
}

static PyObject *cut_all(const Arrays *a, Py_ssize_t count, Py_ssize_t used)
{
    PyObject *list = PyList_New(count);
    if (list == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *pair = piece(a, i, used);
        if (pair == NULL) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, i, pair);
    }
    return list;
}

PyDoc_STRVAR(cut_doc,
             "cut(streams, starts, ends, scratch, count, used) -> list | None\n\n"
             "The ``count`` pieces listed (stream bytes, start and end offsets as\n"
             "size_t) as (stream, bytes) tuples cut from the first ``used`` bytes of\n"
             "``scratch``; None unless every piece is flagged as lying in scratch.");

static PyObject *cut(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 6) {
        PyErr_SetString(PyExc_TypeError, "cut() takes 6 arguments");
        return NULL;
    }
    Py_ssize_t count = PyLong_AsSsize_t(args[4]);
    Py_ssize_t used = PyLong_AsSsize_t(args[5]);
    if ((count == -1 || used == -1) && PyErr_Occurred())
        return NULL;
    Arrays arrays = {.taken = 0};
    if (take(&arrays, args) < 0)
        return NULL;
    PyObject *result = NULL;
    if (fits(&arrays, count, used)) {
        if (all_in_scratch(&arrays, count))
            result = cut_all(&arrays, count, used);
        else
            result = Py_NewRef(Py_None);
    }
    release(&arrays);
    return result;
}

static PyMethodDef methods[] = {
    {"cut", (PyCFunction)(void (*)(void))cut, METH_FASTCALL, cut_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "wireproto._pieces",
    .m_doc = "A read's short pieces as (stream, bytes) tuples, in C.",
    .m_size = -1,
    .m_methods = methods,
};

PyMODINIT_FUNC PyInit__pieces(void)
{
    for (long s = 0; s < WP_STREAMS; s++) {
        if (stream_ids[s] == NULL && (stream_ids[s] = PyLong_FromLong(s)) == NULL)
            return NULL;
    }
    return PyModule_Create(&module_def);
}
