/* me-tANS core loops (entropy.md §7): 8-bit masses, states 256..511, groups of 4, escapes, LSB-first ranges
 * read back to front. Plain C so that one symbol costs a table lookup and one unaligned load; the Python
 * layer (codec/entropy/coder.py) builds the tables, checks dtypes and turns ValueError into project errors.
 *
 * Bit order of one group (decoder view, reading downwards from the end-of-range marker): the ANS
 * renormalisation bits of its positions in order, then the escape fields of its escaped positions in order.
 * The encoder writes the exact reverse, groups from last to first, passes from last to first, then the
 * final state(s) and the marker bit, and pads with zero bits to a whole 64-bit word.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define KIND_RES 0 /* residual / SOQ: escape = flag bit, then 3 or 16 bits, sign in the LSB */
#define KIND_Z 1   /* z: escape = 6 raw bits holding the symbol */
#define SKIP 0xFFFFu
#define ENT_ESC (1u << 13)
#define MAX_THREADS 64
#define MAX_PASSES 8
#define ERRLEN 200

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define BIG_ENDIAN_HOST 1
#endif

/* 64-bit little-endian load and store (ranges are LSB-first words) */
static inline uint64_t load_le64(const uint8_t *p)
{
    uint64_t v;
#ifdef BIG_ENDIAN_HOST
    v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
#else
    memcpy(&v, p, 8);
#endif
    return v;
}

static inline void store_le64(uint8_t *p, uint64_t v)
{
#ifdef BIG_ENDIAN_HOST
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
#else
    memcpy(p, &v, 8);
#endif
}

/* Decode entry: bits 0-8 next-state base, 9-12 bits to read, 13 escape, 16-31 value (int16); for an
 * escape entry of a residual row the value field holds the row's bound. */

typedef struct {
    Py_ssize_t nt;            /* number of tables */
    const uint32_t *dtab;     /* nt x 256 decode entries */
    const int32_t *delta;     /* nt x 256 per-symbol: (k0 << 9) - (f << k0); -1 = zero mass */
    const int32_t *off;       /* nt x 256 per-symbol: cumulative start - mass */
    const uint16_t *slot;     /* nt x 256: 256 + slots of each symbol, symbol-major */
    const uint16_t *bound;    /* nt: residual bound (KIND_RES) */
} Tables;

typedef struct {
    Py_ssize_t n;             /* positions in the pass */
    Py_ssize_t count;         /* decode the groups that hold positions < count */
    const uint16_t *tidx;     /* table per position, SKIP = not coded */
    int32_t *vals;            /* values (encoder input, decoder output) */
} Pass;

/* ---------------------------------------------------------------- writer */

typedef struct {
    uint8_t *buf;
    size_t nbytes;
    uint64_t acc;
    int n;
} Writer;

static inline void emit64(Writer *w, uint64_t v)
{
    store_le64(w->buf + w->nbytes, v);
    w->nbytes += 8;
}

/* append the k (<= 32) low bits of v at the next bit positions, LSB first */
static inline void put(Writer *w, uint64_t v, int k)
{
    w->acc |= v << w->n;
    w->n += k;
    if (w->n >= 64) {
        emit64(w, w->acc);
        w->n -= 64;
        w->acc = v >> (k - w->n);
    }
}

static inline Py_ssize_t thread_count(Py_ssize_t limit, int n, int t)
{
    return limit > t ? (limit - t + n - 1) / n : 0;
}

/* Encode group g of thread t (cnt positions in that thread): escape fields, then ANS steps, both in
 * reverse position order, so that the decoder meets ANS bits first and escapes second. */
