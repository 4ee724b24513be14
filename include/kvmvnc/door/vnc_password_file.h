// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace kvmvnc::door {

// The passwords of a TigerVNC vncpasswd file: 8 bytes of DES-obfuscated full
// password, optionally followed by 8 bytes of view-only password. VNC
// passwords are at most 8 characters; longer ones were truncated on writing.
struct VncPasswords {
    std::string full;
    std::string viewOnly;  // empty when the file has none
    bool operator==(const VncPasswords &) const = default;
};

// Reads and de-obfuscates a vncpasswd file. Throws std::runtime_error with
// the path and the reason when the file is missing, unreadable or not 8 or
// 16 bytes long.
VncPasswords loadVncPasswordFile(const std::string &path);

// The 8 (or 16) bytes a vncpasswd file holds for `passwords`.
std::vector<uint8_t> encodeVncPasswordFile(const VncPasswords &passwords);

// VNC authentication's answer to a 16-byte `challenge`: DES with the
// password's first 8 bytes as the key, the same DES vncpasswd files are
// obfuscated with.
std::array<uint8_t, 16> vncAuthResponse(std::span<const uint8_t, 16> challenge,
                                        std::string_view password);

}  // namespace kvmvnc::door
