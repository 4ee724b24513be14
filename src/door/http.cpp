// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/door/http.h"
#include "http_text.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "kvmvnc/base/error_text.h"
#include "kvmvnc/base/unique_fd.h"

namespace kvmvnc::door {

namespace {

using http_text::equalsIgnoringCase;
using http_text::lower;
using http_text::trimWhitespace;

// tchar from RFC 9110: what method and header names are made of.
bool isTokenChar(uint8_t c) {
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return true;
    return std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

bool isToken(std::string_view text) {
    if (text.empty())
        return false;
    for (const char c : text) {
        if (!isTokenChar(static_cast<uint8_t>(c)))
            return false;
    }
    return true;
}

bool isControl(uint8_t c) { return c < 0x20 || c == 0x7f; }

bool startsWithIgnoringCase(std::string_view text, std::string_view prefix) {
    return text.size() >= prefix.size() &&
           equalsIgnoringCase(text.substr(0, prefix.size()), prefix);
}

std::span<const uint8_t> bytesOf(std::string_view text) {
    return {reinterpret_cast<const uint8_t *>(text.data()), text.size()};
}

// What a response on a connection that stays open for the next request ends with.
constexpr const char *kKeepAliveHeaders = "Connection: keep-alive\r\nKeep-Alive: timeout=5\r\n\r\n";

// On every response: no page of another site may show ours in a frame (and
// have its user click the target's power button through it), and no browser
// may guess a type other than the one given.
constexpr const char *kSecurityHeaders =
    "Content-Security-Policy: frame-ancestors 'none'\r\n"
    "X-Frame-Options: DENY\r\n"
    "X-Content-Type-Options: nosniff\r\n";

// A complete answer without a payload worth streaming: an error or a redirect.
void sendSmallResponse(Transport &transport, int status, std::string_view body,
                       std::string_view extraHeaders, bool withBody, Clock::time_point deadline,
                       bool keepAlive = false) {
    std::string out = "HTTP/1.1 " + std::to_string(status) + " ";
    out += httpStatusText(status);
    out += "\r\nContent-Type: text/plain; charset=utf-8\r\n";
    out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    out += kSecurityHeaders;
    out += extraHeaders;
    out += keepAlive ? kKeepAliveHeaders : "Connection: close\r\n\r\n";
    if (withBody)
        out += body;
    writeAll(transport, bytesOf(out), deadline);
}

int hexValue(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

// The path a request target names, percent-decoded, without its query; or
// nothing when the target is not a path (authority-form, "*") or has a
// broken escape. The absolute form (a proxy's "http://host/path") is
// accepted, as HTTP/1.1 servers must.
std::optional<std::string> decodedPath(std::string_view target) {
    for (const std::string_view scheme : {"http://", "https://"}) {
        if (startsWithIgnoringCase(target, scheme)) {
            const size_t slash = target.find('/', scheme.size());
            target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
            break;
        }
    }
    if (target.empty() || target.front() != '/')
        return std::nullopt;
    target = target.substr(0, target.find_first_of("?#"));

    std::string path;
    path.reserve(target.size());
    for (size_t i = 0; i < target.size(); ++i) {
        if (target[i] != '%') {
            path += target[i];
            continue;
        }
        if (i + 2 >= target.size())
            return std::nullopt;
        const int high = hexValue(target[i + 1]);
        const int low = hexValue(target[i + 2]);
        if (high < 0 || low < 0)
            return std::nullopt;
        path += static_cast<char>(high * 16 + low);
        i += 2;
    }
    return path;
}

// Whether a decoded path may be looked up at all: no way up (".."), nothing
// a file name never holds here (NUL, control characters), and no backslash,
// which some tools take for a separator.
bool isAcceptablePath(std::string_view path) {
    for (const char c : path) {
        if (isControl(static_cast<uint8_t>(c)) || c == '\\')
            return false;
    }
    size_t start = 0;
    while (start <= path.size()) {
        size_t end = path.find('/', start);
        if (end == std::string_view::npos)
            end = path.size();
        if (path.substr(start, end - start) == "..")
            return false;
        start = end + 1;
    }
    return true;
}

// For a redirect's Location: the decoded path encoded again, leading slashes
// collapsed so it can never read as another host ("//example.com/").
std::string encodedPath(std::string_view path) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out = "/";
    while (!path.empty() && path.front() == '/')
        path.remove_prefix(1);
    for (const char c : path) {
        const auto byte = static_cast<uint8_t>(c);
        if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
            std::string_view("-._~/").find(c) != std::string_view::npos) {
            out += c;
        } else {
            out += '%';
            out += kHex[byte >> 4];
            out += kHex[byte & 15];
        }
    }
    return out;
}

std::optional<std::string> realPath(const std::string &path) {
    const std::unique_ptr<char, decltype(&std::free)> resolved(::realpath(path.c_str(), nullptr),
                                                               &std::free);
    if (!resolved)
        return std::nullopt;
    return std::string(resolved.get());
}

bool isWithin(const std::string &path, const std::string &root) {
    if (root == "/")
        return true;
    return path.size() >= root.size() && path.compare(0, root.size(), root) == 0 &&
           (path.size() == root.size() || path[root.size()] == '/');
}

std::string_view contentTypeFor(std::string_view path) {
    const size_t slash = path.rfind('/');
    const size_t dot = path.rfind('.');
    if (dot == std::string_view::npos || (slash != std::string_view::npos && dot < slash))
        return "application/octet-stream";
    const std::string_view extension = path.substr(dot + 1);
    static constexpr std::pair<std::string_view, std::string_view> kTypes[] = {
        {"html", "text/html; charset=utf-8"},
        {"js", "text/javascript; charset=utf-8"},
        {"mjs", "text/javascript; charset=utf-8"},
        {"css", "text/css; charset=utf-8"},
        {"json", "application/json"},
        {"svg", "image/svg+xml"},
        {"png", "image/png"},
        {"ico", "image/x-icon"},
        {"woff", "font/woff"},
        {"woff2", "font/woff2"},
        {"wasm", "application/wasm"},
        {"txt", "text/plain; charset=utf-8"},
    };
    for (const auto &[name, type] : kTypes) {
        if (equalsIgnoringCase(extension, name))
            return type;
    }
    return "application/octet-stream";
}

// The host an authority ("name:port", "[v6]:port") names: lower case,
// without a trailing dot; nothing when it is malformed.
struct AuthorityHost {
    std::string name;
    bool address = false;  // an IPv4 or IPv6 address, not a name
};

std::optional<AuthorityHost> authorityHost(std::string_view authority) {
    std::string_view host = authority;
    std::string_view port;
    const bool bracketed = !authority.empty() && authority.front() == '[';
    if (bracketed) {
        const size_t close = authority.find(']');
        if (close == std::string_view::npos)
            return std::nullopt;
        host = authority.substr(1, close - 1);
        const std::string_view rest = authority.substr(close + 1);
        if (!rest.empty() && rest.front() != ':')
            return std::nullopt;
        port = rest.empty() ? rest : rest.substr(1);
    } else if (const size_t colon = authority.find(':'); colon != std::string_view::npos) {
        host = authority.substr(0, colon);
        port = authority.substr(colon + 1);
    }
    if (!std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return std::nullopt;
    AuthorityHost out;
    for (const char c : host)
        out.name += lower(c);
    if (!out.name.empty() && out.name.back() == '.')
        out.name.pop_back();
    in6_addr v6{};
    in_addr v4{};
    out.address = bracketed ? inet_pton(AF_INET6, out.name.c_str(), &v6) == 1
                            : inet_pton(AF_INET, out.name.c_str(), &v4) == 1;
    if (bracketed && !out.address)
        return std::nullopt;
    return out;
}

}  // namespace

std::optional<std::string> HttpRequest::header(std::string_view name) const {
    std::optional<std::string> value;
    for (const auto &[headerName, headerValue] : headers) {
        if (!equalsIgnoringCase(headerName, name))
            continue;
        if (value)
            *value += ", " + headerValue;
        else
            value = headerValue;
    }
    return value;
}

HttpRequestParser::State HttpRequestParser::fail(int status, std::string reason) {
    state_ = State::Error;
    errorStatus_ = status;
    errorReason_ = std::move(reason);
    return state_;
}

HttpRequestParser::State HttpRequestParser::feed(std::span<const uint8_t> bytes, size_t &consumed) {
    consumed = 0;
    while (state_ == State::NeedMore && consumed < bytes.size()) {
        const uint8_t byte = bytes[consumed++];
        if (++headSize_ > kMaxHead)
            return fail(431, "request head longer than 16 KiB");
        if (sawCr_) {
            if (byte != '\n')
                return fail(400, "CR not followed by LF");
            sawCr_ = false;
            takeLine();
        } else if (byte == '\r') {
            sawCr_ = true;
        } else if (byte == '\n') {
            takeLine();
        } else {
            line_ += static_cast<char>(byte);
            if (!sawRequestLine_ && line_.size() > kMaxRequestLine)
                return fail(414, "request line longer than 8 KiB");
        }
    }
    return state_;
}

HttpRequestParser::State HttpRequestParser::takeLine() {
    const std::string line = std::move(line_);
    line_.clear();
    if (!sawRequestLine_) {
        // RFC 9112 2.2: empty lines before the request line are skipped
        // (some clients send a CRLF after a previous request's body).
        if (line.empty())
            return state_;
        sawRequestLine_ = true;
        return takeRequestLine(line);
    }
    if (line.empty()) {
        state_ = State::Done;
        return state_;
    }
    return takeHeaderLine(line);
}

HttpRequestParser::State HttpRequestParser::takeRequestLine(std::string_view line) {
    for (const char c : line) {
        if (isControl(static_cast<uint8_t>(c)))
            return fail(400, "control character in the request line");
    }
    const size_t firstSpace = line.find(' ');
    const size_t secondSpace =
        firstSpace == std::string_view::npos ? firstSpace : line.find(' ', firstSpace + 1);
    if (secondSpace == std::string_view::npos ||
        line.find(' ', secondSpace + 1) != std::string_view::npos)
        return fail(400, "malformed request line");
    const std::string_view method = line.substr(0, firstSpace);
    const std::string_view target = line.substr(firstSpace + 1, secondSpace - firstSpace - 1);
    const std::string_view version = line.substr(secondSpace + 1);
    if (!isToken(method))
        return fail(400, "malformed method");
    if (target.empty())
        return fail(400, "empty request target");
    for (const char c : target) {
        // Browsers percent-encode everything else; raw bytes past ASCII
        // would only be someone probing.
        if (static_cast<uint8_t>(c) > 0x7e)
            return fail(400, "non-ASCII byte in the request target");
    }
    if (version != "HTTP/1.1" && version != "HTTP/1.0") {
        if (version.starts_with("HTTP/"))
            return fail(505, "HTTP version not supported");
        return fail(400, "malformed request line");
    }
    request_.method = method;
    request_.target = target;
    request_.version = version;
    return state_;
}

HttpRequestParser::State HttpRequestParser::takeHeaderLine(std::string_view line) {
    if (request_.headers.size() >= kMaxHeaders)
        return fail(431, "more than 64 headers");
    if (line.front() == ' ' || line.front() == '\t')
        return fail(400, "folded header line");
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos)
        return fail(400, "header line without a colon");
    const std::string_view name = line.substr(0, colon);
    // Also refuses whitespace before the colon (RFC 9112 5.1: a server MUST).
    if (!isToken(name))
        return fail(400, "malformed header name");
    const std::string_view value = trimWhitespace(line.substr(colon + 1));
    for (const char c : value) {
        if (c != '\t' && isControl(static_cast<uint8_t>(c)))
            return fail(400, "control character in a header");
    }
    request_.headers.emplace_back(name, value);
    return state_;
}

std::string_view httpStatusText(int status) {
    switch (status) {
    case 101:
        return "Switching Protocols";
    case 200:
        return "OK";
    case 301:
        return "Moved Permanently";
    case 400:
        return "Bad Request";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 414:
        return "URI Too Long";
    case 421:
        return "Misdirected Request";
    case 426:
        return "Upgrade Required";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Error";
    }
}

HttpRequest readHttpRequest(Transport &transport, Clock::time_point deadline,
                            std::span<const uint8_t> alreadyRead) {
    HttpRequestParser parser;
    size_t consumed = 0;
    HttpRequestParser::State state = parser.feed(alreadyRead, consumed);
    if (state == HttpRequestParser::State::Done && consumed < alreadyRead.size())
        throw HandshakeError("HTTP: data after the request head");
    while (state == HttpRequestParser::State::NeedMore) {
        // One byte at a time, so nothing after the head (a WebSocket's first
        // frames) is taken from the transport.
        uint8_t byte = 0;
        readExact(transport, std::span(&byte, 1), deadline);
        state = parser.feed(std::span(&byte, 1), consumed);
    }
    if (state == HttpRequestParser::State::Error) {
        try {
            sendHttpError(transport, parser.errorStatus(), parser.errorReason(), deadline);
        } catch (const HandshakeError &) {
            // The peer is gone or stalls; what it sent is the error to report.
        }
        throw HandshakeError("HTTP: " + parser.errorReason());
    }
    return parser.request();
}

void sendHttpError(Transport &transport, int status, std::string_view reason,
                   Clock::time_point deadline) {
    sendSmallResponse(transport, status, std::string(reason) + "\n", "", true, deadline);
}

void sendHttpRedirect(Transport &transport, std::string_view location, Clock::time_point deadline) {
    sendSmallResponse(transport, 301, "moved\n", "Location: " + std::string(location) + "\r\n",
                      true, deadline);
}

bool hostAllowed(std::string_view host, const std::vector<std::string> &webOrigins,
                 std::string_view machineName) {
    const std::optional<AuthorityHost> wanted = authorityHost(host);
    if (!wanted || wanted->name.empty())
        return false;
    if (wanted->address)
        return true;
    const std::string &name = wanted->name;
    if (name == "localhost" || name.ends_with(".localhost"))
        return true;
    const std::optional<AuthorityHost> machine = authorityHost(machineName);
    if (machine && !machine->name.empty() &&
        (name == machine->name || name == machine->name + ".local"))
        return true;
    for (const std::string &origin : webOrigins) {
        if (origin == "*")
            return true;
        const size_t scheme = origin.find("://");
        if (scheme == std::string::npos)
            continue;
        std::string_view authority = std::string_view(origin).substr(scheme + 3);
        authority = authority.substr(0, authority.find('/'));
        const std::optional<AuthorityHost> listed = authorityHost(authority);
        if (listed && listed->name == name)
            return true;
    }
    return false;
}

bool wantsKeepAlive(const HttpRequest &request) {
    const std::optional<std::string> connection = request.header("Connection");
    const bool close = connection && connection->find("close") != std::string::npos;
    const bool keep = connection && connection->find("keep-alive") != std::string::npos;
    return request.version == "HTTP/1.1" ? !close : keep;
}

void serveStaticFile(Transport &transport, const HttpRequest &request, const std::string &webRoot,
                     Clock::time_point deadline, bool keepAlive) {
    const bool isHead = request.method == "HEAD";
    if (request.method != "GET" && !isHead) {
        sendSmallResponse(transport, 405, "only GET and HEAD are served here\n",
                          "Allow: GET, HEAD\r\n", true, deadline, keepAlive);
        return;
    }
    const auto notFound = [&] {
        sendSmallResponse(transport, 404, "not found\n", "", !isHead, deadline, keepAlive);
    };

    const std::optional<std::string> path = decodedPath(request.target);
    if (!path) {
        sendSmallResponse(transport, 400, "malformed request target\n", "", !isHead, deadline,
                          keepAlive);
        return;
    }
    if (webRoot.empty() || !isAcceptablePath(*path)) {
        notFound();
        return;
    }
    const std::optional<std::string> root = realPath(webRoot);
    if (!root) {
        notFound();
        return;
    }
    std::string wanted = *root + *path;
    if (wanted.back() == '/')
        wanted += "index.html";
    // realpath() follows every symlink, so what is left to check is where the
    // walk ended: a link out of the web root is as missing as a missing file.
    const std::optional<std::string> file = realPath(wanted);
    if (!file || !isWithin(*file, *root)) {
        notFound();
        return;
    }
    // O_NONBLOCK so that a FIFO in the web root cannot hang the open().
    const UniqueFd fd(::open(file->c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
    struct stat info {};
    if (!fd.isValid() || ::fstat(fd.get(), &info) != 0) {
        notFound();
        return;
    }
    if (S_ISDIR(info.st_mode) && path->back() != '/') {
        sendSmallResponse(transport, 301, "moved\n", "Location: " + encodedPath(*path) + "/\r\n",
                          !isHead, deadline, keepAlive);
        return;
    }
    if (!S_ISREG(info.st_mode)) {
        notFound();
        return;
    }

    const auto size = static_cast<uint64_t>(info.st_size);
    std::string head = "HTTP/1.1 200 OK\r\nContent-Type: ";
    head += contentTypeFor(*file);
    head += "\r\nContent-Length: " + std::to_string(size) + "\r\n";
    head += "Cache-Control: no-cache\r\n";
    head += kSecurityHeaders;
    head += keepAlive ? kKeepAliveHeaders : "Connection: close\r\n\r\n";
    writeAll(transport, bytesOf(head), deadline);
    if (isHead)
        return;

    std::vector<uint8_t> chunk(64 * 1024);
    uint64_t sent = 0;
    while (sent < size) {
        const size_t want = static_cast<size_t>(std::min<uint64_t>(chunk.size(), size - sent));
        const ssize_t got = ::read(fd.get(), chunk.data(), want);
        if (got < 0 && errno == EINTR)
            continue;
        // The length is promised already: a file that shrank or fails to read
        // can only end the connection early, which the client notices.
        if (got < 0)
            throw HandshakeError("HTTP: reading " + *file + ": " + errorText(errno));
        if (got == 0)
            throw HandshakeError("HTTP: " + *file + " shrank while being sent");
        writeAll(transport, std::span(chunk.data(), static_cast<size_t>(got)), deadline);
        sent += static_cast<uint64_t>(got);
    }
}

}  // namespace kvmvnc::door
