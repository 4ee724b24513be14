// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/door/rfb_security.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <semaphore>

#include "kvmvnc/door/tls.h"

namespace kvmvnc::door {

namespace {

constexpr size_t kMaxUserLength = 255;
constexpr size_t kMaxPasswordLength = 1024;

void writeBytes(Transport &transport, const std::vector<uint8_t> &bytes,
                Clock::time_point deadline) {
    writeAll(transport, bytes, deadline);
}

void appendU32(std::vector<uint8_t> &out, uint32_t value) {
    uint8_t bytes[4];
    putU32(bytes, value);
    out.insert(out.end(), bytes, bytes + 4);
}

void appendReason(std::vector<uint8_t> &out, const std::string &reason) {
    appendU32(out, static_cast<uint32_t>(reason.size()));
    out.insert(out.end(), reason.begin(), reason.end());
}

uint32_t readU32(Transport &transport, Clock::time_point deadline) {
    uint8_t bytes[4];
    readExact(transport, bytes, deadline);
    return getU32(bytes);
}

// Refuses before a security type was agreed: RFB 3.3 says so with type 0,
// later versions with an empty list; both then carry the reason.
[[noreturn]] void refuseEarly(Transport &transport, int minor, const std::string &reason,
                              Clock::time_point deadline) {
    std::vector<uint8_t> out;
    if (minor == 3)
        appendU32(out, 0);
    else
        out.push_back(0);
    appendReason(out, reason);
    try {
        writeBytes(transport, out, deadline);
    } catch (const HandshakeError &) {
    }
    throw HandshakeError(reason);
}

// A failed SecurityResult; only RFB 3.8 carries the reason.
[[noreturn]] void refuseAuthentication(Transport &transport, int minor, const std::string &reason,
                                       Clock::time_point deadline) {
    std::vector<uint8_t> out;
    appendU32(out, 1);
    if (minor >= 8)
        appendReason(out, reason);
    try {
        writeBytes(transport, out, deadline);
    } catch (const HandshakeError &) {
    }
    throw HandshakeError(reason);
}

std::string blockedReason(const AuthThrottle::Wait &wait) {
    const long long seconds = (wait.time.count() + 999) / 1000;
    return "too many failed logins from " + wait.from + "; try again in " +
           std::to_string(seconds) + " s";
}

void checkNotBlocked(Transport &transport, const SecurityContext &context, int minor, bool early) {
    const auto wait = context.throttle.blockedFor(context.peerAddress, Clock::now());
    if (wait.time.count() == 0)
        return;
    if (early)
        refuseEarly(transport, minor, blockedReason(wait), context.deadline);
    refuseAuthentication(transport, minor, blockedReason(wait), context.deadline);
}

[[noreturn]] void failedLogin(Transport &transport, const SecurityContext &context, int minor,
                              const std::string &what) {
    const auto block = context.throttle.recordFailure(context.peerAddress, Clock::now());
    std::string reason = "authentication failed";
    std::string logged = what;
    if (block.time.count() > 0)
        logged += "; " + blockedReason(block);
    try {
        refuseAuthentication(transport, minor, reason, context.deadline);
    } catch (const HandshakeError &) {
        throw HandshakeError(logged);
    }
}

Access vncAuthentication(Transport &transport, const SecurityContext &context, int minor) {
    uint8_t challenge[16];
    if (RAND_bytes(challenge, sizeof(challenge)) != 1)
        refuseAuthentication(transport, minor, "no random numbers for a challenge",
                             context.deadline);
    writeAll(transport, challenge, context.deadline);
    uint8_t response[16];
    readExact(transport, response, context.deadline);
    checkNotBlocked(transport, context, minor, false);
    const auto access = checkVncResponse(*context.credentials.vnc, challenge, response);
    OPENSSL_cleanse(response, sizeof(response));
    if (!access)
        failedLogin(transport, context, minor, "wrong VNC password");
    context.throttle.recordSuccess(context.peerAddress, Clock::now());
    return *access;
}

std::pair<std::string, Access> plainAuthentication(Transport &transport,
                                                   const SecurityContext &context, int minor) {
    const uint32_t userLength = readU32(transport, context.deadline);
    const uint32_t passwordLength = readU32(transport, context.deadline);
    if (userLength > kMaxUserLength || passwordLength > kMaxPasswordLength)
        refuseAuthentication(transport, minor, "user name or password too long", context.deadline);
    std::string user(userLength, '\0');
    std::string password(passwordLength, '\0');
    readExact(transport, {reinterpret_cast<uint8_t *>(user.data()), user.size()}, context.deadline);
    readExact(transport, {reinterpret_cast<uint8_t *>(password.data()), password.size()},
              context.deadline);
    checkNotBlocked(transport, context, minor, false);
    std::optional<Access> access;
    {
        // Each verify is one scrypt: 16 MiB and tens of milliseconds. Two at
        // a time keep a burst of logins from exhausting a small board's
        // memory; the others wait their turn within their deadline.
        static std::counting_semaphore<2> scryptSlots(2);
        if (!scryptSlots.try_acquire_until(context.deadline))
            throw HandshakeError("timed out waiting to check a password");
        struct Slot {
            ~Slot() { scryptSlots.release(); }
        } slot;
        access = context.credentials.users.verify(user, password);
    }
    OPENSSL_cleanse(password.data(), password.size());
    std::string printable;
    for (char c : user.substr(0, 64))
        printable += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
    if (!access)
        failedLogin(transport, context, minor,
                    "wrong user name or password for '" + printable + "'");
    context.throttle.recordSuccess(context.peerAddress, Clock::now());
    return {user, *access};
}

bool isTls(uint32_t subtype) {
    return subtype >= subtype::kTlsNone && subtype <= subtype::kX509Plain;
}
bool isAnonymousTls(uint32_t subtype) {
    return subtype == subtype::kTlsNone || subtype == subtype::kTlsVnc ||
           subtype == subtype::kTlsPlain;
}

// Why a client is offered no security type at all.
std::string nothingToOffer(const SecurityContext &context) {
    if (!context.credentials.vnc && context.credentials.users.empty())
        return "this server has no accounts yet (its users file is empty)";
    return "no security type left to offer: this server allows only encrypted logins, and "
           "not over this connection";
}

Admission veNCrypt(std::unique_ptr<Transport> &transport, const SecurityContext &context,
                   int minor) {
    const uint8_t version[2] = {0, 2};
    writeAll(*transport, version, context.deadline);
    uint8_t theirs[2];
    readExact(*transport, theirs, context.deadline);
    if (theirs[0] != 0 || theirs[1] != 2) {
        const uint8_t refused = 1;
        writeAll(*transport, {&refused, 1}, context.deadline);
        char text[64];
        std::snprintf(text, sizeof(text), "VeNCrypt %u.%u is not supported", theirs[0], theirs[1]);
        throw HandshakeError(text);
    }
    const std::vector<uint32_t> subtypes =
        offeredSubtypes(context, transport->encrypted(), !transport->framed());
    std::vector<uint8_t> out{0, static_cast<uint8_t>(subtypes.size())};
    for (uint32_t type : subtypes)
        appendU32(out, type);
    writeBytes(*transport, out, context.deadline);
    const uint32_t chosen = readU32(*transport, context.deadline);
    bool offered = false;
    for (uint32_t type : subtypes)
        offered = offered || type == chosen;
    // The TLS subtypes start with a byte that says whether the server goes
    // on to TLS (TigerVNC's and libvncclient's TLS layer read it); the
    // others (Plain, VncAuth and None inside wss) go straight on, and noVNC
    // reads no such byte.
    if (!offered || isTls(chosen)) {
        const uint8_t ack = offered ? 1 : 0;
        writeAll(*transport, {&ack, 1}, context.deadline);
    }
    if (!offered)
        throw HandshakeError("VeNCrypt subtype " + std::to_string(chosen) + " was not offered");

    if (isTls(chosen)) {
        auto tls = std::make_unique<TlsTransport>(isAnonymousTls(chosen)
                                                      ? context.tls->anonymousContext()
                                                      : context.tls->certificateContext(),
                                                  std::move(transport));
        TlsTransport &session = *tls;
        transport = std::move(tls);
        session.handshake(context.deadline);
    }
    Admission admission;
    admission.minorVersion = minor;
    admission.method = subtypeName(chosen);
    switch (chosen) {
    case subtype::kVncAuth:
    case subtype::kTlsVnc:
    case subtype::kX509Vnc:
        admission.access = vncAuthentication(*transport, context, minor);
        break;
    case subtype::kPlain:
    case subtype::kTlsPlain:
    case subtype::kX509Plain: {
        auto [user, access] = plainAuthentication(*transport, context, minor);
        admission.user = std::move(user);
        admission.access = access;
        break;
    }
    default:  // the None subtypes
        break;
    }
    return admission;
}

}  // namespace

std::string subtypeName(uint32_t type) {
    switch (type) {
    case subtype::kNone:
        return "VeNCrypt None";
    case subtype::kVncAuth:
        return "VeNCrypt VncAuth";
    case subtype::kPlain:
        return "Plain";
    case subtype::kTlsNone:
        return "TLSNone";
    case subtype::kTlsVnc:
        return "TLSVnc";
    case subtype::kTlsPlain:
        return "TLSPlain";
    case subtype::kX509None:
        return "X509None";
    case subtype::kX509Vnc:
        return "X509Vnc";
    case subtype::kX509Plain:
        return "X509Plain";
    }
    return "subtype " + std::to_string(type);
}

std::vector<uint32_t> offeredSubtypes(const SecurityContext &context, bool transportEncrypted,
                                      bool canStartTls) {
    const bool users = !context.credentials.users.empty();
    const bool vnc = context.credentials.vnc.has_value();
    const SecurityPolicy &policy = context.policy;
    std::vector<uint32_t> types;
    if (transportEncrypted) {
        // Already inside TLS (wss, or RFB in TLS): no second TLS layer.
        if (users)
            types.push_back(subtype::kPlain);
        if (vnc)
            types.push_back(subtype::kVncAuth);
        if (policy.allowTlsNone)
            types.push_back(subtype::kNone);
        return types;
    }
    if (!context.tls || !canStartTls)
        return types;
    if (users)
        types.push_back(subtype::kX509Plain);
    if (vnc)
        types.push_back(subtype::kX509Vnc);
    if (users && policy.anonymousTls)
        types.push_back(subtype::kTlsPlain);
    if (vnc && policy.anonymousTls)
        types.push_back(subtype::kTlsVnc);
    if (policy.allowTlsNone)
        types.push_back(subtype::kX509None);
    if (policy.allowTlsNone && policy.anonymousTls)
        types.push_back(subtype::kTlsNone);
    return types;
}

std::vector<uint8_t> offeredTypes(const SecurityContext &context, bool transportEncrypted,
                                  bool canStartTls) {
    std::vector<uint8_t> types;
    if (!offeredSubtypes(context, transportEncrypted, canStartTls).empty())
        types.push_back(sectype::kVeNCrypt);
    if (context.credentials.vnc && (transportEncrypted || context.policy.allowUnencrypted))
        types.push_back(sectype::kVncAuth);
    if (context.credentials.none())
        types.push_back(sectype::kNone);
    return types;
}

Admission negotiateSecurity(std::unique_ptr<Transport> &transport, const SecurityContext &context) {
    static const char kVersion[] = "RFB 003.008\n";
    writeAll(*transport, {reinterpret_cast<const uint8_t *>(kVersion), 12}, context.deadline);
    char theirs[13] = {};
    readExact(*transport, {reinterpret_cast<uint8_t *>(theirs), 12}, context.deadline);
    unsigned major = 0;
    unsigned minorRead = 0;
    char end = 0;
    if (std::sscanf(theirs, "RFB %3u.%3u%c", &major, &minorRead, &end) != 3 || end != '\n' ||
        theirs[3] != ' ' || theirs[7] != '.')
        throw HandshakeError("not an RFB client (bad protocol version)");
    if (major != 3)
        throw HandshakeError("RFB " + std::to_string(major) + ".x is not supported");
    // Unknown 3.x versions below 3.7 are 3.3 (RFC 6143 7.1.1); 3.889 is Apple's 3.8.
    const int minor = minorRead >= 8 ? 8 : minorRead == 7 ? 7 : 3;
    const bool encrypted = transport->encrypted();

    Admission admission;
    admission.minorVersion = minor;
    checkNotBlocked(*transport, context, minor, true);

    const bool canStartTls = !transport->framed();
    const std::vector<uint8_t> types = offeredTypes(context, encrypted, canStartTls);
    uint8_t chosen = 0;
    if (minor == 3) {
        // The server chooses; 3.3 predates VeNCrypt.
        for (uint8_t type : types)
            if (!chosen && type != sectype::kVeNCrypt)
                chosen = type;
        if (!chosen)
            refuseEarly(*transport, minor,
                        "this viewer speaks RFB 3.3, which cannot encrypt, and unencrypted "
                        "logins are off on this server",
                        context.deadline);
        uint8_t out[4];
        putU32(out, chosen);
        writeAll(*transport, out, context.deadline);
    } else {
        if (types.empty())
            refuseEarly(*transport, minor, nothingToOffer(context), context.deadline);
        // Sized once and filled: GCC 12 takes insert() into a one-byte
        // vector for an overflow when it builds for 32-bit ARM (-Warray-bounds).
        std::vector<uint8_t> out(types.size() + 1);
        out[0] = static_cast<uint8_t>(types.size());
        std::copy(types.begin(), types.end(), out.begin() + 1);
        writeBytes(*transport, out, context.deadline);
        readExact(*transport, {&chosen, 1}, context.deadline);
        bool offered = false;
        for (uint8_t type : types)
            offered = offered || type == chosen;
        if (!offered)
            refuseAuthentication(*transport, minor,
                                 "security type " + std::to_string(chosen) + " was not offered",
                                 context.deadline);
    }
    switch (chosen) {
    case sectype::kNone:
        admission.method = "None";
        break;
    case sectype::kVncAuth:
        admission.method = "VncAuth";
        admission.access = vncAuthentication(*transport, context, minor);
        break;
    default:
        admission = veNCrypt(transport, context, minor);
        break;
    }
    return admission;
}

void sendSecurityResult(Transport &transport, const Admission &admission, bool ok,
                        const std::string &reason, Clock::time_point deadline) {
    if (admission.method == "None" && admission.minorVersion < 8)
        return;
    std::vector<uint8_t> out;
    appendU32(out, ok ? 0 : 1);
    if (!ok && admission.minorVersion >= 8)
        appendReason(out, reason);
    writeBytes(transport, out, deadline);
}

}  // namespace kvmvnc::door
