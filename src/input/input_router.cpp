// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/input/input_router.h"

#include <algorithm>

#include "kvmvnc/base/log.h"
#include "kvmvnc/input/hid_usage.h"

namespace kvmvnc::input {

namespace {
constexpr const char *kLog = "input";
}  // namespace

InputRouter::InputRouter(std::shared_ptr<const KeysymMap> layout, HidSink &sink,
                         MouseMode mouseMode)
    : sink_(sink),
      mouseMode_(mouseMode),
      layout_(std::move(layout)),
      currentLayout_(layout_.get()),
      layouts_{layout_} {}

const KeysymMap &InputRouter::layout() const { return *currentLayout_.load(); }

bool InputRouter::setLayout(std::shared_ptr<const KeysymMap> layout) {
    std::lock_guard lock(mutex_);
    heldBy_.clear();
    keysymKeys_.clear();
    // Viewers' later key-up events for these keys find nothing to release.
    const bool held = keyboard_.releaseAll();
    if (held)
        sendKeyboard();
    if (std::find(layouts_.begin(), layouts_.end(), layout) == layouts_.end())
        layouts_.push_back(layout);
    layout_ = std::move(layout);
    currentLayout_.store(layout_.get());
    return held;
}

std::shared_ptr<const KeysymMap> InputRouter::usedLayout(const std::string &name) const {
    std::lock_guard lock(mutex_);
    for (const auto &layout : layouts_)
        if (layout->name() == name)
            return layout;
    return nullptr;
}

HidWriteResult InputRouter::record(HidWriteResult result) {
    if (result == HidWriteResult::Failed)
        ++stats_.failedWrites;
    return result;
}

HidWriteResult InputRouter::sendKeyboard() {
    ++stats_.keyReports;
    return record(sink_.writeKeyboard(keyboard_.report()));
}

bool InputRouter::typeStroke(KeyStroke stroke) {
    std::lock_guard lock(mutex_);
    bool delivered = true;
    auto send = [&] { delivered &= sendKeyboard() == HidWriteResult::Ok; };
    if (!isModifierUsage(stroke.usage)) {
        const uint8_t held = keyboard_.heldModifiers();
        uint8_t want = 0;
        if (stroke.modifiers & modifier::kShift)
            want |= held & modifier::kShift ? held & modifier::kShift : modifier::kLeftShift;
        if (stroke.modifiers & modifier::kAltGr)
            want |= modifier::kAltGr;
        if (keyboard_.setModifierOverride(want & ~held, held & ~want))
            send();
    }
    if (keyboard_.press(stroke.usage))
        send();
    if (keyboard_.release(stroke.usage))
        send();
    if (keyboard_.setModifierOverride(0, 0))
        send();
    if (delivered)
        ++stats_.typedCharacters;
    return delivered;
}

bool InputRouter::waitUntilWritten(std::chrono::milliseconds timeout) {
    return sink_.waitUntilWritten(timeout);
}

void InputRouter::keysymEvent(ViewerId viewer, bool down, uint32_t keysym) {
    std::lock_guard lock(mutex_);
    viewers_.insert(viewer);
    const auto key = std::make_pair(viewer, keysym);
    if (!down) {
        auto it = keysymKeys_.find(key);
        if (it == keysymKeys_.end())
            return;  // a release for a key we never pressed (or already let go)
        const uint8_t usage = it->second;
        keysymKeys_.erase(it);
        for (auto held = heldBy_.lower_bound(viewer); held != heldBy_.upper_bound(viewer); ++held) {
            if (held->second == usage) {
                heldBy_.erase(held);
                break;
            }
        }
        if (keyboard_.release(usage))
            sendKeyboard();
        // The key is up: give the modifiers back their held state.
        if (!isModifierUsage(usage) && keyboard_.setModifierOverride(0, 0))
            sendKeyboard();
        return;
    }

    auto stroke = layout_->lookup(keysym);
    if (!stroke) {
        ++stats_.unmappedKeysyms;
        LOG_DEBUG(kLog, "keysym 0x%04x cannot be typed on layout %s", keysym,
                  layout_->name().c_str());
        return;
    }
    if (keysymKeys_.count(key))
        return;  // auto-repeat: the key is already down; the target repeats itself
    if (!isModifierUsage(stroke->usage)) {
        // Shift and AltGr as the character needs them on the target's layout,
        // whatever the viewer's layout made the viewer hold.
        const uint8_t held = keyboard_.heldModifiers();
        uint8_t add = 0;
        uint8_t remove = 0;
        if ((stroke->modifiers & modifier::kShift) && !(held & modifier::kShift))
            add |= modifier::kLeftShift;
        if (!(stroke->modifiers & modifier::kShift) && (held & modifier::kShift))
            remove |= modifier::kShift;
        if ((stroke->modifiers & modifier::kAltGr) && !(held & modifier::kAltGr))
            add |= modifier::kAltGr;
        if (!(stroke->modifiers & modifier::kAltGr) && (held & modifier::kAltGr))
            remove |= modifier::kAltGr;
        if (keyboard_.setModifierOverride(add, remove))
            sendKeyboard();
    }
    keysymKeys_[key] = stroke->usage;
    heldBy_.emplace(viewer, stroke->usage);
    if (keyboard_.press(stroke->usage))
        sendKeyboard();
}

void InputRouter::scancodeEvent(ViewerId viewer, bool down, uint32_t xtKeycode) {
    std::lock_guard lock(mutex_);
    viewers_.insert(viewer);
    auto usage = usageForXtKeycode(xtKeycode);
    if (!usage) {
        LOG_DEBUG(kLog, "no USB key for XT key code 0x%02x", xtKeycode);
        return;
    }
    if (down) {
        heldBy_.emplace(viewer, *usage);
    } else {
        for (auto held = heldBy_.lower_bound(viewer); held != heldBy_.upper_bound(viewer); ++held) {
            if (held->second == *usage) {
                heldBy_.erase(held);
                break;
            }
        }
    }
    if (down ? keyboard_.press(*usage) : keyboard_.release(*usage))
        sendKeyboard();
}

void InputRouter::pointerEvent(ViewerId viewer, uint8_t rfbButtons, int x, int y, Size screen) {
    std::lock_guard lock(mutex_);
    viewers_.insert(viewer);
    if (mouseMode_ == MouseMode::Relative) {
        for (const RelativeMouseReport &report : relativeMouse_.apply(rfbButtons, x, y)) {
            ++stats_.mouseReports;
            record(sink_.writeRelativeMouse(report));
        }
        return;
    }
    for (const AbsoluteMouseReport &report : mouse_.apply(rfbButtons, x, y, screen)) {
        ++stats_.mouseReports;
        record(sink_.writeMouse(report));
    }
}

void InputRouter::releaseMouse() {
    ++stats_.mouseReports;
    if (mouseMode_ == MouseMode::Relative)
        record(sink_.writeRelativeMouse(relativeMouse_.releaseAll()));
    else
        record(sink_.writeMouse(mouse_.releaseAll()));
}

void InputRouter::viewerLeft(ViewerId viewer) {
    std::lock_guard lock(mutex_);
    if (viewers_.erase(viewer) == 0)
        return;  // never sent input: nothing of its to release
    bool changed = false;
    for (auto held = heldBy_.lower_bound(viewer); held != heldBy_.upper_bound(viewer);) {
        changed |= keyboard_.release(held->second);
        held = heldBy_.erase(held);
    }
    for (auto it = keysymKeys_.begin(); it != keysymKeys_.end();)
        it = it->first.first == viewer ? keysymKeys_.erase(it) : std::next(it);
    if (viewers_.empty()) {
        changed |= keyboard_.releaseAll();
        heldBy_.clear();
        keysymKeys_.clear();
        releaseMouse();
    } else if (heldBy_.empty()) {
        changed |= keyboard_.setModifierOverride(0, 0);
    }
    if (changed)
        sendKeyboard();
}

void InputRouter::releaseAll() {
    std::lock_guard lock(mutex_);
    heldBy_.clear();
    keysymKeys_.clear();
    keyboard_.releaseAll();
    sendKeyboard();
    releaseMouse();
}

InputStats InputRouter::stats() const {
    std::lock_guard lock(mutex_);
    InputStats stats = stats_;
    stats.hostListening = sink_.hostListening();
    return stats;
}

}  // namespace kvmvnc::input
