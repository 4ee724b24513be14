// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/gfx/font.h"

#include <cstring>
#include <stdexcept>

#include "kvmvnc/base/utf8.h"

namespace kvmvnc::gfx {

namespace detail {
extern const uint8_t kConsoleFontPsf[];
extern const size_t kConsoleFontPsfSize;
}  // namespace detail

namespace {

uint32_t readLe32(const uint8_t *p) {
    return uint32_t{p[0]} | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 24);
}

}  // namespace

const Font &Font::console() {
    static const Font font(detail::kConsoleFontPsf, detail::kConsoleFontPsfSize);
    return font;
}

Font::Font(const uint8_t *data, size_t size) {
    size_t glyphCount = 0;
    size_t offset = 0;
    bool hasTable = false;
    bool psf2 = false;
    if (size >= 4 && data[0] == 0x36 && data[1] == 0x04) {
        uint8_t mode = data[2];
        width_ = 8;
        height_ = data[3];
        glyphBytes_ = height_;
        glyphCount = (mode & 0x01) ? 512 : 256;
        hasTable = (mode & 0x06) != 0;
        offset = 4;
    } else if (size >= 32 && readLe32(data) == 0x864ab572) {
        uint32_t headerSize = readLe32(data + 8);
        hasTable = (readLe32(data + 12) & 1) != 0;
        glyphCount = readLe32(data + 16);
        glyphBytes_ = static_cast<int>(readLe32(data + 20));
        height_ = static_cast<int>(readLe32(data + 24));
        width_ = static_cast<int>(readLe32(data + 28));
        offset = headerSize;
        psf2 = true;
        if (width_ <= 0 || height_ <= 0 || width_ > 64 || height_ > 64 ||
            glyphBytes_ != height_ * ((width_ + 7) / 8) || glyphCount > 65536)
            throw std::runtime_error("PSF2 font: bad geometry");
    } else {
        throw std::runtime_error("not a PSF font");
    }
    if (height_ <= 0 || offset + glyphCount * glyphBytes_ > size)
        throw std::runtime_error("PSF font: truncated");
    glyphs_.assign(data + offset, data + offset + glyphCount * glyphBytes_);
    offset += glyphCount * glyphBytes_;

    if (!hasTable) {
        for (uint32_t g = 0; g < glyphCount && g < 128; ++g)
            unicode_[g] = g;
    } else {
        for (uint32_t g = 0; g < glyphCount && offset < size; ++g) {
            bool inSequence = false;
            if (psf2) {
                // UTF-8 strings; 0xfe starts combining sequences, 0xff ends.
                std::string_view rest(reinterpret_cast<const char *>(data + offset), size - offset);
                size_t i = 0;
                while (i < rest.size() && static_cast<uint8_t>(rest[i]) != 0xff) {
                    if (static_cast<uint8_t>(rest[i]) == 0xfe) {
                        inSequence = true;
                        ++i;
                        continue;
                    }
                    const char32_t cp = decodeUtf8At(rest, i).value_or(U'\uFFFD');
                    if (!inSequence)
                        unicode_.emplace(cp, g);
                }
                offset += i + 1;
            } else {
                while (offset + 1 < size) {
                    uint16_t value = static_cast<uint16_t>(data[offset] | (data[offset + 1] << 8));
                    offset += 2;
                    if (value == 0xffff)
                        break;
                    if (value == 0xfffe) {
                        inSequence = true;
                        continue;
                    }
                    if (!inSequence)
                        unicode_.emplace(value, g);
                }
            }
        }
    }
    auto question = unicode_.find(U'?');
    fallback_ = question != unicode_.end() ? question->second : 0;
}

const uint8_t *Font::glyph(char32_t codepoint) const {
    auto it = unicode_.find(codepoint);
    uint32_t index = it != unicode_.end() ? it->second : fallback_;
    return glyphs_.data() + static_cast<size_t>(index) * glyphBytes_;
}

}  // namespace kvmvnc::gfx
