#include "ImageDocument.h"

#include <algorithm>
#include <cerrno>
#include <csetjmp>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <system_error>

#include "ImageCodecs.h"

#include <jpeglib.h>
#include <jerror.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wall"
#pragma GCC diagnostic ignored "-Wextra"
#pragma GCC diagnostic ignored "-Wconversion"
#pragma GCC diagnostic ignored "-Wsign-conversion"
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wold-style-cast"
#pragma GCC diagnostic ignored "-Wuseless-cast"
#pragma GCC diagnostic ignored "-Wdouble-promotion"
#pragma GCC diagnostic ignored "-Wcast-qual"
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#define STBI_NO_STDIO
// JPEG goes to libjpeg (see decodeJpeg); stb's own JPEG decoder is left out so that no input,
// however its first bytes look, reaches it.
#define STBI_NO_JPEG
#define STB_IMAGE_IMPLEMENTATION
#include <stb_image.h>
#pragma GCC diagnostic pop

namespace strata {

namespace {

struct FileCloser {
    void operator()(std::FILE* f) const { std::fclose(f); }
};

std::string failureReason() {
    const char* reason = stbi_failure_reason();
    return reason ? reason : "unknown reason";
}

// Reads through an EXIF TIFF block, which may be either byte order; every read is bounds-checked
// by the caller through fits().
struct TiffReader {
    const uint8_t* base;
    size_t size;
    bool bigEndian;

