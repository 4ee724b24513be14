// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace kvmvnc::rfb {

// When viewers that list H.264 (encoding 50) get it instead of their pixel
// encoding. Small changes (typing, a pointer, a clock) go as tiles and
// CopyRect, which are exact and cheap; H.264 pays off on large continuous
// change (a video, a window dragged, an installer's animation), where
// Tight/JPEG costs tens of times the bytes. So, with the [h264] keys:
//   - a frame "moves" when its changed rectangles cover at least
//     areaPercent of the screen (motion_percent);
//   - motion starts at the frames-th moving frame in a row (motion_frames;
//     a single large change, a window opening, stays pixels);
//   - motion lasts while moving frames keep coming, and ends `still` after
//     the last one (still_ms), at which point viewers leave H.264 and, with
//     [h264] sharpen, are sent the areas that changed meanwhile again, as
//     pixels (sharp text once it stops moving).
//
// The options are set before the frame pump starts; noteFrame() belongs to
// the frame pump's thread (through RfbServer::markModified()); active() may
// be asked from any thread.
class MotionPolicy {
public:
    using Clock = std::chrono::steady_clock;
    struct Options {
        int areaPercent = 25;
        int frames = 3;
        std::chrono::milliseconds still{300};
    };

    MotionPolicy() = default;
    explicit MotionPolicy(const Options &options) : options_(options) {}
    void setOptions(const Options &options) { options_ = options; }  // before use
    const Options &options() const { return options_; }

    void noteFrame(int64_t changedPixels, int64_t screenPixels, Clock::time_point now) {
        if (screenPixels <= 0 || changedPixels * 100 < screenPixels * options_.areaPercent) {
            run_ = 0;
            return;
        }
        // A pause as long as the still period ends the run too: a window
        // opening after a video stopped is one large change, not motion.
        if (run_ > 0 && now - lastLarge_ >= options_.still)
            run_ = 0;
        lastLarge_ = now;
        run_ = run_ < options_.frames ? run_ + 1 : options_.frames;
        if (run_ >= options_.frames)
            lastMoving_.store(now.time_since_epoch().count(), std::memory_order_relaxed);
    }
    bool active(Clock::time_point now) const {
        const Clock::rep last = lastMoving_.load(std::memory_order_relaxed);
        return last != kNever && now - Clock::time_point(Clock::duration(last)) < options_.still;
    }

private:
    static constexpr Clock::rep kNever = INT64_MIN;
    Options options_;
    int run_ = 0;                  // moving frames in a row; the pump's thread only
    Clock::time_point lastLarge_;  // when the last of them came; the pump's thread only
    std::atomic<Clock::rep> lastMoving_{kNever};
};

}  // namespace kvmvnc::rfb
