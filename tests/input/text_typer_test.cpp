// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/input/text_typer.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <memory>
#include <mutex>

#include "kvmvnc/input/hid_usage.h"
#include "kvmvnc/input/input_router.h"
#include "recording_sink.h"

namespace kvmvnc::input {

namespace {

using State = TypingProgress::State;

KeyboardReport keys(uint8_t modifiers, uint8_t key = 0) {
    return {modifiers, 0, key, 0, 0, 0, 0, 0};
}

class TextTyperTest : public testing::Test {
protected:
    void useLayout(const char *name, std::chrono::milliseconds interval = {}) {
        typer.reset();
        router =
            std::make_unique<InputRouter>(std::make_shared<const KeysymMap>(KeysymMap::forLayout(
                                              name, {KVMVNC_KEYMAPS_BUILD_DIR})),
                                          sink);
        typer = std::make_unique<TextTyper>(*router, interval);
    }
    // Starts typing `text` for viewer 1 and records the progress it reports.
    bool start(std::u32string_view text, uint64_t owner = 1) {
        TypingPlan plan = typer->plan(text);
        return typer->start(owner, std::move(plan.strokes), [this](const TypingProgress &progress) {
            std::lock_guard lock(mutex);
            reports.push_back(progress);
            changed.notify_all();
        });
    }
    // The last progress, once the job has ended.
    TypingProgress waitForEnd() {
        std::unique_lock lock(mutex);
        EXPECT_TRUE(changed.wait_for(lock, std::chrono::seconds{20}, [this] {
            return !reports.empty() && reports.back().state != State::Typing;
        }));
        return reports.empty() ? TypingProgress{} : reports.back();
    }

    // The typist's callback writes to these: they outlive it (destroyed
    // after the typer, which finishes a job's last report on destruction).
    std::mutex mutex;
    std::condition_variable changed;
    std::vector<TypingProgress> reports;
    RecordingSink sink;
    std::unique_ptr<InputRouter> router;
    std::unique_ptr<TextTyper> typer;
};

}  // namespace

TEST_F(TextTyperTest, PlanMapsCharactersAndReportsWhatTheLayoutLacks) {
    useLayout("us");
    TypingPlan plan = typer->plan(U"Hi\r\n!\té€é");
    EXPECT_EQ(plan.strokes.size(), 5u);  // H i Return ! Tab
    EXPECT_EQ(plan.strokes[2], (KeyStroke{usage::kEnter, 0}));
    EXPECT_EQ(plan.untypable, (std::vector<char32_t>{U'é', U'€'}));  // each once

    useLayout("de");
    plan = typer->plan(U"€@z");
    EXPECT_TRUE(plan.untypable.empty());
    ASSERT_EQ(plan.strokes.size(), 3u);
    EXPECT_EQ(plan.strokes[0].modifiers & modifier::kAltGr, modifier::kAltGr);
    EXPECT_EQ(plan.strokes[2].usage, 0x1c);  // z is where us has y
}

TEST_F(TextTyperTest, TypesEachCharacterAsItsOwnPressAndRelease) {
    useLayout("us");
    ASSERT_TRUE(start(U"aA"));
    const TypingProgress end = waitForEnd();
    EXPECT_EQ(end.state, State::Done);
    EXPECT_EQ(end.typed, 2u);
    EXPECT_EQ(sink.keyboardReports(),
              (std::vector<KeyboardReport>{keys(0, 0x04), keys(0), keys(modifier::kLeftShift),
                                           keys(modifier::kLeftShift, 0x04),
                                           keys(modifier::kLeftShift), keys(0)}));
    EXPECT_EQ(router->stats().typedCharacters, 2u);
}

TEST_F(TextTyperTest, AltGrCharactersGetAltGr) {
    useLayout("de");
    ASSERT_TRUE(start(U"@"));
    EXPECT_EQ(waitForEnd().state, State::Done);
    EXPECT_EQ(sink.keyboardReports(),
              (std::vector<KeyboardReport>{keys(modifier::kAltGr), keys(modifier::kAltGr, 0x14),
                                           keys(modifier::kAltGr), keys(0)}));
}

TEST_F(TextTyperTest, ModifiersAViewerHoldsDoNotChangeTheText) {
    useLayout("us");
    router->keysymEvent(2, true, 0xffe3);  // a viewer holds Control
    ASSERT_TRUE(start(U"a"));
    EXPECT_EQ(waitForEnd().state, State::Done);
    EXPECT_EQ(sink.keyboardReports(),
              (std::vector<KeyboardReport>{keys(modifier::kLeftControl), keys(0), keys(0, 0x04),
                                           keys(0), keys(modifier::kLeftControl)}));
}

TEST_F(TextTyperTest, OneJobAtATimeAndCancelStopsIt) {
    useLayout("us", std::chrono::milliseconds{20});
    ASSERT_TRUE(start(std::u32string(500, U'x')));
    EXPECT_TRUE(typer->busy());
    EXPECT_FALSE(start(U"y", 2));
    EXPECT_FALSE(typer->cancel(2));  // not its job
    std::this_thread::sleep_for(std::chrono::milliseconds{100});
    EXPECT_TRUE(typer->cancel(1));
    const TypingProgress end = waitForEnd();
    EXPECT_EQ(end.state, State::Cancelled);
    EXPECT_GT(end.typed, 0u);
    EXPECT_LT(end.typed, 500u);
    // Nothing stays pressed: the last report is all keys up.
    EXPECT_EQ(sink.keyboardReports().back(), keys(0));
    EXPECT_FALSE(typer->busy());
    reports.clear();
    ASSERT_TRUE(start(U"y", 2));
    EXPECT_EQ(waitForEnd().state, State::Done);
}

TEST_F(TextTyperTest, StopsWhenTheHostStopsListening) {
    useLayout("us");
    sink.setResult(HidWriteResult::HostNotListening);
    ASSERT_TRUE(start(U"abc"));
    const TypingProgress end = waitForEnd();
    EXPECT_EQ(end.state, State::HostNotListening);
    EXPECT_EQ(end.typed, 0u);
    EXPECT_EQ(end.total, 3u);
}

TEST_F(TextTyperTest, CancelAndWaitLeavesNoCallbackRunning) {
    useLayout("us", std::chrono::milliseconds{5});
    ASSERT_TRUE(start(std::u32string(1000, U'x')));
    typer->cancelAndWait();
    EXPECT_FALSE(typer->busy());
    std::lock_guard lock(mutex);
    ASSERT_FALSE(reports.empty());
    EXPECT_EQ(reports.back().state, State::Cancelled);
}

TEST_F(TextTyperTest, NewIntervalPacesTheNextJob) {
    useLayout("us");
    typer->setInterval(std::chrono::milliseconds{150});
    const auto started = std::chrono::steady_clock::now();
    ASSERT_TRUE(start(U"abc"));
    EXPECT_EQ(waitForEnd().state, State::Done);
    // Two pauses: after "a" and after "b".
    EXPECT_GE(std::chrono::steady_clock::now() - started, std::chrono::milliseconds{300});
}

}  // namespace kvmvnc::input
