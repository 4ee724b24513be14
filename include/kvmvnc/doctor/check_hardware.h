// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <chrono>
#include <optional>
#include <vector>

#include "kvmvnc/config/config.h"
#include "kvmvnc/doctor/hardware_check.h"
#include "kvmvnc/doctor/machine.h"

namespace kvmvnc::doctor {

// What the configured setup needs, decided as the daemon decides it
// (src/app/daemon.cpp): the USB gadget's keyboard and mouse unless the
// virtual target takes the input, the gadget's LUN likewise for media, the
// capture device for source = v4l2, GPIO for [atx] on the device, a
// certificate once anyone has to log in.
struct Needs {
    bool gadgetHid = false;
    bool gadgetDrive = false;
    bool v4l2 = false;
    bool gpio = false;
    bool tls = false;
    bool usb() const { return gadgetHid || gadgetDrive; }
};
Needs needsOf(const config::Config &config);

struct CheckOptions {
    // For the certificate's validity.
    std::chrono::system_clock::time_point now = std::chrono::system_clock::now();
    // Set by kvmvncd answering for itself: the port its front door listens
    // on. The listen check then reports it instead of connecting, and a
    // capture device still without the EDID kvmvncd loads is a failure, not
    // something a start will fix.
    std::optional<int> daemonPort;
};

// Every check, in the order a user wires the parts up: USB controller,
// gadget, host, keyboard and mouse device nodes, drive; capture device,
// formats and modes, signal, EDID; GPIO chip and lines; power, temperature;
// certificate; listen address.
std::vector<HardwareCheck> checkHardware(const config::Config &config, const Machine &machine,
                                         const CheckOptions &options = {});

}  // namespace kvmvnc::doctor
