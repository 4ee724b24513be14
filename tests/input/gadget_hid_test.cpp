// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/input/gadget_hid.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

namespace kvmvnc::input {

namespace {

std::vector<uint8_t> readAll(const std::string &path) {
    std::ifstream file(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
}

class GadgetHidTest : public testing::Test {
protected:
    void SetUp() override {
        char templ[] = "/tmp/kvmvnc-hid-XXXXXX";
        ASSERT_NE(::mkdtemp(templ), nullptr);
        dir = templ;
    }
    void TearDown() override {
        std::remove((dir + "/kbd").c_str());
        std::remove((dir + "/mouse").c_str());
        ::rmdir(dir.c_str());
    }
    std::string dir;
};

}  // namespace

TEST_F(GadgetHidTest, ReportsAreAppendedToFiles) {
    std::ofstream(dir + "/kbd").flush();
    std::ofstream(dir + "/mouse").flush();
    GadgetHid hid(dir + "/kbd", dir + "/mouse");
    EXPECT_EQ(hid.writeKeyboard({2, 0, 4, 0, 0, 0, 0, 0}), HidWriteResult::Ok);
    EXPECT_EQ(hid.writeKeyboard({0, 0, 0, 0, 0, 0, 0, 0}), HidWriteResult::Ok);
    EXPECT_EQ(hid.writeMouse({1, 0xff, 0x7f, 0, 0, 0, 0}), HidWriteResult::Ok);
    EXPECT_EQ(readAll(dir + "/kbd"),
              (std::vector<uint8_t>{2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}));
    EXPECT_EQ(readAll(dir + "/mouse"), (std::vector<uint8_t>{1, 0xff, 0x7f, 0, 0, 0, 0}));
}

TEST_F(GadgetHidTest, FifoWithoutReaderIsAHostNotListening) {
    ASSERT_EQ(::mkfifo((dir + "/kbd").c_str(), 0600), 0);
    GadgetHid hid(dir + "/kbd", dir + "/mouse");
    EXPECT_EQ(hid.writeKeyboard({}), HidWriteResult::HostNotListening);
}

TEST_F(GadgetHidTest, FifoWithReaderGetsTheBytes) {
    ASSERT_EQ(::mkfifo((dir + "/kbd").c_str(), 0600), 0);
    int reader = ::open((dir + "/kbd").c_str(), O_RDONLY | O_NONBLOCK);
    ASSERT_GE(reader, 0);
    GadgetHid hid(dir + "/kbd", dir + "/mouse");
    EXPECT_EQ(hid.writeKeyboard({0, 0, 0x29, 0, 0, 0, 0, 0}), HidWriteResult::Ok);
    uint8_t bytes[8] = {};
    EXPECT_EQ(::read(reader, bytes, sizeof(bytes)), 8);
    EXPECT_EQ(bytes[2], 0x29);
    ::close(reader);
}

TEST_F(GadgetHidTest, MissingDeviceFailsWithoutBlockingAndIsRetried) {
    GadgetHid hid(dir + "/kbd", dir + "/mouse");  // neither exists
    EXPECT_EQ(hid.writeMouse({}), HidWriteResult::Failed);
    std::ofstream(dir + "/mouse").flush();
    // Reopened at most once a second.
    std::this_thread::sleep_for(std::chrono::milliseconds{1100});
    EXPECT_EQ(hid.writeMouse({3, 0, 0, 0, 0, 0, 0}), HidWriteResult::Ok);
    EXPECT_EQ(readAll(dir + "/mouse").size(), 7u);
}

}  // namespace kvmvnc::input
