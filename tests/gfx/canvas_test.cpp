// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/gfx/canvas.h"

#include <gtest/gtest.h>

#include <vector>

namespace kvmvnc::gfx {

class CanvasTest : public testing::Test {
protected:
    static constexpr int kWidth = 40;
    static constexpr int kHeight = 30;
    std::vector<uint8_t> pixels = std::vector<uint8_t>(kWidth * kHeight * 4, 0);
    Canvas canvas{pixels.data(), kWidth, kHeight, kWidth * 4};

    int count(Color color) const {
        int n = 0;
        for (int y = 0; y < kHeight; ++y)
            for (int x = 0; x < kWidth; ++x)
                n += canvas.pixel(x, y) == color;
        return n;
    }
};

TEST_F(CanvasTest, FillRectClipsToTheCanvas) {
    canvas.fillRect({-5, -5, 10, 10}, rgb(1, 2, 3));
    EXPECT_EQ(count(rgb(1, 2, 3)), 25);
    canvas.fillRect({35, 25, 100, 100}, rgb(4, 5, 6));
    EXPECT_EQ(count(rgb(4, 5, 6)), 25);
    canvas.fillRect({50, 50, 5, 5}, rgb(7, 8, 9));
    EXPECT_EQ(count(rgb(7, 8, 9)), 0);
}

TEST_F(CanvasTest, PixelsAreXrgbInMemory) {
    canvas.fillRect({0, 0, 1, 1}, rgb(0x11, 0x22, 0x33));
    EXPECT_EQ(pixels[0], 0x33);  // blue first: B, G, R, X
    EXPECT_EQ(pixels[1], 0x22);
    EXPECT_EQ(pixels[2], 0x11);
}

TEST_F(CanvasTest, DrawTextAdvancesAndMarksGlyphPixels) {
    int end = canvas.drawText(1, 1, "Hi", rgb(255, 255, 255));
    EXPECT_EQ(end, 17);
    EXPECT_GT(count(rgb(255, 255, 255)), 10);
    EXPECT_EQ(Canvas::textWidth("Hi", 2, 9), 36);
}

TEST_F(CanvasTest, ScaledTextCoversFourTimesThePixels) {
    canvas.drawText(0, 0, "I", rgb(255, 0, 0), 1);
    int single = count(rgb(255, 0, 0));
    canvas.fill(0);
    canvas.drawText(0, 0, "I", rgb(255, 0, 0), 2);
    EXPECT_EQ(count(rgb(255, 0, 0)), 4 * single);
}

}  // namespace kvmvnc::gfx
