// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <string>

namespace kvmvnc {

// The text of an errno value, for log lines and replies. std::strerror may
// share one buffer between threads (glibc documents it MT-Unsafe); every
// stage logs from its own thread, so this one copies the text out of a
// buffer of the caller's. A negative value is read as -errno (the kernel's
// and libgpiod's convention).
std::string errorText(int error);

}  // namespace kvmvnc
