#ifndef FACEGATE_CVECTORKERNELS_H
#define FACEGATE_CVECTORKERNELS_H

#include <stddef.h>
#include <stdint.h>

/// The kernels of fg_int8_dot_rows. Which ones this CPU can run is decided at run time (CPUID), never at build time:
/// the library is compiled for generic x86-64 and each wider kernel only in functions marked for its instructions.
enum fg_kernel { FG_KERNEL_GENERIC = 0, FG_KERNEL_AVX2 = 1, FG_KERNEL_AVX512 = 2 };

/// Bit (1 << kernel) set for every kernel this CPU runs (FG_KERNEL_GENERIC always).
unsigned fg_kernels_available(void);

/// The kernel fg_int8_dot_rows uses: the widest available.
enum fg_kernel fg_kernel_best(void);

/// out[i] = sum over j of rows[i * dim + j] * query[j], for `count` rows of `dim` int8 components (dim a multiple of
/// 16), in float arithmetic. `kernel` must be available (see fg_kernels_available).
void fg_int8_dot_rows_with(enum fg_kernel kernel, const int8_t *rows, size_t count, size_t dim, const float *query,
                           float *out);

/// fg_int8_dot_rows_with(fg_kernel_best(), ...).
void fg_int8_dot_rows(const int8_t *rows, size_t count, size_t dim, const float *query, float *out);

#endif
