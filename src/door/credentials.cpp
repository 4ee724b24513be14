// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/door/credentials.h"

#include <openssl/crypto.h>
#include <rfb/rfb.h>

#include <cstring>
#include <string>
#include <utility>

namespace kvmvnc::door {

std::optional<Access> checkVncResponse(const rfb::VncPasswords &passwords,
                                       const uint8_t (&challenge)[16],
                                       const uint8_t (&response)[16]) {
    const std::pair<const std::string &, Access> candidates[] = {
        {passwords.full, Access::Full}, {passwords.viewOnly, Access::ViewOnly}};
    std::optional<Access> granted;
    // Both candidates are always computed, so the time taken does not tell
    // which one matched.
    for (const auto &[password, access] : candidates) {
        if (password.empty())
            continue;
        char key[9] = {};  // VNC authentication uses at most 8 characters
        password.copy(key, sizeof(key) - 1);
        uint8_t expected[16];
        std::memcpy(expected, challenge, sizeof(expected));
        rfbEncryptBytes(expected, key);
        if (CRYPTO_memcmp(expected, response, sizeof(expected)) == 0 && !granted)
            granted = access;
    }
    return granted;
}

}  // namespace kvmvnc::door
