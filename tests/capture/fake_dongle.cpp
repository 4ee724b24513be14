// SPDX-License-Identifier: GPL-2.0-or-later
#include "fake_dongle.h"

#include <linux/videodev2.h>
#include <poll.h>
#include <turbojpeg.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <utility>

namespace kvmvnc::capture {

namespace {

constexpr uint32_t kMaxBuffers = 8;
constexpr uint32_t kOffsetStep = 1u << 24;  // QUERYBUF's m.offset of buffer n is n steps

std::string modeName(uint32_t fourcc, Size size) {
    std::optional<PixelFormat> format = fromFourcc(fourcc);
    return std::to_string(size.width) + "x" + std::to_string(size.height) + " " +
           (format ? pixelFormatName(*format) : "?");
}

// One V4l2Device per open; the dongle behind it keeps the state.
class FakeNode final : public V4l2Device {
public:
    explicit FakeNode(std::shared_ptr<FakeDongle> dongle) : dongle_(std::move(dongle)) {}
    ~FakeNode() override { dongle_->close(); }

    int ioctl(unsigned long request, void *arg) override { return dongle_->ioctl(request, arg); }
    void *map(size_t length, off_t offset, int &error) override {
        return dongle_->map(length, offset, error);
    }
    void unmap(void *address, size_t length) override { dongle_->unmap(address, length); }
    int poll(short events, std::chrono::milliseconds timeout) override {
        return dongle_->poll(events, timeout);
    }

private:
    std::shared_ptr<FakeDongle> dongle_;
};

}  // namespace

FakeDongle::FakeDongle(std::vector<Mode> modes) : modes_(std::move(modes)) {
    if (!modes_.empty()) {
        fourcc_ = toFourcc(modes_.front().format);
        size_ = modes_.front().size;
    }
}

V4l2Opener FakeDongle::opener() {
    std::weak_ptr<FakeDongle> weak = weak_from_this();
    return [weak](const std::string &, int &error) -> std::unique_ptr<V4l2Device> {
        std::shared_ptr<FakeDongle> dongle = weak.lock();
        if (!dongle) {
            error = -ENOENT;
            return nullptr;
        }
        std::lock_guard lock(dongle->mutex_);
        if (dongle->open_) {
            error = -EBUSY;
            return nullptr;
        }
        dongle->open_ = true;
        ++dongle->opens_;
        return std::make_unique<FakeNode>(dongle);
    };
}

void FakeDongle::setDelivers(PixelFormat format, Size size, Delivers delivers, Size wrongSize) {
    std::lock_guard lock(mutex_);
    for (Mode &mode : modes_) {
        if (mode.format == format && mode.size == size) {
            mode.delivers = delivers;
            mode.wrongSize = wrongSize;
        }
    }
}

void FakeDongle::glitchOnce(Size size) {
    std::lock_guard lock(mutex_);
    glitch_ = size;
}

std::vector<std::string> FakeDongle::streamed() const {
    std::lock_guard lock(mutex_);
    return streamed_;
}

int FakeDongle::opens() const {
    std::lock_guard lock(mutex_);
    return opens_;
}

int FakeDongle::polls() const {
    std::lock_guard lock(mutex_);
    return polls_;
}

bool FakeDongle::isOpen() const {
    std::lock_guard lock(mutex_);
    return open_;
}

// Closing the last descriptor stops the stream and frees the buffers, as
// vb2 does.
void FakeDongle::close() {
    std::lock_guard lock(mutex_);
    streaming_ = false;
    queued_.clear();
    buffers_.clear();
    mapped_ = 0;
    open_ = false;
}

const FakeDongle::Mode *FakeDongle::findMode(uint32_t fourcc, Size size) const {
    for (const Mode &mode : modes_) {
        if (toFourcc(mode.format) == fourcc && mode.size == size)
            return &mode;
    }
    return nullptr;
}

std::vector<uint32_t> FakeDongle::fourccs() const {
    std::vector<uint32_t> list;
    for (const Mode &mode : modes_) {
        uint32_t fourcc = toFourcc(mode.format);
        if (std::find(list.begin(), list.end(), fourcc) == list.end())
            list.push_back(fourcc);
    }
    return list;
}

int FakeDongle::ioctl(unsigned long request, void *arg) {
    std::lock_guard lock(mutex_);
    switch (request) {
    case VIDIOC_QUERYCAP: {
        auto *caps = static_cast<v4l2_capability *>(arg);
        *caps = {};
        std::strncpy(reinterpret_cast<char *>(caps->driver), "uvcvideo", sizeof caps->driver);
        std::strncpy(reinterpret_cast<char *>(caps->card), "Fake dongle", sizeof caps->card);
        std::strncpy(reinterpret_cast<char *>(caps->bus_info), "usb-fake", sizeof caps->bus_info);
        caps->device_caps = V4L2_CAP_VIDEO_CAPTURE | V4L2_CAP_STREAMING;
        caps->capabilities = caps->device_caps | V4L2_CAP_DEVICE_CAPS;
        return 0;
    }
    case VIDIOC_G_INPUT:
        *static_cast<int *>(arg) = 0;
        return 0;
    case VIDIOC_S_INPUT:
        return *static_cast<int *>(arg) == 0 ? 0 : -EINVAL;
    case VIDIOC_ENUMINPUT: {
        auto *input = static_cast<v4l2_input *>(arg);
        if (input->index != 0)
            return -EINVAL;
        std::strncpy(reinterpret_cast<char *>(input->name), "Camera 1", sizeof input->name);
        input->type = V4L2_INPUT_TYPE_CAMERA;
        input->status = 0;
        return 0;
    }
    case VIDIOC_SUBSCRIBE_EVENT:
        return -EINVAL;  // no SOURCE_CHANGE on a dongle
    case VIDIOC_DQEVENT:
        return -ENOENT;
    case VIDIOC_ENUM_FMT: {
        auto *desc = static_cast<v4l2_fmtdesc *>(arg);
        std::vector<uint32_t> list = fourccs();
        if (desc->type != V4L2_BUF_TYPE_VIDEO_CAPTURE || desc->index >= list.size())
            return -EINVAL;
        desc->pixelformat = list[desc->index];
        desc->flags = desc->pixelformat == V4L2_PIX_FMT_MJPEG ? V4L2_FMT_FLAG_COMPRESSED : 0;
        return 0;
    }
    case VIDIOC_ENUM_FRAMESIZES: {
        auto *sizes = static_cast<v4l2_frmsizeenum *>(arg);
        uint32_t index = 0;
        for (const Mode &mode : modes_) {
            if (toFourcc(mode.format) != sizes->pixel_format)
                continue;
            if (index++ == sizes->index) {
                sizes->type = V4L2_FRMSIZE_TYPE_DISCRETE;
                sizes->discrete.width = static_cast<uint32_t>(mode.size.width);
                sizes->discrete.height = static_cast<uint32_t>(mode.size.height);
                return 0;
            }
        }
        return -EINVAL;
    }
    case VIDIOC_G_FMT: {
        auto *format = static_cast<v4l2_format *>(arg);
        if (format->type != V4L2_BUF_TYPE_VIDEO_CAPTURE)
            return -EINVAL;
        describeFormat(format->fmt.pix);
        return 0;
    }
    case VIDIOC_S_FMT:
    case VIDIOC_TRY_FMT:
        return negotiateFormat(static_cast<v4l2_format *>(arg), request == VIDIOC_S_FMT);
    case VIDIOC_G_PARM:
    case VIDIOC_S_PARM: {
        auto *parm = static_cast<v4l2_streamparm *>(arg);
        parm->parm.capture.capability = V4L2_CAP_TIMEPERFRAME;
        parm->parm.capture.timeperframe = {1, 30};
        return 0;
    }
    case VIDIOC_REQBUFS:
        return requestBuffers(arg);
    case VIDIOC_QUERYBUF: {
        auto *buffer = static_cast<v4l2_buffer *>(arg);
        if (buffer->index >= buffers_.size())
            return -EINVAL;
        buffer->length = static_cast<uint32_t>(buffers_[buffer->index].size());
        buffer->m.offset = buffer->index * kOffsetStep;
        return 0;
    }
    case VIDIOC_QBUF: {
        auto *buffer = static_cast<v4l2_buffer *>(arg);
        if (buffer->index >= buffers_.size() ||
            std::find(queued_.begin(), queued_.end(), buffer->index) != queued_.end())
            return -EINVAL;
        queued_.push_back(buffer->index);
        return 0;
    }
    case VIDIOC_DQBUF:
        return dequeue(arg);
    case VIDIOC_STREAMON: {
        if (streaming_)
            return 0;
        if (buffers_.empty())
            return -EINVAL;
        streamed_.push_back(modeName(fourcc_, size_));
        const Mode *mode = currentMode();
        if (mode != nullptr && mode->delivers == Delivers::Refuses)
            return -ENOSPC;
        streaming_ = true;
        nextFrame_ = Clock::now() + kFrameInterval;
        return 0;
    }
    case VIDIOC_STREAMOFF:
        streaming_ = false;
        queued_.clear();
        glitch_ = {};
        return 0;
    default:
        return -ENOTTY;  // no DV timings, no EDID, no controls
    }
}

// The listed format (the first one for an unknown fourcc) at its nearest
// listed size, as uvcvideo settles S_FMT.
int FakeDongle::negotiateFormat(v4l2_format *format, bool store) {
    if (format->type != V4L2_BUF_TYPE_VIDEO_CAPTURE)
        return -EINVAL;
    if (store && !buffers_.empty())
        return -EBUSY;
    const v4l2_pix_format &asked = format->fmt.pix;
    std::vector<uint32_t> list = fourccs();
    const uint32_t fourcc = std::find(list.begin(), list.end(), asked.pixelformat) != list.end()
                                ? asked.pixelformat
                                : list.front();
    Size size;
    int best = -1;
    for (const Mode &mode : modes_) {
        if (toFourcc(mode.format) != fourcc)
            continue;
        const int distance = std::abs(mode.size.width - static_cast<int>(asked.width)) +
                             std::abs(mode.size.height - static_cast<int>(asked.height));
        if (best < 0 || distance < best) {
            best = distance;
            size = mode.size;
        }
    }
    const uint32_t oldFourcc = std::exchange(fourcc_, fourcc);
    const Size oldSize = std::exchange(size_, size);
    describeFormat(format->fmt.pix);
    if (!store) {
        fourcc_ = oldFourcc;
        size_ = oldSize;
    }
    return 0;
}

void FakeDongle::describeFormat(v4l2_pix_format &pix) const {
    pix = {};
    pix.pixelformat = fourcc_;
    pix.width = static_cast<uint32_t>(size_.width);
    pix.height = static_cast<uint32_t>(size_.height);
    pix.field = V4L2_FIELD_NONE;
    pix.bytesperline = fourcc_ == V4L2_PIX_FMT_MJPEG ? 0 : pix.width * 2;
    pix.sizeimage = pix.width * pix.height * 2;
    pix.colorspace = V4L2_COLORSPACE_SRGB;
}

int FakeDongle::requestBuffers(void *arg) {
    auto *request = static_cast<v4l2_requestbuffers *>(arg);
    if (request->memory != V4L2_MEMORY_MMAP)
        return -EINVAL;
    if (streaming_ || mapped_ > 0)
        return -EBUSY;
    buffers_.clear();
    queued_.clear();
    request->count = std::min(request->count, kMaxBuffers);
    const size_t length = static_cast<size_t>(size_.width) * size_.height * 2;
    for (uint32_t index = 0; index < request->count; ++index)
        buffers_.emplace_back(length);
    return 0;
}

void *FakeDongle::map(size_t length, off_t offset, int &error) {
    std::lock_guard lock(mutex_);
    const size_t index = static_cast<size_t>(offset) / kOffsetStep;
    if (offset % kOffsetStep != 0 || index >= buffers_.size() || length > buffers_[index].size()) {
        error = -EINVAL;
        return nullptr;
    }
    ++mapped_;
    return buffers_[index].data();
}

void FakeDongle::unmap(void *, size_t) {
    std::lock_guard lock(mutex_);
    --mapped_;
}

bool FakeDongle::frameDue(Clock::time_point now) const {
    const Mode *mode = currentMode();
    if (!streaming_ || queued_.empty() || now < nextFrame_)
        return false;
    return mode == nullptr || mode->delivers != Delivers::Nothing || !glitch_.isEmpty();
}

int FakeDongle::poll(short events, std::chrono::milliseconds timeout) {
    const Clock::time_point deadline = Clock::now() + timeout;
    {
        std::lock_guard lock(mutex_);
        ++polls_;
    }
    for (;;) {
        Clock::time_point now = Clock::now();
        Clock::time_point wake = deadline;
        {
            std::lock_guard lock(mutex_);
            if (!streaming_)
                return POLLERR;
            if (frameDue(now))
                return events & POLLIN;
            if (frameDue(nextFrame_))
                wake = std::min(deadline, nextFrame_);
        }
        if (now >= deadline)
            return 0;
        // A test may change what the mode delivers meanwhile.
        std::this_thread::sleep_until(std::min(wake, now + std::chrono::milliseconds{5}));
    }
}

int FakeDongle::dequeue(void *arg) {
    if (!streaming_)
        return -EINVAL;
    Clock::time_point now = Clock::now();
    if (!frameDue(now))
        return -EAGAIN;
    const Mode *mode = currentMode();
    Size picture = size_;
    if (!glitch_.isEmpty())
        picture = std::exchange(glitch_, {});
    else if (mode != nullptr && mode->delivers == Delivers::WrongSize)
        picture = mode->wrongSize;

    const uint32_t index = queued_.front();
    queued_.pop_front();
    std::vector<uint8_t> &data = buffers_[index];
    size_t bytes = 0;
    if (fourcc_ == V4L2_PIX_FMT_MJPEG) {
        const std::vector<uint8_t> &encoded = jpeg(picture);
        bytes = std::min(encoded.size(), data.size());
        std::copy_n(encoded.begin(), bytes, data.begin());
    } else {
        // Mid grey in YUYV; a picture of another size is another length.
        bytes = std::min(static_cast<size_t>(picture.width) * picture.height * 2, data.size());
        std::fill_n(data.begin(), bytes, uint8_t{0x80});
    }
    auto *buffer = static_cast<v4l2_buffer *>(arg);
    buffer->index = index;
    buffer->bytesused = static_cast<uint32_t>(bytes);
    buffer->length = static_cast<uint32_t>(data.size());
    buffer->flags = V4L2_BUF_FLAG_DONE | V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC;
    buffer->field = V4L2_FIELD_NONE;
    buffer->sequence = sequence_++;
    auto sinceEpoch = now.time_since_epoch();
    buffer->timestamp.tv_sec = std::chrono::duration_cast<std::chrono::seconds>(sinceEpoch).count();
    buffer->timestamp.tv_usec =
        std::chrono::duration_cast<std::chrono::microseconds>(sinceEpoch).count() % 1000000;
    nextFrame_ = now + kFrameInterval;
    return 0;
}

// A mid-grey JPEG of `size`, encoded once per size.
const std::vector<uint8_t> &FakeDongle::jpeg(Size size) {
    auto [entry, inserted] = jpegs_.try_emplace({size.width, size.height});
    if (!inserted)
        return entry->second;
    std::vector<uint8_t> pixels(static_cast<size_t>(size.width) * size.height * 4, 0x80);
    tjhandle handle = tjInitCompress();
    unsigned char *jpeg = nullptr;
    unsigned long length = 0;
    if (handle != nullptr && tjCompress2(handle, pixels.data(), size.width, 0, size.height,
                                         TJPF_BGRX, &jpeg, &length, TJSAMP_422, 80, 0) == 0)
        entry->second.assign(jpeg, jpeg + length);
    tjFree(jpeg);
    if (handle != nullptr)
        tjDestroy(handle);
    return entry->second;
}

}  // namespace kvmvnc::capture
