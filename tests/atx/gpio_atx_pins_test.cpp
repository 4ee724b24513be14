// SPDX-License-Identifier: GPL-2.0-or-later
// GpioAtxPins on real lines is tested in the lab (tests/lab/atx_lab_test.cpp,
// gpio-sim); the host has no GPIO, which is what is tested here.
#include "kvmvnc/atx/gpio_atx_pins.h"

#include <gtest/gtest.h>

#include <stdexcept>

namespace kvmvnc::atx {
namespace {

TEST(GpioAtxPins, AChipThatCannotBeOpenedThrowsNamingIt) {
    GpioAtxOptions options;
    options.chip = "/nonexistent/gpiochip9";
    options.powerButton = 23;
    try {
        GpioAtxPins pins(options);
        FAIL() << "opened " << pins.description();
    } catch (const std::runtime_error &error) {
        EXPECT_EQ(std::string(error.what())
                      .rfind("/nonexistent/gpiochip9: cannot open the GPIO chip: ", 0),
                  0u)
            << error.what();
    }
}

}  // namespace
}  // namespace kvmvnc::atx
