// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/ctl/control_client.h"

#include <rfb/rfbclient.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "kvmvnc/ctl/known_hosts.h"
#include "kvmvnc/ctl/server_certificate.h"

namespace kvmvnc::ctl {

namespace {

// libvncclient's log lines would clutter a command-line tool's output; the
// last one is kept, since on a refusal it holds the server's reason.
thread_local std::string lastLibraryMessage;

[[gnu::format(printf, 1, 2)]] void quietLog(const char *format, ...) {
    char text[512];
    va_list args;
    va_start(args, format);
    std::vsnprintf(text, sizeof(text), format, args);
    va_end(args);
    std::string line = text;
    while (!line.empty() && (line.back() == '\n' || line.back() == ' '))
        line.pop_back();
    if (!line.empty())
        lastLibraryMessage = line;
}

// ServerCutText a control client reads and drops; libvncclient's own
// bound for it (which kvmvncctl bypasses by reading messages itself).
constexpr uint64_t kMaxCutText = 1 << 20;

char kClientTag;  // its address tags our data in libvncclient's client

ControlClient *ownerOf(rfbClient *client) {
    return static_cast<ControlClient *>(rfbClientGetClientData(client, &kClientTag));
}

std::string subtypeName(rfbClient *client) {
    if (client->authScheme == rfbVncAuth)
        return "VNC authentication without TLS";
    if (client->authScheme != rfbVeNCrypt)
        return "security type " + std::to_string(client->authScheme);
    switch (client->subAuthScheme) {
    case rfbVeNCryptTLSVNC:
        return "anonymous TLS (TLSVnc)";
    case rfbVeNCryptTLSPlain:
        return "anonymous TLS (TLSPlain)";
    case rfbVncAuth:
        return "VNC authentication without TLS";
    case rfbVeNCryptPlain:
        return "VeNCrypt Plain without TLS";
    default:
        return "VeNCrypt subtype " + std::to_string(client->subAuthScheme);
    }
}

}  // namespace

// libvncclient's callbacks: C, so nothing may throw through them.
struct LibraryCallbacks {
    static char *password(rfbClient *client) noexcept {
        ControlClient *self = ownerOf(client);
        if (!self || !self->passwordMayGo())
            return nullptr;
        return strdup(self->options_.password.c_str());
    }

