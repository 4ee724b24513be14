// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/atx/gpio_atx_pins.h"

#include <gpiod.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <thread>

#include "kvmvnc/base/error_text.h"
#include "kvmvnc/base/log.h"

namespace kvmvnc::atx {

namespace {

constexpr const char *kLog = "atx";
constexpr const char *kConsumer = "kvmvnc";
constexpr unsigned kEventsPerRead = 16;

std::string offsetText(int offset) { return offset < 0 ? "-" : std::to_string(offset); }

}  // namespace

void GpioAtxPins::ChipCloser::operator()(gpiod_chip *chip) const { gpiod_chip_close(chip); }

GpioAtxPins::GpioAtxPins(GpioAtxOptions options) : options_(std::move(options)) {
    chip_.reset(gpiod_chip_open_lookup(options_.chip.c_str()));
    if (!chip_)
        throw std::runtime_error(options_.chip +
                                 ": cannot open the GPIO chip: " + errorText(errno));
    chipName_ = gpiod_chip_name(chip_.get());
    requestLine(powerButton_, "power button", options_.powerButton, LineUse::Button);
    requestLine(resetButton_, "reset button", options_.resetButton, LineUse::Button);
    requestLine(powerLed_, "power LED", options_.powerLed, LineUse::Led);
    requestLine(hddLed_, "HDD LED", options_.hddLed, LineUse::Led);
    LOG_INFO(kLog, "front panel on %s", description().c_str());
}

GpioAtxPins::~GpioAtxPins() {
    // Closing the chip frees the lines, which may leave an output where it
    // was: release the buttons first.
    for (Line *button : {&powerButton_, &resetButton_})
        if (button->line)
            gpiod_line_set_value(button->line, 0);
}

gpiod_line *GpioAtxPins::lineAt(const char *what, int offset) {
    const unsigned lines = gpiod_chip_num_lines(chip_.get());
    if (static_cast<unsigned>(offset) >= lines)
        throw std::runtime_error(chipName_ + " line " + std::to_string(offset) + " (" + what +
                                 "): no such line, the chip has " + std::to_string(lines));
    gpiod_line *line = gpiod_chip_get_line(chip_.get(), static_cast<unsigned>(offset));
    if (!line)
        throw std::runtime_error(chipName_ + " line " + std::to_string(offset) + " (" + what +
                                 "): " + errorText(errno));
    return line;
}

void GpioAtxPins::requestLine(Line &line, const char *what, int offset, LineUse use) {
    line.what = what;
    line.offset = offset;
    if (offset < 0)
        return;
    gpiod_line *gpio = lineAt(what, offset);
    const bool button = use == LineUse::Button;
    const bool activeLow = button ? options_.buttonsActiveLow : options_.ledsActiveLow;
    const gpiod_line_request_config config{
        kConsumer,
        button ? GPIOD_LINE_REQUEST_DIRECTION_OUTPUT : GPIOD_LINE_REQUEST_EVENT_BOTH_EDGES,
        activeLow ? GPIOD_LINE_REQUEST_FLAG_ACTIVE_LOW : 0};
    // A button starts at logical 0: released, whichever way the board is wired.
    if (gpiod_line_request(gpio, &config, 0) != 0)
        throw std::runtime_error(lineName(line) + ": cannot request it as " +
                                 (button ? "an output: " : "an input with events: ") +
                                 errorText(errno));
    line.line = gpio;
}

std::string GpioAtxPins::lineName(const Line &line) const {
    return chipName_ + " line " + std::to_string(line.offset) + " (" + line.what + ")";
}

bool GpioAtxPins::hasButton(Button button) const {
    return (button == Button::Power ? powerButton_ : resetButton_).line != nullptr;
}

bool GpioAtxPins::setButton(Button button, bool pressed, std::string &error) {
    Line &line = button == Button::Power ? powerButton_ : resetButton_;
    if (!line.line) {
        error = std::string("the ") + line.what + " is not wired";
        return false;
    }
    if (gpiod_line_set_value(line.line, pressed ? 1 : 0) != 0) {
        error = lineName(line) + ": cannot set it: " + errorText(errno);
        return false;
    }
    return true;
}

bool GpioAtxPins::readLed(Line &line) {
    if (!line.line)
        return false;
    const int value = gpiod_line_get_value(line.line);
    if (value < 0) {
        if (!warnedRead_)
            LOG_WARN(kLog, "%s: cannot read it: %s", lineName(line).c_str(),
                     errorText(errno).c_str());
        warnedRead_ = true;
        return false;
    }
    return value == 1;
}

LedLevels GpioAtxPins::readLeds() { return {readLed(powerLed_), readLed(hddLed_)}; }

void GpioAtxPins::waitForLedEdge(std::chrono::milliseconds timeout) {
    gpiod_line_bulk leds;
    gpiod_line_bulk_init(&leds);
    for (Line *led : {&powerLed_, &hddLed_})
        if (led->line)
            gpiod_line_bulk_add(&leds, led->line);
    if (gpiod_line_bulk_num_lines(&leds) == 0) {
        std::this_thread::sleep_for(timeout);
        return;
    }
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(timeout);
    const timespec wait{static_cast<time_t>(seconds.count()),
                        static_cast<long>((timeout - seconds).count() * 1000000)};
    gpiod_line_bulk ready;
    gpiod_line_bulk_init(&ready);
    const int result = gpiod_line_event_wait_bulk(&leds, &wait, &ready);
    if (result < 0) {
        if (!warnedWait_)
            LOG_WARN(kLog, "%s: waiting for LED events failed: %s", chipName_.c_str(),
                     errorText(errno).c_str());
        warnedWait_ = true;
        std::this_thread::sleep_for(timeout);  // the caller re-reads the levels anyway
        return;
    }
    // Drain the events; the caller reads the levels themselves, which is
    // what counts after a burst of bounces.
    gpiod_line_event events[kEventsPerRead];
    for (unsigned i = 0; i < gpiod_line_bulk_num_lines(&ready); ++i)
        gpiod_line_event_read_multiple(gpiod_line_bulk_get_line(&ready, i), events, kEventsPerRead);
}

std::string GpioAtxPins::description() const {
    return chipName_ + " lines " + offsetText(powerButton_.offset) + "/" +
           offsetText(resetButton_.offset) + " in " + offsetText(powerLed_.offset) + "/" +
           offsetText(hddLed_.offset);
}

}  // namespace kvmvnc::atx
