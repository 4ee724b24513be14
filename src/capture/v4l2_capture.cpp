// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/capture/v4l2_capture.h"

#include <linux/videodev2.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <optional>
#include <span>
#include <thread>
#include <utility>

#include "kvmvnc/base/log.h"
#include "kvmvnc/capture/media_graph.h"

namespace kvmvnc::capture {

using namespace std::chrono_literals;

namespace {

constexpr auto kReopenInterval = 1s;      // device missing or failing
constexpr auto kReprobeInterval = 250ms;  // open, waiting for a usable signal
constexpr auto kStallTimeout = 2s;        // streaming without a frame
// A stream that stays silent although the device reports a good signal is
// restarted, but not so often that a dongle without input churns.
constexpr auto kStallRestartInterval = 10s;
constexpr auto kMinStreamTime = 200ms;
constexpr int kMinBuffers = 2;
constexpr int kMaxBuffers = 32;
constexpr int kMaxDimension = 16384;
constexpr uint32_t kMaxFormats = 256;    // ENUM_FMT bound against looping drivers
constexpr uint32_t kMaxFrameSizes = 64;  // ENUM_FRAMESIZES, per format
constexpr size_t kMaxModes = 64;         // tried in one search, at most a few seconds each
// Pictures of another size than negotiated, in a row, that make a mode a
// liar; fewer are torn frames and only dropped.
constexpr int kWrongSizeFrames = 3;
constexpr size_t kFailuresLogged = 4;  // in the line that says which mode was settled on
constexpr int kMaxEventsPerPoll = 64;
constexpr uint32_t kMaxEdidBlocks = 256;  // V4L2's limit

std::string errorText(int error) { return std::strerror(error < 0 ? -error : error); }

std::string fourccText(uint32_t fourcc) {
    std::string text;
    for (int shift = 0; shift < 32; shift += 8) {
        char c = static_cast<char>((fourcc >> shift) & 0xff);
        text += (c >= ' ' && c <= '~') ? c : '?';
    }
    return text;
}

// What VIDIOC_QUERY_DV_TIMINGS's result says about the input.
enum class DvQuery { Timings, NotSupported, NoSignal, NoSync, OutOfRange, Failed };

DvQuery classifyDvQuery(int ret) {
    switch (-ret) {
    case 0:
        return DvQuery::Timings;
    case ENOTTY:   // the driver has no DV timings (USB dongles, webcams)
    case ENODATA:  // not for this input
        return DvQuery::NotSupported;
    case ENOLINK:
        return DvQuery::NoSignal;
    case ENOLCK:
        return DvQuery::NoSync;
    case ERANGE:
        return DvQuery::OutOfRange;
    default:
        return DvQuery::Failed;
    }
}

// The status bits of VIDIOC_ENUMINPUT that explain a missing picture. No
// power means nothing is plugged in, so it outranks the others.
std::optional<SignalState> signalStateForInputStatus(uint32_t status) {
    if (status & V4L2_IN_ST_NO_POWER)
        return SignalState::NoCable;
    if (status & V4L2_IN_ST_NO_SIGNAL)
        return SignalState::NoSignal;
    if (status & (V4L2_IN_ST_NO_SYNC | V4L2_IN_ST_NO_H_LOCK | V4L2_IN_ST_NO_V_LOCK))
        return SignalState::NoSync;
    return std::nullopt;
}

// An unplugged device answers every call on an open descriptor with ENODEV.
SignalState signalStateForDeviceError(int error) {
    return error == -ENODEV || error == -ENXIO ? SignalState::NoDevice : SignalState::DeviceError;
}

const char *signalExplanation(SignalState state) {
    switch (state) {
    case SignalState::NoSignal:
        return "no video on the input";
    case SignalState::NoSync:
        return "cannot lock to the video signal";
    case SignalState::OutOfRange:
        return "video timings out of range";
    case SignalState::NoCable:
        return "nothing connected to the input";
    default:
        return "no picture";
    }
}

// A format a device without DV timings offers, with the sizes it lists.
struct ListedFormat {
    uint32_t fourcc = 0;
    std::vector<Size> sizes;  // discrete sizes; empty: any size (a range, or no list)
};

bool listsSize(const ListedFormat &format, Size size) {
    return format.sizes.empty() ||
           std::find(format.sizes.begin(), format.sizes.end(), size) != format.sizes.end();
}

// The modes to try on a device without DV timings, best first: the
// configured size (or else the largest listed) in each format that lists it,
// by preference, then every smaller listed size that fits in it, larger
// first, likewise. `formats` come by preference. A configured size that no
// format lists is asked of the preferred format (the driver settles on its
// nearest size, as it always did). With `fallback` off, only the first.
std::vector<V4l2Mode> orderModes(const std::vector<ListedFormat> &formats, Size wanted,
                                 bool fallback) {
    std::vector<Size> sizes;
    for (const ListedFormat &format : formats) {
        for (Size size : format.sizes) {
            const bool fits =
                wanted.isEmpty() || (size.width <= wanted.width && size.height <= wanted.height);
            if (fits && std::find(sizes.begin(), sizes.end(), size) == sizes.end())
                sizes.push_back(size);
        }
    }
    std::stable_sort(sizes.begin(), sizes.end(), [](Size a, Size b) {
        const int64_t areaA = static_cast<int64_t>(a.width) * a.height;
        const int64_t areaB = static_cast<int64_t>(b.width) * b.height;
        return areaA != areaB ? areaA > areaB : a.width > b.width;
    });
    // 0x0 (nothing configured, nothing listed) keeps the device's size.
    const Size first = !wanted.isEmpty() ? wanted : sizes.empty() ? Size{} : sizes.front();
    if (sizes.empty() || sizes.front() != first)
        sizes.insert(sizes.begin(), first);

    std::vector<V4l2Mode> modes;
    for (size_t index = 0; index < sizes.size() && modes.size() < kMaxModes; ++index) {
        const Size size = sizes[index];
        const size_t before = modes.size();
        for (const ListedFormat &format : formats) {
            if (listsSize(format, size) && modes.size() < kMaxModes)
                modes.push_back({format.fourcc, size});
        }
        if (modes.size() == before && index == 0 && !formats.empty())
            modes.push_back({formats.front().fourcc, size});
    }
    if (!fallback && modes.size() > 1)
        modes.resize(1);
    return modes;
}

// "1920x1080 MJPEG"; "MJPEG" for a mode that keeps the device's size.
std::string modeText(uint32_t fourcc, Size size) {
    std::optional<PixelFormat> format = fromFourcc(fourcc);
    std::string name = format ? pixelFormatName(*format) : fourccText(fourcc);
    if (size.isEmpty())
        return name;
    return std::to_string(size.width) + "x" + std::to_string(size.height) + " " + name;
}

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

// The EDID `device` holds on `pad`: 0 with `bytes` (empty when it holds
// none), or -errno (ENOTTY: the node takes no EDID; EINVAL: not on this pad).
int readEdid(V4l2Device &device, uint32_t pad, std::vector<uint8_t> &bytes) {
    bytes.clear();
    v4l2_edid edid{};
    edid.pad = pad;
    // No blocks asked for: the driver says how many it holds.
    if (int ret = device.ioctl(VIDIOC_G_EDID, &edid); ret < 0)
        return ret;
    const uint32_t blocks = std::min(edid.blocks, kMaxEdidBlocks);
    if (blocks == 0)
        return 0;
    bytes.resize(blocks * Edid::kBlockSize);
    edid = {};
    edid.pad = pad;
    edid.blocks = blocks;
    edid.edid = bytes.data();
    int ret = device.ioctl(VIDIOC_G_EDID, &edid);
    if (ret < 0) {
        bytes.clear();
        return ret == -ENODATA ? 0 : ret;
    }
    bytes.resize(std::min(edid.blocks, blocks) * Edid::kBlockSize);
    return 0;
}

// "kvmvnc's default EDID", "the EDID from /etc/kvmvnc/my.hex".
std::string edidName(const EdidRequest &request) {
    return request.setting == "default" ? "kvmvnc's default EDID"
                                        : "the EDID from " + request.setting;
}

// "monitor kvmvnc, 1920x1080 at 60 Hz preferred" for a log line.
std::string edidSummary(const std::vector<uint8_t> &bytes) {
    std::string error;
    std::optional<Edid> edid = Edid::parse(bytes, error);
    if (!edid)
        return "not a valid EDID: " + error;
    std::string name = edid->monitorName();
    std::string summary = "monitor " + (name.empty() ? std::string("without a name") : name);
    std::vector<EdidMode> modes = edid->modes();
    if (!modes.empty() && modes.front().preferred)
        summary += ", " + edidModeText(modes.front()) + " preferred";
    return summary;
}

}  // namespace

// Why the input can or cannot stream right now.
struct V4l2Capture::SignalProbe {
    int error = 0;                        // -errno of a failed ioctl; the rest is then unset
    const char *operation = nullptr;      // that ioctl
    bool streamable = true;               // false: DV timings say there is nothing to capture
    SignalState state = SignalState::Ok;  // the best explanation of a missing picture
    std::string detail;
    bool dv = false;  // the input has DV timings; `timings` holds them when streamable
    v4l2_dv_timings timings{};
};

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

V4l2Capture::V4l2Capture(V4l2Options options, std::shared_ptr<EdidMailbox> edid, V4l2Opener open)
    : options_(std::move(options)), edidMailbox_(std::move(edid)), open_(std::move(open)) {}

V4l2Capture::~V4l2Capture() { closeDevice(); }

SourceStatus V4l2Capture::status() const { return status_; }

std::string V4l2Capture::description() const {
    std::string text = "v4l2 " + options_.device;
    if (haveFormat_) {
        text += ' ';
        text += pixelFormatName(format_);
        text += ' ' + std::to_string(width_) + 'x' + std::to_string(height_);
        if (bytesPerPixel(format_) == 2)
            text += std::string(" ") + yuvEncodingName(yuvEncoding_);
    }
    return text;
}

CaptureResult V4l2Capture::capture(Frame &frame, std::chrono::milliseconds timeout) {
    Clock::time_point deadline = Clock::now() + std::max(timeout, 0ms);
    try {
        return run(frame, deadline);
    } catch (const std::exception &e) {
        // Only allocations throw on this path. Start over from scratch rather
        // than let the capture thread die.
        closeDevice();
        nextAttempt_ = Clock::now() + kReopenInterval;
        setStatus(SignalState::DeviceError, options_.device + ": " + e.what());
        std::this_thread::sleep_until(deadline);
        return CaptureResult::Unavailable;
    }
}

CaptureResult V4l2Capture::noFrame() const {
    return status_.state == SignalState::Ok ? CaptureResult::Timeout : CaptureResult::Unavailable;
}

CaptureResult V4l2Capture::run(Frame &frame, Clock::time_point deadline) {
    takeEdidRequest();
    for (;;) {
        Clock::time_point now = Clock::now();
        if (!streaming_) {
            if (now >= nextAttempt_) {
                start();
                if (streaming_)
                    continue;
            }
            Clock::time_point wake = std::min(deadline, nextAttempt_);
            if (now >= deadline)
                return noFrame();
            std::this_thread::sleep_until(wake);
            continue;
        }

        if (now >= stallCheck_) {
            handleStall(now);
            continue;
        }
        // Poll at least once, even with a zero timeout, so a ready frame is
        // never missed.
        auto wait = std::chrono::ceil<std::chrono::milliseconds>(
            std::max(std::min(deadline, stallCheck_) - now, Clock::duration::zero()));
        int revents = device_->poll(POLLIN | POLLPRI, wait);
        if (revents < 0) {
            fail("poll", revents);
            continue;
        }
        if (revents > 0) {
            if (revents & POLLPRI)
                handleEvents();
            if (streaming_ && (revents & POLLIN)) {
                switch (dequeue(frame)) {
                case Dequeued::Frame:
                    return CaptureResult::Frame;
                case Dequeued::Unchanged:
                    return CaptureResult::Unchanged;
                case Dequeued::Nothing:
                    break;
                }
            } else if (streaming_ && (revents & (POLLERR | POLLHUP | POLLNVAL))) {
                handlePollError();
            }
        }
        if (Clock::now() >= deadline)
            return noFrame();
    }
}

// Opens the device if needed, checks the signal and starts streaming. On
// failure the status says why and nextAttempt_ says when to try again.
void V4l2Capture::start() {
    Clock::time_point now = Clock::now();
    if (!device_) {
        nextAttempt_ = now + kReopenInterval;
        if (openDevice() < 0)
            return;
    }
    nextAttempt_ = now + kReprobeInterval;
    // Before the signal is probed: without an EDID there is none.
    if (edidPending_ && loadEdid() < 0)
        return;

    SignalProbe probe = probeSignal();
    if (probe.error < 0) {
        fail(probe.operation, probe.error);
        return;
    }
    if (!probe.streamable) {
        setStatus(probe.state, std::move(probe.detail));
        return;
    }
    if (applyDvTimings(probe) < 0 || configureFormat() < 0)
        return;
    if (int ret = startStreaming(); ret < 0) {
        // A mode the device lists but will not stream (uvcvideo: ENOSPC, the
        // bus cannot carry it) delivers nothing either.
        if (ret != -ENODEV && searching())
            abandonMode("refuses " + streamText() + " (" + errorText(ret) + ")",
                        streamText() + " was refused (" + errorText(ret) + ")");
        return;
    }

    streaming_ = true;
    streamStart_ = now;
    stallCheck_ = now + (searching() ? modeTimeout() : kStallTimeout);
    wrongSizeFrames_ = 0;
    warnedBadFrame_ = false;
    // A signal problem stays on screen until a frame proves it gone; the
    // device being back is proven by having got this far.
    if (status_.state == SignalState::NoDevice)
        setStatus(SignalState::Ok, {});

    std::string stream = description();
    if (stream == loggedStream_) {
        LOG_DEBUG("capture", "restarted %s", stream.c_str());
    } else if (modeIndex_ > 0 || roundFailed_) {
        // The modes a search goes through are logged by the line that says
        // which one it settled on.
        LOG_DEBUG("capture", "trying %s", stream.c_str());
    } else {
        if (fps_ > 0)
            LOG_INFO("capture", "streaming %s at %.3g fps", stream.c_str(), fps_);
        else
            LOG_INFO("capture", "streaming %s", stream.c_str());
        if ((asked_.width > 0 && asked_.width != width_) ||
            (asked_.height > 0 && asked_.height != height_))
            LOG_WARN("capture", "%s: asked for %dx%d, the device chose %dx%d",
                     options_.device.c_str(), asked_.width, asked_.height, width_, height_);
        loggedStream_ = std::move(stream);
    }
}

int V4l2Capture::openDevice() {
    int error = 0;
    device_ = open_(options_.device, error);
    if (!device_) {
        setStatus(SignalState::NoDevice, options_.device + ": " + errorText(error));
        reportEdid({EdidReport::State::Unknown,
                    edidRequest_.setting,
                    options_.device,
                    status_.detail,
                    {}});
        return error;
    }

    v4l2_capability caps{};
    if (int ret = device_->ioctl(VIDIOC_QUERYCAP, &caps); ret < 0) {
        fail("VIDIOC_QUERYCAP", ret);
        return ret;
    }
    uint32_t deviceCaps =
        (caps.capabilities & V4L2_CAP_DEVICE_CAPS) ? caps.device_caps : caps.capabilities;
    if (!(deviceCaps & V4L2_CAP_VIDEO_CAPTURE) || !(deviceCaps & V4L2_CAP_STREAMING)) {
        giveUp(options_.device + ": not a streaming video capture device");
        return -ENODEV;
    }
    if (options_.input >= 0) {
        int input = options_.input;
        if (int ret = device_->ioctl(VIDIOC_S_INPUT, &input); ret < 0) {
            fail("VIDIOC_S_INPUT", ret);
            return ret;
        }
    }
    // Bridges announce resolution changes and signal loss this way; drivers
    // without the event answer EINVAL or ENOTTY, and the stall check covers
    // them instead. The event is per input: subscribe to the one in use
    // (vivid's HDMI input is number 3).
    int currentInput = 0;
    if (device_->ioctl(VIDIOC_G_INPUT, &currentInput) < 0)
        currentInput = 0;
    v4l2_event_subscription subscription{};
    subscription.type = V4L2_EVENT_SOURCE_CHANGE;
    subscription.id = static_cast<uint32_t>(currentInput);
    if (int ret = device_->ioctl(VIDIOC_SUBSCRIBE_EVENT, &subscription); ret == -ENODEV) {
        fail("VIDIOC_SUBSCRIBE_EVENT", ret);
        return ret;
    }

    if (status_.state == SignalState::NoDevice) {
        LOG_INFO("capture", "%s: %.32s (driver %.16s, %.32s)", options_.device.c_str(),
                 reinterpret_cast<const char *>(caps.card),
                 reinterpret_cast<const char *>(caps.driver),
                 reinterpret_cast<const char *>(caps.bus_info));
        loggedEdid_.clear();  // a device that reappears has its EDID logged again
    }
    // Every time: a device that was unplugged (or a bridge that lost power)
    // may have lost its EDID.
    edidPending_ = true;
    return 0;
}

// A new EDID setting from a reload. vivid refuses a new EDID while buffers
// are allocated (EBUSY), and the source re-reads it anyway, so the stream
// starts again after it.
void V4l2Capture::takeEdidRequest() {
    if (!edidMailbox_)
        return;
    std::optional<EdidRequest> request = edidMailbox_->take();
    if (!request)
        return;
    edidRequest_ = std::move(*request);
    edidPending_ = true;
    loggedEdid_.clear();
    if (device_) {  // a reload; at start the device is not open yet
        LOG_INFO("capture", "%s: [capture] edid is now %s", options_.device.c_str(),
                 edidRequest_.setting.c_str());
        stopStreaming();
        nextAttempt_ = Clock::now();
    }
}

// Loads edidRequest_ into the device, or with `keep` reads what it holds,
// and reports the outcome to the mailbox. A device without EDIDs, or one
// that refuses this one, is logged (each outcome once) and captured
// anyway. Negative only when the device is gone (fail() has run).
int V4l2Capture::loadEdid() {
    EdidReport report;
    report.setting = edidRequest_.setting;
    report.node = options_.device;
    auto logOnce = [this](log::Level level, const std::string &text) {
        if (text == loggedEdid_)
            return;
        KVM_LOG(level, "capture", "%s", text.c_str());
        loggedEdid_ = text;
    };

    // On a video node the EDID's pad is the input's index.
    int input = options_.input;
    if (input < 0 && device_->ioctl(VIDIOC_G_INPUT, &input) < 0)
        input = 0;
    V4l2Device *device = device_.get();
    uint32_t pad = static_cast<uint32_t>(input);
    std::string where = options_.device + " input " + std::to_string(input);
    std::vector<uint8_t> held;
    int ret = readEdid(*device, pad, held);
    std::unique_ptr<V4l2Device> subdevice;
    if (ret == -ENOTTY) {
        for (const std::string &node : edidSubdevicesOf(options_.device)) {
            int openError = 0;
            std::unique_ptr<V4l2Device> candidate = open_(node, openError);
            if (!candidate)
                continue;
            const int subRet = readEdid(*candidate, 0, held);
            if (subRet == -ENOTTY)
                continue;
            ret = subRet;
            subdevice = std::move(candidate);
            device = subdevice.get();
            pad = 0;
            report.node = node;
            where = node;
            break;
        }
    }
    if (ret == -ENODEV) {
        fail("VIDIOC_G_EDID", ret);
        return ret;
    }
    edidPending_ = false;
    holdsNoEdid_ = false;
    if (ret == -ENOTTY || ret == -EINVAL) {
        report.state = EdidReport::State::Unsupported;
        report.detail =
            ret == -ENOTTY
                ? options_.device + " takes no EDID (USB capture dongles show the target their own)"
                : where + " has no EDID (not an HDMI input)";
        logOnce(log::Level::Info, report.detail + "; [capture] edid does nothing here");
        reportEdid(std::move(report));
        return 0;
    }
    if (ret < 0) {
        report.state = EdidReport::State::Failed;
        report.detail = where + ": VIDIOC_G_EDID: " + errorText(ret);
        logOnce(log::Level::Warning, report.detail);
        reportEdid(std::move(report));
        return 0;
    }

    if (!edidRequest_.edid) {
        holdsNoEdid_ = held.empty();
        report.state = held.empty() ? EdidReport::State::Empty : EdidReport::State::Present;
        if (held.empty())
            logOnce(log::Level::Warning,
                    where +
                        " holds no EDID and [capture] edid = keep: the target sees no "
                        "monitor and sends no picture");
        else
            logOnce(log::Level::Info,
                    where + " keeps the EDID it holds (" + edidSummary(held) + ")");
        report.bytes = std::move(held);
        reportEdid(std::move(report));
        return 0;
    }

    const std::vector<uint8_t> &wanted = edidRequest_.edid->bytes();
    if (edidRequest_.edid->matchesReadBack(held)) {
        // Loading it again would make the source see the monitor unplugged.
        logOnce(log::Level::Info,
                where + " holds " + edidName(edidRequest_) + " (" + edidSummary(held) + ")");
    } else {
        std::vector<uint8_t> bytes = wanted;
        v4l2_edid edid{};
        edid.pad = pad;
        edid.blocks = static_cast<uint32_t>(bytes.size() / Edid::kBlockSize);
        edid.edid = bytes.data();
        ret = device->ioctl(VIDIOC_S_EDID, &edid);
        if (ret == -ENODEV) {
            fail("VIDIOC_S_EDID", ret);
            return ret;
        }
        if (ret < 0) {
            holdsNoEdid_ = held.empty();
            report.state = EdidReport::State::Failed;
            report.bytes = std::move(held);
            if (ret == -E2BIG) {
                report.detail = where + " takes at most " + std::to_string(edid.blocks) +
                                " blocks (" + std::to_string(edid.blocks * Edid::kBlockSize) +
                                " bytes); " + edidName(edidRequest_) + " has " +
                                std::to_string(bytes.size());
            } else if (ret == -EINVAL) {
                report.detail = where + " refused " + edidName(edidRequest_) +
                                " (VIDIOC_S_EDID: " + errorText(ret) +
                                ": a size or content it does not take)";
            } else if (ret == -EBUSY) {
                // Another program has buffers on the device; try again.
                edidPending_ = true;
                report.detail = where + " is busy (another program captures from it?); " +
                                edidName(edidRequest_) + " is not loaded yet";
            } else {
                report.detail = where + ": VIDIOC_S_EDID: " + errorText(ret);
            }
            logOnce(log::Level::Error, report.detail);
            reportEdid(std::move(report));
            return 0;
        }
        // What the device holds now, as it says.
        if (readEdid(*device, pad, held) < 0 || held.empty())
            held = wanted;
        logOnce(log::Level::Info, "loaded " + edidName(edidRequest_) + " into " + where + " (" +
                                      edidSummary(held) + ")");
    }
    report.state = EdidReport::State::Present;
    report.bytes = std::move(held);
    reportEdid(std::move(report));
    return 0;
}

void V4l2Capture::reportEdid(EdidReport report) {
    if (edidMailbox_)
        edidMailbox_->report(std::move(report));
}

V4l2Capture::SignalProbe V4l2Capture::probeSignal() {
    SignalProbe probe;
    int ret = device_->ioctl(VIDIOC_QUERY_DV_TIMINGS, &probe.timings);
    DvQuery dv = classifyDvQuery(ret);
    switch (dv) {
    case DvQuery::Failed:
        probe.error = ret;
        probe.operation = "VIDIOC_QUERY_DV_TIMINGS";
        return probe;
    case DvQuery::NotSupported:
        break;
    case DvQuery::Timings:
        probe.dv = true;
        if (probe.timings.type != V4L2_DV_BT_656_1120 || probe.timings.bt.width == 0 ||
            probe.timings.bt.height == 0) {
            probe.streamable = false;
            probe.state = SignalState::OutOfRange;
        }
        break;
    case DvQuery::NoSignal:
    case DvQuery::NoSync:
    case DvQuery::OutOfRange:
        probe.dv = true;
        probe.streamable = false;
        probe.state = dv == DvQuery::NoSignal ? SignalState::NoSignal
                      : dv == DvQuery::NoSync ? SignalState::NoSync
                                              : SignalState::OutOfRange;
        break;
    }

    // The input's status bits: NoCable refines "no signal", and devices
    // without DV timings have nothing else to say.
    int index = 0;
    ret = device_->ioctl(VIDIOC_G_INPUT, &index);
    if (ret == 0 || ret == -ENOTTY) {
        v4l2_input input{};
        input.index = static_cast<uint32_t>(index);
        ret = device_->ioctl(VIDIOC_ENUMINPUT, &input);
        if (ret == 0) {
            std::optional<SignalState> state = signalStateForInputStatus(input.status);
            if (state && (probe.state == SignalState::Ok || state == SignalState::NoCable))
                probe.state = *state;
        }
    }
    if (ret == -ENODEV) {
        probe.error = ret;
        probe.operation = "VIDIOC_ENUMINPUT";
        return probe;
    }
    if (probe.state == SignalState::NoSignal && holdsNoEdid_)
        probe.detail =
            options_.device + " holds no EDID: the target sees no monitor ([capture] edid)";
    else if (probe.state != SignalState::Ok)
        probe.detail = options_.device + ": " + signalExplanation(probe.state);
    return probe;
}

int V4l2Capture::applyDvTimings(const SignalProbe &probe) {
    hasDvTimings_ = probe.dv;
    if (!probe.dv)
        return 0;
    // The bridge does not switch to the timings it detected by itself; the
    // format follows the applied timings.
    v4l2_dv_timings timings = probe.timings;
    if (int ret = device_->ioctl(VIDIOC_S_DV_TIMINGS, &timings); ret < 0) {
        fail("VIDIOC_S_DV_TIMINGS", ret);
        return ret;
    }
    dvWidth_ = probe.timings.bt.width;
    dvHeight_ = probe.timings.bt.height;
    dvPixelClock_ = probe.timings.bt.pixelclock;
    return 0;
}

int V4l2Capture::configureFormat() {
    std::vector<uint32_t> offered;
    for (uint32_t index = 0; index < kMaxFormats; ++index) {
        v4l2_fmtdesc desc{};
        desc.index = index;
        desc.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
        int ret = device_->ioctl(VIDIOC_ENUM_FMT, &desc);
        if (ret == -EINVAL)
            break;  // end of the list
        if (ret < 0) {
            fail("VIDIOC_ENUM_FMT", ret);
            return ret;
        }
        offered.push_back(desc.pixelformat);
    }

    auto offersNothing = [&] {
        std::string list;
        for (uint32_t entry : offered)
            list += (list.empty() ? "" : ", ") + fourccText(entry);
        giveUp(options_.device + ": " +
               (options_.format ? std::string("does not offer ") + pixelFormatName(*options_.format)
                                : std::string("offers no supported pixel format")) +
               " (offers " + (list.empty() ? "none" : list) + ")");
        return -EINVAL;
    };

    if (hasDvTimings_) {
        // The source dictates the mode: the size follows the DV timings
        // just applied, and there is nothing to search.
        std::optional<uint32_t> fourcc = chooseCaptureFourcc(offered, true, options_.format);
        if (!fourcc)
            return offersNothing();
        return setFormat({*fourcc, {options_.width, options_.height}});
    }

    std::vector<V4l2Mode> modes;
    if (int ret = listModes(offered, modes); ret < 0)
        return ret;
    if (modes.empty())
        return offersNothing();
    if (modes != modes_) {
        // The first look at this device, or another device on the node.
        modes_ = std::move(modes);
        modeIndex_ = 0;
        settled_ = false;
        roundFailed_ = false;
        failures_.clear();
    }
    return setFormat(modes_[modeIndex_]);
}

// ENUM_FRAMESIZES for each format a device without DV timings may be asked
// for, and the modes to try in order.
int V4l2Capture::listModes(std::span<const uint32_t> offered, std::vector<V4l2Mode> &modes) {
    std::vector<ListedFormat> formats;
    for (PixelFormat preferred : captureFormatOrder(false)) {
        if (options_.format && *options_.format != preferred)
            continue;
        std::optional<uint32_t> fourcc = findFourcc(offered, preferred);
        if (!fourcc)
            continue;
        ListedFormat format{*fourcc, {}};
        for (uint32_t index = 0; index < kMaxFrameSizes; ++index) {
            v4l2_frmsizeenum size{};
            size.index = index;
            size.pixel_format = *fourcc;
            int ret = device_->ioctl(VIDIOC_ENUM_FRAMESIZES, &size);
            if (ret == -ENODEV) {
                fail("VIDIOC_ENUM_FRAMESIZES", ret);
                return ret;
            }
            // The end of the list, no list at all, or a range: a range takes
            // any size (within it), so there is nothing to pick from.
            if (ret < 0 || size.type != V4L2_FRMSIZE_TYPE_DISCRETE) {
                if (ret == 0)
                    format.sizes.clear();
                break;
            }
            const uint32_t width = size.discrete.width;
            const uint32_t height = size.discrete.height;
            if (width > 0 && height > 0 && width <= kMaxDimension && height <= kMaxDimension)
                format.sizes.push_back({static_cast<int>(width), static_cast<int>(height)});
        }
        formats.push_back(std::move(format));
    }
    modes = orderModes(formats, {options_.width, options_.height},
                       options_.firstFrameTimeout > std::chrono::milliseconds::zero());
    return 0;
}

// Asks the device for `mode` and takes what it settles on.
int V4l2Capture::setFormat(const V4l2Mode &mode) {
    const uint32_t fourcc = mode.fourcc;
    asked_ = mode.size;
    // Start from the current format so a size of 0 keeps what the device
    // (or the DV timings just applied) has.
    v4l2_format format{};
    format.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    if (int ret = device_->ioctl(VIDIOC_G_FMT, &format); ret < 0) {
        fail("VIDIOC_G_FMT", ret);
        return ret;
    }
    v4l2_pix_format &pix = format.fmt.pix;
    pix.pixelformat = fourcc;
    if (mode.size.width > 0)
        pix.width = static_cast<uint32_t>(mode.size.width);
    if (mode.size.height > 0)
        pix.height = static_cast<uint32_t>(mode.size.height);
    pix.field = V4L2_FIELD_ANY;
    pix.bytesperline = 0;  // the driver's choice
    pix.sizeimage = 0;
    if (int ret = device_->ioctl(VIDIOC_S_FMT, &format); ret < 0) {
        fail("VIDIOC_S_FMT", ret);
        return ret;
    }

    // Drivers adjust what they cannot do; take only what we can convert.
    std::optional<PixelFormat> chosen = fromFourcc(pix.pixelformat);
    if (!chosen || chosen != fromFourcc(fourcc)) {
        giveUp(options_.device + ": asked for " + fourccText(fourcc) + ", the driver set " +
               fourccText(pix.pixelformat));
        return -EINVAL;
    }
    if (pix.width == 0 || pix.height == 0 || pix.width > kMaxDimension ||
        pix.height > kMaxDimension) {
        giveUp(options_.device + ": unusable frame size " + std::to_string(pix.width) + "x" +
               std::to_string(pix.height));
        return -EINVAL;
    }
    format_ = *chosen;
    // The colorimetry fields past `priv` are valid only with the magic set
    // (the V4L2 core sets it for every driver since Linux 3.16).
    if (pix.priv == V4L2_PIX_FMT_PRIV_MAGIC)
        yuvEncoding_ = yuvEncodingFor(pix.colorspace, pix.ycbcr_enc, pix.quantization);
    else
        yuvEncoding_ = yuvEncodingFor(pix.colorspace, 0, 0);
    width_ = static_cast<int>(pix.width);
    height_ = static_cast<int>(pix.height);
    // Rows may be padded (the driver's bytesperline); a driver reporting less
    // than a row is wrong, and a short buffer is caught per frame.
    int rowBytes = width_ * bytesPerPixel(format_);
    stride_ = std::max(rowBytes,
                       static_cast<int>(std::min<uint32_t>(pix.bytesperline, kMaxDimension * 4)));
    haveFormat_ = true;

    setFrameRate();
    return 0;
}

// Frame rate is a wish, not a requirement: a device that cannot set it
// streams at its default.
void V4l2Capture::setFrameRate() {
    v4l2_streamparm parm{};
    parm.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    if (options_.fps > 0) {
        parm.parm.capture.timeperframe.numerator = 1;
        parm.parm.capture.timeperframe.denominator = static_cast<uint32_t>(options_.fps);
        int ret = device_->ioctl(VIDIOC_S_PARM, &parm);
        if (ret < 0)
            LOG_DEBUG("capture", "%s: VIDIOC_S_PARM: %s", options_.device.c_str(),
                      errorText(ret).c_str());
    }
    fps_ = 0;
    v4l2_streamparm current{};
    current.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    if (device_->ioctl(VIDIOC_G_PARM, &current) == 0) {
        const v4l2_fract &interval = current.parm.capture.timeperframe;
        fps_ = framesPerSecond(interval.numerator, interval.denominator);
    }
}

double framesPerSecond(uint32_t numerator, uint32_t denominator) {
    if (numerator == 0 || denominator == 0)
        return 0;
    return static_cast<double>(denominator) / numerator;
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

void V4l2Capture::closeDevice() {
    stopStreaming();
    device_.reset();
    hasDvTimings_ = false;
    haveFormat_ = false;
}

// A driver firing SOURCE_CHANGE in a loop must not make us spin through
// REQBUFS/mmap/STREAMON, hence the minimum run time of a stream.
void V4l2Capture::restartStream() {
    stopStreaming();
    nextAttempt_ = std::max(Clock::now(), streamStart_ + kMinStreamTime);
}

// No frame for kStallTimeout: find out why and say so.
void V4l2Capture::handleStall(Clock::time_point now) {
    stallCheck_ = now + kStallTimeout;
    SignalProbe probe = probeSignal();
    if (probe.error < 0) {
        fail(probe.operation, probe.error);
        return;
    }
    if (probe.state != SignalState::Ok) {
        setStatus(probe.state, std::move(probe.detail));
        // DV timings going bad means the stream is dead; re-probe until they
        // come back. Other devices resume by themselves when the signal does.
        if (!probe.streamable) {
            stopStreaming();
            nextAttempt_ = now + kReprobeInterval;
        }
        return;
    }
    // New timings without a SOURCE_CHANGE event (not every bridge sends it).
    if (probe.dv && hasDvTimings_ &&
        (probe.timings.bt.width != dvWidth_ || probe.timings.bt.height != dvHeight_ ||
         probe.timings.bt.pixelclock != dvPixelClock_)) {
        LOG_INFO("capture", "%s: DV timings changed to %ux%u, restarting", options_.device.c_str(),
                 probe.timings.bt.width, probe.timings.bt.height);
        restartStream();
        return;
    }
    if (searching()) {
        abandonMode("delivers no frames in " + streamText(), streamText() + " delivered nothing");
        return;
    }
    setStatus(SignalState::NoSignal, options_.device + ": no frames from the device");
    if (now - streamStart_ >= kStallRestartInterval)
        restartStream();
}

// Another mode may be tried: the device has no DV timings, lists more than
// one mode, and the one streaming has not given a picture yet.
bool V4l2Capture::searching() const { return !hasDvTimings_ && !settled_ && modes_.size() > 1; }

// How long the mode streaming now may take to give its first picture.
std::chrono::milliseconds V4l2Capture::modeTimeout() const {
    return roundFailed_ && modeIndex_ == 0 ? options_.retryWait : options_.firstFrameTimeout;
}

// The mode streaming (or refusing to) gives no picture: `failure` says how
// on the status screen ("delivers no frames in 1920x1080 MJPEG"), `past` in
// the line that ends the search ("1920x1080 MJPEG delivered nothing"). On to
// the next mode, or after the last, back to the first with the status
// saying that every mode failed.
void V4l2Capture::abandonMode(const std::string &failure, const std::string &past) {
    if (failures_.size() < modes_.size())
        failures_.push_back(past);
    stopStreaming();
    settled_ = false;
    wrongSizeFrames_ = 0;
    // The next mode at once: a mode is left only after its timeout or a few
    // pictures, so this cannot spin. A refused one has had its device
    // closed by fail(), which set when to open it again.
    if (device_)
        nextAttempt_ = Clock::now();
    if (++modeIndex_ >= modes_.size()) {
        modeIndex_ = 0;
        roundFailed_ = true;
        failures_.clear();
    }
    // Once every mode failed, the screen keeps saying so while they are
    // tried again, rather than changing with each.
    if (roundFailed_)
        setStatus(SignalState::NoSignal, "capture device delivers no usable frames in any of its " +
                                             std::to_string(modes_.size()) +
                                             " modes; trying them again");
    else
        setStatus(SignalState::NoSignal,
                  "capture device " + failure + ", trying " +
                      modeText(modes_[modeIndex_].fourcc, modes_[modeIndex_].size));
}

// The mode streaming gave its first picture: it is kept. After a search, one
// line says which mode it is and why the better ones were left.
void V4l2Capture::settle() {
    settled_ = true;
    if (failures_.empty() && !roundFailed_)
        return;
    std::string after;
    for (size_t index = 0; index < failures_.size() && index < kFailuresLogged; ++index)
        after += (index == 0 ? "" : ", ") + failures_[index];
    if (failures_.size() > kFailuresLogged)
        after += " and " + std::to_string(failures_.size() - kFailuresLogged) + " more";
    if (after.empty())
        after = "every mode had failed";
    std::string rate;
    if (fps_ > 0) {
        char text[32];
        std::snprintf(text, sizeof text, " at %.3g fps", fps_);
        rate = text;
    }
    LOG_INFO("capture", "%s: settled on %s%s after %s", options_.device.c_str(),
             streamText().c_str(), rate.c_str(), after.c_str());
    loggedStream_ = description();
    failures_.clear();
    roundFailed_ = false;
    // The line above says that frames come again.
    status_ = {};
}

// "1920x1080 MJPEG", the stream as negotiated.
std::string V4l2Capture::streamText() const {
    return modeText(toFourcc(format_), {width_, height_});
}

// Empty when the picture in `data` has the negotiated size, else what it
// has instead ("1280x720 frames", "frames of 1843200 bytes"). A JPEG whose
// header cannot be read is left to convert(), which drops it.
std::string V4l2Capture::wrongSize(const uint8_t *data, size_t bytes) {
    if (format_ == PixelFormat::Mjpeg) {
        std::optional<Size> size = jpeg_.pictureSize(data, bytes);
        if (!size || *size == Size{width_, height_})
            return {};
        return std::to_string(size->width) + "x" + std::to_string(size->height) + " frames";
    }
    const size_t needed = static_cast<size_t>(stride_) * static_cast<size_t>(height_ - 1) +
                          static_cast<size_t>(width_) * bytesPerPixel(format_);
    if (bytes >= needed)
        return {};
    return "frames of " + std::to_string(bytes) + " bytes";
}

void V4l2Capture::handleEvents() {
    bool sourceChanged = false;
    for (int count = 0; count < kMaxEventsPerPoll; ++count) {
        v4l2_event event{};
        int ret = device_->ioctl(VIDIOC_DQEVENT, &event);
        if (ret == -ENOENT)
            break;  // none left
        if (ret < 0) {
            fail("VIDIOC_DQEVENT", ret);
            return;
        }
        if (event.type == V4L2_EVENT_SOURCE_CHANGE)
            sourceChanged = true;
        if (event.pending == 0)
            break;
    }
    if (sourceChanged) {
        // Frames still queued are of the old source; drop them with the stream.
        LOG_INFO("capture", "%s: source changed, restarting", options_.device.c_str());
        restartStream();
    }
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

// A failed call: ENODEV means the device was unplugged, anything else that it
// misbehaves. Either way start again from open() after kReopenInterval.
void V4l2Capture::fail(const char *operation, int error) {
    closeDevice();
    nextAttempt_ = Clock::now() + kReopenInterval;
    SignalState state = signalStateForDeviceError(error);
    std::string detail = options_.device + ": ";
    if (state != SignalState::NoDevice)
        detail += std::string(operation) + ": ";
    setStatus(state, detail + errorText(error));
}

// The device works but cannot be used as configured; look again later in
// case it changes (a different dongle plugged into the same node).
void V4l2Capture::giveUp(std::string detail) {
    closeDevice();
    nextAttempt_ = Clock::now() + kReopenInterval;
    setStatus(SignalState::DeviceError, std::move(detail));
}

void V4l2Capture::setStatus(SignalState state, std::string detail) {
    if (status_.state == state && status_.detail == detail)
        return;
    if (state != SignalState::Ok)
        haveLastBytes_ = false;  // a status screen is shown: the next picture must replace it
    // The capture thread logs what it shows (once per change, as a warning);
    // the device coming back is logged by openDevice() and start().
    if (state != SignalState::Ok)
        LOG_DEBUG("capture", "%s: %s", signalStateTitle(state), detail.c_str());
    else if (status_.state != SignalState::NoDevice)
        LOG_INFO("capture", "%s: receiving frames again", options_.device.c_str());
    status_ = {state, std::move(detail)};
}

}  // namespace kvmvnc::capture
