#include "shim_support.hpp"

#include <vector>
#include <dlib/dnn.h>

namespace {
// dlib's face recognition ResNet (dnn_face_recognition_ex.cpp), matching dlib_face_recognition_resnet_model_v1.dat.
template <template <int, template <typename> class, int, typename> class block, int N, template <typename> class BN, typename SUBNET>
using residual = dlib::add_prev1<block<N, BN, 1, dlib::tag1<SUBNET>>>;
template <template <int, template <typename> class, int, typename> class block, int N, template <typename> class BN, typename SUBNET>
using residual_down = dlib::add_prev2<dlib::avg_pool<2, 2, 2, 2, dlib::skip1<dlib::tag2<block<N, BN, 2, dlib::tag1<SUBNET>>>>>>;
template <int N, template <typename> class BN, int stride, typename SUBNET>
using block = BN<dlib::con<N, 3, 3, 1, 1, dlib::relu<BN<dlib::con<N, 3, 3, stride, stride, SUBNET>>>>>;
template <int N, typename SUBNET> using ares = dlib::relu<residual<block, N, dlib::affine, SUBNET>>;
template <int N, typename SUBNET> using ares_down = dlib::relu<residual_down<block, N, dlib::affine, SUBNET>>;
template <typename SUBNET> using alevel0 = ares_down<256, SUBNET>;
template <typename SUBNET> using alevel1 = ares<256, ares<256, ares_down<256, SUBNET>>>;
template <typename SUBNET> using alevel2 = ares<128, ares<128, ares_down<128, SUBNET>>>;
template <typename SUBNET> using alevel3 = ares<64, ares<64, ares<64, ares_down<64, SUBNET>>>>;
template <typename SUBNET> using alevel4 = ares<32, ares<32, ares<32, SUBNET>>>;
using resnet = dlib::loss_metric<dlib::fc_no_bias<128, dlib::avg_pool_everything<alevel0<alevel1<alevel2<alevel3<alevel4<
    dlib::max_pool<3, 3, 2, 2, dlib::relu<dlib::affine<dlib::con<32, 7, 7, 2, 2, dlib::input_rgb_image_sized<150>>>>>>>>>>>>>;
constexpr long chip_size = 150;
constexpr long descriptor_size = 128;
}  // namespace

struct fg_embedder {
    resnet net;
};

extern "C" int fg_embedder_create(const char *model_path, fg_embedder **out, char *error, size_t error_size) {
    return fg::guarded(error, error_size, [&] { *out = fg::load(model_path, &fg_embedder::net); });
}

extern "C" void fg_embedder_destroy(fg_embedder *embedder) { delete embedder; }

extern "C" int fg_embed_chips(fg_embedder *embedder, const uint8_t *chips, int count, float *descriptors, char *error,
                              size_t error_size) {
    return fg::guarded(error, error_size, [&] {
        std::vector<dlib::matrix<dlib::rgb_pixel>> batch((size_t)count);
        for (int i = 0; i < count; i++)
            batch[i] = fg::copy_to_matrix({chips + (size_t)i * chip_size * chip_size * 3, chip_size, chip_size, chip_size * 3});
        std::vector<dlib::matrix<float, 0, 1>> out = embedder->net(batch, 16);
        for (int i = 0; i < count; i++)
            for (long d = 0; d < descriptor_size; d++) descriptors[(size_t)i * descriptor_size + d] = out[i](d);
    });
}
