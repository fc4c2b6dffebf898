/*
 * Convolutions and matrix products for crevnet's `native` backend: im2col / col2im around the
 * platform's CBLAS sgemm (OpenBLAS on Linux, Accelerate on macOS). The tensors stay where the wasm
 * backend keeps them; JavaScript passes Float32Array views of its heap and of the outputs it made
 * (src/runtime/kernels/native.ts), so nothing is copied in or out.
 *
 * Layouts are tfjs's: NHWC activations, [kh, kw, cin, cout] filters, row-major matrices. A conv is a
 * GEMM of the im2col matrix [rows = batch*outH*outW, K = kh*kw*cin] with the filter [K, cout]; the
 * im2col matrix is built a chunk of rows at a time in a per-thread scratch buffer.
 */
#define NAPI_VERSION 8
#include <node_api.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <math.h>
#ifdef CREVNET_ACCELERATE
#include <Accelerate/Accelerate.h>
#else
#include <cblas.h>
#endif

/*
 * im2col rows per chunk: a chunk holds at most this many floats (512 KiB), so that it is still in cache
 * when sgemm reads it (16 MiB chunks made a one-thread `small` rollout 1.3-1.6x slower; see
 * docs/performance.md, "Native kernels")
 */
#ifndef CHUNK_FLOATS
#define CHUNK_FLOATS (1L << 17)
#endif

typedef struct {
  float *buf;
  size_t cap;
} Scratch;

/* the per-thread (per-env: main thread or worker) scratch buffer, grown on demand */
static float *scratch(napi_env env, size_t n) {
  Scratch *s = NULL;
  napi_get_instance_data(env, (void **)&s);
  if (!s) return NULL;
  if (s->cap < n) {
    free(s->buf);
    s->buf = (float *)malloc(n * sizeof(float));
    s->cap = s->buf ? n : 0;
  }
  return s->buf;
}

static void free_scratch(napi_env env, void *data, void *hint) {
  Scratch *s = (Scratch *)data;
  free(s->buf);
  free(s);
}

static napi_value fail(napi_env env, const char *msg) {
  napi_throw_error(env, "ERR_CREVNET_NATIVE", msg);
  return NULL;
}

/* a Float32Array argument; null/undefined gives NULL (allowed only where optional) */
static bool f32(napi_env env, napi_value v, float **p, size_t *n, bool optional) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok) return false;
  if (t == napi_null || t == napi_undefined) {
    *p = NULL;
    *n = 0;
    return optional;
  }
  bool is = false;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return false;
  napi_typedarray_type ty;
  size_t len, off;
  void *data;
  napi_value ab;
  if (napi_get_typedarray_info(env, v, &ty, &len, &data, &ab, &off) != napi_ok || ty != napi_float32_array) return false;
  if (len > 0 && data == NULL) return false; /* detached */
  *p = (float *)data;
  *n = len;
  return true;
}

static bool i32(napi_env env, napi_value v, int32_t **p, size_t *n) {
  bool is = false;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return false;
  napi_typedarray_type ty;
  size_t len, off;
  void *data;
  napi_value ab;
  if (napi_get_typedarray_info(env, v, &ty, &len, &data, &ab, &off) != napi_ok || ty != napi_int32_array) return false;
  *p = (int32_t *)data;
  *n = len;
  return true;
}

static bool num(napi_env env, napi_value v, double *out) {
  return napi_get_value_double(env, v, out) == napi_ok;
}

/* ---- convolution geometry ---- */

typedef struct {
  long N, H, W, C, KH, KW, CO, SH, SW, DH, DW, PT, PL, OH, OW;
} Conv;

static bool read_conv(const int32_t *d, size_t n, Conv *c) {
  if (n != 15) return false;
  c->N = d[0]; c->H = d[1]; c->W = d[2]; c->C = d[3];
  c->KH = d[4]; c->KW = d[5]; c->CO = d[6];
  c->SH = d[7]; c->SW = d[8]; c->DH = d[9]; c->DW = d[10];
  c->PT = d[11]; c->PL = d[12]; c->OH = d[13]; c->OW = d[14];
  for (int i = 0; i < 15; i++) if (d[i] < 0) return false;
  return c->SH > 0 && c->SW > 0 && c->DH > 0 && c->DW > 0;
}

