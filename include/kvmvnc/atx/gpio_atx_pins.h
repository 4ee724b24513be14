// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <memory>
#include <string>

#include "kvmvnc/atx/atx_pins.h"

struct gpiod_chip;
struct gpiod_line;

namespace kvmvnc::atx {

// Which GPIO lines the front panel is wired to. The daemon fills it from
// [atx]; the atx library does not know the configuration.
struct GpioAtxOptions {
    std::string chip = "gpiochip0";  // a name under /dev, a path, a number or a label
    // Line offsets on `chip`; -1 leaves one unwired.
    int powerButton = -1;
    int resetButton = -1;
    int powerLed = -1;
    int hddLed = -1;
    bool buttonsActiveLow = false;  // relay/optocoupler boards switch on high
    bool ledsActiveLow = true;      // optocouplers pull the input low when lit
};

// The front panel on GPIO lines through libgpiod (v1 API): buttons are
// output lines held at "pressed" while a button is held, LEDs are input
// lines with both-edge events. Active-low wiring is left to the kernel
// (GPIOD_LINE_REQUEST_FLAG_ACTIVE_LOW), so every level here is logical.
//
// The constructor opens the chip and requests every wired line, buttons
// released; it throws std::runtime_error naming chip and line when it
// cannot. The destructor releases the buttons and frees the lines.
//
// Thread-bound: AtxController's thread calls it (hasButton() and
// description() are constant and may be called from anywhere).
class GpioAtxPins final : public AtxPins {
public:
    explicit GpioAtxPins(GpioAtxOptions options);
    ~GpioAtxPins() override;
    GpioAtxPins(const GpioAtxPins &) = delete;
    GpioAtxPins &operator=(const GpioAtxPins &) = delete;

    bool hasButton(Button button) const override;
    bool setButton(Button button, bool pressed, std::string &error) override;
    LedLevels readLeds() override;
    void waitForLedEdge(std::chrono::milliseconds timeout) override;
    std::string description() const override;

private:
    struct ChipCloser {
        void operator()(gpiod_chip *chip) const;
    };

    // One wired line: its name for messages, its offset, the request.
    struct Line {
        const char *what = "";
        int offset = -1;
        gpiod_line *line = nullptr;
    };

    // A button is an output, an LED an input with events on both edges.
    enum class LineUse : bool { Button, Led };

    void requestLine(Line &line, const char *what, int offset, LineUse use);
    gpiod_line *lineAt(const char *what, int offset);
    std::string lineName(const Line &line) const;
    bool readLed(Line &line);

    GpioAtxOptions options_;
    std::string chipName_;
    std::unique_ptr<gpiod_chip, ChipCloser> chip_;
    Line powerButton_;
    Line resetButton_;
    Line powerLed_;
    Line hddLed_;
    bool warnedRead_ = false;
    bool warnedWait_ = false;
};

}  // namespace kvmvnc::atx
