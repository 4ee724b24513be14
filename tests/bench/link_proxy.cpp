// SPDX-License-Identifier: GPL-2.0-or-later
#include "link_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <deque>
#include <stdexcept>
#include <vector>

namespace kvmvnc::bench {

namespace {

using Clock = std::chrono::steady_clock;

sockaddr_in loopback(int port) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return address;
}

// Bytes on their way in one direction, each chunk due at its time.
struct Direction {
    struct Chunk {
        Clock::time_point due;
        std::vector<char> bytes;
        size_t sent = 0;
    };
    std::deque<Chunk> chunks;
    size_t held = 0;
};

}  // namespace

double threadCpuSeconds() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double processCpuSeconds() {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

LinkProxy::LinkProxy(int serverPort, std::chrono::milliseconds roundTrip)
    : serverPort_(serverPort), oneWay_(std::chrono::microseconds{roundTrip} / 2) {
    listen_.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in address = loopback(0);
    socklen_t length = sizeof(address);
    if (!listen_.isValid() ||
        ::bind(listen_.get(), reinterpret_cast<sockaddr *>(&address), length) != 0 ||
        ::getsockname(listen_.get(), reinterpret_cast<sockaddr *>(&address), &length) != 0 ||
        ::listen(listen_.get(), 1) != 0)
        throw std::runtime_error("link proxy: cannot listen on loopback");
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { run(); });
}

LinkProxy::~LinkProxy() {
    stop_ = true;
    ::shutdown(listen_.get(), SHUT_RDWR);  // wakes an accept that never came
    thread_.join();
}

void LinkProxy::run() {
    pthread_setname_np(pthread_self(), "bench-link");
    const double start = threadCpuSeconds();
    pollfd waiting{listen_.get(), POLLIN, 0};
    while (!stop_ && ::poll(&waiting, 1, 50) == 0) {
    }
    if (stop_)
        return;
    UniqueFd client(::accept4(listen_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    UniqueFd server(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in address = loopback(serverPort_);
    if (!client.isValid() ||
        ::connect(server.get(), reinterpret_cast<sockaddr *>(&address), sizeof(address)) != 0)
        return;
    const int one = 1;
    ::setsockopt(client.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    ::setsockopt(server.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    int fds[2] = {client.get(), server.get()};
    Direction toward[2];  // [0]: to the client, [1]: to the server
    std::vector<char> buffer(256 << 10);
    while (!stop_) {
        const Clock::time_point now = Clock::now();
        // Write what is due; poll for what can be read and written.
        pollfd p[2];
        int timeout = 50;
        for (int side = 0; side < 2; ++side) {
            // Side 0 reads the client (to the server), side 1 the server.
            Direction &out = toward[side];     // written to fds[side]
            Direction &in = toward[1 - side];  // filled from fds[side]
            p[side] = {fds[side], 0, 0};
            if (in.held < kMaxInFlight)
                p[side].events |= POLLIN;
            if (!out.chunks.empty()) {
                if (out.chunks.front().due <= now)
                    p[side].events |= POLLOUT;
                else
                    timeout = std::min<int>(
                        timeout,
                        static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                             out.chunks.front().due - now)
                                             .count()) +
                            1);
            }
        }
        if (::poll(p, 2, timeout) < 0)
            break;
        bool closed = false;
        for (int side = 0; side < 2 && !closed; ++side) {
            Direction &out = toward[side];
            Direction &in = toward[1 - side];
            if (p[side].revents & (POLLIN | POLLHUP | POLLERR)) {
                const ssize_t n = ::read(fds[side], buffer.data(), buffer.size());
                if (n <= 0) {
                    closed = true;
                    break;
                }
                in.chunks.push_back({Clock::now() + oneWay_,
                                     std::vector<char>(buffer.begin(), buffer.begin() + n), 0});
                in.held += static_cast<size_t>(n);
                if (side == 1)
                    serverBytes_ += static_cast<uint64_t>(n);
            }
            while (!out.chunks.empty() && out.chunks.front().due <= Clock::now()) {
                Direction::Chunk &chunk = out.chunks.front();
                const ssize_t n =
                    ::send(fds[side], chunk.bytes.data() + chunk.sent,
                           chunk.bytes.size() - chunk.sent, MSG_DONTWAIT | MSG_NOSIGNAL);
                if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                    break;
                if (n <= 0) {
                    closed = true;
                    break;
                }
                chunk.sent += static_cast<size_t>(n);
                out.held -= static_cast<size_t>(n);
                if (chunk.sent < chunk.bytes.size())
                    break;
                out.chunks.pop_front();
            }
        }
        cpu_ = threadCpuSeconds() - start;
        if (closed)
            break;
    }
    cpu_ = threadCpuSeconds() - start;
}

}  // namespace kvmvnc::bench