static long conv_rows(const Conv *c) { return c->N * c->OH * c->OW; }
static long conv_k(const Conv *c) { return c->KH * c->KW * c->C; }

/* a 1x1 conv with stride 1 and no padding reads x itself as the im2col matrix */
static bool pointwise(const Conv *c) {
  return c->KH == 1 && c->KW == 1 && c->SH == 1 && c->SW == 1 && c->PT == 0 && c->PL == 0 && c->OH == c->H && c->OW == c->W;
}

static long chunk_rows(const Conv *c) {
  long k = conv_k(c), rows = CHUNK_FLOATS / (k > 0 ? k : 1);
  if (rows < 1) rows = 1;
  long m = conv_rows(c);
  return rows < m ? rows : m;
}

/* rows [m0, m0+rows) of the im2col matrix of x */
static void im2col(const Conv *c, const float *x, long m0, long rows, float *col) {
  const size_t run = (size_t)c->C * sizeof(float);
  for (long r = 0; r < rows; r++) {
    long m = m0 + r, ow = m % c->OW, t = m / c->OW, oh = t % c->OH, n = t / c->OH;
    float *dst = col + r * conv_k(c);
    const long iw0 = ow * c->SW - c->PL;
    /* with dilation 1 a filter row inside the image is one contiguous run of KW*C floats */
    const bool whole = c->DW == 1 && iw0 >= 0 && iw0 + c->KW <= c->W;
    for (long kh = 0; kh < c->KH; kh++) {
      long ih = oh * c->SH - c->PT + kh * c->DH;
      if (whole && ih >= 0 && ih < c->H) {
        memcpy(dst, x + ((n * c->H + ih) * c->W + iw0) * c->C, (size_t)c->KW * run);
        dst += c->KW * c->C;
        continue;
      }
      for (long kw = 0; kw < c->KW; kw++, dst += c->C) {
        long iw = ow * c->SW - c->PL + kw * c->DW;
        if (ih < 0 || ih >= c->H || iw < 0 || iw >= c->W) memset(dst, 0, run);
        else memcpy(dst, x + ((n * c->H + ih) * c->W + iw) * c->C, run);
      }
    }
  }
}

/* dx += the rows [m0, m0+rows) of an im2col-shaped matrix, each added back where im2col took it */
static void col2im_add(const Conv *c, const float *col, long m0, long rows, float *dx) {
  for (long r = 0; r < rows; r++) {
    long m = m0 + r, ow = m % c->OW, t = m / c->OW, oh = t % c->OH, n = t / c->OH;
    const float *src = col + r * conv_k(c);
    for (long kh = 0; kh < c->KH; kh++) {
      long ih = oh * c->SH - c->PT + kh * c->DH;
      for (long kw = 0; kw < c->KW; kw++, src += c->C) {
        long iw = ow * c->SW - c->PL + kw * c->DW;
        if (ih < 0 || ih >= c->H || iw < 0 || iw >= c->W) continue;
        float *dst = dx + ((n * c->H + ih) * c->W + iw) * c->C;
        for (long i = 0; i < c->C; i++) dst[i] += src[i];
      }
    }
  }
}

/* ---- bias and activation, applied to a [rows, cols] output ---- */

enum { ACT_LINEAR = 0, ACT_RELU = 1, ACT_RELU6 = 2, ACT_ELU = 3, ACT_LEAKY = 4, ACT_SIGMOID = 5 };

