// Thin extern "C" shim over OpenCV 4.6's dnn module: load an ONNX network, run it on a planar float blob, warp an
// image by an affine matrix. Every C++ exception becomes a non-zero return code and a message. No policy: the
// face models' pre- and post-processing (padding, decoding, NMS, alignment points) is Swift's.
#ifndef FACEGATE_COPENCVSHIM_H
#define FACEGATE_COPENCVSHIM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fg_cv_net fg_cv_net;

// All functions return 0 on success and non-zero with `error` filled (NUL-terminated, truncated) on failure.

// Loads an ONNX file for OpenCV's own CPU backend, with OpenCV's threads limited to the caller's (one engine per
// thread: `cv::setNumThreads(1)`).
int fg_cv_net_load(const char *onnx_path, fg_cv_net **out, char *error, size_t error_size);
void fg_cv_net_destroy(fg_cv_net *net);

// Runs the net on one NCHW float input (`n*c*h*w` values) and copies each named output into `outputs[i]` (at most
// `capacities[i]` floats); `sizes[i]` is the output's full element count (a larger size than the capacity fails).
int fg_cv_net_forward(fg_cv_net *net, const float *input, int n, int c, int h, int w,
                      const char *const *output_names, int output_count, float *const *outputs,
                      const size_t *capacities, size_t *sizes, char *error, size_t error_size);

// cv::warpAffine with bilinear interpolation and a black border: `matrix` maps source to destination (2×3, rows).
// 8-bit RGB, rows `stride` bytes apart; `destination` holds `dst_width*dst_height*3` bytes.
int fg_cv_warp_affine(const uint8_t *pixels, long width, long height, long stride, const double *matrix,
                      uint8_t *destination, int dst_width, int dst_height, char *error, size_t error_size);

#ifdef __cplusplus
}
#endif

#endif
