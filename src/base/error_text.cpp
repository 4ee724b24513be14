// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/base/error_text.h"

#include <array>
#include <cstring>

namespace kvmvnc {

std::string errorText(int error) {
    std::array<char, 128> buffer{};
    // GNU strerror_r returns either `buffer` or a static string it did not copy.
    return ::strerror_r(error < 0 ? -error : error, buffer.data(), buffer.size());
}

}  // namespace kvmvnc
