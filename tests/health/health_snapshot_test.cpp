// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/health/health_snapshot.h"

#include <gtest/gtest.h>

#include "kvmvnc/health/soc_sensors.h"

namespace kvmvnc::health {
namespace {

HealthSnapshot withThrottle(uint32_t bits) {
    HealthSnapshot snapshot;
    snapshot.throttled = bits;
    return snapshot;
}

std::vector<std::string> texts(const std::vector<HealthEvent> &events) {
    std::vector<std::string> out;
    for (const HealthEvent &event : events)
        out.push_back((event.level == log::Level::Warning ? "W " : "I ") + event.text);
    return out;
}

TEST(HealthSnapshotTest, HotAtTheLimitAndCoolThreeDegreesBelowIt) {
    EXPECT_FALSE(isHot(std::nullopt, 80, false));
    EXPECT_FALSE(isHot(79999, 80, false));
    EXPECT_TRUE(isHot(80000, 80, false));
    EXPECT_TRUE(isHot(77000, 80, true));
    EXPECT_FALSE(isHot(76999, 80, true));
}

TEST(HealthSnapshotTest, TooHotIsAWarningOnceAndCoolingAnInfo) {
    HealthSnapshot cool;
    cool.milliCelsius = 70000;
    HealthSnapshot hot;
    hot.milliCelsius = 81500;
    hot.hot = true;
    EXPECT_EQ(texts(healthEvents(&cool, hot, 80)),
              std::vector<std::string>{
                  "W the SoC is too hot: 81.5 C (limit 80 C); give it a heatsink or a fan"});
    EXPECT_TRUE(healthEvents(&hot, hot, 80).empty());
    HealthSnapshot cooled;
    cooled.milliCelsius = 76000;
    EXPECT_EQ(texts(healthEvents(&hot, cooled, 80)),
              std::vector<std::string>{"I the SoC has cooled to 76.0 C"});
}

TEST(HealthSnapshotTest, ThrottlingThatStartsAndEndsIsLogged) {
    const HealthSnapshot none = withThrottle(0);
    const HealthSnapshot underVoltage = withThrottle(0x50005);
    auto started = texts(healthEvents(&none, underVoltage, 80));
    ASSERT_EQ(started.size(), 1u);
    EXPECT_EQ(started[0].rfind("W now under-voltage, throttled: the power supply", 0), 0u)
        << started[0];
    EXPECT_TRUE(healthEvents(&underVoltage, underVoltage, 80).empty());
    EXPECT_EQ(texts(healthEvents(&underVoltage, withThrottle(0x50000), 80)),
              std::vector<std::string>{"I no longer under-voltage, throttled"});
}

TEST(HealthSnapshotTest, WhatHappenedBetweenSamplesOrBeforeStartIsLoggedOnce) {
    // At start: the firmware remembers an under-voltage from before.
    EXPECT_EQ(texts(healthEvents(nullptr, withThrottle(0x10000), 80)),
              std::vector<std::string>{"W since boot: under-voltage occurred"});
    // Between two samples: a soft limit came and went.
    const HealthSnapshot before = withThrottle(0x10000);
    EXPECT_EQ(texts(healthEvents(&before, withThrottle(0x90000), 80)),
              std::vector<std::string>{"W since boot: soft temperature limit occurred"});
    EXPECT_TRUE(healthEvents(&before, before, 80).empty());
}

TEST(HealthSnapshotTest, NoSensorsNoEvents) {
    HealthSnapshot empty;
    EXPECT_TRUE(healthEvents(nullptr, empty, 80).empty());
}

TEST(HealthSnapshotTest, WorthPushingIgnoresNoiseButNotChanges) {
    HealthSnapshot pushed;
    pushed.milliCelsius = 50000;
    pushed.fpsHundredths = 3000;
    pushed.viewers = 1;
    HealthSnapshot now = pushed;
    now.milliCelsius = 50900;
    now.fpsHundredths = 2950;
    now.framesCaptured = 1000;
    EXPECT_FALSE(worthPushing(pushed, now));
    now.milliCelsius = 51000;
    EXPECT_TRUE(worthPushing(pushed, now));
    now = pushed;
    now.fpsHundredths = 2900;
    EXPECT_TRUE(worthPushing(pushed, now));
    now = pushed;
    now.viewers = 2;
    EXPECT_TRUE(worthPushing(pushed, now));
    now = pushed;
    now.signal = capture::SignalState::NoSignal;
    EXPECT_TRUE(worthPushing(pushed, now));
    now = pushed;
    now.throttled = 0;
    EXPECT_TRUE(worthPushing(pushed, now));
    now = pushed;
    now.picture = {1920, 1080};
    EXPECT_TRUE(worthPushing(pushed, now));
}

TEST(HealthSnapshotTest, PrometheusTextHasEveryMetricWithHelpAndType) {
    HealthSnapshot snapshot;
    snapshot.milliCelsius = 61835;
    snapshot.throttled = 0x50005;
    snapshot.signal = capture::SignalState::NoSignal;
    snapshot.picture = {1920, 1080};
    snapshot.framesCaptured = 12345;
    snapshot.fpsHundredths = 2997;
    snapshot.viewers = 2;
    const std::string text = prometheusText(snapshot);
    for (const char *line : {
             "# TYPE kvmvnc_soc_temperature_celsius gauge\n",
             "kvmvnc_soc_temperature_celsius 61.835\n",
             "kvmvnc_soc_too_hot 0\n",
             "kvmvnc_soc_throttled{flag=\"under_voltage\",when=\"now\"} 1\n",
             "kvmvnc_soc_throttled{flag=\"frequency_capped\",when=\"now\"} 0\n",
             "kvmvnc_soc_throttled{flag=\"throttled\",when=\"since_boot\"} 1\n",
             "kvmvnc_soc_throttled{flag=\"soft_temperature_limit\",when=\"since_boot\"} 0\n",
             "kvmvnc_capture_signal{state=\"ok\"} 0\n",
             "kvmvnc_capture_signal{state=\"no_signal\"} 1\n",
             "# TYPE kvmvnc_capture_frames_total counter\n",
             "kvmvnc_capture_frames_total 12345\n",
             "kvmvnc_capture_fps 29.97\n",
             "kvmvnc_capture_width_pixels 1920\n",
             "kvmvnc_capture_height_pixels 1080\n",
             "kvmvnc_viewers 2\n",
         })
        EXPECT_NE(text.find(line), std::string::npos) << line << "in\n" << text;
    // Every sample line belongs to a metric with HELP and TYPE before it.
    size_t helps = 0, types = 0;
    for (size_t at = 0; (at = text.find("# HELP ", at)) != std::string::npos; ++at)
        ++helps;
    for (size_t at = 0; (at = text.find("# TYPE ", at)) != std::string::npos; ++at)
        ++types;
    EXPECT_EQ(helps, 9u);
    EXPECT_EQ(types, 9u);
}

TEST(HealthSnapshotTest, PrometheusTextLeavesOutSensorsThatDoNotExist) {
    const std::string text = prometheusText(HealthSnapshot{});
    EXPECT_EQ(text.find("kvmvnc_soc_"), std::string::npos);
    EXPECT_NE(text.find("kvmvnc_capture_signal{state=\"ok\"} 1\n"), std::string::npos);
}

}  // namespace
}  // namespace kvmvnc::health
