// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace kvmvnc::input {

// One key event of a viewer, as it came: a keysym, and for QEMU extended key
// events the physical key too.
struct ViewerKey {
    bool down = false;
    uint32_t keysym = 0;
    uint32_t xtKeycode = 0;  // QEMU extended key events only
    bool extended = false;   // came as a QEMU extended key event
    bool operator==(const ViewerKey &) const = default;
};

// Takes a chord (key_chord.h: every key but the last tapped, the last
// pressed) out of one viewer's key events, so that none of its keys reaches
// the target, and says when it was pressed.
//
// A key that may start the chord (a Left Alt press) can only be known not to
// be part of it later: such keys are held back, and released to the target
// in their order as soon as an event shows they were not the chord (another
// key, or flush() for a pointer event with a button down). A lone tap of the
// chord's first key so reaches the target with the viewer's next key or
// click. When the chord is pressed, what was held back is dropped, and the
// last key's release (and its auto-repeat) is swallowed too.
//
// Where events break off a partial chord, the earliest held key goes to the
// target and the rest are judged again, so Left Alt tapped three times, then
// P, is the chord after one Alt tap.
//
// Thread-bound: one per viewer, used by that viewer's input thread.
class ChordFilter {
public:
    struct Result {
        std::vector<ViewerKey> pass;  // for the target, in this order
        bool triggered = false;       // the chord was pressed
    };

    // `chord`: keysyms (letters in either case match); empty takes nothing.
    explicit ChordFilter(std::vector<uint32_t> chord = {}) : chord_(std::move(chord)) {}

    Result key(const ViewerKey &event);
    // The keys held back, for the target now (a pointer event with a button
    // down shows they were not the chord); the chord starts over.
    std::vector<ViewerKey> flush();
    bool holding() const { return !held_.empty(); }

private:
    void feed(const ViewerKey &event, Result &result);
    void reset();

    std::vector<uint32_t> chord_;
    std::vector<ViewerKey> held_;
    size_t tapped_ = 0;         // keys of the chord tapped so far
    bool pressed_ = false;      // chord_[tapped_] is down (held back)
    bool swallowLast_ = false;  // the chord fired: its last key's release is ours
};

}  // namespace kvmvnc::input