static void epilogue(float *out, long rows, long cols, const float *bias, size_t nbias, int act, float alpha) {
  if (!bias && act == ACT_LINEAR) return;
  for (long r = 0; r < rows; r++) {
    float *o = out + r * cols;
    if (bias) {
      if (nbias == 1) for (long j = 0; j < cols; j++) o[j] += bias[0];
      else for (long j = 0; j < cols; j++) o[j] += bias[j];
    }
    switch (act) {
      case ACT_RELU: for (long j = 0; j < cols; j++) o[j] = o[j] < 0.f ? 0.f : o[j]; break;
      case ACT_RELU6: for (long j = 0; j < cols; j++) o[j] = o[j] < 0.f ? 0.f : (o[j] > 6.f ? 6.f : o[j]); break;
      case ACT_ELU: for (long j = 0; j < cols; j++) o[j] = o[j] < 0.f ? expm1f(o[j]) : o[j]; break;
      case ACT_LEAKY: for (long j = 0; j < cols; j++) o[j] = o[j] < 0.f ? alpha * o[j] : o[j]; break;
      case ACT_SIGMOID: for (long j = 0; j < cols; j++) o[j] = 1.f / (1.f + expf(-o[j])); break;
      default: break;
    }
  }
}

/* ---- exported functions ---- */

/* the three tensors of a conv call: its input x, its filter w and an output-shaped y, checked against the geometry */
typedef struct {
  float *x, *w, *y;
  Conv c;
  long M, K;
} ConvArgs;

static napi_value conv_fail(napi_env env, const char *name, const char *why) {
  char msg[160];
  snprintf(msg, sizeof msg, "crevnet_native.%s: %s", name, why);
  return fail(env, msg);
}

/* reads argv[ix], argv[iw], argv[iy] and the dims at argv[id]; NULL when fine, else the reason */
static const char *conv_args(napi_env env, napi_value *argv, int ix, int iw, int iy, int id, ConvArgs *a) {
  size_t nx, nw, ny, nd;
  int32_t *d;
  if (!f32(env, argv[ix], &a->x, &nx, false) || !f32(env, argv[iw], &a->w, &nw, false) || !f32(env, argv[iy], &a->y, &ny, false) ||
      !i32(env, argv[id], &d, &nd) || !read_conv(d, nd, &a->c))
    return "bad arguments";
  a->M = conv_rows(&a->c);
  a->K = conv_k(&a->c);
  if ((long)nx != a->c.N * a->c.H * a->c.W * a->c.C || (long)nw != a->K * a->c.CO || (long)ny != a->M * a->c.CO)
    return "sizes do not match the geometry";
  return NULL;
}

#define ARGS(n)                                                              \
  size_t argc = n;                                                           \
  napi_value argv[n];                                                        \
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < n) \
    return fail(env, "crevnet_native: wrong number of arguments");

/* conv2d(x, filter, out, bias|null, dims Int32Array(15), activation, alpha) */
static napi_value conv2d(napi_env env, napi_callback_info info) {
  ARGS(7);
  ConvArgs a;
  float *bias;
  size_t nbias;
  double act, alpha;
  const char *why = conv_args(env, argv, 0, 1, 2, 4, &a);
  if (!why && (!f32(env, argv[3], &bias, &nbias, true) || !num(env, argv[5], &act) || !num(env, argv[6], &alpha))) why = "bad arguments";
  if (!why && bias && nbias != 1 && (long)nbias != a.c.CO) why = "sizes do not match the geometry";
  if (why) return conv_fail(env, "conv2d", why);
  const Conv c = a.c;
  const long M = a.M, K = a.K;
  const float *x = a.x, *w = a.w;
  float *out = a.y;
  if (M == 0 || c.CO == 0) return NULL;
  if (K == 0) {
    memset(out, 0, (size_t)M * c.CO * sizeof(float));
  } else if (pointwise(&c)) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, c.CO, K, 1.f, x, K, w, c.CO, 0.f, out, c.CO);
  } else {
    long step = chunk_rows(&c);
    float *col = scratch(env, (size_t)step * K);
    if (!col) return conv_fail(env, "conv2d", "out of memory");
    for (long m0 = 0; m0 < M; m0 += step) {
      long rows = M - m0 < step ? M - m0 : step;
      im2col(&c, x, m0, rows, col);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, c.CO, K, 1.f, col, K, w, c.CO, 0.f, out + m0 * c.CO, c.CO);
    }
  }
  epilogue(out, M, c.CO, bias, nbias, (int)act, (float)alpha);
  return NULL;
}

