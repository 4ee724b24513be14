// SPDX-License-Identifier: GPL-2.0-or-later
// The front door on a loopback port, with a stand-in for libvncserver that
// does its side of the handshake and then echoes: RFB clients get through
// and their bytes are relayed; stalled, garbage and oversized clients are
// dropped in bounded time without keeping others out.
#include "kvmvnc/door/front_door.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>
#include <vector>

#include "socket_io.h"
#include "test_timing.h"
#include "wait_until.h"

namespace kvmvnc::door {
namespace {

using namespace std::chrono_literals;

using testing::connectLoopback;
using testing::kSlowdown;
using testing::readExactly;
using testing::waitUntil;
using Clock = std::chrono::steady_clock;

void sendAll(int fd, const std::string &bytes) { ASSERT_TRUE(testing::sendAll(fd, bytes)); }

// True when the server closed the connection (within the receive timeout).
bool closedByServer(int fd) {
    char byte;
    for (;;) {
        ssize_t r = ::recv(fd, &byte, 1, 0);
        if (r == 0)
            return true;
        if (r < 0)
            return errno == ECONNRESET;
    }
}

// A connection to the door on 127.0.0.1 from `source`, any 127/8 address
// (Linux takes them all on the loopback interface), so that one test can be
// clients on many addresses. Receives time out after 5 s; invalid when the
// connection fails.
UniqueFd connectFrom(const std::string &source, int port) {
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in local{};
    local.sin_family = AF_INET;
    inet_pton(AF_INET, source.c_str(), &local.sin_addr);
    sockaddr_in door{};
    door.sin_family = AF_INET;
    door.sin_port = htons(static_cast<uint16_t>(port));
    door.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd.get(), reinterpret_cast<sockaddr *>(&local), sizeof(local)) != 0 ||
        ::connect(fd.get(), reinterpret_cast<sockaddr *>(&door), sizeof(door)) != 0)
        return {};
    testing::setReceiveTimeout(fd.get(), 5);
    return fd;
}

// Connections from several addresses that say `greeting` (or nothing) and
// then nothing more, each opened again as soon as the server closes it:
// silent ones once kept every viewer out for as long as they went on.
class Flood {
public:
    // From 127.0.0.2 on, `perAddress` connections from each of `addresses`.
    Flood(int port, int addresses, int perAddress, std::string greeting = {})
        : port_(port), greeting_(std::move(greeting)) {
        for (int a = 0; a < addresses; ++a) {
            for (int i = 0; i < perAddress; ++i)
                connections_.push_back({"127.0.0." + std::to_string(a + 2), {}});
        }
        thread_ = std::thread([this] { run(); });
    }
    ~Flood() {
        stop_ = true;
        thread_.join();
    }
    // How many connections the server closed (and were opened again).
    int closed() const { return closed_.load(); }

private:
    struct Connection {
        std::string source;
        UniqueFd fd;
    };

    void run() {
        while (!stop_.load()) {
            std::vector<pollfd> fds;
            for (Connection &connection : connections_) {
                if (!connection.fd.isValid()) {
                    connection.fd = connectFrom(connection.source, port_);
                    ::send(connection.fd.get(), greeting_.data(), greeting_.size(),
                           MSG_NOSIGNAL | MSG_DONTWAIT);
                }
                fds.push_back({connection.fd.get(), POLLIN, 0});
            }
            if (::poll(fds.data(), fds.size(), 20) <= 0)
                continue;
            for (size_t i = 0; i < fds.size(); ++i) {
                if (!fds[i].revents)
                    continue;
                char buffer[64];  // the server's version, if it got that far
                const ssize_t n = ::recv(fds[i].fd, buffer, sizeof(buffer), MSG_DONTWAIT);
                if (n > 0 || (n < 0 && errno == EAGAIN))
                    continue;
                connections_[i].fd.reset();
                ++closed_;
            }
        }
    }

