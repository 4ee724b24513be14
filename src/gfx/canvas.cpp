// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/gfx/canvas.h"

#include <algorithm>

#include "kvmvnc/base/utf8.h"

namespace kvmvnc::gfx {

namespace {

Rect clip(Rect rect, int width, int height) {
    int x0 = std::max(rect.x, 0);
    int y0 = std::max(rect.y, 0);
    int x1 = std::min(rect.right(), width);
    int y1 = std::min(rect.bottom(), height);
    if (x1 <= x0 || y1 <= y0)
        return {};
    return {x0, y0, x1 - x0, y1 - y0};
}

}  // namespace

void Canvas::fillRect(Rect rect, Color color) {
    Rect r = clip(rect, width_, height_);
    for (int y = r.y; y < r.bottom(); ++y)
        std::fill_n(rowPtr(y) + r.x, r.width, color);
}

void Canvas::strokeRect(Rect rect, Color color, int thickness) {
    fillRect({rect.x, rect.y, rect.width, thickness}, color);
    fillRect({rect.x, rect.bottom() - thickness, rect.width, thickness}, color);
    fillRect({rect.x, rect.y, thickness, rect.height}, color);
    fillRect({rect.right() - thickness, rect.y, thickness, rect.height}, color);
}

void Canvas::fillCircle(int cx, int cy, int radius, Color color) {
    for (int dy = -radius; dy <= radius; ++dy) {
        int dx = 0;
        while ((dx + 1) * (dx + 1) + dy * dy <= radius * radius)
            ++dx;
        fillRect({cx - dx, cy + dy, 2 * dx + 1, 1}, color);
    }
}

int Canvas::drawText(int x, int y, std::string_view utf8, Color color, int scale, int cellWidth,
                     const Font &font) {
    int advance = (cellWidth > 0 ? cellWidth : font.width()) * scale;
    for (char32_t cp : decodeUtf8(utf8)) {
        const uint8_t *glyph = font.glyph(cp);
        for (int gy = 0; gy < font.height(); ++gy) {
            const uint8_t *bits = glyph + gy * font.bytesPerRow();
            for (int gx = 0; gx < font.width(); ++gx) {
                if (bits[gx / 8] & (0x80 >> (gx % 8)))
                    fillRect({x + gx * scale, y + gy * scale, scale, scale}, color);
            }
            // VGA text mode repeats column 8 into the 9th for line-drawing
            // characters so box borders join up.
            if (cellWidth == 9 && font.width() == 8 && cp >= 0x2500 && cp <= 0x259f &&
                (bits[0] & 0x01))
                fillRect({x + 8 * scale, y + gy * scale, scale, scale}, color);
        }
        x += advance;
    }
    return x;
}

int Canvas::drawTextOn(int x, int y, std::string_view utf8, Color color, Color background,
                       int scale, int cellWidth, const Font &font) {
    int w = textWidth(utf8, scale, cellWidth, font);
    fillRect({x, y, w, font.height() * scale}, background);
    return drawText(x, y, utf8, color, scale, cellWidth, font);
}

int Canvas::textWidth(std::string_view utf8, int scale, int cellWidth, const Font &font) {
    int advance = (cellWidth > 0 ? cellWidth : font.width()) * scale;
    return static_cast<int>(decodeUtf8(utf8).size()) * advance;
}

Color Canvas::pixel(int x, int y) const {
    if (x < 0 || y < 0 || x >= width_ || y >= height_)
        return 0;
    // Aligned rows, as for rowPtr().
    return static_cast<const uint32_t *>(
               static_cast<const void *>(pixels_ + static_cast<std::ptrdiff_t>(y) * stride_))[x] &
           0x00ffffff;
}

}  // namespace kvmvnc::gfx
