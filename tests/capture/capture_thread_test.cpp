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
    bool done() const {
        std::lock_guard lock(mutex_);
        return script_.empty();
    }

private:
    mutable std::mutex mutex_;
    std::deque<CaptureResult> script_;
    int pictures_ = 0;
};

}  // namespace

TEST(CaptureThreadTest, UnchangedPicturesAreCountedButNotPublished) {
    FrameMailbox mailbox;
    auto source = std::make_unique<ScriptedSource>(std::deque<CaptureResult>{
        CaptureResult::Frame, CaptureResult::Unchanged, CaptureResult::Unchanged,
        CaptureResult::Unchanged, CaptureResult::Frame});
    ScriptedSource *script = source.get();
    CaptureThread thread(std::move(source), mailbox, {16, 8});
    thread.start();
    for (int i = 0; i < 400 && !script->done(); ++i)
        std::this_thread::sleep_for(milliseconds{5});
    std::this_thread::sleep_for(milliseconds{20});
    thread.stop();
    EXPECT_EQ(thread.framesCaptured(), 5u) << "the device delivered five pictures";
    EXPECT_EQ(mailbox.published(), 2u) << "two of them were new";
    const auto newest = mailbox.waitNext(milliseconds{10});
    ASSERT_TRUE(newest);
    EXPECT_EQ(newest->pixels[0], 2) << "the second new picture is the one standing";
}

TEST(CaptureThreadTest, AStatusScreenIsNotCountedAsAPicture) {
    FrameMailbox mailbox;
    auto source = std::make_unique<ScriptedSource>(std::deque<CaptureResult>{
        CaptureResult::Unavailable, CaptureResult::Frame, CaptureResult::Unchanged});
    ScriptedSource *script = source.get();
    CaptureThread thread(std::move(source), mailbox, {16, 8});
    thread.start();
    for (int i = 0; i < 400 && !script->done(); ++i)
        std::this_thread::sleep_for(milliseconds{5});
    std::this_thread::sleep_for(milliseconds{20});
    thread.stop();
    EXPECT_EQ(thread.framesCaptured(), 2u);
    EXPECT_EQ(mailbox.published(), 2u) << "the status screen and the picture";
    EXPECT_EQ(thread.signalState(), SignalState::Ok);
}

}  // namespace kvmvnc::capture
