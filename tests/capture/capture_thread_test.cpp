// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/capture/capture_thread.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "wait_until.h"

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
        if (script_.empty() || played_ >= allowed_) {
            ++idleCalls_;
            lock.unlock();
            std::this_thread::sleep_for(std::min(timeout, milliseconds{5}));
            return CaptureResult::Timeout;
        }
        const CaptureResult result = script_.front();
        script_.pop_front();
        ++played_;
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
    // Plays no further than `steps` results of the script until allowed more.
    void allow(size_t steps) {
        std::lock_guard lock(mutex_);
        allowed_ = steps;
    }
    // The script is played and the thread has come back for more, so it
    // has dealt with the last result.
    bool done() const {
        std::lock_guard lock(mutex_);
        return script_.empty() && idleCalls_ > 0;
    }

private:
    mutable std::mutex mutex_;
    std::deque<CaptureResult> script_;
    size_t played_ = 0;
    size_t allowed_ = SIZE_MAX;
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
    testing::waitUntil([&] { return scripted->done(); }, milliseconds{5000}, milliseconds{5});
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

// A frame carries damage only when its source said so this time and the
// pipeline holds the source's previous picture: frames are recycled, and
// neither a status screen, nor the first picture, nor the first after a
// status screen, nor a picture from a source that does not know may inherit
// an earlier picture's damage.
TEST(CaptureThreadTest, DamageIsOnlyWhatTheSourceSaidThisTime) {
    FrameMailbox mailbox;
    auto source = std::make_unique<ScriptedSource>(
        std::deque<CaptureResult>{CaptureResult::Frame, CaptureResult::Frame, CaptureResult::Frame,
                                  CaptureResult::Unavailable, CaptureResult::Frame,
                                  CaptureResult::Frame, CaptureResult::Frame},
        std::set<int>{1, 2, 3, 4, 5});
    ScriptedSource *scripted = source.get();
    scripted->allow(0);
    CaptureThread thread(std::move(source), mailbox, {16, 8});
    thread.start();
    // Lets the script run to `steps` (each publishes a frame) and takes the
    // newest frame back: its damage, or nullopt when unknown.
    auto damageAfter = [&](size_t steps) -> std::optional<std::vector<Rect>> {
        scripted->allow(steps);
        testing::waitUntil([&] { return mailbox.published() >= steps; }, milliseconds{10000},
                           milliseconds{5});
        auto frame = mailbox.waitNext(milliseconds{1000});
        EXPECT_TRUE(frame) << "step " << steps;
        if (!frame)
            return std::vector<Rect>{};
        EXPECT_TRUE(frame->damageKnown || frame->damage.empty()) << "unknown damage is empty";
        std::optional<std::vector<Rect>> damage;
        if (frame->damageKnown)
            damage = frame->damage;
        mailbox.recycle(std::move(frame));
        return damage;
    };
    EXPECT_EQ(damageAfter(1), std::nullopt) << "the first picture";
    EXPECT_EQ(damageAfter(3), (std::vector<Rect>{{0, 3, 16, 1}, {0, 2, 16, 1}}))
        << "the dropped second picture's damage counts";
    EXPECT_EQ(damageAfter(4), std::nullopt) << "a status screen";
    EXPECT_EQ(damageAfter(5), std::nullopt) << "the first picture after a status screen";
    EXPECT_EQ(damageAfter(6), (std::vector<Rect>{{0, 5, 16, 1}})) << "picture 5, in step";
    // Recycled frames hold damage from above; picture 6 says nothing.
    EXPECT_EQ(damageAfter(7), std::nullopt);
    thread.stop();
}

}  // namespace kvmvnc::capture
