// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/capture/edid_mailbox.h"

#include <utility>

namespace kvmvnc::capture {

EdidMailbox::EdidMailbox(EdidRequest initial) : requested_(initial), pending_(std::move(initial)) {
    report_.setting = requested_.setting;
}

void EdidMailbox::request(EdidRequest request) {
    std::lock_guard lock(mutex_);
    requested_ = request;
    pending_ = std::move(request);
}

EdidRequest EdidMailbox::requested() const {
    std::lock_guard lock(mutex_);
    return requested_;
}

std::optional<EdidRequest> EdidMailbox::take() {
    std::lock_guard lock(mutex_);
    return std::exchange(pending_, std::nullopt);
}

void EdidMailbox::report(EdidReport report) {
    std::lock_guard lock(mutex_);
    report_ = std::move(report);
}

EdidReport EdidMailbox::current() const {
    std::lock_guard lock(mutex_);
    return report_;
}

}  // namespace kvmvnc::capture
