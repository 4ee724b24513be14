// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/capture/capture_thread.h"

#include <gtest/gtest.h>

#include <deque>
#include <mutex>
#include <thread>

namespace kvmvnc::capture {

namespace {

using std::chrono::milliseconds;

// Plays a script of results, one per capture() call, then times out.
class ScriptedSource : public FrameSource {
public:
    explicit ScriptedSource(std::deque<CaptureResult> script) : script_(std::move(script)) {}
    CaptureResult capture(Frame &frame, milliseconds timeout) override {
        std::unique_lock lock(mutex_);
        if (script_.empty()) {
            ++idleCalls_;
            lock.unlock();
            std::this_thread::sleep_for(std::min(timeout, milliseconds{5}));
            return CaptureResult::Timeout;
        }
        const CaptureResult result = script_.front();
        script_.pop_front();
        if (result == CaptureResult::Frame) {
            frame.allocate(16, 8);
            frame.pixels.assign(frame.pixels.size(), static_cast<uint8_t>(++pictures_));
        }
        return result;
    }
    SourceStatus status() const override { return {SignalState::NoSignal, "scripted"}; }
    std::string description() const override { return "scripted"; }
    // The script is played and the thread has come back for more, so it
    // has dealt with the last result.
    bool done() const {
        std::lock_guard lock(mutex_);
        return script_.empty() && idleCalls_ > 0;
    }

private:
    mutable std::mutex mutex_;
    std::deque<CaptureResult> script_;
    int pictures_ = 0;
    int idleCalls_ = 0;
};

struct Played {
    uint64_t captured;
    SignalState state;
};

// Plays `script` through a capture thread into `mailbox`.
Played play(std::deque<CaptureResult> script, FrameMailbox &mailbox) {
    auto source = std::make_unique<ScriptedSource>(std::move(script));
    ScriptedSource *scripted = source.get();
    CaptureThread thread(std::move(source), mailbox, {16, 8});
    thread.start();
    for (int i = 0; i < 1000 && !scripted->done(); ++i)
        std::this_thread::sleep_for(milliseconds{5});
    thread.stop();
    return {thread.framesCaptured(), thread.signalState()};
}

}  // namespace

TEST(CaptureThreadTest, UnchangedPicturesAreCountedButNotPublished) {
    FrameMailbox mailbox;
    const Played played =
        play({CaptureResult::Frame, CaptureResult::Unchanged, CaptureResult::Unchanged,
              CaptureResult::Unchanged, CaptureResult::Frame},
             mailbox);
    EXPECT_EQ(played.captured, 5u) << "the device delivered five pictures";
    EXPECT_EQ(mailbox.published(), 2u) << "two of them were new";
    const auto newest = mailbox.waitNext(milliseconds{10});
    ASSERT_TRUE(newest);
    EXPECT_EQ(newest->pixels[0], 2) << "the second new picture is the one standing";
}

TEST(CaptureThreadTest, AStatusScreenIsNotCountedAsAPicture) {
    FrameMailbox mailbox;
    const Played played =
        play({CaptureResult::Unavailable, CaptureResult::Frame, CaptureResult::Unchanged}, mailbox);
    EXPECT_EQ(played.captured, 2u);
    EXPECT_EQ(mailbox.published(), 2u) << "the status screen and the picture";
    EXPECT_EQ(played.state, SignalState::Ok);
}

}  // namespace kvmvnc::capture
