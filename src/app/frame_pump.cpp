// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/app/frame_pump.h"

#include <pthread.h>

#include <utility>

#include "kvmvnc/base/log.h"

namespace kvmvnc::app {

namespace {

constexpr const char *kLog = "pump";

}  // namespace

FramePump::FramePump(capture::FrameMailbox &mailbox, rfb::RfbServer &server)
    : mailbox_(mailbox), server_(server) {}

FramePump::~FramePump() { stop(); }

void FramePump::start() {
    if (!thread_.joinable())
        thread_ = std::jthread([this](const std::stop_token &stop) { run(stop); });
}

void FramePump::stop() {
    thread_.request_stop();
    if (thread_.joinable())
        thread_.join();
}

PumpStats FramePump::stats() const {
    return {frames_.load(), changedFrames_.load(), changedTiles_.load(), resizes_.load(),
            movesTotal_.load()};
}

// Viewers sent H.264 stay parked on the stream until something wakes them;
// once the motion has ended nothing else will, and they are owed the sharp
// picture.
void FramePump::followMotion() {
    if (!h264_)
        return;
    const bool wanted = server_.h264Wanted();
    if (h264Wanted_ && !wanted)
        server_.wakeH264Viewers();
    h264Wanted_ = wanted;
}

void FramePump::run(const std::stop_token &stop) {
    pthread_setname_np(pthread_self(), "kvm-pump");
    while (!stop.stop_requested()) {
        std::unique_ptr<capture::Frame> frame = mailbox_.waitNext(std::chrono::milliseconds{100});
        followMotion();
        if (!frame)
            continue;
        const Size size = frame->size();
        if (size.width > rfb::RfbServer::kMaxSize.width ||
            size.height > rfb::RfbServer::kMaxSize.height || size.width <= 0 || size.height <= 0) {
            if (!std::exchange(oversizeLogged_, true))
                LOG_ERROR(kLog, "the source delivers %dx%d pictures; at most %dx%d are shown",
                          size.width, size.height, rfb::RfbServer::kMaxSize.width,
                          rfb::RfbServer::kMaxSize.height);
            mailbox_.recycle(std::move(frame));
            continue;
        }
        oversizeLogged_ = false;
        if (size != server_.size()) {
            server_.resize(size);
            resizes_.fetch_add(1, std::memory_order_relaxed);
            inStep_ = false;
        }
        // Scrolls first, as copies; the differ then finds only what is new.
        moves_.clear();
        scrolls_.find(*frame, server_.framebuffer(), server_.stride(), moves_);
        for (const diff::Move &move : moves_)
            server_.moveArea(move.to, move.fromX, move.fromY);
        // Known damage narrows the compare to it and to where moves wrote.
        const std::vector<Rect> *damage = nullptr;
        if (frame->damageKnown && inStep_) {
            damage_.assign(frame->damage.begin(), frame->damage.end());
            for (const diff::Move &move : moves_)
                damage_.push_back(move.to);
            damage = &damage_;
        }
        changed_.clear();
        size_t tiles =
            differ_.update(*frame, server_.framebuffer(), server_.stride(), changed_, damage);
        inStep_ = true;
        scrolls_.noteChanges(changed_, moves_);
        if (!moves_.empty())
            movesTotal_.fetch_add(moves_.size(), std::memory_order_relaxed);
        if (tiles > 0 || !moves_.empty()) {
            server_.markModified(changed_);
            if (h264_ && server_.h264Wanted())
                h264_->submit(server_.framebuffer(), server_.stride(), server_.size());
            changedFrames_.fetch_add(1, std::memory_order_relaxed);
            changedTiles_.fetch_add(tiles, std::memory_order_relaxed);
        }
        frames_.fetch_add(1, std::memory_order_relaxed);
        mailbox_.recycle(std::move(frame));
    }
}

}  // namespace kvmvnc::app
