// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

namespace kvmvnc::testing {

// Sanitizer builds (Debug, ASan + UBSan) render, encode and compare 4K
// pictures several times slower, and CI runs two tests at a time: waits for
// something to happen scale with the build. What is asserted does not.
#ifdef KVMVNC_SANITIZED
inline constexpr int kSlowdown = 4;
#else
inline constexpr int kSlowdown = 1;
#endif

}  // namespace kvmvnc::testing
