// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "kvmvnc/base/geometry.h"
#include "kvmvnc/gfx/font.h"

namespace kvmvnc::gfx {

// 0x00RRGGBB, the pipeline's XRGB8888 pixel.
using Color = uint32_t;

constexpr Color rgb(uint8_t r, uint8_t g, uint8_t b) {
    return (Color{r} << 16) | (Color{g} << 8) | Color{b};
}

// Draws into XRGB8888 memory it does not own (a capture::Frame), clipping
// everything to the canvas. Used for the virtual target's screens and the
// status screens. Not thread-safe; cheap to construct.
class Canvas {
public:
    Canvas(uint8_t *pixels, int width, int height, int stride)
        : pixels_(pixels), width_(width), height_(height), stride_(stride) {}

    int width() const { return width_; }
    int height() const { return height_; }

    void fill(Color color) { fillRect({0, 0, width_, height_}, color); }
    void fillRect(Rect rect, Color color);
    void strokeRect(Rect rect, Color color, int thickness = 1);
    void fillCircle(int cx, int cy, int radius, Color color);

    // Draws UTF-8 text with its top-left corner at (x, y), each glyph pixel
    // scaled to scale x scale. `cellWidth` (in unscaled pixels) spaces the
    // glyphs: 9 gives the VGA text mode look. Returns the x after the text.
    int drawText(int x, int y, std::string_view utf8, Color color, int scale = 1, int cellWidth = 0,
                 const Font &font = Font::console());
    // Text with a background box of the cells it covers.
    int drawTextOn(int x, int y, std::string_view utf8, Color color, Color background,
                   int scale = 1, int cellWidth = 0, const Font &font = Font::console());
    static int textWidth(std::string_view utf8, int scale = 1, int cellWidth = 0,
                         const Font &font = Font::console());

    Color pixel(int x, int y) const;

private:
    // Rows start 4-byte aligned (frames come from operator new, the RFB
    // framebuffer from mmap, and strides are whole pixels), hence the cast
    // through void * that 32-bit ARM's -Wcast-align accepts.
    uint32_t *rowPtr(int y) {
        return static_cast<uint32_t *>(
            static_cast<void *>(pixels_ + static_cast<std::ptrdiff_t>(y) * stride_));
    }
    uint8_t *pixels_;
    int width_;
    int height_;
    int stride_;
};

}  // namespace kvmvnc::gfx
