// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "kvmvnc/doctor/hardware_check.h"

namespace kvmvnc::doctor {

// What people check about a TLS certificate: which one it is and how long
// it is good for.
struct CertificateInfo {
    // "SHA256:AB:CD:...": the SHA-256 of the DER certificate, as kvmvncd
    // logs it and kvmvncctl pins it.
    std::string fingerprint;
    std::chrono::system_clock::time_point notBefore;
    std::chrono::system_clock::time_point notAfter;
    bool selfSigned = false;
};

// The first certificate in `bytes`, PEM or DER; nullopt with `error` set
// when there is none.
std::optional<CertificateInfo> inspectCertificate(std::span<const uint8_t> bytes,
                                                  std::string &error);

// "2035-12-05" (UTC).
std::string dateText(std::chrono::system_clock::time_point time);

// A check named `name` of `info` at `now`: OK while valid, a warning in its
// last 30 days, and when expired or not yet valid a failure if `needed`,
// else a warning. `fixExpired` tells how to get a new one.
HardwareCheck certificateCheck(const std::string &name, const CertificateInfo &info,
                               std::chrono::system_clock::time_point now, bool needed,
                               const std::string &what, const std::string &fixExpired);

}  // namespace kvmvnc::doctor
