// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/doctor/hardware_check.h"

#include <algorithm>

namespace kvmvnc::doctor {

namespace {

// Wide enough for every name checkHardware() and kvmvncctl use, so that
// reports from kvmvncd and from kvmvncctl line up alike.
constexpr size_t kNameWidth = 17;

}  // namespace

const char *statusWord(Status status) {
    switch (status) {
    case Status::Ok:
        return "OK";
    case Status::Warning:
        return "WARN";
    case Status::Fail:
        return "FAIL";
    case Status::Skipped:
        return "SKIP";
    }
    return "?";
}

std::string formatChecks(const std::vector<HardwareCheck> &checks) {
    size_t width = kNameWidth;
    for (const HardwareCheck &check : checks)
        width = std::max(width, check.name.size() + 1);
    std::string text;
    for (const HardwareCheck &check : checks) {
        std::string word = statusWord(check.status);
        word.resize(6, ' ');
        std::string name = check.name;
        name.resize(width, ' ');
        text += word + name + check.finding;
        if (check.status != Status::Ok && !check.fix.empty())
            text += "; fix: " + check.fix;
        text += '\n';
    }
    return text;
}

bool anyFailed(const std::vector<HardwareCheck> &checks) {
    return std::any_of(checks.begin(), checks.end(),
                       [](const HardwareCheck &check) { return check.status == Status::Fail; });
}

std::string summaryLine(const std::vector<HardwareCheck> &checks) {
    const auto count = [&](Status status) {
        return std::count_if(checks.begin(), checks.end(),
                             [&](const HardwareCheck &check) { return check.status == status; });
    };
    const auto failed = count(Status::Fail);
    const auto warnings = count(Status::Warning);
    const std::string warned =
        warnings == 0 ? "" : std::to_string(warnings) + (warnings == 1 ? " warning" : " warnings");
    if (failed == 0)
        return "everything the configuration needs is there" +
               (warned.empty() ? std::string() : " (" + warned + ")");
    return std::to_string(failed) + (failed == 1 ? " part" : " parts") +
           " the configuration needs " + (failed == 1 ? "is" : "are") + " missing or wrong" +
           (warned.empty() ? std::string() : ", " + warned);
}

}  // namespace kvmvnc::doctor
