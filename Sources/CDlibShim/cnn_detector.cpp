#include "shim_support.hpp"

#include <dlib/dnn.h>

namespace {
// dlib's MMOD face detector network (dnn_mmod_face_detection_ex.cpp), matching mmod_human_face_detector.dat.
template <long num_filters, typename SUBNET> using con5d = dlib::con<num_filters, 5, 5, 2, 2, SUBNET>;
template <long num_filters, typename SUBNET> using con5 = dlib::con<num_filters, 5, 5, 1, 1, SUBNET>;
template <typename SUBNET>
using downsampler = dlib::relu<dlib::affine<con5d<32, dlib::relu<dlib::affine<con5d<32, dlib::relu<dlib::affine<con5d<16, SUBNET>>>>>>>>>;
template <typename SUBNET> using rcon5 = dlib::relu<dlib::affine<con5<45, SUBNET>>>;
using mmod_net = dlib::loss_mmod<dlib::con<1, 9, 9, 1, 1, rcon5<rcon5<rcon5<downsampler<dlib::input_rgb_image_pyramid<dlib::pyramid_down<6>>>>>>>>;
}  // namespace

struct fg_cnn_detector {
    mmod_net net;
};

extern "C" int fg_cnn_detector_create(const char *model_path, fg_cnn_detector **out, char *error, size_t error_size) {
    return fg::guarded(error, error_size, [&] { *out = fg::load(model_path, &fg_cnn_detector::net); });
}

extern "C" void fg_cnn_detector_destroy(fg_cnn_detector *detector) { delete detector; }

extern "C" int fg_cnn_detect(fg_cnn_detector *detector, fg_rgb_view image, int upsample, fg_detection *detections,
                             int capacity, int *count, char *error, size_t error_size) {
    return fg::guarded(error, error_size, [&] {
        dlib::pyramid_down<2> pyramid;
        dlib::matrix<dlib::rgb_pixel> img = fg::detection_input(image, upsample, pyramid);
        fg::write_detections(detector->net(img), pyramid, upsample, detections, capacity, count);
        // The network keeps every layer's output of the last image (hundreds of MB for a large photo's pyramid)
        // until the next one; the CNN runs rarely, so give that memory back now.
        detector->net.clean();
    });
}
