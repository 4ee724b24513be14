// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/door/front_door.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>
#include <utility>
#include <vector>

#include "kvmvnc/base/error_text.h"
#include "kvmvnc/base/log.h"
#include "kvmvnc/door/http.h"
#include "kvmvnc/door/websocket.h"
#include "relay.h"

namespace kvmvnc::door {

namespace {

constexpr const char *kLog = "door";
constexpr int kSocketpairBuffer = 1024 * 1024;
// HTTP keep-alive: how long an idle connection waits for its next request,
// and how many requests one connection may make.
constexpr auto kKeepAliveIdle = std::chrono::seconds{5};
constexpr int kMaxRequestsPerConnection = 1000;

std::string peerName(const sockaddr_storage &address, socklen_t length) {
    char host[NI_MAXHOST] = {};
    if (getnameinfo(reinterpret_cast<const sockaddr *>(&address), length, host, sizeof(host),
                    nullptr, 0, NI_NUMERICHOST) != 0)
        return "unknown";
    std::string name = host;
    if (name.rfind("::ffff:", 0) == 0 && name.find('.') != std::string::npos)
        name = name.substr(7);  // an IPv4 client on a dual-stack socket
    return name;
}

UniqueFd listenOn(const std::string &address, int port, int &boundPort) {
    sockaddr_storage storage{};
    socklen_t length = 0;
    int family = AF_INET;
    auto *v4 = reinterpret_cast<sockaddr_in *>(&storage);
    auto *v6 = reinterpret_cast<sockaddr_in6 *>(&storage);
    if (inet_pton(AF_INET, address.c_str(), &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(static_cast<uint16_t>(port));
        length = sizeof(sockaddr_in);
    } else if (inet_pton(AF_INET6, address.c_str(), &v6->sin6_addr) == 1) {
        family = AF_INET6;
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(static_cast<uint16_t>(port));
        length = sizeof(sockaddr_in6);
    } else {
        throw std::runtime_error("listen: '" + address + "' is not an IP address");
    }
    UniqueFd fd(::socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!fd.isValid())
        throw std::runtime_error(std::string("socket: ") + errorText(errno));
    const int one = 1;
    setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (family == AF_INET6) {
        const int zero = 0;  // "::" takes IPv4 clients too
        setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
    }
    if (::bind(fd.get(), reinterpret_cast<sockaddr *>(&storage), length) != 0 ||
        ::listen(fd.get(), 64) != 0)
        throw std::runtime_error("cannot listen on " + address + " port " + std::to_string(port) +
                                 ": " + errorText(errno));
    sockaddr_storage bound{};
    socklen_t boundLength = sizeof(bound);
    getsockname(fd.get(), reinterpret_cast<sockaddr *>(&bound), &boundLength);
    boundPort = ntohs(family == AF_INET ? reinterpret_cast<sockaddr_in *>(&bound)->sin_port
                                        : reinterpret_cast<sockaddr_in6 *>(&bound)->sin6_port);
    return fd;
}

// What the per-address handshake limits count by: an IPv4 address, or an
// IPv6 /64 (one host can use a whole /64). The login throttle is given the
// address itself and groups it on its own (/64, /56, /48).
std::string addressGroup(const std::string &peer) {
    in6_addr v6{};
    if (inet_pton(AF_INET6, peer.c_str(), &v6) != 1)
        return peer;
    std::memset(v6.s6_addr + 8, 0, 8);
    char text[INET6_ADDRSTRLEN] = {};
    inet_ntop(AF_INET6, &v6, text, sizeof(text));
    return std::string(text) + "/64";
}

enum class Speaks { Rfb, Tls, Http, Garbage, Gone };

bool looksLikeHttp(uint8_t first) { return first >= 'A' && first <= 'Z'; }

// RFB clients wait for the server's version; everything else speaks first.
Speaks sniff(int fd, std::chrono::milliseconds wait) {
    pollfd pfd{fd, POLLIN, 0};
    int ready;
    do
        ready = ::poll(&pfd, 1, static_cast<int>(wait.count()));
    while (ready < 0 && errno == EINTR);
    if (ready == 0)
        return Speaks::Rfb;
    uint8_t first = 0;
    const ssize_t n = ::recv(fd, &first, 1, MSG_PEEK);
    if (n <= 0)
        return Speaks::Gone;
    if (first == 0x16)
        return Speaks::Tls;
    return looksLikeHttp(first) ? Speaks::Http : Speaks::Garbage;
}

// Inside TLS the same question again: HTTP speaks, RFB waits until `until`.
Speaks sniff(TlsTransport &session, Clock::time_point until) {
    if (!session.waitForData(until))
        return Speaks::Rfb;
    const std::vector<uint8_t> first = session.peek(1);
    // Gone after the handshake: a client that wanted only the certificate
    // (kvmvncctl pinning it), no failure to log.
    if (first.empty())
        return Speaks::Gone;
    return looksLikeHttp(first[0]) ? Speaks::Http : Speaks::Garbage;
}

constexpr char kRfbVersion[] = "RFB 003.008\n";

// libvncserver's side of the handshake on the socketpair: it offers None
// (the door already authenticated) and answers with an OK SecurityResult.
void handshakeWithLibrary(Transport &library, Clock::time_point deadline) {
    // Our version went first (see serve()); the server's comes back.
    uint8_t version[12];
    readExact(library, version, deadline);
    if (std::memcmp(version, kRfbVersion, 12) != 0)
        throw HandshakeError("the RFB server speaks another protocol version");
    uint8_t count = 0;
    readExact(library, {&count, 1}, deadline);
    if (count == 0)
        throw HandshakeError("the RFB server refused the viewer");
    std::vector<uint8_t> types(count);
    readExact(library, types, deadline);
    bool none = false;
    for (uint8_t type : types)
        none = none || type == sectype::kNone;
    if (!none)
        throw HandshakeError("the RFB server asks for authentication of its own");
    const uint8_t choice = sectype::kNone;
    writeAll(library, {&choice, 1}, deadline);
    uint8_t result[4];
    readExact(library, result, deadline);
    if (getU32(result) != 0)
        throw HandshakeError("the RFB server refused the viewer");
}

// Whether a WebSocket request may go on: from no browser (no Origin), from
// the page kvmvncd served itself (the origin names the host the request went
// to), or from an origin the policy lists.
bool originAllowed(const HttpRequest &request, const SecurityPolicy &policy) {
    const std::optional<std::string> origin = request.header("Origin");
    if (!origin)
        return true;
    const size_t scheme = origin->find("://");
    const std::optional<std::string> host = request.header("Host");
    if (scheme != std::string::npos && host && !host->empty()) {
        std::string authority = origin->substr(scheme + 3);
        if (!authority.empty() && authority.back() == '/')
            authority.pop_back();
        if (authority.size() == host->size() &&
            std::equal(authority.begin(), authority.end(), host->begin(), [](char a, char b) {
                return std::tolower(static_cast<unsigned char>(a)) ==
                       std::tolower(static_cast<unsigned char>(b));
            }))
            return true;
    }
    for (const std::string &allowed : policy.webOrigins)
        if (allowed == "*" || allowed == *origin)
            return true;
    return false;
}

// 301 to the same host, port and path over https.
void redirectToHttps(Transport &transport, const HttpRequest &request, Clock::time_point deadline) {
    const std::optional<std::string> host = request.header("Host");
    const bool safe = host && !host->empty() &&
                      host->find_first_of("/\\ \r\n") == std::string::npos &&
                      !request.target.empty() && request.target[0] == '/';
    if (!safe) {
        sendHttpError(transport, 400, "use https", deadline);
        return;
    }
    sendHttpRedirect(transport, "https://" + *host + request.target, deadline);
}

// This machine's host name, which browsers on its network may use for it.
std::string machineName() {
    char name[256] = {};
    if (gethostname(name, sizeof(name) - 1) != 0)
        return {};
    return name;
}

// Answers a request whose Host is not a name of this server (hostAllowed())
// with 421 and throws: DNS rebinding. A request without Host is no browser's.
void refuseForeignHost(Transport &transport, const HttpRequest &request,
                       const SecurityPolicy &policy, Clock::time_point deadline) {
    const std::optional<std::string> host = request.header("Host");
    if (!host || hostAllowed(*host, policy.webOrigins, machineName()))
        return;
    sendHttpError(transport, 421,
                  "this server does not answer to that name; list it in [security] web_origins",
                  deadline);
    throw HandshakeError("HTTP request for the host name '" + host->substr(0, 100) +
                         "' refused: not an address, localhost, this machine's name or a name "
                         "in [security] web_origins (a DNS rebinding page?)");
}

}  // namespace

FrontDoor::FrontDoor(FrontDoorOptions options)
    : options_(std::move(options)),
      credentials_(options_.credentials ? options_.credentials
                                        : std::make_shared<const Credentials>()),
      policy_(options_.policy),
      slots_({options_.maxHandshakes, options_.maxHandshakesPerPeer},
             {options_.maxFileConnections, options_.maxFileConnectionsPerPeer}),
      throttle_(options_.throttle) {
    if (!options_.handoff)
        throw std::invalid_argument("FrontDoor needs a handoff");
    listenSocket_ = listenOn(options_.listen, options_.port, port_);
    if (options_.rfbPort >= 0)
        rfbListenSocket_ = listenOn(options_.listen, options_.rfbPort, rfbPort_);
    stopEvent_ = UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!stopEvent_.isValid())
        throw std::runtime_error(std::string("eventfd: ") + errorText(errno));
    acceptor_ = std::thread([this] {
        pthread_setname_np(pthread_self(), "kvm-door");
        acceptLoop();
    });
}

FrontDoor::~FrontDoor() {
    stopping_ = true;
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(stopEvent_.get(), &one, sizeof(one));
    if (acceptor_.joinable())
        acceptor_.join();
    std::lock_guard lock(connectionsMutex_);
    for (Connection &connection : connections_) {
        // Wakes a thread waiting in a handshake; a relay sees the stop event.
        std::lock_guard fdLock(connection.fdMutex);
        if (connection.clientFd >= 0)
            ::shutdown(connection.clientFd, SHUT_RDWR);
    }
    for (Connection &connection : connections_)
        if (connection.thread.joinable())
            connection.thread.join();
}

void FrontDoor::setCredentials(std::shared_ptr<const Credentials> credentials) {
    std::lock_guard lock(stateMutex_);
    credentials_ = std::move(credentials);
}

std::shared_ptr<const Credentials> FrontDoor::credentials() const {
    std::lock_guard lock(stateMutex_);
    return credentials_;
}

void FrontDoor::setPolicy(const SecurityPolicy &policy) {
    std::lock_guard lock(stateMutex_);
    policy_ = policy;
}

int FrontDoor::handshakesInProgress() const {
    std::lock_guard lock(stateMutex_);
    return slots_.count(Slots::Pool::Handshake);
}

void FrontDoor::takeSlot(Connection &connection, const std::string &group, Slots::Pool pool) {
    std::lock_guard lock(stateMutex_);
    // Its socket is shut down: it would only hold a place it cannot use.
    if (connection.pushedOut.load())
        return;
    const std::optional<Connection *> pushed = slots_.take(&connection, group, pool);
    if (!pushed)
        return;
    // Under the state lock: the connection cannot authenticate (and leave
    // the table) between losing its place and losing its socket.
    Connection &victim = **pushed;
    victim.pushedOut = true;
    {
        std::lock_guard fdLock(victim.fdMutex);
        if (victim.clientFd >= 0)
            ::shutdown(victim.clientFd, SHUT_RDWR);
    }
    // Logged at most every ten seconds: a flood must not flood the journal.
    ++pushedOutSinceLog_;
    if (Clock::now() - lastPushOutLog_ > std::chrono::seconds{10}) {
        LOG_WARN(kLog,
                 "closing connection from %s to make room: too many %s at once (%d connections "
                 "closed like this since the last message)",
                 victim.peer.c_str(),
                 pool == Slots::Pool::Handshake ? "handshakes" : "static file connections",
                 pushedOutSinceLog_);
        lastPushOutLog_ = Clock::now();
        pushedOutSinceLog_ = 0;
    }
}

void FrontDoor::reapFinished() {
    std::lock_guard lock(connectionsMutex_);
    for (auto it = connections_.begin(); it != connections_.end();) {
        if (it->finished.load()) {
            it->thread.join();
            it = connections_.erase(it);
        } else {
            ++it;
        }
    }
}

// Its place among the connections not yet admitted (ConnectionSlots): a
// handshake's from accept, a static file connection's while serveHttp() says
// so, none once release() says it logged in. The destructor gives up
// whatever it still holds, however the connection ends.
class FrontDoor::HandshakeSlot {
public:
    // Takes a handshake place, pushing out another connection if need be.
    HandshakeSlot(FrontDoor &door, Connection &connection, std::string group);
    HandshakeSlot(HandshakeSlot &&other) noexcept;
    HandshakeSlot &operator=(HandshakeSlot &&) = delete;
    ~HandshakeSlot();

