// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kvmvnc/control/protocol.h"

struct _rfbClient;

namespace kvmvnc::ctl {

struct ConnectOptions {
    std::string host = "127.0.0.1";
    int port = 5900;
    std::string password;  // empty: the server must not ask for one
    // With a user name, VeNCrypt's Plain subtypes (X509Plain, TLSPlain)
    // send it with `password`; without, the VNC subtypes send `password`.
    std::string user;
    // The CA (or the server's self-signed certificate) that X509 subtypes
    // verify the server against; empty: X509 subtypes fail.
    std::string caFile;
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
    // Reads one server message; false when the connection broke or the
    // server sent something this client cannot follow.
    bool readMessage();

    _rfbClient *client_ = nullptr;
    std::string error_;
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