    int port_;
    std::string greeting_;
    std::vector<Connection> connections_;
    std::atomic<bool> stop_{false};
    std::atomic<int> closed_{0};
    std::thread thread_;
};

// One HTTP response: its head and the body Content-Length announces.
std::string readResponse(int fd) {
    std::string head;
    while (head.find("\r\n\r\n") == std::string::npos) {
        const std::string more = readExactly(fd, 1);
        if (more.empty())
            return head;
        head += more;
    }
    const size_t length = head.find("\r\nContent-Length: ");
    if (length == std::string::npos)
        return head;
    return head + readExactly(fd, std::stoul(head.substr(length + 18)));
}

bool hasHeader(const std::string &response, const std::string &line) {
    return response.substr(0, response.find("\r\n\r\n") + 2).find("\r\n" + line + "\r\n") !=
           std::string::npos;
}

// What a viewer sends once admitted, as the relay's filter lets it
// through unchanged: ClientInit, then `keys` key events.
std::string viewerTraffic(size_t keys) {
    std::string bytes = "\x01";
    for (size_t i = 0; i < keys; ++i)
        bytes += std::string("\x04\x01\x00\x00\x00\x00\x00", 7) + static_cast<char>('a' + i % 26);
    return bytes;
}

class FrontDoorTest : public ::testing::Test {
protected:
    void start(FrontDoorOptions options = {}) {
        options.listen = "127.0.0.1";
        options.port = 0;
        options.handoff = [this](UniqueFd fd, const Viewer &viewer) {
            std::lock_guard lock(mutex_);
            viewers_.push_back(viewer);
            libraries_.emplace_back([fd = std::move(fd)] { playLibrary(fd.get()); });
            return true;
        };
        door_ = std::make_unique<FrontDoor>(std::move(options));
    }
    void TearDown() override {
        door_.reset();
        for (std::thread &thread : libraries_)
            thread.join();
    }

    // libvncserver's side: version, None, OK, then an echo.
    static void playLibrary(int fd) {
        sendAll(fd, "RFB 003.008\n");
        readExactly(fd, 12);
        sendAll(fd, std::string("\x01\x01", 2));
        readExactly(fd, 1);
        sendAll(fd, std::string(4, '\0'));
        char buffer[4096];
        for (;;) {
            ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
            if (n <= 0)
                return;
            if (::send(fd, buffer, static_cast<size_t>(n), MSG_NOSIGNAL) != n)
                return;
        }
    }

    // A plain RFB client through None; returns the connected socket.
    UniqueFd rfbClient() {
        UniqueFd fd = connectLoopback(door_->port());
        EXPECT_EQ(readExactly(fd.get(), 12), "RFB 003.008\n");
        sendAll(fd.get(), "RFB 003.008\n");
        EXPECT_EQ(readExactly(fd.get(), 2), std::string("\x01\x01", 2));
        sendAll(fd.get(), "\x01");
        EXPECT_EQ(readExactly(fd.get(), 4), std::string(4, '\0'));
        return fd;
    }

    std::unique_ptr<FrontDoor> door_;
    std::mutex mutex_;
    std::vector<Viewer> viewers_;
    std::vector<std::thread> libraries_;
};

TEST_F(FrontDoorTest, AnRfbClientIsAdmittedAndRelayed) {
    start();
    UniqueFd client = rfbClient();
    const std::string message = viewerTraffic(25000);  // more than one relay buffer
    std::thread writer([&] { sendAll(client.get(), message); });
    EXPECT_EQ(readExactly(client.get(), message.size()), message);
    writer.join();
    std::lock_guard lock(mutex_);
    ASSERT_EQ(viewers_.size(), 1u);
    EXPECT_EQ(viewers_[0].peer, "127.0.0.1");
    EXPECT_EQ(viewers_[0].security, "None");
    EXPECT_FALSE(viewers_[0].viewOnly);
}

