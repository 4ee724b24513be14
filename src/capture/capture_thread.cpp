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

void CaptureThread::start() {
    if (running_.exchange(true))
        return;
    thread_ = std::thread([this] { run(); });
}

void CaptureThread::stop() {
    running_.store(false);
    if (thread_.joinable())
        thread_.join();
}

void CaptureThread::run() {
    pthread_setname_np(pthread_self(), "kvm-capture");
    LOG_INFO("capture", "capturing from %s", source_->description().c_str());
    uint64_t sequence = 0;
    std::unique_ptr<Frame> frame = mailbox_.acquire();
    // The status last shown as a screen; "Ok" while pictures flow.
    SourceStatus shown;
    bool firstPicture = true;

    while (running_.load(std::memory_order_relaxed)) {
        CaptureResult result = source_->capture(*frame, kCaptureTimeout);
        if (result == CaptureResult::Timeout)
            continue;

        if (result == CaptureResult::Unavailable) {
            SourceStatus status = source_->status();
            if (status == shown && !firstPicture)
                continue;
            LOG_WARN("capture", "%s: %s", signalStateTitle(status.state), status.detail.c_str());
            shown = status;
            renderStatusScreen(status, lastSize_, *frame);
        } else {
            if (shown.state != SignalState::Ok || firstPicture)
                LOG_INFO("capture", "picture from %s", source_->description().c_str());
            shown = SourceStatus{};
            lastSize_ = frame->size();
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
