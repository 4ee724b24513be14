// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/diff/scroll_finder.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "kvmvnc/diff/tile_differ.h"

namespace kvmvnc::diff {

using capture::Frame;

namespace {

constexpr Size kSize{640, 480};
constexpr Rect kWindow{100, 64, 400, 320};  // the scrolling text

// Row `line` of some text: a pattern of its own, never one colour.
void drawLine(Frame &frame, int y, uint32_t line) {
    std::mt19937 random(line * 2654435761u + 1);
    uint32_t *p = reinterpret_cast<uint32_t *>(frame.row(y) + kWindow.x * 4);
    for (int x = 0; x < kWindow.width; ++x)
        p[x] = (random() & 3) ? 0x101010 : 0xc8d0c8;
}

// The window showing text lines first..first+rows, one pixel row each.
Frame textFrame(uint32_t first) {
    Frame frame;
    frame.allocate(kSize.width, kSize.height);
    for (int y = 0; y < kSize.height; ++y)
        for (int x = 0; x < kSize.width; ++x) {
            const uint32_t desktop = 0x203040u + static_cast<uint32_t>(x / 7 + y / 5);
            std::memcpy(frame.row(y) + x * 4, &desktop, 4);
        }
    for (int y = 0; y < kWindow.height; ++y)
        drawLine(frame, kWindow.y + y, first + static_cast<uint32_t>(y));
    return frame;
}

// What the frame pump does, on a framebuffer of our own.
struct Pipeline {
    explicit Pipeline(const Frame &first) : framebuffer(first.pixels) {}
    void show(const Frame &frame) {
        moves.clear();
        finder.find(frame, framebuffer.data(), frame.stride, moves);
        for (const Move &move : moves)
            apply(move, frame.stride);
        changed.clear();
        differ.update(frame, framebuffer.data(), frame.stride, changed);
        finder.noteChanges(changed, moves);
    }
    void apply(const Move &move, int stride) {
        std::vector<uint8_t> source(framebuffer);
        for (int y = 0; y < move.to.height; ++y)
            std::memcpy(&framebuffer[static_cast<size_t>(move.to.y + y) * stride + move.to.x * 4],
                        &source[static_cast<size_t>(move.fromY + y) * stride + move.fromX * 4],
                        static_cast<size_t>(move.to.width) * 4);
    }
    int changedRows() const {
        int rows = 0;
        for (const Rect &r : changed)
            rows += r.height;
        return rows;
    }
    std::vector<uint8_t> framebuffer;
    ScrollFinder finder;
    TileDiffer differ;
    std::vector<Move> moves;
    std::vector<Rect> changed;
};

}  // namespace

TEST(ScrollFinderTest, AScrollIsFoundFromTheSecondFrameOnAndOnlyNewLinesChange) {
    Pipeline pipeline(textFrame(0));
    pipeline.show(textFrame(16));  // the first scroll: pixels, and now a candidate
    EXPECT_TRUE(pipeline.moves.empty());
    EXPECT_FALSE(pipeline.finder.candidates().empty());

    for (uint32_t first = 32; first <= 160; first += 16) {
        const Frame frame = textFrame(first);
        pipeline.show(frame);
        ASSERT_EQ(pipeline.moves.size(), 1u) << "scrolled to line " << first;
        const Move &move = pipeline.moves[0];
        EXPECT_EQ(move.to, (Rect{kWindow.x, kWindow.y, kWindow.width, kWindow.height - 16}));
        EXPECT_EQ(move.fromX, kWindow.x);
        EXPECT_EQ(move.fromY, kWindow.y + 16);
        EXPECT_EQ(pipeline.framebuffer, frame.pixels) << "the move and the diff give the frame";
        EXPECT_LE(pipeline.changedRows(), 16) << "only the new lines go as pixels";
    }
}

TEST(ScrollFinderTest, ScrollingDownIsFoundToo) {
    Pipeline pipeline(textFrame(400));
    pipeline.show(textFrame(390));
    for (uint32_t first = 380; first >= 300; first -= 10) {
        const Frame frame = textFrame(first);
        pipeline.show(frame);
        ASSERT_EQ(pipeline.moves.size(), 1u);
        EXPECT_EQ(pipeline.moves[0].fromY, kWindow.y);
        EXPECT_EQ(pipeline.moves[0].to.y, kWindow.y + 10);
        EXPECT_EQ(pipeline.framebuffer, frame.pixels);
    }
}

TEST(ScrollFinderTest, ChangesThatAreNoScrollGiveNoMove) {
    Pipeline pipeline(textFrame(0));
    std::mt19937 random(3);
    for (int step = 0; step < 5; ++step) {
        Frame frame = textFrame(0);
        for (int y = kWindow.y; y < kWindow.bottom(); ++y)
            for (int x = kWindow.x; x < kWindow.right(); ++x) {
                const uint32_t noise = random();
                std::memcpy(frame.row(y) + x * 4, &noise, 4);
            }
        pipeline.show(frame);
        EXPECT_TRUE(pipeline.moves.empty());
        EXPECT_EQ(pipeline.framebuffer, frame.pixels);
    }
}

TEST(ScrollFinderTest, ABlankWindowSaysNothingAboutWhereTextWent) {
    Frame blank = textFrame(0);
    for (int y = kWindow.y; y < kWindow.bottom(); ++y)
        std::memset(blank.row(y) + kWindow.x * 4, 0, static_cast<size_t>(kWindow.width) * 4);
    Pipeline pipeline(textFrame(0));
    pipeline.show(blank);
    pipeline.show(textFrame(8));
    pipeline.show(blank);
    EXPECT_TRUE(pipeline.moves.empty());
    EXPECT_EQ(pipeline.framebuffer, blank.pixels);
}

TEST(ScrollFinderTest, SmallChangesAreNoCandidates) {
    ScrollFinder finder;
    finder.noteChanges({{0, 0, 9, 16}, {100, 100, 64, 20}}, {});
    EXPECT_TRUE(finder.candidates().empty());
    finder.noteChanges({{64, 0, 128, 64}, {64, 64, 128, 64}, {64, 128, 128, 10}}, {});
    ASSERT_EQ(finder.candidates().size(), 1u) << "stacked tile rows make one block";
    EXPECT_EQ(finder.candidates()[0], (Rect{64, 0, 128, 138}));
    finder.noteChanges({{0, 0, 192, 64}, {64, 64, 64, 64}, {128, 128, 256, 64}, {512, 0, 32, 64}},
                       {});
    ASSERT_EQ(finder.candidates().size(), 1u) << "ragged text: overlapping columns stack too";
    EXPECT_EQ(finder.candidates()[0], (Rect{0, 0, 384, 192}));
}

}  // namespace kvmvnc::diff
