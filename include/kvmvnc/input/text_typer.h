// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "kvmvnc/input/keysym_map.h"

namespace kvmvnc::input {

class InputRouter;

// How far a typing job got, told to whoever started it.
struct TypingProgress {
    enum class State : uint8_t {
        Typing = 0,
        Done = 1,
        Cancelled = 2,
        HostNotListening = 3,  // the target stopped reading the keyboard
    };
    uint32_t typed = 0;
    uint32_t total = 0;
    State state = State::Typing;
};

// Text split into what the target's layout can type.
struct TypingPlan {
    std::vector<KeyStroke> strokes;   // one per character typed
    std::vector<char32_t> untypable;  // characters the layout has no key for, each once
};

// Pastes text as keystrokes, on explicit request only: each character
// becomes the key and Shift/AltGr the target's layout needs (KeysymMap), one
// press and release after another, through the InputRouter so viewers' keys
// and typed ones share one keyboard. Characters the layout cannot type are
// reported by plan(), never guessed at.
//
// Pacing: after each character the typist waits until the sink has written
// its reports (the host reads one report per poll), then `interval` more, so
// BIOS keyboards that poll slowly miss nothing.
//
// One job at a time, on a thread of its own ("kvm-typist"); the progress
// callback runs there, every few characters and once at the end. Thread-safe.
class TextTyper {
public:
    using ProgressCallback = std::function<void(const TypingProgress &)>;

    TextTyper(InputRouter &router, std::chrono::milliseconds interval);
    ~TextTyper();
    TextTyper(const TextTyper &) = delete;
    TextTyper &operator=(const TextTyper &) = delete;

    // "\r\n" and a lone "\r" are one Return.
    TypingPlan plan(std::u32string_view text) const;

    // Types `strokes` for `owner`; false when another job is running.
    bool start(uint64_t owner, std::vector<KeyStroke> strokes, ProgressCallback progress);
    // Stops the running job (of `owner` when given) after the current
    // character; true when there was one. Its callback gets Cancelled.
    bool cancel(std::optional<uint64_t> owner = std::nullopt);
    // Cancels any job and returns once no callback runs or will run for it:
    // for whoever owns the callback's target before it goes away.
    void cancelAndWait();
    bool busy() const;
    // The pause after each character from now on, the running job's too.
    void setInterval(std::chrono::milliseconds interval);

    // The router's current layout (InputRouter::layout()).
    const KeysymMap &layout() const;

private:
    void run();

    InputRouter &router_;
    mutable std::mutex mutex_;
    std::chrono::milliseconds interval_;  // guarded by mutex_
    std::condition_variable wake_;
    bool stopping_ = false;
    bool running_ = false;    // a job is queued or typing
    bool notifying_ = false;  // a progress callback runs
    std::condition_variable idle_;
    bool cancelled_ = false;
    uint64_t owner_ = 0;
    std::vector<KeyStroke> strokes_;
    ProgressCallback progress_;
    std::thread thread_;
};

}  // namespace kvmvnc::input
