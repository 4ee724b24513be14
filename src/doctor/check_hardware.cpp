// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/doctor/check_hardware.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "checks.h"
#include "kvmvnc/base/error_text.h"
#include "kvmvnc/health/soc_sensors.h"

namespace kvmvnc::doctor {

namespace checks {

std::string modeText(uint32_t mode) {
    char text[8];
    std::snprintf(text, sizeof(text), "%04o", mode);
    return text;
}

std::string join(const std::vector<std::string> &items, const char *separator) {
    std::string text;
    for (const std::string &item : items)
        text += (text.empty() ? "" : separator) + item;
    return text;
}

std::string openFix(int error, const char *otherwise) {
    return error == EACCES || error == EPERM ? "run this check as root or as kvmvncd's user"
                                             : otherwise;
}

}  // namespace checks

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
    using namespace checks;
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
        offsets.reserve(wired.size());
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