static inline int enc_group(int kind, int n, int t, Py_ssize_t g, Py_ssize_t cnt, const Tables *T,
                            const Pass *P, Writer *w, uint32_t *st, char *err)
{
    int mend = cnt - 4 * g < 4 ? (int)(cnt - 4 * g) : 4;
    int sym[4], esc_bits[4];
    uint32_t esc_val[4];
    Py_ssize_t tab[4], pos[4];
    for (int m = 0; m < mend; m++) {
        Py_ssize_t p = t + (Py_ssize_t)n * (4 * g + m);
        uint32_t ti = P->tidx[p];
        pos[m] = p;
        tab[m] = -1;
        esc_bits[m] = 0;
        if (ti == SKIP)
            continue;
        if (ti >= T->nt) {
            snprintf(err, ERRLEN, "table index %u out of range at position %zd", ti, p);
            return -1;
        }
        tab[m] = ti;
        int32_t v = P->vals[p];
        if (kind == KIND_RES) {
            int32_t b = T->bound[ti];
            int64_t a = v < 0 ? -(int64_t)v : v;
            if (a < b) {
                sym[m] = (int)(2 * a) - (v < 0); /* 0, -1, +1, -2, ... -> 0, 1, 2, 3, ... */
            } else {
                int64_t e = a - b;
                if (e >= 32768) {
                    snprintf(err, ERRLEN, "residual %d at position %zd exceeds bound %d + 32767", v, p, b);
                    return -1;
                }
                uint32_t code = (uint32_t)(e << 1) | (v < 0);
                sym[m] = 2 * b - 1;
                if (e < 4) { /* flag 1 above 3 value bits */
                    esc_val[m] = code | 8u;
                    esc_bits[m] = 4;
                } else { /* flag 0 above 16 value bits */
                    esc_val[m] = code;
                    esc_bits[m] = 17;
                }
            }
        } else {
            if (v < 0 || v > 62) {
                snprintf(err, ERRLEN, "z symbol %d at position %zd outside 0..62", v, p);
                return -1;
            }
            if (T->delta[ti * 256 + v] < 0) {
                sym[m] = 63;
                esc_val[m] = (uint32_t)v;
                esc_bits[m] = 6;
            } else {
                sym[m] = v;
            }
        }
    }
    for (int m = mend - 1; m >= 0; m--)
        if (esc_bits[m])
            put(w, esc_val[m], esc_bits[m]);
    for (int m = mend - 1; m >= 0; m--) {
        if (tab[m] < 0)
            continue;
        int sv = n == 1 ? (int)(pos[m] & 1) : 0;
        uint32_t x = st[sv];
        Py_ssize_t si = tab[m] * 256 + sym[m];
        int k = (int)((x + (uint32_t)T->delta[si]) >> 9);
        put(w, x & ((1u << k) - 1), k);
        st[sv] = T->slot[tab[m] * 256 + T->off[si] + (x >> k)];
    }
    return 0;
}

/* All threads advance group by group (threads of one group index cover 4n consecutive positions), so
 * memory is walked in order whatever n is. */
static int enc_all(int kind, int n, const Tables *T, const Pass *passes, int npass, Writer *w, char *err)
{
    uint32_t st[MAX_THREADS][2];
    for (int t = 0; t < n; t++)
        st[t][0] = st[t][1] = 256;
    for (int pi = npass - 1; pi >= 0; pi--) {
        const Pass *P = &passes[pi];
        Py_ssize_t cnt[MAX_THREADS];
        for (int t = 0; t < n; t++)
            cnt[t] = thread_count(P->n, n, t);
        for (Py_ssize_t g = (cnt[0] + 3) / 4 - 1; g >= 0; g--)
            for (int t = 0; t < n; t++)
                if (4 * g < cnt[t] && enc_group(kind, n, t, g, cnt[t], T, P, &w[t], st[t], err))
                    return -1;
    }
    for (int t = 0; t < n; t++) {
        if (n == 1)
            put(&w[t], st[t][1] - 256, 8);
        put(&w[t], st[t][0] - 256, 8);
        put(&w[t], 1, 1);
        if (w[t].n)
            emit64(&w[t], w[t].acc);
    }
    return 0;
}

/* ---------------------------------------------------------------- reader */

typedef struct {
    const uint8_t *buf;       /* the range, followed by at least 8 zero bytes */
    int64_t q;                /* bits below q are unread */
} Reader;

static inline int get(Reader *r, int k, uint32_t *out)
{
    int64_t lo = r->q - k;
    if (lo < 0)
        return -1;
    uint64_t word = load_le64(r->buf + (lo >> 3));
    *out = (uint32_t)(word >> (lo & 7)) & ((1u << k) - 1);
    r->q = lo;
    return 0;
}

