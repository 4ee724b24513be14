// SPDX-License-Identifier: GPL-2.0-or-later
// The USB device controller and the gadget: what makes the Pi the target's
// keyboard, mouse and drive.
#include <algorithm>
#include <filesystem>

#include "checks.h"

namespace kvmvnc::doctor::checks {

namespace fs = std::filesystem;

namespace {

constexpr const char *kUdcClass = "/sys/class/udc";
constexpr const char *kGadgets = "/sys/kernel/config/usb_gadget";
// Where Raspberry Pi OS keeps the firmware's settings: bookworm, then older.
constexpr const char *kBootConfigs[] = {"/boot/firmware/config.txt", "/boot/config.txt"};
constexpr const char *kModelFiles[] = {"/proc/device-tree/model",
                                       "/sys/firmware/devicetree/base/model"};

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

// The gadget that holds [msd] lun, else "kvmvnc" (packaging/kvmvnc-gadget's),
// else the first with a HID function; empty when there is none.
std::string findGadget(const Context &context) {
    const std::vector<std::string> gadgets = context.machine.listDirectory(kGadgets);
    const std::string prefix = std::string(kGadgets) + "/";
    if (context.config.msd.lun.starts_with(prefix)) {
        const std::string rest = context.config.msd.lun.substr(prefix.size());
        std::string name = rest.substr(0, rest.find('/'));
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

}  // namespace

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

}  // namespace kvmvnc::doctor::checks
