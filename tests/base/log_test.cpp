// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/base/log.h"

#include <gtest/gtest.h>

namespace kvmvnc::log {

TEST(LogTest, ParsesEveryLevelName) {
    Level level = Level::Error;
    EXPECT_TRUE(parseLevel("debug", level));
    EXPECT_EQ(level, Level::Debug);
    EXPECT_TRUE(parseLevel("warning", level));
    EXPECT_EQ(level, Level::Warning);
    EXPECT_FALSE(parseLevel("verbose", level));
    EXPECT_EQ(level, Level::Warning);
}

TEST(LogTest, LevelFiltersMessages) {
    setLevel(Level::Warning);
    testing::internal::CaptureStderr();
    LOG_INFO("test", "hidden %d", 1);
    LOG_WARN("test", "shown %d", 2);
    std::string out = testing::internal::GetCapturedStderr();
    setLevel(Level::Info);
    EXPECT_EQ(out, "W test: shown 2\n");
}

TEST(LogTest, LongMessagesAreCutToOneLine) {
    std::string longText(5000, 'x');
    testing::internal::CaptureStderr();
    LOG_ERROR("test", "%s\n\n", longText.c_str());
    std::string out = testing::internal::GetCapturedStderr();
    EXPECT_LT(out.size(), 1100u);
    EXPECT_EQ(out.back(), '\n');
    EXPECT_EQ(out.find('\n'), out.size() - 1);
}

}  // namespace kvmvnc::log
