// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/atx/atx_controller.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace kvmvnc::atx {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Generous: a loaded machine may be slow, but never this slow.
constexpr milliseconds kPatience{5000};

struct ButtonEvent {
    Button button;
    bool pressed;
    Clock::time_point at;
};

// What the fake front panel saw and what it shows; shared between the test
// and the FakePins the controller owns.
struct Panel {
    std::mutex mutex;
    std::condition_variable changed;
    std::vector<ButtonEvent> events;
    LedLevels leds;
    bool edge = false;
    bool resetWired = true;
    std::string refusal;  // non-empty: presses fail with it

    void setLeds(LedLevels levels) {
        {
            std::lock_guard lock(mutex);
            leds = levels;
            edge = true;
        }
        changed.notify_all();
    }
    std::vector<ButtonEvent> eventsNow() {
        std::lock_guard lock(mutex);
        return events;
    }
    // Waits until `count` button events were recorded.
    bool waitForEvents(size_t count) {
        std::unique_lock lock(mutex);
        return changed.wait_for(lock, kPatience, [&] { return events.size() >= count; });
    }
};

class FakePins final : public AtxPins {
public:
    explicit FakePins(std::shared_ptr<Panel> panel) : panel_(std::move(panel)) {}

    bool hasButton(Button button) const override {
        return button == Button::Power || panel_->resetWired;
    }
    bool setButton(Button button, bool pressed, std::string &error) override {
        {
            std::lock_guard lock(panel_->mutex);
            if (pressed && !panel_->refusal.empty()) {
                error = panel_->refusal;
                return false;
            }
            panel_->events.push_back({button, pressed, Clock::now()});
        }
        panel_->changed.notify_all();
        return true;
    }
    LedLevels readLeds() override {
        std::lock_guard lock(panel_->mutex);
        return panel_->leds;
    }
    void waitForLedEdge(milliseconds timeout) override {
        std::unique_lock lock(panel_->mutex);
        panel_->changed.wait_for(lock, timeout, [&] { return panel_->edge; });
        panel_->edge = false;
    }
    std::string description() const override { return "fake panel"; }

private:
    std::shared_ptr<Panel> panel_;
};

struct Heard {
    AtxState state;
    Clock::time_point at;
};

class AtxControllerTest : public testing::Test {
protected:
    // The controller's thread calls the listener until it is joined: stop it
    // before the members the listener writes to are destroyed.
    void TearDown() override { controller_.reset(); }

    void start(AtxTimings timings, std::optional<WakeOnLanTarget> wakeOnLan = std::nullopt) {
        controller_ = std::make_unique<AtxController>(std::make_unique<FakePins>(panel_), timings,
                                                      std::move(wakeOnLan));
        controller_->setListener([this](const AtxState &state) {
            {
                std::lock_guard lock(heardMutex_);
                heard_.push_back({state, Clock::now()});
            }
            heardChanged_.notify_all();
        });
    }

    AtxResult perform(AtxAction action) {
        std::string message;
        AtxResult result = controller_->perform(action, message);
        lastMessage_ = message;
        return result;
    }

    std::vector<Heard> heard() {
        std::lock_guard lock(heardMutex_);
        return heard_;
    }
    // Waits until the listener heard a state matching `match`; its time.
    std::optional<Clock::time_point> waitToHear(
        const std::function<bool(const AtxState &)> &match) {
        std::unique_lock lock(heardMutex_);
        std::optional<Clock::time_point> at;
        heardChanged_.wait_for(lock, kPatience, [&] {
            for (const Heard &h : heard_)
                if (match(h.state)) {
                    at = h.at;
                    return true;
                }
            return false;
        });
        return at;
    }

    static AtxTimings fast() {
        AtxTimings timings;
        timings.click = 100ms;
        timings.longPress = 300ms;
        timings.busyAfter = 50ms;
        timings.ledDebounce = 100ms;
        timings.ledPoll = 1000ms;
        return timings;
    }

    std::shared_ptr<Panel> panel_ = std::make_shared<Panel>();
    std::unique_ptr<AtxController> controller_;
    std::string lastMessage_;
    std::mutex heardMutex_;
    std::condition_variable heardChanged_;
    std::vector<Heard> heard_;
};

