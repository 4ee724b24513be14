// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kvmvnc/base/unique_fd.h"
#include "kvmvnc/control/protocol.h"

struct _rfbClient;  // NOLINT(bugprone-reserved-identifier): libvncclient's tag

namespace kvmvnc::ctl {

class ServerCertificate;

// What connect() does with a server whose certificate the known-hosts file
// does not hold yet.
enum class NewHostPolicy {
    Refuse,  // fail, showing the certificate's fingerprint
    Accept,  // trust it and add it to the file (ssh's accept-new)
    Ask,     // ask confirmNewHost, then as Accept or Refuse
};

struct ConnectOptions {
    std::string host = "127.0.0.1";
    int port = 5900;
    std::string password;  // empty: the server must not ask for one
    // With a user name, VeNCrypt's Plain subtypes (X509Plain, TLSPlain)
    // send it with `password`; without, the VNC subtypes send `password`.
    std::string user;
    // The CA (or the server's self-signed certificate) that X509 subtypes
    // verify the server against. Empty: the server's certificate is pinned
    // in knownHostsFile instead.
    std::string caFile;
    // Without caFile, the certificates trusted so far (KnownHosts): X509
    // subtypes go on only with the one recorded for this host and port.
    // Empty: X509 subtypes fail.
    std::string knownHostsFile;
    // A certificate trusted without a known-hosts entry: on the device
    // itself, the daemon's own (/var/lib/kvmvnc/tls/cert.pem). Another
    // server's is still checked against knownHostsFile.
    std::string localCertificateFile;
    NewHostPolicy newHosts = NewHostPolicy::Refuse;
    // For NewHostPolicy::Ask: whether to trust `fingerprint` for `host`
    // ("name:port"). Called between two connections, never inside a
    // handshake, since the server gives that a deadline.
    std::function<bool(const std::string &host, const std::string &fingerprint)> confirmNewHost;
    // Whether a password may go to a server that cannot be verified
    // (anonymous TLS, or none), and a login go on that was given credentials
    // and asked for none. Without it both are refused before anything is
    // sent.
    bool allowUnverified = false;
    // Told what the user should know: a certificate trusted on first use,
    // a password sent unverified.
    std::function<void(const std::string &)> notice;
    int timeoutSeconds = 30;
};

// A control-only RFB connection to kvmvncd (docs/protocol.md). libvncclient
// does the handshake and authentication; after that this class speaks only
// the control protocol and never asks for a picture, so the server sends
// none. Blocking and single-threaded; one request or a window of them in
// flight at a time.
class ControlClient {
public:
    ControlClient();
    ~ControlClient();
    ControlClient(const ControlClient &) = delete;
    ControlClient &operator=(const ControlClient &) = delete;

    // Connects, authenticates and announces the control pseudo-encoding;
    // waits for ServerHello. False with error() set on failure.
    bool connect(const ConnectOptions &options);
    const std::string &error() const { return error_; }
    const control::Hello &hello() const { return hello_; }

    // Latest pushed states (set once announced).
    const std::optional<control::AtxStateBody> &atxState() const { return atx_; }
    const std::optional<control::DriveStateBody> &driveState() const { return drive_; }
    const std::optional<control::InputStateBody> &inputState() const { return input_; }
    const std::optional<control::HealthStateBody> &healthState() const { return health_; }
    // The latest TypeProgress pushed to this connection.
    const std::optional<control::TypeProgressBody> &typeProgress() const { return typing_; }
    // Reads server messages until `done()` holds (true) or the connection
    // fails (false, error() set).
    bool readUntil(const std::function<bool()> &done);
    // Called for every UploadProgress push.
    void setProgressListener(std::function<void(const control::UploadProgressBody &)> listener) {
        progressListener_ = std::move(listener);
    }

    // Sends a request; returns its request id, or 0 when the connection failed.
    uint32_t send(control::Request opcode, const std::vector<uint8_t> &payload = {});
    // Reads server messages until the Reply to `requestId` arrives.
    std::optional<control::Reply> waitForReply(uint32_t requestId);
    // send() then waitForReply().
    std::optional<control::Reply> request(control::Request opcode,
                                          const std::vector<uint8_t> &payload = {});

private:
    friend struct LibraryCallbacks;

    // One connection up to ServerHello.
    bool attempt();
    void closeConnection();
    // Whether the server was checked: an X509 subtype, which gets through
    // only with caFile or the pinned certificate.
    bool verified() const;
    // libvncclient wants a password (or user and password) for the subtype
    // it chose: true when it may have it.
    bool passwordMayGo();
    // An X509 subtype without caFile: the certificate the server shows,
    // against the known-hosts file. True with caFile_ holding it for
    // libvncclient to trust, so that the handshake checks exactly it.
    bool pinCertificate();
    // Has libvncclient trust exactly `certificate` (from memory).
    bool keepInMemory(const ServerCertificate &certificate);
    // Reads one server message; false when the connection broke or the
    // server sent something this client cannot follow.
    bool readMessage();

    _rfbClient *client_ = nullptr;
    ConnectOptions options_;
    std::string where_;  // host:port, for messages
    std::string error_;
    // Why this client stopped the handshake itself; it outranks whatever
    // libvncclient logged after.
    std::string refusal_;
    // NewHostPolicy::Ask: the certificate the attempt stopped to ask about,
    // then the one the user confirmed.
    std::optional<std::string> unknownFingerprint_;
    std::optional<std::string> confirmedFingerprint_;
    UniqueFd caFile_;  // the pinned certificate, PEM, in memory
    bool warnedUnverified_ = false;
    control::Hello hello_;
    bool haveHello_ = false;
    std::optional<control::AtxStateBody> atx_;
    std::optional<control::DriveStateBody> drive_;
    std::optional<control::InputStateBody> input_;
    std::optional<control::HealthStateBody> health_;
    std::optional<control::TypeProgressBody> typing_;
    std::function<void(const control::UploadProgressBody &)> progressListener_;
    std::vector<control::Reply> replies_;  // arrived, not yet claimed
    uint32_t nextRequestId_ = 1;
};

}  // namespace kvmvnc::ctl
