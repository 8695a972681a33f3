#pragma once
// The image formats stb_image does not read, each through its maintained library: WebP (libwebp;
// an animation gives its first frame, as a GIF does), TIFF (libtiff; the first page) and HEIF
// with HEIC or AVIF inside (libheif). Each checks the pixel limit from the header before it
// decodes, and turns the library's complaint into a badInput error naming the file.
#include <cstddef>
#include <cstdint>
#include <string>

#include "ImageDocument.h"
#include "core/Result.h"

namespace strata {

bool isWebp(const uint8_t* data, size_t size);
bool isTiff(const uint8_t* data, size_t size);
// An ISO base media file ('ftyp' box) whose brands say HEIF, HEIC or AVIF.
bool isHeif(const uint8_t* data, size_t size);

Result<RgbImage> decodeWebp(const uint8_t* data, size_t size, const std::string& who, const ImageLimits& limits);
Result<RgbImage> decodeTiff(const uint8_t* data, size_t size, const std::string& who, const ImageLimits& limits);
Result<RgbImage> decodeHeif(const uint8_t* data, size_t size, const std::string& who, const ImageLimits& limits);

// "who: image is WxH (N pixels), over the limit of M pixels"
Error imageTooLarge(const std::string& who, uint64_t width, uint64_t height, const ImageLimits& limits);

}  // namespace strata
