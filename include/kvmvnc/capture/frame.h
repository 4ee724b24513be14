// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

#include "kvmvnc/base/geometry.h"

namespace kvmvnc::capture {

// One captured picture in the pipeline's only pixel format, XRGB8888: a
// little-endian uint32 0x00RRGGBB per pixel, so bytes B, G, R, X in memory
// (libyuv calls it ARGB, TurboJPEG BGRX, libvncserver 32 bpp with red shift
// 16). Every source converts into it once; nothing downstream converts again.
//
// A Frame owns its pixels. Frames are recycled through FrameMailbox, so
// allocate() keeps the buffer's capacity and steady-state capture allocates
// nothing. Not thread-safe: one thread owns a frame at a time.
struct Frame {
    static constexpr int kBytesPerPixel = 4;

    int width = 0;
    int height = 0;
    int stride = 0;  // bytes per row
    std::vector<uint8_t> pixels;
    uint64_t sequence = 0;  // set by the capture thread, increasing
    std::chrono::steady_clock::time_point timestamp{};
    // What a source knows changed: with damageKnown, no pixel outside these
    // rectangles differs from the frame published before this one (the X11
    // source asks the X server; HDMI capture never knows). The capture
    // thread clears it before each capture; FrameMailbox merges the damage
    // of a frame it drops into the next, so it always holds against the
    // frame the consumer took last.
    bool damageKnown = false;
    std::vector<Rect> damage;
    // Which picture of its source the pixels hold, where the source numbers
    // them (X11: it then refreshes a recycled frame by copying only what
    // changed since); 0 when unknown. allocate() resets it.
    uint64_t pictureId = 0;

    // Nothing is known about what changed.
    void forgetDamage() {
        damageKnown = false;
        damage.clear();
    }
    // This frame replaces `dropped`, which its consumer never saw: what
    // changed in that one counts as changed in this one.
    // Past kMaxDamage rectangles (a consumer stalled for many frames) the
    // damage is forgotten: comparing everything is cheaper by then.
    void absorbDamage(const Frame &dropped) {
        if (!dropped.damageKnown || !damageKnown ||
            damage.size() + dropped.damage.size() > kMaxDamage) {
            forgetDamage();
            return;
        }
        damage.insert(damage.end(), dropped.damage.begin(), dropped.damage.end());
    }
    static constexpr size_t kMaxDamage = 64;

    // Sets the size and says the pixels are about to be written: every
    // writer calls it first, so it also forgets pictureId.
    void allocate(int w, int h) {
        pictureId = 0;
        width = w;
        height = h;
        stride = w * kBytesPerPixel;
        pixels.resize(static_cast<size_t>(stride) * static_cast<size_t>(h));
    }
    Size size() const { return {width, height}; }
    uint8_t *row(int y) { return pixels.data() + static_cast<size_t>(y) * stride; }
    const uint8_t *row(int y) const { return pixels.data() + static_cast<size_t>(y) * stride; }
};

}  // namespace kvmvnc::capture
