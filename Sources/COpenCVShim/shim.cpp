#include "COpenCVShim.h"
#include "fg_shim_guard.hpp"

#include <cstring>
#include <exception>
#include <memory>
#include <new>
#include <string>
#include <vector>
#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>
#include <opencv2/imgproc.hpp>

struct fg_cv_net {
    cv::dnn::Net net;
};

using fg_shim::guarded;
using fg_shim::set_error;

extern "C" int fg_cv_net_load(const char *onnx_path, fg_cv_net **out, char *error, size_t error_size) {
    return guarded(error, error_size, [&] {
        cv::setNumThreads(1);
        auto handle = std::make_unique<fg_cv_net>();
        handle->net = cv::dnn::readNetFromONNX(onnx_path);
        if (handle->net.empty()) throw std::runtime_error(std::string("no network in ") + onnx_path);
        handle->net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
        handle->net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
        *out = handle.release();
    });
}

extern "C" void fg_cv_net_destroy(fg_cv_net *net) { delete net; }

extern "C" int fg_cv_net_forward(fg_cv_net *net, const float *input, int n, int c, int h, int w,
                                 const char *const *output_names, int output_count, float *const *outputs,
                                 const size_t *capacities, size_t *sizes, char *error, size_t error_size) {
    return guarded(error, error_size, [&] {
        const int shape[4] = {n, c, h, w};
        // The blob borrows the caller's buffer; setInput copies it into the net.
        cv::Mat blob(4, shape, CV_32F, const_cast<float *>(input));
        net->net.setInput(blob);
        std::vector<cv::String> names(output_names, output_names + output_count);
        std::vector<cv::Mat> results;
        net->net.forward(results, names);
        for (int i = 0; i < output_count; ++i) {
            cv::Mat result = results[i].isContinuous() ? results[i] : results[i].clone();
            if (result.depth() != CV_32F) throw std::runtime_error("output " + names[i] + " is not float");
            sizes[i] = result.total() * result.channels();
            if (sizes[i] > capacities[i]) throw std::runtime_error("output " + names[i] + " is larger than its buffer");
            std::memcpy(outputs[i], result.ptr<float>(), sizes[i] * sizeof(float));
        }
    });
}

extern "C" int fg_cv_warp_affine(const uint8_t *pixels, long width, long height, long stride, const double *matrix,
                                 uint8_t *destination, int dst_width, int dst_height, char *error, size_t error_size) {
    return guarded(error, error_size, [&] {
        cv::Mat source((int)height, (int)width, CV_8UC3, const_cast<uint8_t *>(pixels), (size_t)stride);
        cv::Mat transform(2, 3, CV_64F, const_cast<double *>(matrix));
        cv::Mat target(dst_height, dst_width, CV_8UC3, destination);
        cv::warpAffine(source, target, transform, cv::Size(dst_width, dst_height), cv::INTER_LINEAR,
                       cv::BORDER_CONSTANT, cv::Scalar(0, 0, 0));
        if (target.data != destination) throw std::runtime_error("warpAffine reallocated its output");
    });
}
