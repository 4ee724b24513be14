// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kvmvnc/door/http.h"
#include "kvmvnc/door/transport.h"

namespace kvmvnc::door {

// The server side of RFC 6455, as browsers (noVNC) reach the RFB server
// through it: the upgrade handshake, a frame decoder, and a Transport that
// carries the RFB byte stream inside binary frames.

// Why `request` is not a WebSocket upgrade this server accepts ("" when it
// is): GET over HTTP/1.1, "Upgrade: websocket", a Connection header with the
// "upgrade" token, Sec-WebSocket-Version 13 and a Sec-WebSocket-Key of 16
// bytes in base64.
std::string whyNotWebSocket(const HttpRequest &request);
inline bool isWebSocketUpgrade(const HttpRequest &request) {
    return whyNotWebSocket(request).empty();
}

// The Sec-WebSocket-Accept value for a client's Sec-WebSocket-Key:
// base64(SHA-1(key + the RFC's GUID)).
std::string webSocketAccept(std::string_view key);

// Answers an upgrade request with 101 Switching Protocols, choosing the
// "binary" subprotocol when the client offers it (noVNC does) and none
// otherwise. A request that is not an acceptable upgrade gets 400 and
// throws HandshakeError("WebSocket: <why>"); so does a peer that goes away.
void acceptWebSocket(Transport &transport, const HttpRequest &request, Clock::time_point deadline);

// Status codes of a close frame (RFC 6455 7.4.1).
inline constexpr uint16_t kWebSocketNormalClosure = 1000;
inline constexpr uint16_t kWebSocketProtocolError = 1002;
inline constexpr uint16_t kWebSocketNoStatus = 1005;  // never sent: a close frame without a code
inline constexpr uint16_t kWebSocketTooBig = 1009;

// Decodes the frames a client sends, in pieces of any size. Pure (no I/O),
// so it can be fuzzed. Data frames are never held whole: their payload is
// unmasked in place in the caller's buffer and handed out as it arrives, so
// a huge frame costs no memory; text frames are handed out as bytes like
// binary ones. Only the frame header (at most 14 bytes) and a control
// frame's payload (at most 125) are kept here. Enforces the server side of
// the RFC: frames must be masked, no extension bits, control frames short
// and unfragmented, continuations only inside a fragmented message. Not
// thread-safe.
class WebSocketFrameDecoder {
public:
    enum class EventKind {
        NeedMore,  // all of the input was used without completing an event
        Data,      // payload bytes of a text, binary or continuation frame
        Ping,
        Pong,
        Close,  // the client's close frame; the decoder takes nothing after it
        Error,  // a protocol violation; errorReason() and errorCloseCode() tell
    };
    struct Event {
        EventKind kind = EventKind::NeedMore;
        // Data: unmasked bytes inside the input given to decode(), never
        // empty. Ping, Pong: the whole payload; Close: the reason text; both
        // held by the decoder and valid until the next decode().
        std::span<const uint8_t> payload;
        // Close: the client's status code, kWebSocketNoStatus without one.
        uint16_t closeCode = 0;
    };

    // Decodes from the front of `input` until one event is complete, and
    // says in `consumed` how much of `input` that took; call again with the
    // rest. Data payload is unmasked where it lies, in `input`. After Close
    // or Error, consumes nothing and returns the same event again.
    Event decode(std::span<uint8_t> input, size_t &consumed);

    bool failed() const { return phase_ == Phase::Failed; }
    const std::string &errorReason() const { return errorReason_; }
    // The status for the close frame to answer a violation with (1002 or 1009).
    uint16_t errorCloseCode() const { return errorCloseCode_; }

private:
    enum class Phase { Header, Payload, Closed, Failed };

    Event fail(uint16_t code, std::string reason);
    // Checks a header once `header_` holds all of it; sets up the payload.
    std::optional<Event> startFrame();
    Event finishControlFrame();
    size_t headerLength() const;

    Phase phase_ = Phase::Header;
    std::array<uint8_t, 14> header_{};
    size_t headerHave_ = 0;
    uint8_t opcode_ = 0;
    bool fin_ = false;
    std::array<uint8_t, 4> mask_{};
    uint64_t payloadLeft_ = 0;
    uint64_t payloadDone_ = 0;  // for the mask's phase
    bool inFragmentedMessage_ = false;
    std::array<uint8_t, 125> control_{};
    size_t controlHave_ = 0;
    uint16_t closeCode_ = 0;
    size_t closeReasonLength_ = 0;
    std::string errorReason_;
    uint16_t errorCloseCode_ = 0;
};

// The RFB stream inside a WebSocket: read() gives the payload of the
// client's data frames, write() sends each piece as one binary frame.
// Pings are answered (only the latest unanswered one, as the RFC allows, so
// a ping flood cannot grow the queue), a close frame is answered and ends
// the stream. Works over any transport, including TLS, whose read() may
// want the socket writable and write() readable: the Want* status of the
// inner transport is passed up unchanged. Output is bounded to one frame in
// flight: write() takes nothing while earlier output is still pending.
// Owns the inner transport. Not thread-safe: one thread drives it.
class WebSocketTransport final : public Transport {
public:
    static constexpr size_t kMaxFramePayload = 64 * 1024;

    explicit WebSocketTransport(std::unique_ptr<Transport> inner);

    Result read(std::span<uint8_t> into) override;
    Result write(std::span<const uint8_t> from) override;
    Result flush() override;
    bool hasPendingOutput() const override;
    bool hasBufferedInput() const override;
    bool encrypted() const override { return inner_->encrypted(); }
    bool framed() const override { return true; }
    int fd() const override { return inner_->fd(); }
    std::string closeReason() const override;

private:
    // Reads one chunk from the inner transport and decodes all of it.
    Result fill();
    // Ends the stream after what was decoded so far: answers with a close
    // frame (best effort) and makes read() return Closed from then on.
    void closeWith(uint16_t code, std::string reason);

    std::unique_ptr<Transport> inner_;
    WebSocketFrameDecoder decoder_;

    // Decoded payload not yet returned by read() is input_[inputStart_,
    // inputEnd_); the rest of input_ is where fill() reads to.
    std::vector<uint8_t> input_;
    size_t inputStart_ = 0;
    size_t inputEnd_ = 0;
    bool inputEnded_ = false;  // read() returns Closed once input_ is drained

    // The frame being sent, and what is queued behind it. Once a frame has
    // been offered to the inner transport it is never touched until sent:
    // TLS wants a retried write with the same bytes.
    std::vector<uint8_t> output_;
    size_t outputSent_ = 0;
    std::optional<std::vector<uint8_t>> pong_;   // payload of the ping to answer
    std::optional<std::vector<uint8_t>> close_;  // payload of our close frame
    bool closeSent_ = false;

    std::string closeReason_;
};

}  // namespace kvmvnc::door
