// Internal helpers shared by the shim's translation units.
#pragma once

#include "CDlibShim.h"
#include "fg_shim_guard.hpp"

#include <algorithm>
#include <cstring>
#include <exception>
#include <memory>
#include <new>
#include <vector>
#include <dlib/image_processing/generic_image.h>
#include <dlib/image_transforms.h>
#include <dlib/matrix.h>
#include <dlib/pixel.h>
#include <dlib/serialize.h>

namespace fg {

// A read-only dlib generic image over the caller's RGB buffer (no copy).
struct rgb_image_view {
    fg_rgb_view view;
};

using fg_shim::guarded;
using fg_shim::set_error;

// A new handle of type T whose `member` is deserialised from `path`; nothing leaks when loading throws.
template <typename T, typename Member>
T *load(const char *path, Member T::*member) {
    auto handle = std::make_unique<T>();
    dlib::deserialize(path) >> (*handle).*member;
    return handle.release();
}

// Writes at most `capacity` detections (dlib::rect_detection or dlib::mmod_rect), most confident first, in the
// coordinates of the image before upsampling; `*count` is how many were found in all.
template <typename Detection>
void write_detections(std::vector<Detection> found, const dlib::pyramid_down<2> &pyramid, int upsample,
                      fg_detection *detections, int capacity, int *count) {
    std::sort(found.begin(), found.end(),
              [](const Detection &a, const Detection &b) { return a.detection_confidence > b.detection_confidence; });
    *count = (int)found.size();
    for (int i = 0; i < std::min(capacity, (int)found.size()); i++) {
        dlib::rectangle r = found[i].rect;
        for (int u = 0; u < upsample; u++) r = pyramid.rect_down(r);
        detections[i] = {r.left(), r.top(), r.right(), r.bottom(), found[i].detection_confidence};
    }
}

inline dlib::matrix<dlib::rgb_pixel> copy_to_matrix(fg_rgb_view image) {
    dlib::matrix<dlib::rgb_pixel> m(image.height, image.width);
    for (long y = 0; y < image.height; y++)
        std::memcpy(&m(y, 0), image.pixels + y * image.stride, (size_t)image.width * 3);
    return m;
}

// The caller's image copied into a dlib matrix and doubled `upsample` times, for the detectors.
inline dlib::matrix<dlib::rgb_pixel> detection_input(fg_rgb_view image, int upsample, dlib::pyramid_down<2> &pyramid) {
    dlib::matrix<dlib::rgb_pixel> img = copy_to_matrix(image);
    for (int i = 0; i < upsample; i++) dlib::pyramid_up(img, pyramid);
    return img;
}

}  // namespace fg

// dlib's generic image interface, found by argument-dependent lookup in namespace fg.
namespace fg {
inline long num_rows(const rgb_image_view &img) { return img.view.height; }
inline long num_columns(const rgb_image_view &img) { return img.view.width; }
inline const void *image_data(const rgb_image_view &img) { return img.view.pixels; }
inline long width_step(const rgb_image_view &img) { return img.view.stride; }
}  // namespace fg

namespace dlib {
template <> struct image_traits<fg::rgb_image_view> { typedef rgb_pixel pixel_type; };
}  // namespace dlib
