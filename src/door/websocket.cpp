// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/door/websocket.h"
#include "http_text.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstring>

namespace kvmvnc::door {

namespace {

using http_text::equalsIgnoringCase;
using http_text::trimWhitespace;

constexpr std::string_view kAcceptGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

constexpr uint8_t kOpContinuation = 0x0;
constexpr uint8_t kOpText = 0x1;
constexpr uint8_t kOpBinary = 0x2;
constexpr uint8_t kOpClose = 0x8;
constexpr uint8_t kOpPing = 0x9;
constexpr uint8_t kOpPong = 0xa;
constexpr uint8_t kFin = 0x80;

// Each fill() of WebSocketTransport::read() may bring only control frames;
// after this many it lets its caller serve other connections.
constexpr int kMaxFillsPerRead = 16;

// Whether a comma-separated header value holds `token`.
bool listContains(std::string_view list, std::string_view token, bool ignoreCase) {
    while (!list.empty()) {
        const size_t comma = list.find(',');
        const std::string_view item = trimWhitespace(list.substr(0, comma));
        if (ignoreCase ? equalsIgnoringCase(item, token) : item == token)
            return true;
        if (comma == std::string_view::npos)
            break;
        list.remove_prefix(comma + 1);
    }
    return false;
}

// 16 bytes in base64 are 22 characters and "==".
bool isBase64Of16Bytes(std::string_view key) {
    static constexpr std::string_view kAlphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    if (key.size() != 24 || key.substr(22) != "==")
        return false;
    return std::all_of(key.begin(), key.begin() + 22,
                       [](char c) { return kAlphabet.find(c) != std::string_view::npos; });
}

// RFC 6455 7.4: the codes an endpoint may put in a close frame (1012-1014
// were registered after the RFC), and the ranges for libraries and apps.
bool isSendableCloseCode(uint16_t code) {
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
           (code >= 3000 && code <= 4999);
}

void appendFrame(std::vector<uint8_t> &out, uint8_t firstByte, std::span<const uint8_t> payload) {
    out.push_back(firstByte);
    const uint64_t length = payload.size();
    if (length < 126) {
        out.push_back(static_cast<uint8_t>(length));
    } else if (length <= 0xffff) {
        out.push_back(126);
        out.push_back(static_cast<uint8_t>(length >> 8));
        out.push_back(static_cast<uint8_t>(length));
    } else {
        out.push_back(127);
        for (int shift = 56; shift >= 0; shift -= 8)
            out.push_back(static_cast<uint8_t>(length >> shift));
    }
    out.insert(out.end(), payload.begin(), payload.end());
}

}  // namespace

std::string whyNotWebSocket(const HttpRequest &request) {
    if (request.method != "GET")
        return "a WebSocket upgrade must be a GET";
    if (request.version != "HTTP/1.1")
        return "a WebSocket upgrade needs HTTP/1.1";
    if (!listContains(request.header("Upgrade").value_or(""), "websocket", true))
        return "no \"Upgrade: websocket\"";
    if (!listContains(request.header("Connection").value_or(""), "upgrade", true))
        return "no \"upgrade\" in Connection";
    if (request.header("Sec-WebSocket-Version").value_or("") != "13")
        return "Sec-WebSocket-Version is not 13";
    // header() joins repeated headers, so a second key fails here too.
    if (!isBase64Of16Bytes(request.header("Sec-WebSocket-Key").value_or("")))
        return "Sec-WebSocket-Key is not 16 bytes in base64";
    return "";
}

std::string webSocketAccept(std::string_view key) {
    const std::string input = std::string(key) + std::string(kAcceptGuid);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digestLength = 0;
    if (EVP_Digest(input.data(), input.size(), digest, &digestLength, EVP_sha1(), nullptr) != 1)
        throw HandshakeError("WebSocket: SHA-1 unavailable");
    // Base64 of 20 bytes is 28 characters; EVP_EncodeBlock adds a NUL.
    unsigned char encoded[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
    const int length = EVP_EncodeBlock(encoded, digest, static_cast<int>(digestLength));
    return std::string(reinterpret_cast<const char *>(encoded), static_cast<size_t>(length));
}

void acceptWebSocket(Transport &transport, const HttpRequest &request, Clock::time_point deadline) {
    const std::string why = whyNotWebSocket(request);
    if (!why.empty()) {
        try {
            sendHttpError(transport, 400, why, deadline);
        } catch (const HandshakeError &) {
            // Gone already: the refusal is what the log needs to say.
        }
        throw HandshakeError("WebSocket: " + why);
    }
    std::string response =
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Accept: " +
        webSocketAccept(*request.header("Sec-WebSocket-Key")) + "\r\n";
    // Subprotocol names are case-sensitive (RFC 6455 11.3.4). A client that
    // offers only others gets none, and decides itself whether to go on.
    if (listContains(request.header("Sec-WebSocket-Protocol").value_or(""), "binary", false))
        response += "Sec-WebSocket-Protocol: binary\r\n";
    response += "\r\n";
    writeAll(transport,
             std::span(reinterpret_cast<const uint8_t *>(response.data()), response.size()),
             deadline);
}

// --- WebSocketFrameDecoder ---

WebSocketFrameDecoder::Event WebSocketFrameDecoder::fail(uint16_t code, std::string reason) {
    phase_ = Phase::Failed;
    errorCloseCode_ = code;
    errorReason_ = std::move(reason);
    return {EventKind::Error, {}};
}

size_t WebSocketFrameDecoder::headerLength() const {
    const uint8_t length7 = header_[1] & 0x7f;
    const size_t lengthBytes = length7 == 126 ? 2 : length7 == 127 ? 8 : 0;
    return 2 + lengthBytes + 4;  // the mask is checked to be there before this is asked
}

std::optional<WebSocketFrameDecoder::Event> WebSocketFrameDecoder::startFrame() {
    const uint8_t length7 = header_[1] & 0x7f;
    uint64_t length = length7;
    size_t at = 2;
    if (length7 == 126) {
        length = static_cast<uint64_t>(header_[2]) << 8 | header_[3];
        at = 4;
    } else if (length7 == 127) {
        length = 0;
        for (at = 2; at < 10; ++at)
            length = length << 8 | header_[at];
        if (length >> 63)
            return fail(kWebSocketTooBig, "frame length of 2^63 or more");
    }
    std::copy_n(header_.begin() + static_cast<ptrdiff_t>(at), 4, mask_.begin());
    headerHave_ = 0;
    payloadLeft_ = length;
    payloadDone_ = 0;
    controlHave_ = 0;
    phase_ = Phase::Payload;
    if (opcode_ >= kOpClose) {
        if (length == 0)
            return finishControlFrame();
        return std::nullopt;
    }
    if (length == 0)
        phase_ = Phase::Header;  // an empty data frame: nothing to hand out
    return std::nullopt;
}

WebSocketFrameDecoder::Event WebSocketFrameDecoder::finishControlFrame() {
    phase_ = Phase::Header;
    const std::span<const uint8_t> payload(control_.data(), controlHave_);
    if (opcode_ == kOpPing)
        return {EventKind::Ping, payload};
    if (opcode_ == kOpPong)
        return {EventKind::Pong, payload};
    if (controlHave_ == 0) {
        closeCode_ = kWebSocketNoStatus;
    } else if (controlHave_ == 1) {
        return fail(kWebSocketProtocolError, "close frame with a one-byte payload");
    } else {
        closeCode_ = static_cast<uint16_t>(control_[0] << 8 | control_[1]);
        if (!isSendableCloseCode(closeCode_))
            return fail(kWebSocketProtocolError,
                        "close frame with status " + std::to_string(closeCode_));
    }
    closeReasonLength_ = controlHave_ < 2 ? 0 : controlHave_ - 2;
    phase_ = Phase::Closed;
    return {EventKind::Close, payload.subspan(controlHave_ - closeReasonLength_), closeCode_};
}

WebSocketFrameDecoder::Event WebSocketFrameDecoder::decode(std::span<uint8_t> input,
                                                           size_t &consumed) {
    consumed = 0;
    if (phase_ == Phase::Closed)
        return {EventKind::Close,
                std::span<const uint8_t>(control_.data() + (controlHave_ - closeReasonLength_),
                                         closeReasonLength_),
                closeCode_};
    if (phase_ == Phase::Failed)
        return {EventKind::Error, {}};

    while (consumed < input.size()) {
        if (phase_ == Phase::Header) {
            header_[headerHave_++] = input[consumed++];
            if (headerHave_ == 2) {
                // Everything the first two bytes decide, checked before
                // waiting for the rest of the header.
                fin_ = header_[0] & kFin;
                opcode_ = header_[0] & 0x0f;
                const uint8_t length7 = header_[1] & 0x7f;
                if (header_[0] & 0x70)
                    return fail(kWebSocketProtocolError, "reserved bits set without an extension");
                if (!(header_[1] & 0x80))
                    return fail(kWebSocketProtocolError, "unmasked frame from the client");
                if (opcode_ >= kOpClose) {
                    if (opcode_ != kOpClose && opcode_ != kOpPing && opcode_ != kOpPong)
                        return fail(kWebSocketProtocolError,
                                    "unknown control opcode " + std::to_string(opcode_));
                    if (!fin_)
                        return fail(kWebSocketProtocolError, "fragmented control frame");
                    if (length7 > 125)
                        return fail(kWebSocketProtocolError, "control frame longer than 125 bytes");
                } else if (opcode_ == kOpContinuation) {
                    if (!inFragmentedMessage_)
                        return fail(kWebSocketProtocolError, "continuation without a message");
                    inFragmentedMessage_ = !fin_;
                } else if (opcode_ == kOpText || opcode_ == kOpBinary) {
                    if (inFragmentedMessage_)
                        return fail(kWebSocketProtocolError, "new message inside a fragmented one");
                    inFragmentedMessage_ = !fin_;
                } else {
                    return fail(kWebSocketProtocolError,
                                "unknown data opcode " + std::to_string(opcode_));
                }
            }
            if (headerHave_ >= 2 && headerHave_ == headerLength()) {
                if (std::optional<Event> event = startFrame())
                    return *event;
            }
            continue;
        }

        const size_t available = input.size() - consumed;
        const size_t take = static_cast<size_t>(std::min<uint64_t>(payloadLeft_, available));
        uint8_t *const bytes = input.data() + consumed;
        const bool isControl = opcode_ >= kOpClose;
        uint8_t *const into = isControl ? control_.data() + controlHave_ : bytes;
        for (size_t i = 0; i < take; ++i)
            into[i] = bytes[i] ^ mask_[(payloadDone_ + i) & 3];
        consumed += take;
        payloadDone_ += take;
        payloadLeft_ -= take;
        if (isControl) {
            controlHave_ += take;
            if (payloadLeft_ == 0)
                return finishControlFrame();
            continue;
        }
        if (payloadLeft_ == 0)
            phase_ = Phase::Header;
        return {EventKind::Data, std::span<const uint8_t>(bytes, take)};
    }
    return {EventKind::NeedMore, {}};
}

// --- WebSocketTransport ---

WebSocketTransport::WebSocketTransport(std::unique_ptr<Transport> inner)
    : inner_(std::move(inner)), input_(16 * 1024) {}

Transport::Result WebSocketTransport::read(std::span<uint8_t> into) {
    for (int fills = 0;; ++fills) {
        if (inputStart_ < inputEnd_) {
            const size_t n = std::min(into.size(), inputEnd_ - inputStart_);
            std::memcpy(into.data(), input_.data() + inputStart_, n);
            inputStart_ += n;
            return {Status::Ok, n};
        }
        if (inputEnded_)
            return {Status::Closed};
        // Only control frames so far. The socket is readable again at once
        // if more is waiting there; buffered TLS plaintext is not visible to
        // poll(), so keep going while there is some.
        if (fills == kMaxFillsPerRead && !inner_->hasBufferedInput())
            return {Status::WantRead};
        const Result result = fill();
        if (result.status != Status::Ok)
            return result;
    }
}

Transport::Result WebSocketTransport::fill() {
    inputStart_ = inputEnd_ = 0;
    const Result result = inner_->read(input_);
    if (result.status == Status::Closed) {
        if (closeReason_.empty())
            closeReason_ = inner_->closeReason();
        inputEnded_ = true;
    }
    if (result.status != Status::Ok)
        return {result.status};

    size_t at = 0;
    while (at < result.bytes && !inputEnded_) {
        size_t used = 0;
        const WebSocketFrameDecoder::Event event =
            decoder_.decode(std::span(input_).subspan(at, result.bytes - at), used);
        at += used;
        switch (event.kind) {
        case WebSocketFrameDecoder::EventKind::NeedMore:
        case WebSocketFrameDecoder::EventKind::Pong:
            break;
        case WebSocketFrameDecoder::EventKind::Data:
            // Decoded payload is never longer than the frame it came in, so
            // it moves towards the front of input_, behind what is decoded.
            std::memmove(input_.data() + inputEnd_, event.payload.data(), event.payload.size());
            inputEnd_ += event.payload.size();
            break;
        case WebSocketFrameDecoder::EventKind::Ping:
            pong_.emplace(event.payload.begin(), event.payload.end());
            break;
        case WebSocketFrameDecoder::EventKind::Close:
            closeWith(event.closeCode, "WebSocket close " + std::to_string(event.closeCode));
            break;
        case WebSocketFrameDecoder::EventKind::Error:
            closeWith(decoder_.errorCloseCode(), "WebSocket: " + decoder_.errorReason());
            break;
        }
    }
    // Answer pings and closes now rather than at the caller's next write,
    // which may be long in coming. What does not fit stays queued.
    if (hasPendingOutput())
        flush();
    return {Status::Ok, result.bytes};
}

void WebSocketTransport::closeWith(uint16_t code, std::string reason) {
    inputEnded_ = true;
    closeReason_ = std::move(reason);
    if (close_ || closeSent_)
        return;
    close_.emplace();
    // A close without a status is answered by one without a status.
    if (code != kWebSocketNoStatus) {
        close_->push_back(static_cast<uint8_t>(code >> 8));
        close_->push_back(static_cast<uint8_t>(code));
    }
}

Transport::Result WebSocketTransport::write(std::span<const uint8_t> from) {
    // After a close frame, in either direction, no data frame may follow.
    if (close_ || closeSent_) {
        if (closeReason_.empty())
            closeReason_ = "WebSocket closing";
        return {Status::Closed};
    }
    if (hasPendingOutput()) {
        const Result flushed = flush();
        if (flushed.status != Status::Ok)
            return {flushed.status};
    }
    if (from.empty())
        return {Status::Ok};
    const size_t take = std::min(from.size(), kMaxFramePayload);
    output_.clear();
    outputSent_ = 0;
    appendFrame(output_, kFin | kOpBinary, from.first(take));
    // Start sending; what the socket does not take now waits for flush().
    if (flush().status == Status::Closed)
        return {Status::Closed};
    return {Status::Ok, take};
}

Transport::Result WebSocketTransport::flush() {
    for (;;) {
        if (outputSent_ == output_.size()) {
            output_.clear();
            outputSent_ = 0;
            if (pong_) {
                appendFrame(output_, kFin | kOpPong, *pong_);
                pong_.reset();
            } else if (close_) {
                appendFrame(output_, kFin | kOpClose, *close_);
                close_.reset();
                closeSent_ = true;
            } else {
                return {Status::Ok};
            }
        }
        const Result result = inner_->write(std::span(output_).subspan(outputSent_));
        if (result.status == Status::Ok && result.bytes > 0) {
            outputSent_ += result.bytes;
            continue;
        }
        if (result.status == Status::Closed) {
            if (closeReason_.empty())
                closeReason_ = inner_->closeReason();
            return {Status::Closed};
        }
        return {result.status == Status::Ok ? Status::WantWrite : result.status};
    }
}

bool WebSocketTransport::hasPendingOutput() const {
    return outputSent_ < output_.size() || pong_ || close_;
}

bool WebSocketTransport::hasBufferedInput() const {
    return inputStart_ < inputEnd_ || inputEnded_ || inner_->hasBufferedInput();
}

std::string WebSocketTransport::closeReason() const {
    return closeReason_.empty() ? inner_->closeReason() : closeReason_;
}

}  // namespace kvmvnc::door