/* Decode group g of thread t: ANS steps, then the escape fields, in position order. */
static inline int dec_group(int kind, int n, int t, Py_ssize_t g, Py_ssize_t cnt, const Tables *T,
                            const Pass *P, Reader *r, uint32_t *st, char *err)
{
    int mend = cnt - 4 * g < 4 ? (int)(cnt - 4 * g) : 4;
    uint32_t ent[4], v;
    Py_ssize_t pos[4];
    for (int m = 0; m < mend; m++) {
        Py_ssize_t p = t + (Py_ssize_t)n * (4 * g + m);
        uint32_t ti = P->tidx[p];
        pos[m] = p;
        ent[m] = 0;
        if (ti == SKIP) {
            P->vals[p] = 0;
            continue;
        }
        if (ti >= T->nt) {
            snprintf(err, ERRLEN, "table index %u out of range at position %zd", ti, p);
            return -1;
        }
        int sv = n == 1 ? (int)(p & 1) : 0;
        uint32_t e = T->dtab[ti * 256 + st[sv] - 256];
        if (get(r, (e >> 9) & 15, &v))
            goto trunc;
        st[sv] = (e & 511) | v;
        ent[m] = e;
        P->vals[p] = (int16_t)(e >> 16);
    }
    for (int m = 0; m < mend; m++) {
        if (!(ent[m] & ENT_ESC))
            continue;
        Py_ssize_t p = pos[m];
        if (kind == KIND_RES) {
            uint32_t flag;
            if (get(r, 1, &flag) || get(r, flag ? 3 : 16, &v))
                goto trunc;
            int32_t mag = (int32_t)(v >> 1) + (int16_t)(ent[m] >> 16);
            P->vals[p] = (v & 1) ? -mag : mag;
        } else {
            if (get(r, 6, &v))
                goto trunc;
            if (v == 63) {
                snprintf(err, ERRLEN, "thread %d: escaped z symbol 63 (invalid) at position %zd, bit %lld", t, p,
                         (long long)r->q);
                return -1;
            }
            P->vals[p] = (int32_t)v;
        }
    }
    return 0;
trunc:
    snprintf(err, ERRLEN, "thread %d: range exhausted in the group at position %zd (bit %lld): payload "
             "truncated or corrupt", t, pos[0], (long long)r->q);
    return -1;
}

static int dec_all(int kind, int n, const Tables *T, const Pass *passes, int npass, Reader *r, int64_t *cut,
                   uint32_t (*final)[2], char *err)
{
    uint32_t st[MAX_THREADS][2], v;
    for (int t = 0; t < n; t++) {
        st[t][0] = st[t][1] = 256;
        for (int i = 0; i < (n == 1 ? 2 : 1); i++) {
            if (get(&r[t], 8, &v)) {
                snprintf(err, ERRLEN, "thread %d: range too short for the initial state(s) below the marker", t);
                return -1;
            }
            st[t][i] = 256 + v;
        }
    }
    for (int pi = 0; pi < npass; pi++) {
        const Pass *P = &passes[pi];
        Py_ssize_t limit = P->count < P->n ? P->count : P->n;
        Py_ssize_t cnt[MAX_THREADS];
        for (int t = 0; t < n; t++) { /* a cut group is decoded whole, so a prefix reads like a full decode */
            Py_ssize_t all = thread_count(P->n, n, t), want = (thread_count(limit, n, t) + 3) & ~(Py_ssize_t)3;
            cnt[t] = want < all ? want : all;
        }
        if (n == 1) { /* the common case, kept free of the thread loop */
            for (Py_ssize_t g = 0; 4 * g < cnt[0]; g++)
                if (dec_group(kind, 1, 0, g, cnt[0], T, P, &r[0], st[0], err))
                    return -1;
            continue;
        }
        for (Py_ssize_t g = 0; 4 * g < cnt[0]; g++)
            for (int t = 0; t < n; t++)
                if (4 * g < cnt[t] && dec_group(kind, n, t, g, cnt[t], T, P, &r[t], st[t], err))
                    return -1;
    }
    for (int t = 0; t < n; t++) {
        cut[t] = r[t].q;
        final[t][0] = st[t][0];
        final[t][1] = n == 1 ? st[t][1] : 0;
    }
    return 0;
}

/* One decoding pass that records, for each count in `counts` (ascending positions), every thread's read
 * position after the groups a prefix decode of that count needs: the cut points of many channel prefixes
 * (entropy.md §9 row 3) for the price of one full decode. Threads are independent, so each runs alone. */
