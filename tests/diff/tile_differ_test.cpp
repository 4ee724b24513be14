// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/diff/tile_differ.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>

namespace kvmvnc::diff {

using capture::Frame;

namespace {

void setPixel(Frame &frame, int x, int y, uint32_t value) {
    std::memcpy(frame.row(y) + x * 4, &value, 4);
}

bool covered(const std::vector<Rect> &rects, int x, int y) {
    for (const Rect &r : rects)
        if (x >= r.x && x < r.right() && y >= r.y && y < r.bottom())
            return true;
    return false;
}

class TileDifferTest : public testing::TestWithParam<Size> {
protected:
    void SetUp() override {
        size = GetParam();
        frame.allocate(size.width, size.height);
        std::mt19937 random(7);
        for (auto &byte : frame.pixels)
            byte = static_cast<uint8_t>(random());
        framebuffer = frame.pixels;
    }

    size_t update() {
        changed.clear();
        return differ.update(frame, framebuffer.data(), frame.stride, changed);
    }

    Size size;
    Frame frame;
    std::vector<uint8_t> framebuffer;
    std::vector<Rect> changed;
    TileDiffer differ;
};

}  // namespace

TEST_P(TileDifferTest, IdenticalFramesChangeNothing) {
    EXPECT_EQ(update(), 0u);
    EXPECT_TRUE(changed.empty());
}

TEST_P(TileDifferTest, OnePixelMarksThatPixel) {
    const int x = size.width - 1;
    const int y = size.height / 2;
    setPixel(frame, x, y, 0x00abcdef);
    EXPECT_EQ(update(), 1u);
    ASSERT_EQ(changed.size(), 1u);
    EXPECT_EQ(changed[0], (Rect{x, y, 1, 1}));
    EXPECT_EQ(framebuffer, frame.pixels);
}

TEST_P(TileDifferTest, RandomChangesAreAllFoundAndCopied) {
    std::mt19937 random(11);
    std::vector<std::pair<int, int>> touched;
    for (int i = 0; i < 50; ++i) {
        int x = static_cast<int>(random() % size.width);
        int y = static_cast<int>(random() % size.height);
        setPixel(frame, x, y, static_cast<uint32_t>(random()) | 1);
        touched.emplace_back(x, y);
    }
    update();
    EXPECT_EQ(framebuffer, frame.pixels);
    for (auto [x, y] : touched)
        EXPECT_TRUE(covered(changed, x, y)) << x << "," << y;
    for (const Rect &r : changed) {
        EXPECT_GE(r.x, 0);
        EXPECT_GE(r.y, 0);
        EXPECT_LE(r.right(), size.width);
        EXPECT_LE(r.bottom(), size.height);
    }
    // A second pass over the same frame finds nothing.
    EXPECT_EQ(update(), 0u);
}

TEST_P(TileDifferTest, FullChangeCoversTheWholeFrame) {
    for (auto &byte : frame.pixels)
        byte = static_cast<uint8_t>(~byte);
    const int tiles = ((size.width + 63) / 64) * ((size.height + 63) / 64);
    EXPECT_EQ(update(), static_cast<size_t>(tiles));
    long long area = 0;
    for (const Rect &r : changed)
        area += static_cast<long long>(r.width) * r.height;
    EXPECT_EQ(area, static_cast<long long>(size.width) * size.height);
}

// With damage the differ trusts it: a change in an undamaged row is not
// looked for (the caller vouches there is none), one in a damaged row is
// found and copied as usual, and damage outside the frame is harmless.
TEST_P(TileDifferTest, WithDamageComparesOnlyTheDamagedRows) {
    if (size.height < 2)
        GTEST_SKIP() << "needs a damaged and an undamaged row";
    const int inside = size.height / 2;
    const int outside = 0;
    setPixel(frame, 1, inside, 0x00123456);
    setPixel(frame, size.width - 1, outside, 0x00654321);
    const std::vector<Rect> damage = {
        {0, inside, 1, 1}, {0, size.height + 5, 10, 10}, {0, -20, 10, 5}};
    changed.clear();
    EXPECT_EQ(differ.update(frame, framebuffer.data(), frame.stride, changed, &damage), 1u);
    EXPECT_TRUE(covered(changed, 1, inside));
    EXPECT_FALSE(covered(changed, size.width - 1, outside));
    EXPECT_EQ(std::memcmp(framebuffer.data() + static_cast<size_t>(inside) * frame.stride,
                          frame.row(inside), static_cast<size_t>(frame.stride)),
              0)
        << "the damaged row is copied";
    EXPECT_NE(
        std::memcmp(framebuffer.data(), frame.row(outside), static_cast<size_t>(frame.stride)), 0)
        << "the undamaged row is left alone";
    // Without damage the other change is found too.
    EXPECT_EQ(update(), 1u);
    EXPECT_TRUE(covered(changed, size.width - 1, outside));
    // No damage at all: nothing compared, nothing changed.
    setPixel(frame, 2, inside, 0x00abcdef);
    const std::vector<Rect> none;
    changed.clear();
    EXPECT_EQ(differ.update(frame, framebuffer.data(), frame.stride, changed, &none), 0u);
    EXPECT_TRUE(changed.empty());
}

TEST(TileDifferMergeTest, NeighbouringTilesMergeIntoOneRectangle) {
    Frame frame;
    frame.allocate(256, 128);
    std::vector<uint8_t> framebuffer = frame.pixels;
    // A change straddling the first tile boundary of a row of tiles.
    for (int x = 60; x < 70; ++x)
        for (int y = 10; y < 20; ++y)
            setPixel(frame, x, y, 0x00ff0000);
    TileDiffer differ;
    std::vector<Rect> changed;
    EXPECT_EQ(differ.update(frame, framebuffer.data(), frame.stride, changed), 2u);
    ASSERT_EQ(changed.size(), 1u);
    EXPECT_EQ(changed[0], (Rect{60, 10, 10, 10})) << "the change's own box";
}

// A typed character: its cell, whatever pixels of it changed, in one tile.
TEST(TileDifferMergeTest, AChangedTileReportsTheBoundingBoxOfItsChangedPixels) {
    Frame frame;
    frame.allocate(128, 64);
    std::vector<uint8_t> framebuffer = frame.pixels;
    setPixel(frame, 70, 20, 1);  // the glyph's top left
    setPixel(frame, 77, 24, 2);  // its right edge, lower
    setPixel(frame, 72, 35, 3);  // its bottom
    TileDiffer differ;
    std::vector<Rect> changed;
    EXPECT_EQ(differ.update(frame, framebuffer.data(), frame.stride, changed), 1u);
    ASSERT_EQ(changed.size(), 1u);
    EXPECT_EQ(changed[0], (Rect{70, 20, 8, 16}));
    EXPECT_EQ(framebuffer, frame.pixels);
}

// Rows are compared whole before tile by tile: padding past the last pixel,
// in the frame or in the framebuffer, must count for nothing.
TEST(TileDifferStrideTest, PaddingIsNeitherComparedNorCopied) {
    constexpr int kWidth = 100;
    constexpr int kHeight = 3;
    Frame frame;
    frame.width = kWidth;
    frame.height = kHeight;
    frame.stride = kWidth * 4 + 24;
    frame.pixels.assign(static_cast<size_t>(frame.stride) * kHeight, 0x11);
    const int stride = kWidth * 4 + 40;
    std::vector<uint8_t> framebuffer(static_cast<size_t>(stride) * kHeight, 0x11);
    for (int y = 0; y < kHeight; ++y) {
        std::memset(frame.row(y) + kWidth * 4, 0xaa, frame.stride - kWidth * 4);
        std::memset(framebuffer.data() + y * stride + kWidth * 4, 0x55, stride - kWidth * 4);
    }
    TileDiffer differ;
    std::vector<Rect> changed;
    EXPECT_EQ(differ.update(frame, framebuffer.data(), stride, changed), 0u);
    EXPECT_TRUE(changed.empty());

    // A change in the last pixel of the middle row, in the second tile.
    setPixel(frame, kWidth - 1, 1, 0x00123456);
    EXPECT_EQ(differ.update(frame, framebuffer.data(), stride, changed), 1u);
    ASSERT_EQ(changed.size(), 1u);
    EXPECT_EQ(changed[0], (Rect{kWidth - 1, 1, 1, 1}));
    for (int y = 0; y < kHeight; ++y) {
        const uint8_t *row = framebuffer.data() + y * stride;
        EXPECT_EQ(std::memcmp(row, frame.row(y), kWidth * 4), 0) << "row " << y;
        for (int i = kWidth * 4; i < stride; ++i)
            ASSERT_EQ(row[i], 0x55) << "padding of row " << y << " written";
    }
}

// Changed tiles with an unchanged one between them in the same row: two
// rectangles, both copied.
TEST(TileDifferMergeTest, TilesApartStayApart) {
    Frame frame;
    frame.allocate(192, 64);
    std::vector<uint8_t> framebuffer = frame.pixels;
    setPixel(frame, 0, 5, 0x00010203);
    setPixel(frame, 191, 5, 0x00040506);
    TileDiffer differ;
    std::vector<Rect> changed;
    EXPECT_EQ(differ.update(frame, framebuffer.data(), frame.stride, changed), 2u);
    ASSERT_EQ(changed.size(), 2u);
    EXPECT_EQ(changed[0], (Rect{0, 5, 1, 1}));
    EXPECT_EQ(changed[1], (Rect{191, 5, 1, 1}));
    EXPECT_EQ(framebuffer, frame.pixels);
}

INSTANTIATE_TEST_SUITE_P(Sizes, TileDifferTest,
                         testing::Values(Size{1920, 1080}, Size{720, 400}, Size{130, 70},
                                         Size{64, 64}, Size{1, 1}),
                         [](const testing::TestParamInfo<Size> &param) {
                             return std::to_string(param.param.width) + "x" +
                                    std::to_string(param.param.height);
                         });

}  // namespace kvmvnc::diff