    void moveTo(Slots::Pool pool);
    // False when it held no place (a newcomer took it, or given up before).
    bool release();

private:
    FrontDoor *door_;  // null once moved from
    Connection *connection_;
    std::string group_;
};

FrontDoor::HandshakeSlot::HandshakeSlot(FrontDoor &door, Connection &connection, std::string group)
    : door_(&door), connection_(&connection), group_(std::move(group)) {
    door_->takeSlot(*connection_, group_, Slots::Pool::Handshake);
}

FrontDoor::HandshakeSlot::HandshakeSlot(HandshakeSlot &&other) noexcept
    : door_(std::exchange(other.door_, nullptr)),
      connection_(other.connection_),
      group_(std::move(other.group_)) {}

FrontDoor::HandshakeSlot::~HandshakeSlot() { release(); }

void FrontDoor::HandshakeSlot::moveTo(Slots::Pool pool) {
    door_->takeSlot(*connection_, group_, pool);
}

bool FrontDoor::HandshakeSlot::release() {
    if (!door_)
        return false;
    std::lock_guard lock(door_->stateMutex_);
    return door_->slots_.release(connection_);
}

// What one connection's handshake knows, handed from phase to phase.
struct FrontDoor::Handshake {
    Connection &connection;
    std::string peer;
    Clock::time_point deadline;
    // As they were when the connection started (setCredentials(), setPolicy()).
    std::shared_ptr<const Credentials> credentials{};
    SecurityPolicy policy{};
    // The client's, wrapped in TLS and WebSocket as the phases find them.
    std::unique_ptr<Transport> transport{};
    std::string layers{};  // " over TLS", " over wss"...: for the log and the RFB server
    bool rfbOnly = false;  // accepted on the RFB-only port
};

void FrontDoor::acceptLoop() {
    while (!stopping_.load()) {
        // poll() skips the RFB-only entry when its descriptor is -1.
        pollfd fds[3] = {{listenSocket_.get(), POLLIN, 0},
                         {rfbListenSocket_.get(), POLLIN, 0},
                         {stopEvent_.get(), POLLIN, 0}};
        if (::poll(fds, 3, 1000) < 0 && errno != EINTR) {
            LOG_ERROR(kLog, "poll: %s", errorText(errno).c_str());
            return;
        }
        reapFinished();
        throttle_.update(Clock::now());
        if (fds[2].revents)
            return;
        if (fds[0].revents & POLLIN)
            acceptFrom(listenSocket_.get(), false);
        if (fds[1].revents & POLLIN)
            acceptFrom(rfbListenSocket_.get(), true);
    }
}

void FrontDoor::acceptFrom(int listenFd, bool rfbOnly) {
    sockaddr_storage address{};
    socklen_t length = sizeof(address);
    UniqueFd socket(
        ::accept4(listenFd, reinterpret_cast<sockaddr *>(&address), &length, SOCK_CLOEXEC));
    if (!socket.isValid()) {
        if (errno == EMFILE || errno == ENFILE) {
            LOG_ERROR(kLog, "accept: %s", errorText(errno).c_str());
            std::this_thread::sleep_for(std::chrono::milliseconds{100});
        }
        return;
    }
    std::string peer = peerName(address, length);
    // A viewer whose machine vanished (no FIN) is noticed within minutes.
    const int on = 1;
    setsockopt(socket.get(), SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
    std::lock_guard lock(connectionsMutex_);
    Connection &connection = connections_.emplace_back();
    connection.clientFd = socket.get();
    connection.peer = peer;
    // Counted as a handshake from now until authenticated or gone (serve()).
    HandshakeSlot slot(*this, connection, addressGroup(peer));
    try {
        connection.thread = std::thread([this, &connection, slot = std::move(slot),
                                         fd = socket.get(), peer, rfbOnly]() mutable {
            pthread_setname_np(pthread_self(), "kvm-conn");
            serve(connection, std::move(slot), UniqueFd(fd), std::move(peer), rfbOnly);
            connection.finished = true;
        });
        socket.release();  // the thread's now
    } catch (const std::system_error &e) {
        // Out of threads: this client goes, the daemon stays. Its slot
        // went with the function the thread did not start.
        LOG_ERROR(kLog, "closing connection from %s: cannot start a thread: %s", peer.c_str(),
                  e.what());
        connections_.pop_back();
    }
}

void FrontDoor::serve(Connection &connection, HandshakeSlot slot, UniqueFd socket, std::string peer,
                      bool rfbOnly) {
    Handshake handshake{connection, std::move(peer), Clock::now() + options_.handshakeTimeout};
    handshake.rfbOnly = rfbOnly;
    const int one = 1;
    setsockopt(socket.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    {
        std::lock_guard lock(stateMutex_);
        handshake.credentials = credentials_;
        handshake.policy = policy_;
    }
    // Declared after the handshake, which owns the transport, so destroyed
    // before it: stop() never shuts down a descriptor number that was closed
    // and reused.
    struct ForgetFd {
        Connection &connection;
        ~ForgetFd() {
            std::lock_guard lock(connection.fdMutex);
            connection.clientFd = -1;
        }
    } forgetFd{connection};
    // Also destroyed before the transport: a client that sees its connection
    // closed finds its place free already.
    HandshakeSlot place = std::move(slot);

    try {
        const std::optional<Admission> admission = admit(handshake, place, std::move(socket));
        if (admission)
            handOver(handshake, *admission);
    } catch (const HandshakeError &e) {
        if (!stopping_.load())
            LOG_WARN(kLog, "connection from %s dropped: %s", handshake.peer.c_str(), e.what());
    } catch (const std::exception &e) {
        LOG_ERROR(kLog, "connection from %s failed: %s", handshake.peer.c_str(), e.what());
    }
}

std::optional<Admission> FrontDoor::admit(Handshake &handshake, HandshakeSlot &place,
                                          UniqueFd socket) {
    // Until it has logged in, a newcomer may push the connection out
    // (takeSlot() shuts its socket down); it then ends here without a
    // word, takeSlot() having said so once for many.
    try {
        // On the RFB-only port the server speaks first, at once.
        Speaks speaks = handshake.rfbOnly ? Speaks::Rfb : sniff(socket.get(), options_.sniffTime);
        handshake.transport = std::make_unique<SocketTransport>(std::move(socket));
        if (speaks == Speaks::Tls) {
            TlsTransport &session = startTls(handshake);
            speaks =
                sniff(session, std::min(handshake.deadline, Clock::now() + options_.sniffTime));
        }
        if (speaks == Speaks::Gone)
            return std::nullopt;
        if (speaks == Speaks::Garbage)
            throw HandshakeError("it speaks neither RFB, TLS nor HTTP");
        if (speaks == Speaks::Http && !upgradeToWebSocket(handshake, place))
            return std::nullopt;

        SecurityContext context{handshake.policy, *handshake.credentials, options_.tls.get(),
                                throttle_,        handshake.peer,         handshake.deadline};
        Admission admission = negotiateSecurity(handshake.transport, context);
        // Logged in: no newcomer may push it out any more.
        if (!place.release())
            return std::nullopt;  // one did, just before
        return admission;
    } catch (const std::exception &) {
        if (!handshake.connection.pushedOut.load())
            throw;
        return std::nullopt;
    }
}

TlsTransport &FrontDoor::startTls(Handshake &handshake) {
    if (!options_.tls)
        throw HandshakeError("a TLS client, and this server has no TLS");
    auto tls = std::make_unique<TlsTransport>(options_.tls->certificateContext(),
                                              std::move(handshake.transport));
    TlsTransport &session = *tls;
    handshake.transport = std::move(tls);
    session.handshake(handshake.deadline);
    handshake.layers = " over TLS";
    return session;
}

bool FrontDoor::upgradeToWebSocket(Handshake &handshake, HandshakeSlot &place) {
    const std::optional<HttpRequest> upgrade = serveHttp(handshake, place);
    if (!upgrade)
        return false;
    const HttpRequest &request = *upgrade;
    if (!originAllowed(request, handshake.policy)) {
        sendHttpError(*handshake.transport, 403, "this origin may not connect (web_origins)",
                      handshake.deadline);
        throw HandshakeError("WebSocket from a foreign web page refused: Origin " +
                             request.header("Origin").value_or("") + " ([security] web_origins)");
    }
    acceptWebSocket(*handshake.transport, request, handshake.deadline);
    handshake.transport = std::make_unique<WebSocketTransport>(std::move(handshake.transport));
    handshake.layers = handshake.transport->encrypted() ? " over wss" : " over ws";
    return true;
}

std::optional<HttpRequest> FrontDoor::serveHttp(Handshake &handshake, HandshakeSlot &place) {
    Transport &transport = *handshake.transport;
    const std::string &peer = handshake.peer;
    const SecurityPolicy &policy = handshake.policy;
    Clock::time_point &deadline = handshake.deadline;
    HttpRequest request = readHttpRequest(transport, deadline);
    refuseForeignHost(transport, request, policy, deadline);
    // Static files, one request after another while the browser keeps the
    // connection (it loads the panel's few dozen modules over about six), in
    // a place for static files, not a handshake's. Each request once gave the
    // connection a new deadline: now the first answer after its lifetime says
    // Connection: close (closing it idle could fail a request on its way).
    std::optional<Clock::time_point> filesUntil;
    for (int served = 1; !isWebSocketUpgrade(request); ++served) {
        if (request.header("Upgrade")) {
            const std::string why = whyNotWebSocket(request);
            sendHttpError(transport, 400, why, deadline);
            throw HandshakeError("bad WebSocket request: " + why);
        }
        if (!filesUntil) {
            place.moveTo(Slots::Pool::Files);
            filesUntil = Clock::now() + options_.fileConnectionLifetime;
        }
        LOG_DEBUG(kLog, "%s: %s %s", peer.c_str(), request.method.c_str(), request.target.c_str());
        // A login page must not travel in the clear when logins may not:
        // plain HTTP is sent to HTTPS on the same port.
        const bool toHttps = !transport.encrypted() && options_.tls && !policy.allowUnencrypted &&
                             !handshake.credentials->none();
        const bool keepAlive = !toHttps && served < kMaxRequestsPerConnection &&
                               Clock::now() < *filesUntil && wantsKeepAlive(request);
        if (toHttps)
            redirectToHttps(transport, request, deadline);
        else
            serveStaticFile(transport, request, options_.webRoot, deadline, keepAlive);
        // An idle or closed keep-alive connection ends quietly.
        if (!keepAlive ||
            !(transport.hasBufferedInput() ||
              waitFor(transport, Transport::Status::WantRead, Clock::now() + kKeepAliveIdle)))
            return std::nullopt;
        deadline = Clock::now() + options_.handshakeTimeout;
        try {
            request = readHttpRequest(transport, deadline);
        } catch (const HandshakeError &e) {
            LOG_DEBUG(kLog, "%s: keep-alive connection ended: %s", peer.c_str(), e.what());
            return std::nullopt;
        }
        refuseForeignHost(transport, request, policy, deadline);
    }
    // A kept connection that fetched files and now upgrades is a handshake again.
    if (filesUntil)
        place.moveTo(Slots::Pool::Handshake);
    return request;
}

void FrontDoor::handOver(Handshake &handshake, const Admission &admission) {
    const Clock::time_point deadline = handshake.deadline;
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0)
        throw HandshakeError(std::string("socketpair: ") + errorText(errno));
    UniqueFd ours(pair[0]);
    UniqueFd theirs(pair[1]);
    for (int fd : pair) {
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &kSocketpairBuffer, sizeof(kSocketpairBuffer));
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &kSocketpairBuffer, sizeof(kSocketpairBuffer));
    }
    // The client's version goes in before libvncserver looks: it peeks for
    // a WebSocket request first and, finding "RFB", skips the 100 ms it
    // would otherwise wait for one.
    if (::send(ours.get(), kRfbVersion, 12, MSG_NOSIGNAL) != 12)
        throw HandshakeError(std::string("socketpair: ") + errorText(errno));
    Viewer viewer{handshake.peer, admission.user, admission.access == Access::ViewOnly,
                  admission.method + handshake.layers};
    Transport &client = *handshake.transport;
    if (!options_.handoff(std::move(theirs), viewer)) {
        sendSecurityResult(client, admission, false, "the server has too many viewers", deadline);
        throw HandshakeError("refused by the RFB server (too many viewers)");
    }
    SocketTransport library(std::move(ours));
    handshakeWithLibrary(library, deadline);
    sendSecurityResult(client, admission, true, {}, deadline);
    LOG_INFO(kLog, "%s admitted%s%s (%s%s)", viewer.peer.c_str(),
             admission.user.empty() ? "" : " as ", admission.user.c_str(), viewer.security.c_str(),
             viewer.viewOnly ? ", view-only" : "");
    relay(client, library, viewer, options_.stallTimeout, stopEvent_.get());
}

}  // namespace kvmvnc::door
