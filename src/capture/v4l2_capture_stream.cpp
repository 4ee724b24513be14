// SPDX-License-Identifier: GPL-2.0-or-later
// V4l2Capture: the ring of mapped buffers, draining it, and turning the
// newest picture into a Frame.
#include <linux/videodev2.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <thread>
#include <utility>

#include "kvmvnc/base/log.h"
#include "kvmvnc/capture/v4l2_capture.h"
#include "v4l2_capture_internal.h"

namespace kvmvnc::capture {

using namespace std::chrono_literals;

namespace {

constexpr int kMinBuffers = 2;
constexpr int kMaxBuffers = 32;
// Pictures of another size than negotiated, in a row, that make a mode a
// liar; fewer are torn frames and only dropped.
constexpr int kWrongSizeFrames = 3;

bool isUsableBuffer(const v4l2_buffer &buffer) {
    return (buffer.flags & V4L2_BUF_FLAG_ERROR) == 0 && buffer.bytesused > 0;
}

// Keeps the newest usable buffer of one drain (DQBUF hands buffers out in
// capture order) and says which buffer must go straight back to the driver.
class NewestBuffer {
public:
    std::optional<v4l2_buffer> offer(const v4l2_buffer &buffer) {
        if (!isUsableBuffer(buffer))
            return buffer;
        return std::exchange(kept_, buffer);
    }
    const std::optional<v4l2_buffer> &kept() const { return kept_; }

private:
    std::optional<v4l2_buffer> kept_;
};

// Buffer timestamps are CLOCK_MONOTONIC, steady_clock's clock on Linux, when
// the driver says so; anything else (or nonsense) becomes "now".
std::chrono::steady_clock::time_point bufferTime(const v4l2_buffer &buffer) {
    auto now = std::chrono::steady_clock::now();
    if ((buffer.flags & V4L2_BUF_FLAG_TIMESTAMP_MASK) != V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC)
        return now;
    auto stamp =
        std::chrono::steady_clock::time_point(std::chrono::seconds(buffer.timestamp.tv_sec) +
                                              std::chrono::microseconds(buffer.timestamp.tv_usec));
    if (stamp > now || now - stamp > 1s)
        return now;
    return stamp;
}

v4l2_buffer emptyBuffer() {
    v4l2_buffer buffer{};
    buffer.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    buffer.memory = V4L2_MEMORY_MMAP;
    return buffer;
}

}  // namespace

V4l2Capture::Mapping::Mapping(Mapping &&other) noexcept
    : device_(std::exchange(other.device_, nullptr)),
      address_(std::exchange(other.address_, nullptr)),
      length_(std::exchange(other.length_, 0)) {}

V4l2Capture::Mapping &V4l2Capture::Mapping::operator=(Mapping &&other) noexcept {
    if (this != &other) {
        if (address_ != nullptr)
            device_->unmap(address_, length_);
        device_ = std::exchange(other.device_, nullptr);
        address_ = std::exchange(other.address_, nullptr);
        length_ = std::exchange(other.length_, 0);
    }
    return *this;
}

V4l2Capture::Mapping::~Mapping() {
    if (address_ != nullptr)
        device_->unmap(address_, length_);
}

int V4l2Capture::startStreaming() {
    v4l2_requestbuffers request{};
    request.count = static_cast<uint32_t>(std::clamp(options_.buffers, kMinBuffers, kMaxBuffers));
    request.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    request.memory = V4L2_MEMORY_MMAP;
    if (int ret = device_->ioctl(VIDIOC_REQBUFS, &request); ret < 0) {
        fail("VIDIOC_REQBUFS", ret);
        return ret;
    }
    ownsQueue_ = true;
    if (request.count == 0 || request.count > static_cast<uint32_t>(kMaxBuffers) * 2) {
        fail("VIDIOC_REQBUFS", -ENOMEM);
        return -ENOMEM;
    }

    buffers_.reserve(request.count);
    for (uint32_t index = 0; index < request.count; ++index) {
        v4l2_buffer buffer = emptyBuffer();
        buffer.index = index;
        if (int ret = device_->ioctl(VIDIOC_QUERYBUF, &buffer); ret < 0) {
            fail("VIDIOC_QUERYBUF", ret);
            return ret;
        }
        int error = 0;
        void *address = device_->map(buffer.length, static_cast<off_t>(buffer.m.offset), error);
        if (address == nullptr) {
            fail("mmap", error);
            return error;
        }
        buffers_.emplace_back(*device_, address, buffer.length);
    }
    for (uint32_t index = 0; index < buffers_.size(); ++index) {
        if (int ret = requeue(index); ret < 0)
            return ret;
    }
    // Events queued until now describe what the probe just saw (or what our
    // own S_DV_TIMINGS caused); acting on them would restart the new stream.
    for (int count = 0; count < kMaxEventsPerPoll; ++count) {
        v4l2_event event{};
        if (device_->ioctl(VIDIOC_DQEVENT, &event) < 0 || event.pending == 0)
            break;
    }
    int type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    if (int ret = device_->ioctl(VIDIOC_STREAMON, &type); ret < 0) {
        fail("VIDIOC_STREAMON", ret);
        return ret;
    }
    return 0;
}

// Returns the device to the idle state: no stream, no buffers. Errors are
// ignored, the device may already be gone.
void V4l2Capture::stopStreaming() {
    haveLastBytes_ = false;  // whatever comes next is shown in full
    if (device_ && streaming_) {
        int type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
        device_->ioctl(VIDIOC_STREAMOFF, &type);
    }
    streaming_ = false;
    // The kernel refuses to free buffers that are still mapped.
    buffers_.clear();
    if (device_ && ownsQueue_) {
        v4l2_requestbuffers request{};
        request.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
        request.memory = V4L2_MEMORY_MMAP;
        device_->ioctl(VIDIOC_REQBUFS, &request);
    }
    ownsQueue_ = false;
}

// POLLERR without POLLIN: the queue failed (vb2 q->error) or the device
// vanished. DQBUF tells which.
void V4l2Capture::handlePollError() {
    v4l2_buffer buffer = emptyBuffer();
    int ret = device_->ioctl(VIDIOC_DQBUF, &buffer);
    fail("VIDIOC_DQBUF", ret < 0 && ret != -EAGAIN ? ret : -EIO);
}

// Drains every filled buffer, converts the newest into `frame`, and gives
// all of them back to the driver. Frame when `frame` holds a new picture,
// Unchanged when the newest buffer holds the same bytes as the last picture.
V4l2Capture::Dequeued V4l2Capture::dequeue(Frame &frame) {
    NewestBuffer newest;
    // Bounded: a driver can have at most every buffer done at once.
    for (size_t count = 0; count < buffers_.size(); ++count) {
        v4l2_buffer buffer = emptyBuffer();
        int ret = device_->ioctl(VIDIOC_DQBUF, &buffer);
        if (ret == -EAGAIN)
            break;
        if (ret == 0 && buffer.index >= buffers_.size())
            ret = -EINVAL;
        if (ret < 0) {
            fail("VIDIOC_DQBUF", ret);
            return Dequeued::Nothing;
        }
        if (std::optional<v4l2_buffer> done = newest.offer(buffer)) {
            if (requeue(done->index) < 0)
                return Dequeued::Nothing;
        }
    }
    if (!newest.kept()) {
        // POLLIN without a buffer (or only failed ones): do not spin on a
        // driver that keeps saying so.
        std::this_thread::sleep_for(1ms);
        return Dequeued::Nothing;
    }

    const v4l2_buffer &buffer = *newest.kept();
    const Mapping &mapping = buffers_[buffer.index];
    size_t bytes = std::min<size_t>(buffer.bytesused, mapping.length());
    const bool unchanged = haveLastBytes_ && status_.state == SignalState::Ok &&
                           bytes == lastBytes_.size() &&
                           std::memcmp(mapping.data(), lastBytes_.data(), bytes) == 0;
    // A picture of another size than negotiated: one is a torn frame, and
    // dropped. A few in a row from a mode that has given no picture yet
    // leave it while another mode is left to try; otherwise they are what
    // the device delivers, and shown at their own size, as any picture beats
    // none.
    std::string wrong;
    if (!unchanged && !hasDvTimings_)
        wrong = wrongSize(mapping.data(), bytes);
    if (!wrong.empty()) {
        const bool another = !settled_ && modeIndex_ + 1 < modes_.size();
        if (++wrongSizeFrames_ < kWrongSizeFrames || another) {
            if (requeue(buffer.index) < 0)
                return Dequeued::Nothing;
            if (another && wrongSizeFrames_ >= kWrongSizeFrames)
                abandonMode("delivers " + wrong + " in " + streamText(),
                            streamText() + " delivered " + wrong);
            return Dequeued::Nothing;
        }
    }
    bool converted = false;
    if (!unchanged) {
        converted = convert(mapping.data(), bytes, frame);
        // assign() keeps the capacity: no allocation once the size is steady.
        if (converted)
            lastBytes_.assign(mapping.data(), mapping.data() + bytes);
        haveLastBytes_ = converted;
    }
    if (requeue(buffer.index) < 0)
        return Dequeued::Nothing;
    if (unchanged) {
        stallCheck_ = Clock::now() + kStallTimeout;
        return Dequeued::Unchanged;
    }
    if (!converted)
        return Dequeued::Nothing;

    Clock::time_point now = Clock::now();
    frame.sequence = ++sequence_;
    frame.timestamp = bufferTime(buffer);
    stallCheck_ = now + kStallTimeout;
    if (wrong.empty())
        wrongSizeFrames_ = 0;
    if (!settled_)
        settle();
    if (status_.state != SignalState::Ok)
        setStatus(SignalState::Ok, {});
    return Dequeued::Frame;
}

int V4l2Capture::requeue(uint32_t index) {
    v4l2_buffer buffer = emptyBuffer();
    buffer.index = index;
    int ret = device_->ioctl(VIDIOC_QBUF, &buffer);
    if (ret < 0)
        fail("VIDIOC_QBUF", ret);
    return ret;
}

// A frame that does not convert (torn JPEG, short buffer) is dropped; the
// previous picture stands and the stall check notices if none ever works.
bool V4l2Capture::convert(const uint8_t *data, size_t bytes, Frame &frame) {
    const char *problem = nullptr;
    if (format_ == PixelFormat::Mjpeg) {
        switch (jpeg_.decode(data, bytes, frame)) {
        case JpegDecoder::Result::Ok:
            return true;
        case JpegDecoder::Result::Truncated:
            problem = "truncated JPEG";
            break;
        case JpegDecoder::Result::Corrupt:
            problem = "corrupt JPEG";
            break;
        }
    } else if (convertToXrgb(format_, data, bytes, width_, height_, stride_, frame, yuvEncoding_) ==
               0) {
        return true;
    } else {
        problem = "short or malformed";
    }
    if (!warnedBadFrame_) {
        LOG_WARN("capture", "%s: dropping %s frames (%zu bytes)", options_.device.c_str(), problem,
                 bytes);
        warnedBadFrame_ = true;
    }
    return false;
}

}  // namespace kvmvnc::capture
