// SPDX-License-Identifier: GPL-2.0-or-later
// ATX on real GPIO lines (gpio-sim) in the lab guest: GpioAtxPins and
// AtxController, run by kvmvnc-atx-probe, drive a button line for the click
// time and hear the LED lines, debounced and active-low. The guest script
// samples the button line's value and drives the LEDs through their pulls.
#include <gtest/gtest.h>

#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "lab_test.h"

namespace kvmvnc::lab {
namespace {

// "line0=V at=MS" lines of atx-click: the button line's value over time.
struct Sample {
    int value;
    int atMs;
};

std::vector<Sample> samples(const std::string &output) {
    std::vector<Sample> found;
    std::istringstream lines(output);
    std::string line;
    while (std::getline(lines, line)) {
        int value = 0;
        int at = 0;
        if (std::sscanf(line.c_str(), "line0=%d at=%d", &value, &at) == 2)
            found.push_back({value, at});
    }
    return found;
}

std::vector<int> values(const std::vector<Sample> &samples) {
    std::vector<int> found;
    for (const Sample &sample : samples)
        found.push_back(sample.value);
    return found;
}

// The lines starting with `prefix`.
std::string linesStarting(const std::string &output, const std::string &prefix) {
    std::istringstream lines(output);
    std::string line;
    std::string found;
    while (std::getline(lines, line))
        if (line.rfind(prefix, 0) == 0)
            found += line + "\n";
    return found;
}

class AtxLab : public LabTest {
protected:
    AtxLab() : LabTest("atx") {}

    void SetUp() override {
        LabTest::SetUp();
        if (IsSkipped() || HasFatalFailure())
            return;
        LabVm::Reply up = run("atx-up");
        ASSERT_NE(up.output.find("chip=/dev/gpiochip"), std::string::npos) << up.output;
        chip_ = up.output.substr(up.output.find("/dev/") + 5);
        chip_.erase(chip_.find('\n'));
    }

    // The button line is high for the click and low again after; the time
    // high is the click (500 ms) give or take the script's sampling.
    void expectClick(const std::vector<Sample> &line, size_t pressedIndex) {
        ASSERT_GT(line.size(), pressedIndex + 1);
        const int heldMs = line[pressedIndex + 1].atMs - line[pressedIndex].atMs;
        std::printf("button line held for %d ms (500 ms click)\n", heldMs);
        EXPECT_GE(heldMs, 400);
        EXPECT_LE(heldMs, 3000);
    }

    std::string chip_;  // gpiochipN
};

// Buttons: a click drives the power line high (relay boards switch on high)
// for the click time; wired active-low, the line rests high once requested
// and goes low for the click; released lines return to their pull. A line
// the chip does not have is a one-line error naming chip and line.
TEST_F(AtxLab, ClickDrivesThePowerLineForTheClickTime) {
    LabVm::Reply click = run("atx-click");
    EXPECT_EQ(linesStarting(click.output, "pins "), "pins " + chip_ + " lines 0/1 in 2/3\n");
    EXPECT_EQ(linesStarting(click.output, "leds "), "leds power=0 hdd=0\n");
    EXPECT_EQ(linesStarting(click.output, "perform "), "perform power: ok\n");
    EXPECT_EQ(linesStarting(click.output, "state "),
              "state power=0 hdd=0 busy=1\nstate power=0 hdd=0 busy=0\n");
    EXPECT_EQ(linesStarting(click.output, "probe_rc="), "probe_rc=0\n");
    std::vector<Sample> line = samples(click.output);
    EXPECT_EQ(values(line), (std::vector<int>{0, 1, 0})) << click.output;
    expectClick(line, 1);

    LabVm::Reply activeLow = run("atx-click --buttons-active-low");
    EXPECT_EQ(linesStarting(activeLow.output, "perform "), "perform power: ok\n");
    EXPECT_EQ(linesStarting(activeLow.output, "probe_rc="), "probe_rc=0\n");
    line = samples(activeLow.output);
    // Pulled down, requested released (high), pressed, released, freed.
    EXPECT_EQ(values(line), (std::vector<int>{0, 1, 0, 1, 0})) << activeLow.output;
    expectClick(line, 2);

    LabVm::Reply missing = vm_->command("atx-probe --power-button 9");
    EXPECT_EQ(missing.output, "error " + chip_ +
                                  " line 9 (power button): no such line, the chip has 8\n"
                                  "probe_rc=1\n");
    // Nothing wired: the probe says so instead of pressing.
    LabVm::Reply unwired = run("atx-probe --watch-ms 0 reset");
    EXPECT_EQ(linesStarting(unwired.output, "perform "),
              "perform reset: refused the reset button is not wired\n");
}

// LEDs: lit is a low line (active-low); a lasting change is heard once, a
// flicker shorter than the debounce not at all. Wired active-high, the
// same pulled-up line reads lit.
TEST_F(AtxLab, LedLinesAreDebouncedAndActiveLow) {
    LabVm::Reply leds = run("atx-leds");
    EXPECT_EQ(linesStarting(leds.output, "leds "), "leds power=0 hdd=0\n");
    EXPECT_EQ(linesStarting(leds.output, "state "),
              "state power=1 hdd=0 busy=0\nstate power=0 hdd=0 busy=0\n")
        << leds.output;
    EXPECT_EQ(linesStarting(leds.output, "done"), "done\n");
    EXPECT_EQ(linesStarting(leds.output, "probe_rc="), "probe_rc=0\n");

    LabVm::Reply activeHigh = run("atx-probe --power-led 2 --leds-active-high --watch-ms 0");
    EXPECT_EQ(linesStarting(activeHigh.output, "leds "), "leds power=1 hdd=0\n");
}

}  // namespace
}  // namespace kvmvnc::lab
