// SPDX-License-Identifier: GPL-2.0-or-later
// Replacing a file so that a reader, or a crash, never sees half of it.
// The users file, the generated TLS key, kvmvncctl's known hosts.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

namespace kvmvnc {

// Writes `data` to a new temporary file in `path`'s directory (mkostemp,
// so nothing there is written through), syncs it, renames it over `path` and
// syncs the directory. A new file gets `mode` whatever the umask; with
// `keepExisting`, a file that exists keeps its mode and group (and its owner
// when run as root). On failure the temporary file is removed and
// std::runtime_error names the path and the reason.
void replaceFileAtomically(const std::string &path, std::string_view data, mode_t mode,
                           bool keepExisting);

}  // namespace kvmvnc
