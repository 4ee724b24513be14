// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kvmvnc/door/auth_throttle.h"
#include "kvmvnc/door/credentials.h"
#include "kvmvnc/door/transport.h"

namespace kvmvnc::door {

class TlsServer;

// RFB security type and VeNCrypt subtype numbers (RFC 6143, VeNCrypt).
namespace sectype {
constexpr uint8_t kNone = 1;
constexpr uint8_t kVncAuth = 2;
constexpr uint8_t kVeNCrypt = 19;
}  // namespace sectype
namespace subtype {
constexpr uint32_t kNone = 1;  // only over a transport that is already encrypted
constexpr uint32_t kVncAuth = 2;
constexpr uint32_t kPlain = 256;  // only over a transport that is already encrypted
constexpr uint32_t kTlsNone = 257;
constexpr uint32_t kTlsVnc = 258;
constexpr uint32_t kTlsPlain = 259;
constexpr uint32_t kX509None = 260;
constexpr uint32_t kX509Vnc = 261;
constexpr uint32_t kX509Plain = 262;
}  // namespace subtype

// What the server offers, from [security].
struct SecurityPolicy {
    // VNC authentication (DES challenge, then everything in the clear) on a
    // transport that is not encrypted.
    bool allowUnencrypted = false;
    // VeNCrypt's TLSNone/X509None: encrypted, but no password.
    bool allowTlsNone = false;
    // VeNCrypt's anonymous TLS subtypes (TLSVnc, TLSPlain, TLSNone): they
    // stop eavesdroppers, not a man in the middle.
    bool anonymousTls = true;
    // Web origins besides the panel's own allowed to open a WebSocket ("*":
    // any). A browser sends any page's requests with its user's network
    // position, so a foreign page must not reach the RFB port unasked.
    std::vector<std::string> webOrigins;
};

// Who came in, and how.
struct Admission {
    std::string user;  // the users file's name; empty for VNC passwords and None
    Access access = Access::Full;
    std::string method;    // "X509Plain", "VncAuth", "None"...
    int minorVersion = 8;  // the RFB 3.x the client speaks
};

// The state one negotiation reads; everything borrowed.
struct SecurityContext {
    const SecurityPolicy &policy;
    const Credentials &credentials;
    const TlsServer *tls;  // null: no VeNCrypt TLS subtypes
    AuthThrottle &throttle;
    std::string peerAddress;  // the client's IP address, as AuthThrottle takes it
    Clock::time_point deadline;
};

// The security types offered to a client on `transport`, best first (the
// server's order is the client's choice for TigerVNC and libvncclient).
// `canStartTls`: false on a WebSocket, whose socket carries frames, not the
// TLS records a VeNCrypt TLS subtype would start.
std::vector<uint8_t> offeredTypes(const SecurityContext &context, bool transportEncrypted,
                                  bool canStartTls = true);
std::vector<uint32_t> offeredSubtypes(const SecurityContext &context, bool transportEncrypted,
                                      bool canStartTls = true);
std::string subtypeName(uint32_t subtype);

// The server's side of the RFB handshake up to the security result: version,
// security type, VeNCrypt with its TLS handshake, and the authentication.
// `transport` may be replaced by the TLS transport on top of it. On success
// the caller hands the connection on and then calls sendSecurityResult(): the
// client must not be told it is in before the RFB server took it. On failure
// the client has been told why (where the protocol version allows) and
// HandshakeError is thrown; failed authentication is counted by the
// throttle, and a password accepted makes the address known to it.
Admission negotiateSecurity(std::unique_ptr<Transport> &transport, const SecurityContext &context);

// SecurityResult: OK, or failed with `reason` (RFB 3.8 carries the text).
// After None on RFB 3.3 and 3.7 there is no SecurityResult: OK sends
// nothing then, and a failure just closes.
void sendSecurityResult(Transport &transport, const Admission &admission, bool ok,
                        const std::string &reason, Clock::time_point deadline);

}  // namespace kvmvnc::door
