// SPDX-License-Identifier: GPL-2.0-or-later
// GPIO: the chip [atx] names and the lines the front panel is wired to.
#include <algorithm>

#include "checks.h"

namespace kvmvnc::doctor::checks {

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
        check.fix = openFix(facts.openError, "set [atx] chip to one gpiodetect lists");
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

}  // namespace kvmvnc::doctor::checks
