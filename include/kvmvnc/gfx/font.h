// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace kvmvnc::gfx {

// A fixed-width bitmap font read from PSF (version 1 or 2) bytes, with its
// Unicode table so box-drawing characters map to the right glyphs.
// Immutable after construction: safe to share between threads.
class Font {
public:
    // The VGA console font embedded at build time (8x16).
    static const Font &console();

    // Parses PSF bytes; throws std::runtime_error on a malformed font.
    Font(const uint8_t *data, size_t size);

    int width() const { return width_; }
    int height() const { return height_; }
    // Row bitmaps of the glyph for `codepoint`, most significant bit left;
    // '?' for characters the font lacks.
    const uint8_t *glyph(char32_t codepoint) const;
    int bytesPerRow() const { return (width_ + 7) / 8; }

private:
    int width_ = 0;
    int height_ = 0;
    int glyphBytes_ = 0;
    std::vector<uint8_t> glyphs_;
    std::unordered_map<char32_t, uint32_t> unicode_;
    uint32_t fallback_ = 0;
};

}  // namespace kvmvnc::gfx
