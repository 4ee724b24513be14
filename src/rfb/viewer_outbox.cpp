// SPDX-License-Identifier: GPL-2.0-or-later
#include "viewer_outbox.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <rfb/rfb.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include "kvmvnc/base/log.h"

#include "kvmvnc/base/error_text.h"

namespace kvmvnc::rfb {

namespace {

constexpr const char *kLog = "rfb";

using Clock = std::chrono::steady_clock;

}  // namespace

ViewerOutbox::ViewerOutbox(rfbClientPtr client, uint64_t viewerId,
                           std::chrono::milliseconds stallLimit)
    : client_(client),
      viewerId_(viewerId),
      stallLimit_(stallLimit),
      socket_(::fcntl(client->sock, F_DUPFD_CLOEXEC, 0)) {
    if (!socket_.isValid())
        LOG_WARN(kLog, "viewer %llu: cannot duplicate its socket (%s): pushes to it are dropped",
                 static_cast<unsigned long long>(viewerId_), errorText(errno).c_str());
}

ViewerOutbox::~ViewerOutbox() { stop(); }

void ViewerOutbox::stop() {
    close();
    if (writer_.joinable())
        writer_.join();
}

void ViewerOutbox::post(std::vector<uint8_t> message, uint32_t key) {
    std::unique_lock lock(mutex_);
    if (closed_ || !socket_.isValid())
        return;
    if (key != 0) {
        for (Queued &queued : queue_) {
            if (queued.key == key) {
                queuedBytes_ = queuedBytes_ - queued.bytes.size() + message.size();
                queued.bytes = std::move(message);
                return;
            }
        }
    }
    if (queue_.size() >= kMaxQueued || queuedBytes_ + message.size() > kMaxQueuedBytes) {
        const size_t count = queue_.size();
        const size_t bytes = queuedBytes_;
        lock.unlock();
        LOG_WARN(kLog,
                 "viewer %llu does not read what it is sent (%zu messages, %zu bytes waiting): "
                 "disconnecting it",
                 static_cast<unsigned long long>(viewerId_), count, bytes);
        disconnect(nullptr);
        return;
    }
    queuedBytes_ += message.size();
    queue_.push_back({std::move(message), key});
    if (!writer_.joinable()) {
        try {
            writer_ = std::thread([this] {
                pthread_setname_np(pthread_self(), "kvm-push");
                run();
            });
        } catch (const std::system_error &e) {
            lock.unlock();
            LOG_ERROR(kLog, "viewer %llu: cannot start its writer thread (%s)",
                      static_cast<unsigned long long>(viewerId_), e.what());
            disconnect(nullptr);
            return;
        }
    }
    wake_.notify_one();
}

void ViewerOutbox::run() {
    for (;;) {
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [this] { return closed_ || !queue_.empty(); });
            if (closed_)
                return;
        }
        LOCK(client_->sendMutex);
        const Written written = flushLocked();
        UNLOCK(client_->sendMutex);
        if (written == Written::Stalled)
            disconnect("it took no byte");
        if (written != Written::Ok) {
            close();  // later posts are dropped, not piled up
            return;
        }
    }
}

bool ViewerOutbox::writeLocked(std::span<const uint8_t> message) {
    Written written = flushLocked();
    if (written == Written::Ok)
        written = writeFully(message);
    if (written == Written::Stalled)
        disconnect("it took no byte");
    return written == Written::Ok;
}

ViewerOutbox::Written ViewerOutbox::flushLocked() {
    std::deque<Queued> batch;
    {
        std::lock_guard lock(mutex_);
        if (closed_)
            return Written::Gone;
        batch.swap(queue_);
        queuedBytes_ = 0;
    }
    for (const Queued &queued : batch) {
        const Written written = writeFully(queued.bytes);
        if (written != Written::Ok)
            return written;
    }
    return Written::Ok;
}

ViewerOutbox::Written ViewerOutbox::writeFully(std::span<const uint8_t> bytes) {
    if (!socket_.isValid())
        return Written::Gone;
    auto deadline = Clock::now() + stallLimit_;
    while (!bytes.empty()) {
        const ssize_t n =
            ::send(socket_.get(), bytes.data(), bytes.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n > 0) {
            bytes = bytes.subspan(static_cast<size_t>(n));
            deadline = Clock::now() + stallLimit_;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
            return Written::Gone;
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0)
            return Written::Stalled;
        pollfd fd{socket_.get(), POLLOUT, 0};
        if (::poll(&fd, 1, static_cast<int>(left.count())) < 0 && errno != EINTR)
            return Written::Gone;
        if (fd.revents & (POLLERR | POLLHUP | POLLNVAL))
            return Written::Gone;
    }
    return Written::Ok;
}

void ViewerOutbox::close() {
    {
        std::lock_guard lock(mutex_);
        if (closed_)
            return;
        closed_ = true;
        queue_.clear();
        queuedBytes_ = 0;
    }
    wake_.notify_one();
    if (socket_.isValid())
        ::shutdown(socket_.get(), SHUT_RDWR);
}

bool ViewerOutbox::closed() const {
    std::lock_guard lock(mutex_);
    return closed_;
}

void ViewerOutbox::disconnect(const char *why) {
    if (why)
        LOG_WARN(kLog, "viewer %llu stopped reading (%s for %lld ms): disconnecting it",
                 static_cast<unsigned long long>(viewerId_), why,
                 static_cast<long long>(stallLimit_.count()));
    close();
}

}  // namespace kvmvnc::rfb
