#include "CImageCodecs.h"

#include <string.h>
#include <png.h>

// libpng's simplified API reports errors through png_image.message and never longjmps into the caller.

static void fg_png_copy_message(const png_image *image, fg_image_info *info) {
    strncpy(info->message, image->message, sizeof(info->message) - 1);
    info->message[sizeof(info->message) - 1] = 0;
}

static fg_codec_status fg_png_classify(const png_image *image) {
    // libpng words truncation as "Not enough image data" / "unexpected end" / "Read Error".
    if (strstr(image->message, "Not enough") || strstr(image->message, "end of") || strstr(image->message, "Read Error")
        || strstr(image->message, "too short"))
        return FG_CODEC_TRUNCATED;
    return FG_CODEC_CORRUPT;
}

static fg_codec_status fg_png_begin(png_image *image, const uint8_t *data, size_t size, fg_image_info *info) {
    memset(info, 0, sizeof(*info));
    memset(image, 0, sizeof(*image));
    image->version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(image, data, size)) {
        fg_png_copy_message(image, info);
        fg_codec_status status = fg_png_classify(image);
        png_image_free(image);
        return status;
    }
    info->width = info->source_width = (int)image->width;
    info->height = info->source_height = (int)image->height;
    info->channels = (int)PNG_IMAGE_SAMPLE_CHANNELS(image->format);
    info->has_alpha = (image->format & PNG_FORMAT_FLAG_ALPHA) ? 1 : 0;
    return FG_CODEC_OK;
}

fg_codec_status fg_png_read_info(const uint8_t *data, size_t size, fg_image_info *info) {
    if (!data || !info) return FG_CODEC_BAD_ARGUMENT;
    png_image image;
    fg_codec_status status = fg_png_begin(&image, data, size, info);
    if (status == FG_CODEC_OK) png_image_free(&image);
    return status;
}

fg_codec_status fg_png_decode_rgb(const uint8_t *data, size_t size, uint8_t *out, size_t out_stride,
                                  fg_image_info *info) {
    if (!data || !out || !info) return FG_CODEC_BAD_ARGUMENT;
    png_image image;
    fg_codec_status status = fg_png_begin(&image, data, size, info);
    if (status != FG_CODEC_OK) return status;
    if (out_stride < (size_t)image.width * 3 || out_stride > 0x7fffffff) {
        png_image_free(&image);
        return FG_CODEC_BAD_ARGUMENT;
    }
    image.format = PNG_FORMAT_RGB;
    // Without this, the simplified API takes 16-bit samples with no gAMA/sRGB chunk as linear light and
    // brightens them; every 16-bit PNG a camera or editor writes is sRGB-encoded.
    image.flags |= PNG_IMAGE_FLAG_16BIT_sRGB;
    png_color white = {255, 255, 255};
    if (!png_image_finish_read(&image, &white, out, (png_int_32)out_stride, NULL)) {
        fg_png_copy_message(&image, info);
        status = fg_png_classify(&image);
        png_image_free(&image);
        return status;
    }
    return FG_CODEC_OK;
}

fg_codec_status fg_png_encode_rgb(const uint8_t *pixels, int width, int height, size_t stride, uint8_t *out,
                                  size_t *out_size) {
    if (!pixels || !out_size || width <= 0 || height <= 0 || stride < (size_t)width * 3 || stride > 0x7fffffff)
        return FG_CODEC_BAD_ARGUMENT;
    png_image image;
    memset(&image, 0, sizeof(image));
    image.version = PNG_IMAGE_VERSION;
    image.width = (png_uint_32)width;
    image.height = (png_uint_32)height;
    image.format = PNG_FORMAT_RGB;
    // With out == NULL libpng reports the size needed in *out_size.
    if (!png_image_write_to_memory(&image, out, out_size, 0, pixels, (png_int_32)stride, NULL)) {
        png_image_free(&image);
        return FG_CODEC_CORRUPT;
    }
    return FG_CODEC_OK;
}
