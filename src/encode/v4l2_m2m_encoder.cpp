// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/encode/v4l2_m2m_encoder.h"

#include <fcntl.h>
#include <libyuv.h>
#include <linux/videodev2.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "kvmvnc/base/error_text.h"
#include "kvmvnc/base/ioctl.h"
#include "kvmvnc/base/log.h"
#include "kvmvnc/encode/annex_b.h"

namespace kvmvnc::encode {

namespace {

constexpr const char *kLog = "encode";
constexpr uint32_t kOutput = V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE;
constexpr uint32_t kCapture = V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE;
constexpr unsigned kOutputBuffers = 2;
constexpr unsigned kCaptureBuffers = 4;
// What a coded picture may take at most: ustreamer asks bcm2835-codec for
// 1.5 MiB after smaller buffers truncated IDRs (raspberrypi/linux#5232).
// Pictures a second rate control may plan for (H.264 levels go far beyond).
constexpr int kMaxFps = 240;

constexpr uint32_t kMinCodedBytes = 1536 * 1024;

std::string sizeText(Size size) {
    return std::to_string(size.width) + "x" + std::to_string(size.height);
}

int64_t microseconds(const timeval &time) {
    return static_cast<int64_t>(time.tv_sec) * 1'000'000 + time.tv_usec;
}

}  // namespace

V4l2M2mEncoder::V4l2M2mEncoder(std::string device, uint32_t codedFormat, uint32_t rawFormat)
    : device_(std::move(device)),
      coded_(codedFormat != 0 ? codedFormat : V4L2_PIX_FMT_H264),
      wantedRaw_(rawFormat) {
    name_ = "V4L2 M2M " + fourccText(coded_) + " encoder " + device_;
}

V4l2M2mEncoder::~V4l2M2mEncoder() { close(); }

void V4l2M2mEncoder::close() {
    tearDown();
    fd_.reset();
}

std::string V4l2M2mEncoder::fourccText(uint32_t fourcc) {
    std::string text;
    for (int i = 0; i < 4; ++i) {
        const char c = static_cast<char>((fourcc >> (8 * i)) & 0xff);
        if (c != ' ')
            text += c >= 0x20 && c < 0x7f ? c : '?';
    }
    return text;
}

uint32_t V4l2M2mEncoder::chooseRawFormat(const std::vector<uint32_t> &offered) {
    // Our XRGB8888 (bytes B, G, R, X) is V4L2's XBGR32; ABGR32 and the old
    // BGR32 have the same bytes (their alpha is ignored). V4L2's XRGB32 is
    // the reverse order and would need a conversion like the YUV ones.
    static constexpr uint32_t kPreferred[] = {V4L2_PIX_FMT_XBGR32, V4L2_PIX_FMT_ABGR32,
                                              V4L2_PIX_FMT_BGR32, V4L2_PIX_FMT_YUV420,
                                              V4L2_PIX_FMT_NV12};
    for (uint32_t format : kPreferred) {
        if (std::find(offered.begin(), offered.end(), format) != offered.end())
            return format;
    }
    return 0;
}

std::string V4l2M2mEncoder::checkOptions(Size size, const H264Options &options) {
    if (size.width < 16 || size.height < 16)
        return "picture size " + sizeText(size) + " is below 16x16";
    if (size.width > 8192 || size.height > 8192)
        return "picture size " + sizeText(size) + " is above 8192x8192";
    return checkH264Options(options, kMaxFps);
}

int V4l2M2mEncoder::h264Level(Size size, int fps) {
    // H.264 table A-1: frame size and macroblock rate limits.
    const int64_t frameMbs =
        static_cast<int64_t>((size.width + 15) / 16) * ((size.height + 15) / 16);
    const int64_t rate = frameMbs * fps;
    if (frameMbs <= 3600 && rate <= 108000)
        return 31;
    if (frameMbs <= 8192 && rate <= 245760)
        return 40;
    if (frameMbs <= 8704 && rate <= 522240)
        return 42;
    return 51;
}

bool V4l2M2mEncoder::parameterSetsOnly(const uint8_t *data, size_t size) {
    const std::vector<NalUnit> nals = splitAnnexB(data, size);
    return !nals.empty() && std::all_of(nals.begin(), nals.end(), [](const NalUnit &nal) {
        return nal.type == static_cast<uint8_t>(NalType::Sps) ||
               nal.type == static_cast<uint8_t>(NalType::Pps);
    });
}

void V4l2M2mEncoder::keepViewerNals(std::vector<uint8_t> &bytes) {
    const std::vector<NalUnit> nals = splitAnnexB(bytes.data(), bytes.size());
    auto forViewers = [](const NalUnit &nal) {
        return nal.type == static_cast<uint8_t>(NalType::Slice) ||
               nal.type == static_cast<uint8_t>(NalType::IdrSlice) ||
               nal.type == static_cast<uint8_t>(NalType::Sei) ||
               nal.type == static_cast<uint8_t>(NalType::Sps) ||
               nal.type == static_cast<uint8_t>(NalType::Pps);
    };
    if (std::all_of(nals.begin(), nals.end(), forViewers))
        return;  // the usual case: nothing to copy
    std::vector<uint8_t> kept;
    kept.reserve(bytes.size());
    for (const NalUnit &nal : nals) {
        if (!forViewers(nal))
            continue;
        kept.insert(kept.end(), {0, 0, 0, 1});
        kept.insert(kept.end(), bytes.begin() + static_cast<ptrdiff_t>(nal.offset),
                    bytes.begin() + static_cast<ptrdiff_t>(nal.offset + nal.size));
    }
    bytes = std::move(kept);
}

bool V4l2M2mEncoder::fwhtIntra(const uint8_t *data, size_t size) {
    // struct fwht_cframe_hdr: magic1, magic2, version, width, height, then
    // the flags, each 32 bits, big-endian after the magics.
    constexpr size_t kFlagsOffset = 20;
    if (data == nullptr || size < kFlagsOffset + 4)
        return false;
    const uint32_t flags = (uint32_t{data[kFlagsOffset]} << 24) |
                           (uint32_t{data[kFlagsOffset + 1]} << 16) |
                           (uint32_t{data[kFlagsOffset + 2]} << 8) | data[kFlagsOffset + 3];
    return (flags & V4L2_FWHT_FL_I_FRAME) != 0;
}

bool V4l2M2mEncoder::fail(int code, const std::string &what, std::string &error) {
    error = device_ + ": " + what + ": " + errorText(code);
    if (code == -ENODEV || code == -EIO || code == -ENXIO) {
        // Gone or broken for good (dev-encoder.rst: after EIO every call
        // fails): closed first (so that tearDown() makes no more calls), and
        // opened again by the next configure().
        fd_.reset();
        tearDown();
    }
    return false;
}

bool V4l2M2mEncoder::open(std::string &error) {
    tearDown();
    fd_.reset(::open(device_.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC));
    if (!fd_.isValid()) {
        error = device_ + ": " + errorText(-errno);
        return false;
    }
    v4l2_capability caps{};
    if (int ret = xioctl(fd_.get(), VIDIOC_QUERYCAP, &caps); ret < 0) {
        fd_.reset();
        error = device_ + ": not a V4L2 device (" + errorText(ret) + ")";
        return false;
    }
    const uint32_t deviceCaps =
        (caps.capabilities & V4L2_CAP_DEVICE_CAPS) != 0 ? caps.device_caps : caps.capabilities;
    const std::string card = reinterpret_cast<const char *>(caps.card);
    if ((deviceCaps & V4L2_CAP_VIDEO_M2M_MPLANE) == 0 || (deviceCaps & V4L2_CAP_STREAMING) == 0) {
        fd_.reset();
        error =
            device_ + " (" + card + ") is not a multi-planar memory-to-memory device" +
            ((deviceCaps & V4L2_CAP_VIDEO_M2M) != 0 ? " (single-planar M2M is not supported)" : "");
        return false;
    }

    auto listFormats = [this](uint32_t type) {
        std::vector<uint32_t> formats;
        for (uint32_t index = 0;; ++index) {
            v4l2_fmtdesc desc{};
            desc.index = index;
            desc.type = type;
            if (xioctl(fd_.get(), VIDIOC_ENUM_FMT, &desc) < 0)
                break;
            formats.push_back(desc.pixelformat);
        }
        return formats;
    };
    const std::vector<uint32_t> codedFormats = listFormats(kCapture);
    if (std::find(codedFormats.begin(), codedFormats.end(), coded_) == codedFormats.end()) {
        fd_.reset();
        error = device_ + " (" + card + ") does not encode " + fourccText(coded_);
        return false;
    }
    // dev-encoder.rst: the raw formats listed depend on the CAPTURE format.
    v4l2_format format{};
    format.type = kCapture;
    format.fmt.pix_mp.pixelformat = coded_;
    format.fmt.pix_mp.width = 1280;
    format.fmt.pix_mp.height = 720;
    format.fmt.pix_mp.num_planes = 1;
    xioctl(fd_.get(), VIDIOC_S_FMT, &format);
    const std::vector<uint32_t> rawFormats = listFormats(kOutput);
    const bool listed =
        std::find(rawFormats.begin(), rawFormats.end(), wantedRaw_) != rawFormats.end();
    if (wantedRaw_ == 0)
        rawFormat_ = chooseRawFormat(rawFormats);
    else  // one we fill, and the device's
        rawFormat_ = listed && chooseRawFormat({wantedRaw_}) == wantedRaw_ ? wantedRaw_ : 0;
    if (rawFormat_ == 0) {
        std::string names;
        for (uint32_t raw : rawFormats)
            names += (names.empty() ? "" : " ") + fourccText(raw);
        fd_.reset();
        error = device_ + " (" + card + ") takes no raw format kvmvncd fills" +
                (wantedRaw_ != 0 ? " of " + fourccText(wantedRaw_) : "") +
                " (it lists: " + (names.empty() ? "none" : names) + ")";
        return false;
    }

    maxSize_ = {};
    v4l2_frmsizeenum sizes{};
    sizes.pixel_format = coded_;
    for (sizes.index = 0; xioctl(fd_.get(), VIDIOC_ENUM_FRAMESIZES, &sizes) == 0; ++sizes.index) {
        if (sizes.type == V4L2_FRMSIZE_TYPE_DISCRETE) {
            maxSize_.width = std::max(maxSize_.width, static_cast<int>(sizes.discrete.width));
            maxSize_.height = std::max(maxSize_.height, static_cast<int>(sizes.discrete.height));
        } else {
            maxSize_ = {static_cast<int>(sizes.stepwise.max_width),
                        static_cast<int>(sizes.stepwise.max_height)};
            break;
        }
    }

    v4l2_queryctrl query{};
    query.id = V4L2_CID_MPEG_VIDEO_FORCE_KEY_FRAME;
    forceKeyFrame_ = xioctl(fd_.get(), VIDIOC_QUERYCTRL, &query) == 0 &&
                     (query.flags & V4L2_CTRL_FLAG_DISABLED) == 0;
    LOG_INFO(kLog, "%s (%s): %s from %s, at most %s, keyframes %s", device_.c_str(), card.c_str(),
             fourccText(coded_).c_str(), fourccText(rawFormat_).c_str(),
             maxSize_.isEmpty() ? "(not said)" : sizeText(maxSize_).c_str(),
             forceKeyFrame_ ? "by control" : "by a reset");
    return true;
}

bool V4l2M2mEncoder::setControl(uint32_t id, const char *what, int64_t value) {
    v4l2_queryctrl query{};
    query.id = id;
    if (xioctl(fd_.get(), VIDIOC_QUERYCTRL, &query) < 0 ||
        (query.flags & V4L2_CTRL_FLAG_DISABLED) != 0) {
        if (missingLogged_.insert(id).second)
            LOG_INFO(kLog, "%s has no %s control; its own setting stays", device_.c_str(), what);
        return false;
    }
    value = std::clamp<int64_t>(value, query.minimum, query.maximum);
    v4l2_control control{};
    control.id = id;
    control.value = static_cast<int32_t>(value);
    if (int ret = xioctl(fd_.get(), VIDIOC_S_CTRL, &control); ret < 0) {
        if (missingLogged_.insert(id).second)
            LOG_WARN(kLog, "%s refused %s = %lld: %s", device_.c_str(), what,
                     static_cast<long long>(value), errorText(ret).c_str());
        return false;
    }
    return true;
}

void V4l2M2mEncoder::setControls(Size size) {
    // The I period: 0 (only when asked) is the device's longest.
    const int64_t period = options_.gop > 0 ? options_.gop : INT32_MAX;
    setControl(V4L2_CID_MPEG_VIDEO_BITRATE, "bitrate", int64_t{options_.bitrateKbps} * 1000);
    setControl(V4L2_CID_MPEG_VIDEO_GOP_SIZE, "GOP size", period);
    if (coded_ != V4L2_PIX_FMT_H264)
        return;
    setControl(V4L2_CID_MPEG_VIDEO_H264_I_PERIOD, "H.264 I period", period);
    setControl(V4L2_CID_MPEG_VIDEO_H264_PROFILE, "H.264 profile",
               V4L2_MPEG_VIDEO_H264_PROFILE_CONSTRAINED_BASELINE);
    static constexpr struct {
        int idc;
        int value;
    } kLevels[] = {{31, V4L2_MPEG_VIDEO_H264_LEVEL_3_1},
                   {40, V4L2_MPEG_VIDEO_H264_LEVEL_4_0},
                   {42, V4L2_MPEG_VIDEO_H264_LEVEL_4_2},
                   {51, V4L2_MPEG_VIDEO_H264_LEVEL_5_1}};
    const int idc = h264Level(size, options_.maxFps);
    for (const auto &level : kLevels) {
        if (level.idc == idc)
            setControl(V4L2_CID_MPEG_VIDEO_H264_LEVEL, "H.264 level", level.value);
    }
    setControl(V4L2_CID_MPEG_VIDEO_H264_MIN_QP, "H.264 minimum QP", options_.minQp);
    setControl(V4L2_CID_MPEG_VIDEO_H264_MAX_QP, "H.264 maximum QP", options_.maxQp);
    // SPS and PPS with every IDR: a viewer may start at any of them.
    setControl(V4L2_CID_MPEG_VIDEO_REPEAT_SEQ_HEADER, "repeat sequence header", 1);
    // One slice a picture (noVNC starts a frame at each) and no B-frames
    // (one picture in, one out, in order).
    setControl(V4L2_CID_MPEG_VIDEO_MULTI_SLICE_MODE, "slice mode",
               V4L2_MPEG_VIDEO_MULTI_SLICE_MODE_SINGLE);
    setControl(V4L2_CID_MPEG_VIDEO_B_FRAMES, "B-frames", 0);
}

bool V4l2M2mEncoder::configure(Size size, const H264Options &options, std::string &error) {
    tearDown();
    size_ = {};
    error = checkOptions(size, options);
    if (!error.empty())
        return false;
    if (!fd_.isValid() && !open(error))
        return false;
    if (!maxSize_.isEmpty() && (size.width > maxSize_.width || size.height > maxSize_.height)) {
        error = device_ + " codes at most " + sizeText(maxSize_) + ", not " + sizeText(size);
        return false;
    }
    options_ = options;
    if (!setUp(size, error)) {
        tearDown();
        return false;
    }
    size_ = size;
    broken_ = false;
    idrRequested_ = false;  // a new stream starts with one
    return true;
}

// dev-encoder.rst "Initialization": CAPTURE format first (it is the master),
// then OUTPUT, the frame rate, the controls, buffers on both, both streaming.
bool V4l2M2mEncoder::setUp(Size size, std::string &error) {
    v4l2_format format{};
    format.type = kCapture;
    format.fmt.pix_mp.pixelformat = coded_;
    format.fmt.pix_mp.width = static_cast<uint32_t>(size.width);
    format.fmt.pix_mp.height = static_cast<uint32_t>(size.height);
    format.fmt.pix_mp.num_planes = 1;
    format.fmt.pix_mp.plane_fmt[0].sizeimage =
        std::max<uint32_t>(kMinCodedBytes, static_cast<uint32_t>(size.width * size.height));
    if (int ret = xioctl(fd_.get(), VIDIOC_S_FMT, &format); ret < 0)
        return fail(ret, "setting the coded format " + fourccText(coded_), error);
    if (format.fmt.pix_mp.pixelformat != coded_) {
        error = device_ + " took " + fourccText(format.fmt.pix_mp.pixelformat) + " for " +
                fourccText(coded_);
        return false;
    }

    format = {};
    format.type = kOutput;
    format.fmt.pix_mp.pixelformat = rawFormat_;
    format.fmt.pix_mp.width = static_cast<uint32_t>(size.width);
    format.fmt.pix_mp.height = static_cast<uint32_t>(size.height);
    format.fmt.pix_mp.num_planes = 1;
    format.fmt.pix_mp.field = V4L2_FIELD_NONE;
    if (int ret = xioctl(fd_.get(), VIDIOC_S_FMT, &format); ret < 0)
        return fail(ret, "setting the raw format " + fourccText(rawFormat_), error);
    const Size taken{static_cast<int>(format.fmt.pix_mp.width),
                     static_cast<int>(format.fmt.pix_mp.height)};
    // A device may round the buffers up to its alignment (16 rows on the
    // Pi); it then codes the visible part (the crop below). Any other size
    // is not the picture's.
    if (format.fmt.pix_mp.pixelformat != rawFormat_ || taken.width < size.width ||
        taken.height < size.height || taken.width >= size.width + 32 ||
        taken.height >= size.height + 32) {
        error = device_ + " does not code " + sizeText(size) + " pictures (it offers " +
                sizeText(taken) + " " + fourccText(format.fmt.pix_mp.pixelformat) + ")";
        return false;
    }
    if (format.fmt.pix_mp.num_planes != 1) {
        error = device_ + " wants " + fourccText(rawFormat_) + " in " +
                std::to_string(format.fmt.pix_mp.num_planes) + " planes";
        return false;
    }
    frame_ = taken;
    bytesPerLine_ = format.fmt.pix_mp.plane_fmt[0].bytesperline;
    imageBytes_ = format.fmt.pix_mp.plane_fmt[0].sizeimage;
    if (taken != size) {
        v4l2_selection crop{};
        crop.type = V4L2_BUF_TYPE_VIDEO_OUTPUT;
        crop.target = V4L2_SEL_TGT_CROP;
        crop.r.width = static_cast<uint32_t>(size.width);
        crop.r.height = static_cast<uint32_t>(size.height);
        if (int ret = xioctl(fd_.get(), VIDIOC_S_SELECTION, &crop); ret < 0)
            LOG_WARN(kLog, "%s: cropping %s to %s: %s", device_.c_str(), sizeText(taken).c_str(),
                     sizeText(size).c_str(), errorText(ret).c_str());
    }

    v4l2_streamparm parm{};
    parm.type = kOutput;
    parm.parm.output.timeperframe = {1, static_cast<uint32_t>(options_.maxFps)};
    if (int ret = xioctl(fd_.get(), VIDIOC_S_PARM, &parm); ret < 0 && ret != -ENOTTY)
        LOG_DEBUG(kLog, "%s: frame rate %d: %s", device_.c_str(), options_.maxFps,
                  errorText(ret).c_str());
    setControls(size);

    auto allocate = [this, &error](uint32_t type, unsigned count, std::vector<Buffer> &buffers) {
        v4l2_requestbuffers request{};
        request.count = count;
        request.type = type;
        request.memory = V4L2_MEMORY_MMAP;
        if (int ret = xioctl(fd_.get(), VIDIOC_REQBUFS, &request); ret < 0)
            return fail(ret, "allocating buffers", error);
        if (request.count == 0) {
            error = device_ + " gave no buffers";
            return false;
        }
        buffers.assign(request.count, {});
        for (unsigned index = 0; index < request.count; ++index) {
            v4l2_plane plane{};
            v4l2_buffer buffer{};
            buffer.index = index;
            buffer.type = type;
            buffer.memory = V4L2_MEMORY_MMAP;
            buffer.length = 1;
            buffer.m.planes = &plane;
            if (int ret = xioctl(fd_.get(), VIDIOC_QUERYBUF, &buffer); ret < 0)
                return fail(ret, "querying a buffer", error);
            void *address = ::mmap(nullptr, plane.length, PROT_READ | PROT_WRITE, MAP_SHARED,
                                   fd_.get(), plane.m.mem_offset);
            if (address == MAP_FAILED)
                return fail(-errno, "mapping a buffer", error);
            buffers[index] = {address, plane.length, false};
        }
        return true;
    };
    if (!allocate(kOutput, kOutputBuffers, output_) ||
        !allocate(kCapture, kCaptureBuffers, capture_))
        return false;
    for (unsigned index = 0; index < capture_.size(); ++index) {
        if (!queueCapture(index, error))
            return false;
    }
    for (uint32_t type : {kOutput, kCapture}) {
        uint32_t t = type;
        if (int ret = xioctl(fd_.get(), VIDIOC_STREAMON, &t); ret < 0)
            return fail(ret, "starting the stream", error);
    }
    streaming_ = true;
    fresh_ = true;
    return true;
}

bool V4l2M2mEncoder::queueCapture(unsigned index, std::string &error) {
    v4l2_plane plane{};
    v4l2_buffer buffer{};
    buffer.index = index;
    buffer.type = kCapture;
    buffer.memory = V4L2_MEMORY_MMAP;
    buffer.length = 1;
    buffer.m.planes = &plane;
    if (int ret = xioctl(fd_.get(), VIDIOC_QBUF, &buffer); ret < 0)
        return fail(ret, "queueing a coded buffer", error);
    capture_[index].queued = true;
    return true;
}

// OUTPUT buffers the device is done with become free again.
void V4l2M2mEncoder::reclaimOutput() {
    for (;;) {
        v4l2_plane plane{};
        v4l2_buffer buffer{};
        buffer.type = kOutput;
        buffer.memory = V4L2_MEMORY_MMAP;
        buffer.length = 1;
        buffer.m.planes = &plane;
        if (xioctl(fd_.get(), VIDIOC_DQBUF, &buffer) < 0)
            return;
        if (buffer.index < output_.size())
            output_[buffer.index].queued = false;
    }
}

// dev-encoder.rst "Drain": STOP, then coded buffers until the one flagged
// LAST (or EPIPE); what comes before it belongs to pictures given up on.
bool V4l2M2mEncoder::drain(std::string &error) {
    v4l2_encoder_cmd command{};
    command.cmd = V4L2_ENC_CMD_STOP;
    if (int ret = xioctl(fd_.get(), VIDIOC_ENCODER_CMD, &command); ret < 0) {
        if (ret == -ENOTTY || ret == -EINVAL)
            return true;  // no drain: stopping the queues drops what is left
        return fail(ret, "draining", error);
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kTimeoutMs);
    for (;;) {
        v4l2_plane plane{};
        v4l2_buffer buffer{};
        buffer.type = kCapture;
        buffer.memory = V4L2_MEMORY_MMAP;
        buffer.length = 1;
        buffer.m.planes = &plane;
        const int ret = xioctl(fd_.get(), VIDIOC_DQBUF, &buffer);
        if (ret == -EPIPE) {
            ++drains_;  // the LAST buffer was dequeued before
            return true;
        }
        if (ret == 0) {
            if (buffer.index < capture_.size())
                capture_[buffer.index].queued = false;
            if ((buffer.flags & V4L2_BUF_FLAG_LAST) != 0) {
                ++drains_;
                return true;
            }
            if (!queueCapture(buffer.index, error))
                return false;
            continue;
        }
        if (ret != -EAGAIN)
            return fail(ret, "draining", error);
        reclaimOutput();
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            error = device_ + ": draining took over " + std::to_string(kTimeoutMs) + " ms";
            return false;
        }
        pollfd fds{fd_.get(), POLLIN, 0};
        ::poll(&fds, 1, static_cast<int>(left.count()));
    }
}