TEST_F(AtxControllerTest, ClickHoldsThePowerButtonForTheClickTime) {
    start(fast());
    EXPECT_EQ(controller_->description(), "fake panel");
    const auto before = Clock::now();
    ASSERT_EQ(perform(AtxAction::PowerClick), AtxResult::Ok) << lastMessage_;
    EXPECT_TRUE(lastMessage_.empty());
    EXPECT_TRUE(controller_->state().busy);
    ASSERT_TRUE(panel_->waitForEvents(2));
    const auto events = panel_->eventsNow();
    ASSERT_EQ(events.size(), 2u);
    EXPECT_EQ(events[0].button, Button::Power);
    EXPECT_TRUE(events[0].pressed);
    EXPECT_GE(events[0].at, before);
    EXPECT_EQ(events[1].button, Button::Power);
    EXPECT_FALSE(events[1].pressed);
    EXPECT_GE(events[1].at - events[0].at, 100ms);
    EXPECT_LT(events[1].at - events[0].at, 1000ms);
}

TEST_F(AtxControllerTest, LongPressHoldsThePowerButtonLonger) {
    start(fast());
    ASSERT_EQ(perform(AtxAction::PowerLongPress), AtxResult::Ok) << lastMessage_;
    ASSERT_TRUE(panel_->waitForEvents(2));
    const auto events = panel_->eventsNow();
    EXPECT_TRUE(events[0].pressed);
    EXPECT_FALSE(events[1].pressed);
    EXPECT_EQ(events[1].button, Button::Power);
    EXPECT_GE(events[1].at - events[0].at, 300ms);
    EXPECT_LT(events[1].at - events[0].at, 2000ms);
}

TEST_F(AtxControllerTest, ResetClickPressesReset) {
    start(fast());
    ASSERT_EQ(perform(AtxAction::ResetClick), AtxResult::Ok) << lastMessage_;
    ASSERT_TRUE(panel_->waitForEvents(2));
    const auto events = panel_->eventsNow();
    EXPECT_EQ(events[0].button, Button::Reset);
    EXPECT_TRUE(events[0].pressed);
    EXPECT_EQ(events[1].button, Button::Reset);
    EXPECT_FALSE(events[1].pressed);
}

TEST_F(AtxControllerTest, RefusesASecondActionUntilBusyAfterHasPassed) {
    AtxTimings timings = fast();
    timings.busyAfter = 300ms;
    start(timings);
    ASSERT_EQ(perform(AtxAction::PowerClick), AtxResult::Ok) << lastMessage_;
    // While the button is held.
    EXPECT_EQ(perform(AtxAction::ResetClick), AtxResult::Busy);
    EXPECT_NE(lastMessage_.find("busy"), std::string::npos) << lastMessage_;
    EXPECT_EQ(perform(AtxAction::PowerClick), AtxResult::Busy);
    // After the release, during busy_after.
    ASSERT_TRUE(panel_->waitForEvents(2));
    EXPECT_EQ(perform(AtxAction::ResetClick), AtxResult::Busy);
    EXPECT_TRUE(controller_->state().busy);

    // The listener hears the end of the busy time, not before busy_after.
    auto idle = waitToHear([](const AtxState &s) { return !s.busy; });
    ASSERT_TRUE(idle);
    const auto released = panel_->eventsNow()[1].at;
    EXPECT_GE(*idle - released, 300ms);
    EXPECT_FALSE(controller_->state().busy);
    ASSERT_EQ(perform(AtxAction::ResetClick), AtxResult::Ok) << lastMessage_;
    ASSERT_TRUE(panel_->waitForEvents(4));
    EXPECT_EQ(panel_->eventsNow().size(), 4u);  // the refused ones never pressed
}

TEST_F(AtxControllerTest, ListenerHearsBusyThenIdle) {
    start(fast());
    ASSERT_EQ(perform(AtxAction::PowerClick), AtxResult::Ok);
    ASSERT_TRUE(waitToHear([](const AtxState &s) { return !s.busy; }));
    const auto states = heard();
    ASSERT_EQ(states.size(), 2u);
    EXPECT_TRUE(states[0].state.busy);
    EXPECT_FALSE(states[1].state.busy);
}

