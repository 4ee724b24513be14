// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/capture/capture_thread.h"

#include <gtest/gtest.h>

#include <deque>
#include <mutex>
#include <set>
#include <thread>

namespace kvmvnc::capture {

namespace {

using std::chrono::milliseconds;

// Plays a script of results, one per capture() call, then times out.
class ScriptedSource : public FrameSource {
public:
    // Pictures numbered in `damaged` (from 1) say what changed; the rest
    // leave the frame's damage alone, as sources that never know do.
    explicit ScriptedSource(std::deque<CaptureResult> script, std::set<int> damaged = {})
        : script_(std::move(script)), damaged_(std::move(damaged)) {}
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
            if (damaged_.count(pictures_) > 0) {
                frame.damageKnown = true;
                frame.damage = {{0, pictures_, 16, 1}};
            }
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
    std::set<int> damaged_;
    int pictures_ = 0;
    int idleCalls_ = 0;
};

struct Played {
    uint64_t captured;
    SignalState state;
};

// Plays `script` through a capture thread into `mailbox`.
Played play(std::deque<CaptureResult> script, FrameMailbox &mailbox, std::set<int> damaged = {}) {
    auto source = std::make_unique<ScriptedSource>(std::move(script), std::move(damaged));
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

// A frame carries damage only when its source said so this time: frames are
// recycled, and a status screen or a picture from a source that does not
// know must not inherit an earlier picture's damage.
TEST(CaptureThreadTest, DamageIsOnlyWhatTheSourceSaidThisTime) {
    FrameMailbox mailbox;
    play({CaptureResult::Frame, CaptureResult::Frame}, mailbox, {1, 2});
    auto newest = mailbox.waitNext(milliseconds{10});
    ASSERT_TRUE(newest);
    EXPECT_TRUE(newest->damageKnown);
    EXPECT_EQ(newest->damage, (std::vector<Rect>{{0, 2, 16, 1}, {0, 1, 16, 1}}))
        << "the dropped first picture's damage counts";
    mailbox.recycle(std::move(newest));

    // Recycled frames still hold damage from the run above.
    play({CaptureResult::Frame}, mailbox);
    newest = mailbox.waitNext(milliseconds{10});
    ASSERT_TRUE(newest);
    EXPECT_FALSE(newest->damageKnown);
    EXPECT_TRUE(newest->damage.empty());
    mailbox.recycle(std::move(newest));

    play({CaptureResult::Unavailable}, mailbox);
    newest = mailbox.waitNext(milliseconds{10});
    ASSERT_TRUE(newest);
    EXPECT_FALSE(newest->damageKnown) << "a status screen";
}

}  // namespace kvmvnc::capture
