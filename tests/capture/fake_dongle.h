// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <linux/videodev2.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "kvmvnc/base/geometry.h"
#include "kvmvnc/capture/pixel_format.h"
#include "kvmvnc/capture/v4l2_device.h"

namespace kvmvnc::capture {

// A USB capture dongle played behind the V4l2Device seam, the way uvcvideo
// presents one: the formats and sizes it lists (ENUM_FMT, ENUM_FRAMESIZES),
// S_FMT settling on the nearest listed size, MMAP streaming, no DV timings,
// no EDID. Per mode it delivers what the test says: pictures, nothing,
// pictures of another size (a JPEG whose header says so; raw frames whose
// bytesused is another size's), or a refusal to stream (uvcvideo's ENOSPC
// when the USB bandwidth does not suffice).
//
// Thread-safe: a capture thread may drive it while the test changes what a
// mode delivers or reads what was streamed.
class FakeDongle : public std::enable_shared_from_this<FakeDongle> {
public:
    enum class Delivers { Pictures, Nothing, WrongSize, Refuses };
    struct Mode {
        PixelFormat format = PixelFormat::Mjpeg;
        Size size;
        Delivers delivers = Delivers::Pictures;
        Size wrongSize{};  // what a WrongSize mode delivers
    };
    static constexpr std::chrono::milliseconds kFrameInterval{10};

    // Listed in this order; the first is the format the device starts in.
    explicit FakeDongle(std::vector<Mode> modes);

    // Opens the dongle whatever the path (one open at a time).
    V4l2Opener opener();

    void setDelivers(PixelFormat format, Size size, Delivers delivers, Size wrongSize = {});
    // The next frame of the stream running now is a picture of `size`, once.
    void glitchOnce(Size size);

    // "1920x1080 MJPEG" for every STREAMON, refused or not, in order.
    std::vector<std::string> streamed() const;
    int opens() const;
    int polls() const;  // poll() calls
    bool isOpen() const;

    // The V4l2Device calls of the one open node.
    int ioctl(unsigned long request, void *arg);
    void *map(size_t length, off_t offset, int &error);
    void unmap(void *address, size_t length);
    int poll(short events, std::chrono::milliseconds timeout);
    void close();

private:
    using Clock = std::chrono::steady_clock;

    const Mode *findMode(uint32_t fourcc, Size size) const;
    const Mode *currentMode() const { return findMode(fourcc_, size_); }
    std::vector<uint32_t> fourccs() const;
    int negotiateFormat(v4l2_format *format, bool store);
    void describeFormat(v4l2_pix_format &pix) const;
    int requestBuffers(void *arg);
    int dequeue(void *arg);
    bool frameDue(Clock::time_point now) const;
    const std::vector<uint8_t> &jpeg(Size size);

    mutable std::mutex mutex_;
    std::vector<Mode> modes_;
    std::vector<std::string> streamed_;
    int opens_ = 0;
    int polls_ = 0;
    bool open_ = false;

    // The open node's state.
    uint32_t fourcc_ = 0;
    Size size_;
    std::vector<std::vector<uint8_t>> buffers_;
    int mapped_ = 0;
    std::deque<uint32_t> queued_;
    bool streaming_ = false;
    Size glitch_;
    Clock::time_point nextFrame_{};
    uint32_t sequence_ = 0;
    std::map<std::pair<int, int>, std::vector<uint8_t>> jpegs_;
};

}  // namespace kvmvnc::capture
