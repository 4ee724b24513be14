// SPDX-License-Identifier: GPL-2.0-or-later
// The capture device: the node, the formats and modes it offers, the signal
// and the EDID it holds.
#include <linux/videodev2.h>

#include <algorithm>
#include <cstdio>

#include "checks.h"
#include "kvmvnc/capture/edid.h"
#include "kvmvnc/capture/pixel_format.h"

namespace kvmvnc::doctor::checks {

namespace {

constexpr size_t kListedSizes = 6;

std::string fourccText(uint32_t fourcc) {
    std::string text;
    for (int shift = 0; shift < 32; shift += 8) {
        const char c = static_cast<char>((fourcc >> shift) & 0xff);
        if (c != ' ')
            text += (c > ' ' && c <= '~') ? c : '?';
    }
    return text;
}

std::string sizeText(Size size) {
    return std::to_string(size.width) + "x" + std::to_string(size.height);
}

std::string dvModeText(const V4l2Facts &facts) {
    char rate[32];
    if (facts.refreshMilliHz % 1000 == 0)
        std::snprintf(rate, sizeof(rate), "%u Hz", facts.refreshMilliHz / 1000);
    else
        std::snprintf(rate, sizeof(rate), "%.2f Hz", facts.refreshMilliHz / 1000.0);
    return sizeText(facts.timings) + (facts.interlaced ? "i" : "p") + " at " + rate;
}

// "monitor kvmvnc, 1920x1080 at 60 Hz preferred".
std::string edidSummary(const capture::Edid &edid) {
    const std::string name = edid.monitorName();
    std::string summary = "monitor " + (name.empty() ? std::string("without a name") : name);
    const std::vector<capture::EdidMode> modes = edid.modes();
    if (!modes.empty() && modes.front().preferred)
        summary += ", " + capture::edidModeText(modes.front()) + " preferred";
    return summary;
}

// What the capture device offers and holds is checked only when the device
// is needed and passed its own check; true when `check` is skipped, saying
// why.
bool skippedWithoutDevice(const Context &context, const Capture &capture, HardwareCheck &check) {
    if (context.needs.v4l2 && capture.usable)
        return false;
    check.status = Status::Skipped;
    check.finding = !context.needs.v4l2 ? "not needed" : "no capture device (above)";
    return true;
}

}  // namespace

HardwareCheck captureDeviceCheck(const Context &context, Capture &capture) {
    HardwareCheck check{"capture device", Status::Fail, {}, {}};
    const config::CaptureSection &cfg = context.config.capture;
    if (!context.needs.v4l2) {
        check.status = Status::Skipped;
        check.finding = cfg.source == config::SourceKind::X11
                            ? "not needed: [capture] source = x11"
                            : "not needed: [capture] source = virtual";
        return check;
    }
    const std::string &device = cfg.device;
    const FileFacts node = context.machine.stat(device);
    if (node.error != 0) {
        check.finding =
            node.error == ENOENT ? "no " + device : device + ": " + errorText(node.error);
        check.fix =
            "connect the capture device (a USB dongle, or a TC358743 with dtoverlay=tc358743) "
            "and set [capture] device (v4l2-ctl --list-devices)";
        return check;
    }
    if (!node.characterDevice) {
        check.finding = device + " is not a device node";
        check.fix = "set [capture] device to the capture node (v4l2-ctl --list-devices)";
        return check;
    }
    const std::string described =
        device + " " + node.owner + ":" + node.group + " " + modeText(node.mode);
    if (!mayReadWrite(node, context.account)) {
        check.finding = described + ": user " + context.account.name + " cannot open it";
        check.fix =
            "capture devices belong to group video, which kvmvncd's user is in: "
            "check the device's udev rules";
        return check;
    }
    capture.facts = context.machine.probeV4l2(device, cfg.input, cfg.format);
    const V4l2Facts &facts = capture.facts;
    if (facts.openError != 0) {
        check.finding = "cannot open " + device + ": " + errorText(facts.openError);
        check.fix =
            openFix(facts.openError, "unplug and plug in the capture device; dmesg says more");
        return check;
    }
    if (facts.queryCapError != 0) {
        check.finding =
            device + " is no V4L2 device (VIDIOC_QUERYCAP: " + errorText(facts.queryCapError) + ")";
        check.fix = "set [capture] device to the capture node (v4l2-ctl --list-devices)";
        return check;
    }
    const std::string driver =
        facts.card == facts.driver ? facts.driver : facts.driver + " \"" + facts.card + "\"";
    if (!facts.videoCapture) {
        check.finding =
            device + " (" + driver + ") is not a video capture node" +
            (facts.multiplanar ? " (multi-planar only, which kvmvncd does not read)" : "");
        check.fix = "set [capture] device to the capture node (v4l2-ctl --list-devices)";
        return check;
    }
    if (!facts.streaming) {
        check.finding = device + " (" + driver + ") cannot stream";
        check.fix = "kvmvncd needs a device with streaming I/O";
        return check;
    }
    if (facts.inputError != 0) {
        check.finding = device + " (" + driver + ") has no input " + std::to_string(facts.input);
        check.fix = "set [capture] input to one of v4l2-ctl -d " + device +
                    " --list-inputs, or -1 to keep the current one";
        return check;
    }
    capture.usable = true;
    capture.dv = facts.dvError != -ENOTTY && facts.dvError != -ENODATA;
    check.status = Status::Ok;
    check.finding = described + ", driver " + driver + " at " + facts.busInfo;
    if (facts.input >= 0)
        check.finding += ", input " + std::to_string(facts.input) + " (" + facts.inputName + ")";
    return check;
}

HardwareCheck captureFormatsCheck(const Context &context, const Capture &capture) {
    HardwareCheck check{"capture formats", Status::Skipped, {}, {}};
    if (skippedWithoutDevice(context, capture, check))
        return check;
    const config::CaptureSection &cfg = context.config.capture;
    const V4l2Facts &facts = capture.facts;
    // Those kvmvncd reads by name; of the rest (test drivers offer dozens),
    // a few when it reads none.
    std::vector<std::string> readable;
    std::vector<std::string> others;
    for (uint32_t fourcc : facts.formats)
        (capture::fromFourcc(fourcc) ? readable : others).push_back(fourccText(fourcc));
    std::string offers = "offers " + (facts.formats.empty() ? "no format" : join(readable));
    if (readable.empty() && !others.empty()) {
        const size_t shown = std::min(others.size(), kListedSizes);
        offers += join({others.begin(), others.begin() + static_cast<long>(shown)});
        if (others.size() > shown)
            offers += " and " + std::to_string(others.size() - shown) + " more";
    } else if (!others.empty()) {
        offers += " and " + std::to_string(others.size()) + " more";
    }
    std::optional<uint32_t> chosen =
        capture::chooseCaptureFourcc(facts.formats, capture.dv, cfg.format);
    if (!chosen) {
        check.status = Status::Fail;
        check.finding = cfg.format ? offers + ", not " + capture::pixelFormatName(*cfg.format) +
                                         " ([capture] format)"
                                   : offers +
                                         ": none that kvmvncd reads (YUYV, UYVY, RGB3, "
                                         "BGR3, MJPG)";
        check.fix = cfg.format ? "set [capture] format = auto, or to one it offers"
                               : "this device cannot be used; a TC358743 or an MJPEG dongle can";
        return check;
    }
    check.status = Status::Ok;
    if (capture.dv) {
        // The mode follows the signal's DV timings (capture signal below).
        check.finding =
            offers + "; kvmvncd takes " + fourccText(*chosen) + " in the mode the signal has";
        return check;
    }
    // kvmvncd goes down the modes a dongle lists until one delivers
    // (V4l2Capture); the preferred format's come first.
    check.finding = offers + "; kvmvncd tries " + fourccText(*chosen) + " first";
    std::vector<std::string> modes;
    if (facts.sizeRange && facts.sizes.size() == 2) {
        modes.push_back("any from " + sizeText(facts.sizes[0]) + " to " + sizeText(facts.sizes[1]));
    } else {
        for (size_t i = 0; i < facts.sizes.size() && i < kListedSizes; ++i)
            modes.push_back(sizeText(facts.sizes[i]));
        if (facts.sizes.size() > kListedSizes)
            modes.push_back(std::to_string(facts.sizes.size() - kListedSizes) + " more");
    }
    if (!modes.empty())
        check.finding += " at " + join(modes);
    const Size wanted{cfg.width, cfg.height};
    if (wanted.width > 0 && !facts.sizeRange && !facts.sizes.empty() &&
        std::find(facts.sizes.begin(), facts.sizes.end(), wanted) == facts.sizes.end()) {
        check.status = Status::Warning;
        check.finding += "; not " + sizeText(wanted) +
                         " ([capture] width, height): the driver "
                         "picks the nearest";
        check.fix = "set [capture] width and height to one of its sizes, or 0 for the device's";
    }
    return check;
}

// The signal is the target's to send: without one, the check warns.
HardwareCheck captureSignalCheck(const Context &context, const Capture &capture) {
    HardwareCheck check{"capture signal", Status::Skipped, {}, {}};
    if (skippedWithoutDevice(context, capture, check))
        return check;
    const V4l2Facts &facts = capture.facts;
    if (!facts.inputCurrent) {
        check.finding = "input " + std::to_string(facts.input) +
                        " is not selected now; kvmvncd selects it when it starts";
        return check;
    }
    check.status = Status::Warning;
    if (capture.dv) {
        switch (-facts.dvError) {
        case 0:
            check.status = Status::Ok;
            check.finding = dvModeText(facts) + " (DV timings)";
            return check;
        case ENOLINK:
            check.finding = "no signal (DV timings: no link)";
            check.fix = "is the target on? is the EDID loaded (edid below)?";
            return check;
        case ENOLCK:
            check.finding = "a signal that does not lock (DV timings: no lock)";
            check.fix = "check the HDMI cable; try another mode on the target";
            return check;
        case ERANGE:
            check.finding = "the target sends a mode out of the device's range";
            check.fix = "set the target to a mode the EDID lists (kvmvncctl edid show)";
            return check;
        default:
            check.finding = "VIDIOC_QUERY_DV_TIMINGS: " + errorText(facts.dvError);
            check.fix = "dmesg says more about the capture device";
            return check;
        }
    }
    if (facts.inputStatus & V4L2_IN_ST_NO_POWER) {
        check.finding = "nothing connected to the input";
        check.fix = "connect the target's video output";
    } else if (facts.inputStatus & V4L2_IN_ST_NO_SIGNAL) {
        check.finding = "no signal on the input";
        check.fix = "is the target on?";
    } else if (facts.inputStatus &
               (V4L2_IN_ST_NO_SYNC | V4L2_IN_ST_NO_H_LOCK | V4L2_IN_ST_NO_V_LOCK)) {
        check.finding = "a signal that does not lock";
        check.fix = "check the cable; try another mode on the target";
    } else {
        check.status = Status::Ok;
        check.finding =
            "no input problem reported (without DV timings the device scales what "
            "it gets; USB dongles show their own picture without a signal)";
        if (!facts.currentSize.isEmpty())
            check.finding +=
                ", now " + sizeText(facts.currentSize) + " " + fourccText(facts.currentFourcc);
    }
    return check;
}

HardwareCheck edidCheck(const Context &context, const Capture &capture) {
    HardwareCheck check{"edid", Status::Skipped, {}, {}};
    if (skippedWithoutDevice(context, capture, check))
        return check;
    const V4l2Facts &facts = capture.facts;
    const std::string &setting = context.config.capture.edid;
    const std::string settingText = "[capture] edid = " + setting;
    if (facts.edidError == -ENOTTY) {
        check.finding =
            facts.edidNode + " takes no EDID (USB capture dongles show the target their own)";
        return check;
    }
    if (facts.edidError == -EINVAL) {
        check.finding = "input " + std::to_string(facts.input) + " has no EDID (not an HDMI input)";
        return check;
    }
    if (facts.edidError != 0) {
        check.status = Status::Fail;
        check.finding = facts.edidNode + ": VIDIOC_G_EDID: " + errorText(facts.edidError);
        check.fix = "dmesg says more about the capture device";
        return check;
    }
    // What kvmvncd loads: kvmvnc's, a file's, or nothing (keep).
    std::optional<capture::Edid> wanted;
    std::string wantedName;
    if (setting == "default") {
        wanted = capture::Edid::kvmvncDefault();
        wantedName = "kvmvnc's default EDID";
    } else if (setting != "keep") {
        std::string error;
        std::optional<std::string> contents = context.machine.readFile(setting);
        if (contents)
            wanted = capture::Edid::parseFile(*contents, error);
        if (!wanted) {
            check.status = Status::Fail;
            check.finding = settingText + ": " + (contents ? error : "cannot read it");
            check.fix = "point [capture] edid at an EDID file (hex or binary), or default";
            return check;
        }
        wantedName = "the EDID from " + setting;
    }
    if (facts.edid.empty()) {
        check.finding = facts.edidNode + " holds no EDID: the target sees no monitor";
        if (!wanted) {
            check.status = Status::Fail;
            check.fix = "set [capture] edid = default";
        } else if (context.insideDaemon()) {
            check.status = Status::Fail;
            check.fix = "kvmvncctl edid show says why loading " + wantedName + " failed";
        } else {
            check.status = Status::Warning;
            check.finding += " until kvmvncd loads " + wantedName + " when it starts";
            check.fix = "start kvmvncd; if it runs, kvmvncctl edid show says why it is not loaded";
        }
        return check;
    }
    std::string error;
    std::optional<capture::Edid> held = capture::Edid::parse(facts.edid, error);
    if (!held) {
        check.status = Status::Fail;
        check.finding = facts.edidNode + " holds an invalid EDID: " + error;
        check.fix = "set [capture] edid = default (or a valid EDID file)";
        return check;
    }
    if (!wanted) {
        check.status = Status::Ok;
        check.finding = facts.edidNode + " holds " + edidSummary(*held) + " (" + settingText + ")";
    } else if (wanted->matchesReadBack(facts.edid)) {
        check.status = Status::Ok;
        check.finding = facts.edidNode + " holds " + wantedName + ": " + edidSummary(*held);
    } else {
        check.status = Status::Warning;
        check.finding =
            facts.edidNode + " holds another EDID (" + edidSummary(*held) + ") than " + settingText;
        check.fix = context.insideDaemon()
                        ? "kvmvncctl edid show says why loading it failed"
                        : "kvmvncd loads it when it starts and on systemctl reload kvmvncd";
    }
    return check;
}

}  // namespace kvmvnc::doctor::checks
