// SPDX-License-Identifier: GPL-2.0-or-later
// kvmvnc-atx-probe: GpioAtxPins and AtxController on real GPIO lines, for
// the lab's ATX scenario (guest/scenario-atx.sh), until kvmvncd drives ATX
// itself. Opens the lines, optionally performs one action, and prints every
// state the controller reports for --watch-ms (or until SIGTERM), one line
// each:
//
//   pins gpiochip1 lines 0/1 in 2/3
//   leds power=0 hdd=0             the levels at start
//   perform power: ok              the action's result (and message)
//   state power=0 hdd=0 busy=1     each AtxState the listener hears
//   done
//
// A line that cannot be opened prints "error <message>" and exits 1.
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>

#include "kvmvnc/atx/atx_controller.h"
#include "kvmvnc/atx/gpio_atx_pins.h"
#include "kvmvnc/base/log.h"

namespace {

using namespace kvmvnc;

constexpr const char *kUsage =
    "usage: kvmvnc-atx-probe --chip CHIP [--power-button N] [--reset-button N]\n"
    "       [--power-led N] [--hdd-led N] [--buttons-active-low] [--leds-active-high]\n"
    "       [--click-ms N] [--watch-ms N] [power|power-long|reset]\n";

std::mutex outputMutex;

// One line to stdout, flushed: the scenario reads the output while we run.
void say(const std::string &line) {
    std::lock_guard lock(outputMutex);
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
}

std::string describe(const atx::AtxState &state) {
    return "power=" + std::to_string(state.leds.power) + " hdd=" + std::to_string(state.leds.hdd) +
           " busy=" + std::to_string(state.busy);
}

}  // namespace

int main(int argc, char **argv) {
    log::setLevel(log::Level::Warning);  // stderr stays for problems
    atx::GpioAtxOptions pins;
    atx::AtxTimings timings;
    std::chrono::milliseconds watch{2000};
    std::optional<atx::AtxAction> action;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        const bool hasValue = i + 1 < argc;
        auto number = [&] { return std::atoi(argv[++i]); };
        if (arg == "--chip" && hasValue)
            pins.chip = argv[++i];
        else if (arg == "--power-button" && hasValue)
            pins.powerButton = number();
        else if (arg == "--reset-button" && hasValue)
            pins.resetButton = number();
        else if (arg == "--power-led" && hasValue)
            pins.powerLed = number();
        else if (arg == "--hdd-led" && hasValue)
            pins.hddLed = number();
        else if (arg == "--buttons-active-low")
            pins.buttonsActiveLow = true;
        else if (arg == "--leds-active-high")
            pins.ledsActiveLow = false;
        else if (arg == "--click-ms" && hasValue)
            timings.click = std::chrono::milliseconds{number()};
        else if (arg == "--watch-ms" && hasValue)
            watch = std::chrono::milliseconds{number()};
        else if (arg == "power")
            action = atx::AtxAction::PowerClick;
        else if (arg == "power-long")
            action = atx::AtxAction::PowerLongPress;
        else if (arg == "reset")
            action = atx::AtxAction::ResetClick;
        else {
            std::fputs(kUsage, stderr);
            return 2;
        }
    }

    // SIGTERM and SIGINT end the watch early (and cleanly): blocked before
    // the controller's thread exists, so that only sigtimedwait() takes them.
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, nullptr);

    std::unique_ptr<atx::GpioAtxPins> gpio;
    try {
        gpio = std::make_unique<atx::GpioAtxPins>(pins);
    } catch (const std::runtime_error &error) {
        say(std::string("error ") + error.what());
        return 1;
    }
    say("pins " + gpio->description());
    {
        atx::AtxController controller(std::move(gpio), timings, std::nullopt);
        const atx::AtxState initial = controller.state();
        say("leds power=" + std::to_string(initial.leds.power) +
            " hdd=" + std::to_string(initial.leds.hdd));
        controller.setListener([](const atx::AtxState &state) { say("state " + describe(state)); });
        if (action) {
            std::string message;
            const atx::AtxResult result = controller.perform(*action, message);
            say(std::string("perform ") + atx::atxActionName(*action) + ": " +
                (result == atx::AtxResult::Ok ? "ok" : "refused " + message));
        }
        const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(watch);
        const timespec timeout{static_cast<time_t>(seconds.count()),
                               static_cast<long>((watch - seconds).count() * 1000000)};
        sigtimedwait(&stop, nullptr, &timeout);
    }
    say("done");
    return 0;
}