// [server] rfb_port: an RFB viewer is greeted at once there; on the shared
// port the door first waits to see whether the client speaks (a browser).
TEST_F(FrontDoorTest, TheRfbOnlyPortGreetsAtOnce) {
    FrontDoorOptions options;
    options.sniffTime = 5s;  // long enough that no loaded machine blurs the two
    options.rfbPort = 0;
    start(std::move(options));
    ASSERT_GT(door_->rfbPort(), 0);
    ASSERT_NE(door_->rfbPort(), door_->port());
    const auto before = std::chrono::steady_clock::now();
    UniqueFd fd = connectLoopback(door_->rfbPort());
    EXPECT_EQ(readExactly(fd.get(), 12), "RFB 003.008\n");
    EXPECT_LT(std::chrono::steady_clock::now() - before, 2500ms) << "no sniffing wait";
    sendAll(fd.get(), "RFB 003.008\n");
    EXPECT_EQ(readExactly(fd.get(), 2), std::string("\x01\x01", 2));
    sendAll(fd.get(), "\x01");
    EXPECT_EQ(readExactly(fd.get(), 4), std::string(4, '\0'));
    sendAll(fd.get(), viewerTraffic(1));
    EXPECT_EQ(readExactly(fd.get(), 9), viewerTraffic(1)) << "admitted and relayed";

    // The shared port still waits.
    const auto shared = std::chrono::steady_clock::now();
    UniqueFd other = connectLoopback(door_->port());
    EXPECT_EQ(readExactly(other.get(), 12), "RFB 003.008\n");
    EXPECT_GE(std::chrono::steady_clock::now() - shared, 5s);
}

// What a browser sends first (a TLS ClientHello, an HTTP request) is not
// an RFB version: on the RFB-only port it is refused, and the door goes on
// serving.
TEST_F(FrontDoorTest, TheRfbOnlyPortTakesNoTlsOrHttp) {
    FrontDoorOptions options;
    options.rfbPort = 0;
    start(std::move(options));
    for (const std::string &first :
         {std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\x5a\x5a\x5a\x5a\x5a", 16),
          std::string("GET / HTTP/1.1\r\nHost: x\r\n\r\n")}) {
        UniqueFd fd = connectLoopback(door_->rfbPort());
        sendAll(fd.get(), first);
        EXPECT_TRUE(closedByServer(fd.get()));
    }
    EXPECT_EQ(door_->handshakesInProgress(), 0);
    UniqueFd client = rfbClient();
    sendAll(client.get(), viewerTraffic(1));
    EXPECT_EQ(readExactly(client.get(), 9), viewerTraffic(1));
}

TEST_F(FrontDoorTest, AStalledClientIsDroppedAndDoesNotKeepOthersOut) {
    FrontDoorOptions options;
    options.handshakeTimeout = 800ms;
    start(std::move(options));
    UniqueFd stalled = connectLoopback(door_->port());
    EXPECT_EQ(readExactly(stalled.get(), 12), "RFB 003.008\n");
    // Says nothing more. Meanwhile another client gets through.
    UniqueFd other = rfbClient();
    sendAll(other.get(), viewerTraffic(1));
    EXPECT_EQ(readExactly(other.get(), 9), viewerTraffic(1));
    const auto before = std::chrono::steady_clock::now();
    EXPECT_TRUE(closedByServer(stalled.get()));
    EXPECT_LT(std::chrono::steady_clock::now() - before, 3s);
}

TEST_F(FrontDoorTest, GarbageIsDropped) {
    start();
    UniqueFd fd = connectLoopback(door_->port());
    sendAll(fd.get(), std::string("\x00\x01\x02garbage", 10));
    EXPECT_TRUE(closedByServer(fd.get()));
    EXPECT_EQ(door_->handshakesInProgress(), 0);
}

