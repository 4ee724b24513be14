// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "kvmvnc/base/geometry.h"
#include "kvmvnc/capture/edid_mailbox.h"
#include "kvmvnc/capture/frame_source.h"
#include "kvmvnc/capture/jpeg_decoder.h"
#include "kvmvnc/capture/v4l2_device.h"
#include "kvmvnc/capture/v4l2_options.h"

namespace kvmvnc::capture {

// A format and size a V4L2 device is asked for; a size of 0x0 keeps the
// device's (the DV timings', or one a device lists no sizes for).
struct V4l2Mode {
    uint32_t fourcc = 0;
    Size size;
    bool operator==(const V4l2Mode &) const = default;
};

// Captures from a V4L2 device (USB HDMI dongle, TC358743 bridge, vivid).
//
// MMAP streaming with a small ring of buffers; each capture() drains every
// filled buffer and converts only the newest, so a slow consumer sees the
// latest picture rather than a backlog. Bridges with DV timings are probed
// (QUERY_DV_TIMINGS: ENOLINK = no signal, ENOLCK = no sync, ERANGE = out of
// range), applied with S_DV_TIMINGS, and re-probed when
// V4L2_EVENT_SOURCE_CHANGE fires; the stream restarts at the new size. An
// unplugged device (ENODEV, missing node) becomes NoDevice and is reopened
// about once a second until it returns.
//
// Devices without DV timings (USB dongles) list modes, and cheap ones list
// modes they cannot deliver. The modes to try come from what the device
// lists (ENUM_FMT, ENUM_FRAMESIZES): the configured size, or else the
// largest listed, MJPEG before YUYV, then each smaller size, larger first;
// a configured format is the only one tried. A mode that gives no picture
// within V4l2Options::firstFrameTimeout, that the device refuses to stream,
// or that delivers pictures of another size (a few in a row) is left for
// the next, with a status screen saying so; the first that gives a picture
// is kept, and one line logs what was settled on. When every mode failed,
// the status says so and the search starts over, the first mode given
// V4l2Options::retryWait. A kept mode going silent later (the target
// switched off) is a lost signal, not a reason to move on. Bridges with DV
// timings have no such search: the source dictates the mode.
//
// The EDID the mailbox asks for is loaded whenever the device is opened,
// before the first DV timings query (an HDMI bridge without one has no
// signal: the source sees no monitor), and again when a reload asks for
// another; into the video node (VIDIOC_S_EDID on the current input), or,
// when that answers ENOTTY, into the bridge's subdevice of the same media
// device. A device that holds that EDID already is left alone, so that a
// reopen does not make the source see the monitor unplugged and back.
//
// Device nodes are opened through `open` (the kernel's by default; tests
// play a device behind it).
//
// Thread-bound: owned and driven by the capture thread.
class V4l2Capture final : public FrameSource {
public:
    // Without `edid`, the device keeps the EDID it holds.
    explicit V4l2Capture(V4l2Options options, std::shared_ptr<EdidMailbox> edid = nullptr,
                         V4l2Opener open = openV4l2Device);
    ~V4l2Capture() override;

    CaptureResult capture(Frame &frame, std::chrono::milliseconds timeout) override;
    SourceStatus status() const override;
    std::string description() const override;

private:
    using Clock = std::chrono::steady_clock;

    // One mapped V4L2 buffer, unmapped on destruction (before the device
    // that mapped it is closed). Move-only.
    class Mapping {
    public:
        Mapping(V4l2Device &device, void *address, size_t length)
            : device_(&device), address_(address), length_(length) {}
        Mapping(Mapping &&other) noexcept;
        Mapping &operator=(Mapping &&other) noexcept;
        Mapping(const Mapping &) = delete;
        Mapping &operator=(const Mapping &) = delete;
        ~Mapping();

        const uint8_t *data() const { return static_cast<const uint8_t *>(address_); }
        size_t length() const { return length_; }

    private:
        V4l2Device *device_ = nullptr;
        void *address_ = nullptr;
        size_t length_ = 0;
    };

    struct SignalProbe;  // defined in v4l2_capture.cpp

