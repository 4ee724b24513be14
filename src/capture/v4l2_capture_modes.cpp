// SPDX-License-Identifier: GPL-2.0-or-later
// V4l2Capture: the pixel format and size asked of the device, and on
// devices without DV timings the search for a mode that delivers.
#include <linux/videodev2.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <optional>
#include <span>
#include <utility>

#include "kvmvnc/base/log.h"
#include "kvmvnc/capture/v4l2_capture.h"
#include "v4l2_capture_internal.h"

namespace kvmvnc::capture {

namespace {

constexpr int kMaxDimension = 16384;
constexpr uint32_t kMaxFormats = 256;    // ENUM_FMT bound against looping drivers
constexpr uint32_t kMaxFrameSizes = 64;  // ENUM_FRAMESIZES, per format
constexpr size_t kMaxModes = 64;         // tried in one search, at most a few seconds each
constexpr size_t kFailuresLogged = 4;    // in the line that says which mode was settled on

std::string fourccText(uint32_t fourcc) {
    std::string text;
    for (int shift = 0; shift < 32; shift += 8) {
        char c = static_cast<char>((fourcc >> shift) & 0xff);
        text += (c >= ' ' && c <= '~') ? c : '?';
    }
    return text;
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

}  // namespace

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

}  // namespace kvmvnc::capture
