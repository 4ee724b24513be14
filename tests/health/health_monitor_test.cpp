// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/health/health_monitor.h"

#include <gtest/gtest.h>

#include <atomic>
#include <fstream>

#include "wait_until.h"

namespace kvmvnc::health {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

struct FakePipeline {
    std::atomic<uint64_t> frames{0};
    std::atomic<capture::SignalState> signal{capture::SignalState::Ok};
    std::atomic<uint32_t> viewers{0};

    HealthSources sources() {
        return {[this] { return frames.load(); }, [this] { return signal.load(); },
                [] {
                    return Size{1280, 720};
                },
                [this] { return viewers.load(); }};
    }
};

class HealthMonitorTest : public ::testing::Test {
protected:
    void SetUp() override {
        root_ = fs::temp_directory_path() / ("kvmvnc-health-" + std::to_string(::getpid()));
        fs::remove_all(root_);
        fs::copy(fs::path(KVMVNC_SYSFS_TREES) / "pi4/sys", root_,
                 fs::copy_options::recursive | fs::copy_options::copy_symlinks);
        setSensors("50000", "52000");
    }
    void TearDown() override { fs::remove_all(root_); }

    void setSensors(const char *throttled, const char *milliCelsius) {
        std::ofstream(root_ / "devices/platform/soc/soc:firmware/get_throttled") << throttled;
        std::ofstream(root_ / "devices/virtual/thermal/thermal_zone0/temp") << milliCelsius;
    }
    HealthOptions options() {
        HealthOptions options;
        options.sysfsRoot = root_;
        options.hotCelsius = 80;
        return options;
    }

    fs::path root_;
    FakePipeline pipeline_;
    std::vector<HealthSnapshot> pushed_;
};

TEST_F(HealthMonitorTest, SamplesTheBoardAndThePipeline) {
    HealthMonitor monitor(options(), pipeline_.sources());
    const auto start = std::chrono::steady_clock::time_point{} + 100s;
    pipeline_.frames = 100;
    pipeline_.viewers = 2;
    monitor.sampleNow(start);
    pipeline_.frames = 160;
    monitor.sampleNow(start + 2s);
    HealthSnapshot latest = monitor.latest();
    EXPECT_EQ(latest.milliCelsius, 52000);
    EXPECT_EQ(latest.throttled, 0x50000u);
    EXPECT_FALSE(latest.hot);
    EXPECT_EQ(latest.framesCaptured, 160u);
    EXPECT_EQ(latest.fpsHundredths, 3000u);  // 60 frames in 2 s
    EXPECT_EQ(latest.picture, (Size{1280, 720}));
    EXPECT_EQ(latest.viewers, 2u);
}

TEST_F(HealthMonitorTest, PushesTheFirstSampleAndThenOnlyChanges) {
    HealthMonitor monitor(options(), pipeline_.sources(),
                          [this](const HealthSnapshot &s) { pushed_.push_back(s); });
    auto time = std::chrono::steady_clock::time_point{} + 100s;
    monitor.sampleNow(time);
    ASSERT_EQ(pushed_.size(), 1u);
    monitor.sampleNow(time += 2s);
    monitor.sampleNow(time += 2s);
    EXPECT_EQ(pushed_.size(), 1u) << "nothing changed";

    setSensors("50005", "82000");  // under-voltage and throttled now, and hot
    monitor.sampleNow(time += 2s);
    ASSERT_EQ(pushed_.size(), 2u);
    EXPECT_TRUE(pushed_.back().hot);
    EXPECT_EQ(pushed_.back().throttled, 0x50005u);

    setSensors("50005", "78000");  // still hot: within the 3 degree margin
    monitor.sampleNow(time += 2s);
    EXPECT_TRUE(monitor.latest().hot);
    ASSERT_EQ(pushed_.size(), 3u) << "the temperature moved by 4 degrees";

    pipeline_.signal = capture::SignalState::NoSignal;
    monitor.sampleNow(time += 2s);
    ASSERT_EQ(pushed_.size(), 4u);
    EXPECT_EQ(pushed_.back().signal, capture::SignalState::NoSignal);
}

TEST_F(HealthMonitorTest, TheThreadSamplesEveryInterval) {
    HealthOptions fast = options();
    fast.interval = 20ms;
    std::atomic<int> pushes{0};
    HealthMonitor monitor(fast, pipeline_.sources(), [&](const HealthSnapshot &) { ++pushes; });
    monitor.start();
    // Each sample sees a new viewer count, so each is pushed.
    uint32_t viewers = 0;
    testing::waitUntil(
        [&] {
            pipeline_.viewers = ++viewers;
            return pushes >= 3;
        },
        2s);
    monitor.stop();
    EXPECT_GE(pushes.load(), 3);
    const int after = pushes.load();
    pipeline_.viewers = 1000;
    std::this_thread::sleep_for(60ms);
    EXPECT_EQ(pushes.load(), after) << "stop() ends the sampling";
}

}  // namespace
}  // namespace kvmvnc::health
