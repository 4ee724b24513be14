// SPDX-License-Identifier: GPL-2.0-or-later
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "kvmvnc/atx/atx_controller.h"
#include "kvmvnc/base/unique_fd.h"

namespace kvmvnc::atx {
namespace {

// Pins with nothing wired: these tests are about the network.
class NoPins final : public AtxPins {
public:
    bool hasButton(Button) const override { return false; }
    bool setButton(Button, bool, std::string &error) override {
        error = "not wired";
        return false;
    }
    LedLevels readLeds() override { return {}; }
    void waitForLedEdge(std::chrono::milliseconds timeout) override {
        std::this_thread::sleep_for(timeout);
    }
    std::string description() const override { return "no pins"; }
};

TEST(ParseMacAddress, AcceptsColonsOrDashesInEitherCase) {
    uint8_t mac[6] = {};
    ASSERT_TRUE(parseMacAddress("aa:bb:cc:dd:ee:ff", mac));
    EXPECT_EQ(std::vector<uint8_t>(mac, mac + 6),
              (std::vector<uint8_t>{0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff}));
    ASSERT_TRUE(parseMacAddress("01-23-45-67-89-AB", mac));
    EXPECT_EQ(std::vector<uint8_t>(mac, mac + 6),
              (std::vector<uint8_t>{0x01, 0x23, 0x45, 0x67, 0x89, 0xab}));
}

TEST(ParseMacAddress, RejectsAnythingElseAndLeavesTheOutputAlone) {
    uint8_t mac[6] = {1, 2, 3, 4, 5, 6};
    for (const char *bad : {"", "aa:bb:cc:dd:ee", "aa:bb:cc:dd:ee:ff:00", "aa:bb-cc:dd:ee:ff",
                            "aa:bb:cc:dd:ee:fg", "aabbccddeeff", "aa:bb:cc:dd:ee:f",
                            " a:bb:cc:dd:ee:ff", "aa.bb.cc.dd.ee.ff", "aa:bb:cc:dd:ee:ff "})
        EXPECT_FALSE(parseMacAddress(bad, mac)) << bad;
    EXPECT_EQ(std::vector<uint8_t>(mac, mac + 6), (std::vector<uint8_t>{1, 2, 3, 4, 5, 6}));
}

TEST(WakeOnLanPacket, IsSixFfThenTheMacSixteenTimes) {
    const uint8_t mac[6] = {0x00, 0x11, 0x22, 0x33, 0x44, 0xff};
    const std::string packet = wakeOnLanPacket(mac);
    ASSERT_EQ(packet.size(), 102u);
    for (size_t i = 0; i < 6; ++i)
        EXPECT_EQ(static_cast<uint8_t>(packet[i]), 0xff) << i;
    for (size_t i = 6; i < packet.size(); ++i)
        EXPECT_EQ(static_cast<uint8_t>(packet[i]), mac[(i - 6) % 6]) << i;
}

TEST(WakeOnLan, ControllerSendsTheMagicPacketByUdp) {
    UniqueFd receiver(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    ASSERT_TRUE(receiver.isValid());
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(receiver.get(), reinterpret_cast<sockaddr *>(&address), sizeof address), 0);
    socklen_t length = sizeof address;
    ASSERT_EQ(::getsockname(receiver.get(), reinterpret_cast<sockaddr *>(&address), &length), 0);

    WakeOnLanTarget target;
    ASSERT_TRUE(parseMacAddress("52:54:00:12:34:56", target.mac));
    target.address = "127.0.0.1";
    target.port = ntohs(address.sin_port);
    AtxTimings timings;
    timings.busyAfter = std::chrono::milliseconds{50};
    AtxController controller(std::make_unique<NoPins>(), timings, target);
    EXPECT_EQ(controller.description(),
              "no pins, Wake-on-LAN 52:54:00:12:34:56 to 127.0.0.1:" + std::to_string(target.port));

    std::string message;
    ASSERT_EQ(controller.perform(AtxAction::WakeOnLan, message), AtxResult::Ok) << message;
    EXPECT_TRUE(controller.state().busy);
    EXPECT_EQ(controller.perform(AtxAction::WakeOnLan, message), AtxResult::Busy);

    pollfd pfd{receiver.get(), POLLIN, 0};
    ASSERT_EQ(::poll(&pfd, 1, 5000), 1) << "no packet arrived";
    char buffer[256];
    const ssize_t size = ::recv(receiver.get(), buffer, sizeof buffer, 0);
    ASSERT_EQ(size, 102);
    EXPECT_EQ(std::string(buffer, static_cast<size_t>(size)), wakeOnLanPacket(target.mac));
    // The buttons are another matter: not wired here.
    EXPECT_EQ(controller.perform(AtxAction::PowerClick, message), AtxResult::Unsupported);
    EXPECT_EQ(message, "the power button is not wired");
}

TEST(WakeOnLan, AnAddressThatIsNotIpv4Fails) {
    WakeOnLanTarget target;
    target.address = "broadcast";
    AtxController controller(std::make_unique<NoPins>(), AtxTimings{}, target);
    std::string message;
    EXPECT_EQ(controller.perform(AtxAction::WakeOnLan, message), AtxResult::Failed);
    EXPECT_EQ(message, "Wake-on-LAN: broadcast is not an IPv4 address");
    EXPECT_FALSE(controller.state().busy);
}

}  // namespace
}  // namespace kvmvnc::atx
