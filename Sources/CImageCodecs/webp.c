#include "CImageCodecs.h"

#include <stdlib.h>
#include <string.h>
#include <webp/decode.h>
#include <webp/demux.h>

static fg_codec_status fg_webp_status(VP8StatusCode code) {
    switch (code) {
    case VP8_STATUS_OK: return FG_CODEC_OK;
    case VP8_STATUS_NOT_ENOUGH_DATA: return FG_CODEC_TRUNCATED;
    case VP8_STATUS_OUT_OF_MEMORY: return FG_CODEC_NO_MEMORY;
    case VP8_STATUS_UNSUPPORTED_FEATURE: return FG_CODEC_UNSUPPORTED;
    default: return FG_CODEC_CORRUPT;
    }
}

fg_codec_status fg_webp_read_info(const uint8_t *data, size_t size, fg_image_info *info) {
    if (!data || !info) return FG_CODEC_BAD_ARGUMENT;
    memset(info, 0, sizeof(*info));
    WebPBitstreamFeatures features;
    VP8StatusCode code = WebPGetFeatures(data, size, &features);
    if (code != VP8_STATUS_OK) {
        strcpy(info->message, "invalid WebP header");
        return fg_webp_status(code);
    }
    info->is_animated = features.has_animation;
    info->has_alpha = features.has_alpha;
    info->channels = features.has_alpha ? 4 : 3;
    if (features.has_animation) {
        // The canvas size of an animation is in the demuxer's view, not in the first frame's bitstream.
        WebPData webp = {data, size};
        WebPDemuxer *demux = WebPDemux(&webp);
        if (!demux) {
            strcpy(info->message, "invalid animated WebP");
            return FG_CODEC_CORRUPT;
        }
        info->width = (int)WebPDemuxGetI(demux, WEBP_FF_CANVAS_WIDTH);
        info->height = (int)WebPDemuxGetI(demux, WEBP_FF_CANVAS_HEIGHT);
        WebPDemuxDelete(demux);
    } else {
        info->width = features.width;
        info->height = features.height;
    }
    info->source_width = info->width;
    info->source_height = info->height;
    return FG_CODEC_OK;
}

// Composites one RGBA row on white into RGB.
static void fg_rgba_row_on_white(const uint8_t *src, uint8_t *dst, int width) {
    for (int x = 0; x < width; x++) {
        unsigned a = src[4 * x + 3];
        for (int c = 0; c < 3; c++) dst[3 * x + c] = (uint8_t)((src[4 * x + c] * a + 255 * (255 - a) + 127) / 255);
    }
}

static fg_codec_status fg_webp_decode_first_frame(const uint8_t *data, size_t size, uint8_t *out, size_t out_stride,
                                                  fg_image_info *info) {
    WebPAnimDecoderOptions options;
    if (!WebPAnimDecoderOptionsInit(&options)) return FG_CODEC_UNSUPPORTED;
    options.color_mode = MODE_RGBA;
    options.use_threads = 0;
    WebPData webp = {data, size};
    WebPAnimDecoder *decoder = WebPAnimDecoderNew(&webp, &options);
    if (!decoder) {
        strcpy(info->message, "invalid animated WebP");
        return FG_CODEC_CORRUPT;
    }
    uint8_t *canvas = NULL;
    int timestamp = 0;
    if (!WebPAnimDecoderGetNext(decoder, &canvas, &timestamp)) {
        WebPAnimDecoderDelete(decoder);
        strcpy(info->message, "the first animation frame does not decode");
        return FG_CODEC_CORRUPT;
    }
    for (int y = 0; y < info->height; y++)
        fg_rgba_row_on_white(canvas + (size_t)y * info->width * 4, out + (size_t)y * out_stride, info->width);
    WebPAnimDecoderDelete(decoder);
    return FG_CODEC_OK;
}

fg_codec_status fg_webp_decode_rgb(const uint8_t *data, size_t size, uint8_t *out, size_t out_stride,
                                   fg_image_info *info) {
    if (!data || !out || !info) return FG_CODEC_BAD_ARGUMENT;
    fg_codec_status status = fg_webp_read_info(data, size, info);
    if (status != FG_CODEC_OK) return status;
    if (out_stride < (size_t)info->width * 3) return FG_CODEC_BAD_ARGUMENT;
    if (info->is_animated) return fg_webp_decode_first_frame(data, size, out, out_stride, info);

    WebPDecoderConfig config;
    if (!WebPInitDecoderConfig(&config)) return FG_CODEC_UNSUPPORTED;
    config.options.use_threads = 0;
    uint8_t *rgba = NULL;
    if (info->has_alpha) {
        config.output.colorspace = MODE_RGBA;  // decoded into libwebp's own buffer, composited below
    } else {
        config.output.colorspace = MODE_RGB;
        config.output.is_external_memory = 1;
        config.output.u.RGBA.rgba = out;
        config.output.u.RGBA.stride = (int)out_stride;
        config.output.u.RGBA.size = out_stride * (size_t)info->height;
    }
    VP8StatusCode code = WebPDecode(data, size, &config);
    if (code != VP8_STATUS_OK) {
        WebPFreeDecBuffer(&config.output);
        strcpy(info->message, code == VP8_STATUS_NOT_ENOUGH_DATA ? "WebP data ends early" : "WebP data is corrupt");
        return fg_webp_status(code);
    }
    if (info->has_alpha) {
        rgba = config.output.u.RGBA.rgba;
        for (int y = 0; y < info->height; y++)
            fg_rgba_row_on_white(rgba + (size_t)y * config.output.u.RGBA.stride, out + (size_t)y * out_stride,
                                 info->width);
    }
    WebPFreeDecBuffer(&config.output);
    return FG_CODEC_OK;
}
