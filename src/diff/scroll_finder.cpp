// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/diff/scroll_finder.h"

#include <algorithm>
#include <cstring>

#include "kvmvnc/diff/tile_differ.h"

namespace kvmvnc::diff {

namespace {

constexpr int kBpp = capture::Frame::kBytesPerPixel;

// Frame rows are 4-byte aligned (operator new, whole-pixel strides): the
// cast through void * says so to 32-bit ARM's -Wcast-align.
const uint32_t *pixelsAt(const uint8_t *row, int x) {
    return static_cast<const uint32_t *>(
        static_cast<const void *>(row + static_cast<size_t>(x) * kBpp));
}

bool sameSpan(const uint8_t *a, const uint8_t *b, int x, int width) {
    return std::memcmp(a + static_cast<size_t>(x) * kBpp, b + static_cast<size_t>(x) * kBpp,
                       static_cast<size_t>(width) * kBpp) == 0;
}

// Whether the span holds more than one colour: a blank row matches any
// other blank row and says nothing about where the text went.
bool hasDetail(const uint8_t *row, int x, int width) {
    const uint32_t *p = pixelsAt(row, x);
    for (int i = 1; i < width; ++i) {
        if (p[i] != p[0])
            return true;
    }
    return false;
}

Rect unite(const Rect &a, const Rect &b) {
    const int x = std::min(a.x, b.x);
    const int y = std::min(a.y, b.y);
    return {x, y, std::max(a.right(), b.right()) - x, std::max(a.bottom(), b.bottom()) - y};
}

}  // namespace

void ScrollFinder::find(const capture::Frame &frame, const uint8_t *framebuffer, int stride,
                        std::vector<Move> &moves) const {
    auto oldRow = [&](int y) { return framebuffer + static_cast<ptrdiff_t>(y) * stride; };
    for (const Rect &candidate : candidates_) {
        const int top = std::max(candidate.y, 0);
        const int bottom = std::min(candidate.bottom(), frame.height);
        const int left = std::max(candidate.x, 0);
        const int right = std::min(candidate.right(), frame.width);
        if (bottom - top < kMinRows || right - left < kMinWidth)
            continue;

        // The columns that differ, and the rows that do.
        int minX = right;
        int maxX = left - 1;
        int firstRow = -1;
        int lastRow = -1;
        for (int y = top; y < bottom; ++y) {
            const uint32_t *now = pixelsAt(frame.row(y), 0);
            const uint32_t *was = pixelsAt(oldRow(y), 0);
            if (sameSpan(frame.row(y), oldRow(y), left, right - left))
                continue;
            int l = left;
            while (now[l] == was[l])
                ++l;
            int r = right - 1;
            while (now[r] == was[r])
                --r;
            minX = std::min(minX, l);
            maxX = std::max(maxX, r);
            if (firstRow < 0)
                firstRow = y;
            lastRow = y;
        }
        const int width = maxX - minX + 1;
        if (firstRow < 0 || width < kMinWidth || lastRow - firstRow + 1 < kMinRows)
            continue;

        // A row with detail from the middle of the change, found again in
        // the framebuffer as close as possible.
        int shift = 0;
        int sample = -1;
        for (int attempt = 0; attempt < 3 && shift == 0; ++attempt) {
            const int y = firstRow + (lastRow - firstRow + 1) * (attempt + 1) / 4;
            if (!hasDetail(frame.row(y), minX, width))
                continue;
            for (int distance = 1; distance <= kMaxShift && shift == 0; ++distance) {
                for (int from : {y + distance, y - distance}) {
                    if (from >= top && from < bottom &&
                        sameSpan(frame.row(y), oldRow(from), minX, width)) {
                        shift = from - y;
                        sample = y;
                        break;
                    }
                }
            }
        }
        if (shift == 0)
            continue;

        // Grow the match both ways while every row agrees.
        auto matches = [&](int y) {
            const int from = y + shift;
            return y >= top && y < bottom && from >= top && from < bottom &&
                   sameSpan(frame.row(y), oldRow(from), minX, width);
        };
        int runTop = sample;
        while (matches(runTop - 1))
            --runTop;
        int runBottom = sample + 1;
        while (matches(runBottom))
            ++runBottom;
        if (runBottom - runTop < kMinRows)
            continue;
        // Moves are applied one after the other: none may touch another's
        // source or destination.
        const Move move{{minX, runTop, width, runBottom - runTop}, minX, runTop + shift};
        const Rect source{move.fromX, move.fromY, width, move.to.height};
        const bool overlaps = std::any_of(moves.begin(), moves.end(), [&](const Move &other) {
            const Rect otherSource{other.fromX, other.fromY, other.to.width, other.to.height};
            return other.to.intersects(move.to) || other.to.intersects(source) ||
                   otherSource.intersects(move.to) || otherSource.intersects(source);
        });
        if (!overlaps)
            moves.push_back(move);
    }
}

void ScrollFinder::noteChanges(const std::vector<Rect> &changed, const std::vector<Move> &moves) {
    // The differ's rectangles are at most a tile high: stack the ones that
    // share columns and follow each other into blocks. Ragged text changes
    // different tiles of each band, so overlapping columns are enough.
    scratch_.assign(changed.begin(), changed.end());
    std::sort(scratch_.begin(), scratch_.end(),
              [](const Rect &a, const Rect &b) { return a.y != b.y ? a.y < b.y : a.x < b.x; });
    candidates_.clear();
    for (const Rect &r : scratch_) {
        auto block = std::find_if(candidates_.begin(), candidates_.end(), [&](const Rect &c) {
            return c.x < r.right() && r.x < c.right() && r.y <= c.bottom() + TileDiffer::kTileSize;
        });
        if (block != candidates_.end())
            *block = unite(*block, r);
        else
            candidates_.push_back(r);
    }
    // A scroll found this time is looked for in the same place next time,
    // together with the lines it brought in.
    for (const Move &move : moves) {
        const Rect whole = unite(move.to, {move.fromX, move.fromY, move.to.width, move.to.height});
        bool merged = false;
        for (Rect &candidate : candidates_) {
            if (candidate.x < whole.right() && whole.x < candidate.right() &&
                candidate.y <= whole.bottom() + TileDiffer::kTileSize &&
                whole.y <= candidate.bottom() + TileDiffer::kTileSize) {
                candidate = unite(candidate, whole);
                merged = true;
            }
        }
        if (!merged)
            candidates_.push_back(whole);
    }
    std::erase_if(candidates_,
                  [](const Rect &r) { return r.height < kMinRows || r.width < kMinWidth; });
}

}  // namespace kvmvnc::diff
