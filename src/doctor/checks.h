// SPDX-License-Identifier: GPL-2.0-or-later
// The checks checkHardware() runs, one file per group: check_usb.cpp (the
// USB device controller, the gadget, its device nodes), check_capture.cpp
// (the capture device, its formats, the signal, the EDID), check_gpio.cpp,
// check_board.cpp (power, temperature) and check_network.cpp (certificate,
// listen address). Internal to the doctor stage.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kvmvnc/base/error_text.h"
#include "kvmvnc/config/config.h"
#include "kvmvnc/doctor/check_hardware.h"
#include "kvmvnc/doctor/hardware_check.h"
#include "kvmvnc/doctor/machine.h"
#include "kvmvnc/health/soc_sensors.h"

namespace kvmvnc::doctor::checks {

// Everything one run of the checks shares.
struct Context {
    const config::Config &config;
    const Machine &machine;
    const CheckOptions &options;
    Needs needs;
    Account account;
    bool insideDaemon() const { return options.daemonPort.has_value(); }
};

// "0660".
std::string modeText(uint32_t mode);
std::string join(const std::vector<std::string> &items, const char *separator = ", ");
// The fix for a node the check could not open: its permissions (EACCES,
// EPERM), else `otherwise`.
std::string openFix(int error, const char *otherwise);

// --- the USB device controller and the gadget ---------------------------------------------

struct Gadget {
    std::string name;
    std::string udc;                     // empty: not bound
    std::vector<std::string> functions;  // those linked into a configuration
};

Gadget readGadget(const Context &context);
HardwareCheck usbControllerCheck(const Context &context);
HardwareCheck usbGadgetCheck(const Context &context, const Gadget &gadget);
HardwareCheck usbHostCheck(const Context &context, const Gadget &gadget);
HardwareCheck hidNodeCheck(const Context &context, const char *name, const std::string &path,
                           const char *key, const Gadget &gadget);
HardwareCheck usbDriveCheck(const Context &context);

// --- the capture device ----------------------------------------------------------------------

struct Capture {
    V4l2Facts facts;
    bool usable = false;  // opened, a capture node, the input exists
    bool dv = false;      // the input has DV timings (an HDMI bridge)
};

HardwareCheck captureDeviceCheck(const Context &context, Capture &capture);
HardwareCheck captureFormatsCheck(const Context &context, const Capture &capture);
HardwareCheck captureSignalCheck(const Context &context, const Capture &capture);
HardwareCheck edidCheck(const Context &context, const Capture &capture);

// --- GPIO ----------------------------------------------------------------------------------

struct WiredLine {
    const char *what;  // "power button"
    const char *key;   // "power_button"
    int offset;
};

std::vector<WiredLine> wiredLines(const config::AtxSection &atx);
HardwareCheck gpioChipCheck(const Context &context, const GpioFacts &facts);
HardwareCheck gpioLinesCheck(const GpioFacts &facts, const std::vector<WiredLine> &wired);

// --- the board -----------------------------------------------------------------------------

HardwareCheck powerCheck(const health::SocReading &reading);
HardwareCheck temperatureCheck(const Context &context, const health::SocReading &reading);

// --- the network side ------------------------------------------------------------------------

HardwareCheck certificateFileCheck(const Context &context);
HardwareCheck listenCheck(const Context &context);

}  // namespace kvmvnc::doctor::checks
