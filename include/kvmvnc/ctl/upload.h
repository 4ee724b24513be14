// SPDX-License-Identifier: GPL-2.0-or-later
// `kvmvncctl msd upload`: a disk image to kvmvncd's image folder, its
// SHA-256 declared first, chunks with a window of requests in flight, and a
// dropped connection resumed where the server's confirmed data ends.
#pragma once

#include <cstdint>
#include <string>

namespace kvmvnc::ctl {

struct Options;

// Uploads options.words[2] (as options.uploadName, or its file name);
// returns the exit status.
int uploadCommand(const Options &options);

// The progress line a terminal shows: bar, percentage, rate and time left,
// `done` of `total` bytes after `seconds` that sent done - `base` of them.
std::string progressLine(uint64_t total, uint64_t base, uint64_t done, double seconds);

}  // namespace kvmvnc::ctl
