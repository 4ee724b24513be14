// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace kvmvnc::rfb {

// When viewers that list H.264 (encoding 50) get it instead of their pixel
// encoding: the first, deliberately simple version of the policy. Small
// changes (typing, a pointer, a clock) go as tiles and CopyRect, which are
// exact and cheap; H.264 pays off on large continuous change (a video, a
// window dragged, an installer's animation), where Tight/JPEG costs tens of
// times the bytes. So:
//   - a frame "moves" when its changed rectangles cover at least
//     kAreaPercent of the screen;
//   - motion starts at the kFrames-th moving frame in a row (a single
//     large change, a window opening, stays pixels);
//   - motion lasts while moving frames keep coming, and ends kStill after
//     the last one, at which point viewers leave H.264 and are sent the
//     areas that changed meanwhile again, as pixels (sharp text once it
//     stops moving).
//
// noteFrame() belongs to the frame pump's thread (through
// RfbServer::markModified()); active() may be asked from any thread.
class MotionPolicy {
public:
    using Clock = std::chrono::steady_clock;
    static constexpr int kAreaPercent = 25;
    static constexpr int kFrames = 3;
    static constexpr std::chrono::milliseconds kStill{300};

    void noteFrame(int64_t changedPixels, int64_t screenPixels, Clock::time_point now) {
        if (screenPixels <= 0 || changedPixels * 100 < screenPixels * kAreaPercent) {
            run_ = 0;
            return;
        }
        run_ = run_ < kFrames ? run_ + 1 : kFrames;
        if (run_ >= kFrames)
            lastMoving_.store(now.time_since_epoch().count(), std::memory_order_relaxed);
    }
    bool active(Clock::time_point now) const {
        const Clock::rep last = lastMoving_.load(std::memory_order_relaxed);
        return last != kNever && now - Clock::time_point(Clock::duration(last)) < kStill;
    }

private:
    static constexpr Clock::rep kNever = INT64_MIN;
    int run_ = 0;  // moving frames in a row; the pump's thread only
    std::atomic<Clock::rep> lastMoving_{kNever};
};

}  // namespace kvmvnc::rfb
