// Internal helpers shared by the shim's translation units.
#pragma once

#include "CDlibShim.h"

#include <cstring>
#include <exception>
#include <new>
#include <dlib/image_processing/generic_image.h>
#include <dlib/matrix.h>
#include <dlib/pixel.h>

namespace fg {

// A read-only dlib generic image over the caller's RGB buffer (no copy).
struct rgb_image_view {
    fg_rgb_view view;
};

inline void set_error(char *error, size_t size, const char *message) {
    if (!error || size == 0) return;
    std::strncpy(error, message, size - 1);
    error[size - 1] = 0;
}

// Runs `body`, turning every exception into return code 1 and a message.
template <typename Body>
int guarded(char *error, size_t error_size, Body &&body) {
    try {
        body();
        return 0;
    } catch (const std::bad_alloc &) {
        set_error(error, error_size, "out of memory");
    } catch (const std::exception &e) {
        set_error(error, error_size, e.what());
    } catch (...) {
        set_error(error, error_size, "unknown C++ exception");
    }
    return 1;
}

inline dlib::matrix<dlib::rgb_pixel> copy_to_matrix(fg_rgb_view image) {
    dlib::matrix<dlib::rgb_pixel> m(image.height, image.width);
    for (long y = 0; y < image.height; y++)
        std::memcpy(&m(y, 0), image.pixels + y * image.stride, (size_t)image.width * 3);
    return m;
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
