// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/rfb/rfb_server.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>

#include "kvmvnc/control/control_service.h"
#include "kvmvnc/input/input_router.h"
#include "kvmvnc/input/text_typer.h"
#include "recording_sink.h"
#include "socket_io.h"
#include "wait_until.h"

namespace kvmvnc::rfb {

namespace {

RfbServerOptions options(int maxClients = 16) {
    RfbServerOptions options;
    options.desktopName = "rack 4";
    options.initialSize = {64, 48};
    options.maxClients = maxClients;
    return options;
}

using testing::readExactly;

void sendAll(int fd, const std::string &bytes) { ASSERT_TRUE(testing::sendAll(fd, bytes)); }

// Adopts one end of a socketpair; returns the other, the "client".
UniqueFd adoptOne(RfbServer &server, bool &adopted, bool viewOnly = false) {
    int pair[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
    testing::setReceiveTimeout(pair[1], 5);
    adopted = server.adopt(UniqueFd(pair[0]),
                           door::ViewerIdentity{"192.0.2.9", "alice", viewOnly, "X509Plain"});
    return UniqueFd(pair[1]);
}

bool waitForClients(const RfbServer &server, int count) {
    return testing::waitUntil([&] { return server.clientCount() == count; },
                              std::chrono::seconds{5});
}

}  // namespace

TEST(RfbServerTest, AnAdoptedConnectionIsServedWithoutAuthentication) {
    RfbServer server(options());
    bool adopted = false;
    UniqueFd client = adoptOne(server, adopted);
    ASSERT_TRUE(adopted);
    EXPECT_EQ(readExactly(client.get(), 12), "RFB 003.008\n");
    sendAll(client.get(), "RFB 003.008\n");
    EXPECT_EQ(readExactly(client.get(), 2), std::string("\x01\x01", 2)) << "None, only";
    sendAll(client.get(), "\x01");
    EXPECT_EQ(readExactly(client.get(), 4), std::string(4, '\0'));
    sendAll(client.get(), "\x01");  // ClientInit, shared
    const std::string init = readExactly(client.get(), 24);
    ASSERT_EQ(init.size(), 24u);
    EXPECT_EQ(static_cast<uint8_t>(init[1]), 64) << "width";
    EXPECT_EQ(static_cast<uint8_t>(init[3]), 48) << "height";
    const uint32_t nameLength = static_cast<uint8_t>(init[23]);
    EXPECT_EQ(readExactly(client.get(), nameLength), "rack 4");
    EXPECT_TRUE(waitForClients(server, 1));
    client.reset();
    EXPECT_TRUE(waitForClients(server, 0)) << "a closed connection is a viewer gone";
}

// A viewer that stopped reading in the middle of a large update holds its
// output thread in write(); the server going away must not wait out
// libvncserver's 20 s write timeout for it (it takes one 5 s wait in
// libvncserver's write loop while this peer keeps its end open).
TEST(RfbServerTest, GoesAwayPromptlyWithAViewerThatStoppedReading) {
    RfbServerOptions large = options();
    large.initialSize = {1920, 1080};
    auto server = std::make_unique<RfbServer>(large);
    bool adopted = false;
    UniqueFd client = adoptOne(*server, adopted);
    ASSERT_TRUE(adopted);
    ASSERT_EQ(readExactly(client.get(), 12), "RFB 003.008\n");
    sendAll(client.get(), "RFB 003.008\n");
    ASSERT_EQ(readExactly(client.get(), 2), std::string("\x01\x01", 2));
    sendAll(client.get(), "\x01");
    ASSERT_EQ(readExactly(client.get(), 4), std::string(4, '\0'));
    sendAll(client.get(), "\x01");
    const std::string init = readExactly(client.get(), 24);
    ASSERT_EQ(init.size(), 24u);
    ASSERT_EQ(readExactly(client.get(), static_cast<uint8_t>(init[23])).size(),
              static_cast<size_t>(static_cast<uint8_t>(init[23])));
    // The whole 1920x1080 screen in Raw: 8 MB against a socket buffer of a
    // few hundred KB, and this viewer reads none of it.
    sendAll(client.get(), std::string("\x03\x00\x00\x00\x00\x00\x07\x80\x04\x38", 10));
    ASSERT_TRUE(waitForClients(*server, 1));
    std::this_thread::sleep_for(std::chrono::milliseconds{300});

    const auto start = std::chrono::steady_clock::now();
    server.reset();
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds{15});
}

TEST(RfbServerTest, ViewersBeyondTheLimitAreRefused) {
    RfbServer server(options(1));
    bool adopted = false;
    UniqueFd first = adoptOne(server, adopted);
    ASSERT_TRUE(adopted);
    UniqueFd second = adoptOne(server, adopted);
    EXPECT_FALSE(adopted);
    char byte;
    // The refused connection's other end sees it closed (after the version
    // libvncserver writes first).
    EXPECT_EQ(readExactly(second.get(), 12), "RFB 003.008\n");
    EXPECT_EQ(::recv(second.get(), &byte, 1, 0), 0);
    server.setMaxClients(2);
    UniqueFd third = adoptOne(server, adopted);
    EXPECT_TRUE(adopted) << "a raised limit applies at once";
}

TEST(RfbServerTest, DesktopNameChangesAndKeepsTheKeyboardNote) {
    RfbServer server(options());
    EXPECT_EQ(server.desktopName(), "rack 4");
    server.setDesktopName("rack 5");
    EXPECT_EQ(server.desktopName(), "rack 5");
    server.setHostListening(false);
    EXPECT_EQ(server.desktopName(), "rack 5 (keyboard not connected)");
    server.setDesktopName("rack 6");
    EXPECT_EQ(server.desktopName(), "rack 6 (keyboard not connected)");
}

namespace {

// What reaches the target from viewers, in order: keys as "+keysym" /
// "-keysym", clicks as "click"; keys go on to the router.
class RecordingInput : public RfbInputHandler {
public:
    explicit RecordingInput(input::InputRouter &router) : router_(router) {}
    void keysymEvent(uint64_t viewer, bool down, uint32_t keysym) override {
        note((down ? "+" : "-") + std::to_string(keysym));
        router_.keysymEvent(viewer, down, keysym);
    }
    void scancodeEvent(uint64_t viewer, bool down, uint32_t xtKeycode, uint32_t keysym) override {
        note((down ? "+" : "-") + std::to_string(keysym));
        router_.scancodeEvent(viewer, down, xtKeycode);
    }
    void pointerEvent(uint64_t, uint8_t buttons, int, int, Size) override {
        if (buttons)
            note("click");
    }
    void viewerLeft(uint64_t viewer) override { router_.viewerLeft(viewer); }
    std::vector<std::string> events() const {
        std::lock_guard lock(mutex_);
        return events_;
    }

private:
    void note(std::string event) {
        std::lock_guard lock(mutex_);
        events_.push_back(std::move(event));
    }
    input::InputRouter &router_;
    mutable std::mutex mutex_;
    std::vector<std::string> events_;
};

std::string u32(uint32_t value) {
    return {static_cast<char>(value >> 24), static_cast<char>(value >> 16),
            static_cast<char>(value >> 8), static_cast<char>(value)};
}

std::string key(bool down, uint32_t keysym) {
    return std::string{4, static_cast<char>(down), 0, 0} + u32(keysym);
}

std::string tap(uint32_t keysym) { return key(true, keysym) + key(false, keysym); }

std::string cutText(const std::string &text) {
    return std::string{6, 0, 0, 0} + u32(static_cast<uint32_t>(text.size())) + text;
}

constexpr uint32_t kAltL = 0xffe9;
const std::string kChord = tap(kAltL) + tap(kAltL) + tap('p');

// A server with a keyboard (a recording one), a typist and the control
// service that types for the paste chord, and one logged-in viewer.
class RfbServerPasteTest : public ::testing::Test {
protected:
    RfbServerPasteTest()
        : router_(std::make_shared<const input::KeysymMap>(
                      input::KeysymMap::forLayout("us", {KVMVNC_KEYMAPS_BUILD_DIR})),
                  sink_),
          typer_(router_, std::chrono::milliseconds{0}),
          service_(control::ControlDevices{nullptr, false, nullptr, nullptr, &typer_}),
          input_(router_) {
        RfbServerOptions serverOptions = options();
        serverOptions.input = &input_;
        serverOptions.control = &service_;
        server_ = std::make_unique<RfbServer>(serverOptions);
        bool adopted = false;
        client_ = adoptOne(*server_, adopted);
        EXPECT_TRUE(adopted);
        EXPECT_EQ(readExactly(client_.get(), 12), "RFB 003.008\n");
        sendAll(client_.get(), "RFB 003.008\n");
        EXPECT_EQ(readExactly(client_.get(), 2).size(), 2u);
        sendAll(client_.get(), "\x01");
        EXPECT_EQ(readExactly(client_.get(), 4).size(), 4u);
        sendAll(client_.get(), "\x01");
        const std::string init = readExactly(client_.get(), 24);
        EXPECT_EQ(readExactly(client_.get(), static_cast<uint8_t>(init.at(23))), "rack 4");
    }
    ~RfbServerPasteTest() override {
        client_.reset();
        waitForClients(*server_, 0);
        server_.reset();
        typer_.cancelAndWait();
    }

