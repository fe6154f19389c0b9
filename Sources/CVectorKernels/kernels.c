// Int8 row × float query dot products for the quantised scan of VectorSearch. Compiled for generic x86-64: the AVX2
// and AVX-512 kernels are functions marked with their target, called only when CPUID says the CPU has it.
#include "CVectorKernels.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

static void dot_generic(const int8_t *rows, size_t count, size_t dim, const float *query, float *out) {
    for (size_t i = 0; i < count; i++) {
        const int8_t *row = rows + i * dim;
        float sum = 0;
        for (size_t j = 0; j < dim; j++) sum += (float)row[j] * query[j];
        out[i] = sum;
    }
}

#if defined(__x86_64__)
__attribute__((target("avx2,fma")))
static void dot_avx2(const int8_t *rows, size_t count, size_t dim, const float *query, float *out) {
    for (size_t i = 0; i < count; i++) {
        const int8_t *row = rows + i * dim;
        __m256 low = _mm256_setzero_ps(), high = _mm256_setzero_ps();
        for (size_t j = 0; j < dim; j += 16) {
            __m128i bytes = _mm_loadu_si128((const __m128i *)(row + j));
            __m256 a = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(bytes));
            __m256 b = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(bytes, 8)));
            low = _mm256_fmadd_ps(a, _mm256_loadu_ps(query + j), low);
            high = _mm256_fmadd_ps(b, _mm256_loadu_ps(query + j + 8), high);
        }
        __m256 sum = _mm256_add_ps(low, high);
        __m128 x = _mm_add_ps(_mm256_castps256_ps128(sum), _mm256_extractf128_ps(sum, 1));
        x = _mm_add_ps(x, _mm_movehl_ps(x, x));
        x = _mm_add_ss(x, _mm_shuffle_ps(x, x, 1));
        out[i] = _mm_cvtss_f32(x);
    }
}

__attribute__((target("avx512f")))
static void dot_avx512(const int8_t *rows, size_t count, size_t dim, const float *query, float *out) {
    for (size_t i = 0; i < count; i++) {
        const int8_t *row = rows + i * dim;
        __m512 sum = _mm512_setzero_ps();
        for (size_t j = 0; j < dim; j += 16) {
            __m512 a = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(row + j))));
            sum = _mm512_fmadd_ps(a, _mm512_loadu_ps(query + j), sum);
        }
        out[i] = _mm512_reduce_add_ps(sum);
    }
}
#endif

unsigned fg_kernels_available(void) {
    unsigned kernels = 1u << FG_KERNEL_GENERIC;
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) kernels |= 1u << FG_KERNEL_AVX2;
    if (__builtin_cpu_supports("avx512f")) kernels |= 1u << FG_KERNEL_AVX512;
#endif
    return kernels;
}

enum fg_kernel fg_kernel_best(void) {
    static int best = -1;  // written once with the same value by any thread that gets here first
    int known = __atomic_load_n(&best, __ATOMIC_RELAXED);
    if (known < 0) {
        unsigned kernels = fg_kernels_available();
        known = (kernels & (1u << FG_KERNEL_AVX512)) ? FG_KERNEL_AVX512
              : (kernels & (1u << FG_KERNEL_AVX2)) ? FG_KERNEL_AVX2 : FG_KERNEL_GENERIC;
        __atomic_store_n(&best, known, __ATOMIC_RELAXED);
    }
    return (enum fg_kernel)known;
}

void fg_int8_dot_rows_with(enum fg_kernel kernel, const int8_t *rows, size_t count, size_t dim, const float *query,
                           float *out) {
    switch (kernel) {
#if defined(__x86_64__)
    case FG_KERNEL_AVX512: dot_avx512(rows, count, dim, query, out); return;
    case FG_KERNEL_AVX2: dot_avx2(rows, count, dim, query, out); return;
#endif
    default: dot_generic(rows, count, dim, query, out); return;
    }
}

void fg_int8_dot_rows(const int8_t *rows, size_t count, size_t dim, const float *query, float *out) {
    fg_int8_dot_rows_with(fg_kernel_best(), rows, count, dim, query, out);
}