TEST_F(AtxControllerTest, UnwiredButtonAndMissingWakeOnLanAreUnsupported) {
    panel_->resetWired = false;
    start(fast());
    EXPECT_EQ(perform(AtxAction::ResetClick), AtxResult::Unsupported);
    EXPECT_EQ(lastMessage_, "the reset button is not wired");
    EXPECT_EQ(perform(AtxAction::WakeOnLan), AtxResult::Unsupported);
    EXPECT_NE(lastMessage_.find("wol_mac"), std::string::npos) << lastMessage_;
    EXPECT_FALSE(controller_->state().busy);
    EXPECT_TRUE(panel_->eventsNow().empty());
}

TEST_F(AtxControllerTest, RefusedPressFailsWithTheMessageAndLeavesItIdle) {
    panel_->refusal = "gpiochip0 line 23 (power button): cannot set it: I/O error";
    start(fast());
    EXPECT_EQ(perform(AtxAction::PowerClick), AtxResult::Failed);
    EXPECT_EQ(lastMessage_, panel_->refusal);
    EXPECT_FALSE(controller_->state().busy);
    {
        std::lock_guard lock(panel_->mutex);
        panel_->refusal.clear();
    }
    EXPECT_EQ(perform(AtxAction::PowerClick), AtxResult::Ok) << lastMessage_;
}

TEST_F(AtxControllerTest, LedGlitchShorterThanTheDebounceDoesNotCount) {
    panel_->leds = {true, false};
    start(fast());
    EXPECT_EQ(controller_->state().leds, (LedLevels{true, false}));

    panel_->setLeds({false, false});
    std::this_thread::sleep_for(30ms);
    panel_->setLeds({true, false});
    // Long enough for the glitch to be reported if it counted. That it was
    // not is shown below, after a positive signal: once the lasting change
    // is heard, it is the only state ever heard.
    std::this_thread::sleep_for(300ms);
    EXPECT_EQ(controller_->state().leds, (LedLevels{true, false}));

    // A lasting change counts, after the debounce, and is heard once.
    const auto changed = Clock::now();
    panel_->setLeds({true, true});
    auto at = waitToHear([](const AtxState &s) { return s.leds.hdd; });
    ASSERT_TRUE(at);
    EXPECT_GE(*at - changed, 100ms);
    EXPECT_EQ(controller_->state().leds, (LedLevels{true, true}));
    std::this_thread::sleep_for(300ms);
    const auto states = heard();
    ASSERT_EQ(states.size(), 1u);
    EXPECT_EQ(states[0].state, (AtxState{{true, true}, false}));
}

TEST_F(AtxControllerTest, LedsChangingWithoutEdgesAreFoundByThePeriodicRead) {
    AtxTimings timings = fast();
    timings.ledDebounce = 20ms;
    timings.ledPoll = 100ms;
    start(timings);
    {
        std::lock_guard lock(panel_->mutex);
        panel_->leds.power = true;  // no edge flagged
    }
    EXPECT_TRUE(waitToHear([](const AtxState &s) { return s.leds.power; }));
}

TEST_F(AtxControllerTest, DestructorReleasesAHeldButton) {
    AtxTimings timings = fast();
    timings.longPress = 60s;
    start(timings);
    ASSERT_EQ(perform(AtxAction::PowerLongPress), AtxResult::Ok);
    ASSERT_TRUE(panel_->waitForEvents(1));
    const auto before = Clock::now();
    controller_.reset();
    EXPECT_LT(Clock::now() - before, 2000ms);
    const auto events = panel_->eventsNow();
    ASSERT_EQ(events.size(), 2u);
    EXPECT_EQ(events[1].button, Button::Power);
    EXPECT_FALSE(events[1].pressed);
}

