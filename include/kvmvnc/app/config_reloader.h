// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "kvmvnc/capture/edid_mailbox.h"
#include "kvmvnc/config/config.h"
#include "kvmvnc/door/credentials.h"

namespace kvmvnc::input {
class InputRouter;
class KeysymMap;
class TextTyper;
}  // namespace kvmvnc::input

namespace kvmvnc::rfb {
class RfbServer;
}

namespace kvmvnc::door {
class FrontDoor;
}

namespace kvmvnc::app {

// The keysym table `hid.layout` names, from `hid.keymapsDir`, or else the
// installed tables, then the build tree's. Throws std::runtime_error.
std::shared_ptr<const input::KeysymMap> loadKeyboardLayout(const config::HidSection &hid);

// What `[capture] edid` asks for: kvmvnc's EDID, none (keep), or the file's,
// read and checked now. Throws std::runtime_error naming the key, the file
// and what is wrong with it.
capture::EdidRequest loadEdidRequest(const config::CaptureSection &capture);

// What one reload did.
struct ReloadResult {
    bool ok = false;    // false: nothing changed, `error` says why
    std::string error;  // the one-line reason
    std::vector<config::KeyChange> applied;
    std::vector<config::KeyChange> needsRestart;
    bool credentialsChanged = false;  // the password or users file says something else now
    bool edidChanged = false;         // the capture device was asked to load another EDID
};

// The running parts a reload changes. Borrowed: they outlive the reloader.
struct ReloadTargets {
    rfb::RfbServer &server;
    door::FrontDoor &door;
    input::InputRouter &router;
    input::TextTyper &typer;
    capture::EdidMailbox *edid = nullptr;  // null: the source has no EDID
};

// `systemctl reload` (SIGHUP): reads the INI file the daemon started with
// again, and the password and users files it names, and applies the keys
// that can change while viewers stay connected (config::Reload::Live:
// credentials and the [security] policy,
// desktop name, viewer limit, keyboard layout, typing pace, log level, the
// capture device's EDID: its file is read again too, and a changed EDID is
// loaded).
// Every other key that changed is logged as needing a restart and keeps its
// running value.
//
// Never half-applied: everything that can fail (the INI file, the password
// file, the new layout's table, the EDID file) is read before anything changes; a failure
// is logged and leaves the running configuration and every part as they
// were.
//
// Owns the running configuration. Thread-bound: the daemon's main thread,
// which calls reload() when sigwait() returns SIGHUP. The parts it changes
// are thread-safe and take the new values under their own locks.
class ConfigReloader {
public:
    // `running` is the configuration the targets were built from, and
    // `credentials` the ones the door has.
    ConfigReloader(config::Config running, ReloadTargets targets,
                   std::shared_ptr<const door::Credentials> credentials);

    ReloadResult reload();
    const config::Config &running() const { return running_; }

private:
    config::Config running_;
    ReloadTargets targets_;
    std::shared_ptr<const door::Credentials> credentials_;
};

}  // namespace kvmvnc::app
