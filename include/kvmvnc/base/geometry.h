// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

namespace kvmvnc {

struct Size {
    int width = 0;
    int height = 0;
    bool operator==(const Size &) const = default;
    bool isEmpty() const { return width <= 0 || height <= 0; }
};

struct Rect {
    int x = 0;
    int y = 0;
    int width = 0;
    int height = 0;
    bool operator==(const Rect &) const = default;
    int right() const { return x + width; }
    int bottom() const { return y + height; }
    bool contains(const Rect &other) const {
        return other.x >= x && other.y >= y && other.right() <= right() &&
               other.bottom() <= bottom();
    }
    bool intersects(const Rect &other) const {
        return other.x < right() && x < other.right() && other.y < bottom() && y < other.bottom();
    }
};

}  // namespace kvmvnc
