// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/gfx/font.h"

#include <gtest/gtest.h>

#include <cstring>
#include <stdexcept>
#include <vector>

#include "kvmvnc/base/utf8.h"

namespace kvmvnc::gfx {

namespace {
int litPixels(const Font &font, char32_t cp) {
    const uint8_t *g = font.glyph(cp);
    int lit = 0;
    for (int i = 0; i < font.height() * font.bytesPerRow(); ++i)
        lit += __builtin_popcount(g[i]);
    return lit;
}
}  // namespace

TEST(FontTest, ConsoleFontIsVga8x16) {
    const Font &font = Font::console();
    EXPECT_EQ(font.width(), 8);
    EXPECT_EQ(font.height(), 16);
    EXPECT_EQ(litPixels(font, U' '), 0);
    EXPECT_GT(litPixels(font, U'A'), 10);
    EXPECT_NE(std::memcmp(font.glyph(U'A'), font.glyph(U'B'), 16), 0);
}

TEST(FontTest, UnicodeTableMapsBoxDrawing) {
    const Font &font = Font::console();
    // The BIOS screen draws frames with these; they must not fall back to '?'.
    for (char32_t cp : {U'┌', U'─', U'┐', U'│', U'└', U'┘', U'█', U'▒'}) {
        EXPECT_NE(std::memcmp(font.glyph(cp), font.glyph(U'?'), 16), 0) << static_cast<int>(cp);
        EXPECT_GT(litPixels(font, cp), 0);
    }
    // A character the font lacks falls back to '?'.
    EXPECT_EQ(std::memcmp(font.glyph(U'\u4e2d'), font.glyph(U'?'), 16), 0);
}

TEST(FontTest, ParsesPsf2WithUnicodeTable) {
    // Two 8x2 glyphs; glyph 1 stands for 'Z' and U+00E9.
    std::vector<uint8_t> psf = {0x72, 0xb5, 0x4a, 0x86, 0,    0,   0,    0,    32,  0, 0,
                                0,    1,    0,    0,    0,    2,   0,    0,    0,   2, 0,
                                0,    0,    2,    0,    0,    0,   8,    0,    0,   0, 0x00,
                                0x00, 0xff, 0x81, 'A',  0xff, 'Z', 0xc3, 0xa9, 0xff};
    Font font(psf.data(), psf.size());
    EXPECT_EQ(font.width(), 8);
    EXPECT_EQ(font.height(), 2);
    EXPECT_EQ(font.glyph(U'Z')[0], 0xff);
    EXPECT_EQ(font.glyph(U'\u00e9')[1], 0x81);
    EXPECT_EQ(font.glyph(U'A')[0], 0x00);
}

TEST(FontTest, RejectsMalformedFonts) {
    std::vector<uint8_t> garbage(64, 0x41);
    EXPECT_THROW(Font(garbage.data(), garbage.size()), std::runtime_error);
    std::vector<uint8_t> truncated = {0x36, 0x04, 0x00, 0x10, 0x00};
    EXPECT_THROW(Font(truncated.data(), truncated.size()), std::runtime_error);
}

TEST(FontTest, DecodesUtf8AndReplacesInvalidBytes) {
    EXPECT_EQ(decodeUtf8("a\xc3\xa9\xe2\x94\x80"), U"aé─");
    EXPECT_EQ(decodeUtf8("\xff"
                         "b"),
              U"\uFFFD"
              U"b");
    EXPECT_EQ(decodeUtf8("\xe2\x94"), U"\uFFFD");
}

}  // namespace kvmvnc::gfx
