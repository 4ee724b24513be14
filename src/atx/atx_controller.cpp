// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/atx/atx_controller.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <stop_token>
#include <thread>
#include <utility>

#include "kvmvnc/base/error_text.h"
#include "kvmvnc/base/log.h"
#include "kvmvnc/base/unique_fd.h"

namespace kvmvnc::atx {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr const char *kLog = "atx";
// The pins' wait cannot be interrupted, so the thread waits in slices of at
// most this long: perform() is answered within one slice.
constexpr milliseconds kWaitSlice{50};

const char *buttonName(Button button) { return button == Button::Power ? "power" : "reset"; }

std::string formatMac(const uint8_t mac[6]) {
    char text[18];
    std::snprintf(text, sizeof text, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2],
                  mac[3], mac[4], mac[5]);
    return text;
}

// Sends the magic packet; false with `error` set when the network refused.
bool sendWakeOnLan(const WakeOnLanTarget &target, std::string &error) {
    const std::string where = target.address + ":" + std::to_string(target.port);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(target.port);
    if (::inet_pton(AF_INET, target.address.c_str(), &address.sin_addr) != 1) {
        error = "Wake-on-LAN: " + target.address + " is not an IPv4 address";
        return false;
    }
    UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    const int on = 1;
    if (!fd.isValid() || ::setsockopt(fd.get(), SOL_SOCKET, SO_BROADCAST, &on, sizeof on) != 0) {
        error = std::string("Wake-on-LAN: cannot open a UDP socket: ") + errorText(errno);
        return false;
    }
    const std::string packet = wakeOnLanPacket(target.mac);
    const ssize_t sent = ::sendto(fd.get(), packet.data(), packet.size(), 0,
                                  reinterpret_cast<const sockaddr *>(&address), sizeof address);
    if (sent != static_cast<ssize_t>(packet.size())) {
        error = "Wake-on-LAN to " + where + ": " + errorText(sent < 0 ? errno : EIO);
        return false;
    }
    return true;
}

}  // namespace

struct AtxController::Impl {
    // What the thread is doing with the buttons.
    enum class Phase { Idle, Holding, Cooling };

    Impl(std::unique_ptr<AtxPins> pinsIn, AtxTimings timingsIn,
         std::optional<WakeOnLanTarget> wakeOnLanIn)
        : pins(std::move(pinsIn)), timings(timingsIn), wakeOnLan(std::move(wakeOnLanIn)) {}

    // What perform() hands the thread: an action, and for a power cycle the
    // one that follows it.
    struct Request {
        AtxAction action;
        std::optional<AtxAction> then;
    };

    // Whether `action` can run here at all.
    AtxResult check(AtxAction action, std::string &message) const;
    // Hands `request` to the thread and waits for its first action's start.
    AtxResult submit(Request request, std::string &message);
    void run(const std::stop_token &stop);
    // Presses the button (or sends the packet); `error` says why not.
    AtxResult start(AtxAction action, Clock::time_point now, std::string &error);
    void answer(AtxResult result, std::string message);
    void sampleLeds(Clock::time_point now);
    void publish();

    const std::unique_ptr<AtxPins> pins;
    const AtxTimings timings;
    const std::optional<WakeOnLanTarget> wakeOnLan;

    mutable std::mutex mutex;
    std::condition_variable answered;
    // Guarded by `mutex`.
    AtxState state;
    std::optional<Request> request;                          // perform() to the thread
    std::optional<std::pair<AtxResult, std::string>> reply;  // and back
    // Held while the listener runs, and to replace it: once setListener()
    // returns, the old listener is not running and never will again.
    std::mutex listenerMutex;
    Listener listener;  // guarded by listenerMutex

    // The thread's own.
    Phase phase = Phase::Idle;
    std::optional<AtxAction> then;  // started when the running action's busy time ends
    Button held = Button::Power;
    Clock::time_point releaseAt{};
    Clock::time_point idleAt{};
    bool releaseFailed = false;
    AtxState published;
    // Debounce, per LED (power, hdd): the level last read and since when.
    std::array<bool, 2> stable{};
    std::array<bool, 2> candidate{};
    std::array<Clock::time_point, 2> candidateSince{};

    // Last, so that it is stopped and joined before the rest is destroyed.
    std::jthread thread;
};

AtxController::AtxController(std::unique_ptr<AtxPins> pins, AtxTimings timings,
                             std::optional<WakeOnLanTarget> wakeOnLan)
    : impl_(std::make_unique<Impl>(std::move(pins), timings, std::move(wakeOnLan))) {
    // The LEDs as they are now, so that state() is true from the start.
    const LedLevels leds = impl_->pins->readLeds();
    impl_->stable = impl_->candidate = {leds.power, leds.hdd};
    impl_->state.leds = impl_->published.leds = leds;
    impl_->thread =
        std::jthread([impl = impl_.get()](const std::stop_token &stop) { impl->run(stop); });
}

