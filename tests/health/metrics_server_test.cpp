// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/health/metrics_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>

#include "kvmvnc/base/unique_fd.h"

namespace kvmvnc::health {
namespace {

using namespace std::chrono_literals;

UniqueFd connectTo(int port) {
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd.get(), reinterpret_cast<sockaddr *>(&address), sizeof address) != 0)
        return {};
    return fd;
}

// Everything the server sends until it closes (or 10 s pass).
std::string readAll(int fd) {
    std::string out;
    char buffer[4096];
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < deadline) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 100) <= 0)
            continue;
        ssize_t got = ::recv(fd, buffer, sizeof buffer, 0);
        if (got <= 0)
            break;
        out.append(buffer, static_cast<size_t>(got));
    }
    return out;
}

std::string request(int port, const std::string &text) {
    UniqueFd fd = connectTo(port);
    if (!fd.isValid())
        return "connect failed";
    ::send(fd.get(), text.data(), text.size(), MSG_NOSIGNAL);
    return readAll(fd.get());
}

class MetricsServerTest : public ::testing::Test {
protected:
    void SetUp() override {
        server_ = std::make_unique<MetricsServer>("127.0.0.1", 0, [this] {
            ++renders_;
            return std::string("kvmvnc_viewers 3\n");
        });
        server_->start();
    }

    std::atomic<int> renders_{0};
    std::unique_ptr<MetricsServer> server_;
};

TEST_F(MetricsServerTest, GetMetricsAnswersTheRenderedText) {
    std::string answer =
        request(server_->port(), "GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n");
    EXPECT_EQ(answer.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << answer;
    EXPECT_NE(answer.find("Content-Type: text/plain; version=0.0.4"), std::string::npos);
    EXPECT_NE(answer.find("Content-Length: 17\r\n"), std::string::npos);
    EXPECT_EQ(answer.substr(answer.size() - 17), "kvmvnc_viewers 3\n");
    EXPECT_EQ(renders_.load(), 1);
}

TEST_F(MetricsServerTest, OtherPathsAndMethodsAreRefused) {
    EXPECT_EQ(request(server_->port(), "GET / HTTP/1.1\r\n\r\n").rfind("HTTP/1.1 404", 0), 0u);
    std::string post = request(server_->port(), "POST /metrics HTTP/1.1\r\n\r\n");
    EXPECT_EQ(post.rfind("HTTP/1.1 405", 0), 0u);
    EXPECT_NE(post.find("Allow: GET, HEAD\r\n"), std::string::npos);
    EXPECT_EQ(request(server_->port(), "garbage\r\n\r\n").rfind("HTTP/1.1 400", 0), 0u);
    std::string head = request(server_->port(), "HEAD /metrics?x=1 HTTP/1.0\r\n\r\n");
    EXPECT_EQ(head.rfind("HTTP/1.1 200", 0), 0u);
    EXPECT_EQ(head.find("kvmvnc_viewers"), std::string::npos) << "HEAD has no body";
}

TEST_F(MetricsServerTest, AnOversizedRequestIsRefused) {
    std::string huge = "GET /metrics HTTP/1.1\r\nX-Filler: " + std::string(20000, 'a');
    EXPECT_EQ(request(server_->port(), huge).rfind("HTTP/1.1 431", 0), 0u);
    EXPECT_EQ(renders_.load(), 0);
}

TEST_F(MetricsServerTest, AStalledClientDoesNotHoldUpOthers) {
    UniqueFd stalled = connectTo(server_->port());
    ASSERT_TRUE(stalled.isValid());
    ::send(stalled.get(), "GET /met", 8, MSG_NOSIGNAL);  // and nothing more
    const auto start = std::chrono::steady_clock::now();
    std::string answer = request(server_->port(), "GET /metrics HTTP/1.1\r\n\r\n");
    EXPECT_EQ(answer.rfind("HTTP/1.1 200", 0), 0u);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 4s);
    // The stalled one is closed at its deadline (5 s), without an answer.
    EXPECT_EQ(readAll(stalled.get()), "");
}

TEST(MetricsServerSetupTest, ABadAddressOrABusyPortIsAClearError) {
    EXPECT_THROW(MetricsServer("not-an-address", 0, [] { return std::string(); }),
                 std::runtime_error);
    MetricsServer first("127.0.0.1", 0, [] { return std::string(); });
    try {
        MetricsServer second("127.0.0.1", first.port(), [] { return std::string(); });
        FAIL() << "bound a busy port";
    } catch (const std::runtime_error &error) {
        EXPECT_NE(std::string(error.what()).find("cannot listen"), std::string::npos);
    }
}

TEST(MetricsServerSetupTest, StopsWithConnectionsOpen) {
    MetricsServer server("::1", 0, [] { return std::string(); });
    server.start();
    UniqueFd open(::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in6 address{};
    address.sin6_family = AF_INET6;
    address.sin6_port = htons(static_cast<uint16_t>(server.port()));
    address.sin6_addr = in6addr_loopback;
    ASSERT_EQ(::connect(open.get(), reinterpret_cast<sockaddr *>(&address), sizeof address), 0);
    server.stop();
    EXPECT_EQ(readAll(open.get()), "");
}

}  // namespace
}  // namespace kvmvnc::health
