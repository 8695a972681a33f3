#include "format/SafetensorsWriter.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <nlohmann/json.hpp>

namespace strata {

uint64_t SafetensorsEntry::nbytes() const {
    uint64_t n = dtypeSize(dtype);
    for (int64_t d : shape) n *= uint64_t(d);
    return n;
}

namespace {

Status writeAll(int fd, const void* data, size_t n, const std::string& path) {
    const char* p = static_cast<const char*>(data);
    while (n > 0) {
        const ssize_t w = ::write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0)
            return errno == ENOSPC || errno == EDQUOT
                       ? badInput("the disk is full: cannot write " + path)
                       : internalError("writing " + path + ": " + std::strerror(errno));
        p += w;
        n -= size_t(w);
    }
    return {};
}

}  // namespace

Status writeSafetensors(const std::filesystem::path& path, const std::vector<SafetensorsEntry>& entries,
                        const std::function<Status(size_t, std::vector<uint8_t>&)>& fill) {
    nlohmann::ordered_json header;
    header["__metadata__"] = {{"format", "pt"}};
    uint64_t offset = 0;
    for (const SafetensorsEntry& e : entries) {
        header[e.name] = {{"dtype", std::string(dtypeName(e.dtype))}, {"shape", e.shape},
                          {"data_offsets", {offset, offset + e.nbytes()}}};
        offset += e.nbytes();
    }
    std::string text = header.dump();
    text.append((8 - text.size() % 8) % 8, ' ');  // the data section starts 8-byte aligned
    const std::string name = path.string();
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return badInput("cannot create " + name + ": " + std::strerror(errno));
    const uint64_t length = text.size();
    Status st = writeAll(fd, &length, 8, name);
    if (st.ok()) st = writeAll(fd, text.data(), text.size(), name);
    std::vector<uint8_t> bytes;
    for (size_t i = 0; st.ok() && i < entries.size(); ++i) {
        bytes.clear();
        st = fill(i, bytes);
        if (st.ok() && bytes.size() != entries[i].nbytes())
            st = internalError("tensor '" + entries[i].name + "' produced " + std::to_string(bytes.size()) +
                               " bytes, expected " + std::to_string(entries[i].nbytes()));
        if (st.ok()) st = writeAll(fd, bytes.data(), bytes.size(), name);
    }
    if (st.ok() && ::fsync(fd) != 0) st = internalError("flushing " + name + ": " + std::strerror(errno));
    if (::close(fd) != 0 && st.ok()) st = internalError("closing " + name + ": " + std::strerror(errno));
    return st;
}

}  // namespace strata