/* conv2dBackpropInput(dy, filter, dx, dims): dims describe the forward conv whose input is dx */
static napi_value conv2d_backprop_input(napi_env env, napi_callback_info info) {
  ARGS(4);
  ConvArgs a;
  const char *why = conv_args(env, argv, 2, 1, 0, 3, &a);
  if (why) return conv_fail(env, "conv2dBackpropInput", why);
  const Conv c = a.c;
  const long M = a.M, K = a.K;
  const float *dy = a.y, *w = a.w;
  float *dx = a.x;
  const size_t ndx = (size_t)(c.N * c.H * c.W * c.C);
  if (ndx == 0) return NULL;
  if (pointwise(&c) && c.CO > 0) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, c.C, c.CO, 1.f, dy, c.CO, w, c.CO, 0.f, dx, c.C);
    return NULL;
  }
  memset(dx, 0, ndx * sizeof(float));
  if (M == 0 || K == 0 || c.CO == 0) return NULL;
  long step = chunk_rows(&c);
  float *col = scratch(env, (size_t)step * K);
  if (!col) return conv_fail(env, "conv2dBackpropInput", "out of memory");
  for (long m0 = 0; m0 < M; m0 += step) {
    long rows = M - m0 < step ? M - m0 : step;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, K, c.CO, 1.f, dy + m0 * c.CO, c.CO, w, c.CO, 0.f, col, K);
    col2im_add(&c, col, m0, rows, dx);
  }
  return NULL;
}

/* conv2dBackpropFilter(x, dy, dw, dims) */
static napi_value conv2d_backprop_filter(napi_env env, napi_callback_info info) {
  ARGS(4);
  ConvArgs a;
  const char *why = conv_args(env, argv, 0, 2, 1, 3, &a);
  if (why) return conv_fail(env, "conv2dBackpropFilter", why);
  const Conv c = a.c;
  const long M = a.M, K = a.K;
  const float *x = a.x, *dy = a.y;
  float *dw = a.w;
  const size_t ndw = (size_t)(K * c.CO);
  if (ndw == 0) return NULL;
  if (M == 0) {
    memset(dw, 0, ndw * sizeof(float));
    return NULL;
  }
  if (pointwise(&c)) {
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, c.CO, M, 1.f, x, K, dy, c.CO, 0.f, dw, c.CO);
    return NULL;
  }
  long step = chunk_rows(&c);
  float *col = scratch(env, (size_t)step * K);
  if (!col) return conv_fail(env, "conv2dBackpropFilter", "out of memory");
  for (long m0 = 0; m0 < M; m0 += step) {
    long rows = M - m0 < step ? M - m0 : step;
    im2col(&c, x, m0, rows, col);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, K, c.CO, rows, 1.f, col, K, dy + m0 * c.CO, c.CO, m0 == 0 ? 0.f : 1.f, dw, c.CO);
  }
  return NULL;
}

/*
 * matmul(a, b, out, bias|null, dims Int32Array [batch, batchA, batchB, M, N, K, transposeA, transposeB], activation, alpha)
 * batchA and batchB are each 1 (broadcast) or batch.
 */
