// Thin extern "C" shim over dlib 19.24: each function calls dlib once and catches every C++ exception, turning it
// into a non-zero return code and a message. No state beyond the opaque handles the caller owns; no policy.
// Images are 8-bit RGB, rows top to bottom, `stride` bytes apart; they are read, never copied or kept.
#ifndef FACEGATE_CDLIBSHIM_H
#define FACEGATE_CDLIBSHIM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    const uint8_t *pixels;
    long width;
    long height;
    long stride;
} fg_rgb_view;

typedef struct {
    long left, top, right, bottom;  // inclusive, like dlib::rectangle
    double score;                   // HOG: detector margin; CNN: detection confidence
} fg_detection;

typedef struct fg_hog_detector fg_hog_detector;
typedef struct fg_cnn_detector fg_cnn_detector;
typedef struct fg_shape_predictor fg_shape_predictor;
typedef struct fg_embedder fg_embedder;

// All functions return 0 on success and non-zero with `error` filled (NUL-terminated, truncated) on failure.

int fg_hog_detector_create(fg_hog_detector **out, char *error, size_t error_size);
void fg_hog_detector_destroy(fg_hog_detector *detector);
// Writes at most `capacity` detections, best first; `*count` is how many were found in all.
int fg_hog_detect(fg_hog_detector *detector, fg_rgb_view image, int upsample, double threshold,
                  fg_detection *detections, int capacity, int *count, char *error, size_t error_size);

int fg_cnn_detector_create(const char *model_path, fg_cnn_detector **out, char *error, size_t error_size);
void fg_cnn_detector_destroy(fg_cnn_detector *detector);
int fg_cnn_detect(fg_cnn_detector *detector, fg_rgb_view image, int upsample, fg_detection *detections,
                  int capacity, int *count, char *error, size_t error_size);

int fg_shape_predictor_create(const char *model_path, fg_shape_predictor **out, char *error, size_t error_size);
void fg_shape_predictor_destroy(fg_shape_predictor *predictor);
// `points` receives x0, y0, x1, y1, … for the model's parts; `*parts` is their number (5 for the 5-point model).
int fg_shape_predict(fg_shape_predictor *predictor, fg_rgb_view image, fg_detection box, float *points,
                     int capacity, int *parts, char *error, size_t error_size);

// The aligned chip dlib's embedder expects: get_face_chip_details(shape, size, padding) + extract_image_chip.
// `chip` receives size × size × 3 bytes.
int fg_extract_face_chip(fg_rgb_view image, fg_detection box, const float *points, int parts, int size,
                         double padding, uint8_t *chip, char *error, size_t error_size);

int fg_embedder_create(const char *model_path, fg_embedder **out, char *error, size_t error_size);
void fg_embedder_destroy(fg_embedder *embedder);
// `chips` holds `count` chips of 150 × 150 × 3 bytes back to back; `descriptors` receives count × 128 floats.
int fg_embed_chips(fg_embedder *embedder, const uint8_t *chips, int count, float *descriptors, char *error,
                   size_t error_size);

#ifdef __cplusplus
}
#endif

#endif