void V4l2M2mEncoder::tearDown() {
    if (fd_.isValid()) {
        if (streaming_) {
            std::string ignored;
            if (!drain(ignored))
                LOG_DEBUG(kLog, "%s", ignored.c_str());
        }
        // fail() inside drain may have closed the device already.
        for (uint32_t type : {kOutput, kCapture}) {
            if (!fd_.isValid())
                break;
            uint32_t t = type;
            xioctl(fd_.get(), VIDIOC_STREAMOFF, &t);
        }
    }
    streaming_ = false;
    for (std::vector<Buffer> *buffers : {&output_, &capture_}) {
        for (Buffer &buffer : *buffers)
            ::munmap(buffer.address, buffer.length);
        buffers->clear();
    }
    if (fd_.isValid()) {
        for (uint32_t type : {kOutput, kCapture}) {
            v4l2_requestbuffers request{};
            request.type = type;
            request.memory = V4L2_MEMORY_MMAP;
            xioctl(fd_.get(), VIDIOC_REQBUFS, &request);
        }
    }
    size_ = {};
}

// A reset (dev-encoder.rst): drain, CAPTURE off and on; the stream that
// follows is a new one and starts with a keyframe.
bool V4l2M2mEncoder::restartCapture(std::string &error) {
    if (!drain(error))
        return false;
    uint32_t type = kCapture;
    if (int ret = xioctl(fd_.get(), VIDIOC_STREAMOFF, &type); ret < 0)
        return fail(ret, "stopping the coded stream", error);
    for (Buffer &buffer : capture_)
        buffer.queued = false;
    for (unsigned index = 0; index < capture_.size(); ++index) {
        if (!queueCapture(index, error))
            return false;
    }
    if (int ret = xioctl(fd_.get(), VIDIOC_STREAMON, &type); ret < 0)
        return fail(ret, "starting the coded stream", error);
    fresh_ = true;
    ++resets_;
    return true;
}

