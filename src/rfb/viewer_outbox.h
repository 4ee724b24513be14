// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

#include "kvmvnc/base/unique_fd.h"

struct _rfbClientRec;  // NOLINT(bugprone-reserved-identifier): libvncserver's tag

namespace kvmvnc::rfb {

// What other threads have to say to one viewer (ATX, drive, typing and
// health pushes, keyboard LEDs, the desktop name), written by a thread of
// this viewer's own (`kvm-push`, started at the first message), so that no
// shared thread ever waits on one viewer's socket: a viewer that stopped
// reading stalls only itself. The ATX thread used to write to every viewer
// while the button was held; a stalled viewer stretched a 100 ms click into
// a forced power-off.
//
// Messages are whole server messages, written under the viewer's send lock
// (between libvncserver's updates), in the order posted. A message posted
// with a key replaces a queued one with the same key: only the newest state
// matters, so state pushes cannot pile up. Other messages count against a
// bound (kMaxQueued messages, kMaxQueuedBytes); a viewer past it is not
// reading and is disconnected, with a log line. So is one whose socket takes
// no byte for the stall limit.
//
// Writes go to a descriptor of our own (a dup of the viewer's socket):
// libvncserver closes its descriptor before the client-gone hook, and a
// write racing that close must never reach whatever connection reuses the
// number. close() shuts the socket down, which ends any write at once.
//
// Thread-safe. The owner destroys it after the viewer's input and output
// threads are done (the client-gone hook); the destructor joins the writer.
class ViewerOutbox {
public:
    static constexpr size_t kMaxQueued = 1024;
    static constexpr size_t kMaxQueuedBytes = 4u << 20;

    ViewerOutbox(_rfbClientRec *client, uint64_t viewerId, std::chrono::milliseconds stallLimit);
    ~ViewerOutbox();
    ViewerOutbox(const ViewerOutbox &) = delete;
    ViewerOutbox &operator=(const ViewerOutbox &) = delete;

    // Queues `message`; `key` != 0 replaces a queued message with that key.
    // Any thread; never blocks on the socket.
    void post(std::vector<uint8_t> message, uint32_t key = 0);

    // For the viewer's own input thread, which holds the send lock: writes
    // what is queued, then `message` (a reply follows the pushes posted
    // before it). False when the viewer is gone or stalled.
    bool writeLocked(std::span<const uint8_t> message);

    // The viewer is being closed: nothing more is written, a write under way
    // ends (the socket is shut down both ways). Any thread, no lock taken.
    void close();
    // Closes the viewer's connection, with a reason in the log when `why`
    // is given: shuts the socket down, which libvncserver's threads (its
    // input thread reads the end and closes the viewer itself) and the
    // front door's relay see at once. Never calls into libvncserver, so any
    // thread may, whatever it holds.
    void disconnect(const char *why);
    // close(), then waits for the writer thread to end. For the client-gone
    // hook, before the viewer's data goes.
    void stop();

    bool closed() const;

private:
    struct Queued {
        std::vector<uint8_t> bytes;
        uint32_t key;
    };
    enum class Written { Ok, Gone, Stalled };

    void run();
    // The caller holds the viewer's send lock.
    Written flushLocked();
    Written writeFully(std::span<const uint8_t> bytes);

    _rfbClientRec *const client_;
    const uint64_t viewerId_;
    const std::chrono::milliseconds stallLimit_;
    UniqueFd socket_;  // a dup of the viewer's socket, ours to close

    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<Queued> queue_;
    size_t queuedBytes_ = 0;
    bool closed_ = false;
    std::thread writer_;
};

}  // namespace kvmvnc::rfb
