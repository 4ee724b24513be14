// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/ctl/control_client.h"

#include <rfb/rfbclient.h>

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace kvmvnc::ctl {

namespace {

// libvncclient's log lines would clutter a command-line tool's output; the
// last one is kept, since on a refusal it holds the server's reason.
thread_local std::string lastLibraryMessage;

void quietLog(const char *format, ...) {
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

char kOptionsTag;  // its address tags our data in libvncclient's client

const ConnectOptions *optionsOf(rfbClient *client) {
    return static_cast<const ConnectOptions *>(rfbClientGetClientData(client, &kOptionsTag));
}

// With a CA file the user expects the server checked: a password goes out
// only inside a VeNCrypt X509 subtype, never to a server (or a man in the
// middle) that offers plain VNC authentication or anonymous TLS instead.
bool passwordMayGo(rfbClient *client, const ConnectOptions &options) {
    if (options.caFile.empty())
        return true;
    const bool x509 =
        client->authScheme == rfbVeNCrypt && (client->subAuthScheme == rfbVeNCryptX509VNC ||
                                              client->subAuthScheme == rfbVeNCryptX509Plain);
    if (!x509)
        lastLibraryMessage =
            "the server offered no certificate-checked login (X509Vnc or "
            "X509Plain); the password was not sent";
    return x509;
}

char *passwordFor(rfbClient *client) {
    const ConnectOptions *options = optionsOf(client);
    if (!options || !passwordMayGo(client, *options))
        return nullptr;
    return strdup(options->password.c_str());
}

// VeNCrypt asks for the CA to check the server against (X509 subtypes) and
// for a user name and password (Plain subtypes). libvncclient frees what this
// returns with free().
rfbCredential *credentialFor(rfbClient *client, int type) {
    const ConnectOptions *options = optionsOf(client);
    if (!options)
        return nullptr;
    auto *credential = static_cast<rfbCredential *>(std::calloc(1, sizeof(rfbCredential)));
    if (!credential)
        return nullptr;
    if (type == rfbCredentialTypeX509) {
        if (options->caFile.empty()) {
            std::free(credential);
            lastLibraryMessage = "the server wants its certificate checked: give --ca-file";
            return nullptr;
        }
        credential->x509Credential.x509CACertFile = strdup(options->caFile.c_str());
        credential->x509Credential.x509CrlVerifyMode = rfbX509CrlVerifyNone;
        return credential;
    }
    if (type == rfbCredentialTypeUser) {
        if (!passwordMayGo(client, *options)) {
            std::free(credential);
            return nullptr;
        }
        if (options->user.empty()) {
            std::free(credential);
            lastLibraryMessage = "the server asks for a user name: give --user";
            return nullptr;
        }
        credential->userCredential.username = strdup(options->user.c_str());
        credential->userCredential.password = strdup(options->password.c_str());
        return credential;
    }
    std::free(credential);
    return nullptr;
}

}  // namespace

ControlClient::ControlClient() = default;

ControlClient::~ControlClient() {
    if (client_) {
        auto *options =
            static_cast<ConnectOptions *>(rfbClientGetClientData(client_, &kOptionsTag));
        rfbClientCleanup(client_);
        delete options;
    }
}

bool ControlClient::connect(const ConnectOptions &options) {
    rfbClientLog = quietLog;
    rfbClientErr = quietLog;
    client_ = rfbGetClient(8, 3, 4);
    if (!client_) {
        error_ = "out of memory";
        return false;
    }
    rfbClientSetClientData(client_, &kOptionsTag, new ConnectOptions(options));
    client_->GetPassword = passwordFor;
    client_->GetCredential = credentialFor;
    // The name the server's certificate must carry (libvncclient checks it).
    std::free(client_->serverHost);
    client_->serverHost = strdup(options.host.c_str());
    lastLibraryMessage.clear();
    client_->readTimeout = static_cast<unsigned>(options.timeoutSeconds);
    client_->connectTimeout = static_cast<unsigned>(options.timeoutSeconds);
    const std::string where = options.host + ":" + std::to_string(options.port);
    if (!ConnectToRFBServer(client_, options.host.c_str(), options.port)) {
        error_ = "cannot connect to " + where;
        return false;
    }
    if (!InitialiseRFBConnection(client_)) {
        error_ = "the RFB handshake with " + where + " failed: " +
                 (lastLibraryMessage.empty() ? "wrong password, or not a VNC server?"
                                             : lastLibraryMessage);
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
        error_ = "connection to " + where + " lost";
        return false;
    }
    while (!haveHello_) {
        if (!readMessage()) {
            if (error_.empty())
                error_ = where + " does not speak the kvmvnc control protocol";
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