    CaptureResult run(Frame &frame, Clock::time_point deadline);
    CaptureResult noFrame() const;
    void start();
    int openDevice();
    void takeEdidRequest();
    int loadEdid();
    void reportEdid(EdidReport report);
    SignalProbe probeSignal();
    int applyDvTimings(const SignalProbe &probe);
    int configureFormat();
    int listModes(std::span<const uint32_t> offered, std::vector<V4l2Mode> &modes);
    int setFormat(const V4l2Mode &mode);
    bool searching() const;
    std::chrono::milliseconds modeTimeout() const;
    std::string wrongSize(const uint8_t *data, size_t bytes);
    void abandonMode(const std::string &failure, const std::string &past);
    void settle();
    std::string streamText() const;
    void setFrameRate();
    int startStreaming();
    void stopStreaming();
    void closeDevice();
    void restartStream();
    void handleStall(Clock::time_point now);
    void handleEvents();
    void handlePollError();
    enum class Dequeued { Nothing, Frame, Unchanged };
    Dequeued dequeue(Frame &frame);
    int requeue(uint32_t index);
    bool convert(const uint8_t *data, size_t bytes, Frame &frame);
    void fail(const char *operation, int error);
    void giveUp(std::string detail);
    void setStatus(SignalState state, std::string detail);

    V4l2Options options_;
    std::shared_ptr<EdidMailbox> edidMailbox_;
    V4l2Opener open_;
    EdidRequest edidRequest_;   // the EDID setting in force
    bool edidPending_ = false;  // load it at the next start()
    bool holdsNoEdid_ = false;  // the device's EDID is empty: no signal can come
    std::string loggedEdid_;    // the last EDID outcome logged, to log each once
    SourceStatus status_{SignalState::NoDevice, {}};
    std::unique_ptr<V4l2Device> device_;
    JpegDecoder jpeg_;
    // The bytes of the last buffer that became a Frame. A static screen
    // comes from the device as the same bytes again and again (a dongle's
    // JPEG encoder and a raw bridge are deterministic): comparing them
    // (~200 KB of JPEG, 4 MB of 1080p YUYV) is far cheaper than decoding or
    // converting them and then diffing 8 MB of XRGB. Valid while streaming
    // with a picture; cleared when the stream stops or the status changes.
    std::vector<uint8_t> lastBytes_;
    bool haveLastBytes_ = false;

    // The negotiated stream, valid once haveFormat_ is set.
    bool haveFormat_ = false;
    PixelFormat format_ = PixelFormat::Yuyv;
    YuvEncoding yuvEncoding_ = YuvEncoding::Bt601Limited;  // YUYV and UYVY
    int width_ = 0;
    int height_ = 0;
    int stride_ = 0;
    double fps_ = 0;
    Size asked_;  // the size asked for, 0x0 for the device's

    // The search for a mode that delivers (devices without DV timings).
    std::vector<V4l2Mode> modes_;        // to try, best first, as the device last listed them
    size_t modeIndex_ = 0;               // the mode streaming, or to stream next
    bool settled_ = false;               // modes_[modeIndex_] gave a picture
    bool roundFailed_ = false;           // every mode failed; trying them all again
    int wrongSizeFrames_ = 0;            // pictures of another size in a row
    std::vector<std::string> failures_;  // "1920x1080 MJPEG delivered nothing", this round

    // DV timings applied for the current stream (bridges only).
    bool hasDvTimings_ = false;
    uint32_t dvWidth_ = 0;
    uint32_t dvHeight_ = 0;
    uint64_t dvPixelClock_ = 0;

    std::vector<Mapping> buffers_;
    bool ownsQueue_ = false;  // REQBUFS succeeded on fd_
    bool streaming_ = false;
    uint64_t sequence_ = 0;
    bool warnedBadFrame_ = false;  // once per stream
    std::string loggedStream_;

    Clock::time_point nextAttempt_{};  // next open or re-probe while not streaming
    Clock::time_point stallCheck_{};   // no frame by then: look at the signal
    Clock::time_point streamStart_{};
};

// Frames per second of a V4L2 frame interval (numerator/denominator seconds
// per frame, as VIDIOC_G_PARM reports it), or 0 when it gives none: drivers
// that do not fill it in leave 0/0.
double framesPerSecond(uint32_t numerator, uint32_t denominator);

}  // namespace kvmvnc::capture
