// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/door/credentials.h"

#include <openssl/crypto.h>

#include <array>
#include <string>
#include <utility>

namespace kvmvnc::door {

std::optional<Access> checkVncResponse(const VncPasswords &passwords,
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
        const std::array<uint8_t, 16> expected = vncAuthResponse(challenge, password);
        if (CRYPTO_memcmp(expected.data(), response, expected.size()) == 0 && !granted)
            granted = access;
    }
    return granted;
}

}  // namespace kvmvnc::door
