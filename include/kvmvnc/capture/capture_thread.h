// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <atomic>
#include <memory>
#include <stop_token>
#include <thread>

#include "kvmvnc/base/geometry.h"
#include "kvmvnc/capture/frame_mailbox.h"
#include "kvmvnc/capture/frame_source.h"

namespace kvmvnc::capture {

// Drives one FrameSource on a thread of its own and publishes what it yields
// into a FrameMailbox: every new picture, and while the source is
// unavailable, one status screen per change of status (at the last picture's
// size, so viewers are not resized for an outage).
//
// Owns the source. start() and stop() are called from one controlling
// thread; everything else runs on the capture thread.
class CaptureThread {
public:
    CaptureThread(std::unique_ptr<FrameSource> source, FrameMailbox &mailbox, Size fallbackSize);
    ~CaptureThread();
    CaptureThread(const CaptureThread &) = delete;
    CaptureThread &operator=(const CaptureThread &) = delete;

    void start();
    void stop();

    uint64_t framesCaptured() const { return captured_.load(std::memory_order_relaxed); }
    // The state the viewers see (Ok while pictures flow) and the size of the
    // last picture. Any thread.
    SignalState signalState() const { return signal_.load(std::memory_order_relaxed); }
    Size pictureSize() const;

private:
    void run(const std::stop_token &stop);

    std::unique_ptr<FrameSource> source_;
    FrameMailbox &mailbox_;
    Size lastSize_;
    std::atomic<uint64_t> captured_{0};
    std::atomic<SignalState> signal_{SignalState::Ok};
    std::atomic<uint64_t> pictureSize_{0};  // width << 32 | height
    std::jthread thread_;
};

}  // namespace kvmvnc::capture
