/* wireproto._jsonfeed: the whole-line feeds of a JSON stream, in C.
 *
 * What an engine sends (one message a chunk, or reads of many lines with the
 * last one cut) is decoded here with no Python frame at all: a Feeder's feed
 * finds the feed's last newline, hands the held line start plus the whole
 * lines to msgspec (decode for one line, decode_lines for several) and keeps
 * the cut line if wp_json_open (jsonscan.h) lets it wait.  Anything else
 * (nothing to decode, a parse the decoder refuses, a tail that cannot wait, a
 * feed that is not bytes) goes to the Python path given at construction,
 * which first takes the state over, so it decides exactly as without this
 * module: this file is only a shortcut for jsonstream.JSONStreamDecoder's
 * _feed_lines and _tail_waits, and the Python backend runs those instead.
 *
 * A CPython extension rather than cffi: the point is to spend nothing around
 * the parser's own call, and a cffi call costs about what a Python frame does
 * and cannot call back into Python objects.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

#include "jsonscan.h"

typedef struct {
    PyObject_HEAD
    PyObject *slow;      /* feed(data) -> list: the Python path, which takes the state over */
    PyObject *slow_tail; /* (values) -> list: the careful path for the held tail, after values */
    PyObject *one;       /* decode(bytes) -> value */
    PyObject *lines;     /* decode_lines(bytes) -> list */
    PyObject *held;      /* bytes: a line start waiting for its newline */
    long long base;      /* stream offset of held[0] (of the next byte) */
    long long waited;    /* stream offset of the line start last let wait, or -1 */
    Py_ssize_t max_size;
    Py_ssize_t max_depth;
    Py_ssize_t wait_limit; /* a longer held tail never waits */
    int delimited;       /* values must be dict, list or str (glued scalars are not) */
    int active;          /* the state is here, not in the Python decoder */
    uint8_t *stack;      /* wp_json_open's, min(max_depth, wait_limit) + 1 bytes */
} Feeder;

static int feeder_init(Feeder *self, PyObject *args, PyObject *kwargs)
{
    static char *names[] = {"slow", "slow_tail", "one", "lines", "max_size", "max_depth",
                            "wait_limit", "delimited", NULL};
    PyObject *slow, *slow_tail, *one, *lines;
    Py_ssize_t max_size, max_depth, wait_limit;
    int delimited;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OOOOnnnp", names, &slow, &slow_tail, &one,
                                     &lines, &max_size, &max_depth, &wait_limit, &delimited))
        return -1;
    if (max_size < 1 || max_depth < 1 || wait_limit < 0) {
        PyErr_SetString(PyExc_ValueError, "max_size and max_depth must be at least 1");
        return -1;
    }
    Py_ssize_t cap = (max_depth < wait_limit ? max_depth : wait_limit) + 1;
    uint8_t *stack = PyMem_Realloc(self->stack, (size_t)cap);
    if (stack == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    self->stack = stack;
    Py_INCREF(slow);
    Py_XSETREF(self->slow, slow);
    Py_INCREF(slow_tail);
    Py_XSETREF(self->slow_tail, slow_tail);
    Py_INCREF(one);
    Py_XSETREF(self->one, one);
    Py_INCREF(lines);
    Py_XSETREF(self->lines, lines);
    Py_XSETREF(self->held, PyBytes_FromStringAndSize(NULL, 0));
    if (self->held == NULL)
        return -1;
    self->base = 0;
    self->waited = -1;
    self->max_size = max_size;
    self->max_depth = max_depth;
    self->wait_limit = wait_limit;
    self->delimited = delimited;
    self->active = 1;
    return 0;
}

static int feeder_traverse(Feeder *self, visitproc visit, void *arg)
{
    Py_VISIT(self->slow);
    Py_VISIT(self->slow_tail);
    Py_VISIT(self->one);
    Py_VISIT(self->lines);
    return 0;
}

