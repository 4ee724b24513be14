// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/capture/v4l2_capture.h"

#include <fcntl.h>
#include <linux/videodev2.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
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
constexpr uint32_t kMaxFormats = 256;  // ENUM_FMT bound against looping drivers
constexpr int kMaxEventsPerPoll = 64;
constexpr uint32_t kMaxEdidBlocks = 256;  // V4L2's limit

int xioctl(int fd, unsigned long request, void *arg) {
    int ret;
    do {
        ret = ::ioctl(fd, request, arg);
    } while (ret < 0 && errno == EINTR);
    return ret < 0 ? -errno : 0;
}

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

// The EDID `fd` holds on `pad`: 0 with `bytes` (empty when it holds none),
// or -errno (ENOTTY: the node takes no EDID; EINVAL: not on this pad).
int readEdid(int fd, uint32_t pad, std::vector<uint8_t> &bytes) {
    bytes.clear();
    v4l2_edid edid{};
    edid.pad = pad;
    // No blocks asked for: the driver says how many it holds.
    if (int ret = xioctl(fd, VIDIOC_G_EDID, &edid); ret < 0)
        return ret;
    const uint32_t blocks = std::min(edid.blocks, kMaxEdidBlocks);
    if (blocks == 0)
        return 0;
    bytes.resize(blocks * Edid::kBlockSize);
    edid = {};
    edid.pad = pad;
    edid.blocks = blocks;
    edid.edid = bytes.data();
    int ret = xioctl(fd, VIDIOC_G_EDID, &edid);
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
    : address_(std::exchange(other.address_, nullptr)), length_(std::exchange(other.length_, 0)) {}

V4l2Capture::Mapping &V4l2Capture::Mapping::operator=(Mapping &&other) noexcept {
    if (this != &other) {
        if (address_ != nullptr)
            ::munmap(address_, length_);
        address_ = std::exchange(other.address_, nullptr);
        length_ = std::exchange(other.length_, 0);
    }
    return *this;
}

V4l2Capture::Mapping::~Mapping() {
    if (address_ != nullptr)
        ::munmap(address_, length_);
}

V4l2Capture::V4l2Capture(V4l2Options options, std::shared_ptr<EdidMailbox> edid)
    : options_(std::move(options)), edidMailbox_(std::move(edid)) {}

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
        pollfd pfd{fd_.get(), POLLIN | POLLPRI, 0};
        int ret = ::poll(&pfd, 1, static_cast<int>(wait.count()));
        if (ret < 0 && errno != EINTR) {
            fail("poll", -errno);
            continue;
        }
        if (ret > 0) {
            if (pfd.revents & POLLPRI)
                handleEvents();
            if (streaming_ && (pfd.revents & POLLIN)) {
                switch (dequeue(frame)) {
                case Dequeued::Frame:
                    return CaptureResult::Frame;
                case Dequeued::Unchanged:
                    return CaptureResult::Unchanged;
                case Dequeued::Nothing:
                    break;
                }
            } else if (streaming_ && (pfd.revents & (POLLERR | POLLHUP | POLLNVAL))) {
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
    if (!fd_.isValid()) {
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
    if (applyDvTimings(probe) < 0 || configureFormat() < 0 || startStreaming() < 0)
        return;

    streaming_ = true;
    streamStart_ = now;
    stallCheck_ = now + kStallTimeout;
    warnedBadFrame_ = false;
    // A signal problem stays on screen until a frame proves it gone; the
    // device being back is proven by having got this far.
    if (status_.state == SignalState::NoDevice)
        setStatus(SignalState::Ok, {});

    std::string stream = description();
    if (stream != loggedStream_) {
        if (fps_ > 0)
            LOG_INFO("capture", "streaming %s at %.3g fps", stream.c_str(), fps_);
        else
            LOG_INFO("capture", "streaming %s", stream.c_str());
        if ((options_.width > 0 && options_.width != width_) ||
            (options_.height > 0 && options_.height != height_))
            LOG_WARN("capture", "%s: asked for %dx%d, the device chose %dx%d",
                     options_.device.c_str(), options_.width, options_.height, width_, height_);
        loggedStream_ = std::move(stream);
    } else {
        LOG_DEBUG("capture", "restarted %s", stream.c_str());
    }
}

int V4l2Capture::openDevice() {
    int fd = ::open(options_.device.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        int error = -errno;
        setStatus(SignalState::NoDevice, options_.device + ": " + errorText(error));
        reportEdid({EdidReport::State::Unknown,
                    edidRequest_.setting,
                    options_.device,
                    status_.detail,
                    {}});
        return error;
    }
    fd_.reset(fd);

    v4l2_capability caps{};
    if (int ret = xioctl(fd, VIDIOC_QUERYCAP, &caps); ret < 0) {
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
        if (int ret = xioctl(fd, VIDIOC_S_INPUT, &input); ret < 0) {
            fail("VIDIOC_S_INPUT", ret);
            return ret;
        }
    }
    // Bridges announce resolution changes and signal loss this way; drivers
    // without the event answer EINVAL or ENOTTY, and the stall check covers
    // them instead. The event is per input: subscribe to the one in use
    // (vivid's HDMI input is number 3).
    int currentInput = 0;
    if (xioctl(fd, VIDIOC_G_INPUT, &currentInput) < 0)
        currentInput = 0;
    v4l2_event_subscription subscription{};
    subscription.type = V4L2_EVENT_SOURCE_CHANGE;
    subscription.id = static_cast<uint32_t>(currentInput);
    if (int ret = xioctl(fd, VIDIOC_SUBSCRIBE_EVENT, &subscription); ret == -ENODEV) {
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
    if (fd_.isValid()) {  // a reload; at start the device is not open yet
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
    if (input < 0 && xioctl(fd_.get(), VIDIOC_G_INPUT, &input) < 0)
        input = 0;
    int fd = fd_.get();
    uint32_t pad = static_cast<uint32_t>(input);
    std::string where = options_.device + " input " + std::to_string(input);
    std::vector<uint8_t> held;
    int ret = readEdid(fd, pad, held);
    UniqueFd subdevice;
    if (ret == -ENOTTY) {
        for (const std::string &node : edidSubdevicesOf(options_.device)) {
            UniqueFd candidate(::open(node.c_str(), O_RDWR | O_CLOEXEC));
            if (!candidate.isValid())
                continue;
            const int subRet = readEdid(candidate.get(), 0, held);
            if (subRet == -ENOTTY)
                continue;
            ret = subRet;
            subdevice = std::move(candidate);
            fd = subdevice.get();
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
        ret = xioctl(fd, VIDIOC_S_EDID, &edid);
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
        if (readEdid(fd, pad, held) < 0 || held.empty())
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
    int fd = fd_.get();

    int ret = xioctl(fd, VIDIOC_QUERY_DV_TIMINGS, &probe.timings);
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
    ret = xioctl(fd, VIDIOC_G_INPUT, &index);
    if (ret == 0 || ret == -ENOTTY) {
        v4l2_input input{};
        input.index = static_cast<uint32_t>(index);
        ret = xioctl(fd, VIDIOC_ENUMINPUT, &input);
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
    if (int ret = xioctl(fd_.get(), VIDIOC_S_DV_TIMINGS, &timings); ret < 0) {
        fail("VIDIOC_S_DV_TIMINGS", ret);
        return ret;
    }
    dvWidth_ = probe.timings.bt.width;
    dvHeight_ = probe.timings.bt.height;
    dvPixelClock_ = probe.timings.bt.pixelclock;
    return 0;
}

int V4l2Capture::configureFormat() {
    int fd = fd_.get();
    std::vector<uint32_t> offered;
    for (uint32_t index = 0; index < kMaxFormats; ++index) {
        v4l2_fmtdesc desc{};
        desc.index = index;
        desc.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
        int ret = xioctl(fd, VIDIOC_ENUM_FMT, &desc);
        if (ret == -EINVAL)
            break;  // end of the list
        if (ret < 0) {
            fail("VIDIOC_ENUM_FMT", ret);
            return ret;
        }
        offered.push_back(desc.pixelformat);
    }

    std::optional<uint32_t> fourcc = chooseCaptureFourcc(offered, hasDvTimings_, options_.format);
    if (!fourcc) {
        std::string list;
        for (uint32_t entry : offered)
            list += (list.empty() ? "" : ", ") + fourccText(entry);
        giveUp(options_.device + ": " +
               (options_.format ? std::string("does not offer ") + pixelFormatName(*options_.format)
                                : std::string("offers no supported pixel format")) +
               " (offers " + (list.empty() ? "none" : list) + ")");
        return -EINVAL;
    }

    // Start from the current format so a size of 0 keeps what the device
    // (or the DV timings just applied) has.
    v4l2_format format{};
    format.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    if (int ret = xioctl(fd, VIDIOC_G_FMT, &format); ret < 0) {
        fail("VIDIOC_G_FMT", ret);
        return ret;
    }
    v4l2_pix_format &pix = format.fmt.pix;
    pix.pixelformat = *fourcc;
    if (options_.width > 0)
        pix.width = static_cast<uint32_t>(options_.width);
    if (options_.height > 0)
        pix.height = static_cast<uint32_t>(options_.height);
    pix.field = V4L2_FIELD_ANY;
    pix.bytesperline = 0;  // the driver's choice
    pix.sizeimage = 0;
    if (int ret = xioctl(fd, VIDIOC_S_FMT, &format); ret < 0) {
        fail("VIDIOC_S_FMT", ret);
        return ret;
    }

    // Drivers adjust what they cannot do; take only what we can convert.
    std::optional<PixelFormat> chosen = fromFourcc(pix.pixelformat);
    if (!chosen || chosen != fromFourcc(*fourcc)) {
        giveUp(options_.device + ": asked for " + fourccText(*fourcc) + ", the driver set " +
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
        int ret = xioctl(fd_.get(), VIDIOC_S_PARM, &parm);
        if (ret < 0)
            LOG_DEBUG("capture", "%s: VIDIOC_S_PARM: %s", options_.device.c_str(),
                      errorText(ret).c_str());
    }
    fps_ = 0;
    v4l2_streamparm current{};
    current.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    if (xioctl(fd_.get(), VIDIOC_G_PARM, &current) == 0) {
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
    int fd = fd_.get();
    v4l2_requestbuffers request{};
    request.count = static_cast<uint32_t>(std::clamp(options_.buffers, kMinBuffers, kMaxBuffers));
    request.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    request.memory = V4L2_MEMORY_MMAP;
    if (int ret = xioctl(fd, VIDIOC_REQBUFS, &request); ret < 0) {
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
        if (int ret = xioctl(fd, VIDIOC_QUERYBUF, &buffer); ret < 0) {
            fail("VIDIOC_QUERYBUF", ret);
            return ret;
        }
        void *address = ::mmap(nullptr, buffer.length, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
                               static_cast<off_t>(buffer.m.offset));
        if (address == MAP_FAILED) {
            int error = -errno;
            fail("mmap", error);
            return error;
        }
        buffers_.emplace_back(address, buffer.length);
    }
    for (uint32_t index = 0; index < buffers_.size(); ++index) {
        if (int ret = requeue(index); ret < 0)
            return ret;
    }
    // Events queued until now describe what the probe just saw (or what our
    // own S_DV_TIMINGS caused); acting on them would restart the new stream.
    for (int count = 0; count < kMaxEventsPerPoll; ++count) {
        v4l2_event event{};
        if (xioctl(fd, VIDIOC_DQEVENT, &event) < 0 || event.pending == 0)
            break;
    }
    int type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    if (int ret = xioctl(fd, VIDIOC_STREAMON, &type); ret < 0) {
        fail("VIDIOC_STREAMON", ret);
        return ret;
    }
    return 0;
}

// Returns the device to the idle state: no stream, no buffers. Errors are
// ignored, the device may already be gone.
void V4l2Capture::stopStreaming() {
    haveLastBytes_ = false;  // whatever comes next is shown in full
    int fd = fd_.get();
    if (fd >= 0 && streaming_) {
        int type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
        xioctl(fd, VIDIOC_STREAMOFF, &type);
    }
    streaming_ = false;
    // The kernel refuses to free buffers that are still mapped.
    buffers_.clear();
    if (fd >= 0 && ownsQueue_) {
        v4l2_requestbuffers request{};
        request.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
        request.memory = V4L2_MEMORY_MMAP;
        xioctl(fd, VIDIOC_REQBUFS, &request);
    }
    ownsQueue_ = false;
}

void V4l2Capture::closeDevice() {
    stopStreaming();
    fd_.reset();
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
    setStatus(SignalState::NoSignal, options_.device + ": no frames from the device");
    if (now - streamStart_ >= kStallRestartInterval)
        restartStream();
}

void V4l2Capture::handleEvents() {
    bool sourceChanged = false;
    for (int count = 0; count < kMaxEventsPerPoll; ++count) {
        v4l2_event event{};
        int ret = xioctl(fd_.get(), VIDIOC_DQEVENT, &event);
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
    int ret = xioctl(fd_.get(), VIDIOC_DQBUF, &buffer);
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
        int ret = xioctl(fd_.get(), VIDIOC_DQBUF, &buffer);
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
    if (status_.state != SignalState::Ok)
        setStatus(SignalState::Ok, {});
    return Dequeued::Frame;
}

int V4l2Capture::requeue(uint32_t index) {
    v4l2_buffer buffer = emptyBuffer();
    buffer.index = index;
    int ret = xioctl(fd_.get(), VIDIOC_QBUF, &buffer);
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
