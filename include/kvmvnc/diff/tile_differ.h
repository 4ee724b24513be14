// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "kvmvnc/base/geometry.h"
#include "kvmvnc/capture/frame.h"

namespace kvmvnc::diff {

// Finds what changed between a new frame and the live framebuffer and brings
// the framebuffer up to date by copying only what differs.
//
// The frame is compared in tiles of kTileSize x kTileSize, walking memory in
// row order: a row that is unchanged as a whole (most of them, most of the
// time) costs one memcmp; in a changed row each tile's part is compared and
// copied only when it differs. A changed tile reports the bounding box of its
// changed pixels (the first and last differing pixel of each changed row of
// it, found from either end), and changed tiles next to each other in a tile
// row merge into one rectangle, at most one per tile: one typed character
// marks its character cell and a static screen marks nothing at all.
//
// Thread-bound (the frame pump); keeps its scratch space between frames so
// steady state allocates nothing.
class TileDiffer {
public:
    static constexpr int kTileSize = 64;

    // `framebuffer` must have the frame's size; `stride` is its bytes per row.
    // Appends changed rectangles to `changed` and returns the number of
    // changed tiles.
    //
    // With `damage`, only the rows those rectangles cover are compared: the
    // caller vouches that the framebuffer already equals the frame in every
    // other row (it holds the frame the damage is relative to).
    size_t update(const capture::Frame &frame, uint8_t *framebuffer, int stride,
                  std::vector<Rect> &changed, const std::vector<Rect> *damage = nullptr);

private:
    struct TileSpan {
        int firstRow;  // -1: unchanged
        int lastRow;
        int firstColumn;  // of the frame, not the tile
        int lastColumn;
    };
    std::vector<TileSpan> spans_;
    std::vector<uint8_t> rowDamaged_;  // per row, with `damage`: compare it
};

}  // namespace kvmvnc::diff
