// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/ctl/command_support.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>

#include "kvmvnc/ctl/command_line.h"
#include "kvmvnc/ctl/commands.h"
#include "kvmvnc/health/throttle_flags.h"

namespace kvmvnc::ctl {

using control::Status;

std::string sizeText(uint64_t bytes) {
    char text[32];
    if (bytes >= (1ULL << 30))
        std::snprintf(text, sizeof(text), "%.1f GiB", static_cast<double>(bytes) / (1ULL << 30));
    else if (bytes >= (1ULL << 20))
        std::snprintf(text, sizeof(text), "%.1f MiB", static_cast<double>(bytes) / (1ULL << 20));
    else if (bytes >= 1024)
        std::snprintf(text, sizeof(text), "%.1f KiB", static_cast<double>(bytes) / 1024);
    else
        std::snprintf(text, sizeof(text), "%" PRIu64 " B", bytes);
    return text;
}

// Connects or says why not.
bool connect(ControlClient &client, const Options &options) {
    if (client.connect(options.connect))
        return true;
    std::fprintf(stderr, "kvmvncctl: %s\n", client.error().c_str());
    return false;
}

// The reply's status as an exit status, printing the server's message.
int check(const ControlClient &client, const std::optional<control::Reply> &reply,
          const char *what) {
    if (!reply) {
        std::fprintf(stderr, "kvmvncctl: %s: %s\n", what, client.error().c_str());
        return kExitConnection;
    }
    if (reply->status != Status::Ok) {
        std::fprintf(stderr, "kvmvncctl: %s: %s (%s)\n", what, reply->message.c_str(),
                     control::statusName(reply->status));
        return kExitRefused;
    }
    return kExitOk;
}

void printAtx(const control::AtxStateBody &state) {
    std::printf("power: %s\nhdd: %s\n%s", state.powerLed ? "on" : "off",
                state.hddLed ? "active" : "idle", state.busy ? "busy: an action is running\n" : "");
}

void printDrive(const control::DriveStateBody &state) {
    if (!state.inserted)
        std::printf("drive: ejected\n");
    else
        std::printf("drive: %s inserted as %s%s (%s)\n", state.name.c_str(),
                    state.mode == 0 ? "CD-ROM" : "flash drive",
                    state.writable ? ", writable" : ", read-only", sizeText(state.size).c_str());
    if (!state.problem.empty())
        std::printf("problem: %s\n", state.problem.c_str());
}

void printInput(const control::InputStateBody &state) {
    std::printf("keyboard: layout %s, %s%s\n", state.layout.c_str(),
                state.hostListening ? "the target is listening"
                                    : "the target is NOT listening (off, asleep or unplugged)",
                state.typing ? ", typing pasted text" : "");
}

void printHealth(const control::HealthStateBody &state) {
    static constexpr const char *kSignals[] = {"picture",      "NO SIGNAL", "NO SYNC",
                                               "OUT OF RANGE", "NO CABLE",  "NO CAPTURE DEVICE",
                                               "CAPTURE ERROR"};
    std::string board;
    if (state.temperatureKnown) {
        char text[64];
        std::snprintf(text, sizeof text, "SoC %.1f C%s", state.milliCelsius / 1000.0,
                      state.hot ? " (TOO HOT)" : "");
        board = text;
    }
    if (state.throttlingKnown) {
        namespace throttle = health::throttle;
        const std::string now = health::throttleFlagNames(state.throttled & throttle::kNowMask);
        const std::string past = health::throttleFlagNames(
            (state.throttled & throttle::kOccurredMask) >> throttle::kOccurredShift);
        board += board.empty() ? "" : ", ";
        board += now.empty() ? "power and clock fine" : now + " NOW";
        if (!past.empty())
            board += "; since boot: " + past;
    }
    std::printf("health: %s\n", board.empty() ? "no sensors" : board.c_str());
    if (state.signal == 0)
        std::printf("capture: picture %ux%u at %.1f fps\n", state.width, state.height,
                    state.fpsHundredths / 100.0);
    else
        std::printf("capture: %s\n", kSignals[std::min<size_t>(state.signal, 6)]);
    std::printf("viewers: %u connected\n", state.viewers);
}

}  // namespace kvmvnc::ctl
