// SPDX-License-Identifier: GPL-2.0-or-later
// LinuxMachine::probeGpio: a GPIO chip and its lines through libgpiod 1.6,
// as GpioAtxPins opens them (src/atx/gpio_atx_pins.cpp), reading the lines'
// information without requesting them: a running kvmvncd holds them.
#include <gpiod.h>

#include <memory>

#include "kvmvnc/doctor/machine.h"

namespace kvmvnc::doctor {

namespace {

struct ChipCloser {
    void operator()(gpiod_chip *chip) const { gpiod_chip_close(chip); }
};

}  // namespace

GpioFacts LinuxMachine::probeGpio(const std::string &chip, const std::vector<int> &offsets) const {
    GpioFacts facts;
    std::unique_ptr<gpiod_chip, ChipCloser> handle(gpiod_chip_open_lookup(chip.c_str()));
    if (!handle) {
        facts.openError = errno != 0 ? errno : ENOENT;
        return facts;
    }
    facts.name = gpiod_chip_name(handle.get());
    facts.label = gpiod_chip_label(handle.get());
    facts.lineCount = gpiod_chip_num_lines(handle.get());
    for (int offset : offsets) {
        GpioFacts::Line line;
        line.offset = offset;
        if (offset >= 0 && static_cast<unsigned>(offset) < facts.lineCount) {
            // The chip owns the line object; getting it reads its information.
            if (gpiod_line *gpio =
                    gpiod_chip_get_line(handle.get(), static_cast<unsigned>(offset))) {
                line.exists = true;
                line.used = gpiod_line_is_used(gpio);
                if (const char *name = gpiod_line_name(gpio))
                    line.name = name;
                if (const char *consumer = gpiod_line_consumer(gpio))
                    line.consumer = consumer;
            }
        }
        facts.lines.push_back(std::move(line));
    }
    return facts;
}

}  // namespace kvmvnc::doctor
