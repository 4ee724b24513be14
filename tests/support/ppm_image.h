// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "kvmvnc/base/geometry.h"

namespace kvmvnc::testing {

// A picture in the pipeline's XRGB8888 (padding byte zero), for comparing
// what external viewers show (screenshots saved as binary PPM).
struct Image {
    Size size;
    std::vector<uint8_t> pixels;

    // The part of this image at `area`, or an empty image if it does not fit.
    Image crop(Rect area) const;
};

// Reads a binary PPM (P6, maxval 255 or 65535); nullopt on anything else.
std::optional<Image> readPpm(const std::string &path);

// Where `needle` sits inside `haystack`, trying every offset up to
// `maxOffset` in x and y; nullopt when it is nowhere exactly.
std::optional<Rect> findExactly(const Image &haystack, const Image &needle, int maxOffset);

}  // namespace kvmvnc::testing
