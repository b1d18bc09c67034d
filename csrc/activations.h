/*
 * Vectorisable activations for the recurrent kernels.
 *
 * float:  branch-free polynomial / rational approximations (no libm calls),
 *         so that the compiler can vectorise the cell loops that use them.
 *         - exp:     Cephes-style range reduction x = n ln2 + r, degree-6
 *                    polynomial for e^r, 2^n built from the exponent bits.
 *         - sigmoid: 1 / (1 + exp(-x)), about 2 ulp.
 *         - tanh:    Eigen's odd/even rational approximation (13/6), a few
 *                    ulp, exact +-1 at the clamped ends.
 *         Clamps are written as comparisons that are false for NaN, so a
 *         NaN input stays NaN (fminf/fmaxf would silently drop it).
 * double: libm (exp, tanh): correctly rounded to ~1 ulp, which the float64
 *         parity bound of 1e-10 against PyTorch needs.
 */
#ifndef FASTRNN_ACTIVATIONS_H
#define FASTRNN_ACTIVATIONS_H

#include <math.h>
#include <stdint.h>
#include <string.h>

static inline float fr_clampf(float x, float lo, float hi)
{
    /* NaN compares false both ways and passes through unchanged. */
    x = (x < lo) ? lo : x;
    return (x > hi) ? hi : x;
}

static inline float fr_expf(float x)
{
    const float log2e = 1.44269504088896341f;
    const float ln2_hi = 0.693359375f;
    const float ln2_lo = -2.12194440e-4f;
    /* Round-to-nearest by the 1.5 * 2^23 trick (no libm rint call). */
    const float shifter = 12582912.0f;
    float n, r, p, scale;
    int32_t bits;

    x = fr_clampf(x, -87.3f, 88.3f);
    n = (x * log2e + shifter) - shifter;
    r = x - n * ln2_hi;
    r = r - n * ln2_lo;
    p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    /* A NaN x gives a NaN p (the result); converting NaN to int is UB, so
     * the exponent uses 0 then (a select, still branch-free). */
    bits = ((int32_t)(n == n ? n : 0.0f) + 127) << 23;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

static inline float fr_sigmoidf(float x)
{
    float y = 1.0f / (1.0f + fr_expf(-x));
    /* Exact limit at the low end (exp(-x) is clamped, so y would be ~1e-38). */
    return (x < -87.0f) ? 0.0f : y;
}

static inline float fr_tanhf(float x)
{
    const float tiny = 0.0004f;
    float c = fr_clampf(x, -7.90531110763549805f, 7.90531110763549805f);
    float x2 = c * c;
    float p, q, y;
    p = -2.76076847742355e-16f;
    p = p * x2 + 2.00018790482477e-13f;
    p = p * x2 + -8.60467152213735e-11f;
    p = p * x2 + 5.12229709037114e-08f;
    p = p * x2 + 1.48572235717979e-05f;
    p = p * x2 + 6.37261928875436e-04f;
    p = p * x2 + 4.89352455891786e-03f;
    p = p * c;
    q = 1.19825839466702e-06f;
    q = q * x2 + 1.18534705686654e-04f;
    q = q * x2 + 2.26843463243900e-03f;
    q = q * x2 + 4.89352518554385e-03f;
    y = p / q;
    /* Tiny inputs: tanh(x) == x to float precision (keeps -0.0 and denormals). */
    y = (fabsf(x) < tiny) ? x : y;
    /* Saturated ends are exactly +-1. */
    y = (x > 9.0f) ? 1.0f : y;
    return (x < -9.0f) ? -1.0f : y;
}

static inline double fr_sigmoid(double x)
{
    return 1.0 / (1.0 + exp(-x));
}

static inline double fr_tanh(double x)
{
    return tanh(x);
}

/* The SIMD instruction sets this translation unit was compiled for. */
static inline const char *fr_simd_flags(void)
{
    return ""
#if defined(__AVX512F__)
        "AVX512F "
#endif
#if defined(__AVX512VL__) && defined(__AVX512BW__) && defined(__AVX512DQ__)
        "AVX512VL/BW/DQ "
#endif
#if defined(__AVX2__)
        "AVX2 "
#endif
#if defined(__FMA__)
        "FMA "
#endif
#if defined(__AVX__)
        "AVX "
#endif
#if defined(__SSE4_2__)
        "SSE4.2 "
#endif
#if defined(__SSE2__)
        "SSE2 "
#endif
#if defined(__ARM_NEON) || defined(__ARM_NEON__)
        "NEON "
#endif
        "";
}

#endif /* FASTRNN_ACTIVATIONS_H */
