// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kvmvnc/base/geometry.h"
#include "kvmvnc/capture/frame.h"

namespace kvmvnc::bench {

// What the benchmarked screen does, frame by frame. Every workload starts
// from the virtual target's desktop and is deterministic: frame n is the
// same in every run, whoever plays it (the in-process source or the X11
// player that draws onto Xvfb for the peers).
enum class WorkloadKind {
    Static,      // nothing changes
    Typing,      // one character appears in a terminal per frame
    Scrolling,   // a 1200x800 text window scrolls one line per frame
    WindowDrag,  // a 640x400 window moves 8 pixels per frame
    Video,       // every pixel changes every frame
};

const char *workloadName(WorkloadKind kind);
std::optional<WorkloadKind> parseWorkload(std::string_view name);
inline constexpr WorkloadKind kAllWorkloads[] = {WorkloadKind::Static, WorkloadKind::Typing,
                                                 WorkloadKind::Scrolling, WorkloadKind::WindowDrag,
                                                 WorkloadKind::Video};

// Frame numbers ride in the picture: every frame but a static screen's
// carries its number in a strip of black and white cells at the top left
// (kCounterBits cells, then the same bits inverted in a second row), big
// enough to survive Tight JPEG at any quality. A viewer reads it back to
// tell which frame it is showing.
inline constexpr int kCounterCell = 16;
inline constexpr int kCounterBits = 20;
inline constexpr Rect kCounterArea{0, 0, kCounterCell *kCounterBits, 2 * kCounterCell};

// Reads the frame number from XRGB8888 pixels; nullopt when the strip is
// not there or not readable (a half-drawn or a static picture).
std::optional<uint32_t> readFrameCounter(const uint8_t *pixels, int stride, Size size);

class Workload {
public:
    Workload(WorkloadKind kind, Size size);

    WorkloadKind kind() const { return kind_; }
    Size size() const { return size_; }
    // Frame 0: the desktop, without a counter.
    const capture::Frame &firstFrame() const { return first_; }
    // Turns `frame`, which must hold frame n - 1, into frame n (n >= 1) and
    // appends the rectangles that changed to `dirty` (none for Static).
    void advance(capture::Frame &frame, uint32_t n, std::vector<Rect> &dirty) const;

private:
    void stampCounter(capture::Frame &frame, uint32_t n) const;

    WorkloadKind kind_;
    Size size_;
    capture::Frame first_;
    capture::Frame window_;                    // the dragged window's picture
    std::vector<capture::Frame> videoFrames_;  // the video's distinct frames, cycled
    Rect terminal_;                            // where Typing types
    Rect textWindow_;                          // what Scrolling scrolls
};

}  // namespace kvmvnc::bench
