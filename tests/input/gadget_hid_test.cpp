// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/input/gadget_hid.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <thread>

#include "wait_until.h"

namespace kvmvnc::input {

namespace {

std::vector<uint8_t> readAll(const std::string &path) {
    std::ifstream file(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
}

class GadgetHidTest : public ::testing::Test {
protected:
    void SetUp() override {
        char templ[] = "/tmp/kvmvnc-hid-XXXXXX";
        ASSERT_NE(::mkdtemp(templ), nullptr);
        dir = templ;
    }
    void TearDown() override { std::filesystem::remove_all(dir); }
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
    ASSERT_TRUE(hid.waitUntilWritten(std::chrono::seconds{5}));
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
    ASSERT_TRUE(hid.waitUntilWritten(std::chrono::seconds{5}));
    uint8_t bytes[8] = {};
    EXPECT_EQ(::read(reader, bytes, sizeof(bytes)), 8);
    EXPECT_EQ(bytes[2], 0x29);
    ::close(reader);
}

TEST_F(GadgetHidTest, MissingDeviceFailsWithoutBlockingAndIsRetried) {
    GadgetHid hid(dir + "/kbd", dir + "/mouse");  // neither exists
    EXPECT_EQ(hid.writeMouse({}), HidWriteResult::Failed);
    std::ofstream(dir + "/mouse").flush();
    // Reopened within a second or so; the report written while the device
    // was missing is the state it gets first.
    testing::waitUntil([&] { return readAll(dir + "/mouse").size() >= 7; },
                       std::chrono::seconds{10}, std::chrono::milliseconds{20});
    EXPECT_EQ(readAll(dir + "/mouse"), (std::vector<uint8_t>{0, 0, 0, 0, 0, 0, 0}));
    EXPECT_EQ(hid.writeMouse({3, 0, 0, 0, 0, 0, 0}), HidWriteResult::Ok);
    ASSERT_TRUE(hid.waitUntilWritten(std::chrono::seconds{5}));
    EXPECT_EQ(readAll(dir + "/mouse"),
              (std::vector<uint8_t>{0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0}));
}

// The gadget takes one report per host poll and answers EAGAIN until the
// host has read it; a pipe with a full buffer does the same. Every report
// must still arrive, in order: a press and release written back to back are
// a keystroke, not a state to merge.
TEST_F(GadgetHidTest, ReportsWaitForASlowHostAndArriveInOrder) {
    ASSERT_EQ(::mkfifo((dir + "/kbd").c_str(), 0600), 0);
    const int reader = ::open((dir + "/kbd").c_str(), O_RDONLY | O_NONBLOCK);
    ASSERT_GE(reader, 0);
    ASSERT_GT(::fcntl(reader, F_SETPIPE_SZ, 4096), 0);  // room for 512 reports
    std::ofstream(dir + "/mouse").flush();
    GadgetHid::Options options;
    options.hostTimeout = std::chrono::seconds{10};
    options.maxQueued = 4096;
    GadgetHid hid(dir + "/kbd", dir + "/mouse", options);
    constexpr int kReports = 2000;
    for (int i = 0; i < kReports; ++i)
        ASSERT_EQ(hid.writeKeyboard({0, 0, static_cast<uint8_t>(i % 251),
                                     static_cast<uint8_t>(i / 251), 0, 0, 0, 0}),
                  HidWriteResult::Ok);
    std::vector<uint8_t> received;
    // A slow host: at most 1 KiB every 5 ms.
    testing::waitUntil(
        [&] {
            uint8_t buffer[1024];
            const ssize_t got = ::read(reader, buffer, sizeof(buffer));
            if (got > 0)
                received.insert(received.end(), buffer, buffer + got);
            return received.size() >= kReports * 8u;
        },
        std::chrono::seconds{20}, std::chrono::milliseconds{5});
    ::close(reader);
    ASSERT_EQ(received.size(), kReports * 8u);
    for (int i = 0; i < kReports; ++i) {
        ASSERT_EQ(received[i * 8 + 2], i % 251) << "report " << i;
        ASSERT_EQ(received[i * 8 + 3], i / 251) << "report " << i;
    }
    EXPECT_TRUE(hid.hostListening());
}

// A host that stops reading: after the timeout it is "not listening", the
// callback hears so, and only the newest report waits. When it reads again,
// that report - the current state of the keys - is what it gets.
TEST_F(GadgetHidTest, AHostThatStopsReadingIsNotListeningUntilItReadsAgain) {
    ASSERT_EQ(::mkfifo((dir + "/kbd").c_str(), 0600), 0);
    const int reader = ::open((dir + "/kbd").c_str(), O_RDONLY | O_NONBLOCK);
    ASSERT_GE(reader, 0);
    ASSERT_GT(::fcntl(reader, F_SETPIPE_SZ, 4096), 0);
    std::ofstream(dir + "/mouse").flush();
    GadgetHid::Options options;
    options.hostTimeout = std::chrono::milliseconds{200};
    // Declared before the device, whose thread calls back into them until
    // it is destroyed.
    std::mutex mutex;
    std::condition_variable changed;
    std::vector<bool> heard;
    GadgetHid hid(dir + "/kbd", dir + "/mouse", options);
    hid.setHostCallback([&](bool listening) {
        std::lock_guard lock(mutex);
        heard.push_back(listening);
        changed.notify_all();
    });
    auto waitHeard = [&](size_t count) {
        std::unique_lock lock(mutex);
        return changed.wait_for(lock, std::chrono::seconds{10},
                                [&] { return heard.size() >= count; });
    };
    // Fill the pipe, then some: the host "stops reading".
    for (int i = 0; i < 600; ++i)
        hid.writeKeyboard({0, 0, 4, 0, 0, 0, 0, 0});
    ASSERT_TRUE(waitHeard(1));
    EXPECT_FALSE(heard[0]);
    EXPECT_FALSE(hid.hostListening());
    EXPECT_EQ(hid.writeKeyboard({0, 0, 5, 0, 0, 0, 0, 0}), HidWriteResult::HostNotListening);
    EXPECT_EQ(hid.writeKeyboard({0, 0, 0, 0, 0, 0, 0, 0}), HidWriteResult::HostNotListening);
    // The host reads again: everything in the pipe, then the newest state.
    std::vector<uint8_t> received;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{10};
    while (std::chrono::steady_clock::now() < deadline) {
        uint8_t buffer[4096];
        const ssize_t got = ::read(reader, buffer, sizeof(buffer));
        if (got > 0)
            received.insert(received.end(), buffer, buffer + got);
        std::lock_guard lock(mutex);
        if (heard.size() >= 2 && received.size() == 513 * 8)
            break;
    }
    ::close(reader);
    ASSERT_TRUE(waitHeard(2));
    EXPECT_TRUE(heard[1]);
    ASSERT_EQ(received.size(), 513u * 8);  // the 512 the pipe held, then the newest
    // The last report delivered is the newest state, all keys up.
    EXPECT_EQ(std::vector<uint8_t>(received.end() - 8, received.end()),
              (std::vector<uint8_t>{0, 0, 0, 0, 0, 0, 0, 0}));
}

// The UDC's state says whether the host listens; a suspended host is woken
// by the next report through the UDC's srp file (USB remote wakeup).
TEST_F(GadgetHidTest, TheUdcStateSaysWhetherTheHostListens) {
    std::ofstream(dir + "/kbd").flush();
    std::ofstream(dir + "/mouse").flush();
    const std::string udc = dir + "/udc/fake_udc.0";
    std::filesystem::create_directories(udc);
    std::ofstream(udc + "/state") << "not attached\n";
    GadgetHid::Options options;
    options.udc = "fake_udc.0";
    options.udcClassDir = dir + "/udc";
    GadgetHid hid(dir + "/kbd", dir + "/mouse", options);
    EXPECT_FALSE(hid.hostListening());
    EXPECT_EQ(hid.writeKeyboard({0, 0, 4, 0, 0, 0, 0, 0}), HidWriteResult::HostNotListening);

    std::ofstream(udc + "/state") << "configured\n";
    EXPECT_TRUE(testing::waitUntil([&] { return hid.hostListening(); }, std::chrono::seconds{5},
                                   std::chrono::milliseconds{20}));
    ASSERT_TRUE(hid.waitUntilWritten(std::chrono::seconds{5}));
    EXPECT_EQ(readAll(dir + "/kbd"), (std::vector<uint8_t>{0, 0, 4, 0, 0, 0, 0, 0}));

    std::ofstream(udc + "/state") << "suspended\n";
    EXPECT_TRUE(testing::waitUntil([&] { return !hid.hostListening(); }, std::chrono::seconds{5},
                                   std::chrono::milliseconds{20}));
    hid.writeKeyboard({0, 0, 5, 0, 0, 0, 0, 0});
    testing::waitUntil([&] { return std::filesystem::exists(udc + "/srp"); },
                       std::chrono::seconds{5}, std::chrono::milliseconds{20});
    std::string srp;
    std::getline(std::ifstream(udc + "/srp"), srp);
    EXPECT_EQ(srp, "1");
}

}  // namespace kvmvnc::input
