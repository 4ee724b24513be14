// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <string>
#include <vector>

// The doctor stage: whether the parts a user wires up to a KVM (USB device
// controller and gadget, capture device, EDID, GPIO lines, power supply,
// certificate, listen address) are there and right for the configured
// setup, one line each, with the fix when they are not. `kvmvncd
// --check-hardware` runs it on the device; kvmvncd answers it over the
// control protocol for `kvmvncctl doctor`.
namespace kvmvnc::doctor {

// What one check found. Fail is kept for parts the configured setup needs:
// a part it does not use is Skipped, and the board's health (power,
// temperature) only ever warns.
enum class Status { Ok, Warning, Fail, Skipped };

// "OK", "WARN", "FAIL", "SKIP".
const char *statusWord(Status status);

struct HardwareCheck {
    std::string name;  // "usb gadget": short, lower case, stable (scripts grep it)
    Status status = Status::Skipped;
    std::string finding;  // what is there, or what is wrong
    std::string fix;      // what to do about it; empty when OK
    bool operator==(const HardwareCheck &) const = default;
};

// One line per check, aligned: status word, name, finding and, unless OK,
// "; fix: " and the fix.
//   OK    usb gadget       kvmvnc bound to fe980000.usb: hid.usb0, hid.usb1, ...
//   FAIL  capture device   no /dev/video0; fix: connect the capture device ...
std::string formatChecks(const std::vector<HardwareCheck> &checks);

// The closing line: whether kvmvncd has what the configuration asks for.
std::string summaryLine(const std::vector<HardwareCheck> &checks);

// Whether a part the configured setup needs is missing or wrong: the exit
// status of `kvmvncd --check-hardware` and `kvmvncctl doctor` is 0 only
// without.
bool anyFailed(const std::vector<HardwareCheck> &checks);

}  // namespace kvmvnc::doctor
