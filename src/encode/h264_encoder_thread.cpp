// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/encode/h264_encoder_thread.h"

#include <pthread.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <string>
#include <utility>

#include "kvmvnc/base/log.h"

namespace kvmvnc::encode {

namespace {

constexpr const char *kLog = "encode";

}  // namespace

H264EncoderThread::H264EncoderThread(std::unique_ptr<H264Encoder> encoder,
                                     const H264Options &options, H264Stream &stream,
                                     std::function<void(uint64_t)> published)
    : encoder_(std::move(encoder)),
      options_(options),
      stream_(stream),
      published_(std::move(published)) {}

H264EncoderThread::~H264EncoderThread() { stop(); }

void H264EncoderThread::start() {
    if (!thread_.joinable())
        thread_ = std::jthread([this](const std::stop_token &stop) { run(stop); });
}

void H264EncoderThread::stop() {
    thread_.request_stop();
    if (thread_.joinable())
        thread_.join();
}

H264EncoderStats H264EncoderThread::stats() const {
    return {submitted_.load(), replaced_.load(), encoded_.load(), failed_.load(), refused_.load()};
}

namespace {
uint64_t packSize(Size size) {
    return static_cast<uint64_t>(static_cast<uint32_t>(size.width)) << 32 |
           static_cast<uint32_t>(size.height);
}
}  // namespace

void H264EncoderThread::submit(const uint8_t *pixels, int stride, Size size) {
    if (pixels == nullptr || size.width <= 0 || size.height <= 0 || stride < size.width * 4)
        return;
    if (refusedSize_.load(std::memory_order_relaxed) == packSize(size)) {
        refused_.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    const size_t row = static_cast<size_t>(size.width) * 4;
    spare_.size = size;
    spare_.pixels.resize(row * static_cast<size_t>(size.height));
    for (int y = 0; y < size.height; ++y)
        std::memcpy(spare_.pixels.data() + row * static_cast<size_t>(y),
                    pixels + static_cast<size_t>(stride) * static_cast<size_t>(y), row);
    {
        std::lock_guard lock(mutex_);
        std::swap(spare_, pending_);
        if (std::exchange(hasPending_, true))
            replaced_.fetch_add(1, std::memory_order_relaxed);
    }
    submitted_.fetch_add(1, std::memory_order_relaxed);
    ready_.notify_one();
}

void H264EncoderThread::run(const std::stop_token &stop) {
    pthread_setname_np(pthread_self(), "kvm-h264");
    // Not more pictures a second than [h264] max_fps: within a period the
    // newest picture replaces the one before, and is encoded once it ends.
    using Clock = std::chrono::steady_clock;
    const auto period = std::chrono::duration_cast<Clock::duration>(std::chrono::seconds{1}) /
                        std::max(options_.maxFps, 1);
    Clock::time_point nextAt;
    while (!stop.stop_requested()) {
        {
            std::unique_lock lock(mutex_);
            if (!ready_.wait(lock, stop, [this] { return hasPending_; }))
                break;
            ready_.wait_until(lock, stop, nextAt, [] { return false; });
            if (stop.stop_requested())
                break;
            nextAt = Clock::now() + period;
            std::swap(pending_, working_);
            hasPending_ = false;
        }
        encode(working_);
    }
}

void H264EncoderThread::encode(const Picture &picture) {
    std::string error;
    if (picture.size != configured_) {
        configured_ = picture.size;
        usable_ = encoder_->configure(picture.size, options_, error);
        refusedSize_.store(usable_ ? 0 : packSize(picture.size), std::memory_order_relaxed);
        failuresInARow_ = 0;
        if (usable_) {
            LOG_INFO(kLog, "%s encodes %dx%d pictures", encoder_->name(), picture.size.width,
                     picture.size.height);
            stream_.restart(picture.size);
        } else {
            failed_.fetch_add(1, std::memory_order_relaxed);
            LOG_WARN(kLog, "no H.264 at %dx%d: %s", picture.size.width, picture.size.height,
                     error.c_str());
            stream_.restart({});
        }
        failing_ = false;
    }
    if (!usable_)
        return;
    const bool idr = stream_.takeIdrRequest();
    if (!encoder_->encode(picture.pixels.data(), picture.size.width * 4, idr, out_, error)) {
        failed_.fetch_add(1, std::memory_order_relaxed);
        if (!std::exchange(failing_, true))
            LOG_WARN(kLog, "%s: %s", encoder_->name(), error.c_str());
        if (++failuresInARow_ >= kFailuresToGiveUp) {
            LOG_WARN(kLog,
                     "no H.264 at %dx%d after %d failed pictures in a row: viewers get pixels",
                     picture.size.width, picture.size.height, failuresInARow_);
            usable_ = false;
            refusedSize_.store(packSize(picture.size), std::memory_order_relaxed);
            stream_.restart({});
        }
        return;
    }
    failuresInARow_ = 0;
    if (std::exchange(failing_, false))
        LOG_INFO(kLog, "%s encodes again", encoder_->name());
    // The stream keeps the bytes; out_ gets a fresh buffer from the encoder.
    const uint64_t sequence = stream_.publish(std::move(out_.bytes), out_.idr);
    out_.bytes = {};
    if (sequence == 0)
        return;
    encoded_.fetch_add(1, std::memory_order_relaxed);
    if (published_)
        published_(sequence);
}

}  // namespace kvmvnc::encode
