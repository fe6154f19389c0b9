// Thin C shim over libjpeg-turbo, libpng and libwebp. Its only job is to call the libraries safely: libjpeg's
// error exits become return codes (setjmp/longjmp never crosses into Swift), and every decoder writes RGB8 rows
// into a buffer Swift allocated after checking the header. Format sniffing, limits, EXIF and resizing are Swift.
#ifndef FACEGATE_CIMAGECODECS_H
#define FACEGATE_CIMAGECODECS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    FG_CODEC_OK = 0,
    FG_CODEC_CORRUPT = 1,      // the data is not a valid image of that format
    FG_CODEC_TRUNCATED = 2,    // the data ends before the image does
    FG_CODEC_UNSUPPORTED = 3,  // a valid file using a feature the shim does not decode
    FG_CODEC_NO_MEMORY = 4,
    FG_CODEC_BAD_ARGUMENT = 5, // the caller's buffer does not fit the image
} fg_codec_status;

typedef struct {
    int width;            // of the output the decode call will produce (after JPEG DCT scaling)
    int height;
    int source_width;     // as stored in the file
    int source_height;
    int channels;         // of the stored image (1 grey, 2 grey+alpha, 3 colour, 4 colour+alpha or CMYK)
    int has_alpha;
    int is_progressive;   // JPEG progressive / PNG interlaced
    int is_animated;      // WebP animation (the first frame is decoded)
    int warnings;         // tolerated libjpeg warnings (corrupt-but-recoverable data)
    char message[160];    // the library's own words for the last error or warning
} fg_image_info;

// JPEG. scale_denom is 1, 2, 4 or 8 (DCT scaling: output is ceil(size / scale_denom)).
fg_codec_status fg_jpeg_read_info(const uint8_t *data, size_t size, int scale_denom, fg_image_info *info);
fg_codec_status fg_jpeg_decode_rgb(const uint8_t *data, size_t size, int scale_denom, uint8_t *out,
                                   size_t out_stride, fg_image_info *info);

// PNG (every colour type, bit depth and interlacing); alpha is composited on white.
fg_codec_status fg_png_read_info(const uint8_t *data, size_t size, fg_image_info *info);
// Encodes 8-bit RGB pixels as PNG into out (capacity *out_size; pass out = NULL to learn the size needed).
fg_codec_status fg_png_encode_rgb(const uint8_t *pixels, int width, int height, size_t stride, uint8_t *out,
                                  size_t *out_size);
fg_codec_status fg_png_decode_rgb(const uint8_t *data, size_t size, uint8_t *out, size_t out_stride,
                                  fg_image_info *info);

// WebP (lossy, lossless, alpha, animated: first frame); alpha is composited on white.
fg_codec_status fg_webp_read_info(const uint8_t *data, size_t size, fg_image_info *info);
fg_codec_status fg_webp_decode_rgb(const uint8_t *data, size_t size, uint8_t *out, size_t out_stride,
                                   fg_image_info *info);

#ifdef __cplusplus
}
#endif

#endif