void V4l2M2mEncoder::fill(const Buffer &buffer, const uint8_t *pixels, int stride) {
    auto *out = static_cast<uint8_t *>(buffer.address);
    const int lineBytes = static_cast<int>(bytesPerLine_);
    switch (rawFormat_) {
    case V4L2_PIX_FMT_YUV420: {
        uint8_t *u = out + static_cast<size_t>(lineBytes) * frame_.height;
        uint8_t *v = u + static_cast<size_t>(lineBytes / 2) * ((frame_.height + 1) / 2);
        libyuv::ARGBToI420(pixels, stride, out, lineBytes, u, lineBytes / 2, v, lineBytes / 2,
                           size_.width, size_.height);
        break;
    }
    case V4L2_PIX_FMT_NV12:
        libyuv::ARGBToNV12(pixels, stride, out, lineBytes,
                           out + static_cast<size_t>(lineBytes) * frame_.height, lineBytes,
                           size_.width, size_.height);
        break;
    default:  // our byte order
        for (int row = 0; row < size_.height; ++row)
            std::memcpy(out + static_cast<size_t>(row) * lineBytes,
                        pixels + static_cast<size_t>(row) * stride,
                        static_cast<size_t>(size_.width) * 4);
        break;
    }
}

bool V4l2M2mEncoder::encode(const uint8_t *pixels, int stride, bool forceIdr, EncodedPicture &out,
                            std::string &error) {
    out.bytes.clear();
    out.idr = false;
    if (broken_) {
        // The last picture failed; what is still in the device is stale.
        const Size size = size_;
        if (size.isEmpty() || !configure(size, options_, error)) {
            if (error.empty())
                error = "the encoder is not configured";
            return false;
        }
    }
    if (size_.isEmpty() || !streaming_) {
        error = "the encoder is not configured";
        return false;
    }
    if (pixels == nullptr || stride < size_.width * 4) {
        error = "no picture, or its rows (" + std::to_string(stride) + " bytes) are shorter than " +
                std::to_string(size_.width) + " pixels";
        return false;
    }

    const bool idr = forceIdr || idrRequested_;
    if (idr && !fresh_) {  // a fresh stream starts with a keyframe anyway
        if (forceKeyFrame_) {
            v4l2_control control{};
            control.id = V4L2_CID_MPEG_VIDEO_FORCE_KEY_FRAME;
            if (int ret = xioctl(fd_.get(), VIDIOC_S_CTRL, &control); ret < 0)
                return fail(ret, "forcing a keyframe", error);
        } else if (!restartCapture(error)) {
            broken_ = fd_.isValid();
            return false;
        }
    }

    reclaimOutput();
    unsigned index = 0;
    while (index < output_.size() && output_[index].queued)
        ++index;
    if (index == output_.size()) {
        broken_ = true;
        error = device_ + ": every raw buffer is still in the device";
        return false;
    }
    fill(output_[index], pixels, stride);

    ++sequence_;
    v4l2_plane plane{};
    // The picture's bytes, not the whole mapping (a device may round that up).
    plane.bytesused = imageBytes_ != 0
                          ? std::min(imageBytes_, static_cast<uint32_t>(output_[index].length))
                          : static_cast<uint32_t>(output_[index].length);
    v4l2_buffer buffer{};
    buffer.index = index;
    buffer.type = kOutput;
    buffer.memory = V4L2_MEMORY_MMAP;
    buffer.length = 1;
    buffer.m.planes = &plane;
    buffer.field = V4L2_FIELD_NONE;
    buffer.timestamp.tv_sec = static_cast<time_t>(sequence_ / 1'000'000);
    buffer.timestamp.tv_usec = static_cast<suseconds_t>(sequence_ % 1'000'000);
    if (int ret = xioctl(fd_.get(), VIDIOC_QBUF, &buffer); ret < 0) {
        broken_ = true;
        return fail(ret, "queueing a picture", error);
    }
    output_[index].queued = true;

    // Its coded buffer: the one with its timestamp (the device copies it).
    // Others (ustreamer saw a first one with timestamp 0 on the Pi) go back.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kTimeoutMs);
    for (;;) {
        v4l2_plane coded{};
        v4l2_buffer done{};
        done.type = kCapture;
        done.memory = V4L2_MEMORY_MMAP;
        done.length = 1;
        done.m.planes = &coded;
        const int ret = xioctl(fd_.get(), VIDIOC_DQBUF, &done);
        if (ret == 0) {
            if (done.index < capture_.size())
                capture_[done.index].queued = false;
            const bool ours = microseconds(done.timestamp) == static_cast<int64_t>(sequence_);
            const bool failed = (done.flags & V4L2_BUF_FLAG_ERROR) != 0;
            if (!failed && coded.bytesused > coded.data_offset) {
                const auto *bytes = static_cast<const uint8_t *>(capture_[done.index].address);
                const size_t size = coded.bytesused - coded.data_offset;
                // Parameter sets in a buffer of their own may not carry the
                // picture's timestamp; they still belong in front of it.
                if (ours || (coded_ == V4L2_PIX_FMT_H264 &&
                             parameterSetsOnly(bytes + coded.data_offset, size)))
                    out.bytes.insert(out.bytes.end(), bytes + coded.data_offset,
                                     bytes + coded.bytesused);
            }
            if ((done.flags & V4L2_BUF_FLAG_LAST) == 0 && !queueCapture(done.index, error))
                return false;
            if (!ours)
                continue;
            if (out.bytes.empty()) {
                broken_ = true;
                error = device_ + (failed ? ": the device failed to encode the picture"
                                          : ": the device gave an empty coded picture");
                return false;
            }
            out.idr = out.idr || (done.flags & V4L2_BUF_FLAG_KEYFRAME) != 0;
            if (coded_ == V4L2_PIX_FMT_FWHT) {
                out.idr = out.idr || fwhtIntra(out.bytes.data(), out.bytes.size());
            } else if (coded_ == V4L2_PIX_FMT_H264) {
                bool slice = false;
                for (const NalUnit &nal : splitAnnexB(out.bytes.data(), out.bytes.size())) {
                    slice = slice || nal.type == static_cast<uint8_t>(NalType::Slice) ||
                            nal.type == static_cast<uint8_t>(NalType::IdrSlice);
                    out.idr = out.idr || nal.type == static_cast<uint8_t>(NalType::IdrSlice);
                }
                // Parameter sets alone (a device may send them in a buffer
                // of their own): the picture's slice comes in the next one.
                if (!slice)
                    continue;
                keepViewerNals(out.bytes);
            }
            idrRequested_ = false;
            fresh_ = false;
            reclaimOutput();
            return true;
        }
        if (ret != -EAGAIN) {
            broken_ = true;
            return fail(ret, "taking a coded picture", error);
        }
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            broken_ = true;
            idrRequested_ = true;
            error = device_ + ": no coded picture within " + std::to_string(kTimeoutMs) + " ms";
            return false;
        }
        pollfd fds{fd_.get(), POLLIN, 0};
        const int ready = ::poll(&fds, 1, static_cast<int>(left.count()));
        if (ready > 0 && (fds.revents & (POLLERR | POLLHUP)) != 0 && (fds.revents & POLLIN) == 0) {
            // vb2 reports POLLERR while a queue is not streaming or the
            // device went away; DQBUF above says which on the next turn.
            v4l2_capability caps{};
            if (int gone = xioctl(fd_.get(), VIDIOC_QUERYCAP, &caps); gone < 0) {
                broken_ = true;
                return fail(gone, "waiting for a coded picture", error);
            }
        }
    }
}

}  // namespace kvmvnc::encode
