// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

#include "bench_viewer.h"

struct _rfbClient;

namespace kvmvnc::encode::testing {
class H264TestDecoder;
}

namespace kvmvnc::bench {

// What H264Viewers received, summed over the viewers of one run.
struct H264ViewerCounts {
    std::atomic<uint64_t> rects{0};         // encoding-50 rectangles
    std::atomic<uint64_t> pictures{0};      // pictures decoded from them
    std::atomic<uint64_t> decodeErrors{0};  // access units libavcodec refused
};

// A viewer that lists "Open H.264" (RFB encoding 50) before Tight and
// CopyRect, as noVNC does, for the benchmarks: libvncclient for the
// handshake and for Tight, CopyRect and the rest; encoding 50 decoded with
// libavcodec (tests/encode's H264TestDecoder) into the same canvas, so the
// frame number is read from the decoded pixels like any other.
//
// libvncclient knows no encoding 50 and lists only what its encodings
// string and its (process-wide) extensions name, so this viewer sends its
// own SetEncodings after the handshake; the extension that decodes 50
// names no encoding, and viewers of other kinds in the same process list
// what they listed before. Runs in the calling thread; not thread-safe.
class H264Viewer final : public MeasuredViewer {
public:
    // `counts` is borrowed and must outlive the viewer.
    H264Viewer(int port, int qualityLevel, H264ViewerCounts &counts);
    ~H264Viewer() override;
    H264Viewer(const H264Viewer &) = delete;
    H264Viewer &operator=(const H264Viewer &) = delete;

    bool connect() override;
    bool pump(std::chrono::milliseconds timeout) override;
    uint64_t updates() const override { return updates_; }
    void onUpdate(std::function<void()> callback) override { callback_ = std::move(callback); }
    Size size() const override;
    const uint8_t *framebufferData() const override;
    bool continuousUpdatesOn() const override { return false; }

private:
    struct Extension;
    bool readH264(int x, int y, int width, int height);

    const int port_;
    const int qualityLevel_;
    H264ViewerCounts &counts_;
    _rfbClient *client_ = nullptr;
    bool alive_ = false;
    std::unique_ptr<encode::testing::H264TestDecoder> decoder_;
    std::function<void()> callback_;
    uint64_t updates_ = 0;
};

}  // namespace kvmvnc::bench
