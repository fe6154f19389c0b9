#include "shim_support.hpp"

#include <algorithm>
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
        dlib::matrix<dlib::rgb_pixel> img = fg::copy_to_matrix(image);
        dlib::pyramid_down<2> pyramid;
        for (int i = 0; i < upsample; i++) dlib::pyramid_up(img, pyramid);
        std::vector<dlib::rect_detection> found;
        detector->detector(img, found, threshold);
        std::sort(found.begin(), found.end(),
                  [](const dlib::rect_detection &a, const dlib::rect_detection &b) { return a.detection_confidence > b.detection_confidence; });
        *count = (int)found.size();
        for (int i = 0; i < std::min(capacity, (int)found.size()); i++) {
            dlib::rectangle r = found[i].rect;
            for (int u = 0; u < upsample; u++) r = pyramid.rect_down(r);
            detections[i] = {r.left(), r.top(), r.right(), r.bottom(), found[i].detection_confidence};
        }
    });
}
