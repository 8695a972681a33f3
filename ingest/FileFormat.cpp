#include "FileFormat.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <optional>
#include <vector>

#include "DecompressingSource.h"

namespace strata {

namespace {

using namespace std::string_view_literals;

// The first bytes of a file and what can be asked of them; every read is bounds-checked.
struct Head {
    std::string_view bytes;

    bool startsWith(std::string_view magic, size_t at = 0) const {
        return at <= bytes.size() && bytes.substr(at, magic.size()) == magic;
    }
    uint8_t byte(size_t at) const { return at < bytes.size() ? uint8_t(bytes[at]) : 0; }
    uint32_t be32(size_t at) const {
        return uint32_t(byte(at)) << 24 | uint32_t(byte(at + 1)) << 16 | uint32_t(byte(at + 2)) << 8 | byte(at + 3);
    }
    uint32_t le32(size_t at) const {
        return uint32_t(byte(at + 3)) << 24 | uint32_t(byte(at + 2)) << 16 | uint32_t(byte(at + 1)) << 8 | byte(at);
    }
    uint16_t be16(size_t at) const { return uint16_t(byte(at) << 8 | byte(at + 1)); }
    bool contains(std::string_view text) const { return bytes.find(text) != std::string_view::npos; }
};

std::string lowercase(std::string s) {
    for (char& c : s)
        c = char(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

std::string extensionOf(const std::filesystem::path& file) { return lowercase(file.extension().string()); }

bool oneOf(const std::string& value, std::initializer_list<const char*> names) {
    return std::any_of(names.begin(), names.end(), [&](const char* n) { return value == n; });
}

// A file name as a shell word, quoted when it needs to be, for the commands in the advice.
std::string shellWord(const std::string& word) {
    const bool plain = !word.empty() && std::all_of(word.begin(), word.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-' || c == '+' ||
               c == '/' || c == ',';
    });
    if (plain)
        return word;
    std::string out = "'";
    for (char c : word)
        out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

std::string nameOf(const std::filesystem::path& file) { return shellWord(file.filename().string()); }
std::string renamed(const std::filesystem::path& file, const char* extension) {
    return shellWord(file.stem().string() + extension);
}

FileFormat supported(std::string name, PartKind kind) {
    FileFormat f;
    f.name = std::move(name);
    f.kind = kind;
    return f;
}

FileFormat refused(std::string name, PartKind kind, std::string refusal) {
    FileFormat f = supported(std::move(name), kind);
    f.support = FormatSupport::Refused;
    f.refusal = std::move(refusal);
    return f;
}

// The refusals, each with what to do instead. `what` is the format as a sentence's subject
// ("a ZIP archive", "AAC audio (M4A)").
FileFormat refusedAudio(std::string name, const std::string& what, const std::filesystem::path& file) {
    return refused(std::move(name), PartKind::Audio,
                   what + " is not supported; convert it to FLAC, WAV or MP3, for example with: ffmpeg -i " +
                       nameOf(file) + " " + renamed(file, ".flac"));
}

FileFormat refusedVideo(std::string name, const std::string& what, const std::filesystem::path& file) {
    return refused(std::move(name), PartKind::Audio,
                   what + " is not supported; attach its sound as FLAC, for example made with: ffmpeg -i " +
                       nameOf(file) + " -vn " + renamed(file, ".flac") + ", or still frames as PNG images");
}

FileFormat refusedImage(std::string name, const std::string& what, const std::filesystem::path& file) {
    return refused(std::move(name), PartKind::Image,
                   what + " is not supported; convert it to PNG or JPEG, for example with: ffmpeg -i " +
                       nameOf(file) + " " + renamed(file, ".png"));
}

FileFormat refusedDocument(std::string name, const std::string& what, const std::filesystem::path& file) {
    return refused(std::move(name), PartKind::Text,
                   what + " is not supported; convert it to PDF, for example with: libreoffice --headless "
                          "--convert-to pdf " +
                       nameOf(file));
}

FileFormat refusedArchive(std::string name, const std::string& what, const std::filesystem::path& file,
                          const std::string& extractCommand) {
    return refused(std::move(name), PartKind::Text,
                   what + " is not supported; extract it" +
                       (extractCommand.empty() ? std::string() : " (" + extractCommand + " " + nameOf(file) + ")") +
                       " and attach the files inside");
}

FileFormat refusedProgram(std::string name, const std::string& what) {
    return refused(std::move(name), PartKind::Text,
                   what + " is not supported; it is a program, not a document: attach its logs or its source "
                          "instead");
}

// ISO base media files (MP4, QuickTime, HEIF, AVIF, M4A, 3GP) begin with an 'ftyp' box whose
// major and compatible brands say what is inside.
std::optional<FileFormat> isoMediaFormat(const Head& h, const std::filesystem::path& file) {
    if (!h.startsWith("ftyp", 4))
        return std::nullopt;
    const size_t boxSize = std::min<size_t>(h.be32(0), h.bytes.size());
    std::vector<std::string_view> brands;
    if (boxSize >= 12)
        brands.push_back(h.bytes.substr(8, 4));
    for (size_t at = 16; at + 4 <= boxSize; at += 4)
        brands.push_back(h.bytes.substr(at, 4));
    const auto has = [&](std::initializer_list<std::string_view> names) {
        return std::any_of(brands.begin(), brands.end(), [&](std::string_view b) {
            return std::find(names.begin(), names.end(), b) != names.end();
        });
    };
    const std::string_view major = brands.empty() ? std::string_view() : brands.front();
    const std::string ext = extensionOf(file);
    if (major == "avif" || major == "avis")
        return supported("AVIF image", PartKind::Image);
    if (has({"heic", "heix", "heim", "heis", "hevc", "hevx"}))
        return supported("HEIC image", PartKind::Image);
    if (has({"avif", "avis"}))
        return supported("AVIF image", PartKind::Image);
    if (has({"mif1", "msf1"}))
        return supported("HEIF image", PartKind::Image);
    if (has({"M4A ", "M4B ", "M4P "}) || ext == ".m4a" || ext == ".m4b" || ext == ".aac")
        return refusedAudio("AAC audio (M4A)", "AAC audio (M4A)", file);
    if (major == "qt  ")
        return refusedVideo("QuickTime video", "QuickTime video", file);
    if (major.substr(0, 3) == "3gp" || major.substr(0, 3) == "3g2")
        return refusedVideo("3GP video", "3GP video", file);
    if (has({"jp2 ", "jpx "}))
        return refusedImage("JPEG 2000 image", "a JPEG 2000 image", file);
    return refusedVideo("MP4 video", "MP4 video", file);
}

// The kind of stream in an Ogg file's first page: its first packet names the codec.
FileFormat oggFormat(const Head& h, const std::filesystem::path& file) {
    const size_t segments = h.byte(26);
    const size_t packet = 27 + segments;
    if (h.startsWith("\x01vorbis"sv, packet))
        return supported("Ogg Vorbis audio", PartKind::Audio);
    if (h.startsWith("OpusHead", packet))
        return supported("Opus audio", PartKind::Audio);
    if (h.startsWith("\x7F" "FLAC"sv, packet))
        return refusedAudio("Ogg FLAC audio", "Ogg FLAC audio", file);
    if (h.startsWith("Speex   ", packet))
        return refusedAudio("Speex audio", "Speex audio", file);
    if (h.startsWith("\x80theora"sv, packet))
        return refusedVideo("Ogg Theora video", "Ogg Theora video", file);
    return refusedAudio("Ogg media", "this kind of Ogg media", file);
}

// An MPEG audio frame header: 11 sync bits, then version, layer, bitrate and sample rate fields
// that are not their reserved values.
enum class MpegFrame { None, Layer3, Adts };
MpegFrame mpegFrameAt(const Head& h, size_t at) {
    const uint8_t b0 = h.byte(at), b1 = h.byte(at + 1), b2 = h.byte(at + 2);
    if (at + 4 > h.bytes.size() || b0 != 0xFF || (b1 & 0xE0) != 0xE0)
        return MpegFrame::None;
    const int layer = (b1 >> 1) & 3;
    if (layer == 0)  // ADTS: MPEG-4 AAC with the layer bits 00
        return (b1 & 0xF6) == 0xF0 && ((b2 >> 2) & 0xF) < 13 ? MpegFrame::Adts : MpegFrame::None;
    // Layer III only: layers I and II are all but extinct, and ff fe, the UTF-16 byte-order
    // mark, reads as a layer I header.
    const int version = (b1 >> 3) & 3, bitrate = b2 >> 4, rate = (b2 >> 2) & 3;
    return layer == 1 && version != 1 && bitrate != 0 && bitrate != 15 && rate != 3 ? MpegFrame::Layer3
                                                                                    : MpegFrame::None;
}

FileFormat mpegAudioFormat(MpegFrame frame, const std::filesystem::path& file) {
    if (frame == MpegFrame::Adts)
        return refusedAudio("AAC audio (ADTS)", "AAC audio (ADTS)", file);
    return supported("MP3 audio", PartKind::Audio);
}

FileFormat zipFormat(const Head& h, const std::filesystem::path& file) {
    // EPUB and OpenDocument store an uncompressed "mimetype" entry first; OOXML files name their
    // parts' folders in the local headers near the start.
    if (h.startsWith("mimetypeapplication/epub+zip", 30))
        return refused("EPUB e-book", PartKind::Text,
                       "an EPUB e-book is not supported; convert it to PDF or plain text, for example with: "
                       "ebook-convert " +
                           nameOf(file) + " " + renamed(file, ".txt"));
    if (h.startsWith("mimetypeapplication/vnd.oasis.opendocument.", 30)) {
        const std::string_view sub = h.bytes.substr(std::min<size_t>(h.bytes.size(), 30 + 43));
        const std::string name = sub.substr(0, 4) == "text"           ? "OpenDocument text (ODT)"
                                 : sub.substr(0, 11) == "spreadsheet" ? "OpenDocument spreadsheet (ODS)"
                                 : sub.substr(0, 12) == "presentation" ? "OpenDocument presentation (ODP)"
                                                                       : "OpenDocument file";
        return refusedDocument(name, "an " + name, file);
    }
    if (h.contains("word/"))
        return refusedDocument("Word document (DOCX)", "a Word document (DOCX)", file);
    if (h.contains("xl/"))
        return refusedDocument("Excel workbook (XLSX)", "an Excel workbook (XLSX)", file);
    if (h.contains("ppt/"))
        return refusedDocument("PowerPoint presentation (PPTX)", "a PowerPoint presentation (PPTX)", file);
    return refusedArchive("ZIP archive", "a ZIP archive", file, "unzip");
}

// A tar header: "ustar" at 257 (POSIX and GNU), or for the oldest tars a header block whose
// checksum field matches its bytes.
bool isTar(const Head& h) {
    if (h.bytes.size() < 512)
        return false;
    if (h.startsWith("ustar", 257))
        return true;
    unsigned stored = 0;
    size_t i = 148;
    while (i < 156 && h.bytes[i] == ' ')
        ++i;
    bool digits = false;
    for (; i < 156 && h.bytes[i] >= '0' && h.bytes[i] <= '7'; ++i, digits = true)
        stored = stored * 8 + unsigned(h.bytes[i] - '0');
    if (!digits || h.byte(0) == 0)
        return false;
    unsigned sum = 0;
    for (size_t k = 0; k < 512; ++k)
        sum += k >= 148 && k < 156 ? unsigned(' ') : h.byte(k);
    return sum == stored;
}

bool isElf(const Head& h) {
    // A whole ELF header (52 bytes for 32-bit, 64 for 64-bit) with known class, byte order and
    // version; ten bytes that happen to begin with 7f 'E' 'L' 'F' are not an executable.
    if (!h.startsWith("\x7F" "ELF"sv))
        return false;
    const uint8_t klass = h.byte(4), order = h.byte(5), version = h.byte(6);
    const size_t headerSize = klass == 2 ? 64 : 52;
    return (klass == 1 || klass == 2) && (order == 1 || order == 2) && version == 1 &&
           h.bytes.size() >= headerSize;
}

bool isWindowsExecutable(const Head& h) {
    if (!h.startsWith("MZ") || h.bytes.size() < 64)
        return false;
    const uint32_t peOffset = h.le32(0x3C);
    return peOffset + 4 <= h.bytes.size() ? h.startsWith("PE\0\0"sv, peOffset) : h.bytes.find('\0') < 64;
}

bool isBmp(const Head& h) {
    // "BM", then a header size that one of the BMP versions uses.
    const uint32_t infoSize = h.le32(14);
    return h.startsWith("BM") && h.bytes.size() >= 26 &&
           (infoSize == 12 || infoSize == 40 || infoSize == 52 || infoSize == 56 || infoSize == 64 ||
            infoSize == 108 || infoSize == 124);
}

bool hasWideBom(const Head& h) {
    return h.startsWith("\xFF\xFE"sv) || h.startsWith("\xFE\xFF"sv) || h.startsWith("\x00\x00\xFE\xFF"sv);
}

std::string firstBytesInHex(std::string_view head) {
    std::string out;
    char hex[4];
    for (size_t i = 0; i < head.size() && i < 16; ++i) {
        std::snprintf(hex, sizeof hex, i ? " %02x" : "%02x", unsigned(uint8_t(head[i])));
        out += hex;
    }
    return out;
}

// Formats told by their magic numbers alone.
std::optional<FileFormat> formatFromMagic(const Head& h, const std::filesystem::path& file) {
    // The PDF header may come after up to 1 KiB of junk, as readers allow.
    if (h.bytes.substr(0, 1024).find("%PDF-") != std::string_view::npos)
        return supported("PDF document", PartKind::Pdf);
    if (const Compression c = compressionFromMagic(h.bytes); c != Compression::None) {
        FileFormat f = supported(std::string(compressionName(c)) + "-compressed data", PartKind::Text);
        f.compression = c;
        return f;
    }
    // Images.
    if (h.startsWith("\x89PNG\r\n\x1A\n"sv)) return supported("PNG image", PartKind::Image);
    if (h.startsWith("\xFF\xD8\xFF"sv)) return supported("JPEG image", PartKind::Image);
    if (h.startsWith("GIF87a") || h.startsWith("GIF89a")) return supported("GIF image", PartKind::Image);
    if (isBmp(h)) return supported("BMP image", PartKind::Image);
    if (h.startsWith("RIFF") && h.startsWith("WEBP", 8)) return supported("WebP image", PartKind::Image);
    if (h.startsWith("II*\0"sv) || h.startsWith("MM\0*"sv) || h.startsWith("II+\0"sv) || h.startsWith("MM\0+"sv))
        return supported("TIFF image", PartKind::Image);
    if (h.startsWith("8BPS")) return supported("Photoshop image (PSD)", PartKind::Image);
    if (h.startsWith("#?RADIANCE") || h.startsWith("#?RGBE")) return supported("Radiance HDR image", PartKind::Image);
    if ((h.startsWith("P5") || h.startsWith("P6")) && std::isspace(h.byte(2)) &&
        (std::isdigit(h.byte(3)) || h.byte(3) == '#'))
        return supported("PNM image", PartKind::Image);
    if (h.startsWith("\x00\x00\x00\x0CjP  \r\n\x87\n"sv) || h.startsWith("\xFF\x4F\xFF\x51"sv))
        return refusedImage("JPEG 2000 image", "a JPEG 2000 image", file);
    if (h.startsWith("\xFF\x0A"sv) || h.startsWith("\x00\x00\x00\x0CJXL \r\n\x87\n"sv))
        return refusedImage("JPEG XL image", "a JPEG XL image", file);
    if ((h.startsWith("\x00\x00\x01\x00"sv) || h.startsWith("\x00\x00\x02\x00"sv)) && h.byte(4) > 0 && h.byte(5) == 0)
        return refusedImage("ICO icon", "an ICO icon", file);
    if (h.startsWith("qoif")) return refusedImage("QOI image", "a QOI image", file);
    if (h.startsWith("AT&TFORM"))
        return refused("DjVu document", PartKind::Pdf,
                       "a DjVu document is not supported; convert it to PDF, for example with: ddjvu -format=pdf " +
                           nameOf(file) + " " + renamed(file, ".pdf"));
    if (auto iso = isoMediaFormat(h, file)) return iso;
    // Sound and video.
    if (h.startsWith("RIFF") && h.startsWith("WAVE", 8)) return supported("WAV audio", PartKind::Audio);
    if (h.startsWith("RIFF") && h.startsWith("AVI ", 8)) return refusedVideo("AVI video", "AVI video", file);
    if (h.startsWith("FORM") && (h.startsWith("AIFF", 8) || h.startsWith("AIFC", 8)))
        return supported("AIFF audio", PartKind::Audio);
    if (h.startsWith("caff")) return supported("CAF audio", PartKind::Audio);
    if (h.startsWith("fLaC")) return supported("FLAC audio", PartKind::Audio);
    if (h.startsWith("OggS")) return oggFormat(h, file);
    if (h.startsWith("ID3")) {
        // An ID3 tag (its size is syncsafe: 7 bits a byte) usually precedes MP3 frames, rarely AAC.
        const size_t tag = 10 + (size_t(h.byte(6) & 0x7F) << 21 | size_t(h.byte(7) & 0x7F) << 14 |
                                 size_t(h.byte(8) & 0x7F) << 7 | size_t(h.byte(9) & 0x7F));
        const MpegFrame frame = mpegFrameAt(h, tag);
        return mpegAudioFormat(frame == MpegFrame::None && extensionOf(file) == ".aac" ? MpegFrame::Adts : frame, file);
    }
    if (const MpegFrame frame = mpegFrameAt(h, 0); frame != MpegFrame::None) return mpegAudioFormat(frame, file);
    if (h.startsWith("MThd"))
        return refused("MIDI music", PartKind::Audio,
                       "MIDI music is not supported; it holds notes, not sound: render it to WAV or FLAC first, "
                       "for example with: timidity " +
                           nameOf(file) + " -Ow -o " + renamed(file, ".wav"));
    if (h.startsWith("#!AMR")) return refusedAudio("AMR audio", "AMR audio", file);
    if (h.startsWith("\x30\x26\xB2\x75\x8E\x66\xCF\x11"sv))
        return refusedAudio("Windows Media file (ASF)", "a Windows Media file (ASF, WMA or WMV)", file);
    if (h.startsWith("\x1A\x45\xDF\xA3"sv)) {
        const std::string name = h.contains("webm") ? "WebM media" : "Matroska media";
        return refusedVideo(name, name, file);
    }
    if (h.startsWith("\x00\x00\x01\xBA"sv)) return refusedVideo("MPEG video", "MPEG video", file);
    if (h.startsWith("FLV\x01"sv)) return refusedVideo("Flash video (FLV)", "Flash video (FLV)", file);
    // Transport stream packets of 188 bytes each start with 0x47 ('G', so text could too, but
    // text has no NUL bytes).
    if (h.byte(0) == 0x47 && h.byte(188) == 0x47 && h.byte(376) == 0x47 && h.bytes.size() > 376 &&
        h.bytes.find('\0') != std::string_view::npos)
        return refusedVideo("MPEG transport stream", "an MPEG transport stream", file);
    // Archives and other compressed data.
    if (h.startsWith("PK\x03\x04"sv) || h.startsWith("PK\x05\x06"sv) || h.startsWith("PK\x07\x08"sv))
        return zipFormat(h, file);
    if (h.startsWith("7z\xBC\xAF\x27\x1C"sv)) return refusedArchive("7z archive", "a 7z archive", file, "7z x");
    if (h.startsWith("Rar!\x1A\x07"sv)) return refusedArchive("RAR archive", "a RAR archive", file, "unrar x");
    if (isTar(h)) return refusedArchive("tar archive", "a tar archive", file, "tar -xf");
    if (h.startsWith("!<arch>\n"))
        return refusedArchive("ar archive", "an ar archive (a Debian package or a static library)", file, "ar x");
    if (h.startsWith("\x04\x22\x4D\x18"sv))
        return refused("lz4-compressed data", PartKind::Text,
                       "lz4-compressed data is not supported; decompress it first (lz4 -d " + nameOf(file) + ")");
    if (h.startsWith("\x1F\x9D"sv))
        return refused("compress (.Z) data", PartKind::Text,
                       "compress (.Z) data is not supported; decompress it first (uncompress " + nameOf(file) + ")");
    if (h.startsWith("LZIP"))
        return refused("lzip-compressed data", PartKind::Text,
                       "lzip-compressed data is not supported; decompress it first (lzip -d " + nameOf(file) + ")");
    // Programs, databases and old Office files.
    if (isElf(h)) return refusedProgram("ELF executable", "an ELF executable or library");
    if (isWindowsExecutable(h)) return refusedProgram("Windows executable", "a Windows executable or DLL");
    if (h.startsWith("\xFE\xED\xFA\xCE"sv) || h.startsWith("\xFE\xED\xFA\xCF"sv) ||
        h.startsWith("\xCE\xFA\xED\xFE"sv) || h.startsWith("\xCF\xFA\xED\xFE"sv))
        return refusedProgram("Mach-O executable", "a Mach-O executable or library");
    if (h.startsWith("\xCA\xFE\xBA\xBE"sv))
        return h.be16(6) >= 45 ? refusedProgram("Java class file", "a Java class file")
                               : refusedProgram("Mach-O executable", "a Mach-O universal binary");
    if (h.startsWith("\0asm"sv)) return refusedProgram("WebAssembly module", "a WebAssembly module");
    if (h.startsWith("SQLite format 3\0"sv))
        return refused("SQLite database", PartKind::Text,
                       "an SQLite database is not supported; export the tables you need as CSV, for example with: "
                       "sqlite3 -header -csv " +
                           nameOf(file) + " 'SELECT * FROM some_table' > some_table.csv");
    if (h.startsWith("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1"sv))
        return refusedDocument("Office 97-2003 document (OLE2)",
                               "an Office 97-2003 document (OLE2: DOC, XLS or PPT)", file);
    if (h.startsWith("GGUF"))
        return refused("GGUF model", PartKind::Text,
                       "a GGUF model is not supported as an attachment; load it as the model instead (--model " +
                           nameOf(file) + ")");
    return std::nullopt;
}

// Formats without a magic number Strata can test, and files whose start is damaged: the
// extension decides, and the format's reader then says precisely what is wrong.
std::optional<FileFormat> formatFromExtension(const std::filesystem::path& file) {
    const std::string ext = extensionOf(file);
    if (ext == ".pdf") return supported("PDF document", PartKind::Pdf);
    if (ext == ".png") return supported("PNG image", PartKind::Image);
    if (oneOf(ext, {".jpg", ".jpeg", ".jpe", ".jfif"})) return supported("JPEG image", PartKind::Image);
    if (ext == ".gif") return supported("GIF image", PartKind::Image);
    if (ext == ".bmp") return supported("BMP image", PartKind::Image);
    if (ext == ".webp") return supported("WebP image", PartKind::Image);
    if (oneOf(ext, {".tif", ".tiff"})) return supported("TIFF image", PartKind::Image);
    if (oneOf(ext, {".heic", ".heif", ".hif"})) return supported("HEIC image", PartKind::Image);
    if (ext == ".avif") return supported("AVIF image", PartKind::Image);
    if (ext == ".tga") return supported("TGA image", PartKind::Image);
    if (ext == ".psd") return supported("Photoshop image (PSD)", PartKind::Image);
    if (oneOf(ext, {".pnm", ".ppm", ".pgm"})) return supported("PNM image", PartKind::Image);
    if (ext == ".hdr") return supported("Radiance HDR image", PartKind::Image);
    if (ext == ".wav") return supported("WAV audio", PartKind::Audio);
    if (ext == ".flac") return supported("FLAC audio", PartKind::Audio);
    if (oneOf(ext, {".ogg", ".oga"})) return supported("Ogg Vorbis audio", PartKind::Audio);
    if (ext == ".opus") return supported("Opus audio", PartKind::Audio);
    if (ext == ".mp3") return supported("MP3 audio", PartKind::Audio);
    if (oneOf(ext, {".aif", ".aiff"})) return supported("AIFF audio", PartKind::Audio);
    for (const auto& [suffix, compression] : {std::pair{".gz", Compression::Gzip}, std::pair{".xz", Compression::Xz},
                                              std::pair{".zst", Compression::Zstd}, std::pair{".bz2", Compression::Bzip2}}) {
        if (ext == suffix) {
            FileFormat f = supported(std::string(compressionName(compression)) + "-compressed text", PartKind::Text);
            f.compression = compression;
            return f;
        }
    }
    return std::nullopt;
}

const char* decompressCommand(Compression c) {
    switch (c) {
    case Compression::Gzip: return "gunzip -k";
    case Compression::Xz: return "unxz -k";
    case Compression::Zstd: return "unzstd";
    case Compression::Bzip2: return "bunzip2 -k";
    case Compression::None: break;
    }
    return "";
}

// What a compressed file holds, from the start of its decompressed bytes.
FileFormat compressedFormat(const FileFormat& outer, std::string_view inner, const std::filesystem::path& file) {
    const std::string method = std::string(compressionName(outer.compression)) + "-compressed";
    std::filesystem::path innerName = file.filename();
    if (formatFromExtension(innerName).has_value() && formatFromExtension(innerName)->compression != Compression::None)
        innerName = innerName.stem();
    const FileFormat content = detectFormatOfBytes(inner, innerName);
    if (content.compression == Compression::None && content.kind == PartKind::Text &&
        content.support == FormatSupport::Read) {
        FileFormat f = supported(method + " text", PartKind::Text);
        f.compression = outer.compression;
        return f;
    }
    if (content.support == FormatSupport::UnknownBinary) {
        FileFormat f = supported(method + " binary data", PartKind::Text);
        f.support = FormatSupport::UnknownBinary;
        f.compression = outer.compression;
        f.refusal = "looks binary once decompressed (it starts with " + firstBytesInHex(inner) +
                    ", which is no format Strata knows); not ingested";
        return f;
    }
    const std::string name = method + " " + (content.compression != Compression::None ? "data" : content.name);
    if (content.name == "tar archive")
        return refusedArchive(name, "a " + name, file, "tar -xf");
    FileFormat f = refused(name, content.kind,
                           "a " + name + " is not supported; decompress it first (" + decompressCommand(outer.compression) +
                               " " + nameOf(file) + ") and attach what that gives");
    f.compression = outer.compression;
    return f;
}

}  // namespace

FileFormat detectFormatOfBytes(std::string_view headBytes, const std::filesystem::path& file) {
    const Head h{headBytes};
    // A byte-order mark says text before any magic number can say otherwise (ff fe could begin
    // an MPEG audio frame).
    if (h.startsWith("\xEF\xBB\xBF"sv) || hasWideBom(h))
        return supported("plain text", PartKind::Text);
    if (auto magic = formatFromMagic(h, file))
        return std::move(*magic);
    const bool binary = !hasWideBom(h) && h.bytes.find('\0') != std::string_view::npos;
    // A text file named .gz is read as the text it is; other hints stand even for text, so that a
    // "report.pdf" that is not one is told so by the PDF reader.
    if (auto hinted = formatFromExtension(file); hinted && (binary || hinted->compression == Compression::None))
        return std::move(*hinted);
    if (binary) {
        FileFormat f = supported("unknown binary data", PartKind::Text);
        f.support = FormatSupport::UnknownBinary;
        f.refusal = "looks binary (it starts with " + firstBytesInHex(headBytes) +
                    ", which is no format Strata knows); not ingested";
        return f;
    }
    return supported("plain text", PartKind::Text);
}

FileFormat detectFileFormat(const std::filesystem::path& file) {
    std::string head(kFormatSniffBytes, '\0');
    size_t got = 0;
    if (auto plain = openPlainFile(file); plain.ok()) {
        if (auto read = readFully(*plain.value(), head.data(), head.size()); read.ok())
            got = read.value();
    }
    head.resize(got);
    FileFormat format = detectFormatOfBytes(head, file);
    if (format.compression == Compression::None)
        return format;
    std::string inner(kFormatSniffBytes, '\0');
    auto source = openDecompressed(file, format.compression);
    auto read = source.ok() ? readFully(*source.value(), inner.data(), inner.size()) : Result<size_t>(source.error());
    if (!read.ok()) {
        // Damaged from the start: the text reader reports the fault when it reads the file.
        format.name = std::string(compressionName(format.compression)) + "-compressed text";
        format.support = FormatSupport::Read;
        format.kind = PartKind::Text;
        return format;
    }
    inner.resize(read.value());
    return compressedFormat(format, inner, file);
}

std::string refusalMessage(const std::filesystem::path& file, const FileFormat& format) {
    if (format.support == FormatSupport::UnknownBinary)
        return file.string() + " " + format.refusal;
    return file.string() + ": " + format.refusal;
}

}  // namespace strata
