// SPDX-License-Identifier: GPL-2.0-or-later
// V4l2Capture: the EDID the mailbox asks for, loaded into the video node or
// the bridge's subdevice, and what the device holds reported back.
#include <linux/videodev2.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <optional>
#include <utility>

#include "kvmvnc/base/log.h"
#include "kvmvnc/capture/media_graph.h"
#include "kvmvnc/capture/v4l2_capture.h"
#include "v4l2_capture_internal.h"

namespace kvmvnc::capture {

namespace {

constexpr uint32_t kMaxEdidBlocks = 256;  // V4L2's limit

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

}  // namespace kvmvnc::capture
