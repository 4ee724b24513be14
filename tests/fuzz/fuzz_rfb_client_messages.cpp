// SPDX-License-Identifier: GPL-2.0-or-later
// libFuzzer target: everything a viewer may send after logging in - every
// client message type (SetPixelFormat, SetEncodings, update requests, keys,
// pointer, clipboard and the extended clipboard, Fence,
// EnableContinuousUpdates, QEMU messages, xvp, SetDesktopSize, scaling, the
// control protocol) - driven into the real RfbServer as kvmvncd does: through
// the front door's ClientMessageFilter, over a socketpair, while this thread
// plays the frame pump (new pixels, marks, resolution changes).
//
// Input: the first byte chooses view-only (bit 0) and whether the producer
// changes the resolution as the bytes go in (bit 1); the rest is the stream
// after ClientInit, sent in chunks the next bytes size.
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <memory>
#include <thread>
#include <vector>

#include "kvmvnc/base/log.h"
#include "kvmvnc/control/control_service.h"
#include "kvmvnc/msd/image_store.h"
#include "kvmvnc/rfb/client_message_filter.h"
#include "kvmvnc/rfb/rfb_server.h"

namespace {

using namespace kvmvnc;
using Clock = std::chrono::steady_clock;

class NoInput : public rfb::RfbInputHandler {
public:
    void keysymEvent(uint64_t, bool, uint32_t) override {}
    void scancodeEvent(uint64_t, bool, uint32_t, uint32_t) override {}
    void pointerEvent(uint64_t, uint8_t, int, int, Size) override {}
    void viewerLeft(uint64_t) override {}
};

struct Fixture {
    Fixture()
        : store((std::filesystem::temp_directory_path() / "kvmvnc-fuzz-images").string()),
          control(control::ControlDevices{.store = &store}) {
        log::setLevel(log::Level::Warning);  // a line per viewer would slow the fuzzer
        rfb::RfbServerOptions options;
        options.initialSize = {320, 200};
        options.input = &input;
        options.control = &control;
        options.xvp = true;
        options.stallTimeout = std::chrono::milliseconds{2000};
        server = std::make_unique<rfb::RfbServer>(options);
    }
    NoInput input;
    msd::ImageStore store;
    control::ControlService control;
    std::unique_ptr<rfb::RfbServer> server;
};

void paint(rfb::RfbServer &server, uint32_t seed) {
    const Size size = server.size();
    auto *pixels = reinterpret_cast<uint32_t *>(server.framebuffer());
    for (int i = 0; i < size.width * size.height; ++i)
        pixels[i] = (static_cast<uint32_t>(i / 7) * 2654435761u + seed) & 0xffffff;
    server.markModified({{0, 0, size.width, size.height}});
}

// Reads what is there (the server's updates and answers) and drops it;
// false once the server closed.
bool drain(int fd) {
    char buffer[65536];
    for (;;) {
        const ssize_t n = ::recv(fd, buffer, sizeof(buffer), MSG_DONTWAIT);
        if (n > 0)
            continue;
        return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR);
    }
}

bool readExactly(int fd, size_t count) {
    char buffer[256];
    const auto until = Clock::now() + std::chrono::seconds{5};
    while (count > 0 && Clock::now() < until) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 100) <= 0)
            continue;
        const ssize_t n = ::recv(fd, buffer, std::min(count, sizeof(buffer)), 0);
        if (n <= 0)
            return false;
        count -= static_cast<size_t>(n);
    }
    return count == 0;
}

bool sendAll(int fd, const uint8_t *data, size_t size) {
    while (size > 0) {
        pollfd p{fd, POLLOUT | POLLIN, 0};
        if (::poll(&p, 1, 5000) <= 0)
            return false;
        if ((p.revents & POLLIN) && !drain(fd))
            return false;
        if (!(p.revents & POLLOUT))
            continue;
        const ssize_t n = ::send(fd, data, size, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n < 0 && errno != EAGAIN && errno != EINTR)
            return false;
        if (n > 0) {
            data += n;
            size -= static_cast<size_t>(n);
        }
    }
    return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static Fixture fixture;
    rfb::RfbServer &server = *fixture.server;
    if (size < 1)
        return 0;
    const bool viewOnly = data[0] & 1;
    const bool resizing = data[0] & 2;
    ++data;
    --size;

    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0)
        return 0;
    UniqueFd client(pair[1]);
    if (!server.adopt(UniqueFd(pair[0]), {"192.0.2.1", "", viewOnly, "None"}))
        return 0;
    // Version, security type None, result, then ServerInit after ClientInit.
    const uint8_t version[] = {'R', 'F', 'B', ' ', '0', '0', '3', '.', '0', '0', '8', '\n'};
    const uint8_t none = 1;
    const uint8_t shared = 1;
    if (readExactly(client.get(), 12) && sendAll(client.get(), version, 12) &&
        readExactly(client.get(), 2) && sendAll(client.get(), &none, 1) &&
        readExactly(client.get(), 4) && sendAll(client.get(), &shared, 1) &&
        readExactly(client.get(), 24)) {
        rfb::ClientMessageFilter filter(viewOnly);
        std::vector<uint8_t> filtered;
        filter.feed({&shared, 1}, filtered);  // the ClientInit, as the door sees it
        filtered.clear();
        static const Size sizes[] = {{320, 200}, {64, 48}, {720, 400}, {1, 1}, {1024, 768}};
        uint32_t round = 0;
        while (size > 0) {
            const size_t chunk = std::min<size_t>(size, 1 + data[0] % 64);
            filtered.clear();
            const bool ok = filter.feed({data, chunk}, filtered);
            data += chunk;
            size -= chunk;
            if (!filtered.empty() && !sendAll(client.get(), filtered.data(), filtered.size()))
                break;
            if (resizing && round % 3 == 0)
                server.resize(sizes[(round / 3) % 5]);
            paint(server, round++);
            if (!ok)
                break;
        }
        if (resizing)
            server.resize({320, 200});
    }
    // The viewer leaves; wait until the server let it go.
    ::shutdown(client.get(), SHUT_WR);
    const auto until = Clock::now() + std::chrono::seconds{10};
    while (server.clientCount() > 0 && Clock::now() < until) {
        pollfd p{client.get(), POLLIN, 0};
        if (::poll(&p, 1, 10) > 0 && !drain(client.get()))
            break;
    }
    client.reset();
    while (server.clientCount() > 0 && Clock::now() < until)
        std::this_thread::sleep_for(std::chrono::milliseconds{1});
    return 0;
}
