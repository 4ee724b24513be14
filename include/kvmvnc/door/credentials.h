// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <cstdint>
#include <optional>

#include "kvmvnc/door/user_table.h"
#include "kvmvnc/door/vnc_password_file.h"

namespace kvmvnc::door {

// Who may come in: the vncpasswd file's passwords (VNC authentication, alone
// or inside TLS) and the users file's accounts (VeNCrypt Plain subtypes).
// Immutable once made; a reload makes a new one and the front door swaps it
// in for the connections that start afterwards.
struct Credentials {
    std::optional<VncPasswords> vnc;
    UserTable users;
    // A password or users file is configured: even when it holds nobody
    // (the last account deleted), logins are required, never None.
    bool required = false;

    // No credentials at all and none configured: the only way in is
    // security type None.
    bool none() const { return !vnc && users.empty() && !required; }
};

// The access a VNC authentication response (DES of the 16-byte `challenge`
// with a password) grants, or nullopt. The full password is tried first: one
// that is also the view-only password gives full access.
std::optional<Access> checkVncResponse(const VncPasswords &passwords,
                                       const uint8_t (&challenge)[16],
                                       const uint8_t (&response)[16]);

}  // namespace kvmvnc::door
