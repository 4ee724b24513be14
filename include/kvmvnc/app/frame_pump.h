// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <atomic>
#include <cstdint>
#include <stop_token>
#include <thread>
#include <vector>

#include "kvmvnc/capture/frame_mailbox.h"
#include "kvmvnc/diff/scroll_finder.h"
#include "kvmvnc/diff/tile_differ.h"
#include "kvmvnc/encode/h264_encoder_thread.h"
#include "kvmvnc/rfb/rfb_server.h"

namespace kvmvnc::app {

// Counters of what reached the framebuffer, for logs and benchmarks.
struct PumpStats {
    uint64_t frames = 0;         // frames taken from the mailbox
    uint64_t changedFrames = 0;  // frames with at least one changed tile
    uint64_t changedTiles = 0;
    uint64_t resizes = 0;
    uint64_t moves = 0;  // scrolls sent as copies
};

// The thread between capture and the RFB server: takes the newest frame
// from the mailbox, follows its resolution (a live resize for viewers),
// moves what scrolled (ScrollFinder, RfbServer::moveArea: copies for the
// viewers), brings the rest of the framebuffer up to date through the
// TileDiffer and marks only what changed. It is the framebuffer's only writer.
// Where the source knows what changed (Frame::damageKnown: the X11 source),
// the differ compares only those rows.
//
// With an H.264 encoder (setH264Encoder), each changed frame also goes to it
// while the RFB server wants H.264 (RfbServer::h264Wanted(): a stream is
// attached and its MotionPolicy sees motion), as the framebuffer holds it
// after the differ, so the encoder's pictures are exactly what the tiles
// would have shown. When the motion ends the pump wakes the viewers that
// were sent H.264 (within its 100 ms wait), so they get the sharp picture.
//
// start() and stop() belong to one controlling thread; stats() may be read
// from any thread.
class FramePump {
public:
    FramePump(capture::FrameMailbox &mailbox, rfb::RfbServer &server);
    ~FramePump();
    FramePump(const FramePump &) = delete;
    FramePump &operator=(const FramePump &) = delete;

    // Borrowed, must outlive the pump; before start().
    void setH264Encoder(encode::H264EncoderThread *encoder) { h264_ = encoder; }
    void start();
    void stop();
    PumpStats stats() const;

private:
    void run(const std::stop_token &stop);
    void followMotion();

    capture::FrameMailbox &mailbox_;
    rfb::RfbServer &server_;
    diff::ScrollFinder scrolls_;
    diff::TileDiffer differ_;
    std::vector<diff::Move> moves_;
    std::vector<Rect> changed_;
    std::vector<Rect> damage_;  // a frame's damage and this frame's moves
    // The framebuffer equals the last frame taken: a frame whose damage is
    // known need only be compared there.
    bool inStep_ = false;
    bool oversizeLogged_ = false;  // a picture over RfbServer::kMaxSize was reported
    encode::H264EncoderThread *h264_ = nullptr;
    bool h264Wanted_ = false;  // at the last look: motion ending wakes the H.264 viewers
    std::atomic<uint64_t> frames_{0};
    std::atomic<uint64_t> changedFrames_{0};
    std::atomic<uint64_t> changedTiles_{0};
    std::atomic<uint64_t> resizes_{0};
    std::atomic<uint64_t> movesTotal_{0};
    std::jthread thread_;
};

}  // namespace kvmvnc::app
