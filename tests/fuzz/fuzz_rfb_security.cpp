// SPDX-License-Identifier: GPL-2.0-or-later
// libFuzzer target: the server side of the RFB security handshake (version,
// security types, VeNCrypt, VNC authentication, the TLS ClientHello), with
// the input as everything the client sends. Credentials of both kinds and
// every security type on, so every path is open to the input.
#include <sys/socket.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>

#include "kvmvnc/door/rfb_security.h"
#include "kvmvnc/door/tls.h"

namespace {

using namespace kvmvnc::door;

struct Fixture {
    Fixture() {
        const std::string dir =
            (std::filesystem::temp_directory_path() / "kvmvnc-fuzz-tls").string();
        tls = std::make_unique<TlsServer>(ensureSelfSignedCertificate(dir));
        credentials.vnc = kvmvnc::door::VncPasswords{"fullpass", "viewpass"};
        credentials.users.set("alice", "wonderland", Access::Full);
        policy.allowUnencrypted = true;
        policy.allowTlsNone = true;
    }
    std::unique_ptr<TlsServer> tls;
    Credentials credentials;
    SecurityPolicy policy;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static Fixture fixture;
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0)
        return 0;
    int buffer = 1 << 20;
    setsockopt(pair[1], SOL_SOCKET, SO_SNDBUF, &buffer, sizeof(buffer));
    setsockopt(pair[0], SOL_SOCKET, SO_RCVBUF, &buffer, sizeof(buffer));
    setsockopt(pair[0], SOL_SOCKET, SO_SNDBUF, &buffer, sizeof(buffer));
    // The client says everything at once and then closes its side.
    size_t written = 0;
    while (written < size) {
        const ssize_t n = ::send(pair[1], data + written, size - written, MSG_NOSIGNAL);
        if (n <= 0)
            break;
        written += static_cast<size_t>(n);
    }
    ::shutdown(pair[1], SHUT_WR);
    std::unique_ptr<Transport> transport =
        std::make_unique<SocketTransport>(kvmvnc::UniqueFd(pair[0]));
    AuthThrottle throttle;
    SecurityContext context{fixture.policy,    fixture.credentials,
                            fixture.tls.get(), throttle,
                            "192.0.2.1",       Clock::now() + std::chrono::milliseconds{200}};
    try {
        const Admission admission = negotiateSecurity(transport, context);
        sendSecurityResult(*transport, admission, true, {}, context.deadline);
    } catch (const HandshakeError &) {
    }
    ::close(pair[1]);
    return 0;
}
