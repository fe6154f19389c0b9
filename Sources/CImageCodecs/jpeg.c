#include "CImageCodecs.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>
#include <jerror.h>

// libjpeg's default error_exit calls exit(); this one jumps back to the shim function that started the work.
typedef struct {
    struct jpeg_error_mgr base;
    jmp_buf jump;
    fg_image_info *info;
    int hit_eof;
} fg_jpeg_error;

static void fg_jpeg_error_exit(j_common_ptr cinfo) {
    fg_jpeg_error *err = (fg_jpeg_error *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, err->info->message);
    longjmp(err->jump, 1);
}

// Warnings (level -1) are counted, never printed; premature end of data is remembered so the caller can refuse
// truncated files instead of returning the grey-filled rest libjpeg invents.
static void fg_jpeg_emit_message(j_common_ptr cinfo, int level) {
    fg_jpeg_error *err = (fg_jpeg_error *)cinfo->err;
    if (level >= 0) return;
    err->info->warnings++;
    if (cinfo->err->msg_code == JWRN_JPEG_EOF) err->hit_eof = 1;
    (*cinfo->err->format_message)(cinfo, err->info->message);
}

static void fg_jpeg_setup(struct jpeg_decompress_struct *cinfo, fg_jpeg_error *err, fg_image_info *info) {
    memset(info, 0, sizeof(*info));
    cinfo->err = jpeg_std_error(&err->base);
    err->base.error_exit = fg_jpeg_error_exit;
    err->base.emit_message = fg_jpeg_emit_message;
    err->info = info;
    err->hit_eof = 0;
}

static void fg_jpeg_prepare(struct jpeg_decompress_struct *cinfo, int scale_denom, fg_image_info *info) {
    info->source_width = (int)cinfo->image_width;
    info->source_height = (int)cinfo->image_height;
    info->channels = cinfo->num_components;
    info->is_progressive = jpeg_has_multiple_scans(cinfo) ? 1 : 0;
    cinfo->scale_num = 1;
    cinfo->scale_denom = (unsigned)scale_denom;
    cinfo->dct_method = JDCT_ISLOW;
    // CMYK/YCCK are decoded as CMYK and converted below; everything else (grey, YCbCr, RGB) libjpeg turns into RGB.
    cinfo->out_color_space =
        (cinfo->jpeg_color_space == JCS_CMYK || cinfo->jpeg_color_space == JCS_YCCK) ? JCS_CMYK : JCS_RGB;
    jpeg_calc_output_dimensions(cinfo);
    info->width = (int)cinfo->output_width;
    info->height = (int)cinfo->output_height;
}

static int valid_scale(int d) { return d == 1 || d == 2 || d == 4 || d == 8; }

fg_codec_status fg_jpeg_read_info(const uint8_t *data, size_t size, int scale_denom, fg_image_info *info) {
    if (!data || !info || !valid_scale(scale_denom)) return FG_CODEC_BAD_ARGUMENT;
    struct jpeg_decompress_struct cinfo;
    fg_jpeg_error err;
    fg_jpeg_setup(&cinfo, &err, info);
    if (setjmp(err.jump)) {
        int eof = err.hit_eof;
        jpeg_destroy_decompress(&cinfo);
        return eof ? FG_CODEC_TRUNCATED : FG_CODEC_CORRUPT;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    if (jpeg_read_header(&cinfo, TRUE) != JPEG_HEADER_OK) {
        jpeg_destroy_decompress(&cinfo);
        return FG_CODEC_CORRUPT;
    }
    fg_jpeg_prepare(&cinfo, scale_denom, info);
    int eof = err.hit_eof;
    jpeg_destroy_decompress(&cinfo);
    return eof ? FG_CODEC_TRUNCATED : FG_CODEC_OK;
}

fg_codec_status fg_jpeg_decode_rgb(const uint8_t *data, size_t size, int scale_denom, uint8_t *out,
                                   size_t out_stride, fg_image_info *info) {
    if (!data || !out || !info || !valid_scale(scale_denom)) return FG_CODEC_BAD_ARGUMENT;
    struct jpeg_decompress_struct cinfo;
    fg_jpeg_error err;
    JSAMPLE *volatile cmyk_row = NULL;
    fg_jpeg_setup(&cinfo, &err, info);
    if (setjmp(err.jump)) {
        int eof = err.hit_eof;
        free(cmyk_row);
        jpeg_destroy_decompress(&cinfo);
        return eof ? FG_CODEC_TRUNCATED : FG_CODEC_CORRUPT;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    jpeg_save_markers(&cinfo, JPEG_APP0 + 14, 0);  // only to learn whether an Adobe marker is present
    if (jpeg_read_header(&cinfo, TRUE) != JPEG_HEADER_OK) {
        jpeg_destroy_decompress(&cinfo);
        return FG_CODEC_CORRUPT;
    }
    fg_jpeg_prepare(&cinfo, scale_denom, info);
    if (out_stride < (size_t)info->width * 3) {
        jpeg_destroy_decompress(&cinfo);
        return FG_CODEC_BAD_ARGUMENT;
    }
    int cmyk = cinfo.out_color_space == JCS_CMYK;
    jpeg_start_decompress(&cinfo);
    if (cmyk) {
        cmyk_row = malloc((size_t)cinfo.output_width * 4);
        if (!cmyk_row) {
            jpeg_destroy_decompress(&cinfo);
            return FG_CODEC_NO_MEMORY;
        }
    }
    // Adobe writes CMYK inverted (0 = full ink); files without the Adobe marker are taken as plain CMYK.
    int inverted = cinfo.saw_Adobe_marker;
    while (cinfo.output_scanline < cinfo.output_height) {
        uint8_t *dst = out + (size_t)cinfo.output_scanline * out_stride;
        if (!cmyk) {
            JSAMPROW row = dst;
            jpeg_read_scanlines(&cinfo, &row, 1);
            continue;
        }
        JSAMPROW row = cmyk_row;
        jpeg_read_scanlines(&cinfo, &row, 1);
        for (JDIMENSION x = 0; x < cinfo.output_width; x++) {
            unsigned c = cmyk_row[4 * x], m = cmyk_row[4 * x + 1], y = cmyk_row[4 * x + 2], k = cmyk_row[4 * x + 3];
            if (!inverted) { c = 255 - c; m = 255 - m; y = 255 - y; k = 255 - k; }
            dst[3 * x] = (uint8_t)((c * k + 127) / 255);
            dst[3 * x + 1] = (uint8_t)((m * k + 127) / 255);
            dst[3 * x + 2] = (uint8_t)((y * k + 127) / 255);
        }
    }
    int eof = err.hit_eof;
    // The progressive decoder stops early on truncated data; what it has shown so far is in the output already.
    int complete_scans = cinfo.input_scan_number;
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    free(cmyk_row);
    if (eof) {
        // Policy (README): a baseline JPEG cut short is refused; a progressive one is accepted when its first
        // scan (a complete, lower-detail picture) arrived, since later scans only refine it.
        if (!info->is_progressive || complete_scans <= 1) return FG_CODEC_TRUNCATED;
    }
    return FG_CODEC_OK;
}
