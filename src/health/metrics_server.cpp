// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/health/metrics_server.h"

#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <list>
#include <memory>
#include <stdexcept>
#include <vector>

#include "kvmvnc/base/error_text.h"
#include "kvmvnc/base/log.h"

namespace kvmvnc::health {

namespace {

constexpr const char *kLog = "metrics";
constexpr size_t kMaxRequestHead = 8 * 1024;
constexpr size_t kMaxConnections = 32;
constexpr std::chrono::seconds kConnectionDeadline{5};

std::string answer(const char *status, const std::string &body, bool withBody,
                   const char *extraHeaders = "") {
    std::string out = std::string("HTTP/1.1 ") + status + "\r\n";
    out += "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n";
    out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    out += extraHeaders;
    out += "Connection: close\r\n\r\n";
    if (withBody)
        out += body;
    return out;
}

struct Connection {
    UniqueFd fd;
    std::string request;
    std::string response;
    size_t sent = 0;
    std::chrono::steady_clock::time_point deadline;
};

}  // namespace

MetricsServer::MetricsServer(const std::string &address, int port,
                             std::function<std::string()> render)
    : render_(std::move(render)) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
    addrinfo *found = nullptr;
    const std::string service = std::to_string(port);
    if (int error = getaddrinfo(address.c_str(), service.c_str(), &hints, &found); error != 0)
        throw std::runtime_error("metrics: bad address " + address + ": " + gai_strerror(error));
    std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> owner(found, freeaddrinfo);

    listener_.reset(::socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!listener_.isValid())
        throw std::runtime_error(std::string("metrics: socket: ") + errorText(errno));
    int one = 1;
    ::setsockopt(listener_.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(listener_.get(), found->ai_addr, found->ai_addrlen) != 0 ||
        ::listen(listener_.get(), 16) != 0)
        throw std::runtime_error("metrics: cannot listen on " + address + " port " + service +
                                 ": " + errorText(errno));
    sockaddr_storage bound{};
    socklen_t length = sizeof bound;
    ::getsockname(listener_.get(), reinterpret_cast<sockaddr *>(&bound), &length);
    port_ = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6 &>(bound).sin6_port
                                              : reinterpret_cast<sockaddr_in &>(bound).sin_port);
    wake_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!wake_.isValid())
        throw std::runtime_error(std::string("metrics: eventfd: ") + errorText(errno));
}

MetricsServer::~MetricsServer() { stop(); }

void MetricsServer::start() {
    if (!thread_.joinable() && listener_.isValid())
        thread_ = std::thread([this] { run(); });
}

void MetricsServer::stop() {
    if (!thread_.joinable())
        return;
    uint64_t one = 1;
    [[maybe_unused]] ssize_t written = ::write(wake_.get(), &one, sizeof one);
    thread_.join();
    // Connections still waiting in the backlog are refused, not left hanging.
    listener_.reset();
}

std::string MetricsServer::respond(const std::string &requestHead,
                                   const std::function<std::string()> &render) {
    const size_t lineEnd = requestHead.find("\r\n");
    const std::string line = requestHead.substr(0, lineEnd);
    const size_t firstSpace = line.find(' ');
    const size_t secondSpace = line.find(' ', firstSpace + 1);
    if (firstSpace == std::string::npos || secondSpace == std::string::npos ||
        line.compare(secondSpace + 1, 5, "HTTP/") != 0)
        return answer("400 Bad Request", "bad request\n", true);
    const std::string method = line.substr(0, firstSpace);
    std::string target = line.substr(firstSpace + 1, secondSpace - firstSpace - 1);
    if (size_t query = target.find('?'); query != std::string::npos)
        target.resize(query);
    const bool head = method == "HEAD";
    if (method != "GET" && !head)
        return answer("405 Method Not Allowed", "only GET\n", true, "Allow: GET, HEAD\r\n");
    if (target != "/metrics")
        return answer("404 Not Found", "kvmvncd serves /metrics only\n", !head);
    return answer("200 OK", render(), !head);
}

void MetricsServer::run() {
    pthread_setname_np(pthread_self(), "kvm-metrics");
    std::list<Connection> connections;
    std::vector<pollfd> fds;
    for (;;) {
        const auto now = std::chrono::steady_clock::now();
        // Drop connections past their deadline; find the next deadline.
        int timeoutMs = -1;
        for (auto it = connections.begin(); it != connections.end();) {
            if (it->deadline <= now) {
                it = connections.erase(it);
                continue;
            }
            const auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(it->deadline - now).count() +
                1;
            if (timeoutMs < 0 || left < timeoutMs)
                timeoutMs = static_cast<int>(left);
            ++it;
        }

        fds.clear();
        fds.push_back({wake_.get(), POLLIN, 0});
        fds.push_back({listener_.get(), POLLIN, 0});
        for (const Connection &connection : connections)
            fds.push_back({connection.fd.get(),
                           static_cast<short>(connection.response.empty() ? POLLIN : POLLOUT), 0});
        if (::poll(fds.data(), fds.size(), timeoutMs) < 0) {
            if (errno == EINTR)
                continue;
            LOG_ERROR(kLog, "poll: %s", errorText(errno).c_str());
            return;
        }
        if (fds[0].revents)
            return;

        size_t index = 2;
        for (auto it = connections.begin(); it != connections.end(); ++index) {
            Connection &connection = *it;
            const short revents = fds[index].revents;
            bool done = false;
            if (revents & (POLLERR | POLLNVAL)) {
                done = true;
            } else if (connection.response.empty() && (revents & (POLLIN | POLLHUP))) {
                char buffer[2048];
                ssize_t got = ::recv(connection.fd.get(), buffer, sizeof buffer, 0);
                if (got <= 0) {
                    done = got == 0 || (errno != EAGAIN && errno != EINTR);
                } else {
                    connection.request.append(buffer, static_cast<size_t>(got));
                    if (connection.request.find("\r\n\r\n") != std::string::npos)
                        connection.response = respond(connection.request, render_);
                    else if (connection.request.size() > kMaxRequestHead)
                        connection.response = answer("431 Request Header Fields Too Large",
                                                     "request too large\n", true);
                }
            } else if (!connection.response.empty() && (revents & (POLLOUT | POLLHUP))) {
                ssize_t put =
                    ::send(connection.fd.get(), connection.response.data() + connection.sent,
                           connection.response.size() - connection.sent, MSG_NOSIGNAL);
                if (put < 0)
                    done = errno != EAGAIN && errno != EINTR;
                else
                    connection.sent += static_cast<size_t>(put);
                if (connection.sent == connection.response.size())
                    done = true;
            }
            it = done ? connections.erase(it) : std::next(it);
        }

        if (fds[1].revents & POLLIN) {
            for (;;) {
                int fd = ::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
                if (fd < 0)
                    break;
                if (connections.size() >= kMaxConnections) {
                    ::close(fd);
                    continue;
                }
                Connection connection;
                connection.fd.reset(fd);
                connection.deadline = std::chrono::steady_clock::now() + kConnectionDeadline;
                connections.push_back(std::move(connection));
            }
        }
    }
}

}  // namespace kvmvnc::health
