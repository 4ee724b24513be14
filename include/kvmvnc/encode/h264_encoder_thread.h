// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <stop_token>
#include <thread>
#include <vector>

#include "kvmvnc/base/geometry.h"
#include "kvmvnc/encode/h264_encoder.h"
#include "kvmvnc/encode/h264_stream.h"

namespace kvmvnc::encode {

// Counters for logs, tests and benchmarks.
struct H264EncoderStats {
    uint64_t submitted = 0;  // pictures handed in
    uint64_t replaced = 0;   // handed in, then replaced by a newer one before encoding
    uint64_t encoded = 0;    // access units published
    uint64_t failed = 0;     // encodes or configurations that failed
    uint64_t refused = 0;    // handed in at a size the encoder refused or gave up on: not copied
};

// The thread `kvm-h264`: encodes the newest picture handed in and publishes
// it into the shared H264Stream, once per picture whatever the number of
// viewers.
//
// A thread of its own, not the frame pump's: a 1080p picture takes
// OpenH264 about as long as a whole frame interval on this machine, and the
// pump must go on diffing for the viewers that take tiles (and keep the
// framebuffer current) meanwhile. Between the two sits a mailbox of one
// picture, as between capture and pump: a newer picture replaces one not
// yet encoded, so the encoder always works on the newest and a slow encoder
// lowers the video's frame rate, never the pump's. The pump pays one copy
// of the picture (into a buffer the thread owns, outside any lock).
//
// A picture of another size than the last reconfigures the encoder and
// restarts the stream (a new context: viewers reset their decoders); a size
// the encoder refuses makes the stream unavailable until the size changes
// again, with one log line, and pictures of that size are not even copied
// (a 4K screen the encoder cannot take costs the pump nothing). A failed
// encode is logged (once per run of failures) and the stream goes on: the
// encoder's next picture is an IDR. kFailuresToGiveUp failures in a row
// give up that size like a refused one: the stream becomes unavailable, so
// viewers waiting for a unit go back to their pixel encoding at once
// instead of keeping the last picture.
//
// submit() belongs to one producer thread; start() and stop() to one
// controlling thread; stats() to anyone. The encoder is owned and used only
// by the thread.
class H264EncoderThread {
public:
    // `published` runs on the thread after each unit is in the stream: the
    // place to wake the viewers that take it. It must not block.
    H264EncoderThread(std::unique_ptr<H264Encoder> encoder, const H264Options &options,
                      H264Stream &stream, std::function<void(uint64_t sequence)> published = {});
    ~H264EncoderThread();
    H264EncoderThread(const H264EncoderThread &) = delete;
    H264EncoderThread &operator=(const H264EncoderThread &) = delete;

    void start();
    void stop();

    // Producer: copies the picture (XRGB8888, `stride` bytes a row) for the
    // thread; replaces one not yet encoded. Never waits for an encode.
    void submit(const uint8_t *pixels, int stride, Size size);

    H264EncoderStats stats() const;

    static constexpr int kFailuresToGiveUp = 3;

private:
    struct Picture {
        Size size;
        std::vector<uint8_t> pixels;  // tightly packed rows
    };

    void run(const std::stop_token &stop);
    void encode(const Picture &picture);

    std::unique_ptr<H264Encoder> encoder_;
    const H264Options options_;
    H264Stream &stream_;
    std::function<void(uint64_t)> published_;

    Picture spare_;  // producer's: filled outside the lock, then swapped in
    std::mutex mutex_;
    std::condition_variable_any ready_;
    Picture pending_;
    bool hasPending_ = false;

    // The thread's own.
    Picture working_;
    Size configured_;  // the size the encoder was last configured (or refused) for
    bool usable_ = false;
    bool failing_ = false;  // in a run of failed encodes: logged once
    int failuresInARow_ = 0;
    EncodedPicture out_;
    // The size refused or given up on, as width << 32 | height (0: none):
    // written by the thread, read by submit().
    std::atomic<uint64_t> refusedSize_{0};
    std::atomic<uint64_t> refused_{0};

    std::atomic<uint64_t> submitted_{0};
    std::atomic<uint64_t> replaced_{0};
    std::atomic<uint64_t> encoded_{0};
    std::atomic<uint64_t> failed_{0};
    std::jthread thread_;
};

}  // namespace kvmvnc::encode
