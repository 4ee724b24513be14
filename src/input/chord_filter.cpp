// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/input/chord_filter.h"

#include <cstddef>
#include <utility>

namespace kvmvnc::input {

namespace {

// Letters match in either case: Shift or Caps Lock turns 'p' into 'P'.
uint32_t folded(uint32_t keysym) {
    return keysym >= 'A' && keysym <= 'Z' ? keysym - 'A' + 'a' : keysym;
}

bool same(uint32_t keysym, uint32_t chordKey) { return folded(keysym) == folded(chordKey); }

}  // namespace

void ChordFilter::reset() {
    held_.clear();
    tapped_ = 0;
    pressed_ = false;
}

ChordFilter::Result ChordFilter::key(const ViewerKey &event) {
    Result result;
    if (swallowLast_ && same(event.keysym, chord_.back())) {
        // Its auto-repeat, then its release.
        if (!event.down)
            swallowLast_ = false;
        return result;
    }
    feed(event, result);
    return result;
}

void ChordFilter::feed(const ViewerKey &event, Result &result) {
    if (chord_.empty()) {
        result.pass.push_back(event);
        return;
    }
    const uint32_t wanted = chord_[tapped_];
    if (pressed_) {
        if (!event.down && same(event.keysym, wanted)) {
            held_.push_back(event);
            pressed_ = false;
            ++tapped_;
            return;
        }
    } else if (event.down && same(event.keysym, wanted)) {
        if (tapped_ + 1 == chord_.size()) {
            reset();
            swallowLast_ = true;
            result.triggered = true;
            return;
        }
        held_.push_back(event);
        pressed_ = true;
        return;
    } else if (tapped_ == 0) {
        result.pass.push_back(event);
        return;
    }
    // Not the chord after all: the earliest key held goes to the target, the
    // others (and this one) may still begin it.
    std::vector<ViewerKey> replay = std::move(held_);
    replay.push_back(event);
    reset();
    result.pass.push_back(replay.front());
    for (size_t i = 1; i < replay.size(); ++i)
        feed(replay[i], result);
}

std::vector<ViewerKey> ChordFilter::flush() {
    std::vector<ViewerKey> held = std::move(held_);
    reset();
    return held;
}

}  // namespace kvmvnc::input