    // Sends `bytes`, then a tap of 'z', and waits for the z to arrive: what
    // came before it has been handled. What reached the target since the
    // last call, the z left out.
    std::vector<std::string> sendAndSettle(const std::string &bytes) {
        sendAll(client_.get(), bytes + tap('z'));
        const std::string zUp = "-" + std::to_string('z');
        std::vector<std::string> events;
        testing::waitUntil(
            [&] {
                events = input_.events();
                return events.size() >= settled_ + 2 && events.back() == zUp;
            },
            std::chrono::seconds{5});
        EXPECT_TRUE(events.size() >= settled_ + 2 && events.back() == zUp)
            << "the closing z did not arrive";
        if (events.size() < settled_ + 2)
            return events;
        std::vector<std::string> since(events.begin() + static_cast<ptrdiff_t>(settled_),
                                       events.end() - 2);
        settled_ = events.size();
        return since;
    }

    bool waitForTyped(uint64_t characters) {
        return testing::waitUntil(
            [&] { return router_.stats().typedCharacters == characters && !typer_.busy(); },
            std::chrono::seconds{5});
    }

    input::RecordingSink sink_;
    input::InputRouter router_;
    input::TextTyper typer_;
    control::ControlService service_;
    RecordingInput input_;
    std::unique_ptr<RfbServer> server_;
    UniqueFd client_;
    size_t settled_ = 0;
};

}  // namespace

TEST_F(RfbServerPasteTest, TheChordTypesTheViewersClipboardAndNoneOfItsKeysPass) {
    EXPECT_TRUE(sendAndSettle(cutText("ls -l") + kChord).empty());
    EXPECT_TRUE(waitForTyped(5)) << router_.stats().typedCharacters;
}

TEST_F(RfbServerPasteTest, TheClipboardAloneTypesNothing) {
    EXPECT_TRUE(sendAndSettle(cutText("rm -rf /")).empty());
    EXPECT_EQ(router_.stats().typedCharacters, 0u);
}

TEST_F(RfbServerPasteTest, AnUntypableClipboardIsRefusedWholeAndTheLastOneCounts) {
    // Latin-1 "cafe" with e acute: "us" has no key for it, so nothing is typed.
    EXPECT_TRUE(sendAndSettle(cutText("first") + cutText("caf\xe9") + kChord).empty());
    EXPECT_EQ(router_.stats().typedCharacters, 0u);
    EXPECT_TRUE(sendAndSettle(cutText("second") + kChord).empty());
    EXPECT_TRUE(waitForTyped(6));
}

TEST_F(RfbServerPasteTest, AnAltTapThatIsNotTheChordReachesTheTargetInOrder) {
    const std::string alt = std::to_string(kAltL);
    const std::string a = std::to_string('a');
    EXPECT_EQ(sendAndSettle(cutText("secret") + tap(kAltL) + tap('a')),
              (std::vector<std::string>{"+" + alt, "-" + alt, "+" + a, "-" + a}));
    // A click lets it go before the click.
    const std::string click = std::string{5, 1, 0, 10, 0, 10} + std::string{5, 0, 0, 10, 0, 10};
    EXPECT_EQ(sendAndSettle(tap(kAltL) + click),
              (std::vector<std::string>{"+" + alt, "-" + alt, "click"}));
    // Alt held with P is a shortcut, not the chord.
    const std::string p = std::to_string('p');
    EXPECT_EQ(sendAndSettle(key(true, kAltL) + tap('p') + key(false, kAltL)),
              (std::vector<std::string>{"+" + alt, "+" + p, "-" + p, "-" + alt}));
    EXPECT_EQ(router_.stats().typedCharacters, 0u);
}

}  // namespace kvmvnc::rfb
