// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "kvmvnc/base/geometry.h"

namespace kvmvnc::encode {

// One encoded picture as every viewer receives it: shared, never changed
// after it was published.
struct AccessUnit {
    uint64_t sequence = 0;       // 1, 2, ... in publishing order, across contexts
    uint64_t context = 0;        // the stream's context it belongs to (H264Stream::restart)
    Size size;                   // the picture's size: the context's rectangle
    bool idr = false;            // SPS, PPS and an IDR slice: a decoder may start here
    std::vector<uint8_t> bytes;  // Annex B
};

struct H264StreamOptions {
    // The ring's bounds: the oldest units go first when either is passed,
    // the newest unit never. A viewer further behind than this skips to an
    // IDR. About 2 s of video at 30 fps and 5 Mbit/s.
    size_t maxUnits = 64;
    size_t maxBytes = 2 * 1024 * 1024;
    // IDRs asked for by viewers (joining, or fallen behind) are granted at
    // most this often: one IDR serves everyone waiting, and a viewer that
    // keeps falling behind cannot make the stream all keyframes.
    std::chrono::milliseconds minIdrInterval{1000};
};

// The H.264 stream all viewers of one picture size share: one encoder
// (H264EncoderThread) publishes numbered access units into a bounded ring;
// each viewer reads from it with a Cursor of its own, at its own pace. The
// producer never waits for a viewer: a viewer that fell so far behind that
// its next unit left the ring is not served the gap, it skips to an IDR (the
// newest in the ring, or, when the ring holds none, the next one, which it
// asks for).
//
// A context is one run of the encoder at one size, from an IDR on: restart()
// starts a new one (resize, encoder reconfigured), and every cursor then
// starts again at the new context's first IDR, with ResetContext.
//
// Thread-safe: one producer (the encoder thread) and any number of readers
// (viewers' output threads). One mutex, held only to move shared pointers,
// never while anyone writes to a socket or encodes.
class H264Stream {
public:
    using Clock = std::chrono::steady_clock;

    // Where one viewer is in the stream. Owned by the viewer; only read()
    // changes it. A default cursor has not joined.
    struct Cursor {
        uint64_t next = 0;     // the sequence number it needs next
        uint64_t context = 0;  // the context its decoder holds
        bool synced = false;   // it decoded an IDR of `context` and everything since
    };

    // What read() hands a viewer.
    struct Batch {
        std::vector<std::shared_ptr<const AccessUnit>> units;  // in order, one context
        // The first unit starts a context the viewer's decoder does not hold
        // (it joined, fell behind, or the stream restarted): the viewer must
        // reset its decoder for the rectangle first (RFB's ResetContext).
        bool resetContext = false;
        Size size;  // the units' picture size
    };

    enum class ReadResult {
        Units,          // `batch` holds units to send
        Nothing,        // in step, nothing new
        WaitingForIdr,  // not in step; an IDR has been asked for
        Unavailable,    // no stream at all (no encoder for this size)
    };

    explicit H264Stream(const H264StreamOptions &options = {},
                        std::function<Clock::time_point()> now = Clock::now);
    H264Stream(const H264Stream &) = delete;
    H264Stream &operator=(const H264Stream &) = delete;

    // Producer: a new context of `size` pictures (empty: none, the stream is
    // unavailable until the next restart). The ring is emptied; the next
    // unit published must be an IDR.
    void restart(Size size);
    // Producer: publishes one access unit of the current context; returns
    // its sequence number, or 0 when it cannot be decoded by anyone (a
    // P picture before the context's first IDR, or no context).
    uint64_t publish(std::vector<uint8_t> bytes, bool idr);
    // Producer, before each encode: whether this picture must be an IDR (one
    // was asked for and the rate limit allows it). Consumes the request.
    bool takeIdrRequest();

    // Reader: the units `cursor` has not had, advancing it. Never blocks on
    // the producer beyond the mutex.
    ReadResult read(Cursor &cursor, Batch &batch);
    // Asks for an IDR (rate-limited, see H264StreamOptions): for a reader
    // whose decoder failed, or to join at once.
    void requestIdr();

    Size size() const;
    uint64_t lastSequence() const;
    // How many IDRs were asked for and how many the producer took; tests
    // and statistics.
    uint64_t idrsRequested() const;
    uint64_t idrsGranted() const;

private:
    void evictLocked();
    void requestIdrLocked();

    const H264StreamOptions options_;
    const std::function<Clock::time_point()> now_;
    mutable std::mutex mutex_;
    std::deque<std::shared_ptr<const AccessUnit>> ring_;
    size_t ringBytes_ = 0;
    uint64_t nextSequence_ = 1;
    uint64_t context_ = 0;
    Size size_;
    bool idrSeen_ = false;        // the context has had its first IDR
    bool idrWanted_ = false;      // a reader asked; the producer has not granted it yet
    bool idrSinceStart_ = false;  // an IDR was ever published: the rate limit applies
    Clock::time_point lastIdr_;
    uint64_t idrsRequested_ = 0;
    uint64_t idrsGranted_ = 0;
};

}  // namespace kvmvnc::encode
