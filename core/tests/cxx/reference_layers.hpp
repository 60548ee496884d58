// Layer loops written directly with the real ap_fixed types, independently of the Rust reference: what a
// quantised network computes in C simulation. Layouts as in baler-core (row-major; dense [in, out], conv
// [out, in, k, k], transposed conv [in, out, k, k], images [c, h, w]).
#pragma once
#include <ap_fixed.h>

template <class T> T from_code(long long code) {
    T x;
    x.range(T::width - 1, 0) = ap_int<T::width>(code);
    return x;
}

template <class T> unsigned long long bits_of(const T& x) { return x.range(T::width - 1, 0).to_uint64(); }

// acc = bias; acc += accum_t(x * w) in stride-rf groups; out = result_t(acc)
template <class in_t, class w_t, class b_t, class acc_t, class res_t>
void dense(const in_t* x, const w_t* w, const b_t* b, res_t* y, int n_in, int n_out, int rf) {
    for (int o = 0; o < n_out; ++o) {
        acc_t acc = b[o];
        for (int r = 0; r < rf && r < n_in; ++r)
            for (int i = r; i < n_in; i += rf) {
                acc_t p = x[i] * w[i * n_out + o];
                acc += p;
            }
        y[o] = acc;
    }
}

template <class in_t, class w_t, class b_t, class acc_t, class res_t>
void conv2d(const in_t* x, const w_t* w, const b_t* b, res_t* y, int cin, int cout, int h, int wd, int k, int s,
            int p) {
    int oh = (h + 2 * p - k) / s + 1, ow = (wd + 2 * p - k) / s + 1;
    for (int oc = 0; oc < cout; ++oc)
        for (int oy = 0; oy < oh; ++oy)
            for (int ox = 0; ox < ow; ++ox) {
                acc_t acc = b[oc];
                for (int ic = 0; ic < cin; ++ic)
                    for (int ky = 0; ky < k; ++ky) {
                        int iy = oy * s + ky - p;
                        if (iy < 0 || iy >= h) continue;
                        for (int kx = 0; kx < k; ++kx) {
                            int ix = ox * s + kx - p;
                            if (ix < 0 || ix >= wd) continue;
                            acc_t t = x[(ic * h + iy) * wd + ix] * w[((oc * cin + ic) * k + ky) * k + kx];
                            acc += t;
                        }
                    }
                y[(oc * oh + oy) * ow + ox] = acc;
            }
}

template <class in_t, class w_t, class b_t, class acc_t, class res_t>
void conv_transpose2d(const in_t* x, const w_t* w, const b_t* b, res_t* y, int cin, int cout, int h, int wd, int k,
                      int s, int p, int op_h, int op_w) {
    int oh = (h - 1) * s + k + op_h - 2 * p, ow = (wd - 1) * s + k + op_w - 2 * p;
    for (int oc = 0; oc < cout; ++oc)
        for (int oy = 0; oy < oh; ++oy)
            for (int ox = 0; ox < ow; ++ox) {
                acc_t acc = b[oc];
                for (int ic = 0; ic < cin; ++ic)
                    for (int ky = 0; ky < k; ++ky) {
                        int ty = oy + p - ky;
                        if (ty < 0 || ty % s != 0 || ty / s >= h) continue;
                        for (int kx = 0; kx < k; ++kx) {
                            int tx = ox + p - kx;
                            if (tx < 0 || tx % s != 0 || tx / s >= wd) continue;
                            acc_t t = x[(ic * h + ty / s) * wd + tx / s] * w[((ic * cout + oc) * k + ky) * k + kx];
                            acc += t;
                        }
                    }
                y[(oc * oh + oy) * ow + ox] = acc;
            }
}

template <class res_t, class act_t> void relu(const res_t* x, act_t* y, int n) {
    for (int i = 0; i < n; ++i) y[i] = x[i] > 0 ? act_t(x[i]) : act_t(0);
}

template <class res_t, class act_t, class alpha_t> void leaky_relu(const res_t* x, act_t* y, int n, alpha_t alpha) {
    for (int i = 0; i < n; ++i) y[i] = x[i] > 0 ? act_t(x[i]) : act_t(alpha * x[i]);
}