AtxController::~AtxController() = default;

AtxResult AtxController::perform(AtxAction action, std::string &message) {
    return impl_->submit({action, std::nullopt}, message);
}

AtxResult AtxController::powerCycle(std::string &message) {
    return impl_->submit({AtxAction::PowerLongPress, AtxAction::PowerClick}, message);
}

AtxResult AtxController::Impl::check(AtxAction action, std::string &message) const {
    switch (action) {
    case AtxAction::PowerClick:
    case AtxAction::PowerLongPress:
    case AtxAction::ResetClick: {
        const Button button = action == AtxAction::ResetClick ? Button::Reset : Button::Power;
        if (!pins->hasButton(button)) {
            message = std::string("the ") + buttonName(button) + " button is not wired";
            return AtxResult::Unsupported;
        }
        return AtxResult::Ok;
    }
    case AtxAction::WakeOnLan:
        if (!wakeOnLan) {
            message = "Wake-on-LAN is not configured (no wol_mac)";
            return AtxResult::Unsupported;
        }
        return AtxResult::Ok;
    }
    message = "unknown ATX action " + std::to_string(static_cast<int>(action));
    return AtxResult::Unsupported;
}

AtxResult AtxController::Impl::submit(Request asked, std::string &message) {
    message.clear();
    // A power cycle's click needs the button its long press does.
    if (const AtxResult checked = check(asked.action, message); checked != AtxResult::Ok)
        return checked;

    std::unique_lock lock(mutex);
    if (state.busy || request || thread.get_stop_token().stop_requested()) {
        message = "busy: an ATX action is running or has just run";
        return AtxResult::Busy;
    }
    request = asked;
    state.busy = true;
    // Only the start is waited for (at most one wait slice): a refusing
    // button is reported here, a held one is not waited out.
    answered.wait(lock, [this] { return reply.has_value(); });
    auto [result, text] = std::move(*reply);
    reply.reset();
    message = std::move(text);
    return result;
}

AtxState AtxController::state() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->state;
}

void AtxController::setListener(Listener listener) {
    std::lock_guard lock(impl_->listenerMutex);
    impl_->listener = std::move(listener);
}

std::string AtxController::description() const {
    std::string text = impl_->pins->description();
    if (impl_->wakeOnLan)
        text += ", Wake-on-LAN " + formatMac(impl_->wakeOnLan->mac) + " to " +
                impl_->wakeOnLan->address + ":" + std::to_string(impl_->wakeOnLan->port);
    return text;
}

void AtxController::Impl::run(const std::stop_token &stop) {
    pthread_setname_np(pthread_self(), "kvm-atx");
    for (;;) {
        std::optional<Request> started;
        {
            std::lock_guard lock(mutex);
            if (stop.stop_requested()) {
                if (request) {
                    request.reset();
                    reply.emplace(AtxResult::Failed, "ATX is stopping");
                    answered.notify_all();
                }
                break;
            }
            started = std::exchange(request, std::nullopt);
        }
        Clock::time_point now = Clock::now();
        if (started) {
            std::string error;
            const AtxResult result = start(started->action, now, error);
            if (result == AtxResult::Ok)
                then = started->then;
            answer(result, result == AtxResult::Ok ? std::string() : std::move(error));
        }

        if (phase == Phase::Holding && now >= releaseAt) {
            std::string error;
            if (pins->setButton(held, false, error)) {
                LOG_INFO(kLog, "%s button released", buttonName(held));
                phase = Phase::Cooling;
                idleAt = now + timings.busyAfter;
            } else if (!releaseFailed) {
                // Tried again on every wake until it works.
                LOG_ERROR(kLog, "cannot release the %s button: %s", buttonName(held),
                          error.c_str());
                releaseFailed = true;
            }
        }
        if (phase == Phase::Cooling && now >= idleAt) {
            phase = Phase::Idle;
            std::string error;
            if (then && start(*std::exchange(then, std::nullopt), now, error) != AtxResult::Ok)
                LOG_WARN(kLog, "power cycle: the power-on click failed: %s", error.c_str());
            if (phase == Phase::Idle) {
                std::lock_guard lock(mutex);
                state.busy = false;
            }
        }
        sampleLeds(now);
        publish();

        // Wake for whatever comes first: the release, the end of the busy
        // time, a pending LED level's debounce, the next periodic read.
        Clock::time_point next = now + timings.ledPoll;
        if (phase == Phase::Holding)
            next = std::min(next, releaseAt);
        if (phase == Phase::Cooling)
            next = std::min(next, idleAt);
        for (size_t i = 0; i < stable.size(); ++i)
            if (candidate[i] != stable[i])
                next = std::min(next, candidateSince[i] + timings.ledDebounce);
        const auto wait = std::chrono::ceil<milliseconds>(next - Clock::now());
        pins->waitForLedEdge(std::clamp(wait, milliseconds{1}, kWaitSlice));
    }

    if (phase == Phase::Holding) {
        std::string error;
        if (!pins->setButton(held, false, error))
            LOG_ERROR(kLog, "cannot release the %s button: %s", buttonName(held), error.c_str());
        else
            LOG_INFO(kLog, "%s button released (stopping)", buttonName(held));
    }
}

