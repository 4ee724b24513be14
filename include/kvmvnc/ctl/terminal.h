// SPDX-License-Identifier: GPL-2.0-or-later
// What kvmvncctl asks the person at the terminal: passwords (never echoed,
// the terminal put back even when Ctrl+C ends kvmvncctl at the prompt) and
// whether to trust a server's certificate met for the first time.
#pragma once

#include <optional>
#include <string>

namespace kvmvnc::ctl {

struct ConnectOptions;

// The environment variable a password may come from instead.
inline constexpr const char *kPasswordVariable = "KVMVNC_PASSWORD";

// The password --user logs in with: KVMVNC_PASSWORD, else asked on the
// terminal; nothing when neither gives one.
std::optional<std::string> loginPassword(const ConnectOptions &connect);
// The new password for passwd: KVMVNC_PASSWORD; else typed twice on the
// terminal; else, when standard input is no terminal either, its first
// line. False with `problem` saying why there is none.
bool newPassword(const std::string &user, std::string &password, std::string &problem);
// NewHostPolicy::Ask: the question on stderr, the answer a line of
// standard input; true for "yes" or "y".
bool confirmNewHost(const std::string &host, const std::string &fingerprint);

}  // namespace kvmvnc::ctl