    bool fits(size_t offset, size_t length) const { return offset <= size && length <= size - offset; }
    uint16_t u16(size_t offset) const {
        const uint16_t a = base[offset], b = base[offset + 1];
        return static_cast<uint16_t>(bigEndian ? (a << 8) | b : (b << 8) | a);
    }
    uint32_t u32(size_t offset) const {
        const uint32_t hi = u16(offset), lo = u16(offset + 2);
        return bigEndian ? (hi << 16) | lo : (lo << 16) | hi;
    }
};

int orientationFromTiff(const uint8_t* tiff, size_t size) {
    if (size < 8)
        return 1;
    TiffReader r{tiff, size, false};
    if (tiff[0] == 'M' && tiff[1] == 'M')
        r.bigEndian = true;
    else if (!(tiff[0] == 'I' && tiff[1] == 'I'))
        return 1;
    if (r.u16(2) != 42)
        return 1;
    const size_t ifd = r.u32(4);
    if (!r.fits(ifd, 2))
        return 1;
    const size_t entries = r.u16(ifd);
    for (size_t i = 0; i < entries; ++i) {
        const size_t entry = ifd + 2 + i * 12;
        if (!r.fits(entry, 12))
            return 1;
        if (r.u16(entry) != 0x0112)
            continue;
        const uint16_t type = r.u16(entry + 2);
        const uint32_t count = r.u32(entry + 4);
        if (count != 1)
            return 1;
        // SHORT per the spec; some writers use LONG.
        const uint32_t value = type == 3 ? r.u16(entry + 8) : type == 4 ? r.u32(entry + 8) : 0;
        return value >= 1 && value <= 8 ? static_cast<int>(value) : 1;
    }
    return 1;
}

// A PNG's IHDR width and height, read before stb_image sees the file: stb refuses huge claims with
// a bare "too large", and the limit message should say what the file claims.
bool pngHeaderSize(const uint8_t* data, size_t size, uint64_t* width, uint64_t* height) {
    static constexpr uint8_t kSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    if (size < 24 || std::memcmp(data, kSignature, 8) != 0 || std::memcmp(data + 12, "IHDR", 4) != 0)
        return false;
    const auto be32 = [&](size_t o) {
        return (uint64_t(data[o]) << 24) | (uint64_t(data[o + 1]) << 16) |
               (uint64_t(data[o + 2]) << 8) | uint64_t(data[o + 3]);
    };
    *width = be32(16);
    *height = be32(20);
    return true;
}

// PIL's test for a JPEG: start-of-image, then the next marker.
bool isJpeg(const uint8_t* data, size_t size) {
    return size >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF;
}

// libjpeg reports errors through error_exit, which must not return; it jumps back to the setjmp in
// runJpegDecode. Everything that function touches after setjmp lives in JpegJob or in libjpeg's own
// pools, so nothing with a destructor is skipped by the jump.
struct JpegErrorManager {
    jpeg_error_mgr base;  // first, so libjpeg's pointer to it is a pointer to the whole
    std::jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
};

enum class JpegOutcome { Decoded, Failed, TooLarge };

struct JpegJob {
    const uint8_t* data = nullptr;
    size_t size = 0;
    uint64_t maxPixels = 0;
    uint64_t width = 0;
    uint64_t height = 0;
    uint8_t* pixels = nullptr;  // std::malloc'ed RGB, the caller frees it whatever the outcome
    char message[JMSG_LENGTH_MAX] = {};
};

// Progressive files re-read every coefficient once per scan; a real one has about ten scans, a
// damaged one can declare thousands in a few kilobytes.
constexpr int kMaxJpegScans = 500;

[[noreturn]] void jpegFail(j_common_ptr cinfo) {
    auto* err = reinterpret_cast<JpegErrorManager*>(cinfo->err);
    std::longjmp(err->jump, 1);
}

[[noreturn]] void jpegErrorExit(j_common_ptr cinfo) {
    auto* err = reinterpret_cast<JpegErrorManager*>(cinfo->err);
    (*cinfo->err->format_message)(cinfo, err->message);
    jpegFail(cinfo);
}

// libjpeg carries on past damaged or missing entropy-coded data, filling what it lost with grey
// and only warning; such a picture is refused as a damaged file. Other warnings (an unknown JFIF
// version, stray bytes between markers) leave the pixels intact and are ignored, as PIL does.
void jpegEmitMessage(j_common_ptr cinfo, int level) {
    if (level != -1)
        return;
    switch (cinfo->err->msg_code) {
    case JWRN_JPEG_EOF:
    case JWRN_HIT_MARKER:
    case JWRN_HUFF_BAD_CODE:
    case JWRN_MUST_RESYNC:
    case JWRN_NOT_SEQUENTIAL:
        jpegErrorExit(cinfo);
    default:
        cinfo->err->num_warnings++;
    }
}

void jpegOutputMessage(j_common_ptr) {}

void jpegProgress(j_common_ptr cinfo) {
    const auto* d = reinterpret_cast<j_decompress_ptr>(cinfo);
    if (d->input_scan_number > kMaxJpegScans) {
        auto* err = reinterpret_cast<JpegErrorManager*>(cinfo->err);
        std::snprintf(err->message, sizeof err->message, "more than %d progressive scans", kMaxJpegScans);
        jpegFail(cinfo);
    }
}

// PIL reads a 4-component JPEG as CMYK stored inverted (Adobe's convention) and converts it to
// RGB as 255 - k - c * (255 - k) / 255 per channel, rounded; libjpeg hands back the stored values.
void cmykRowToRgb(const JSAMPLE* in, uint8_t* out, JDIMENSION width) {
    for (JDIMENSION x = 0; x < width; ++x) {
        const int k = in[x * 4 + 3];  // stored inverted: 255 - K
        for (int c = 0; c < 3; ++c) {
            const int cyan = 255 - in[x * 4 + JDIMENSION(c)];
            const int t = cyan * k + 128;
            out[x * 3 + JDIMENSION(c)] = static_cast<uint8_t>(std::clamp(k - (((t >> 8) + t) >> 8), 0, 255));
        }
    }
}

// The libjpeg part of decodeImage for a JPEG, kept free of C++ objects (see JpegErrorManager).
// PIL decodes with libjpeg's defaults, the accurate integer IDCT (JDCT_ISLOW) and fancy chroma
// upsampling, and so does this.
JpegOutcome runJpegDecode(JpegJob* job) {
    jpeg_decompress_struct cinfo;
    JpegErrorManager err;
    jpeg_progress_mgr progress;
    cinfo.err = jpeg_std_error(&err.base);
    err.base.error_exit = jpegErrorExit;
    err.base.emit_message = jpegEmitMessage;
    err.base.output_message = jpegOutputMessage;
    err.message[0] = '\0';
    if (setjmp(err.jump)) {
        std::memcpy(job->message, err.message, sizeof job->message);
        jpeg_destroy_decompress(&cinfo);
        return JpegOutcome::Failed;
    }
    jpeg_create_decompress(&cinfo);
    progress.progress_monitor = jpegProgress;
    cinfo.progress = &progress;
    jpeg_mem_src(&cinfo, job->data, static_cast<unsigned long>(job->size));
    jpeg_read_header(&cinfo, TRUE);
    job->width = cinfo.image_width;
    job->height = cinfo.image_height;
    if (job->width * job->height > job->maxPixels) {
        jpeg_destroy_decompress(&cinfo);
        return JpegOutcome::TooLarge;
    }
    const bool cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
    cinfo.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
    cinfo.dct_method = JDCT_ISLOW;
    cinfo.do_fancy_upsampling = TRUE;
    jpeg_start_decompress(&cinfo);
    const JDIMENSION width = cinfo.output_width;
    const size_t stride = size_t(width) * 3;
    job->pixels = static_cast<uint8_t*>(std::malloc(stride * cinfo.output_height));
    if (!job->pixels) {
        std::snprintf(job->message, sizeof job->message, "out of memory for the decoded pixels");
        jpeg_destroy_decompress(&cinfo);
        return JpegOutcome::Failed;
    }
    JSAMPARRAY cmykRow = cmyk ? (*cinfo.mem->alloc_sarray)(reinterpret_cast<j_common_ptr>(&cinfo),
                                                          JPOOL_IMAGE, width * 4, 1)
                              : nullptr;
    while (cinfo.output_scanline < cinfo.output_height) {
        uint8_t* row = job->pixels + size_t(cinfo.output_scanline) * stride;
        if (cmyk) {
            jpeg_read_scanlines(&cinfo, cmykRow, 1);
            cmykRowToRgb(cmykRow[0], row, width);
        } else {
            JSAMPROW rows[1] = {row};
            jpeg_read_scanlines(&cinfo, rows, 1);
        }
    }
    job->width = cinfo.output_width;
    job->height = cinfo.output_height;
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    return JpegOutcome::Decoded;
}

// stb_image decodes a BMP or GIF cut short without complaint (missing pixels come out black), so
// their completeness is checked from the header: an uncompressed BMP needs its whole pixel array,
// and a GIF ends with the trailer byte 0x3B.
const char* truncation(const uint8_t* data, size_t size) {
    const auto le32 = [&](size_t o) {
        return uint32_t(data[o]) | (uint32_t(data[o + 1]) << 8) | (uint32_t(data[o + 2]) << 16) |
               (uint32_t(data[o + 3]) << 24);
    };
    if (size >= 6 && std::memcmp(data, "GIF8", 4) == 0)
        return data[size - 1] == 0x3B ? nullptr : "truncated GIF (no trailer)";
    if (size >= 34 && data[0] == 'B' && data[1] == 'M' && le32(14) >= 40) {
        const uint64_t offset = le32(10);
        const uint64_t width = static_cast<uint64_t>(std::llabs(static_cast<int32_t>(le32(18))));
        const uint64_t height = static_cast<uint64_t>(std::llabs(static_cast<int32_t>(le32(22))));
        const uint64_t bits = uint64_t(data[28]) | (uint64_t(data[29]) << 8);
        const uint32_t compression = le32(30);
        if (compression == 0 || compression == 3) {  // BI_RGB, BI_BITFIELDS: fixed-size rows
            const uint64_t stride = (bits * width + 31) / 32 * 4;
            if (offset + stride * height > size)
                return "truncated BMP (pixel data shorter than the header says)";
        }
    }
    return nullptr;
}

// PIL's bilinear filter and fixed-point precision for 8-bit images.
constexpr int kPrecisionBits = 32 - 8 - 2;

struct Coefficients {
    int taps = 0;                 // weights per output pixel
    std::vector<int> first;       // first input index per output pixel
    std::vector<int> count;       // input pixels used per output pixel
    std::vector<int32_t> weights; // taps per output pixel, fixed point
};

double triangle(double x) {
    x = std::fabs(x);
    return x < 1.0 ? 1.0 - x : 0.0;
}

Coefficients computeCoefficients(int inSize, int outSize) {
    const double scale = static_cast<double>(inSize) / outSize;
    const double filterScale = std::max(scale, 1.0);
    const double support = 1.0 * filterScale;
    Coefficients c;
    c.taps = static_cast<int>(std::ceil(support)) * 2 + 1;
    c.first.resize(static_cast<size_t>(outSize));
    c.count.resize(static_cast<size_t>(outSize));
    c.weights.assign(static_cast<size_t>(outSize) * static_cast<size_t>(c.taps), 0);
    std::vector<double> w(static_cast<size_t>(c.taps));
    for (int xx = 0; xx < outSize; ++xx) {
        const double center = (xx + 0.5) * scale;
        // Truncation toward zero, then clamping, as PIL does.
        const int xmin = std::max(static_cast<int>(center - support + 0.5), 0);
        const int xmax = std::min(static_cast<int>(center + support + 0.5), inSize) - xmin;
        double total = 0;
        int n = 0;
        for (; n < xmax && n < c.taps; ++n) {
            w[static_cast<size_t>(n)] = triangle((n + xmin - center + 0.5) / filterScale);
            total += w[static_cast<size_t>(n)];
        }
        int32_t* out = &c.weights[static_cast<size_t>(xx) * static_cast<size_t>(c.taps)];
        for (int k = 0; k < n; ++k) {
            const double v = (total != 0 ? w[static_cast<size_t>(k)] / total : 0.0) * (1 << kPrecisionBits);
            out[k] = static_cast<int32_t>(v < 0 ? std::trunc(v - 0.5) : std::trunc(v + 0.5));
        }
        c.first[static_cast<size_t>(xx)] = xmin;
        c.count[static_cast<size_t>(xx)] = n;
    }
    return c;
}

uint8_t clip8(int64_t sum) {
    const int64_t v = sum >> kPrecisionBits;
    return static_cast<uint8_t>(std::clamp<int64_t>(v, 0, 255));
}

RgbImage resizeHorizontal(const RgbImage& in, int outWidth) {
    const Coefficients c = computeCoefficients(in.width, outWidth);
    RgbImage out{outWidth, in.height, std::vector<uint8_t>(size_t(outWidth) * size_t(in.height) * 3)};
    for (int y = 0; y < in.height; ++y) {
        const uint8_t* row = &in.pixels[size_t(y) * size_t(in.width) * 3];
        uint8_t* dst = &out.pixels[size_t(y) * size_t(outWidth) * 3];
        for (int x = 0; x < outWidth; ++x) {
            const int32_t* k = &c.weights[size_t(x) * size_t(c.taps)];
            const uint8_t* src = row + size_t(c.first[size_t(x)]) * 3;
            int64_t s0 = 1 << (kPrecisionBits - 1), s1 = s0, s2 = s0;
            for (int i = 0; i < c.count[size_t(x)]; ++i) {
                s0 += int64_t(src[i * 3 + 0]) * k[i];
                s1 += int64_t(src[i * 3 + 1]) * k[i];
                s2 += int64_t(src[i * 3 + 2]) * k[i];
            }
            dst[x * 3 + 0] = clip8(s0);
            dst[x * 3 + 1] = clip8(s1);
            dst[x * 3 + 2] = clip8(s2);
        }
    }
    return out;
}

RgbImage resizeVertical(const RgbImage& in, int outHeight) {
    const Coefficients c = computeCoefficients(in.height, outHeight);
    const size_t stride = size_t(in.width) * 3;
    RgbImage out{in.width, outHeight, std::vector<uint8_t>(stride * size_t(outHeight))};
    std::vector<int64_t> sums(stride);
    for (int y = 0; y < outHeight; ++y) {
        const int32_t* k = &c.weights[size_t(y) * size_t(c.taps)];
        std::fill(sums.begin(), sums.end(), int64_t(1) << (kPrecisionBits - 1));
        for (int i = 0; i < c.count[size_t(y)]; ++i) {
            const uint8_t* src = &in.pixels[size_t(c.first[size_t(y)] + i) * stride];
            for (size_t j = 0; j < stride; ++j)
                sums[j] += int64_t(src[j]) * k[i];
        }
        uint8_t* dst = &out.pixels[size_t(y) * stride];
        for (size_t j = 0; j < stride; ++j)
            dst[j] = clip8(sums[j]);
    }
    return out;
}

}  // namespace

int jpegExifOrientation(const uint8_t* data, size_t size) {
    if (!data || !isJpeg(data, size))
        return 1;
    size_t pos = 2;
    while (pos + 4 <= size) {
        if (data[pos] != 0xFF)
            return 1;
        const uint8_t marker = data[pos + 1];
        if (marker == 0xFF) {  // fill byte
            ++pos;
            continue;
        }
        if (marker == 0xD8 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) {
            pos += 2;
            continue;
        }
        if (marker == 0xDA || marker == 0xD9)  // scan data or end: metadata comes before
            return 1;
        const size_t length = (size_t(data[pos + 2]) << 8) | data[pos + 3];
        if (length < 2 || length > size - pos - 2)
            return 1;
        const uint8_t* segment = data + pos + 4;
        const size_t segmentSize = length - 2;
        static constexpr uint8_t kExif[6] = {'E', 'x', 'i', 'f', 0, 0};
        if (marker == 0xE1 && segmentSize >= 6 && std::memcmp(segment, kExif, 6) == 0)
            return orientationFromTiff(segment + 6, segmentSize - 6);
        pos += 2 + length;
    }
    return 1;
}

RgbImage applyExifOrientation(const RgbImage& image, int orientation) {
    if (orientation < 2 || orientation > 8)
        return image;
    const int w = image.width, h = image.height;
    const bool swaps = orientation >= 5;
    RgbImage out{swaps ? h : w, swaps ? w : h, std::vector<uint8_t>(image.pixels.size())};
    for (int oy = 0; oy < out.height; ++oy) {
        for (int ox = 0; ox < out.width; ++ox) {
            int x = ox, y = oy;
            switch (orientation) {
            case 2: x = w - 1 - ox; break;
            case 3: x = w - 1 - ox; y = h - 1 - oy; break;
            case 4: y = h - 1 - oy; break;
            case 5: x = oy; y = ox; break;
            case 6: x = oy; y = h - 1 - ox; break;
            case 7: x = w - 1 - oy; y = h - 1 - ox; break;
            case 8: x = w - 1 - oy; y = ox; break;
            default: break;
            }
            const uint8_t* src = &image.pixels[(size_t(y) * size_t(w) + size_t(x)) * 3];
            uint8_t* dst = &out.pixels[(size_t(oy) * size_t(out.width) + size_t(ox)) * 3];
            dst[0] = src[0];
            dst[1] = src[1];
            dst[2] = src[2];
        }
    }
    return out;
}

namespace {

Result<RgbImage> decodeJpeg(const uint8_t* data, size_t size, const std::string& who,
                            const ImageLimits& limits) {
    JpegJob job;
    job.data = data;
    job.size = size;
    job.maxPixels = limits.maxPixels;
    const JpegOutcome outcome = runJpegDecode(&job);
    const std::unique_ptr<uint8_t, void (*)(void*)> pixels(job.pixels, std::free);
    if (outcome == JpegOutcome::TooLarge)
        return imageTooLarge(who, job.width, job.height, limits);
    if (outcome == JpegOutcome::Failed)
        return badInput(who + ": damaged or unsupported JPEG (" + job.message + ")");
    RgbImage image{static_cast<int>(job.width), static_cast<int>(job.height), {}};
    image.pixels.assign(pixels.get(), pixels.get() + job.width * job.height * 3);
    return applyExifOrientation(image, jpegExifOrientation(data, size));
}

}  // namespace

Result<RgbImage> decodeImage(const uint8_t* data, size_t size, std::string_view name,
                             const ImageLimits& limits) {
    const std::string who(name);
    if (!data || size == 0)
        return badInput(who + ": empty file, not an image");
    if (size > limits.maxFileBytes || size > size_t(INT_MAX))
        return badInput(who + ": " + std::to_string(size) + " bytes, larger than the limit of " +
                        std::to_string(std::min<size_t>(limits.maxFileBytes, INT_MAX)) +
                        " bytes for an image file");
    const auto tooLarge = [&](uint64_t w, uint64_t h) { return imageTooLarge(who, w, h, limits); };
    uint64_t pngW = 0, pngH = 0;
    if (pngHeaderSize(data, size, &pngW, &pngH) && pngW * pngH > limits.maxPixels)
        return tooLarge(pngW, pngH);
    if (isJpeg(data, size))
        return decodeJpeg(data, size, who, limits);
    if (isWebp(data, size))
        return decodeWebp(data, size, who, limits);
    if (isTiff(data, size))
        return decodeTiff(data, size, who, limits);
    if (isHeif(data, size))
        return decodeHeif(data, size, who, limits);
    const int length = static_cast<int>(size);
    int w = 0, h = 0, channels = 0;
    if (!stbi_info_from_memory(data, length, &w, &h, &channels))
        return badInput(who + ": not a readable image (" + failureReason() + ")");
    if (w <= 0 || h <= 0)
        return badInput(who + ": image has no pixels (" + std::to_string(w) + "x" +
                        std::to_string(h) + ")");
    if (uint64_t(w) * uint64_t(h) > limits.maxPixels)
        return tooLarge(uint64_t(w), uint64_t(h));

    if (const char* problem = truncation(data, size))
        return badInput(who + ": " + problem);

    int dw = 0, dh = 0, dc = 0;
    std::unique_ptr<stbi_uc, void (*)(void*)> decoded(
        stbi_load_from_memory(data, length, &dw, &dh, &dc, 3), stbi_image_free);
    if (!decoded)
        return badInput(who + ": cannot decode image (" + failureReason() + ")");
    if (dw != w || dh != h)
        return badInput(who + ": decoded size " + std::to_string(dw) + "x" + std::to_string(dh) +
                        " differs from the header's " + std::to_string(w) + "x" + std::to_string(h));
    RgbImage image{dw, dh, {}};
    image.pixels.assign(decoded.get(), decoded.get() + size_t(dw) * size_t(dh) * 3);
    return image;
}

Result<RgbImage> readImageFile(const std::filesystem::path& file, const ImageLimits& limits) {
    const std::string who = file.string();
    std::error_code ec;
    if (std::filesystem::is_directory(file, ec))
        return badInput(who + ": is a directory, not an image");
    errno = 0;
    std::unique_ptr<std::FILE, FileCloser> f(std::fopen(file.c_str(), "rb"));
    if (!f) {
        const int err = errno;
        return badInput(who + ": cannot open: " + (err ? std::strerror(err) : "unknown reason"));
    }
    std::vector<uint8_t> data;
    uint8_t chunk[1 << 16];
    for (;;) {
        const size_t got = std::fread(chunk, 1, sizeof chunk, f.get());
        if (data.size() + got > limits.maxFileBytes)
            return badInput(who + ": larger than the limit of " +
                            std::to_string(limits.maxFileBytes) + " bytes for an image file");
        data.insert(data.end(), chunk, chunk + got);
        if (got < sizeof chunk) {
            if (std::ferror(f.get())) {
                const int err = errno;
                return badInput(who + ": cannot read: " + (err ? std::strerror(err) : "I/O error"));
            }
            break;
        }
    }
    return decodeImage(data.data(), data.size(), who, limits);
}

RgbImage resizeBilinearAntialiased(const RgbImage& image, int width, int height) {
    RgbImage out = image;
    if (width != image.width)
        out = resizeHorizontal(out, width);
    if (height != image.height)
        out = resizeVertical(out, height);
    return out;
}

std::vector<float> gemma3PixelValues(const RgbImage& image, int size) {
    const RgbImage resized = resizeBilinearAntialiased(image, size, size);
    const size_t plane = size_t(size) * size_t(size);
    std::vector<float> values(plane * 3);
    // transformers rescales in float64 and normalises in float32; the difference is below 1e-6.
    for (size_t i = 0; i < plane; ++i)
        for (size_t ch = 0; ch < 3; ++ch) {
            const double v = resized.pixels[i * 3 + ch] * (1.0 / 255.0);
            values[ch * plane + i] = static_cast<float>((v - 0.5) / 0.5);
        }
    return values;
}

Result<std::vector<float>> readGemma3PixelValues(const std::filesystem::path& file,
                                                 const ImageLimits& limits) {
    auto image = readImageFile(file, limits);
    if (!image.ok())
        return image.error();
    return gemma3PixelValues(*image);
}

}  // namespace strata