static int feeder_clear(Feeder *self)
{
    Py_CLEAR(self->slow);
    Py_CLEAR(self->slow_tail);
    Py_CLEAR(self->one);
    Py_CLEAR(self->lines);
    Py_CLEAR(self->held);
    return 0;
}

static void feeder_dealloc(Feeder *self)
{
    PyObject_GC_UnTrack(self);
    feeder_clear(self);
    PyMem_Free(self->stack);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* The values of the whole lines in region, or NULL with no error set when the
 * Python path must decide (the decoder refused them, or a value is a scalar). */
static PyObject *decode_region(Feeder *self, PyObject *region)
{
    const char *p = PyBytes_AS_STRING(region);
    Py_ssize_t n = PyBytes_GET_SIZE(region);
    PyObject *values;
    if (memchr(p, '\n', (size_t)n) == p + n - 1) { /* one line: no list from the parser */
        PyObject *value = PyObject_CallOneArg(self->one, region);
        if (value == NULL)
            goto refused;
        values = PyList_New(1);
        if (values == NULL) {
            Py_DECREF(value);
            return NULL;
        }
        PyList_SET_ITEM(values, 0, value);
    } else {
        values = PyObject_CallOneArg(self->lines, region);
        if (values == NULL)
            goto refused;
        if (!PyList_CheckExact(values)) {
            Py_DECREF(values);
            PyErr_SetString(PyExc_TypeError, "decode_lines gave no list");
            return NULL;
        }
    }
    if (self->delimited) {
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(values); i++) {
            PyObject *value = PyList_GET_ITEM(values, i);
            if (!PyDict_CheckExact(value) && !PyList_CheckExact(value) &&
                !PyUnicode_CheckExact(value)) {
                Py_DECREF(values);
                return NULL;
            }
        }
    }
    return values;
refused:
    if (PyErr_ExceptionMatches(PyExc_ValueError) || PyErr_ExceptionMatches(PyExc_RecursionError))
        PyErr_Clear();
    return NULL;
}

/* The held line start and data's whole lines, as one bytes object. */
static PyObject *joined_region(Feeder *self, PyObject *data, Py_ssize_t last)
{
    Py_ssize_t held = PyBytes_GET_SIZE(self->held);
    if (held == 0 && last == PyBytes_GET_SIZE(data)) {
        Py_INCREF(data);
        return data;
    }
    PyObject *region = PyBytes_FromStringAndSize(NULL, held + last);
    if (region == NULL)
        return NULL;
    memcpy(PyBytes_AS_STRING(region), PyBytes_AS_STRING(self->held), (size_t)held);
    memcpy(PyBytes_AS_STRING(region) + held, PyBytes_AS_STRING(data), (size_t)last);
    return region;
}

static PyObject *feeder_feed(Feeder *self, PyObject *data)
{
    if (!self->active || !PyBytes_CheckExact(data))
        return PyObject_CallOneArg(self->slow, data);
    const char *p = PyBytes_AS_STRING(data);
    Py_ssize_t n = PyBytes_GET_SIZE(data);
    const char *newline = n ? memrchr(p, '\n', (size_t)n) : NULL;
    Py_ssize_t held = PyBytes_GET_SIZE(self->held);
    if (newline == NULL || held + (newline - p + 1) > self->max_size)
        return PyObject_CallOneArg(self->slow, data);
    Py_ssize_t last = newline - p + 1;
    PyObject *region = joined_region(self, data, last);
    if (region == NULL)
        return NULL;
    PyObject *values = decode_region(self, region);
    Py_DECREF(region);
    if (values == NULL)
        return PyErr_Occurred() ? NULL : PyObject_CallOneArg(self->slow, data);
    self->base += held + last;
    PyObject *tail = PyBytes_FromStringAndSize(p + last, n - last);
    if (tail == NULL) {
        Py_DECREF(values);
        return NULL;
    }
    Py_SETREF(self->held, tail);
    Py_ssize_t size = n - last;
    Py_ssize_t limit = self->max_size < self->wait_limit ? self->max_size : self->wait_limit;
    if (size == 0)
        return values;
    if (size <= limit && self->base != self->waited &&
        wp_json_open((const uint8_t *)p + last, (size_t)size, (size_t)self->max_depth,
                     self->stack)) {
        self->waited = self->base;
        return values;
    }
    PyObject *out = PyObject_CallOneArg(self->slow_tail, values);
    Py_DECREF(values);
    return out;
}