static napi_value matmul(napi_env env, napi_callback_info info) {
  ARGS(7);
  float *a, *b, *out, *bias;
  size_t na, nb, nout, nbias, nd;
  int32_t *d;
  double act, alpha;
  if (!f32(env, argv[0], &a, &na, false) || !f32(env, argv[1], &b, &nb, false) || !f32(env, argv[2], &out, &nout, false) ||
      !f32(env, argv[3], &bias, &nbias, true) || !i32(env, argv[4], &d, &nd) || nd != 8 || !num(env, argv[5], &act) ||
      !num(env, argv[6], &alpha))
    return fail(env, "crevnet_native.matmul: bad arguments");
  long batch = d[0], ba = d[1], bb = d[2], M = d[3], N = d[4], K = d[5];
  bool ta = d[6] != 0, tb = d[7] != 0;
  if (batch < 0 || M < 0 || N < 0 || K < 0 || (ba != 1 && ba != batch) || (bb != 1 && bb != batch) || (long)na != ba * M * K ||
      (long)nb != bb * K * N || (long)nout != batch * M * N || (bias && nbias != 1 && (long)nbias != N))
    return fail(env, "crevnet_native.matmul: sizes do not match");
  if (nout == 0) return NULL;
  if (K == 0) {
    memset(out, 0, nout * sizeof(float));
  } else if (!ta && bb == 1 && ba == batch) {
    /* a batch of rows times one matrix is one GEMM over all rows */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, tb ? CblasTrans : CblasNoTrans, batch * M, N, K, 1.f, a, K, b, tb ? K : N, 0.f, out, N);
  } else {
    for (long i = 0; i < batch; i++) {
      const float *ai = a + (ba == 1 ? 0 : i) * M * K, *bi = b + (bb == 1 ? 0 : i) * K * N;
      cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N, K, 1.f, ai, ta ? M : K, bi,
                  tb ? K : N, 0.f, out + i * M * N, N);
    }
  }
  epilogue(out, batch * M, N, bias, nbias, (int)act, (float)alpha);
  return NULL;
}


/*
 * transpose(x, out, shape Int32Array, perm Int32Array): out = x with its axes in the order perm (rank <= 8).
 * Size-1 axes are dropped and input axes that stay neighbours are merged first, so the copy runs over as few
 * axes as possible; when the innermost axis stays innermost each step is one memcpy.
 */
#define MAX_RANK 8
static napi_value transpose(napi_env env, napi_callback_info info) {
  ARGS(4);
  float *x, *out;
  size_t nx, nout, ns, np;
  int32_t *shape, *perm;
  if (!f32(env, argv[0], &x, &nx, false) || !f32(env, argv[1], &out, &nout, false) || !i32(env, argv[2], &shape, &ns) ||
      !i32(env, argv[3], &perm, &np) || ns != np || ns > MAX_RANK)
    return fail(env, "crevnet_native.transpose: bad arguments");
  int rank = (int)ns, seen[MAX_RANK] = {0};
  long total = 1;
  for (int i = 0; i < rank; i++) {
    if (shape[i] < 0 || perm[i] < 0 || perm[i] >= rank || seen[perm[i]]++) return fail(env, "crevnet_native.transpose: bad arguments");
    total *= shape[i];
  }
  if ((long)nx != total || (long)nout != total) return fail(env, "crevnet_native.transpose: sizes do not match the shape");
  if (total == 0) return NULL;
  /* drop size-1 axes */
  long d1[MAX_RANK];
  int map[MAX_RANK], p1[MAX_RANK], r1 = 0, k = 0;
  for (int i = 0; i < rank; i++) map[i] = shape[i] == 1 ? -1 : r1, r1 += shape[i] != 1;
  for (int i = 0; i < rank; i++) if (shape[i] != 1) d1[map[i]] = shape[i];
  for (int i = 0; i < rank; i++) if (map[perm[i]] >= 0) p1[k++] = map[perm[i]];
  /* merge output-neighbouring axes that are input neighbours too: groups of input axes [start, start+len) */
  int gstart[MAX_RANK], glen[MAX_RANK], g = 0;
  for (int j = 0; j < r1; j++) {
    if (g > 0 && p1[j] == gstart[g - 1] + glen[g - 1]) glen[g - 1]++;
    else gstart[g] = p1[j], glen[g] = 1, g++;
  }
  /* the groups in input order are the merged input axes; P maps output axis -> merged input axis */
  long D[MAX_RANK], S[MAX_RANK];
  int P[MAX_RANK], R = g;
  for (int a = 0; a < R; a++) {
    int rankIn = 0;
    for (int b = 0; b < R; b++) rankIn += gstart[b] < gstart[a];
    P[a] = rankIn;
    long size = 1;
    for (int t = 0; t < glen[a]; t++) size *= d1[gstart[a] + t];
    D[rankIn] = size;
  }
  if (R <= 1) {
    memcpy(out, x, (size_t)total * sizeof(float));
    return NULL;
  }
  S[R - 1] = 1;
  for (int a = R - 2; a >= 0; a--) S[a] = S[a + 1] * D[a + 1];
  long O[MAX_RANK], idx[MAX_RANK] = {0};
  for (int i = 0; i < R; i++) O[i] = D[P[i]];
  const long inner = O[R - 1], istride = S[P[R - 1]];
  long off = 0;
  float *o = out;
  for (;;) {
    if (istride == 1) memcpy(o, x + off, (size_t)inner * sizeof(float));
    else for (long t = 0; t < inner; t++) o[t] = x[off + t * istride];
    o += inner;
    int a = R - 2;
    for (; a >= 0; a--) {
      off += S[P[a]];
      if (++idx[a] < O[a]) break;
      off -= S[P[a]] * O[a];
      idx[a] = 0;
    }
    if (a < 0) break;
  }
  return NULL;
}

