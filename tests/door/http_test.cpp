// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/door/http.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include "kvmvnc/base/unique_fd.h"
#include "transport_pair.h"

namespace kvmvnc::door {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using State = HttpRequestParser::State;

std::span<const uint8_t> bytesOf(std::string_view text) {
    return {reinterpret_cast<const uint8_t *>(text.data()), text.size()};
}

// Feeds all of `text` in one piece; `consumed` says how much was taken.
State parse(HttpRequestParser &parser, std::string_view text, size_t &consumed) {
    return parser.feed(bytesOf(text), consumed);
}

void sendAll(int fd, std::string_view text) {
    while (!text.empty()) {
        const ssize_t sent = ::send(fd, text.data(), text.size(), MSG_NOSIGNAL);
        ASSERT_GT(sent, 0);
        text.remove_prefix(static_cast<size_t>(sent));
    }
}

// What arrives on `fd` until the other end closes (or 10 s pass).
std::string receiveUntilClosed(int fd) {
    std::string out;
    char buffer[16 * 1024];
    const auto deadline = Clock::now() + 10s;
    while (Clock::now() < deadline) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 100) <= 0)
            continue;
        const ssize_t got = ::recv(fd, buffer, sizeof buffer, 0);
        if (got <= 0)
            break;
        out.append(buffer, static_cast<size_t>(got));
    }
    return out;
}

TEST(HttpRequestParser, ParsesARequestWithCrlf) {
    const std::string text =
        "GET /websockify?token=1 HTTP/1.1\r\nHost: kvm.local\r\nUpgrade:  websocket \t\r\n"
        "Sec-WebSocket-Protocol: binary\r\n\r\n";
    HttpRequestParser parser;
    size_t consumed = 0;
    ASSERT_EQ(parse(parser, text, consumed), State::Done);
    EXPECT_EQ(consumed, text.size());
    const HttpRequest &request = parser.request();
    EXPECT_EQ(request.method, "GET");
    EXPECT_EQ(request.target, "/websockify?token=1");
    EXPECT_EQ(request.version, "HTTP/1.1");
    ASSERT_EQ(request.headers.size(), 3u);
    EXPECT_EQ(request.headers[0], (std::pair<std::string, std::string>("Host", "kvm.local")));
    EXPECT_EQ(request.headers[1].second, "websocket");
}

TEST(HttpRequestParser, ParsesARequestWithBareLf) {
    const std::string text = "HEAD / HTTP/1.0\nHost: a\n\n";
    HttpRequestParser parser;
    size_t consumed = 0;
    ASSERT_EQ(parse(parser, text, consumed), State::Done);
    EXPECT_EQ(consumed, text.size());
    EXPECT_EQ(parser.request().method, "HEAD");
    EXPECT_EQ(parser.request().version, "HTTP/1.0");
    EXPECT_EQ(parser.request().header("host"), "a");
}

TEST(HttpRequestParser, SkipsEmptyLinesBeforeTheRequestLine) {
    HttpRequestParser parser;
    size_t consumed = 0;
    ASSERT_EQ(parse(parser, "\r\n\nGET / HTTP/1.1\r\n\r\n", consumed), State::Done);
    EXPECT_EQ(parser.request().target, "/");
}

TEST(HttpRequestParser, GivesTheSameRequestWhereverTheInputIsSplit) {
    const std::string text =
        "GET /vnc.html HTTP/1.1\r\nHost: kvm\r\nAccept: */*\nX-Empty:\r\n\r\nextra";
    const size_t headSize = text.size() - 5;
    for (size_t split = 0; split <= text.size(); ++split) {
        HttpRequestParser parser;
        size_t first = 0;
        const State state = parse(parser, std::string_view(text).substr(0, split), first);
        size_t second = 0;
        if (state == State::NeedMore) {
            EXPECT_EQ(first, split);
            ASSERT_EQ(parse(parser, std::string_view(text).substr(split), second), State::Done)
                << "split at " << split;
        } else {
            ASSERT_EQ(state, State::Done);
        }
        EXPECT_EQ(first + second, headSize) << "split at " << split;
        EXPECT_EQ(parser.request().target, "/vnc.html");
        EXPECT_EQ(parser.request().header("X-Empty"), "");
        EXPECT_EQ(parser.request().header("accept"), "*/*");
    }

    HttpRequestParser parser;
    size_t total = 0;
    State state = State::NeedMore;
    for (size_t i = 0; i < text.size() && state == State::NeedMore; ++i) {
        size_t consumed = 0;
        state = parse(parser, std::string_view(text).substr(i, 1), consumed);
        total += consumed;
    }
    EXPECT_EQ(state, State::Done);
    EXPECT_EQ(total, headSize);
}

