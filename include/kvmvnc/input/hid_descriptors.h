// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <cstdint>
#include <span>

namespace kvmvnc::input {

// The HID report descriptors of the gadget's functions; they describe
// exactly the reports in hid_reports.h. `kvmvncd --hid-descriptor NAME`
// prints them for packaging/kvmvnc-gadget to write into configfs.

// Boot keyboard (subclass 1, protocol 1): 8-byte input report (modifiers,
// reserved, six keys over usages 0..255 so F13-F24 and the international
// keys work) and a 1-byte LED output report. BIOSes use the boot layout
// and ignore the descriptor.
std::span<const uint8_t> keyboardReportDescriptor();

// Absolute mouse: 8 buttons, X and Y 0..32767 (Windows rejects negative
// ranges), vertical wheel and AC Pan, 7 bytes; wrapped in Pointer and
// Physical collections, which macOS Recovery needs.
std::span<const uint8_t> absoluteMouseReportDescriptor();

// Relative mouse for targets that mishandle absolute pointing (a BIOS setup
// with a mouse, some installers, old systems): boot protocol (subclass 1,
// protocol 2), 8 buttons, X, Y, wheel and AC Pan each -127..127, 5 bytes.
std::span<const uint8_t> relativeMouseReportDescriptor();

}  // namespace kvmvnc::input