static int cut_all(int n, const Tables *T, const Pass *P, Reader *r, const int64_t *counts, Py_ssize_t nc,
                   int64_t *out, char *err)
{
    for (int t = 0; t < n; t++) {
        uint32_t st[2] = {256, 256}, v;
        for (int i = 0; i < (n == 1 ? 2 : 1); i++) {
            if (get(&r[t], 8, &v)) {
                snprintf(err, ERRLEN, "thread %d: range too short for the initial state(s) below the marker", t);
                return -1;
            }
            st[i] = 256 + v;
        }
        Py_ssize_t all = thread_count(P->n, n, t), g = 0;
        for (Py_ssize_t ci = 0; ci < nc; ci++) {
            Py_ssize_t limit = counts[ci] < P->n ? (Py_ssize_t)counts[ci] : P->n;
            Py_ssize_t want = (thread_count(limit, n, t) + 3) & ~(Py_ssize_t)3;
            for (; 4 * g < want && 4 * g < all; g++)
                if (dec_group(KIND_RES, n, t, g, all, T, P, &r[t], st, err))
                    return -1;
            out[ci * n + t] = r[t].q;
        }
    }
    return 0;
}

/* ---------------------------------------------------------------- Python glue */

typedef struct {
    Py_buffer views[16];
    int nviews;
} Views;

static void release_views(Views *V)
{
    for (int i = 0; i < V->nviews; i++)
        PyBuffer_Release(&V->views[i]);
    V->nviews = 0;
}

static const void *view(Views *V, PyObject *obj, Py_ssize_t itemsize, Py_ssize_t items, int writable,
                        const char *what)
{
    if (V->nviews >= 16) {
        PyErr_SetString(PyExc_RuntimeError, "too many buffers");
        return NULL;
    }
    Py_buffer *b = &V->views[V->nviews];
    if (PyObject_GetBuffer(obj, b, writable ? PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS : PyBUF_C_CONTIGUOUS) < 0)
        return NULL;
    V->nviews++;
    if (items >= 0 && b->len != itemsize * items) {
        PyErr_Format(PyExc_ValueError, "%s: expected %zd bytes, got %zd", what, itemsize * items, b->len);
        return NULL;
    }
    if (b->len % itemsize) {
        PyErr_Format(PyExc_ValueError, "%s: length %zd is not a multiple of %zd", what, b->len, itemsize);
        return NULL;
    }
    return b->buf;
}

static int parse_tables(Views *V, PyObject *tup, Tables *T)
{
    PyObject *d, *de, *of, *sl, *bo;
    if (!PyArg_ParseTuple(tup, "OOOOO", &d, &de, &of, &sl, &bo))
        return -1;
    if (!(T->bound = view(V, bo, 2, -1, 0, "bound")))
        return -1;
    T->nt = V->views[V->nviews - 1].len / 2;
    if (!(T->dtab = view(V, d, 4, T->nt * 256, 0, "decode table")) ||
        !(T->delta = view(V, de, 4, T->nt * 256, 0, "encode delta")) ||
        !(T->off = view(V, of, 4, T->nt * 256, 0, "encode offset")) ||
        !(T->slot = view(V, sl, 2, T->nt * 256, 0, "encode slots")))
        return -1;
    return 0;
}

/* passes: sequence of (tidx uint16, vals int32, count) */
static int parse_passes(Views *V, PyObject *seq, Pass *passes, int writable)
{
    Py_ssize_t np = PySequence_Size(seq);
    if (np < 0)
        return -1;
    if (np > MAX_PASSES) {
        PyErr_SetString(PyExc_ValueError, "too many passes");
        return -1;
    }
    for (Py_ssize_t i = 0; i < np; i++) {
        PyObject *item = PySequence_GetItem(seq, i);
        if (!item)
            return -1;
        PyObject *ti, *va;
        Py_ssize_t count;
        int ok = PyArg_ParseTuple(item, "OOn", &ti, &va, &count);
        Py_DECREF(item);
        if (!ok)
            return -1;
        Pass *P = &passes[i];
        if (!(P->tidx = view(V, ti, 2, -1, 0, "table indices")))
            return -1;
        P->n = V->views[V->nviews - 1].len / 2;
        if (!(P->vals = (int32_t *)view(V, va, 4, P->n, writable, "values")))
            return -1;
        P->count = count < 0 ? 0 : count;
    }
    return (int)np;
}

