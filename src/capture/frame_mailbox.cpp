// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/capture/frame_mailbox.h"

#include <utility>

namespace kvmvnc::capture {

std::unique_ptr<Frame> FrameMailbox::acquire() {
    {
        std::lock_guard lock(mutex_);
        if (!free_.empty()) {
            auto frame = std::move(free_.back());
            free_.pop_back();
            return frame;
        }
    }
    return std::make_unique<Frame>();
}

void FrameMailbox::publish(std::unique_ptr<Frame> frame) {
    bool replacedPending = false;
    {
        std::lock_guard lock(mutex_);
        if (pending_)
            frame->absorbDamage(*pending_);
        std::unique_ptr<Frame> replaced = std::exchange(pending_, std::move(frame));
        if (replaced) {
            replacedPending = true;
            if (free_.size() < kMaxFree)
                free_.push_back(std::move(replaced));
        }
    }
    published_.fetch_add(1, std::memory_order_relaxed);
    if (replacedPending)
        replaced_.fetch_add(1, std::memory_order_relaxed);
    ready_.notify_one();
}

std::unique_ptr<Frame> FrameMailbox::waitNext(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    ready_.wait_for(lock, timeout, [this] { return pending_ || closed_; });
    if (closed_)
        return nullptr;
    return std::move(pending_);
}

void FrameMailbox::recycle(std::unique_ptr<Frame> frame) {
    if (!frame)
        return;
    std::lock_guard lock(mutex_);
    if (free_.size() < kMaxFree)
        free_.push_back(std::move(frame));
}

void FrameMailbox::close() {
    {
        std::lock_guard lock(mutex_);
        closed_ = true;
    }
    ready_.notify_all();
}

}  // namespace kvmvnc::capture
