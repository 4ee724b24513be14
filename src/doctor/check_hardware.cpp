// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/doctor/check_hardware.h"

#include <linux/videodev2.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <functional>
#include <span>

#include "kvmvnc/capture/edid.h"
#include "kvmvnc/doctor/certificate_info.h"
#include "kvmvnc/health/soc_sensors.h"
#include "kvmvnc/health/throttle_flags.h"

namespace kvmvnc::doctor {

namespace fs = std::filesystem;

namespace {

constexpr const char *kUdcClass = "/sys/class/udc";
constexpr const char *kGadgets = "/sys/kernel/config/usb_gadget";
// Where Raspberry Pi OS keeps the firmware's settings: bookworm, then older.
constexpr const char *kBootConfigs[] = {"/boot/firmware/config.txt", "/boot/config.txt"};
constexpr const char *kModelFiles[] = {"/proc/device-tree/model",
                                       "/sys/firmware/devicetree/base/model"};
constexpr size_t kListedSizes = 6;

std::string errorText(int error) { return std::strerror(error < 0 ? -error : error); }

std::string modeText(uint32_t mode) {
    char text[8];
    std::snprintf(text, sizeof(text), "%04o", mode);
    return text;
}

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

std::string join(const std::vector<std::string> &items, const char *separator = ", ") {
    std::string text;
    for (const std::string &item : items)
        text += (text.empty() ? "" : separator) + item;
    return text;
}

// Everything one run of the checks shares.
struct Context {
    const config::Config &config;
    const Machine &machine;
    const CheckOptions &options;
    Needs needs;
    Account account;
    bool insideDaemon() const { return options.daemonPort.has_value(); }
};

// --- the USB device controller and the gadget ---------------------------------------------

// The board's name from the device tree: "Raspberry Pi 4 Model B Rev 1.4";
// empty on machines without one.
std::string boardModel(const Machine &machine) {
    for (const char *path : kModelFiles) {
        if (auto model = machine.readLine(path); model && !model->empty())
            return *model;
    }
    return {};
}

// Raspberry Pis whose only USB port that could be a device is wired to a hub
// (and Ethernet) chip: no OTG port, whatever the overlay says.
bool hasNoOtgPort(const std::string &model) {
    static constexpr const char *kHubOnly[] = {"Raspberry Pi Model B", "Raspberry Pi 2 Model B",
                                               "Raspberry Pi 3 Model B"};
    return std::any_of(std::begin(kHubOnly), std::end(kHubOnly),
                       [&](const char *prefix) { return model.starts_with(prefix); });
}

// The config.txt that sets dtoverlay=dwc2, and the line; empty when none.
struct Overlay {
    std::string file;
    std::string line;
};
Overlay dwc2Overlay(const Machine &machine, std::string &configFile) {
    for (const char *path : kBootConfigs) {
        std::optional<std::string> text = machine.readFile(path);
        if (!text)
            continue;
        if (configFile.empty())
            configFile = path;
        size_t start = 0;
        while (start < text->size()) {
            size_t end = text->find('\n', start);
            if (end == std::string::npos)
                end = text->size();
            std::string line = text->substr(start, end - start);
            start = end + 1;
            line.erase(0, line.find_first_not_of(" \t"));
            while (!line.empty() && (line.back() == '\r' || line.back() == ' '))
                line.pop_back();
            if (line.starts_with("dtoverlay=dwc2") &&
                (line.size() == 14 || line[14] == ',' || line[14] == ':'))
                return {path, line};
        }
    }
    return {};
}

HardwareCheck usbControllerCheck(const Context &context) {
    HardwareCheck check{"usb controller", Status::Ok, {}, {}};
    const Machine &machine = context.machine;
    const std::vector<std::string> udcs = machine.listDirectory(kUdcClass);
    if (!context.needs.usb()) {
        check.status = Status::Skipped;
        check.finding = "not needed: keyboard, mouse and drive do not go through USB here";
        return check;
    }
    const std::string model = boardModel(machine);
    std::string configFile;
    const Overlay overlay = dwc2Overlay(machine, configFile);
    if (configFile.empty())
        configFile = kBootConfigs[0];
    if (!udcs.empty()) {
        check.finding = join(udcs) + (model.empty() ? "" : " (" + model + ")");
        return check;
    }
    check.status = Status::Fail;
    if (overlay.line.find("dr_mode=host") != std::string::npos) {
        check.finding = "no USB device controller: " + overlay.file + " has \"" + overlay.line +
                        "\", which makes the port a host";
        check.fix = "write dtoverlay=dwc2,dr_mode=peripheral there and reboot";
    } else if (hasNoOtgPort(model)) {
        check.finding =
            "this board has no OTG port (" + model + "): nothing can be the target's USB keyboard";
        check.fix =
            "use a Raspberry Pi 4, 5, Zero 2 W or a Compute Module, whose USB-C or OTG port can "
            "be a device";
    } else if (!overlay.line.empty()) {
        check.finding =
            "no USB device controller, although " + overlay.file + " has \"" + overlay.line + "\"";
        check.fix = machine.exists("/sys/module/dwc2")
                        ? "dmesg | grep dwc2 says why the controller did not start"
                        : "reboot: the overlay takes effect at boot (the dwc2 driver is not "
                          "loaded)";
    } else if (model.starts_with("Raspberry Pi")) {
        check.finding = "no USB device controller: the dwc2 overlay is off (" + model + ")";
        check.fix =
            "add dtoverlay=dwc2,dr_mode=peripheral under [all] in " + configFile + " and reboot";
    } else {
        check.finding = "no USB device controller (" + std::string(kUdcClass) + " is empty)";
        check.fix =
            "kvmvncd needs a USB port that can be a device (OTG), as on a Raspberry Pi 4 or "
            "Zero with dtoverlay=dwc2";
    }
    return check;
}

// The gadget that holds [msd] lun, else "kvmvnc" (packaging/kvmvnc-gadget's),
// else the first with a HID function; empty when there is none.
std::string findGadget(const Context &context) {
    const std::vector<std::string> gadgets = context.machine.listDirectory(kGadgets);
    const std::string prefix = std::string(kGadgets) + "/";
    if (context.config.msd.lun.starts_with(prefix)) {
        const std::string rest = context.config.msd.lun.substr(prefix.size());
        const std::string name = rest.substr(0, rest.find('/'));
        if (std::find(gadgets.begin(), gadgets.end(), name) != gadgets.end())
            return name;
    }
    if (std::find(gadgets.begin(), gadgets.end(), "kvmvnc") != gadgets.end())
        return "kvmvnc";
    for (const std::string &gadget : gadgets) {
        for (const std::string &function :
             context.machine.listDirectory(prefix + gadget + "/functions"))
            if (function.starts_with("hid."))
                return gadget;
    }
    return gadgets.empty() ? std::string() : gadgets.front();
}

struct Gadget {
    std::string name;
    std::string udc;                     // empty: not bound
    std::vector<std::string> functions;  // those linked into a configuration
};

Gadget readGadget(const Context &context) {
    Gadget gadget;
    gadget.name = findGadget(context);
    if (gadget.name.empty())
        return gadget;
    const std::string dir = std::string(kGadgets) + "/" + gadget.name;
    gadget.udc = context.machine.readLine(dir + "/UDC").value_or("");
    for (const std::string &function : context.machine.listDirectory(dir + "/functions")) {
        for (const std::string &configuration : context.machine.listDirectory(dir + "/configs")) {
            if (context.machine.exists(dir + "/configs/" + configuration + "/" + function)) {
                gadget.functions.push_back(function);
                break;
            }
        }
    }
    return gadget;
}

HardwareCheck usbGadgetCheck(const Context &context, const Gadget &gadget) {
    HardwareCheck check{"usb gadget", Status::Ok, {}, {}};
    if (!context.needs.usb()) {
        check.status = Status::Skipped;
        check.finding = "not needed";
        return check;
    }
    check.status = Status::Fail;
    if (!context.machine.exists(kGadgets)) {
        check.finding = std::string("configfs has no ") + kGadgets +
                        " (libcomposite not loaded, or configfs not mounted)";
        check.fix = "sudo systemctl start kvmvnc-gadget (it loads libcomposite)";
        return check;
    }
    if (gadget.name.empty()) {
        check.finding = std::string("no USB gadget in ") + kGadgets;
        check.fix = "sudo systemctl start kvmvnc-gadget (or sudo kvmvnc-gadget up)";
        return check;
    }
    const bool hid = std::any_of(gadget.functions.begin(), gadget.functions.end(),
                                 [](const std::string &f) { return f.starts_with("hid."); });
    if (context.needs.gadgetHid && !hid) {
        check.finding = "gadget " + gadget.name + " has no HID function (keyboard, mouse)";
        check.fix = "sudo kvmvnc-gadget down; sudo kvmvnc-gadget up";
        return check;
    }
    if (gadget.udc.empty()) {
        check.finding = "gadget " + gadget.name + " is not bound to a USB device controller";
        check.fix = "sudo kvmvnc-gadget up (or sudo systemctl restart kvmvnc-gadget)";
        return check;
    }
    if (!context.machine.exists(std::string(kUdcClass) + "/" + gadget.udc)) {
        check.finding =
            "gadget " + gadget.name + " names controller " + gadget.udc + ", which is gone";
        check.fix = "sudo kvmvnc-gadget down; sudo kvmvnc-gadget up";
        return check;
    }
    check.status = Status::Ok;
    check.finding = gadget.name + " bound to " + gadget.udc + ": " + join(gadget.functions);
    return check;
}

// What the target's USB host makes of the gadget. Never a failure: a target
// that is off is no fault of the KVM.
HardwareCheck usbHostCheck(const Context &context, const Gadget &gadget) {
    HardwareCheck check{"usb host", Status::Skipped, {}, {}};
    if (!context.needs.usb()) {
        check.finding = "not needed";
        return check;
    }
    if (gadget.udc.empty()) {
        check.finding = "no gadget bound (above)";
        return check;
    }
    const std::string state =
        context.machine.readLine(std::string(kUdcClass) + "/" + gadget.udc + "/state")
            .value_or("unreadable");
    if (state == "configured") {
        check.status = Status::Ok;
        check.finding = "the target's USB host has configured the gadget";
    } else if (state == "suspended") {
        check.status = Status::Warning;
        check.finding = "the target suspended the USB bus (asleep)";
        check.fix = "a key pressed in a viewer wakes it";
    } else {
        check.status = Status::Warning;
        check.finding = "the target's USB host does not use the gadget (" + state + ")";
        check.fix =
            "is the target on, and the cable in the Pi's USB-C (OTG) port and a USB port of the "
            "target?";
    }
    return check;
}

// A device node or attribute file kvmvncd opens for writing.
// `label` names it in findings.
HardwareCheck writableNodeCheck(const Context &context, const char *name, const std::string &path,
                                const std::string &label, bool characterDevice,
                                const std::string &missingFinding, const std::string &missingFix,
                                const std::string &permissionFix) {
    HardwareCheck check{name, Status::Fail, {}, {}};
    const FileFacts facts = context.machine.stat(path);
    if (facts.error != 0) {
        check.finding =
            facts.error == ENOENT ? missingFinding : path + ": " + errorText(facts.error);
        check.fix = missingFix;
        return check;
    }
    if (characterDevice && !facts.characterDevice) {
        check.finding = path + " is not a device node";
        check.fix = missingFix;
        return check;
    }
    const std::string described =
        label + " " + facts.owner + ":" + facts.group + " " + modeText(facts.mode);
    if (!mayReadWrite(facts, context.account)) {
        check.finding = described + ": user " + context.account.name + " cannot write it";
        check.fix = permissionFix;
        return check;
    }
    check.status = Status::Ok;
    check.finding = described + ", writable by " + context.account.name +
                    (context.account.root && context.account.name != "root" ? " (root)" : "");
    return check;
}

HardwareCheck hidNodeCheck(const Context &context, const char *name, const std::string &path,
                           const char *key, const Gadget &gadget) {
    if (!context.needs.gadgetHid)
        return {name, Status::Skipped, "not needed: [hid] target is the virtual target", {}};
    const std::string fix = gadget.udc.empty()
                                ? "bind the gadget (usb gadget above): the node exists while it is"
                                : std::string("set [hid] ") + key +
                                      " to the gadget's node (ls /dev/hidg*), or sudo "
                                      "kvmvnc-gadget down; sudo kvmvnc-gadget up";
    return writableNodeCheck(
        context, name, path, path, true, "no " + path, fix,
        "the package's udev rule (70-kvmvnc.rules) gives /dev/hidg* to group kvmvnc: reinstall "
        "it, then sudo udevadm trigger");
}

HardwareCheck usbDriveCheck(const Context &context) {
    if (!context.needs.gadgetDrive)
        return {"usb drive", Status::Skipped, "not needed: [msd] target is not the device", {}};
    const std::string &lun = context.config.msd.lun;
    // "mass_storage.usb0/lun.0/file" says enough beside the gadget's line.
    const fs::path file = fs::path(lun) / "file";
    const std::string label = (file.parent_path().parent_path().filename() /
                               file.parent_path().filename() / file.filename())
                                  .string();
    return writableNodeCheck(
        context, "usb drive", file.string(), label, false, "no LUN " + lun,
        "sudo kvmvnc-gadget up creates it ([msd] lun), or set [msd] target = none",
        "kvmvnc-gadget up --owner kvmvnc hands the LUN's files to kvmvncd's user "
        "(sudo systemctl restart kvmvnc-gadget)");
}

// --- the capture device ----------------------------------------------------------------------

struct Capture {
    V4l2Facts facts;
    bool usable = false;  // opened, a capture node, the input exists
    bool dv = false;      // the input has DV timings (an HDMI bridge)
};

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
        check.fix = facts.openError == EACCES || facts.openError == EPERM
                        ? "run this check as root or as kvmvncd's user"
                        : "unplug and plug in the capture device; dmesg says more";
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
    if (!context.needs.v4l2) {
        check.finding = "not needed";
        return check;
    }
    if (!capture.usable) {
        check.finding = "no capture device (above)";
        return check;
    }
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

std::string dvModeText(const V4l2Facts &facts) {
    char rate[32];
    if (facts.refreshMilliHz % 1000 == 0)
        std::snprintf(rate, sizeof(rate), "%u Hz", facts.refreshMilliHz / 1000);
    else
        std::snprintf(rate, sizeof(rate), "%.2f Hz", facts.refreshMilliHz / 1000.0);
    return sizeText(facts.timings) + (facts.interlaced ? "i" : "p") + " at " + rate;
}

// The signal is the target's to send: without one, the check warns.
HardwareCheck captureSignalCheck(const Context &context, const Capture &capture) {
    HardwareCheck check{"capture signal", Status::Skipped, {}, {}};
    if (!context.needs.v4l2) {
        check.finding = "not needed";
        return check;
    }
    if (!capture.usable) {
        check.finding = "no capture device (above)";
        return check;
    }
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

// "monitor kvmvnc, 1920x1080 at 60 Hz preferred".
std::string edidSummary(const capture::Edid &edid) {
    const std::string name = edid.monitorName();
    std::string summary = "monitor " + (name.empty() ? std::string("without a name") : name);
    const std::vector<capture::EdidMode> modes = edid.modes();
    if (!modes.empty() && modes.front().preferred)
        summary += ", " + capture::edidModeText(modes.front()) + " preferred";
    return summary;
}

HardwareCheck edidCheck(const Context &context, const Capture &capture) {
    HardwareCheck check{"edid", Status::Skipped, {}, {}};
    if (!context.needs.v4l2) {
        check.finding = "not needed";
        return check;
    }
    if (!capture.usable) {
        check.finding = "no capture device (above)";
        return check;
    }
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

// --- GPIO ----------------------------------------------------------------------------------

struct WiredLine {
    const char *what;  // "power button"
    const char *key;   // "power_button"
    int offset;
};

std::vector<WiredLine> wiredLines(const config::AtxSection &atx) {
    std::vector<WiredLine> lines;
    for (WiredLine line : {WiredLine{"power button", "power_button", atx.powerButton},
                           WiredLine{"reset button", "reset_button", atx.resetButton},
                           WiredLine{"power LED", "power_led", atx.powerLed},
                           WiredLine{"HDD LED", "hdd_led", atx.hddLed}}) {
        if (line.offset >= 0)
            lines.push_back(line);
    }
    return lines;
}

HardwareCheck gpioChipCheck(const Context &context, const GpioFacts &facts) {
    HardwareCheck check{"gpio chip", Status::Fail, {}, {}};
    const std::string &chip = context.config.atx.chip;
    if (facts.openError != 0) {
        check.finding = "cannot open GPIO chip " + chip + ": " + errorText(facts.openError);
        check.fix = facts.openError == EACCES || facts.openError == EPERM
                        ? "run this check as root or as kvmvncd's user"
                        : "set [atx] chip to one gpiodetect lists";
        return check;
    }
    const std::string node = "/dev/" + facts.name;
    const FileFacts file = context.machine.stat(node);
    const std::string described =
        node + " (" + facts.label + ", " + std::to_string(facts.lineCount) + " lines)";
    if (file.error == 0 && !mayReadWrite(file, context.account)) {
        check.finding = described + " " + file.owner + ":" + file.group + " " +
                        modeText(file.mode) + ": user " + context.account.name + " cannot use it";
        check.fix =
            "the package's udev rule (70-kvmvnc.rules) gives GPIO chips to group gpio, which "
            "kvmvncd's user is in: reinstall it, then sudo udevadm trigger";
        return check;
    }
    check.status = Status::Ok;
    check.finding = described;
    if (file.error == 0)
        check.finding += ", " + file.owner + ":" + file.group + " " + modeText(file.mode);
    return check;
}

HardwareCheck gpioLinesCheck(const GpioFacts &facts, const std::vector<WiredLine> &wired) {
    HardwareCheck check{"gpio lines", Status::Fail, {}, {}};
    if (facts.openError != 0) {
        check.status = Status::Skipped;
        check.finding = "no GPIO chip (above)";
        return check;
    }
    if (wired.empty()) {
        check.status = Status::Warning;
        check.finding = "no line wired: every [atx] line is -1";
        check.fix = "set [atx] power_button and the others to the lines the front panel is on";
        return check;
    }
    std::vector<std::string> found;
    for (size_t i = 0; i < wired.size(); ++i) {
        const WiredLine &line = wired[i];
        const GpioFacts::Line &info = facts.lines.at(i);
        const std::string which = std::string(line.what) + " line " + std::to_string(line.offset);
        for (size_t j = 0; j < i; ++j) {
            if (wired[j].offset == line.offset) {
                check.finding = which + " is the " + wired[j].what + "'s too";
                check.fix = std::string("set [atx] ") + line.key + " to a line of its own";
                return check;
            }
        }
        if (!info.exists) {
            check.finding = which + ": " + facts.name + " has " + std::to_string(facts.lineCount) +
                            " lines (0 to " +
                            std::to_string(static_cast<int>(facts.lineCount) - 1) + ")";
            check.fix = std::string("set [atx] ") + line.key + " to a line of " + facts.name +
                        " (gpioinfo " + facts.name + "), or -1 when it is not wired";
            return check;
        }
        // kvmvncd's own requests say "kvmvnc" (GpioAtxPins).
        if (info.used && info.consumer != "kvmvnc") {
            check.finding = which + (info.name.empty() ? "" : " (" + info.name + ")") +
                            " is held by " +
                            (info.consumer.empty() ? "the kernel" : "\"" + info.consumer + "\"");
            check.fix = std::string(
                            "free it (stop that program, or drop the overlay that claims "
                            "it), or set [atx] ") +
                        line.key + " to another line";
            return check;
        }
        found.push_back(std::string(line.what) + " " + std::to_string(line.offset) +
                        (info.name.empty() ? "" : " (" + info.name + ")"));
    }
    check.status = Status::Ok;
    check.finding = join(found) + " on " + facts.name;
    const bool held = std::all_of(facts.lines.begin(), facts.lines.end(),
                                  [](const GpioFacts::Line &line) { return line.used; });
    if (held)
        check.finding += ", held by kvmvncd";
    return check;
}

// --- the board -----------------------------------------------------------------------------

HardwareCheck powerCheck(const health::SocReading &reading) {
    namespace throttle = health::throttle;
    HardwareCheck check{"power", Status::Skipped, {}, {}};
    if (!reading.throttled) {
        check.finding = "no throttling flags (not a Raspberry Pi)";
        return check;
    }
    const uint32_t now = *reading.throttled & throttle::kNowMask;
    const uint32_t past =
        (*reading.throttled & throttle::kOccurredMask) >> throttle::kOccurredShift;
    const bool underVoltage = (now | past) & throttle::kUnderVoltage;
    if (now == 0 && past == 0) {
        check.status = Status::Ok;
        check.finding = "no under-voltage or throttling since boot";
        return check;
    }
    check.status = Status::Warning;
    check.finding = now != 0 ? health::throttleFlagNames(now) + " now" : "";
    if (past != 0)
        check.finding +=
            (check.finding.empty() ? "" : "; ") + health::throttleFlagNames(past) + " since boot";
    check.fix = underVoltage ? "use a 5.1 V supply of 3 A (5 A for a Pi 5) and a short cable; "
                               "do not power the Pi from the target"
                             : "cool the board (heatsink, fan, airflow)";
    return check;
}

HardwareCheck temperatureCheck(const Context &context, const health::SocReading &reading) {
    HardwareCheck check{"temperature", Status::Skipped, {}, {}};
    if (!reading.milliCelsius) {
        check.finding = "no temperature sensor";
        return check;
    }
    char degrees[32];
    std::snprintf(degrees, sizeof(degrees), "%.1f C", *reading.milliCelsius / 1000.0);
    const int hot = context.config.health.hotCelsius;
    if (*reading.milliCelsius >= hot * 1000) {
        check.status = Status::Warning;
        check.finding = std::string(degrees) + ", at or over " + std::to_string(hot) +
                        " C ([health] hot_celsius)";
        check.fix = "cool the board (heatsink, fan, airflow)";
    } else {
        check.status = Status::Ok;
        check.finding = degrees;
    }
    return check;
}

// --- the network side ------------------------------------------------------------------------

HardwareCheck certificateFileCheck(const Context &context) {
    const config::SecuritySection &security = context.config.security;
    const bool generated = security.tlsCert.empty();
    const std::string path = generated ? security.tlsDir + "/cert.pem" : security.tlsCert;
    const bool needed = context.needs.tls;
    const std::string why = needed ? "" : " (no one logs in: no password or users file)";
    std::optional<std::string> pem = context.machine.readFile(path);
    if (!pem) {
        const FileFacts facts = context.machine.stat(path);
        if (generated && facts.error == ENOENT)
            return {"certificate",
                    Status::Ok,
                    "none yet: kvmvncd makes a self-signed one in " + security.tlsDir +
                        " when it starts" + why,
                    {}};
        return {"certificate", needed ? Status::Fail : Status::Warning,
                "cannot read " + path + ": " + errorText(facts.error ? facts.error : EACCES) + why,
                facts.error == ENOENT ? "set [security] tls_cert and tls_key to your certificate "
                                        "and key, or leave both empty for a self-signed one"
                                      : "run this check as root or as kvmvncd's user"};
    }
    std::string error;
    std::optional<CertificateInfo> info = inspectCertificate(
        std::span(reinterpret_cast<const uint8_t *>(pem->data()), pem->size()), error);
    if (!info)
        return {"certificate", needed ? Status::Fail : Status::Warning, path + ": " + error + why,
                "set [security] tls_cert to a PEM certificate"};
    const std::string fixExpired =
        generated ? "delete cert.pem and key.pem in " + security.tlsDir +
                        ": kvmvncd makes new ones at start (viewers then see a new fingerprint)"
                  : "renew " + path + " and " + security.tlsKey;
    HardwareCheck check =
        certificateCheck("certificate", *info, context.options.now, needed, path, fixExpired);
    if (check.status == Status::Ok &&
        !context.machine.exists(generated ? security.tlsDir + "/key.pem" : security.tlsKey)) {
        check.status = needed ? Status::Fail : Status::Warning;
        check.finding += ", but no key";
        check.fix = generated ? fixExpired : "set [security] tls_key to the certificate's key";
    }
    check.finding += why;
    return check;
}

HardwareCheck listenCheck(const Context &context) {
    HardwareCheck check{"listen address", Status::Ok, {}, {}};
    const config::ServerSection &server = context.config.server;
    const std::string where =
        (server.listen.find(':') != std::string::npos ? "[" + server.listen + "]" : server.listen) +
        ":";
    if (context.options.daemonPort) {
        check.finding = "kvmvncd listens on " + where + std::to_string(*context.options.daemonPort);
        return check;
    }
    const ListenFacts facts = context.machine.probeListen(server.listen, server.port);
    const std::string address = where + std::to_string(server.port);
    switch (facts.state) {
    case ListenFacts::State::Rfb:
        check.finding = "an RFB server answers on " + address + " (" + facts.greeting + ")";
        return check;
    case ListenFacts::State::Free:
    case ListenFacts::State::Refused:
        check.status = Status::Warning;
        check.finding = "nothing listens on " + address + ": kvmvncd is not running";
        check.fix = "sudo systemctl start kvmvncd (journalctl -u kvmvncd says why it stopped)";
        return check;
    case ListenFacts::State::NotLocal:
        check.status = Status::Fail;
        check.finding = facts.detail + " ([server] listen)";
        check.fix = "set [server] listen to one of ip -brief address, or 0.0.0.0";
        return check;
    case ListenFacts::State::Other:
        check.status = Status::Fail;
        check.finding =
            "port " + std::to_string(server.port) + " is taken by another program: " + facts.detail;
        check.fix = "set [server] port to a free one (ss -ltnp shows who has it)";
        return check;
    case ListenFacts::State::Error:
        break;
    }
    check.status = Status::Fail;
    check.finding = facts.detail;
    check.fix = "set [server] listen and port to an address of this machine and a free port";
    return check;
}

}  // namespace

Needs needsOf(const config::Config &config) {
    Needs needs;
    const bool virtualSource = config.capture.source == config::SourceKind::Virtual;
    // As Daemon: auto means the virtual target's when capturing it, else the device.
    const auto onDevice = [&](config::DeviceTarget target) {
        return target == config::DeviceTarget::Device ||
               (target == config::DeviceTarget::Auto && !virtualSource);
    };
    needs.gadgetHid = config.hid.target == config::HidTarget::Gadget ||
                      (config.hid.target == config::HidTarget::Auto && !virtualSource);
    needs.gadgetDrive = onDevice(config.msd.target);
    needs.v4l2 = config.capture.source == config::SourceKind::V4l2;
    needs.gpio = onDevice(config.atx.target);
    needs.tls = !config.server.passwdFile.empty() || !config.security.usersFile.empty();
    return needs;
}

std::vector<HardwareCheck> checkHardware(const config::Config &config, const Machine &machine,
                                         const CheckOptions &options) {
    Context context{config, machine, options, needsOf(config), machine.serviceAccount()};
    std::vector<HardwareCheck> checks;

    const Gadget gadget = context.needs.usb() ? readGadget(context) : Gadget{};
    checks.push_back(usbControllerCheck(context));
    checks.push_back(usbGadgetCheck(context, gadget));
    checks.push_back(usbHostCheck(context, gadget));
    const bool relative = config.hid.mouseMode == config::MouseMode::Relative;
    checks.push_back(hidNodeCheck(context, "keyboard", config.hid.keyboard, "keyboard", gadget));
    checks.push_back(hidNodeCheck(context, "mouse",
                                  relative ? config.hid.relativeMouse : config.hid.mouse,
                                  relative ? "relative_mouse" : "mouse", gadget));
    checks.push_back(usbDriveCheck(context));

    Capture capture;
    checks.push_back(captureDeviceCheck(context, capture));
    checks.push_back(captureFormatsCheck(context, capture));
    checks.push_back(captureSignalCheck(context, capture));
    checks.push_back(edidCheck(context, capture));

    if (context.needs.gpio) {
        const std::vector<WiredLine> wired = wiredLines(config.atx);
        std::vector<int> offsets;
        for (const WiredLine &line : wired)
            offsets.push_back(line.offset);
        const GpioFacts facts = machine.probeGpio(config.atx.chip, offsets);
        checks.push_back(gpioChipCheck(context, facts));
        checks.push_back(gpioLinesCheck(facts, wired));
    } else {
        const std::string why = config.atx.target == config::DeviceTarget::None
                                    ? "not needed: [atx] target = none"
                                    : "not needed: the virtual target's power buttons";
        checks.push_back({"gpio chip", Status::Skipped, why, {}});
        checks.push_back({"gpio lines", Status::Skipped, why, {}});
    }

    const health::SocReading reading = health::SocSensors(machine.hostPath("/sys")).read();
    checks.push_back(powerCheck(reading));
    checks.push_back(temperatureCheck(context, reading));

    checks.push_back(certificateFileCheck(context));
    checks.push_back(listenCheck(context));
    return checks;
}

}  // namespace kvmvnc::doctor