    // VeNCrypt asks for the CA to check the server against (X509 subtypes)
    // and for a user name and password (Plain subtypes). libvncclient frees
    // what this returns with free().
    static rfbCredential *credential(rfbClient *client, int type) noexcept {
        ControlClient *self = ownerOf(client);
        if (!self)
            return nullptr;
        const ConnectOptions &options = self->options_;
        auto *credential = static_cast<rfbCredential *>(std::calloc(1, sizeof(rfbCredential)));
        if (!credential)
            return nullptr;
        if (type == rfbCredentialTypeX509) {
            std::string trusted = options.caFile;
            if (trusted.empty() && self->pinCertificate())
                trusted = "/proc/self/fd/" + std::to_string(self->caFile_.get());
            if (trusted.empty()) {
                std::free(credential);
                return nullptr;
            }
            credential->x509Credential.x509CACertFile = strdup(trusted.c_str());
            credential->x509Credential.x509CrlVerifyMode = rfbX509CrlVerifyNone;
            return credential;
        }
        if (type == rfbCredentialTypeUser) {
            if (!self->passwordMayGo()) {
                std::free(credential);
                return nullptr;
            }
            if (options.user.empty()) {
                std::free(credential);
                self->refusal_ = "the server asks for a user name: give --user";
                return nullptr;
            }
            credential->userCredential.username = strdup(options.user.c_str());
            credential->userCredential.password = strdup(options.password.c_str());
            return credential;
        }
        std::free(credential);
        return nullptr;
    }
};

ControlClient::ControlClient() = default;

ControlClient::~ControlClient() { closeConnection(); }

void ControlClient::closeConnection() {
    if (client_)
        rfbClientCleanup(client_);
    client_ = nullptr;
    caFile_.reset();
}

bool ControlClient::verified() const {
    return client_->authScheme == rfbVeNCrypt && (client_->subAuthScheme == rfbVeNCryptX509None ||
                                                  client_->subAuthScheme == rfbVeNCryptX509VNC ||
                                                  client_->subAuthScheme == rfbVeNCryptX509Plain);
}

// A password goes only inside a VeNCrypt X509 subtype, whose certificate
// was checked (against the CA file or the pinned one): never to a server,
// or a man in the middle, that offers plain VNC authentication or
// anonymous TLS instead, unless the user said so.
bool ControlClient::passwordMayGo() {
    if (verified())
        return true;
    if (options_.allowUnverified) {
        if (!warnedUnverified_ && options_.notice)
            options_.notice("warning: the password goes to " + where_ + " over " +
                            subtypeName(client_) +
                            ", which cannot tell the server from a man in the middle");
        warnedUnverified_ = true;
        return true;
    }
    refusal_ = where_ + " offered no login whose certificate can be checked, only " +
               subtypeName(client_) +
               ": the password was not sent (--insecure sends it all the same)";
    return false;
}

bool ControlClient::pinCertificate() {
    if (options_.knownHostsFile.empty()) {
        refusal_ = "the server wants its certificate checked: give --ca-file";
        return false;
    }
    std::string problem;
    const auto certificate =
        fetchServerCertificate(options_.host, options_.port, options_.timeoutSeconds, problem);
    if (!certificate) {
        refusal_ = "cannot fetch the certificate of " + where_ + ": " + problem;
        return false;
    }
    const std::string fingerprint = certificate->fingerprint();
    const std::string name = knownHostName(options_.host, options_.port);
    std::optional<ServerCertificate> local;
    if (!options_.localCertificateFile.empty())
        local = ServerCertificate::fromPemFile(options_.localCertificateFile);
    try {
        if (local && sameFingerprint(local->fingerprint(), fingerprint))
            return keepInMemory(*certificate);
        KnownHosts hosts = KnownHosts::load(options_.knownHostsFile);
        const std::vector<KnownHosts::Entry> entries = hosts.find(name);
        const bool known =
            std::any_of(entries.begin(), entries.end(), [&](const KnownHosts::Entry &entry) {
                return sameFingerprint(entry.fingerprint, fingerprint);
            });
        if (!known && !entries.empty()) {
            const KnownHosts::Entry &old = entries.front();
            const std::string line = std::to_string(old.line);
            refusal_ = "THE CERTIFICATE OF " + name +
                       " HAS CHANGED: refused, nothing was sent.\n"
                       "  known (" +
                       hosts.path() + " line " + line + "): " + old.fingerprint +
                       "\n  shown now: " + fingerprint +
                       "\nSomeone may be in the middle, or the server has a new certificate "
                       "(kvmvncd logs its fingerprint at start). If the change is expected, "
                       "delete line " +
                       line + " of " + hosts.path() + " and connect again.";
            return false;
        }
        if (!known) {
            const bool accepted =
                options_.newHosts == NewHostPolicy::Accept ||
                (confirmedFingerprint_ && sameFingerprint(*confirmedFingerprint_, fingerprint));
            if (!accepted && options_.newHosts == NewHostPolicy::Ask) {
                unknownFingerprint_ = fingerprint;
                refusal_ = "stopped to ask about the certificate of " + name;
                return false;
            }
            if (!accepted) {
                refusal_ = "the certificate of " + name + " is not known yet (not in " +
                           hosts.path() + "): " + fingerprint +
                           "\nCompare it with the fingerprint kvmvncd logs at start; if they "
                           "are the same, run again with --accept-new (or on a terminal, which "
                           "asks), or give --ca-file. Nothing was sent.";
                return false;
            }
            hosts.add(name, fingerprint);
            try {
                hosts.save();
                if (options_.notice)
                    options_.notice("trusting " + name + " from now on, added to " + hosts.path() +
                                    ": " + fingerprint);
            } catch (const std::exception &e) {
                if (options_.notice)
                    options_.notice("warning: trusting " + name + " (" + fingerprint +
                                    ") this once: " + e.what());
            }
        }
    } catch (const std::exception &e) {
        refusal_ = e.what();
        return false;
    }

    return keepInMemory(*certificate);
}

bool ControlClient::keepInMemory(const ServerCertificate &certificate) {
    // libvncclient reads the certificates to trust from a file: this one,
    // from memory. Its host name check then wants a name the certificate
    // carries; the pin, not the name, is what says it is the right server.
    const std::string pem = certificate.pem();
    caFile_.reset(::memfd_create("kvmvncctl-pinned", MFD_CLOEXEC));
    if (!caFile_.isValid() ||
        ::write(caFile_.get(), pem.data(), pem.size()) != static_cast<ssize_t>(pem.size())) {
        refusal_ = "cannot keep the certificate in memory";
        return false;
    }
    std::free(client_->serverHost);
    client_->serverHost = strdup(certificate.nameFor(options_.host).c_str());
    return true;
}

bool ControlClient::connect(const ConnectOptions &options) {
    closeConnection();
    options_ = options;
    where_ = options.host + ":" + std::to_string(options.port);
    if (attempt())
        return true;
    if (!unknownFingerprint_)
        return false;
    // Asked between connections: a person reading a fingerprint may take
    // longer than the server waits for a handshake.
    closeConnection();
    const std::string name = knownHostName(options_.host, options_.port);
    if (!options_.confirmNewHost || !options_.confirmNewHost(name, *unknownFingerprint_)) {
        error_ = "the certificate of " + name + " was not trusted; nothing was sent";
        return false;
    }
    confirmedFingerprint_ = std::move(unknownFingerprint_);
    unknownFingerprint_.reset();
    return attempt();
}

bool ControlClient::attempt() {
    rfbClientLog = quietLog;
    rfbClientErr = quietLog;
    error_.clear();
    refusal_.clear();
    client_ = rfbGetClient(8, 3, 4);
    if (!client_) {
        error_ = "out of memory";
        return false;
    }
    rfbClientSetClientData(client_, &kClientTag, this);
    client_->GetPassword = LibraryCallbacks::password;
    client_->GetCredential = LibraryCallbacks::credential;
    // The name the server's certificate must carry (libvncclient checks it).
    std::free(client_->serverHost);
    client_->serverHost = strdup(options_.host.c_str());
    lastLibraryMessage.clear();
    client_->readTimeout = static_cast<unsigned>(options_.timeoutSeconds);
    client_->connectTimeout = static_cast<unsigned>(options_.timeoutSeconds);
    if (!ConnectToRFBServer(client_, options_.host.c_str(), options_.port)) {
        error_ = "cannot connect to " + where_;
        return false;
    }
    if (!InitialiseRFBConnection(client_)) {
        error_ = !refusal_.empty()
                     ? refusal_
                     : "the RFB handshake with " + where_ + " failed: " +
                           (lastLibraryMessage.empty() ? "wrong password, or not a VNC server?"
                                                       : lastLibraryMessage);
        return false;
    }
    caFile_.reset();
    // Credentials were given, so the user expects to log in: a server that
    // let us in without any, unchecked, may be a man in the middle waiting
    // for what is sent next (text to type, an image).
    const bool credentials = !options_.password.empty() || !options_.user.empty();
    if (credentials && !verified() && !options_.allowUnverified) {
        error_ = where_ +
                 " asked for no password and its certificate was not checked: it "
                 "cannot be told from a man in the middle. Nothing was sent (--insecure goes "
                 "on all the same)";
        return false;
    }
    // SetEncodings: only the control pseudo-encoding. No update request
    // follows, so the server sends no picture.
    control::ByteWriter encodings;
    encodings.u8(rfbSetEncodings);
    encodings.u8(0);
    encodings.u16(1);
    encodings.u32(static_cast<uint32_t>(control::kPseudoEncoding));
    if (!WriteToRFBServer(client_, reinterpret_cast<const char *>(encodings.bytes().data()),
                          static_cast<unsigned>(encodings.bytes().size()))) {
        error_ = "connection to " + where_ + " lost";
        return false;
    }
    while (!haveHello_) {
        if (!readMessage()) {
            if (error_.empty())
                error_ = where_ + " does not speak the kvmvnc control protocol";
            return false;
        }
    }
    if (hello_.versionMajor != control::kVersionMajor) {
        error_ = "the server speaks control protocol version " +
                 std::to_string(hello_.versionMajor) + ", this kvmvncctl " +
                 std::to_string(control::kVersionMajor);
        return false;
    }
    return true;
}

bool ControlClient::readMessage() {
    uint8_t type = 0;
    if (!ReadFromRFBServer(client_, reinterpret_cast<char *>(&type), 1)) {
        error_ = "connection lost";
        return false;
    }
    if (type == rfbBell)
        return true;
    if (type == rfbServerCutText) {
        uint8_t header[7];
        if (!ReadFromRFBServer(client_, reinterpret_cast<char *>(header), sizeof(header))) {
            error_ = "connection lost";
            return false;
        }
        // A signed length: negative is the extended clipboard's format, whose
        // size is the magnitude.
        const uint32_t field = uint32_t{header[3]} << 24 | uint32_t{header[4]} << 16 |
                               uint32_t{header[5]} << 8 | header[6];
        const uint64_t length = (field & 0x80000000u) ? (uint64_t{1} << 32) - field : field;
        if (length > kMaxCutText) {
            error_ = "the server sent " + std::to_string(length) +
                     " bytes of clipboard, more than the 1 MiB kvmvncctl takes";
            return false;
        }
        // Nothing here wants the clipboard: it goes through a small buffer.
        char scrap[4096];
        for (uint64_t left = length; left > 0;) {
            const auto chunk = static_cast<unsigned>(std::min<uint64_t>(left, sizeof(scrap)));
            if (!ReadFromRFBServer(client_, scrap, chunk)) {
                error_ = "connection lost";
                return false;
            }
            left -= chunk;
        }
        return true;
    }
    if (type != control::kMessageType) {
        error_ = "unexpected RFB message " + std::to_string(type) + " from the server";
        return false;
    }
    uint8_t header[control::kServerHeaderSize - 1];
    if (!ReadFromRFBServer(client_, reinterpret_cast<char *>(header), sizeof(header))) {
        error_ = "connection lost";
        return false;
    }
    control::ByteReader reader(header, sizeof(header));
    uint8_t opcode = 0;
    uint16_t reserved = 0;
    uint32_t length = 0;
    reader.u8(opcode);
    reader.u16(reserved);
    reader.u32(length);
    if (length > 16 * 1024 * 1024) {
        error_ = "the server sent a message of " + std::to_string(length) + " bytes";
        return false;
    }
    std::vector<uint8_t> payload(length);
    if (length > 0 &&
        !ReadFromRFBServer(client_, reinterpret_cast<char *>(payload.data()), length)) {
        error_ = "connection lost";
        return false;
    }
    switch (static_cast<control::ServerMessage>(opcode)) {
    case control::ServerMessage::Hello:
        if (auto hello = control::decodeHello(payload)) {
            hello_ = *hello;
            haveHello_ = true;
        }
        break;
    case control::ServerMessage::Reply:
        if (auto reply = control::decodeReply(payload))
            replies_.push_back(std::move(*reply));
        break;
    case control::ServerMessage::AtxState:
        if (auto state = control::decodeAtxState(payload))
            atx_ = *state;
        break;
    case control::ServerMessage::DriveState:
        if (auto state = control::decodeDriveState(payload))
            drive_ = *state;
        break;
    case control::ServerMessage::UploadProgress:
        if (auto progress = control::decodeUploadProgress(payload); progress && progressListener_)
            progressListener_(*progress);
        break;
    case control::ServerMessage::InputState:
        if (auto state = control::decodeInputState(payload))
            input_ = *state;
        break;
    case control::ServerMessage::TypeProgress:
        if (auto progress = control::decodeTypeProgress(payload))
            typing_ = *progress;
        break;
    case control::ServerMessage::HealthState:
        if (auto state = control::decodeHealthState(payload))
            health_ = *state;
        break;
    }
    return true;  // unknown opcodes are skipped, as the protocol allows
}

uint32_t ControlClient::send(control::Request opcode, const std::vector<uint8_t> &payload) {
    const uint32_t id = nextRequestId_++;
    const std::vector<uint8_t> message = control::encodeRequest(opcode, id, payload);
    if (!WriteToRFBServer(client_, reinterpret_cast<const char *>(message.data()),
                          static_cast<unsigned>(message.size()))) {
        error_ = "connection lost";
        return 0;
    }
    return id;
}

std::optional<control::Reply> ControlClient::waitForReply(uint32_t requestId) {
    for (;;) {
        auto found = std::find_if(replies_.begin(), replies_.end(), [&](const control::Reply &r) {
            return r.requestId == requestId;
        });
        if (found != replies_.end()) {
            control::Reply reply = std::move(*found);
            replies_.erase(found);
            return reply;
        }
        if (!readMessage())
            return std::nullopt;
    }
}

bool ControlClient::readUntil(const std::function<bool()> &done) {
    while (!done())
        if (!readMessage())
            return false;
    return true;
}

std::optional<control::Reply> ControlClient::request(control::Request opcode,
                                                     const std::vector<uint8_t> &payload) {
    const uint32_t id = send(opcode, payload);
    if (id == 0)
        return std::nullopt;
    return waitForReply(id);
}

}  // namespace kvmvnc::ctl
