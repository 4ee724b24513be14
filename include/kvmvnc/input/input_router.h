// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "kvmvnc/base/geometry.h"
#include "kvmvnc/input/hid_reports.h"
#include "kvmvnc/input/hid_sink.h"
#include "kvmvnc/input/keysym_map.h"

namespace kvmvnc::input {

// Identifies one viewer to the router.
using ViewerId = uint64_t;

struct InputStats {
    uint64_t keyReports = 0;
    uint64_t mouseReports = 0;
    uint64_t unmappedKeysyms = 0;  // keysyms the target's layout cannot type
    uint64_t failedWrites = 0;
    uint64_t typedCharacters = 0;
    bool hostListening = true;
};

// Turns viewers' RFB key and pointer events into the USB HID reports a real
// keyboard and mouse would send, for one target.
//
// Two key paths: QEMU Extended Key Events carry the physical key (XT scan
// code), which maps to a HID usage whatever the layouts; plain keysyms are
// looked up in the target's layout (KeysymMap), and the Shift or AltGr the
// character needs on that layout is added or removed around the key press,
// in reports of its own, so hosts see the modifier change before the key.
//
// The pointer goes to the sink as an absolute mouse, or as a relative one
// (`mouseMode`) for targets that mishandle absolute pointing.
//
// Keys are remembered per viewer: when a viewer leaves, the keys it held are
// released, and when the last viewer that sent input leaves, everything is.
//
// The layout can change while viewers are connected (a reload of [hid]
// layout): setLayout() first releases every key held, so no key goes down
// under one layout and up under another.
//
// Thread-safe: libvncserver calls it from every viewer's input thread.
class InputRouter {
public:
    InputRouter(std::shared_ptr<const KeysymMap> layout, HidSink &sink,
                MouseMode mouseMode = MouseMode::Absolute);

    void keysymEvent(ViewerId viewer, bool down, uint32_t keysym);
    void scancodeEvent(ViewerId viewer, bool down, uint32_t xtKeycode);
    void pointerEvent(ViewerId viewer, uint8_t rfbButtons, int x, int y, Size screen);

    // Types one character for the typist: the key with exactly the modifiers
    // `stroke` names (whatever viewers hold), pressed and released, then the
    // held modifiers back. False when the host is not listening.
    bool typeStroke(KeyStroke stroke);
    // The sink's: waits until the reports so far reached the host.
    bool waitUntilWritten(std::chrono::milliseconds timeout);

    // Releases what `viewer` held; when no viewer that sent input is left,
    // releases every key and button.
    void viewerLeft(ViewerId viewer);
    void releaseAll();

    InputStats stats() const;
    // The current layout. The reference stays valid as long as the router:
    // tables it used are kept (TextTyper and ControlService hold on to a
    // reference across a call while a reload may switch layouts). Takes no
    // lock: it is called from HID sink callbacks that run while the router
    // writes a report, holding its mutex (the virtual target's USB host
    // going away mid-typing).
    const KeysymMap &layout() const;

    // Switches to `layout` for the keysyms that follow, after releasing
    // every key held (modifiers included; the mouse is left as it is).
    // Returns whether any key was held (and so released).
    bool setLayout(std::shared_ptr<const KeysymMap> layout);
    // A table this router has used under `name`, so that switching back and
    // forth does not keep loading copies; null if there is none.
    std::shared_ptr<const KeysymMap> usedLayout(const std::string &name) const;

private:
    struct Pressed {
        ViewerId viewer;
        uint8_t usage;
    };

    HidWriteResult sendKeyboard();  // with mutex_ held
    HidWriteResult record(HidWriteResult result);
    void releaseMouse();  // with mutex_ held

    HidSink &sink_;
    const MouseMode mouseMode_;
    mutable std::mutex mutex_;
    std::shared_ptr<const KeysymMap> layout_;
    std::atomic<const KeysymMap *> currentLayout_;           // layout_.get(), for layout()
    std::vector<std::shared_ptr<const KeysymMap>> layouts_;  // every one used, current included
    KeyboardState keyboard_;
    MouseState mouse_;
    RelativeMouseState relativeMouse_;
    std::map<std::pair<ViewerId, uint32_t>, uint8_t> keysymKeys_;  // (viewer, keysym) -> usage
    std::multimap<ViewerId, uint8_t> heldBy_;                      // usages each viewer holds
    std::set<ViewerId> viewers_;
    InputStats stats_;
};

}  // namespace kvmvnc::input
