// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/door/websocket.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>

#include <chrono>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "kvmvnc/base/unique_fd.h"
#include "transport_pair.h"

namespace kvmvnc::door {
namespace {

using namespace std::chrono_literals;
using Bytes = std::vector<uint8_t>;
using EventKind = WebSocketFrameDecoder::EventKind;

constexpr uint8_t kText = 0x1, kBinary = 0x2, kContinuation = 0x0;
constexpr uint8_t kClose = 0x8, kPing = 0x9, kPong = 0xa;

Bytes bytesOf(std::string_view text) { return Bytes(text.begin(), text.end()); }

Bytes pattern(size_t size) {
    Bytes out(size);
    for (size_t i = 0; i < size; ++i)
        out[i] = static_cast<uint8_t>(i * 31 + i / 251);
    return out;
}

// A frame as a client sends it: masked. `lengthBytes` forces the 16- or
// 64-bit length form (0: the shortest).
Bytes clientFrame(uint8_t opcode, const Bytes &payload, bool fin = true, int lengthBytes = 0,
                  bool masked = true) {
    Bytes out;
    out.push_back(static_cast<uint8_t>((fin ? 0x80 : 0) | opcode));
    const uint8_t maskBit = masked ? 0x80 : 0;
    const uint64_t length = payload.size();
    if (lengthBytes == 0)
        lengthBytes = length < 126 ? 0 : length <= 0xffff ? 2 : 8;
    if (lengthBytes == 0) {
        out.push_back(static_cast<uint8_t>(maskBit | length));
    } else if (lengthBytes == 2) {
        out.push_back(maskBit | 126);
        out.push_back(static_cast<uint8_t>(length >> 8));
        out.push_back(static_cast<uint8_t>(length));
    } else {
        out.push_back(maskBit | 127);
        for (int shift = 56; shift >= 0; shift -= 8)
            out.push_back(static_cast<uint8_t>(length >> shift));
    }
    const uint8_t mask[4] = {0x37, 0xfa, 0x21, 0x3d};
    if (masked)
        out.insert(out.end(), mask, mask + 4);
    for (size_t i = 0; i < payload.size(); ++i)
        out.push_back(masked ? payload[i] ^ mask[i % 4] : payload[i]);
    return out;
}

Bytes concat(std::initializer_list<Bytes> parts) {
    Bytes out;
    for (const Bytes &part : parts)
        out.insert(out.end(), part.begin(), part.end());
    return out;
}

// What a decoder made of some input, in order.
struct Decoded {
    Bytes data;
    std::vector<std::pair<EventKind, Bytes>> events;  // everything but Data and NeedMore
    uint16_t closeCode = 0;
};

// Decodes `input` fed in pieces of `piece` bytes (0: all at once).
Decoded decodeAll(WebSocketFrameDecoder &decoder, Bytes input, size_t piece = 0) {
    Decoded out;
    size_t at = 0;
    while (at < input.size()) {
        const size_t end = piece == 0 ? input.size() : std::min(input.size(), at + piece);
        std::span<uint8_t> chunk(input.data() + at, end - at);
        while (!chunk.empty()) {
            size_t consumed = 0;
            const WebSocketFrameDecoder::Event event = decoder.decode(chunk, consumed);
            chunk = chunk.subspan(consumed);
            if (event.kind == EventKind::Data) {
                EXPECT_FALSE(event.payload.empty());
                out.data.insert(out.data.end(), event.payload.begin(), event.payload.end());
            } else if (event.kind != EventKind::NeedMore) {
                out.events.emplace_back(event.kind,
                                        Bytes(event.payload.begin(), event.payload.end()));
                if (event.kind == EventKind::Close)
                    out.closeCode = event.closeCode;
                if (event.kind == EventKind::Close || event.kind == EventKind::Error)
                    return out;
            }
        }
        at = end;
    }
    return out;
}

// RFC 6455 1.3 and 4.2.2.
TEST(WebSocketAccept, MatchesTheRfcExample) {
    EXPECT_EQ(webSocketAccept("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

HttpRequest upgradeRequest() {
    HttpRequest request;
    request.method = "GET";
    request.target = "/websockify";
    request.version = "HTTP/1.1";
    request.headers = {{"Host", "kvm"},
                       {"Upgrade", "websocket"},
                       {"Connection", "keep-alive, Upgrade"},
                       {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="},
                       {"Sec-WebSocket-Version", "13"}};
    return request;
}

void setHeader(HttpRequest &request, const std::string &name, const std::string &value) {
    for (auto &[headerName, headerValue] : request.headers) {
        if (headerName == name)
            headerValue = value;
    }
}

TEST(WebSocketUpgrade, AcceptsWhatBrowsersSend) {
    EXPECT_EQ(whyNotWebSocket(upgradeRequest()), "");
    EXPECT_TRUE(isWebSocketUpgrade(upgradeRequest()));
    HttpRequest request = upgradeRequest();
    setHeader(request, "Upgrade", "WebSocket");
    setHeader(request, "Connection", "UPGRADE");
    EXPECT_TRUE(isWebSocketUpgrade(request));
}

TEST(WebSocketUpgrade, SaysWhatIsMissing) {
    HttpRequest request = upgradeRequest();
    request.method = "POST";
    EXPECT_NE(whyNotWebSocket(request), "");
    request = upgradeRequest();
    request.version = "HTTP/1.0";
    EXPECT_FALSE(isWebSocketUpgrade(request));
    for (const auto &[name, value] : std::vector<std::pair<std::string, std::string>>{
             {"Upgrade", "h2c"},
             {"Connection", "keep-alive"},
             {"Connection", "upgraded"},
             {"Sec-WebSocket-Version", "8"},
             {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ"},
             {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZSE="},
             {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25j*Q=="}}) {
        request = upgradeRequest();
        setHeader(request, name, value);
        EXPECT_NE(whyNotWebSocket(request), "") << name << ": " << value;
    }
    request = upgradeRequest();
    request.headers.emplace_back("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==");
    EXPECT_NE(whyNotWebSocket(request), "") << "two keys";
}

// --- Sockets ---

void sendAll(int fd, const Bytes &bytes) {
    size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t sent = ::send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
        if (sent <= 0)
            return;
        done += static_cast<size_t>(sent);
    }
}

// Exactly `size` bytes from `fd`, or fewer if it closes or 10 s pass.
Bytes receive(int fd, size_t size) {
    Bytes out(size);
    size_t done = 0;
    const auto deadline = Clock::now() + 10s;
    while (done < size && Clock::now() < deadline) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 100) <= 0)
            continue;
        const ssize_t got = ::recv(fd, out.data() + done, size - done, 0);
        if (got <= 0)
            break;
        done += static_cast<size_t>(got);
    }
    out.resize(done);
    return out;
}

std::string receiveText(int fd, size_t size) {
    const Bytes bytes = receive(fd, size);
    return std::string(bytes.begin(), bytes.end());
}

// One unmasked frame as the server sends it: opcode and payload.
std::pair<uint8_t, Bytes> receiveServerFrame(int fd) {
    const Bytes head = receive(fd, 2);
    if (head.size() != 2)
        return {0xff, {}};
    EXPECT_EQ(head[1] & 0x80, 0) << "server frames are not masked";
    uint64_t length = head[1] & 0x7f;
    if (length == 126) {
        const Bytes ext = receive(fd, 2);
        length = static_cast<uint64_t>(ext.at(0)) << 8 | ext.at(1);
    } else if (length == 127) {
        const Bytes ext = receive(fd, 8);
        length = 0;
        for (const uint8_t byte : ext)
            length = length << 8 | byte;
    }
    return {head[0], receive(fd, static_cast<size_t>(length))};
}

TEST(WebSocketHandshake, SwitchesProtocolsAndPicksBinary) {
    SocketPair pair = makeSocketPair();
    HttpRequest request = upgradeRequest();
    request.headers.emplace_back("Sec-WebSocket-Protocol", "base64, binary");
    acceptWebSocket(*pair.transport, request, Clock::now() + 5s);
    const std::string expected =
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
        "Sec-WebSocket-Protocol: binary\r\n\r\n";
    EXPECT_EQ(receiveText(pair.peer.get(), expected.size()), expected);
}

TEST(WebSocketHandshake, ChoosesNoSubprotocolItDoesNotSpeak) {
    SocketPair pair = makeSocketPair();
    HttpRequest request = upgradeRequest();
    request.headers.emplace_back("Sec-WebSocket-Protocol", "base64, Binary");
    acceptWebSocket(*pair.transport, request, Clock::now() + 5s);
    pair.transport.reset();
    const std::string answer = receiveText(pair.peer.get(), 4096);
    EXPECT_TRUE(answer.starts_with("HTTP/1.1 101 Switching Protocols\r\n")) << answer;
    EXPECT_EQ(answer.find("Sec-WebSocket-Protocol"), std::string::npos);
}

TEST(WebSocketHandshake, RefusesABadUpgradeWith400) {
    SocketPair pair = makeSocketPair();
    HttpRequest request = upgradeRequest();
    setHeader(request, "Sec-WebSocket-Version", "12");
    EXPECT_THROW(acceptWebSocket(*pair.transport, request, Clock::now() + 5s), HandshakeError);
    pair.transport.reset();
    EXPECT_TRUE(receiveText(pair.peer.get(), 4096).starts_with("HTTP/1.1 400 Bad Request\r\n"));
}

// --- WebSocketFrameDecoder ---

TEST(WebSocketFrameDecoder, UnmasksFramesOfEveryLengthForm) {
    for (const size_t size : {size_t{0}, size_t{1}, size_t{125}, size_t{126}, size_t{65535},
                              size_t{65536}, size_t{70000}}) {
        const Bytes payload = pattern(size);
        for (const size_t piece : {size_t{0}, size_t{1}, size_t{7}, size_t{4096}}) {
            if (piece == 1 && size > 200)
                continue;
            WebSocketFrameDecoder decoder;
            const Decoded decoded = decodeAll(decoder, clientFrame(kBinary, payload), piece);
            EXPECT_TRUE(decoded.events.empty());
            EXPECT_TRUE(decoded.data == payload) << size << " bytes in pieces of " << piece;
        }
    }
}

TEST(WebSocketFrameDecoder, TakesLongerLengthFormsThanNeeded) {
    const Bytes payload = bytesOf("hello");
    WebSocketFrameDecoder decoder;
    const Decoded decoded = decodeAll(decoder, concat({clientFrame(kText, payload, true, 2),
                                                       clientFrame(kBinary, payload, true, 8)}));
    EXPECT_EQ(decoded.data, bytesOf("hellohello"));
}

TEST(WebSocketFrameDecoder, SplitsNothingWhateverThePieces) {
    const Bytes input =
        concat({clientFrame(kBinary, bytesOf("RFB 003.008\n")), clientFrame(kPing, bytesOf("p")),
                clientFrame(kText, bytesOf("ab"), false), clientFrame(kPong, {}),
                clientFrame(kContinuation, bytesOf("cd"), false),
                clientFrame(kContinuation, bytesOf("e"), true)});
    for (size_t piece = 1; piece <= input.size(); ++piece) {
        WebSocketFrameDecoder decoder;
        const Decoded decoded = decodeAll(decoder, input, piece);
        EXPECT_EQ(decoded.data, bytesOf("RFB 003.008\nabcde")) << "pieces of " << piece;
        ASSERT_EQ(decoded.events.size(), 2u);
        EXPECT_EQ(decoded.events[0], std::make_pair(EventKind::Ping, bytesOf("p")));
        EXPECT_EQ(decoded.events[1], std::make_pair(EventKind::Pong, Bytes{}));
    }
}

TEST(WebSocketFrameDecoder, HandsOutAHugeFrameAsItArrives) {
    // The header promises 1 GiB; what came so far is handed out at once.
    Bytes input = clientFrame(kBinary, pattern(1000));
    input[1] = 0x80 | 127;
    Bytes header(input.begin(), input.begin() + 2);
    for (int shift = 56; shift >= 0; shift -= 8)
        header.push_back(static_cast<uint8_t>((uint64_t{1} << 30) >> shift));
    header.insert(header.end(), input.begin() + 4, input.end());  // mask and payload
    WebSocketFrameDecoder decoder;
    const Decoded decoded = decodeAll(decoder, header);
    EXPECT_TRUE(decoded.data == pattern(1000));
    EXPECT_FALSE(decoder.failed());
}

TEST(WebSocketFrameDecoder, ReportsCloseWithItsCode) {
    WebSocketFrameDecoder decoder;
    Bytes payload = {0x03, 0xe9};  // 1001
    const Bytes reason = bytesOf("bye");
    payload.insert(payload.end(), reason.begin(), reason.end());
    const Decoded decoded =
        decodeAll(decoder, concat({clientFrame(kClose, payload), clientFrame(kBinary, {1, 2})}));
    ASSERT_EQ(decoded.events.size(), 1u);
    EXPECT_EQ(decoded.events[0], std::make_pair(EventKind::Close, reason));
    EXPECT_EQ(decoded.closeCode, 1001);
    EXPECT_TRUE(decoded.data.empty());

    // Nothing after a close is taken.
    Bytes more = clientFrame(kBinary, {1});
    size_t consumed = 1;
    EXPECT_EQ(decoder.decode(more, consumed).kind, EventKind::Close);
    EXPECT_EQ(consumed, 0u);

    WebSocketFrameDecoder withoutCode;
    EXPECT_EQ(decodeAll(withoutCode, clientFrame(kClose, {})).closeCode, kWebSocketNoStatus);
}

struct BadFrame {
    const char *name;
    Bytes input;
    uint16_t closeCode;
};

class WebSocketFrameDecoderError : public ::testing::TestWithParam<BadFrame> {};

TEST_P(WebSocketFrameDecoderError, FailsWithACloseCode) {
    WebSocketFrameDecoder decoder;
    const Decoded decoded = decodeAll(decoder, GetParam().input);
    ASSERT_FALSE(decoded.events.empty());
    EXPECT_EQ(decoded.events.back().first, EventKind::Error);
    EXPECT_TRUE(decoder.failed());
    EXPECT_EQ(decoder.errorCloseCode(), GetParam().closeCode);
    EXPECT_FALSE(decoder.errorReason().empty());
    Bytes more = clientFrame(kBinary, {1});
    size_t consumed = 1;
    EXPECT_EQ(decoder.decode(more, consumed).kind, EventKind::Error);
    EXPECT_EQ(consumed, 0u);
}

Bytes withFirstByte(Bytes frame, uint8_t first) {
    frame[0] = first;
    return frame;
}

Bytes hugeLengthFrame() {
    Bytes frame = {0x82, 0x80 | 127, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4};
    return frame;
}

INSTANTIATE_TEST_SUITE_P(
    WebSocketMalformed, WebSocketFrameDecoderError,
    ::testing::Values(
        BadFrame{"Unmasked", clientFrame(kBinary, bytesOf("x"), true, 0, false), 1002},
        BadFrame{"FragmentedPing", clientFrame(kPing, bytesOf("x"), false), 1002},
        BadFrame{"LongPing", clientFrame(kPing, pattern(126)), 1002},
        BadFrame{"LongClose", clientFrame(kClose, pattern(200)), 1002},
        BadFrame{"LoneContinuation", clientFrame(kContinuation, bytesOf("x")), 1002},
        BadFrame{"MessageInsideMessage",
                 concat({clientFrame(kText, bytesOf("a"), false), clientFrame(kBinary, {})}), 1002},
        BadFrame{"ReservedBits", withFirstByte(clientFrame(kBinary, {}), 0x80 | 0x40 | kBinary),
                 1002},
        BadFrame{"UnknownDataOpcode", withFirstByte(clientFrame(kBinary, {}), 0x83), 1002},
        BadFrame{"UnknownControlOpcode", withFirstByte(clientFrame(kBinary, {}), 0x8b), 1002},
        BadFrame{"OneByteClose", clientFrame(kClose, {0x03}), 1002},
        BadFrame{"ReservedCloseCode", clientFrame(kClose, {0x03, 0xed}), 1002},  // 1005
        BadFrame{"LengthTopBit", hugeLengthFrame(), 1009}),
    [](const ::testing::TestParamInfo<BadFrame> &paramInfo) {
        return std::string(paramInfo.param.name);
    });

// --- WebSocketTransport over a socket ---

struct WebSocketPair {
    std::unique_ptr<WebSocketTransport> transport;
    UniqueFd peer;
};

WebSocketPair makeWebSocketPair() {
    SocketPair pair = makeSocketPair();
    return {std::make_unique<WebSocketTransport>(std::move(pair.transport)), std::move(pair.peer)};
}

TEST(WebSocketTransport, ReadsPayloadAndAnswersPings) {
    WebSocketPair pair = makeWebSocketPair();
    EXPECT_FALSE(pair.transport->encrypted());
    sendAll(pair.peer.get(), concat({clientFrame(kPing, bytesOf("are you there")),
                                     clientFrame(kBinary, bytesOf("RFB ")),
                                     clientFrame(kText, bytesOf("003."), false),
                                     clientFrame(kContinuation, bytesOf("008\n"))}));
    Bytes got(12);
    readExact(*pair.transport, got, Clock::now() + 5s);
    EXPECT_EQ(got, bytesOf("RFB 003.008\n"));
    EXPECT_EQ(receiveServerFrame(pair.peer.get()),
              std::make_pair(uint8_t{0x80 | kPong}, bytesOf("are you there")));
}

TEST(WebSocketTransport, KeepsDecodedPayloadForTheNextRead) {
    WebSocketPair pair = makeWebSocketPair();
    sendAll(pair.peer.get(), clientFrame(kBinary, bytesOf("abcdef")));
    uint8_t byte = 0;
    readExact(*pair.transport, std::span(&byte, 1), Clock::now() + 5s);
    EXPECT_EQ(byte, 'a');
    EXPECT_TRUE(pair.transport->hasBufferedInput());
    Bytes rest(5);
    const Transport::Result result = pair.transport->read(rest);
    EXPECT_EQ(result.status, Transport::Status::Ok);
    EXPECT_EQ(result.bytes, 5u);
    EXPECT_FALSE(pair.transport->hasBufferedInput());
    EXPECT_EQ(pair.transport->read(rest).status, Transport::Status::WantRead);
}

TEST(WebSocketTransport, WritesBinaryFrames) {
    WebSocketPair pair = makeWebSocketPair();
    writeAll(*pair.transport, bytesOf("RFB 003.008\n"), Clock::now() + 5s);
    EXPECT_FALSE(pair.transport->hasPendingOutput());
    EXPECT_EQ(receiveServerFrame(pair.peer.get()),
              std::make_pair(uint8_t{0x80 | kBinary}, bytesOf("RFB 003.008\n")));
}

TEST(WebSocketTransport, AnswersACloseAndEnds) {
    WebSocketPair pair = makeWebSocketPair();
    sendAll(pair.peer.get(),
            concat({clientFrame(kBinary, bytesOf("last")), clientFrame(kClose, {0x03, 0xe8})}));
    Bytes got(4);
    readExact(*pair.transport, got, Clock::now() + 5s);
    EXPECT_EQ(got, bytesOf("last"));
    EXPECT_EQ(pair.transport->read(got).status, Transport::Status::Closed);
    EXPECT_EQ(pair.transport->closeReason(), "WebSocket close 1000");
    EXPECT_EQ(receiveServerFrame(pair.peer.get()),
              std::make_pair(uint8_t{0x80 | kClose}, Bytes{0x03, 0xe8}));
    EXPECT_EQ(pair.transport->write(got).status, Transport::Status::Closed);
}

TEST(WebSocketTransport, ClosesWithProtocolErrorOnAnUnmaskedFrame) {
    WebSocketPair pair = makeWebSocketPair();
    sendAll(pair.peer.get(), clientFrame(kBinary, bytesOf("x"), true, 0, false));
    Bytes got(1);
    EXPECT_THROW(readExact(*pair.transport, got, Clock::now() + 5s), HandshakeError);
    EXPECT_NE(pair.transport->closeReason().find("unmasked"), std::string::npos);
    EXPECT_EQ(receiveServerFrame(pair.peer.get()),
              std::make_pair(uint8_t{0x80 | kClose}, Bytes{0x03, 0xea}));
}

TEST(WebSocketTransport, ReportsThePeerGoingAway) {
    WebSocketPair pair = makeWebSocketPair();
    pair.peer.reset();
    Bytes got(1);
    EXPECT_EQ(pair.transport->read(got).status, Transport::Status::Closed);
    EXPECT_EQ(pair.transport->closeReason(), "closed by the peer");
}

TEST(WebSocketTransport, CarriesLargePayloadBothWays) {
    WebSocketPair pair = makeWebSocketPair();
    const Bytes payload = pattern(200 * 1024);

    // In: one 200 KiB frame and then the same in three fragments.
    std::thread client([&] {
        sendAll(
            pair.peer.get(),
            concat({clientFrame(kBinary, payload),
                    clientFrame(kBinary, Bytes(payload.begin(), payload.begin() + 1000), false),
                    clientFrame(kContinuation,
                                Bytes(payload.begin() + 1000, payload.begin() + 150000), false),
                    clientFrame(kContinuation, Bytes(payload.begin() + 150000, payload.end()))}));
    });
    Bytes got(2 * payload.size());
    readExact(*pair.transport, got, Clock::now() + 10s);
    client.join();
    EXPECT_TRUE(Bytes(got.begin(), got.begin() + static_cast<ptrdiff_t>(payload.size())) ==
                payload);
    EXPECT_TRUE(Bytes(got.begin() + static_cast<ptrdiff_t>(payload.size()), got.end()) == payload);

    // Out: frames of at most 64 KiB.
    Bytes received;
    std::thread reader([&] {
        while (received.size() < payload.size()) {
            const auto [opcode, frame] = receiveServerFrame(pair.peer.get());
            ASSERT_EQ(opcode, 0x80 | kBinary);
            ASSERT_LE(frame.size(), WebSocketTransport::kMaxFramePayload);
            ASSERT_FALSE(frame.empty());
            received.insert(received.end(), frame.begin(), frame.end());
        }
    });
    writeAll(*pair.transport, payload, Clock::now() + 10s);
    reader.join();
    EXPECT_TRUE(received == payload);
}

TEST(WebSocketTransport, TakesNothingWhileOutputIsPending) {
    WebSocketPair pair = makeWebSocketPair();
    const int small = 4096;
    ::setsockopt(pair.transport->fd(), SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    const Bytes payload = pattern(100 * 1024);
    Transport::Result result = pair.transport->write(payload);
    ASSERT_EQ(result.status, Transport::Status::Ok);
    EXPECT_EQ(result.bytes, WebSocketTransport::kMaxFramePayload);
    EXPECT_TRUE(pair.transport->hasPendingOutput());
    result = pair.transport->write(payload);
    EXPECT_EQ(result.status, Transport::Status::WantWrite);
    EXPECT_EQ(result.bytes, 0u);
}

// --- WebSocketTransport over a transport that wants the other direction, as TLS does ---

// Scripted: read() and write() return the queued statuses first; reads then
// give `incoming`, writes are collected in `written` and checked to be
// retried with the same bytes, as OpenSSL requires.
class ScriptedTransport final : public Transport {
public:
    Result read(std::span<uint8_t> into) override {
        if (!readStatuses.empty()) {
            const Status status = readStatuses.front();
            readStatuses.pop_front();
            return {status};
        }
        if (incoming.empty())
            return {Status::WantRead};
        const size_t n = std::min(into.size(), incoming.size());
        std::copy_n(incoming.begin(), n, into.begin());
        incoming.erase(incoming.begin(), incoming.begin() + static_cast<ptrdiff_t>(n));
        return {Status::Ok, n};
    }
    Result write(std::span<const uint8_t> from) override {
        if (!writeStatuses.empty()) {
            const Status status = writeStatuses.front();
            writeStatuses.pop_front();
            refused = Bytes(from.begin(), from.end());
            return {status};
        }
        if (refused) {
            EXPECT_TRUE(Bytes(from.begin(), from.end()) == *refused) << "a retry with other bytes";
            refused.reset();
        }
        written.insert(written.end(), from.begin(), from.end());
        return {Status::Ok, from.size()};
    }
    bool encrypted() const override { return true; }
    int fd() const override { return -1; }
    std::string closeReason() const override { return "scripted"; }

    std::deque<Status> readStatuses;
    std::deque<Status> writeStatuses;
    Bytes incoming;
    Bytes written;
    std::optional<Bytes> refused;
};

TEST(WebSocketTransport, PassesUpWhatATlsLayerWants) {
    auto inner = std::make_unique<ScriptedTransport>();
    ScriptedTransport &script = *inner;
    WebSocketTransport transport(std::move(inner));
    EXPECT_TRUE(transport.encrypted());

    script.readStatuses = {Transport::Status::WantWrite};
    script.incoming =
        concat({clientFrame(kPing, bytesOf("hi")), clientFrame(kBinary, bytesOf("x"))});
    script.writeStatuses = {Transport::Status::WantRead};
    Bytes got(8);
    EXPECT_EQ(transport.read(got).status, Transport::Status::WantWrite);
    // The pong cannot go out yet; the payload is there all the same.
    Transport::Result result = transport.read(got);
    ASSERT_EQ(result.status, Transport::Status::Ok);
    EXPECT_EQ(result.bytes, 1u);
    EXPECT_TRUE(transport.hasPendingOutput());

    // A write behind the refused pong waits for it, then goes out.
    script.writeStatuses = {Transport::Status::WantRead};
    result = transport.write(bytesOf("out"));
    EXPECT_EQ(result.status, Transport::Status::WantRead);
    EXPECT_EQ(result.bytes, 0u);
    result = transport.write(bytesOf("out"));
    EXPECT_EQ(result.status, Transport::Status::Ok);
    EXPECT_EQ(result.bytes, 3u);
    EXPECT_EQ(transport.flush().status, Transport::Status::Ok);
    EXPECT_FALSE(transport.hasPendingOutput());
    EXPECT_EQ(script.written, bytesOf("\x8a\x02hi\x82\x03out"));
}

}  // namespace
}  // namespace kvmvnc::door