TEST(HttpRequestParser, LeavesBytesAfterTheHead) {
    const std::string head = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    HttpRequestParser parser;
    size_t consumed = 0;
    ASSERT_EQ(parse(parser, head + "\x82\x85....", consumed), State::Done);
    EXPECT_EQ(consumed, head.size());
    // Done is final: more input is not taken.
    EXPECT_EQ(parse(parser, "more", consumed), State::Done);
    EXPECT_EQ(consumed, 0u);
}

TEST(HttpRequest, LooksHeadersUpIgnoringCaseAndJoinsRepeats) {
    HttpRequest request;
    request.headers = {{"Connection", "keep-alive"}, {"Host", "x"}, {"CONNECTION", "Upgrade"}};
    EXPECT_EQ(request.header("connection"), "keep-alive, Upgrade");
    EXPECT_EQ(request.header("HOST"), "x");
    EXPECT_EQ(request.header("Upgrade"), std::nullopt);
}

struct BadRequest {
    const char *name;
    std::string text;
    int status;
};

class HttpRequestParserError : public ::testing::TestWithParam<BadRequest> {};

TEST_P(HttpRequestParserError, RefusesWithItsStatus) {
    HttpRequestParser parser;
    size_t consumed = 0;
    ASSERT_EQ(parse(parser, GetParam().text, consumed), State::Error);
    EXPECT_EQ(parser.errorStatus(), GetParam().status);
    EXPECT_FALSE(parser.errorReason().empty());
    EXPECT_EQ(parse(parser, "GET / HTTP/1.1\r\n\r\n", consumed), State::Error);
    EXPECT_EQ(consumed, 0u);
}

std::string manyHeaders(size_t count) {
    std::string text = "GET / HTTP/1.1\r\n";
    for (size_t i = 0; i < count; ++i)
        text += "X-" + std::to_string(i) + ": v\r\n";
    return text + "\r\n";
}

