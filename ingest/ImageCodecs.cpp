#include "ImageCodecs.h"

#include <libheif/heif.h>
#include <tiffio.h>
#include <webp/decode.h>
#include <webp/demux.h>

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string_view>

namespace strata {

namespace {

// libtiff may allocate this much in one piece (strips, tiles, the RGBA raster); the pixel limit
// is checked before, so only a damaged file asks for more.
constexpr tmsize_t kMaxTiffAllocation = tmsize_t(1) << 30;

const char* webpStatusName(VP8StatusCode status) {
    switch (status) {
    case VP8_STATUS_OUT_OF_MEMORY: return "out of memory";
    case VP8_STATUS_INVALID_PARAM: return "invalid parameter";
    case VP8_STATUS_BITSTREAM_ERROR: return "corrupt bitstream";
    case VP8_STATUS_UNSUPPORTED_FEATURE: return "unsupported feature";
    case VP8_STATUS_SUSPENDED: return "suspended";
    case VP8_STATUS_USER_ABORT: return "aborted";
    case VP8_STATUS_NOT_ENOUGH_DATA: return "truncated: not enough data";
    case VP8_STATUS_OK: return "ok";
    }
    return "unknown error";
}

// The first frame of an animated WebP, composited as the animation shows it, alpha dropped.
Result<RgbImage> firstWebpFrame(const uint8_t* data, size_t size, const std::string& who) {
    WebPAnimDecoderOptions options;
    if (!WebPAnimDecoderOptionsInit(&options))
        return internalError(who + ": libwebp's animation decoder is not the version Strata was built with");
    options.color_mode = MODE_RGBA;
    options.use_threads = 0;
    const WebPData webp{data, size};
    std::unique_ptr<WebPAnimDecoder, void (*)(WebPAnimDecoder*)> decoder(WebPAnimDecoderNew(&webp, &options),
                                                                        WebPAnimDecoderDelete);
    WebPAnimInfo info;
    if (!decoder || !WebPAnimDecoderGetInfo(decoder.get(), &info))
        return badInput(who + ": damaged animated WebP image (its frames cannot be read)");
    uint8_t* rgba = nullptr;
    int timestamp = 0;
    if (!WebPAnimDecoderGetNext(decoder.get(), &rgba, &timestamp) || !rgba)
        return badInput(who + ": damaged animated WebP image (its first frame cannot be decoded)");
    RgbImage image{int(info.canvas_width), int(info.canvas_height), {}};
    const size_t pixels = size_t(info.canvas_width) * info.canvas_height;
    image.pixels.resize(pixels * 3);
    for (size_t i = 0; i < pixels; ++i)
        std::memcpy(&image.pixels[i * 3], rgba + i * 4, 3);
    return image;
}

// libtiff reads through these from the file's bytes in memory.
struct TiffMemory {
    const uint8_t* data;
    size_t size;
    size_t position = 0;
    std::string firstError;
};

tmsize_t tiffRead(thandle_t handle, void* buffer, tmsize_t count) {
    auto* m = static_cast<TiffMemory*>(handle);
    const size_t n = std::min(size_t(std::max<tmsize_t>(count, 0)), m->size - std::min(m->position, m->size));
    std::memcpy(buffer, m->data + m->position, n);
    m->position += n;
    return tmsize_t(n);
}
tmsize_t tiffWrite(thandle_t, void*, tmsize_t) { return 0; }
toff_t tiffSeek(thandle_t handle, toff_t offset, int whence) {
    auto* m = static_cast<TiffMemory*>(handle);
    const toff_t base = whence == SEEK_CUR ? m->position : whence == SEEK_END ? m->size : 0;
    m->position = size_t(base + offset);
    return m->position;
}
int tiffClose(thandle_t) { return 0; }
toff_t tiffSize(thandle_t handle) { return static_cast<TiffMemory*>(handle)->size; }
int tiffMap(thandle_t, void**, toff_t*) { return 0; }
void tiffUnmap(thandle_t, void*, toff_t) {}

// libtiff's first complaint names the fault; it is kept for the error instead of going to stderr.
int tiffError(TIFF*, void* user, const char* module, const char* format, va_list args) {
    auto* m = static_cast<TiffMemory*>(user);
    if (m->firstError.empty()) {
        char text[512];
        std::vsnprintf(text, sizeof text, format, args);
        m->firstError = text;
    }
    return 1;
}
int tiffWarning(TIFF*, void*, const char*, const char*, va_list) { return 1; }

std::string heifReason(const heif_error& error) {
    return error.message && *error.message ? error.message : "libheif error " + std::to_string(int(error.code));
}

}  // namespace

Error imageTooLarge(const std::string& who, uint64_t w, uint64_t h, const ImageLimits& limits) {
    return badInput(who + ": image is " + std::to_string(w) + "x" + std::to_string(h) + " (" +
                    std::to_string(w * h) + " pixels), over the limit of " + std::to_string(limits.maxPixels) +
                    " pixels");
}

bool isWebp(const uint8_t* data, size_t size) {
    return size >= 12 && std::memcmp(data, "RIFF", 4) == 0 && std::memcmp(data + 8, "WEBP", 4) == 0;
}

bool isTiff(const uint8_t* data, size_t size) {
    static constexpr std::string_view kMagic[] = {{"II*\0", 4}, {"MM\0*", 4}, {"II+\0", 4}, {"MM\0+", 4}};
    return size >= 8 && std::any_of(std::begin(kMagic), std::end(kMagic), [&](std::string_view m) {
               return std::memcmp(data, m.data(), 4) == 0;
           });
}

bool isHeif(const uint8_t* data, size_t size) {
    if (size < 12 || std::memcmp(data + 4, "ftyp", 4) != 0)
        return false;
    // libheif's own check reads the brands.
    const heif_filetype_result kind = heif_check_filetype(data, int(std::min<size_t>(size, 1 << 16)));
    return kind == heif_filetype_yes_supported || kind == heif_filetype_yes_unsupported ||
           kind == heif_filetype_maybe;
}

Result<RgbImage> decodeWebp(const uint8_t* data, size_t size, const std::string& who, const ImageLimits& limits) {
    WebPBitstreamFeatures features;
    const VP8StatusCode status = WebPGetFeatures(data, size, &features);
    if (status != VP8_STATUS_OK)
        return badInput(who + ": damaged WebP image (" + webpStatusName(status) + ")");
    if (features.width <= 0 || features.height <= 0)
        return badInput(who + ": WebP image has no pixels");
    if (uint64_t(features.width) * uint64_t(features.height) > limits.maxPixels)
        return imageTooLarge(who, uint64_t(features.width), uint64_t(features.height), limits);
    if (features.has_animation)
        return firstWebpFrame(data, size, who);

    WebPDecoderConfig config;
    if (!WebPInitDecoderConfig(&config))
        return internalError(who + ": libwebp is not the version Strata was built with");
    // Colour channels without alpha: what PIL's convert("RGB") keeps.
    config.output.colorspace = MODE_RGB;
    const VP8StatusCode decoded = WebPDecode(data, size, &config);
    std::unique_ptr<WebPDecBuffer, void (*)(WebPDecBuffer*)> output(&config.output, WebPFreeDecBuffer);
    if (decoded != VP8_STATUS_OK)
        return badInput(who + ": damaged WebP image (" + webpStatusName(decoded) + ")");
    const WebPRGBABuffer& rgb = config.output.u.RGBA;
    RgbImage image{config.output.width, config.output.height, {}};
    const size_t row = size_t(image.width) * 3;
    image.pixels.resize(row * size_t(image.height));
    for (int y = 0; y < image.height; ++y)
        std::memcpy(&image.pixels[size_t(y) * row], rgb.rgba + size_t(y) * size_t(rgb.stride), row);
    return image;
}

Result<RgbImage> decodeTiff(const uint8_t* data, size_t size, const std::string& who, const ImageLimits& limits) {
    TiffMemory memory{data, size, 0, {}};
    std::unique_ptr<TIFFOpenOptions, void (*)(TIFFOpenOptions*)> options(TIFFOpenOptionsAlloc(), TIFFOpenOptionsFree);
    if (!options)
        return internalError(who + ": out of memory opening a TIFF image");
    TIFFOpenOptionsSetErrorHandlerExtR(options.get(), tiffError, &memory);
    TIFFOpenOptionsSetWarningHandlerExtR(options.get(), tiffWarning, &memory);
    TIFFOpenOptionsSetMaxSingleMemAlloc(options.get(), kMaxTiffAllocation);
    // "m": no memory mapping (the bytes are already in memory).
    std::unique_ptr<TIFF, void (*)(TIFF*)> tiff(TIFFClientOpenExt(who.c_str(), "rm", &memory, tiffRead, tiffWrite,
                                                                  tiffSeek, tiffClose, tiffSize, tiffMap, tiffUnmap,
                                                                  options.get()),
                                                TIFFClose);
    const auto failure = [&](const std::string& what) {
        return badInput(who + ": " + what + (memory.firstError.empty() ? "" : " (libtiff: " + memory.firstError + ")"));
    };
    if (!tiff)
        return failure("damaged TIFF image");
    uint32_t width = 0, height = 0;
    if (!TIFFGetField(tiff.get(), TIFFTAG_IMAGEWIDTH, &width) || !TIFFGetField(tiff.get(), TIFFTAG_IMAGELENGTH, &height) ||
        width == 0 || height == 0)
        return failure("TIFF image without a width and height");
    if (uint64_t(width) * height > limits.maxPixels)
        return imageTooLarge(who, width, height, limits);
    char reason[1024] = {};
    if (!TIFFRGBAImageOK(tiff.get(), reason))
        return failure(std::string("unsupported TIFF image: ") + reason);
    std::vector<uint32_t> raster(size_t(width) * height);
    if (!TIFFReadRGBAImageOriented(tiff.get(), width, height, raster.data(), ORIENTATION_TOPLEFT, 0))
        return failure("damaged TIFF image (its pixels cannot be read)");
    RgbImage image{int(width), int(height), std::vector<uint8_t>(raster.size() * 3)};
    for (size_t i = 0; i < raster.size(); ++i) {
        image.pixels[i * 3 + 0] = uint8_t(TIFFGetR(raster[i]));
        image.pixels[i * 3 + 1] = uint8_t(TIFFGetG(raster[i]));
        image.pixels[i * 3 + 2] = uint8_t(TIFFGetB(raster[i]));
    }
    return image;
}

Result<RgbImage> decodeHeif(const uint8_t* data, size_t size, const std::string& who, const ImageLimits& limits) {
    std::unique_ptr<heif_context, void (*)(heif_context*)> context(heif_context_alloc(), heif_context_free);
    if (!context)
        return internalError(who + ": out of memory opening a HEIF image");
    heif_error error = heif_context_read_from_memory_without_copy(context.get(), data, size, nullptr);
    if (error.code != heif_error_Ok)
        return badInput(who + ": damaged or unsupported HEIF image (" + heifReason(error) + ")");
    heif_image_handle* rawHandle = nullptr;
    error = heif_context_get_primary_image_handle(context.get(), &rawHandle);
    std::unique_ptr<heif_image_handle, void (*)(const heif_image_handle*)> handle(rawHandle, heif_image_handle_release);
    if (error.code != heif_error_Ok || !handle)
        return badInput(who + ": HEIF image without a primary image (" + heifReason(error) + ")");
    const int width = heif_image_handle_get_width(handle.get());
    const int height = heif_image_handle_get_height(handle.get());
    if (width <= 0 || height <= 0)
        return badInput(who + ": HEIF image has no pixels");
    if (uint64_t(width) * uint64_t(height) > limits.maxPixels)
        return imageTooLarge(who, uint64_t(width), uint64_t(height), limits);
    heif_image* rawImage = nullptr;
    // Rotation and mirroring stored in the file are applied, as a viewer shows the picture.
    std::unique_ptr<heif_decoding_options, void (*)(heif_decoding_options*)> options(heif_decoding_options_alloc(),
                                                                                      heif_decoding_options_free);
    if (!options)
        return internalError(who + ": out of memory decoding a HEIF image");
    options->convert_hdr_to_8bit = 1;  // 10-bit HDR photos become the 8-bit RGB every reader takes
    error = heif_decode_image(handle.get(), &rawImage, heif_colorspace_RGB, heif_chroma_interleaved_RGB, options.get());
    std::unique_ptr<heif_image, void (*)(const heif_image*)> decoded(rawImage, heif_image_release);
    if (error.code != heif_error_Ok || !decoded)
        return badInput(who + ": cannot decode HEIF image (" + heifReason(error) + ")");
    int stride = 0;
    const uint8_t* plane = heif_image_get_plane_readonly(decoded.get(), heif_channel_interleaved, &stride);
    const int outWidth = heif_image_get_width(decoded.get(), heif_channel_interleaved);
    const int outHeight = heif_image_get_height(decoded.get(), heif_channel_interleaved);
    if (!plane || outWidth <= 0 || outHeight <= 0 || stride < outWidth * 3 ||
        heif_image_get_bits_per_pixel_range(decoded.get(), heif_channel_interleaved) != 8)
        return badInput(who + ": HEIF image decoded to an unexpected pixel layout");
    RgbImage image{outWidth, outHeight, {}};
    const size_t row = size_t(outWidth) * 3;
    image.pixels.resize(row * size_t(outHeight));
    for (int y = 0; y < outHeight; ++y)
        std::memcpy(&image.pixels[size_t(y) * row], plane + size_t(y) * size_t(stride), row);
    return image;
}

}  // namespace strata
