// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "kvmvnc/capture/edid.h"

namespace kvmvnc::capture {

// What `[capture] edid` asks of a V4L2 capture device.
struct EdidRequest {
    std::optional<Edid> edid;      // nullopt: keep what the device holds
    std::string setting = "keep";  // "default", "keep" or the file's path, for people
    bool operator==(const EdidRequest &) const = default;
};

// What the capture device holds, as `kvmvncctl edid show` reports it.
struct EdidReport {
    enum class State {
        Unknown,      // no device open (yet)
        Present,      // `bytes` is the EDID the device holds
        Empty,        // the device holds none: the source sees no monitor
        Unsupported,  // the device takes no EDID (USB dongles show their own)
        Failed,       // loading failed (`detail`); `bytes` is what it holds, if anything
    };
    State state = State::Unknown;
    std::string setting;  // the EdidRequest's
    std::string node;     // the device node holding it: the video node or a subdevice
    std::string detail;
    std::vector<uint8_t> bytes;
    bool operator==(const EdidReport &) const = default;
};

// Carries the EDID setting to the capture thread, which owns the device and
// loads it there (at start, whenever the device reappears, and after a
// reload asked for another), and brings back what the device holds for
// whoever asks (the control service).
//
// Thread-safe.
class EdidMailbox {
public:
    explicit EdidMailbox(EdidRequest initial);
    EdidMailbox(const EdidMailbox &) = delete;
    EdidMailbox &operator=(const EdidMailbox &) = delete;

    // A new setting (a reload): the capture thread loads it at its next turn.
    void request(EdidRequest request);
    // The setting asked for last (the initial one until a reload asks).
    EdidRequest requested() const;
    // Capture thread: the setting asked for since the last take(), if any.
    std::optional<EdidRequest> take();

    // Capture thread: what the device holds now.
    void report(EdidReport report);
    EdidReport current() const;

private:
    mutable std::mutex mutex_;
    EdidRequest requested_;
    std::optional<EdidRequest> pending_;
    EdidReport report_;
};

}  // namespace kvmvnc::capture