AtxResult AtxController::Impl::start(AtxAction action, Clock::time_point now, std::string &error) {
    if (action == AtxAction::WakeOnLan) {
        if (!sendWakeOnLan(*wakeOnLan, error)) {
            LOG_WARN(kLog, "%s", error.c_str());
            return AtxResult::Failed;
        }
        LOG_INFO(kLog, "Wake-on-LAN packet for %s sent to %s:%u", formatMac(wakeOnLan->mac).c_str(),
                 wakeOnLan->address.c_str(), wakeOnLan->port);
        phase = Phase::Cooling;
        idleAt = now + timings.busyAfter;
        return AtxResult::Ok;
    }
    const Button button = action == AtxAction::ResetClick ? Button::Reset : Button::Power;
    const milliseconds hold =
        action == AtxAction::PowerLongPress ? timings.longPress : timings.click;
    if (!pins->setButton(button, true, error)) {
        LOG_WARN(kLog, "%s: cannot press the %s button: %s", atxActionName(action),
                 buttonName(button), error.c_str());
        return AtxResult::Failed;
    }
    LOG_INFO(kLog, "%s: %s button pressed for %lld ms", atxActionName(action), buttonName(button),
             static_cast<long long>(hold.count()));
    phase = Phase::Holding;
    held = button;
    releaseAt = now + hold;
    releaseFailed = false;
    return AtxResult::Ok;
}

void AtxController::Impl::answer(AtxResult result, std::string message) {
    {
        std::lock_guard lock(mutex);
        reply.emplace(result, std::move(message));
        if (result != AtxResult::Ok)
            state.busy = false;  // nothing runs
    }
    answered.notify_all();
}

void AtxController::Impl::sampleLeds(Clock::time_point now) {
    const LedLevels leds = pins->readLeds();
    const std::array<bool, 2> levels{leds.power, leds.hdd};
    bool changed = false;
    for (size_t i = 0; i < levels.size(); ++i) {
        if (levels[i] != candidate[i]) {
            candidate[i] = levels[i];
            candidateSince[i] = now;
        }
        if (candidate[i] != stable[i] && now - candidateSince[i] >= timings.ledDebounce) {
            stable[i] = candidate[i];
            changed = true;
        }
    }
    if (!changed)
        return;
    if (stable[0] != published.leds.power)
        LOG_INFO(kLog, "power LED %s", stable[0] ? "on" : "off");
    std::lock_guard lock(mutex);
    state.leds = {stable[0], stable[1]};
}

void AtxController::Impl::publish() {
    AtxState changed;
    {
        std::lock_guard lock(mutex);
        if (state == published)
            return;
        published = state;
        changed = state;
    }
    // Not under `mutex`: the listener may call state().
    std::lock_guard lock(listenerMutex);
    if (listener)
        listener(changed);
}

const char *atxActionName(AtxAction action) {
    switch (action) {
    case AtxAction::PowerClick:
        return "power";
    case AtxAction::PowerLongPress:
        return "power-long";
    case AtxAction::ResetClick:
        return "reset";
    case AtxAction::WakeOnLan:
        return "wol";
    }
    return "unknown";
}

bool parseMacAddress(const std::string &text, uint8_t mac[6]) {
    // Six pairs of hex digits with one separator, ':' or '-', used throughout.
    if (text.size() != 17)
        return false;
    const char separator = text[2];
    if (separator != ':' && separator != '-')
        return false;
    uint8_t parsed[6];
    for (size_t i = 0; i < 6; ++i) {
        const char *pair = text.data() + i * 3;
        if (!std::isxdigit(static_cast<unsigned char>(pair[0])) ||
            !std::isxdigit(static_cast<unsigned char>(pair[1])) || (i < 5 && pair[2] != separator))
            return false;
        parsed[i] = static_cast<uint8_t>(std::stoi(std::string(pair, 2), nullptr, 16));
    }
    std::memcpy(mac, parsed, sizeof parsed);
    return true;
}

std::string wakeOnLanPacket(const uint8_t mac[6]) {
    std::string packet(6, '\xff');
    packet.reserve(6 + 16 * 6);
    for (int i = 0; i < 16; ++i)
        packet.append(reinterpret_cast<const char *>(mac), 6);
    return packet;
}

}  // namespace kvmvnc::atx
