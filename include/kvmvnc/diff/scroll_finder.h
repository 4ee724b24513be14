// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <cstdint>
#include <vector>

#include "kvmvnc/base/geometry.h"
#include "kvmvnc/capture/frame.h"

namespace kvmvnc::diff {

// An area of the new frame that shows what the framebuffer held at
// (fromX, fromY): a copy on the viewer's side instead of pixels on the wire.
struct Move {
    Rect to;
    int fromX = 0;
    int fromY = 0;
    bool operator==(const Move &) const = default;
};

// Finds text scrolling: a block of rows that reappears a few rows higher or
// lower (a console printing boot messages, a terminal, a log). A viewer
// then gets one CopyRect and the new lines instead of the whole block.
//
// Where to look comes from the previous frame (noteChanges()): a scroll
// goes on for many frames in the same place, so the first frame of one is
// sent as pixels and the rest as copies, and a frame that scrolls nowhere
// costs nothing beyond the differ's own compare. In a candidate block,
// find() narrows the columns to those that differ, takes a row with detail
// (not one colour), looks for the same row in the framebuffer up to
// kMaxShift rows away, and grows the match row by row while every row of the
// frame equals the framebuffer's row at that distance. Only exact matches
// count: a move is right for every pixel it covers, so the differ that runs
// after it (on a framebuffer with the move applied) finds only what really
// is new. Captures that are not bit-exact (MJPEG) simply never match.
//
// Thread-bound (the frame pump); its scratch space is kept between frames.
class ScrollFinder {
public:
    static constexpr int kMaxShift = 256;
    static constexpr int kMinRows = 32;  // smaller moves are not worth a copy
    static constexpr int kMinWidth = 64;

    // Appends the moves that turn `framebuffer` (the previous frame) into
    // `frame` in this frame's candidate areas. `framebuffer` has the frame's
    // size and `stride` bytes per row.
    void find(const capture::Frame &frame, const uint8_t *framebuffer, int stride,
              std::vector<Move> &moves) const;

    // Where the frame just sent changed (the differ's rectangles, after the
    // moves): the areas find() looks at next time.
    void noteChanges(const std::vector<Rect> &changed, const std::vector<Move> &moves);

    const std::vector<Rect> &candidates() const { return candidates_; }

private:
    std::vector<Rect> candidates_;
    std::vector<Rect> scratch_;
};

}  // namespace kvmvnc::diff
