// SPDX-License-Identifier: GPL-2.0-or-later
#include "ppm_image.h"

#include <cstring>
#include <fstream>

namespace kvmvnc::testing {

namespace {

bool readToken(std::istream &in, std::string &token) {
    token.clear();
    int c;
    while ((c = in.get()) != EOF) {
        if (c == '#') {
            while ((c = in.get()) != EOF && c != '\n') {
            }
            continue;
        }
        if (std::isspace(c)) {
            if (!token.empty())
                return true;
            continue;
        }
        token.push_back(static_cast<char>(c));
    }
    return !token.empty();
}

}  // namespace

Image Image::crop(Rect area) const {
    Image out;
    if (area.x < 0 || area.y < 0 || area.right() > size.width || area.bottom() > size.height)
        return out;
    out.size = {area.width, area.height};
    out.pixels.resize(static_cast<size_t>(area.width) * area.height * 4);
    for (int y = 0; y < area.height; ++y)
        std::memcpy(&out.pixels[static_cast<size_t>(y) * area.width * 4],
                    &pixels[(static_cast<size_t>(area.y + y) * size.width + area.x) * 4],
                    static_cast<size_t>(area.width) * 4);
    return out;
}

std::optional<Image> readPpm(const std::string &path) {
    std::ifstream in(path, std::ios::binary);
    std::string magic, width, height, maxval;
    if (!readToken(in, magic) || magic != "P6" || !readToken(in, width) || !readToken(in, height) ||
        !readToken(in, maxval))
        return std::nullopt;
    Image image;
    image.size = {std::stoi(width), std::stoi(height)};
    const int max = std::stoi(maxval);
    const int sampleBytes = max > 255 ? 2 : 1;
    const size_t count = static_cast<size_t>(image.size.width) * image.size.height;
    std::vector<uint8_t> raw(count * 3 * sampleBytes);
    if (!in.read(reinterpret_cast<char *>(raw.data()), static_cast<std::streamsize>(raw.size())))
        return std::nullopt;
    image.pixels.resize(count * 4);
    for (size_t i = 0; i < count; ++i) {
        for (int c = 0; c < 3; ++c) {
            // 16-bit samples are big-endian; their high byte is the 8-bit value.
            uint8_t value = raw[(i * 3 + c) * sampleBytes];
            image.pixels[i * 4 + (2 - c)] = value;  // R,G,B -> B,G,R,X
        }
    }
    return image;
}

std::optional<Rect> findExactly(const Image &haystack, const Image &needle, int maxOffset) {
    if (needle.size.width <= 0 || needle.size.height <= 0)
        return std::nullopt;
    const size_t rowBytes = static_cast<size_t>(needle.size.width) * 4;
    auto needleRow = [&](int y) { return &needle.pixels[static_cast<size_t>(y) * rowBytes]; };
    auto haystackRow = [&](int x, int y) {
        return &haystack.pixels[(static_cast<size_t>(y) * haystack.size.width + x) * 4];
    };
    // One row of the needle first, where it tells positions apart: the first
    // that is not all one colour (a text screen's middle row may be blank,
    // and would match everywhere).
    int probeRow = needle.size.height / 2;
    for (int y = 0; y < needle.size.height; ++y) {
        const uint8_t *row = needleRow(y);
        bool uniform = true;
        for (size_t i = 4; i < rowBytes && uniform; i += 4)
            uniform = std::memcmp(row, row + i, 4) == 0;
        if (!uniform) {
            probeRow = y;
            break;
        }
    }
    for (int y = 0; y <= maxOffset && y + needle.size.height <= haystack.size.height; ++y) {
        for (int x = 0; x <= maxOffset && x + needle.size.width <= haystack.size.width; ++x) {
            if (std::memcmp(haystackRow(x, y + probeRow), needleRow(probeRow), rowBytes) != 0)
                continue;
            // Then every row, in place.
            bool same = true;
            for (int row = 0; row < needle.size.height && same; ++row)
                same = std::memcmp(haystackRow(x, y + row), needleRow(row), rowBytes) == 0;
            if (same)
                return Rect{x, y, needle.size.width, needle.size.height};
        }
    }
    return std::nullopt;
}

}  // namespace kvmvnc::testing
