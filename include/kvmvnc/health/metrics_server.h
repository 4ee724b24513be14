// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <functional>
#include <string>
#include <thread>

#include "kvmvnc/base/unique_fd.h"

namespace kvmvnc::health {

// A deliberately small HTTP/1.1 server for Prometheus: GET (or HEAD)
// /metrics answers render()'s text, anything else 404 or 405, and every
// connection closes after its answer. Many connections are served at once by
// one poll() loop on a thread of its own ("kvm-metrics"), so a client that
// stalls holds only its own connection, and never for more than 5 s; a
// request head over 8 KiB is refused (431). At most 32 connections are open.
//
// render() is called on the server's thread. The constructor binds (throws
// std::runtime_error when it cannot); start() and stop() belong to one
// controlling thread, and stop() is final: it closes the listening socket.
class MetricsServer {
public:
    // `address` is a numeric IPv4 or IPv6 address; port 0 picks a free port.
    MetricsServer(const std::string &address, int port, std::function<std::string()> render);
    ~MetricsServer();
    MetricsServer(const MetricsServer &) = delete;
    MetricsServer &operator=(const MetricsServer &) = delete;

    int port() const { return port_; }
    void start();
    void stop();

    // The answer to one complete request head (for tests): status line,
    // headers and body.
    static std::string respond(const std::string &requestHead,
                               const std::function<std::string()> &render);

private:
    void run();

    std::function<std::string()> render_;
    UniqueFd listener_;
    UniqueFd wake_;  // an eventfd that stop() signals
    int port_ = 0;
    std::thread thread_;
};

}  // namespace kvmvnc::health