TEST_F(FrontDoorTest, AHugeHttpRequestIsRefusedInBoundedMemory) {
    start();
    UniqueFd fd = connectLoopback(door_->port());
    std::string request = "GET /" + std::string(1 << 20, 'a') + " HTTP/1.1\r\n\r\n";
    // The server stops reading early; the rest of the send may fail.
    std::thread writer([&] { ::send(fd.get(), request.data(), request.size(), MSG_NOSIGNAL); });
    const std::string answer = readExactly(fd.get(), 12);
    EXPECT_EQ(answer.substr(0, 9), "HTTP/1.1 ") << answer;
    EXPECT_NE(answer.substr(9, 3), "200");
    ::shutdown(fd.get(), SHUT_RDWR);
    writer.join();
}

TEST_F(FrontDoorTest, AnAddressHoldingItsShareMakesRoomWithItsOldestConnection) {
    FrontDoorOptions options;
    options.maxHandshakesPerPeer = 2;
    options.handshakeTimeout = 5s;
    start(std::move(options));
    UniqueFd first = connectLoopback(door_->port());
    UniqueFd second = connectLoopback(door_->port());
    EXPECT_EQ(readExactly(first.get(), 12), "RFB 003.008\n");
    EXPECT_EQ(readExactly(second.get(), 12), "RFB 003.008\n");
    UniqueFd third = connectLoopback(door_->port());
    EXPECT_TRUE(closedByServer(first.get())) << "closed at once, not after the timeout";
    EXPECT_EQ(readExactly(third.get(), 12), "RFB 003.008\n");
    EXPECT_EQ(door_->handshakesInProgress(), 2);
}

// Silent connections from five addresses, more than the door has places,
// opened again whenever closed: a viewer from elsewhere still logs in at once.
TEST_F(FrontDoorTest, AFloodFromSeveralAddressesCannotKeepAViewerOut) {
    start();
    Flood flood(door_->port(), 5, 8);
    ASSERT_TRUE(waitUntil(
        [&] { return door_->handshakesInProgress() == 32 && flood.closed() >= 8; }, 5s * kSlowdown))
        << door_->handshakesInProgress() << " handshakes, " << flood.closed() << " closed";
    for (int i = 0; i < 3; ++i) {
        const auto before = Clock::now();
        UniqueFd viewer = rfbClient();
        sendAll(viewer.get(), viewerTraffic(1));
        EXPECT_EQ(readExactly(viewer.get(), 9), viewerTraffic(1));
        EXPECT_LT(Clock::now() - before, 1s * kSlowdown);
    }
    EXPECT_GT(flood.closed(), 8) << "the flood went on meanwhile";
}

// A person typing a password holds a handshake for seconds; a flood from
// other addresses does not push it out meanwhile.
TEST_F(FrontDoorTest, AViewerTakingItsTimeKeepsItsPlaceInAFlood) {
    start();
    UniqueFd viewer = connectLoopback(door_->port());
    EXPECT_EQ(readExactly(viewer.get(), 12), "RFB 003.008\n");
    Flood flood(door_->port(), 5, 8);
    std::this_thread::sleep_for(1500ms);
    EXPECT_GT(flood.closed(), 100) << "the flood pushed its own connections out meanwhile";
    sendAll(viewer.get(), "RFB 003.008\n");
    EXPECT_EQ(readExactly(viewer.get(), 2), std::string("\x01\x01", 2));
    sendAll(viewer.get(), "\x01");
    EXPECT_EQ(readExactly(viewer.get(), 4), std::string(4, '\0'));
}

TEST_F(FrontDoorTest, PlaintextPasswordsAreRefusedUnlessAllowed) {
    FrontDoorOptions options;
    auto credentials = std::make_shared<Credentials>();
    credentials->vnc = VncPasswords{"secret", ""};
    options.credentials = credentials;
    start(std::move(options));
    UniqueFd fd = connectLoopback(door_->port());
    EXPECT_EQ(readExactly(fd.get(), 12), "RFB 003.008\n");
    sendAll(fd.get(), "RFB 003.008\n");
    EXPECT_EQ(readExactly(fd.get(), 1), std::string(1, '\0')) << "no security type offered";
    SecurityPolicy policy;
    policy.allowUnencrypted = true;
    door_->setPolicy(policy);
    UniqueFd allowed = connectLoopback(door_->port());
    readExactly(allowed.get(), 12);
    sendAll(allowed.get(), "RFB 003.008\n");
    EXPECT_EQ(readExactly(allowed.get(), 2), std::string("\x01\x02", 2));
}

