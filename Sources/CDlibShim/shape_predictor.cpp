#include "shim_support.hpp"

#include <dlib/image_processing.h>
#include <dlib/image_transforms.h>

struct fg_shape_predictor {
    dlib::shape_predictor predictor;
};

extern "C" int fg_shape_predictor_create(const char *model_path, fg_shape_predictor **out, char *error,
                                         size_t error_size) {
    return fg::guarded(error, error_size, [&] { *out = fg::load(model_path, &fg_shape_predictor::predictor); });
}

extern "C" void fg_shape_predictor_destroy(fg_shape_predictor *predictor) { delete predictor; }

static dlib::rectangle to_rectangle(fg_detection box) { return dlib::rectangle(box.left, box.top, box.right, box.bottom); }

extern "C" int fg_shape_predict(fg_shape_predictor *predictor, fg_rgb_view image, fg_detection box, float *points,
                                int capacity, int *parts, char *error, size_t error_size) {
    return fg::guarded(error, error_size, [&] {
        fg::rgb_image_view view{image};
        dlib::full_object_detection shape = predictor->predictor(view, to_rectangle(box));
        *parts = (int)shape.num_parts();
        for (unsigned long i = 0; i < shape.num_parts() && (int)i < capacity; i++) {
            points[2 * i] = (float)shape.part(i).x();
            points[2 * i + 1] = (float)shape.part(i).y();
        }
    });
}

extern "C" int fg_extract_face_chip(fg_rgb_view image, fg_detection box, const float *points, int parts, int size,
                                    double padding, uint8_t *chip, char *error, size_t error_size) {
    return fg::guarded(error, error_size, [&] {
        std::vector<dlib::point> part_points;
        for (int i = 0; i < parts; i++) part_points.emplace_back((long)points[2 * i], (long)points[2 * i + 1]);
        dlib::full_object_detection shape(to_rectangle(box), part_points);
        fg::rgb_image_view view{image};
        dlib::matrix<dlib::rgb_pixel> out;
        dlib::extract_image_chip(view, dlib::get_face_chip_details(shape, (unsigned long)size, padding), out);
        std::memcpy(chip, &out(0, 0), (size_t)size * size * 3);
    });
}
