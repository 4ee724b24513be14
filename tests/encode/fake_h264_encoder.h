// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "kvmvnc/encode/h264_encoder.h"

namespace kvmvnc::encode::testing {

// An H264Encoder that encodes nothing: each picture becomes a short unit
// whose bytes say what was asked (a start code, an IDR or P slice header,
// then the picture's first pixel byte and its number). It records what it
// was given, can refuse sizes, fail encodes, and hold an encode until
// released, so tests see the thread's and the stream's decisions.
// Thread-safe where the test reads it while the encoder thread runs.
class FakeH264Encoder final : public H264Encoder {
public:
    bool configure(Size size, const H264Options &, std::string &error) override {
        std::lock_guard lock(mutex_);
        configured.push_back(size);
        if (size.width == refusedWidth) {
            size_ = {};
            error = "refused by the test";
            return false;
        }
        size_ = size;
        idrNext_ = true;
        return true;
    }
    bool encode(const uint8_t *pixels, int, bool forceIdr, EncodedPicture &out,
                std::string &error) override {
        std::unique_lock lock(mutex_);
        entered_ = true;
        changed_.notify_all();
        changed_.wait(lock, [this] { return !hold; });
        firstBytes.push_back(pixels[0]);
        forced.push_back(forceIdr);
        if (failNext || failAlways) {
            failNext = false;
            idrNext_ = true;
            error = "failed by the test";
            return false;
        }
        out.idr = forceIdr || idrNext_;
        idrNext_ = false;
        out.bytes = {0,
                     0,
                     0,
                     1,
                     static_cast<uint8_t>(out.idr ? 0x65 : 0x41),
                     pixels[0],
                     static_cast<uint8_t>(firstBytes.size())};
        out.bytes.resize(out.bytes.size() + padding, 0xab);
        return true;
    }
    void requestIdr() override {
        std::lock_guard lock(mutex_);
        idrNext_ = true;
    }
    Size size() const override {
        std::lock_guard lock(mutex_);
        return size_;
    }
    const char *name() const override { return "fake"; }

    // Holding: encode() waits inside until release(); waitEntered() returns
    // once an encode is waiting there.
    void setHold(bool value) {
        std::lock_guard lock(mutex_);
        hold = value;
        entered_ = false;
        changed_.notify_all();
    }
    void waitEntered() {
        std::unique_lock lock(mutex_);
        changed_.wait(lock, [this] { return entered_; });
    }
    template <typename F>
    auto inspect(F &&f) {
        std::lock_guard lock(mutex_);
        return f(*this);
    }

    std::vector<Size> configured;
    std::vector<uint8_t> firstBytes;  // each encoded picture's first byte
    std::vector<bool> forced;         // each encode's forceIdr
    int refusedWidth = -1;
    size_t padding = 0;  // bytes added to each unit, to fill sockets
    bool failNext = false;
    bool failAlways = false;  // every encode fails, until cleared
    bool hold = false;

private:
    mutable std::mutex mutex_;
    std::condition_variable changed_;
    bool entered_ = false;
    Size size_;
    bool idrNext_ = false;
};

}  // namespace kvmvnc::encode::testing
