// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kvmvnc/door/transport.h"

namespace kvmvnc::door {

// The head of one HTTP/1.x request: what the front door needs to route a
// browser to a WebSocket or to a static file. No body is ever read: the
// requests served here (GET, HEAD, WebSocket upgrades) have none.
struct HttpRequest {
    std::string method;
    std::string target;   // as sent: still percent-encoded, with any query
    std::string version;  // "HTTP/1.0" or "HTTP/1.1"
    // In the order received; names as sent, values without surrounding whitespace.
    std::vector<std::pair<std::string, std::string>> headers;

    // The value of the header `name` (compared case-insensitively). A header
    // sent on several lines gives its values joined with ", ", which is what
    // they mean for the list-valued headers a WebSocket upgrade carries.
    std::optional<std::string> header(std::string_view name) const;
};

// Parses a request head from bytes fed in any pieces. Pure (no I/O), so it
// can be fuzzed. Bounded: the request line to 8 KiB, the whole head to 16 KiB
// and 64 headers, whatever the peer sends. Strict where leniency has bitten
// HTTP servers before (request smuggling, header injection): control
// characters, obs-fold and header names with whitespace before the colon are
// refused; lines may end in CRLF or a bare LF. Not thread-safe.
class HttpRequestParser {
public:
    static constexpr size_t kMaxRequestLine = 8 * 1024;
    static constexpr size_t kMaxHead = 16 * 1024;
    static constexpr size_t kMaxHeaders = 64;

    enum class State { NeedMore, Done, Error };

    // Consumes bytes up to the end of the head (the blank line) and no
    // further, so what follows it stays with the caller; `consumed` says how
    // many. Once Done or Error, it consumes nothing and returns the same.
    State feed(std::span<const uint8_t> bytes, size_t &consumed);

    State state() const { return state_; }
    // Complete once feed() returned Done.
    const HttpRequest &request() const { return request_; }
    // With Error: the status to answer with (400, 414, 431 or 505), and what
    // was wrong, for the log and the response body.
    int errorStatus() const { return errorStatus_; }
    std::string errorReason() const { return errorReason_; }

private:
    State fail(int status, std::string reason);
    State takeLine();
    State takeRequestLine(std::string_view line);
    State takeHeaderLine(std::string_view line);

    State state_ = State::NeedMore;
    HttpRequest request_;
    std::string line_;  // the line being received, without its terminator
    bool sawRequestLine_ = false;
    bool sawCr_ = false;  // the last byte was a CR that must be followed by LF
    size_t headSize_ = 0;
    int errorStatus_ = 0;
    std::string errorReason_;
};

// The standard reason phrase for the statuses used here ("Not Found").
std::string_view httpStatusText(int status);

// Reads one request head from `transport` and nothing after it (a byte at a
// time: the head is small and read once per connection). `alreadyRead` is the
// start of the stream when the caller had to read some of it to tell HTTP from
// other protocols; it must not reach past the head. On a malformed request,
// answers with its error status (best effort) and throws
// HandshakeError("HTTP: <reason>"); a timeout or close throws too.
HttpRequest readHttpRequest(Transport &transport, Clock::time_point deadline,
                            std::span<const uint8_t> alreadyRead = {});

// Sends "HTTP/1.1 <status> <standard phrase>" with Connection: close and
// `reason` as a text/plain body. Throws HandshakeError when it cannot.
// Every response sent here forbids framing (Content-Security-Policy:
// frame-ancestors 'none', X-Frame-Options: DENY) and type sniffing.
void sendHttpError(Transport &transport, int status, std::string_view reason,
                   Clock::time_point deadline);
// Sends a 301 to `location` (which the caller made safe) with Connection: close.
void sendHttpRedirect(Transport &transport, std::string_view location, Clock::time_point deadline);

// Whether `host`, a request's Host header (a name or an address, maybe with
// a port), names this server. DNS rebinding points a name of an attacker's
// at this machine, after which the browser takes the attacker's page and
// this server for one origin; the name is what is left to tell them apart.
// Allowed: any IPv4 or IPv6 address (a browser never resolves one, so no
// page of a name can be given it), localhost and names under it (browsers
// resolve those themselves), `machineName` (this machine's host name) alone
// or with ".local" (mDNS), and the host of any origin in `webOrigins`, which
// is how an administrator lists the names of this machine ("*" allows any).
// Names are compared ignoring case and a trailing dot, never by port.
bool hostAllowed(std::string_view host, const std::vector<std::string> &webOrigins,
                 std::string_view machineName);

// Answers a GET or HEAD with a file under `webRoot` (the noVNC client), or
// with an error status: 405 for other methods, 404 for anything missing or
// outside the web root (after percent-decoding and resolving symlinks), and
// 404 for everything when `webRoot` is empty. "/" and directories give their
// index.html; a directory named without its trailing slash is redirected
// (301) to it, so the page's relative links resolve. The file is streamed,
// never held in memory. Throws HandshakeError when the peer goes away or stalls
// past `deadline`.
// With `keepAlive` the answer says so, and the caller may read the next
// request from the connection (whether the client wants that:
// wantsKeepAlive()).
void serveStaticFile(Transport &transport, const HttpRequest &request, const std::string &webRoot,
                     Clock::time_point deadline, bool keepAlive = false);
// HTTP/1.1 without "Connection: close", or HTTP/1.0 with "keep-alive".
bool wantsKeepAlive(const HttpRequest &request);

}  // namespace kvmvnc::door
