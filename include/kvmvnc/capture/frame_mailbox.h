// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "kvmvnc/capture/frame.h"

namespace kvmvnc::capture {

// Moves frames from the capture thread to the frame pump by ownership, with
// room for one pending frame: a newer frame replaces one the consumer has not
// taken yet (the consumer always gets the newest picture, never a backlog),
// and takes on its damage (Frame::absorbDamage).
// Frames go back through recycle() so buffers are reused and steady-state
// capture allocates nothing.
//
// Thread-safe: one producer and one consumer thread.
class FrameMailbox {
public:
    FrameMailbox() = default;
    FrameMailbox(const FrameMailbox &) = delete;
    FrameMailbox &operator=(const FrameMailbox &) = delete;

    // Producer: an empty frame to fill (recycled when one is free).
    std::unique_ptr<Frame> acquire();
    // Producer: hands `frame` on; a pending frame it replaces is recycled.
    void publish(std::unique_ptr<Frame> frame);

    // Consumer: the newest published frame, or nullptr after `timeout` or
    // once the mailbox is closed.
    std::unique_ptr<Frame> waitNext(std::chrono::milliseconds timeout);
    // Consumer: gives a frame back for reuse.
    void recycle(std::unique_ptr<Frame> frame);

    // Wakes the consumer; waitNext() returns nullptr from then on.
    void close();

    uint64_t published() const { return published_.load(std::memory_order_relaxed); }
    uint64_t replaced() const { return replaced_.load(std::memory_order_relaxed); }

private:
    static constexpr size_t kMaxFree = 3;

    std::mutex mutex_;
    std::condition_variable ready_;
    std::unique_ptr<Frame> pending_;
    std::vector<std::unique_ptr<Frame>> free_;
    bool closed_ = false;
    std::atomic<uint64_t> published_{0};
    std::atomic<uint64_t> replaced_{0};
};

}  // namespace kvmvnc::capture