static PyObject *py_encode(PyObject *self, PyObject *args)
{
    int kind, n;
    PyObject *tables, *pass_seq;
    if (!PyArg_ParseTuple(args, "iiOO", &kind, &n, &tables, &pass_seq))
        return NULL;
    if (n < 1 || n > MAX_THREADS || (kind != KIND_RES && kind != KIND_Z)) {
        PyErr_SetString(PyExc_ValueError, "bad thread count or kind");
        return NULL;
    }
    Views V = {.nviews = 0};
    Tables T;
    Pass passes[MAX_PASSES];
    PyObject *result = NULL;
    Writer w[MAX_THREADS];
    memset(w, 0, sizeof(w));
    int np;
    if (parse_tables(&V, tables, &T) < 0 || (np = parse_passes(&V, pass_seq, passes, 0)) < 0)
        goto done;
    for (int t = 0; t < n; t++) {
        Py_ssize_t cnt = 0;
        for (int i = 0; i < np; i++)
            cnt += thread_count(passes[i].n, n, t);
        size_t cap = ((size_t)cnt * 25 + 17 + 63) / 64 * 8 + 16;
        if (!(w[t].buf = malloc(cap))) {
            PyErr_NoMemory();
            goto done;
        }
    }
    char err[ERRLEN] = "";
    int rc = 0;
    Py_BEGIN_ALLOW_THREADS
    rc = enc_all(kind, n, &T, passes, np, w, err);
    Py_END_ALLOW_THREADS
    if (rc) {
        PyErr_SetString(PyExc_ValueError, err);
        goto done;
    }
    if (!(result = PyList_New(n)))
        goto done;
    for (int t = 0; t < n; t++) {
        PyObject *b = PyBytes_FromStringAndSize((const char *)w[t].buf, (Py_ssize_t)w[t].nbytes);
        if (!b) {
            Py_CLEAR(result);
            goto done;
        }
        PyList_SET_ITEM(result, t, b);
    }
done:
    for (int t = 0; t < n && t < MAX_THREADS; t++)
        free(w[t].buf);
    release_views(&V);
    return result;
}

/* Copy each thread range into a buffer followed by 8 zero bytes and point its reader at the end-of-range
 * marker (the highest set bit). Returns 0, -1 with a Python error set, or -2 with `err` filled. */
static int load_ranges(PyObject *ranges, int n, uint8_t **bufs, Reader *readers, char *err)
{
    for (int t = 0; t < n; t++) {
        PyObject *item = PySequence_GetItem(ranges, t);
        if (!item)
            return -1;
        Py_buffer b;
        int rc = PyObject_GetBuffer(item, &b, PyBUF_C_CONTIGUOUS);
        Py_DECREF(item);
        if (rc < 0)
            return -1;
        int64_t len = b.len, i = len - 1;
        bufs[t] = calloc((size_t)len + 8, 1);
        if (!bufs[t]) {
            PyBuffer_Release(&b);
            PyErr_NoMemory();
            return -1;
        }
        memcpy(bufs[t], b.buf, (size_t)len);
        PyBuffer_Release(&b);
        while (i >= 0 && bufs[t][i] == 0)
            i--;
        if (i < 0) {
            snprintf(err, ERRLEN, "thread %d: no end-of-range marker (range of %lld bytes holds no set bit)", t,
                     (long long)len);
            return -2;
        }
        readers[t].buf = bufs[t];
        int top = 7;
        while (!(bufs[t][i] >> top))
            top--;
        readers[t].q = i * 8 + top; /* the end-of-range marker */
    }
    return 0;
}

static PyObject *py_decode(PyObject *self, PyObject *args)
{
    int kind, n;
    PyObject *tables, *pass_seq, *ranges;
    if (!PyArg_ParseTuple(args, "iiOOO", &kind, &n, &tables, &ranges, &pass_seq))
        return NULL;
    if (n < 1 || n > MAX_THREADS || (kind != KIND_RES && kind != KIND_Z)) {
        PyErr_SetString(PyExc_ValueError, "bad thread count or kind");
        return NULL;
    }
    if (PySequence_Size(ranges) != n) {
        PyErr_Format(PyExc_ValueError, "expected %d thread ranges", n);
        return NULL;
    }
    Views V = {.nviews = 0};
    Tables T;
    Pass passes[MAX_PASSES];
    PyObject *result = NULL;
    uint8_t *bufs[MAX_THREADS] = {0};
    int np;
    if (parse_tables(&V, tables, &T) < 0 || (np = parse_passes(&V, pass_seq, passes, 1)) < 0)
        goto done;
    char err[ERRLEN] = "";
    int64_t cut[MAX_THREADS];
    uint32_t fin[MAX_THREADS][2];
    Reader readers[MAX_THREADS];
    int rc = load_ranges(ranges, n, bufs, readers, err);
    if (rc == -1)
        goto done;
    Py_BEGIN_ALLOW_THREADS
    if (rc == 0)
        rc = dec_all(kind, n, &T, passes, np, readers, cut, fin, err);
    Py_END_ALLOW_THREADS
    if (rc) {
        PyErr_SetString(PyExc_ValueError, err);
        goto done;
    }
    PyObject *cuts = PyList_New(n), *states = PyList_New(n);
    if (!cuts || !states) {
        Py_XDECREF(cuts);
        Py_XDECREF(states);
        goto done;
    }
    for (int t = 0; t < n; t++) {
        PyList_SET_ITEM(cuts, t, PyLong_FromLongLong(cut[t]));
        PyList_SET_ITEM(states, t, n == 1 ? Py_BuildValue("(II)", fin[t][0], fin[t][1])
                                          : Py_BuildValue("(I)", fin[t][0]));
    }
    result = Py_BuildValue("(NN)", cuts, states);
done:
    for (int t = 0; t < n; t++)
        free(bufs[t]);
    release_views(&V);
    return result;
}


