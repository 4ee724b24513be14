// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/capture/capture_thread.h"

#include <pthread.h>

#include "kvmvnc/base/log.h"
#include "kvmvnc/capture/status_screen.h"

namespace kvmvnc::capture {

namespace {
// Short enough that stop() returns promptly, long enough not to spin.
constexpr std::chrono::milliseconds kCaptureTimeout{100};
}  // namespace

CaptureThread::CaptureThread(std::unique_ptr<FrameSource> source, FrameMailbox &mailbox,
                             Size fallbackSize)
    : source_(std::move(source)), mailbox_(mailbox), lastSize_(fallbackSize) {}

CaptureThread::~CaptureThread() { stop(); }

Size CaptureThread::pictureSize() const {
    const uint64_t packed = pictureSize_.load(std::memory_order_relaxed);
    return {static_cast<int>(packed >> 32), static_cast<int>(packed & 0xffffffffu)};
}

void CaptureThread::start() {
    if (!thread_.joinable())
        thread_ = std::jthread([this](const std::stop_token &stop) { run(stop); });
}

void CaptureThread::stop() {
    thread_.request_stop();
    if (thread_.joinable())
        thread_.join();
}

void CaptureThread::run(const std::stop_token &stop) {
    pthread_setname_np(pthread_self(), "kvm-capture");
    LOG_INFO("capture", "capturing from %s", source_->description().c_str());
    uint64_t sequence = 0;
    std::unique_ptr<Frame> frame = mailbox_.acquire();
    // The status last shown as a screen; "Ok" while pictures flow.
    SourceStatus shown;
    bool firstPicture = true;

    while (!stop.stop_requested()) {
        // Only a source that knows what changed says so, each time (so a
        // status screen carries none either).
        frame->forgetDamage();
        CaptureResult result = source_->capture(*frame, kCaptureTimeout);
        if (result == CaptureResult::Timeout)
            continue;
        if (result == CaptureResult::Unchanged) {
            // A frame all the same: counted, but no one needs to see it.
            if (shown.state == SignalState::Ok && !firstPicture)
                captured_.fetch_add(1, std::memory_order_relaxed);
            continue;
        }

        if (result == CaptureResult::Unavailable) {
            SourceStatus status = source_->status();
            if (status == shown && !firstPicture)
                continue;
            LOG_WARN("capture", "%s: %s", signalStateTitle(status.state), status.detail.c_str());
            shown = status;
            signal_.store(status.state, std::memory_order_relaxed);
            renderStatusScreen(status, lastSize_, *frame);
        } else {
            // Damage holds against the source's last picture; after a status
            // screen (or at the start) the pipeline holds something else.
            if (shown.state != SignalState::Ok || firstPicture) {
                frame->forgetDamage();
                LOG_INFO("capture", "picture from %s", source_->description().c_str());
            }
            shown = SourceStatus{};
            signal_.store(SignalState::Ok, std::memory_order_relaxed);
            lastSize_ = frame->size();
            pictureSize_.store(static_cast<uint64_t>(lastSize_.width) << 32 |
                                   static_cast<uint32_t>(lastSize_.height),
                               std::memory_order_relaxed);
            captured_.fetch_add(1, std::memory_order_relaxed);
        }
        firstPicture = false;
        frame->sequence = ++sequence;
        frame->timestamp = std::chrono::steady_clock::now();
        mailbox_.publish(std::move(frame));
        frame = mailbox_.acquire();
    }
}

}  // namespace kvmvnc::capture
