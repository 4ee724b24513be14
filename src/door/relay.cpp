// SPDX-License-Identifier: GPL-2.0-or-later
#include "relay.h"

#include <poll.h>

#include <cerrno>
#include <utility>
#include <vector>

#include "kvmvnc/base/log.h"
#include "kvmvnc/rfb/client_message_filter.h"

namespace kvmvnc::door {

namespace {

constexpr const char *kLog = "door";
constexpr size_t kRelayBuffer = 64 * 1024;

}  // namespace

void relay(Transport &client, Transport &server, const Viewer &viewer,
           std::chrono::milliseconds stallTimeout, int stopFd) {
    struct Direction {
        Transport &from;
        Transport &to;
        rfb::ClientMessageFilter *filter;  // the client's bytes only
        std::vector<uint8_t> buffer = std::vector<uint8_t>(kRelayBuffer);
        size_t start = 0;
        size_t end = 0;
        Transport::Status readWant = Transport::Status::Ok;
        Transport::Status writeWant = Transport::Status::Ok;
    };
    // What the client sends is read before libvncserver sees it.
    rfb::ClientMessageFilter filter(viewer.viewOnly);
    std::vector<uint8_t> raw(kRelayBuffer);
    Direction directions[2] = {{client, server, &filter}, {server, client, nullptr}};
    Direction &toClient = directions[1];
    // Since when bytes have waited for a client that takes none.
    bool clientStalled = false;
    Clock::time_point clientStalledSince;

    for (;;) {
        bool progress = false;
        for (Direction &d : directions) {
            d.readWant = d.writeWant = Transport::Status::Ok;
            if (d.start == d.end) {
                const Transport::Result r = d.from.read(d.filter ? std::span(raw) : d.buffer);
                if (r.status == Transport::Status::Closed) {
                    // The RFB server closed (a refused resize, shutdown):
                    // what it said last, queued in a WebSocket or TLS layer,
                    // still goes out, briefly.
                    if (&d.from == &server && d.to.hasPendingOutput()) {
                        try {
                            writeAll(d.to, {}, Clock::now() + std::chrono::seconds{1});
                        } catch (const HandshakeError &) {
                        }
                    }
                    return;
                }
                if (r.status == Transport::Status::Ok) {
                    d.start = 0;
                    d.end = r.bytes;
                    if (d.filter) {
                        d.buffer.clear();
                        if (!d.filter->feed(std::span(raw).first(r.bytes), d.buffer)) {
                            LOG_WARN(kLog, "closing the connection of %s: it sent %s",
                                     viewer.peer.c_str(), d.filter->closeReason().c_str());
                            return;
                        }
                        d.end = d.buffer.size();
                    }
                    progress = true;
                } else {
                    d.readWant = r.status;
                }
            }
            Transport::Result w{Transport::Status::Ok};
            if (d.start < d.end) {
                w = d.to.write(std::span(d.buffer).subspan(d.start, d.end - d.start));
                if (w.status == Transport::Status::Ok) {
                    d.start += w.bytes;
                    progress = progress || w.bytes > 0;
                }
            } else if (d.to.hasPendingOutput()) {
                w = d.to.flush();
            }
            if (w.status == Transport::Status::Closed)
                return;
            if (w.status != Transport::Status::Ok)
                d.writeWant = w.status;
            if (&d == &toClient) {
                const bool waiting = d.start < d.end || d.to.hasPendingOutput();
                if (!waiting ||
                    (w.status == Transport::Status::Ok && (w.bytes > 0 || d.start == d.end)))
                    clientStalled = false;
                else if (!std::exchange(clientStalled, true))
                    clientStalledSince = Clock::now();
            }
        }
        // A client that takes nothing while bytes wait for it has stopped
        // reading (a frozen laptop, a hostile viewer): after the stall
        // limit it goes, and with it libvncserver's threads that wait to
        // write to it. Checked even while it sends: what it sends may be
        // dropped by the filter.
        int timeout = -1;
        if (clientStalled) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                clientStalledSince + stallTimeout - Clock::now());
            if (left.count() <= 0) {
                LOG_WARN(kLog, "closing the connection of %s: it took no byte for %lld ms",
                         viewer.peer.c_str(), static_cast<long long>(stallTimeout.count()));
                return;
            }
            timeout = static_cast<int>(left.count()) + 1;
        }
        if (progress)
            continue;
        bool buffered = false;
        for (Direction &d : directions)
            buffered = buffered || (d.start == d.end && d.from.hasBufferedInput() &&
                                    d.readWant == Transport::Status::Ok);
        if (buffered)
            continue;

        // Each transport's socket is polled for what its calls asked for.
        auto eventsFor = [&](const Transport &transport) {
            short events = 0;
            for (const Direction &d : directions) {
                if (&d.from == &transport && d.readWant != Transport::Status::Ok)
                    events |= d.readWant == Transport::Status::WantRead ? POLLIN : POLLOUT;
                if (&d.to == &transport && d.writeWant != Transport::Status::Ok)
                    events |= d.writeWant == Transport::Status::WantRead ? POLLIN : POLLOUT;
            }
            return events;
        };
        pollfd fds[3] = {{client.fd(), eventsFor(client), 0},
                         {server.fd(), eventsFor(server), 0},
                         {stopFd, POLLIN, 0}};
        if (::poll(fds, 3, timeout) < 0 && errno != EINTR)
            return;
        if (fds[2].revents)
            return;
        // Gone both ways; nothing more can be delivered to it.
        if ((fds[0].revents | fds[1].revents) & (POLLHUP | POLLERR | POLLNVAL))
            if (!(fds[0].revents & POLLIN) && !(fds[1].revents & POLLIN))
                return;
    }
}

}  // namespace kvmvnc::door