// xvp's Reset: a long press, then, busy_after after its release, a click;
// busy all along, so nothing else runs in between.
TEST_F(AtxControllerTest, PowerCycleIsALongPressThenAClickAfterBusyAfter) {
    AtxTimings timings = fast();
    timings.busyAfter = 200ms;
    start(timings);
    std::string message;
    ASSERT_EQ(controller_->powerCycle(message), AtxResult::Ok) << message;
    EXPECT_TRUE(message.empty()) << message;
    EXPECT_EQ(perform(AtxAction::ResetClick), AtxResult::Busy);  // while held
    EXPECT_EQ(controller_->powerCycle(message), AtxResult::Busy);
    ASSERT_TRUE(panel_->waitForEvents(2));
    EXPECT_EQ(perform(AtxAction::PowerClick), AtxResult::Busy);  // between the presses
    ASSERT_TRUE(panel_->waitForEvents(3));
    EXPECT_EQ(perform(AtxAction::PowerClick), AtxResult::Busy);  // the click held
    ASSERT_TRUE(panel_->waitForEvents(4));
    ASSERT_TRUE(waitToHear([](const AtxState &s) { return !s.busy; }));

    const auto events = panel_->eventsNow();
    ASSERT_EQ(events.size(), 4u);  // the refused actions pressed nothing
    for (size_t i = 0; i < events.size(); ++i) {
        EXPECT_EQ(events[i].button, Button::Power) << i;
        EXPECT_EQ(events[i].pressed, i % 2 == 0) << i;
    }
    EXPECT_GE(events[1].at - events[0].at, 300ms);  // the long press
    EXPECT_GE(events[2].at - events[1].at, 200ms);  // busy_after
    EXPECT_LT(events[2].at - events[1].at, 2000ms);
    EXPECT_GE(events[3].at - events[2].at, 100ms);  // the click
    const auto states = heard();
    ASSERT_EQ(states.size(), 2u) << "busy once, idle once";
    EXPECT_TRUE(states[0].state.busy);
    EXPECT_FALSE(states[1].state.busy);
    EXPECT_GE(states[1].at - events[3].at, 200ms);
    EXPECT_EQ(perform(AtxAction::PowerClick), AtxResult::Ok) << lastMessage_;
}

TEST_F(AtxControllerTest, PowerCycleWhoseClickIsRefusedEndsIdle) {
    start(fast());
    std::string message;
    ASSERT_EQ(controller_->powerCycle(message), AtxResult::Ok) << message;
    ASSERT_TRUE(panel_->waitForEvents(1));
    {
        std::lock_guard lock(panel_->mutex);
        panel_->refusal = "gpiochip0 line 23 (power button): cannot set it: I/O error";
    }
    ASSERT_TRUE(panel_->waitForEvents(2));  // the long press released
    ASSERT_TRUE(waitToHear([](const AtxState &s) { return !s.busy; }));
    EXPECT_EQ(panel_->eventsNow().size(), 2u);
    EXPECT_EQ(controller_->powerCycle(message), AtxResult::Failed);
    EXPECT_EQ(message, "gpiochip0 line 23 (power button): cannot set it: I/O error");
    EXPECT_FALSE(controller_->state().busy);
}

TEST_F(AtxControllerTest, DestructorDropsAPowerCyclesClick) {
    AtxTimings timings = fast();
    timings.busyAfter = 60s;
    start(timings);
    std::string message;
    ASSERT_EQ(controller_->powerCycle(message), AtxResult::Ok) << message;
    ASSERT_TRUE(panel_->waitForEvents(2));
    const auto before = Clock::now();
    controller_.reset();
    EXPECT_LT(Clock::now() - before, 2000ms);
    EXPECT_EQ(panel_->eventsNow().size(), 2u);
}

TEST(AtxActionName, NamesEveryAction) {
    EXPECT_STREQ(atxActionName(AtxAction::PowerClick), "power");
    EXPECT_STREQ(atxActionName(AtxAction::PowerLongPress), "power-long");
    EXPECT_STREQ(atxActionName(AtxAction::ResetClick), "reset");
    EXPECT_STREQ(atxActionName(AtxAction::WakeOnLan), "wol");
}

}  // namespace
}  // namespace kvmvnc::atx