INSTANTIATE_TEST_SUITE_P(
    HttpMalformed, HttpRequestParserError,
    ::testing::Values(BadRequest{"NoColon", "GET / HTTP/1.1\r\nHost\r\n\r\n", 400},
                      BadRequest{"ObsFold", "GET / HTTP/1.1\r\nX-A: a\r\n  b\r\n\r\n", 400},
                      BadRequest{"TabFold", "GET / HTTP/1.1\r\nX-A: a\r\n\tb\r\n\r\n", 400},
                      BadRequest{"SpaceBeforeColon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400},
                      BadRequest{"EmptyHeaderName", "GET / HTTP/1.1\r\n: a\r\n\r\n", 400},
                      BadRequest{"ControlInValue", "GET / HTTP/1.1\r\nHost: a\x01z\r\n\r\n", 400},
                      BadRequest{"NulInValue",
                                 std::string("GET / HTTP/1.1\r\nHost: a\0z\r\n\r\n", 29), 400},
                      BadRequest{"NulInTarget", std::string("GET /\0 HTTP/1.1\r\n\r\n", 19), 400},
                      BadRequest{"CrWithoutLf", "GET / HTTP/1.1\rHost: a\r\n\r\n", 400},
                      BadRequest{"BadMethod", "G(T / HTTP/1.1\r\n\r\n", 400},
                      BadRequest{"TwoSpaces", "GET  / HTTP/1.1\r\n\r\n", 400},
                      BadRequest{"NoVersion", "GET /\r\n\r\n", 400},
                      BadRequest{"NotHttp", "GET / FTP/1.1\r\n\r\n", 400},
                      BadRequest{"NonAsciiTarget", "GET /\xc3\xa9 HTTP/1.1\r\n\r\n", 400},
                      BadRequest{"Http2", "GET / HTTP/2.0\r\n\r\n", 505},
                      BadRequest{"Http09Style", "GET / HTTP/0.9\r\n\r\n", 505},
                      BadRequest{"LongRequestLine",
                                 "GET /" + std::string(8 * 1024, 'a') + " HTTP/1.1\r\n\r\n", 414},
                      BadRequest{"TooManyHeaders", manyHeaders(65), 431},
                      BadRequest{"LongHead",
                                 "GET / HTTP/1.1\r\nX-A: " + std::string(8000, 'a') +
                                     "\r\nX-B: " + std::string(8000, 'b') +
                                     "\r\nX-C: " + std::string(500, 'c') + "\r\n\r\n",
                                 431}),
    [](const ::testing::TestParamInfo<BadRequest> &paramInfo) {
        return std::string(paramInfo.param.name);
    });

TEST(HttpRequestParser, AcceptsTheLimitsThemselves) {
    // A request line of exactly 8 KiB, and 64 headers.
    const std::string line = "GET /" + std::string(8192 - 14, 'a') + " HTTP/1.1";
    ASSERT_EQ(line.size(), 8192u);
    HttpRequestParser longLine;
    size_t consumed = 0;
    EXPECT_EQ(parse(longLine, line + "\r\n\r\n", consumed), State::Done);

    HttpRequestParser headers;
    EXPECT_EQ(parse(headers, manyHeaders(64), consumed), State::Done);
    EXPECT_EQ(headers.request().headers.size(), 64u);
}

TEST(HttpReadRequest, ReadsTheHeadAndNothingAfterIt) {
    SocketPair pair = makeSocketPair();
    sendAll(pair.peer.get(), "GET /websockify HTTP/1.1\r\nHost: a\r\n\r\nAFTER");
    const HttpRequest request = readHttpRequest(*pair.transport, Clock::now() + 5s);
    EXPECT_EQ(request.target, "/websockify");
    uint8_t rest[5];
    readExact(*pair.transport, rest, Clock::now() + 5s);
    EXPECT_EQ(std::string(reinterpret_cast<const char *>(rest), 5), "AFTER");
}

TEST(HttpReadRequest, TakesWhatTheCallerReadAlready) {
    SocketPair pair = makeSocketPair();
    sendAll(pair.peer.get(), "T / HTTP/1.1\r\n\r\n");
    const std::string prefix = "GE";
    const HttpRequest request =
        readHttpRequest(*pair.transport, Clock::now() + 5s, bytesOf(prefix));
    EXPECT_EQ(request.method, "GET");
}

TEST(HttpReadRequest, AnswersAMalformedRequestAndThrows) {
    SocketPair pair = makeSocketPair();
    sendAll(pair.peer.get(), "GET / HTTP/1.1\r\nBroken\r\n\r\n");
    EXPECT_THROW(readHttpRequest(*pair.transport, Clock::now() + 5s), HandshakeError);
    pair.transport.reset();
    const std::string answer = receiveUntilClosed(pair.peer.get());
    EXPECT_TRUE(answer.starts_with("HTTP/1.1 400 Bad Request\r\n")) << answer;
    EXPECT_NE(answer.find("\r\nConnection: close\r\n"), std::string::npos);
}

TEST(HttpReadRequest, ThrowsAtTheDeadline) {
    SocketPair pair = makeSocketPair();
    sendAll(pair.peer.get(), "GET / HTTP/1.1\r\n");
    EXPECT_THROW(readHttpRequest(*pair.transport, Clock::now() + 50ms), HandshakeError);
}

TEST(HttpSendError, ForbidsFraming) {
    SocketPair pair = makeSocketPair();
    sendHttpError(*pair.transport, 421, "no", Clock::now() + 5s);
    sendHttpRedirect(*pair.transport, "https://kvm/", Clock::now() + 5s);
    pair.transport.reset();
    const std::string answers = receiveUntilClosed(pair.peer.get());
    EXPECT_TRUE(answers.starts_with("HTTP/1.1 421 Misdirected Request\r\n")) << answers;
    const size_t redirect = answers.find("HTTP/1.1 301 Moved Permanently\r\n");
    ASSERT_NE(redirect, std::string::npos) << answers;
    EXPECT_NE(answers.find("\r\nLocation: https://kvm/\r\n", redirect), std::string::npos);
    for (const size_t start : {size_t{0}, redirect}) {
        const std::string head = answers.substr(start, answers.find("\r\n\r\n", start) - start);
        EXPECT_NE(head.find("\r\nContent-Security-Policy: frame-ancestors 'none'"),
                  std::string::npos)
            << head;
        EXPECT_NE(head.find("\r\nX-Frame-Options: DENY"), std::string::npos) << head;
        EXPECT_NE(head.find("\r\nX-Content-Type-Options: nosniff"), std::string::npos) << head;
    }
}

TEST(HttpHostAllowed, AnyAddressLocalhostAndThisMachine) {
    const std::vector<std::string> none;
    for (const char *host :
         {"127.0.0.1", "127.0.0.1:5900", "192.168.1.20:5900", "10.0.0.1.", "[::1]", "[::1]:5900",
          "[fe80::1]:443", "[::ffff:192.0.2.1]", "localhost", "LOCALHOST:5900", "localhost.",
          "kvm.localhost:80", "pikvm", "PiKVM.local:5900", "pikvm.local."})
        EXPECT_TRUE(hostAllowed(host, none, "pikvm")) << host;
}

TEST(HttpHostAllowed, RefusesOtherNames) {
    const std::vector<std::string> none;
    for (const char *host :
         {"evil.example", "evil.example:5900", "127.0.0.1.evil.example", "localhost.evil.example",
          "evilpikvm", "pikvm.evil.example", "pikvm.lan", "127.1", "0x7f000001", "2130706433", "",
          ":5900", "[::1", "[evil.example]", "[::1]x", "[::1]:http", "localhost:http",
          "127.0.0.1:5900:1", "::1"})
        EXPECT_FALSE(hostAllowed(host, none, "pikvm")) << host;
    EXPECT_FALSE(hostAllowed("localhost.local", none, "")) << "no host name: no .local form";
    EXPECT_FALSE(hostAllowed(".local", none, ""));
}

// web_origins lists pages by origin; the host of each is a name of this
// server (the panel behind a name, another noVNC whose page is elsewhere).
TEST(HttpHostAllowed, TakesTheNamesOfListedOrigins) {
    const std::vector<std::string> origins = {"https://kvm.example:8443", "http://Panel.Example",
                                              "http://other.example/path"};
    for (const char *host :
         {"kvm.example", "kvm.example:5900", "KVM.EXAMPLE.", "panel.example:80", "other.example"})
        EXPECT_TRUE(hostAllowed(host, origins, "")) << host;
    for (const char *host : {"example", "evil.example", "kvm.example.evil", "path"})
        EXPECT_FALSE(hostAllowed(host, origins, "")) << host;
    EXPECT_TRUE(hostAllowed("evil.example", {"*"}, "")) << "* allows every page, every name";
}

TEST(HttpSendError, SendsStatusReasonAndClose) {
    SocketPair pair = makeSocketPair();
    sendHttpError(*pair.transport, 503, "busy", Clock::now() + 5s);
    pair.transport.reset();
    const std::string answer = receiveUntilClosed(pair.peer.get());
    EXPECT_TRUE(answer.starts_with("HTTP/1.1 503 Service Unavailable\r\n")) << answer;
    EXPECT_NE(answer.find("\r\nConnection: close\r\n"), std::string::npos);
    EXPECT_NE(answer.find("\r\nContent-Length: 5\r\n"), std::string::npos);
    EXPECT_TRUE(answer.ends_with("\r\n\r\nbusy\n"));
}

// A web root with a few files, a directory, and links in and out of it.
class HttpStaticFile : public ::testing::Test {
protected:
    void SetUp() override {
        char templ[] = "/tmp/kvmvnc-http-XXXXXX";
        ASSERT_NE(::mkdtemp(templ), nullptr);
        dir = templ;
        root = dir / "www";
        fs::create_directories(root / "app");
        fs::create_directories(dir / "outside");
        write(root / "index.html", "<html>kvm</html>\n");
        write(root / "app" / "index.html", "app index");
        write(root / "app" / "ui.js", "export {};\n");
        write(root / "with space.css", "body {}");
        write(root / "data.bin", "\x01\x02");
        write(dir / "outside" / "secret.txt", "secret");
        fs::create_symlink(dir / "outside" / "secret.txt", root / "escape.txt");
        fs::create_symlink(dir / "outside", root / "outdir");
        fs::create_symlink("index.html", root / "alias.html");
    }
    void TearDown() override { fs::remove_all(dir); }

    static void write(const fs::path &path, const std::string &content) {
        std::ofstream(path, std::ios::binary) << content;
    }

    // The whole answer to `text` (a request head), served from `webRoot`.
    std::string serve(const std::string &text, std::string webRoot = "") {
        if (webRoot.empty())
            webRoot = root.string();
        HttpRequestParser parser;
        size_t consumed = 0;
        EXPECT_EQ(parser.feed(bytesOf(text), consumed), State::Done) << text;
        SocketPair pair = makeSocketPair();
        // The server runs on its own thread: a big file fills the socket
        // buffer before it is read here.
        std::string error;
        std::thread server([&, transport = std::move(pair.transport)]() mutable {
            try {
                serveStaticFile(*transport, parser.request(), webRoot, Clock::now() + 10s);
            } catch (const HandshakeError &e) {
                error = e.what();
            }
            transport.reset();
        });
        std::string answer = receiveUntilClosed(pair.peer.get());
        server.join();
        EXPECT_EQ(error, "");
        return answer;
    }

    std::string get(const std::string &target) {
        return serve("GET " + target + " HTTP/1.1\r\nHost: kvm\r\n\r\n");
    }

    static std::string body(const std::string &answer) {
        const size_t end = answer.find("\r\n\r\n");
        return end == std::string::npos ? "" : answer.substr(end + 4);
    }
    static bool hasHeader(const std::string &answer, const std::string &line) {
        const size_t end = answer.find("\r\n\r\n");
        return answer.substr(0, end + 2).find("\r\n" + line + "\r\n") != std::string::npos;
    }

    fs::path dir;
    fs::path root;
};

TEST_F(HttpStaticFile, ServesIndexForTheRoot) {
    const std::string answer = get("/");
    EXPECT_TRUE(answer.starts_with("HTTP/1.1 200 OK\r\n")) << answer;
    EXPECT_TRUE(hasHeader(answer, "Content-Type: text/html; charset=utf-8"));
    EXPECT_TRUE(hasHeader(answer, "Content-Length: 17"));
    EXPECT_TRUE(hasHeader(answer, "Cache-Control: no-cache"));
    EXPECT_TRUE(hasHeader(answer, "Connection: close"));
    EXPECT_EQ(body(answer), "<html>kvm</html>\n");
}

// No other site's page may show the panel in a frame (and have its user
// click the power button through it), nor make a browser guess a type.
TEST_F(HttpStaticFile, EveryAnswerForbidsFramingAndSniffing) {
    for (const char *request :
         {"GET / HTTP/1.1\r\n\r\n", "GET /app HTTP/1.1\r\n\r\n", "GET /nothing HTTP/1.1\r\n\r\n",
          "GET /bad%zz HTTP/1.1\r\n\r\n", "POST / HTTP/1.1\r\n\r\n", "HEAD / HTTP/1.1\r\n\r\n"}) {
        const std::string answer = serve(request);
        EXPECT_TRUE(hasHeader(answer, "Content-Security-Policy: frame-ancestors 'none'"))
            << request << answer;
        EXPECT_TRUE(hasHeader(answer, "X-Frame-Options: DENY")) << request << answer;
        EXPECT_TRUE(hasHeader(answer, "X-Content-Type-Options: nosniff")) << request << answer;
    }
}

TEST_F(HttpStaticFile, ServesFilesByTypeIgnoringTheQuery) {
    std::string answer = get("/app/ui.js?v=1.4#x");
    EXPECT_TRUE(answer.starts_with("HTTP/1.1 200 OK\r\n")) << answer;
    EXPECT_TRUE(hasHeader(answer, "Content-Type: text/javascript; charset=utf-8"));
    EXPECT_EQ(body(answer), "export {};\n");

    answer = get("/with%20space.css");
    EXPECT_TRUE(hasHeader(answer, "Content-Type: text/css; charset=utf-8")) << answer;
    EXPECT_EQ(body(answer), "body {}");

    answer = get("/data.bin");
    EXPECT_TRUE(hasHeader(answer, "Content-Type: application/octet-stream")) << answer;

    answer = get("/alias.html");
    EXPECT_EQ(body(answer), "<html>kvm</html>\n");

    answer = serve("GET http://kvm.local/app/ui.js HTTP/1.1\r\n\r\n");
    EXPECT_EQ(body(answer), "export {};\n");
}

TEST_F(HttpStaticFile, ServesDirectoriesByTheirIndex) {
    EXPECT_EQ(body(get("/app/")), "app index");
    const std::string answer = get("/app?x=1");
    EXPECT_TRUE(answer.starts_with("HTTP/1.1 301 Moved Permanently\r\n")) << answer;
    EXPECT_TRUE(hasHeader(answer, "Location: /app/"));
}

TEST_F(HttpStaticFile, AnswersHeadWithoutABody) {
    const std::string answer = serve("HEAD /index.html HTTP/1.1\r\n\r\n");
    EXPECT_TRUE(answer.starts_with("HTTP/1.1 200 OK\r\n")) << answer;
    EXPECT_TRUE(hasHeader(answer, "Content-Length: 17"));
    EXPECT_EQ(body(answer), "");
    EXPECT_TRUE(answer.ends_with("\r\n\r\n"));
}

TEST_F(HttpStaticFile, AnswersMissingFilesWith404) {
    EXPECT_TRUE(get("/nothing.html").starts_with("HTTP/1.1 404 Not Found\r\n"));
    EXPECT_TRUE(get("/app/missing/").starts_with("HTTP/1.1 404 Not Found\r\n"));
    EXPECT_TRUE(get("/index.html/").starts_with("HTTP/1.1 404 Not Found\r\n"));
}

TEST_F(HttpStaticFile, RefusesPathsLeavingTheWebRoot) {
    for (const char *target :
         {"/../outside/secret.txt", "/%2e%2e/outside/secret.txt",
          "/app/..%2F..%2Foutside/secret.txt", "/app/../index.html", "/escape.txt",
          "/outdir/secret.txt", "/app%5C..%5Cindex.html", "/index.html%00.png"}) {
        const std::string answer = get(target);
        EXPECT_TRUE(answer.starts_with("HTTP/1.1 404 Not Found\r\n")) << target << "\n" << answer;
        EXPECT_EQ(answer.find("secret"), std::string::npos) << target;
    }
}

TEST_F(HttpStaticFile, RefusesMalformedTargets) {
    EXPECT_TRUE(get("/bad%zzescape").starts_with("HTTP/1.1 400 Bad Request\r\n"));
    EXPECT_TRUE(get("/trailing%2").starts_with("HTTP/1.1 400 Bad Request\r\n"));
    EXPECT_TRUE(serve("OPTIONS * HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 405 "));
    EXPECT_TRUE(get("*").starts_with("HTTP/1.1 400 Bad Request\r\n"));
}

TEST_F(HttpStaticFile, AllowsOnlyGetAndHead) {
    const std::string answer = serve("POST /index.html HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
    EXPECT_TRUE(answer.starts_with("HTTP/1.1 405 Method Not Allowed\r\n")) << answer;
    EXPECT_TRUE(hasHeader(answer, "Allow: GET, HEAD"));
    EXPECT_TRUE(hasHeader(answer, "Connection: close"));
}

TEST_F(HttpStaticFile, ServesNothingWithoutAWebRoot) {
    HttpRequestParser parser;
    size_t consumed = 0;
    parser.feed(bytesOf("GET / HTTP/1.1\r\n\r\n"), consumed);
    SocketPair pair = makeSocketPair();
    serveStaticFile(*pair.transport, parser.request(), "", Clock::now() + 5s);
    pair.transport.reset();
    EXPECT_TRUE(receiveUntilClosed(pair.peer.get()).starts_with("HTTP/1.1 404 Not Found\r\n"));
}

TEST_F(HttpStaticFile, StreamsLargeFiles) {
    std::string content(3 * 1024 * 1024 + 17, '\0');
    for (size_t i = 0; i < content.size(); ++i)
        content[i] = static_cast<char>(i * 7 + i / 4096);
    write(root / "big.wasm", content);
    const std::string answer = get("/big.wasm");
    EXPECT_TRUE(hasHeader(answer, "Content-Type: application/wasm"));
    EXPECT_TRUE(hasHeader(answer, "Content-Length: " + std::to_string(content.size())));
    EXPECT_TRUE(body(answer) == content);
}

}  // namespace
}  // namespace kvmvnc::door
