// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/encode/h264_stream.h"

#include <utility>

namespace kvmvnc::encode {

H264Stream::H264Stream(const H264StreamOptions &options, std::function<Clock::time_point()> now)
    : options_(options), now_(std::move(now)) {}

void H264Stream::restart(Size size) {
    std::lock_guard lock(mutex_);
    ++context_;
    ring_.clear();
    ringBytes_ = 0;
    size_ = size;
    idrSeen_ = false;
    // The context's first picture is an IDR anyway (takeIdrRequest() says
    // so until it is published): that one serves whoever was waiting.
    idrWanted_ = false;
}

uint64_t H264Stream::publish(std::vector<uint8_t> bytes, bool idr) {
    std::lock_guard lock(mutex_);
    if (size_.width <= 0 || size_.height <= 0 || (!idr && !idrSeen_))
        return 0;
    auto unit = std::make_shared<AccessUnit>();
    unit->sequence = nextSequence_++;
    unit->context = context_;
    unit->size = size_;
    unit->idr = idr;
    unit->bytes = std::move(bytes);
    ringBytes_ += unit->bytes.size();
    if (idr) {
        idrSeen_ = true;
        idrSinceStart_ = true;
        lastIdr_ = now_();
        idrWanted_ = false;  // one IDR serves every reader waiting for one
    }
    const uint64_t sequence = unit->sequence;
    ring_.push_back(std::move(unit));
    evictLocked();
    return sequence;
}

void H264Stream::evictLocked() {
    while (ring_.size() > 1 &&
           (ring_.size() > options_.maxUnits || ringBytes_ > options_.maxBytes)) {
        ringBytes_ -= ring_.front()->bytes.size();
        ring_.pop_front();
    }
}

bool H264Stream::takeIdrRequest() {
    std::lock_guard lock(mutex_);
    if (size_.width <= 0 || size_.height <= 0)
        return false;
    if (!idrSeen_)
        return true;
    if (!idrWanted_)
        return false;
    if (idrSinceStart_ && now_() - lastIdr_ < options_.minIdrInterval)
        return false;
    idrWanted_ = false;
    ++idrsGranted_;
    return true;
}

void H264Stream::requestIdr() {
    std::lock_guard lock(mutex_);
    requestIdrLocked();
}

void H264Stream::requestIdrLocked() {
    if (!idrWanted_)
        ++idrsRequested_;
    idrWanted_ = true;
}

H264Stream::ReadResult H264Stream::read(Cursor &cursor, Batch &batch) {
    batch.units.clear();
    batch.resetContext = false;
    std::lock_guard lock(mutex_);
    batch.size = size_;
    if (size_.width <= 0 || size_.height <= 0) {
        cursor.synced = false;
        return ReadResult::Unavailable;
    }
    if (cursor.synced && cursor.context == context_) {
        if (cursor.next >= nextSequence_)
            return ReadResult::Nothing;
        if (!ring_.empty() && cursor.next >= ring_.front()->sequence) {
            for (const auto &unit : ring_) {
                if (unit->sequence >= cursor.next)
                    batch.units.push_back(unit);
            }
            cursor.next = batch.units.back()->sequence + 1;
            return ReadResult::Units;
        }
        // Its next unit has left the ring: the gap cannot be decoded past.
        cursor.synced = false;
    }

    // (Re)joining: from the newest IDR the ring holds, if what follows it
    // is at most half the ring (a reader that fell behind is not handed the
    // backlog it could not take); else from the next IDR, asked for now.
    size_t after = 0;  // bytes of the units after the one looked at
    for (auto it = ring_.rbegin(); it != ring_.rend(); ++it) {
        if (after > options_.maxBytes / 2)
            break;
        if ((*it)->idr) {
            batch.units.assign(it.base() - 1, ring_.end());
            batch.resetContext = true;
            cursor.context = context_;
            cursor.next = batch.units.back()->sequence + 1;
            cursor.synced = true;
            return ReadResult::Units;
        }
        after += (*it)->bytes.size();
    }
    cursor.synced = false;
    requestIdrLocked();
    return ReadResult::WaitingForIdr;
}

Size H264Stream::size() const {
    std::lock_guard lock(mutex_);
    return size_;
}

uint64_t H264Stream::lastSequence() const {
    std::lock_guard lock(mutex_);
    return nextSequence_ - 1;
}

uint64_t H264Stream::idrsRequested() const {
    std::lock_guard lock(mutex_);
    return idrsRequested_;
}

uint64_t H264Stream::idrsGranted() const {
    std::lock_guard lock(mutex_);
    return idrsGranted_;
}

}  // namespace kvmvnc::encode