/* cut_points(n_threads, tables, ranges, (tidx u16, scratch i32, 0), counts i64 ascending) -> i64 buffer of
 * len(counts) x n bit positions */
static PyObject *py_cut_points(PyObject *self, PyObject *args)
{
    int n;
    PyObject *tables, *ranges, *pass, *counts_obj;
    if (!PyArg_ParseTuple(args, "iOOOO", &n, &tables, &ranges, &pass, &counts_obj))
        return NULL;
    if (n < 1 || n > MAX_THREADS || PySequence_Size(ranges) != n) {
        PyErr_Format(PyExc_ValueError, "bad thread count or not %d thread ranges", n);
        return NULL;
    }
    Views V = {.nviews = 0};
    Tables T;
    Pass P;
    PyObject *result = NULL, *one = NULL;
    uint8_t *bufs[MAX_THREADS] = {0};
    const int64_t *counts;
    if (parse_tables(&V, tables, &T) < 0 || !(one = PyTuple_Pack(1, pass)) || parse_passes(&V, one, &P, 1) < 0 ||
        !(counts = view(&V, counts_obj, 8, -1, 0, "counts")))
        goto done;
    Py_ssize_t nc = V.views[V.nviews - 1].len / 8;
    for (Py_ssize_t i = 1; i < nc; i++)
        if (counts[i] < counts[i - 1]) {
            PyErr_SetString(PyExc_ValueError, "counts must be ascending");
            goto done;
        }
    if (!(result = PyBytes_FromStringAndSize(NULL, nc * n * 8)))
        goto done;
    char err[ERRLEN] = "";
    Reader readers[MAX_THREADS];
    int rc = load_ranges(ranges, n, bufs, readers, err);
    if (rc == -1) {
        Py_CLEAR(result);
        goto done;
    }
    int64_t *out = (int64_t *)PyBytes_AS_STRING(result);
    Py_BEGIN_ALLOW_THREADS
    if (rc == 0)
        rc = cut_all(n, &T, &P, readers, counts, nc, out, err);
    Py_END_ALLOW_THREADS
    if (rc) {
        PyErr_SetString(PyExc_ValueError, err);
        Py_CLEAR(result);
    }
done:
    Py_XDECREF(one);
    for (int t = 0; t < n; t++)
        free(bufs[t]);
    release_views(&V);
    return result;
}

static PyMethodDef methods[] = {
    {"encode", py_encode, METH_VARARGS,
     "encode(kind, n_threads, tables, passes) -> list[bytes]; passes = [(tidx u16, values i32, count)]"},
    {"decode", py_decode, METH_VARARGS,
     "decode(kind, n_threads, tables, ranges, passes) -> (cut_bits, final_states); fills the values buffers"},
    {"cut_points", py_cut_points, METH_VARARGS,
     "cut_points(n_threads, tables, ranges, (tidx u16, scratch i32, 0), counts i64) -> bytes (i64 counts x n)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_metans", "me-tANS core loops (entropy.md §7)", -1,
                                    methods};

PyMODINIT_FUNC PyInit__metans(void)
{
    PyObject *m = PyModule_Create(&module);
    if (m && (PyModule_AddIntConstant(m, "KIND_RES", KIND_RES) || PyModule_AddIntConstant(m, "KIND_Z", KIND_Z) ||
              PyModule_AddIntConstant(m, "SKIP", SKIP) || PyModule_AddIntConstant(m, "MAX_THREADS", MAX_THREADS))) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
