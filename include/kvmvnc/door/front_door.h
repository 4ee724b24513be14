// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "kvmvnc/base/unique_fd.h"
#include "kvmvnc/door/auth_throttle.h"
#include "kvmvnc/door/connection_slots.h"
#include "kvmvnc/door/credentials.h"
#include "kvmvnc/door/http.h"
#include "kvmvnc/door/rfb_security.h"
#include "kvmvnc/door/tls.h"
#include "kvmvnc/door/viewer_identity.h"

namespace kvmvnc::door {

// Who an admitted viewer is, for the RFB server.
using Viewer = ViewerIdentity;

// Takes an admitted viewer: `connection` is one end of a socketpair whose
// other end the front door relays to the client; the RFB handshake starts on
// it as with a freshly accepted socket. Returns false when the server
// refuses the viewer (too many); `connection` is closed either way.
using ViewerHandoff = std::function<bool(UniqueFd connection, const Viewer &viewer)>;

struct FrontDoorOptions {
    std::string listen = "0.0.0.0";  // IPv4 or IPv6 literal
    int port = 5900;                 // 0: any free port (tests)
    SecurityPolicy policy;
    std::shared_ptr<const Credentials> credentials;
    std::shared_ptr<const TlsServer> tls;  // null: no TLS, no VeNCrypt, no HTTPS
    std::string webRoot;                   // empty: no files served
    std::chrono::milliseconds handshakeTimeout{10000};
    // How long a new connection may stay silent before it is taken for an
    // RFB client (which waits for the server to speak first); browsers and
    // TLS clients speak at once.
    // 300 ms: once per connection for a VNC viewer, and a browser's
    // ClientHello can be that late on a busy machine; mistaking it for RFB
    // would send it "RFB 003.008" and break the page.
    std::chrono::milliseconds sniffTime{300};
    // A second port for RFB viewers only ([server] rfb_port), on the same
    // address: they are greeted at once, without sniffTime's wait, and
    // whatever they send first is taken as RFB. -1: none; 0: any free port
    // (tests).
    int rfbPort = -1;
    // Connections not yet authenticated, in all and from one address (an
    // IPv6 /64; a browser loading the panel opens six at once, each a
    // handshake until its first request); a newcomer beyond them pushes out
    // the oldest of the address holding the most (ConnectionSlots).
    int maxHandshakes = 32;
    int maxHandshakesPerPeer = 8;
    // HTTP connections serving static files, which then hold no handshake
    // place (a browser keeps up to six per server), limited the same way.
    // Each takes requests for `fileConnectionLifetime`; the answer to the
    // next one closes it.
    int maxFileConnections = 16;
    int maxFileConnectionsPerPeer = 8;
    std::chrono::milliseconds fileConnectionLifetime{30000};
    AuthThrottle::Policy throttle;
    // An admitted client that takes no byte for this long while bytes wait
    // for it is disconnected ([server] stall_timeout_ms).
    std::chrono::milliseconds stallTimeout{10000};
    ViewerHandoff handoff;
};

// The daemon's listening socket and everything before libvncserver.
//
// It accepts connections, tells apart what each client speaks (RFB clients
// wait for the server; a TLS ClientHello starts with 0x16; HTTP with a
// method), terminates TLS, answers HTTP with static files or upgrades it to
// WebSocket, runs the RFB security handshake (VeNCrypt, VNC authentication,
// None, as the policy and credentials allow), and hands each admitted viewer
// to the RFB server over a socketpair, relaying bytes between the client's
// transport and the socketpair until either side closes. What the client
// sends passes an rfb::ClientMessageFilter on the way (format changes
// between updates, view-only without effect, no unannounced extensions); a
// client that takes nothing for `stallTimeout` while bytes wait for it is
// disconnected, so a frozen viewer holds nothing of the server's for long.
//
// Threads: `kvm-door` accepts; each connection gets its own thread
// (`kvm-conn`), which runs its handshake under one deadline and then its
// relay, owning the client socket, its TLS session and its end of the
// socketpair. A stalled client stalls only its own thread; a newcomer beyond
// the limits pushes out a connection that has not logged in (ConnectionSlots
// says which), so whoever fills them cannot keep others out.
// setCredentials() and setPolicy() are thread-safe and apply to connections
// that start afterwards. The destructor closes every connection and joins
// every thread.
class FrontDoor {
public:
    // Starts listening; throws std::runtime_error when it cannot.
    explicit FrontDoor(FrontDoorOptions options);
    ~FrontDoor();
    FrontDoor(const FrontDoor &) = delete;
    FrontDoor &operator=(const FrontDoor &) = delete;

