// SPDX-License-Identifier: GPL-2.0-or-later
// LinuxMachine::probeV4l2: the capture device's answers to the questions
// V4l2Capture asks before it streams, without setting anything.
#include <fcntl.h>
#include <linux/videodev2.h>

#include <algorithm>
#include <cstring>

#include "kvmvnc/base/unique_fd.h"
#include "kvmvnc/capture/edid.h"
#include "kvmvnc/capture/media_graph.h"
#include "kvmvnc/capture/v4l2_device.h"
#include "kvmvnc/doctor/machine.h"

namespace kvmvnc::doctor {

namespace {

using capture::xioctl;

constexpr uint32_t kMaxFormats = 256;  // bounds against drivers that loop
constexpr uint32_t kMaxSizes = 256;
constexpr uint32_t kMaxEdidBlocks = 256;

std::string text(const uint8_t *bytes, size_t size) {
    return std::string(reinterpret_cast<const char *>(bytes),
                       strnlen(reinterpret_cast<const char *>(bytes), size));
}

// The EDID `fd` holds on `pad` (empty when none): 0 or -errno.
int readEdid(int fd, uint32_t pad, std::vector<uint8_t> &bytes) {
    bytes.clear();
    v4l2_edid edid{};
    edid.pad = pad;
    if (int ret = xioctl(fd, VIDIOC_G_EDID, &edid); ret < 0)
        return ret;
    const uint32_t blocks = std::min(edid.blocks, kMaxEdidBlocks);
    if (blocks == 0)
        return 0;
    bytes.resize(blocks * capture::Edid::kBlockSize);
    edid = {};
    edid.pad = pad;
    edid.blocks = blocks;
    edid.edid = bytes.data();
    if (int ret = xioctl(fd, VIDIOC_G_EDID, &edid); ret < 0) {
        bytes.clear();
        return ret == -ENODATA ? 0 : ret;
    }
    bytes.resize(std::min(edid.blocks, blocks) * capture::Edid::kBlockSize);
    return 0;
}

void probeFrameSizes(int fd, V4l2Facts &facts) {
    for (uint32_t index = 0; index < kMaxSizes; ++index) {
        v4l2_frmsizeenum size{};
        size.index = index;
        size.pixel_format = facts.sizesFourcc;
        if (xioctl(fd, VIDIOC_ENUM_FRAMESIZES, &size) < 0)
            return;
        if (size.type == V4L2_FRMSIZE_TYPE_DISCRETE) {
            facts.sizes.push_back(
                {static_cast<int>(size.discrete.width), static_cast<int>(size.discrete.height)});
            continue;
        }
        // Stepwise and continuous: one entry, the range.
        facts.sizeRange = true;
        facts.sizes = {
            {static_cast<int>(size.stepwise.min_width), static_cast<int>(size.stepwise.min_height)},
            {static_cast<int>(size.stepwise.max_width),
             static_cast<int>(size.stepwise.max_height)}};
        return;
    }
}

// `node` is where `device` is in this process's file system.
void probeEdid(int fd, const std::string &device, const std::string &node,
               const std::string &sysfsRoot, V4l2Facts &facts) {
    // On a video node the EDID's pad is the input's index.
    const uint32_t pad = static_cast<uint32_t>(std::max(facts.input, 0));
    facts.edidError = readEdid(fd, pad, facts.edid);
    facts.edidNode = device;
    if (facts.edidError != -ENOTTY)
        return;
    // Media-controller drivers keep it on the bridge's subdevice.
    for (const std::string &subnode : capture::edidSubdevicesOf(node, sysfsRoot)) {
        UniqueFd subdevice(::open(subnode.c_str(), O_RDWR | O_CLOEXEC));
        if (!subdevice.isValid())
            continue;
        std::vector<uint8_t> held;
        const int ret = readEdid(subdevice.get(), 0, held);
        if (ret == -ENOTTY)
            continue;
        facts.edidError = ret;
        facts.edidNode = subnode;
        facts.edid = std::move(held);
        return;
    }
}

}  // namespace

V4l2Facts LinuxMachine::probeV4l2(const std::string &device, int input,
                                  std::optional<capture::PixelFormat> format) const {
    V4l2Facts facts;
    const std::string node = hostPath(device).string();
    UniqueFd fd(::open(node.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC));
    if (!fd.isValid()) {
        facts.openError = errno;
        return facts;
    }
    v4l2_capability caps{};
    if (int ret = xioctl(fd.get(), VIDIOC_QUERYCAP, &caps); ret < 0) {
        facts.queryCapError = -ret;
        return facts;
    }
    facts.driver = text(caps.driver, sizeof(caps.driver));
    facts.card = text(caps.card, sizeof(caps.card));
    facts.busInfo = text(caps.bus_info, sizeof(caps.bus_info));
    const uint32_t deviceCaps =
        (caps.capabilities & V4L2_CAP_DEVICE_CAPS) ? caps.device_caps : caps.capabilities;
    facts.videoCapture = deviceCaps & V4L2_CAP_VIDEO_CAPTURE;
    facts.multiplanar = !facts.videoCapture && (deviceCaps & V4L2_CAP_VIDEO_CAPTURE_MPLANE);
    facts.streaming = deviceCaps & V4L2_CAP_STREAMING;
    if (!facts.videoCapture)
        return facts;

    int current = -1;
    if (xioctl(fd.get(), VIDIOC_G_INPUT, &current) < 0)
        current = -1;
    facts.input = input >= 0 ? input : current;
    facts.inputCurrent = facts.input == current;
    if (facts.input >= 0) {
        v4l2_input info{};
        info.index = static_cast<uint32_t>(facts.input);
        if (int ret = xioctl(fd.get(), VIDIOC_ENUMINPUT, &info); ret < 0) {
            facts.inputError = -ret;
        } else {
            facts.inputName = text(info.name, sizeof(info.name));
            facts.inputStatus = info.status;
        }
    }

    for (uint32_t index = 0; index < kMaxFormats; ++index) {
        v4l2_fmtdesc desc{};
        desc.index = index;
        desc.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
        if (xioctl(fd.get(), VIDIOC_ENUM_FMT, &desc) < 0)
            break;
        facts.formats.push_back(desc.pixelformat);
    }

    v4l2_dv_timings timings{};
    facts.dvError = xioctl(fd.get(), VIDIOC_QUERY_DV_TIMINGS, &timings);
    if (facts.dvError == 0 && timings.type == V4L2_DV_BT_656_1120) {
        const v4l2_bt_timings &bt = timings.bt;
        facts.timings = {static_cast<int>(bt.width), static_cast<int>(bt.height)};
        facts.interlaced = bt.interlaced;
        const uint64_t total =
            static_cast<uint64_t>(V4L2_DV_BT_FRAME_WIDTH(&bt)) * V4L2_DV_BT_FRAME_HEIGHT(&bt);
        if (total > 0)
            facts.refreshMilliHz = static_cast<uint32_t>(bt.pixelclock * 1000 / total);
    }

    v4l2_format currentFormat{};
    currentFormat.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
    if (xioctl(fd.get(), VIDIOC_G_FMT, &currentFormat) == 0) {
        facts.currentFourcc = currentFormat.fmt.pix.pixelformat;
        facts.currentSize = {static_cast<int>(currentFormat.fmt.pix.width),
                             static_cast<int>(currentFormat.fmt.pix.height)};
    }
    const bool dv = facts.dvError != -ENOTTY && facts.dvError != -ENODATA;
    if (auto fourcc = capture::chooseCaptureFourcc(facts.formats, dv, format)) {
        facts.sizesFourcc = *fourcc;
        probeFrameSizes(fd.get(), facts);
    }

    probeEdid(fd.get(), device, node, hostPath("/sys").string(), facts);
    return facts;
}

}  // namespace kvmvnc::doctor
