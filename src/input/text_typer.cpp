// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/input/text_typer.h"

#include <pthread.h>

#include <algorithm>

#include "kvmvnc/base/log.h"
#include "kvmvnc/input/input_router.h"

namespace kvmvnc::input {

namespace {

constexpr const char *kLog = "typist";
constexpr auto kWriteTimeout = std::chrono::seconds{2};
constexpr uint32_t kProgressEvery = 16;  // characters

}  // namespace

TextTyper::TextTyper(InputRouter &router, std::chrono::milliseconds interval)
    : router_(router), interval_(interval) {
    thread_ = std::thread([this] { run(); });
}

TextTyper::~TextTyper() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        cancelled_ = true;
    }
    wake_.notify_all();
    thread_.join();
}

const KeysymMap &TextTyper::layout() const { return router_.layout(); }

TypingPlan TextTyper::plan(std::u32string_view text) const {
    TypingPlan plan;
    for (size_t i = 0; i < text.size(); ++i) {
        const char32_t character = text[i];
        if (character == U'\r' && i + 1 < text.size() && text[i + 1] == U'\n')
            continue;  // the '\n' types the Return
        const std::optional<KeyStroke> stroke =
            layout().lookup(KeysymMap::keysymForCharacter(character));
        if (stroke) {
            plan.strokes.push_back(*stroke);
        } else if (std::find(plan.untypable.begin(), plan.untypable.end(), character) ==
                   plan.untypable.end()) {
            plan.untypable.push_back(character);
        }
    }
    return plan;
}

bool TextTyper::start(uint64_t owner, std::vector<KeyStroke> strokes, ProgressCallback progress) {
    {
        std::lock_guard lock(mutex_);
        if (running_ || stopping_)
            return false;
        running_ = true;
        cancelled_ = false;
        owner_ = owner;
        strokes_ = std::move(strokes);
        progress_ = std::move(progress);
    }
    wake_.notify_all();
    return true;
}

bool TextTyper::cancel(std::optional<uint64_t> owner) {
    std::lock_guard lock(mutex_);
    if (!running_ || (owner && *owner != owner_))
        return false;
    cancelled_ = true;
    wake_.notify_all();
    return true;
}

void TextTyper::cancelAndWait() {
    std::unique_lock lock(mutex_);
    cancelled_ = running_;
    wake_.notify_all();
    idle_.wait(lock, [this] { return !running_ && !notifying_; });
}

bool TextTyper::busy() const {
    std::lock_guard lock(mutex_);
    return running_;
}

void TextTyper::setInterval(std::chrono::milliseconds interval) {
    std::lock_guard lock(mutex_);
    interval_ = interval;
}

void TextTyper::run() {
    pthread_setname_np(pthread_self(), "kvm-typist");
    std::unique_lock lock(mutex_);
    while (true) {
        wake_.wait(lock, [this] { return stopping_ || running_; });
        if (stopping_ && !running_)
            return;
        const std::vector<KeyStroke> strokes = std::move(strokes_);
        const ProgressCallback progress = std::move(progress_);
        TypingProgress state;
        state.total = static_cast<uint32_t>(strokes.size());
        LOG_INFO(kLog, "typing %u characters", state.total);
        while (state.typed < state.total) {
            if (cancelled_) {
                state.state = TypingProgress::State::Cancelled;
                break;
            }
            lock.unlock();
            const bool delivered =
                router_.typeStroke(strokes[state.typed]) && router_.waitUntilWritten(kWriteTimeout);
            lock.lock();
            if (!delivered) {
                state.state = TypingProgress::State::HostNotListening;
                break;
            }
            ++state.typed;
            if (state.typed < state.total) {
                if (state.typed % kProgressEvery == 0 && progress) {
                    notifying_ = true;
                    lock.unlock();
                    progress(state);
                    lock.lock();
                    notifying_ = false;
                }
                const std::chrono::milliseconds pause = interval_;
                wake_.wait_for(lock, pause, [this] { return cancelled_; });
            }
        }
        if (state.typed == state.total)
            state.state = TypingProgress::State::Done;
        LOG_INFO(kLog, "typed %u of %u characters%s", state.typed, state.total,
                 state.state == TypingProgress::State::Done ? ""
                 : state.state == TypingProgress::State::Cancelled
                     ? " (cancelled)"
                     : " (the target stopped listening)");
        // Free for the next job before saying so: whoever hears "done" may
        // start another straight away.
        running_ = false;
        cancelled_ = false;
        notifying_ = true;
        lock.unlock();
        if (progress)
            progress(state);
        lock.lock();
        notifying_ = false;
        idle_.notify_all();
    }
}

}  // namespace kvmvnc::input