#ifdef CREVNET_OPENBLAS
extern void openblas_set_num_threads(int);
extern int openblas_get_num_threads(void);
extern char *openblas_get_config(void);
#endif

/* setThreads(n): the BLAS's own threads for each call (process-wide) */
static napi_value set_threads(napi_env env, napi_callback_info info) {
  ARGS(1);
  double n;
  if (!num(env, argv[0], &n) || n < 1) return fail(env, "crevnet_native.setThreads: bad count");
#ifdef CREVNET_OPENBLAS
  openblas_set_num_threads((int)n);
#endif
  return NULL;
}

/* describe(): { blas, threads } */
static napi_value describe(napi_env env, napi_callback_info info) {
  napi_value obj, blas, threads;
  napi_create_object(env, &obj);
#ifdef CREVNET_OPENBLAS
  const char *cfg = openblas_get_config();
  napi_create_string_utf8(env, cfg ? cfg : "OpenBLAS", NAPI_AUTO_LENGTH, &blas);
  napi_create_int32(env, openblas_get_num_threads(), &threads);
#else
  napi_create_string_utf8(env, "Accelerate", NAPI_AUTO_LENGTH, &blas);
  napi_create_int32(env, 0, &threads);
#endif
  napi_set_named_property(env, obj, "blas", blas);
  napi_set_named_property(env, obj, "threads", threads);
  return obj;
}

NAPI_MODULE_INIT() {
  Scratch *s = (Scratch *)calloc(1, sizeof(Scratch));
  if (!s || napi_set_instance_data(env, s, free_scratch, NULL) != napi_ok) return fail(env, "crevnet_native: init failed");
#ifdef CREVNET_OPENBLAS
  /* crevnet runs one BLAS call per thread of its own worker pool (src/run/); BLAS threads on top would compete */
  openblas_set_num_threads(1);
#endif
  napi_property_descriptor props[] = {
      {"conv2d", NULL, conv2d, NULL, NULL, NULL, napi_default, NULL},
      {"conv2dBackpropInput", NULL, conv2d_backprop_input, NULL, NULL, NULL, napi_default, NULL},
      {"conv2dBackpropFilter", NULL, conv2d_backprop_filter, NULL, NULL, NULL, napi_default, NULL},
      {"matmul", NULL, matmul, NULL, NULL, NULL, napi_default, NULL},
      {"transpose", NULL, transpose, NULL, NULL, NULL, napi_default, NULL},
      {"setThreads", NULL, set_threads, NULL, NULL, NULL, napi_default, NULL},
      {"describe", NULL, describe, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props) != napi_ok) return NULL;
  return exports;
}
