// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>

#include "kvmvnc/base/unique_fd.h"

namespace kvmvnc::door {

using Clock = std::chrono::steady_clock;

// A handshake step that failed: the peer closed, stalled past its deadline,
// or sent something it must not. The connection is dropped; the text is
// what the log says about it.
class HandshakeError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// One client connection's byte stream, as the layers above see it: a plain
// TCP socket, TLS on top of one, or WebSocket frames on top of either.
// Non-blocking: a call that cannot go on says which way the underlying
// socket must become ready (WantRead, WantWrite), and the caller polls
// fd() for that. Not thread-safe: one thread drives a transport.
class Transport {
public:
    enum class Status { Ok, WantRead, WantWrite, Closed };
    struct Result {
        Status status;
        size_t bytes = 0;  // with Ok: how many bytes were read or taken
    };

    virtual ~Transport() = default;

    // Reads up to into.size() bytes: Ok with at least one byte, or Want*,
    // or Closed (end of stream or an error; closeReason() tells).
    virtual Result read(std::span<uint8_t> into) = 0;
    // Takes up to from.size() bytes: Ok with at least one byte, or Want*,
    // or Closed. A layer that frames data may take everything and keep part
    // of it queued: then hasPendingOutput() holds until flush() is Ok.
    virtual Result write(std::span<const uint8_t> from) = 0;
    // Sends what write() queued; Ok once nothing is left.
    virtual Result flush() { return {Status::Ok}; }
    virtual bool hasPendingOutput() const { return false; }
    // Bytes already read from the socket and decoded but not returned yet:
    // read() must be called again before waiting on the socket.
    virtual bool hasBufferedInput() const { return false; }
    // Whether what crosses this transport is encrypted (TLS somewhere below).
    virtual bool encrypted() const = 0;
    // Whether it frames the stream (WebSocket): TLS cannot be started on the
    // socket below it then.
    virtual bool framed() const { return false; }
    virtual int fd() const = 0;
    virtual std::string closeReason() const = 0;
};

// A connected TCP socket, owned; switched to non-blocking.
class SocketTransport final : public Transport {
public:
    explicit SocketTransport(UniqueFd fd);
    Result read(std::span<uint8_t> into) override;
    Result write(std::span<const uint8_t> from) override;
    bool encrypted() const override { return false; }
    int fd() const override { return fd_.get(); }
    std::string closeReason() const override { return closeReason_; }

private:
    UniqueFd fd_;
    std::string closeReason_;
};

// Blocking helpers over a transport for the handshakes, each bounded by an
// absolute deadline. They throw HandshakeError on close or timeout.
void readExact(Transport &transport, std::span<uint8_t> into, Clock::time_point deadline);
void writeAll(Transport &transport, std::span<const uint8_t> from, Clock::time_point deadline);
// Waits until the transport's socket is ready for what `status` wants.
// Returns false at the deadline.
bool waitFor(const Transport &transport, Transport::Status status, Clock::time_point deadline);

// Big-endian helpers for the RFB wire format.
inline void putU32(uint8_t *out, uint32_t value) {
    out[0] = static_cast<uint8_t>(value >> 24);
    out[1] = static_cast<uint8_t>(value >> 16);
    out[2] = static_cast<uint8_t>(value >> 8);
    out[3] = static_cast<uint8_t>(value);
}
inline uint32_t getU32(const uint8_t *in) {
    return static_cast<uint32_t>(in[0]) << 24 | static_cast<uint32_t>(in[1]) << 16 |
           static_cast<uint32_t>(in[2]) << 8 | in[3];
}

}  // namespace kvmvnc::door