static PyObject *feeder_take(Feeder *self, PyObject *Py_UNUSED(ignored))
{
    /* Hands the state to the Python path: (held, base, waited); inactive until give. */
    self->active = 0;
    PyObject *state = Py_BuildValue("(OLL)", self->held, self->base, self->waited);
    if (state != NULL)
        Py_SETREF(self->held, PyBytes_FromStringAndSize(NULL, 0));
    return state;
}

static PyObject *feeder_give(Feeder *self, PyObject *args)
{
    /* Takes the state back from the Python path: give(held, base, waited). */
    PyObject *held;
    long long base, waited;
    if (!PyArg_ParseTuple(args, "O!LL", &PyBytes_Type, &held, &base, &waited))
        return NULL;
    Py_INCREF(held);
    Py_SETREF(self->held, held);
    self->base = base;
    self->waited = waited;
    self->active = 1;
    Py_RETURN_NONE;
}

static PyObject *json_open(PyObject *Py_UNUSED(module), PyObject *args)
{
    /* open_value(data, max_depth) -> bool: wp_json_open, for the differential tests. */
    Py_buffer view;
    Py_ssize_t max_depth;
    if (!PyArg_ParseTuple(args, "y*n", &view, &max_depth))
        return NULL;
    if (max_depth < 1) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_ValueError, "max_depth must be at least 1");
        return NULL;
    }
    size_t cap = (size_t)(max_depth < view.len ? max_depth : view.len) + 1;
    uint8_t *stack = PyMem_Malloc(cap);
    if (stack == NULL) {
        PyBuffer_Release(&view);
        return PyErr_NoMemory();
    }
    int open = wp_json_open(view.buf, (size_t)view.len, (size_t)max_depth, stack);
    PyMem_Free(stack);
    PyBuffer_Release(&view);
    return PyBool_FromLong(open);
}

static PyMethodDef feeder_methods[] = {
    {"feed", (PyCFunction)feeder_feed, METH_O, "The values data completes."},
    {"take", (PyCFunction)feeder_take, METH_NOARGS, "(held, base, waited); the Python path owns them."},
    {"give", (PyCFunction)feeder_give, METH_VARARGS, "give(held, base, waited): the state back."},
    {NULL, NULL, 0, NULL},
};

static PyMemberDef feeder_members[] = {
    {"base", T_LONGLONG, offsetof(Feeder, base), READONLY, "stream offset of the held bytes"},
    {"active", T_INT, offsetof(Feeder, active), READONLY, "the state is here"},
    {NULL, 0, 0, 0, NULL},
};

static PyTypeObject FeederType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "wireproto._jsonfeed.Feeder",
    .tp_basicsize = sizeof(Feeder),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "Whole-line feeds of a JSON stream decoded in C (see jsonstream.JSONStreamDecoder).",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)feeder_init,
    .tp_dealloc = (destructor)feeder_dealloc,
    .tp_traverse = (traverseproc)feeder_traverse,
    .tp_clear = (inquiry)feeder_clear,
    .tp_methods = feeder_methods,
    .tp_members = feeder_members,
};

static PyMethodDef module_methods[] = {
    {"open_value", json_open, METH_VARARGS, "open_value(data, max_depth): wp_json_open."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "wireproto._jsonfeed", "JSON stream feeds in C.", -1, module_methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__jsonfeed(void)
{
    if (PyType_Ready(&FeederType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    Py_INCREF(&FeederType);
    if (PyModule_AddObject(m, "Feeder", (PyObject *)&FeederType) < 0) {
        Py_DECREF(&FeederType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