// A browser loads the panel's files over a few connections it keeps open.
TEST_F(FrontDoorTest, StaticFilesOneAfterAnotherOnAKeptConnection) {
    const std::string root = ::testing::TempDir() + "kvmvnc-door-web-" + std::to_string(::getpid());
    std::filesystem::create_directories(root);
    std::ofstream(root + "/index.html") << "<p>panel</p>";
    std::ofstream(root + "/a.js") << "export {};";
    FrontDoorOptions options;
    options.webRoot = root;
    start(std::move(options));
    UniqueFd fd = connectLoopback(door_->port());
    sendAll(
        fd.get(),
        "GET / HTTP/1.1\r\nHost: localhost\r\n\r\nGET /a.js HTTP/1.1\r\nHost: localhost\r\n\r\n");
    std::string answers;
    while (answers.find("export {};") == std::string::npos) {
        const std::string more = readExactly(fd.get(), 1);
        if (more.empty())
            break;
        answers += more;
    }
    EXPECT_NE(answers.find("Connection: keep-alive"), std::string::npos) << answers;
    EXPECT_NE(answers.find("<p>panel</p>"), std::string::npos) << answers;
    EXPECT_NE(answers.find("export {};"), std::string::npos) << answers;
    // The last request says close: the server answers and closes.
    sendAll(fd.get(), "GET /a.js HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    EXPECT_TRUE(closedByServer(fd.get()));
    std::filesystem::remove_all(root);
}

// Each connection pushed out would be a line in the journal: one says it
// for many.
TEST_F(FrontDoorTest, ConnectionsPushedOutAreLoggedOnceForMany) {
    start();
    // Past the sniffing, in the middle of a request head.
    Flood flood(door_->port(), 5, 8, "GET / HTTP/1.1\r\n");
    ASSERT_TRUE(waitUntil([&] { return flood.closed() > 0; }, 5s * kSlowdown));
    ::testing::internal::CaptureStderr();
    const int before = flood.closed();
    const bool many = waitUntil([&] { return flood.closed() > before + 1000; }, 5s * kSlowdown);
    const std::string log = ::testing::internal::GetCapturedStderr();
    EXPECT_TRUE(many) << flood.closed() - before;
    EXPECT_LT(std::count(log.begin(), log.end(), '\n'), 3) << log.substr(0, 2000);
}

// A web root for the tests below: an index and a module.
class FrontDoorWebTest : public FrontDoorTest {
protected:
    void SetUp() override {
        std::filesystem::create_directories(root_);
        std::ofstream(root_ + "/index.html") << "<p>panel</p>";
        std::ofstream(root_ + "/a.js") << "export {};";
    }
    void TearDown() override {
        FrontDoorTest::TearDown();
        std::filesystem::remove_all(root_);
    }
    // A connection that fetched the index and is kept.
    UniqueFd keptPage() {
        UniqueFd fd = connectLoopback(door_->port());
        EXPECT_TRUE(fetch(fd.get(), "/").starts_with("HTTP/1.1 200 "));
        return fd;
    }
    static std::string fetch(int fd, const std::string &path) {
        sendAll(fd, "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
        return readResponse(fd);
    }

    const std::string root_ =
        ::testing::TempDir() + "kvmvnc-door-files-" + std::to_string(::getpid());
};

// A browser keeps its connections for the panel's files open between
// requests; they wait in places of their own, not in the handshakes'.
TEST_F(FrontDoorWebTest, StaticFileConnectionsHoldNoHandshakePlace) {
    FrontDoorOptions options;
    options.webRoot = root_;
    options.maxHandshakes = 1;
    options.maxHandshakesPerPeer = 1;
    start(std::move(options));
    UniqueFd first = keptPage();
    UniqueFd second = keptPage();
    UniqueFd viewer = rfbClient();
    sendAll(viewer.get(), viewerTraffic(1));
    EXPECT_EQ(readExactly(viewer.get(), 9), viewerTraffic(1));
    EXPECT_TRUE(fetch(first.get(), "/a.js").starts_with("HTTP/1.1 200 "));
    EXPECT_TRUE(fetch(second.get(), "/a.js").starts_with("HTTP/1.1 200 "));
}

TEST_F(FrontDoorWebTest, TheOldestStaticFileConnectionMakesRoom) {
    FrontDoorOptions options;
    options.webRoot = root_;
    options.maxFileConnections = 2;
    options.maxFileConnectionsPerPeer = 2;
    start(std::move(options));
    UniqueFd first = keptPage();
    UniqueFd second = keptPage();
    UniqueFd third = keptPage();
    EXPECT_TRUE(closedByServer(first.get()));
    EXPECT_TRUE(fetch(second.get(), "/a.js").starts_with("HTTP/1.1 200 "));
    EXPECT_TRUE(fetch(third.get(), "/a.js").starts_with("HTTP/1.1 200 "));
}

// Each request once gave a kept connection a new deadline, for ever.
TEST_F(FrontDoorWebTest, AKeptConnectionTakesRequestsForALimitedTime) {
    FrontDoorOptions options;
    options.webRoot = root_;
    options.fileConnectionLifetime = 1s;
    start(std::move(options));
    UniqueFd fd = connectLoopback(door_->port());
    const auto before = Clock::now();
    std::string response;
    waitUntil(
        [&] {
            response = fetch(fd.get(), "/a.js");
            return !response.starts_with("HTTP/1.1 200 ") ||
                   hasHeader(response, "Connection: close");
        },
        5s, 100ms);
    ASSERT_TRUE(response.starts_with("HTTP/1.1 200 ")) << response;
    EXPECT_TRUE(hasHeader(response, "Connection: close")) << response;
    EXPECT_GT(Clock::now() - before, 900ms);
    EXPECT_LT(Clock::now() - before, 2s * kSlowdown);
    EXPECT_TRUE(closedByServer(fd.get()));
}

// DNS rebinding: once evil.example resolves to the KVM, a page of
// evil.example is, to the browser, of the same origin as the KVM's port, so
// the Origin check lets it in; the name it sends as Host does not.
TEST_F(FrontDoorTest, ARequestForAnotherHostNameIsRefused) {
    start();  // no credentials: whoever reaches the door controls the target
    const std::string port = std::to_string(door_->port());
    auto request = [&](const std::string &host, bool upgrade) {
        UniqueFd fd = connectLoopback(door_->port());
        std::string text = "GET / HTTP/1.1\r\nHost: " + host + "\r\n";
        if (upgrade)
            text +=
                "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                "Sec-WebSocket-Version: 13\r\nOrigin: http://" +
                host + "\r\n";
        sendAll(fd.get(), text + "\r\n");
        return readResponse(fd.get());
    };
    for (const std::string &host :
         {"evil.example:" + port, std::string("evil.example"), "127.0.0.1.evil.example:" + port,
          std::string("localhost.evil.example")}) {
        const std::string page = request(host, false);
        EXPECT_TRUE(page.starts_with("HTTP/1.1 421 ")) << host << "\n" << page;
        EXPECT_TRUE(hasHeader(page, "Content-Security-Policy: frame-ancestors 'none'")) << page;
        EXPECT_TRUE(hasHeader(page, "X-Frame-Options: DENY")) << page;
        EXPECT_TRUE(hasHeader(page, "X-Content-Type-Options: nosniff")) << page;
        EXPECT_TRUE(request(host, true).starts_with("HTTP/1.1 421 ")) << host;
    }
    for (const std::string &host :
         {"127.0.0.1:" + port, "localhost:" + port, std::string("LocalHost."), "[::1]:" + port,
          std::string("192.0.2.7")}) {
        EXPECT_TRUE(request(host, false).starts_with("HTTP/1.1 404 ")) << host;  // no web root
        EXPECT_TRUE(request(host, true).starts_with("HTTP/1.1 101 ")) << host;
    }
    SecurityPolicy policy;
    policy.webOrigins = {"https://kvm.example:8443"};
    door_->setPolicy(policy);
    EXPECT_TRUE(request("kvm.example:" + port, true).starts_with("HTTP/1.1 101 "));
    EXPECT_TRUE(request("KVM.Example.", false).starts_with("HTTP/1.1 404 "));
    EXPECT_TRUE(request("evil.example", false).starts_with("HTTP/1.1 421 "));
}

// A page on another site, opened in a browser on the KVM's network, must not
// reach the RFB port through it.
TEST_F(FrontDoorTest, AForeignWebPageCannotOpenAWebSocket) {
    start();
    const std::string host = "127.0.0.1:" + std::to_string(door_->port());
    auto upgrade = [&](const std::string &origin) {
        UniqueFd fd = connectLoopback(door_->port());
        sendAll(fd.get(), "GET / HTTP/1.1\r\nHost: " + host +
                              "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                              "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                              "Sec-WebSocket-Version: 13\r\nOrigin: " +
                              origin + "\r\n\r\n");
        return readExactly(fd.get(), 12);
    };
    EXPECT_EQ(upgrade("http://evil.example"), "HTTP/1.1 403");
    EXPECT_EQ(upgrade("https://" + host), "HTTP/1.1 101") << "the panel's own page";
    SecurityPolicy policy;
    policy.webOrigins = {"http://evil.example"};
    door_->setPolicy(policy);
    EXPECT_EQ(upgrade("http://evil.example"), "HTTP/1.1 101") << "listed in web_origins";
}

TEST_F(FrontDoorTest, GarbageAfterATlsRecordHeaderIsDropped) {
    const std::string dir = ::testing::TempDir() + "kvmvnc-door-junk-" + std::to_string(::getpid());
    FrontDoorOptions options;
    options.tls = std::make_shared<TlsServer>(ensureSelfSignedCertificate(dir));
    start(std::move(options));
    UniqueFd fd = connectLoopback(door_->port());
    sendAll(fd.get(), std::string("\x16\x03\x01\x00\x20", 5) + std::string(32, '\x7f'));
    EXPECT_TRUE(closedByServer(fd.get()));
    EXPECT_EQ(door_->handshakesInProgress(), 0);
    std::filesystem::remove_all(dir);
}

TEST_F(FrontDoorTest, PlainHttpGoesToHttpsWhenLoginsMustBeEncrypted) {
    const std::string dir = ::testing::TempDir() + "kvmvnc-door-tls-" + std::to_string(::getpid());
    FrontDoorOptions options;
    options.tls = std::make_shared<TlsServer>(ensureSelfSignedCertificate(dir));
    auto credentials = std::make_shared<Credentials>();
    credentials->vnc = VncPasswords{"secret", ""};
    options.credentials = credentials;
    options.policy.webOrigins = {"https://kvm.example:5900"};  // the name it answers to
    start(std::move(options));
    UniqueFd fd = connectLoopback(door_->port());
    sendAll(fd.get(), "GET /index.html?x=1 HTTP/1.1\r\nHost: kvm.example:5900\r\n\r\n");
    const std::string answer = readExactly(fd.get(), 4096);
    EXPECT_EQ(answer.rfind("HTTP/1.1 301 ", 0), 0u) << answer;
    EXPECT_TRUE(hasHeader(answer, "Location: https://kvm.example:5900/index.html?x=1")) << answer;
    EXPECT_TRUE(hasHeader(answer, "X-Frame-Options: DENY")) << answer;
    std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace kvmvnc::door
