#include "shim_support.hpp"

#include <vector>
#include <dlib/image_processing/frontal_face_detector.h>
#include <dlib/image_transforms.h>

struct fg_hog_detector {
    dlib::frontal_face_detector detector = dlib::get_frontal_face_detector();
};

extern "C" int fg_hog_detector_create(fg_hog_detector **out, char *error, size_t error_size) {
    return fg::guarded(error, error_size, [&] { *out = new fg_hog_detector(); });
}

extern "C" void fg_hog_detector_destroy(fg_hog_detector *detector) { delete detector; }

extern "C" int fg_hog_detect(fg_hog_detector *detector, fg_rgb_view image, int upsample, double threshold,
                             fg_detection *detections, int capacity, int *count, char *error, size_t error_size) {
    return fg::guarded(error, error_size, [&] {
        dlib::pyramid_down<2> pyramid;
        dlib::matrix<dlib::rgb_pixel> img = fg::detection_input(image, upsample, pyramid);
        std::vector<dlib::rect_detection> found;
        detector->detector(img, found, threshold);
        fg::write_detections(std::move(found), pyramid, upsample, detections, capacity, count);
    });
}
