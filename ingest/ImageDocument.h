#pragma once
// Image files decoded to 8-bit RGB with the JPEG EXIF orientation applied: JPEG by libjpeg-turbo
// with PIL's settings (accurate integer IDCT, fancy chroma upsampling; grey and CMYK converted as
// PIL's convert("RGB") does), so the pixels are PIL's; WebP, TIFF and HEIF (HEIC, AVIF) by their
// own libraries (ImageCodecs.h); PNG, BMP, GIF first frame, TGA, PSD, ... by stb_image. The
// pixels are then turned into the pixel values Gemma 3's SigLIP vision encoder expects: the same
// numbers transformers' Gemma3ImageProcessor produces with the gemma-3 preprocessor config (PIL
// bilinear resize with antialiasing to 896x896, rescale by 1/255, normalise with mean 0.5 and std
// 0.5, channels first).
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string_view>
#include <vector>

#include "core/Result.h"

namespace strata {

constexpr uint64_t kDefaultMaxImagePixels = uint64_t(64) << 20;    // 64 megapixels
constexpr size_t kDefaultMaxImageFileBytes = size_t(256) << 20;    // 256 MiB
constexpr int kGemma3ImageSize = 896;

// Interleaved 8-bit RGB, rows top to bottom, width * height * 3 bytes.
struct RgbImage {
    int width = 0;
    int height = 0;
    std::vector<uint8_t> pixels;
};

struct ImageLimits {
    uint64_t maxPixels = kDefaultMaxImagePixels;  // checked from the header, before decoding
    size_t maxFileBytes = kDefaultMaxImageFileBytes;
};

// Decodes an image file to RGB (alpha dropped, grey replicated, as PIL's convert("RGB") does) and
// applies a JPEG's EXIF orientation. A missing, empty, truncated, unsupported or too large file
// is a badInput error naming the file and the decoder's reason.
Result<RgbImage> readImageFile(const std::filesystem::path& file, const ImageLimits& limits = {});

// The same for bytes already in memory; name is what error messages call them.
Result<RgbImage> decodeImage(const uint8_t* data, size_t size, std::string_view name,
                             const ImageLimits& limits = {});

// The EXIF orientation (1..8) in a JPEG's APP1 Exif segment, or 1 when there is none or the
// data is not a JPEG or the segment is malformed.
int jpegExifOrientation(const uint8_t* data, size_t size);

// The image as displayed for an EXIF orientation 1..8 (2: mirrored, 3: rotated 180, 4: flipped,
// 5: transposed, 6: needs 90 degrees clockwise, 7: transversed, 8: needs 90 counter-clockwise).
// Other values leave it unchanged.
RgbImage applyExifOrientation(const RgbImage& image, int orientation);

// PIL's Image.resize(..., BILINEAR) on an RGB uint8 image: separable triangle filter whose
// support grows with the downscale factor (antialiasing), fixed-point weights, horizontal pass
// then vertical, each rounded to uint8. Width and height must be positive.
RgbImage resizeBilinearAntialiased(const RgbImage& image, int width, int height);

// Gemma 3 pixel values: resized to size x size, (v / 255 - 0.5) / 0.5, planar RGB (3 * size *
// size floats, channel-major).
std::vector<float> gemma3PixelValues(const RgbImage& image, int size = kGemma3ImageSize);

// readImageFile followed by gemma3PixelValues.
Result<std::vector<float>> readGemma3PixelValues(const std::filesystem::path& file,
                                                 const ImageLimits& limits = {});

}  // namespace strata