    int port() const { return port_; }
    // The RFB-only port; -1 when there is none.
    int rfbPort() const { return rfbPort_; }
    void setCredentials(std::shared_ptr<const Credentials> credentials);
    std::shared_ptr<const Credentials> credentials() const;
    void setPolicy(const SecurityPolicy &policy);
    // Connections between accept and authentication, now.
    int handshakesInProgress() const;

private:
    struct Connection {
        std::thread thread;
        std::atomic<bool> finished{false};
        std::atomic<bool> pushedOut{false};  // its place went to a newcomer
        std::string peer;
        std::mutex fdMutex;
        int clientFd = -1;  // shut down to wake the thread (stop, pushed out)
    };
    using Slots = ConnectionSlots<Connection *>;
    // A connection's place among those not yet admitted (front_door.cpp).
    class HandshakeSlot;
    // What one connection's handshake knows, from phase to phase.
    struct Handshake;

    void acceptLoop();
    // Accepts one connection from `listenFd` and starts its thread.
    void acceptFrom(int listenFd, bool rfbOnly);
    // A connection's thread: admit() then handOver(). `rfbOnly`: accepted
    // on the RFB-only port, so no sniffing.
    void serve(Connection &connection, HandshakeSlot slot, UniqueFd socket, std::string peer,
               bool rfbOnly);
    // The phases before the RFB server: what the client speaks (TLS around
    // it, HTTP until it upgrades to WebSocket), then the RFB security
    // handshake, which gives up `slot`. Nothing when the connection ended
    // without a word (gone, done with files, pushed out). Throws
    // HandshakeError when the client fails a phase.
    std::optional<Admission> admit(Handshake &handshake, HandshakeSlot &slot, UniqueFd socket);
    // TLS from the first byte (HTTPS, a TLS viewer); the session.
    TlsTransport &startTls(Handshake &handshake);
    // HTTP until the client asks for a WebSocket, which then carries RFB;
    // false when it ended with files only.
    bool upgradeToWebSocket(Handshake &handshake, HandshakeSlot &slot);
    // Answers HTTP requests with static files until the client asks for a
    // WebSocket (that request is returned) or the connection ends (nothing
    // is). Throws HandshakeError on bad requests.
    std::optional<HttpRequest> serveHttp(Handshake &handshake, HandshakeSlot &slot);
    // Hands the admitted client to the RFB server and relays (relay.h) until
    // either closes.
    void handOver(Handshake &handshake, const Admission &admission);
    void reapFinished();
    // Gives `connection` a place in `pool`, closing the connection it pushes out.
    void takeSlot(Connection &connection, const std::string &group, Slots::Pool pool);

    FrontDoorOptions options_;
    UniqueFd listenSocket_;
    UniqueFd rfbListenSocket_;  // invalid without an RFB-only port
    int rfbPort_ = -1;
    UniqueFd stopEvent_;
    int port_ = 0;

    mutable std::mutex stateMutex_;
    std::shared_ptr<const Credentials> credentials_;
    SecurityPolicy policy_;
    Slots slots_;
    Clock::time_point lastPushOutLog_{};
    int pushedOutSinceLog_ = 0;

    AuthThrottle throttle_;
    std::mutex connectionsMutex_;
    std::list<Connection> connections_;
    std::atomic<bool> stopping_{false};
    std::thread acceptor_;
};

}  // namespace kvmvnc::door
