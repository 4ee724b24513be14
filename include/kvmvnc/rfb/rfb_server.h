// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "kvmvnc/base/geometry.h"
#include "kvmvnc/rfb/vnc_password_file.h"

namespace kvmvnc::control {
class ControlService;
}

struct _rfbScreenInfo;
struct _rfbClientRec;

namespace kvmvnc::rfb {

// Where viewers' keyboard and pointer events go. Called from libvncserver's
// per-viewer input threads, concurrently; never for view-only viewers.
class RfbInputHandler {
public:
    virtual ~RfbInputHandler() = default;
    virtual void keysymEvent(uint64_t viewer, bool down, uint32_t keysym) = 0;
    // QEMU Extended Key Event: the physical key as an XT key code (0 when the
    // viewer could not tell; then `keysym` is all there is).
    virtual void scancodeEvent(uint64_t viewer, bool down, uint32_t xtKeycode, uint32_t keysym) = 0;
    virtual void pointerEvent(uint64_t viewer, uint8_t buttons, int x, int y, Size screen) = 0;
    virtual void viewerLeft(uint64_t viewer) = 0;
};

struct RfbServerOptions {
    std::string listen = "0.0.0.0";  // IPv4 or IPv6 literal
    int port = 5900;
    std::string desktopName = "kvmvnc";
    std::optional<VncPasswords> passwords;  // nullopt: no authentication
    int maxClients = 16;
    Size initialSize{1024, 768};
    RfbInputHandler *input = nullptr;  // borrowed; must outlive the server
    // Power and media requests (docs/protocol.md) and xvp; borrowed, must
    // outlive the server. Null: viewers are told there are no such features.
    control::ControlService *control = nullptr;
    // Offer xvp (power menu) to viewers that ask; needs `control`.
    bool xvp = false;
};

// The RFB server: libvncserver in threaded mode, serving one XRGB8888
// framebuffer that this class owns.
//
// libvncserver runs a listener thread plus an input and an output thread per
// viewer; each output thread encodes for its own viewer with the encoding
// and JPEG quality that viewer asked for (Tight/JPEG, ZRLE, Hextile, Raw...),
// so quality is per viewer. Tight never sends a rectangle wider than 2048
// pixels (libvncserver splits wider ones), which keeps 4K working in
// TigerVNC.
//
// Threading: framebuffer(), markModified() and resize() belong to one
// producer thread (the frame pump). Writing pixels while output threads read
// them is allowed: every write is followed by markModified(), so a viewer
// that caught a half-written rectangle gets it again. resize() swaps the
// framebuffer under every viewer's send lock, so no encoder ever reads a
// freed buffer. Callbacks from libvncserver threads never throw: a failure
// closes that one viewer.
//
// A reload changes the passwords, the desktop name and the viewer limit
// while viewers stay connected (setPasswords() and friends, thread-safe):
// each applies to viewers that connect afterwards; connected viewers keep
// the access they authenticated with.
class RfbServer {
public:
    // Starts listening; throws std::runtime_error when it cannot (address
    // in use, bad address).
    explicit RfbServer(const RfbServerOptions &options);
    ~RfbServer();
    RfbServer(const RfbServer &) = delete;
    RfbServer &operator=(const RfbServer &) = delete;

    Size size() const { return size_; }
    uint8_t *framebuffer() { return framebuffer_.get(); }
    int stride() const { return size_.width * 4; }

    // A live resolution change: viewers that support DesktopSize or
    // ExtendedDesktopSize follow it; the others are disconnected, since
    // they would keep drawing a picture of the wrong size. The new
    // framebuffer starts black.
    void resize(Size size);
    void markModified(const std::vector<Rect> &rects);

    int clientCount() const { return clients_.load(); }

    // What a VNC authentication response (DES of `challenge` with a
    // password) grants against the current passwords. Thread-safe.
    enum class Access { Refused, Full, ViewOnly };
    Access checkResponse(const uint8_t *challenge, const uint8_t *response, size_t length) const;
    bool requiresPassword() const;
    // Checks viewers that connect from now on against `passwords`; turns
    // authentication on if it was off. There is no way back to no
    // authentication while running (see config::planReload). Returns
    // whether the passwords differ from the previous ones. Thread-safe.
    bool setPasswords(const VncPasswords &passwords);
    // Renames the desktop: viewers that connect from now on get the name in
    // ServerInit; connected ones that support DesktopName (-307) are told.
    // Thread-safe.
    void setDesktopName(const std::string &name);
    // Further viewers are refused while `maxClients` are connected; viewers
    // beyond a lowered limit stay. Thread-safe.
    void setMaxClients(int maxClients) { maxClients_.store(maxClients); }

    // The keyboard LEDs the target set (HID bits: 1 Num, 2 Caps, 4 Scroll),
    // sent to viewers that asked for QEMU LED state (-261). Thread-safe.
    void setKeyboardLeds(uint8_t hidLeds);
    uint8_t keyboardLeds() const { return leds_.load(); }
    // Whether the target reads the keyboard. When it does not, viewers that
    // support DesktopName (-307) see it in their window title, as
    // "<desktop name> (keyboard not connected)". Thread-safe.
    void setHostListening(bool listening);
    std::string desktopName() const;
    // The port actually listened on.
    int port() const;

    // Called from libvncserver threads through trampolines.
    int onNewClient(_rfbClientRec *client) noexcept;
    void onClientGone(_rfbClientRec *client) noexcept;
    void onKey(bool down, uint32_t keysym, _rfbClientRec *client) noexcept;
    void onExtendedKey(bool down, uint32_t keysym, uint32_t keycode,
                       _rfbClientRec *client) noexcept;
    void onPointer(int buttons, int x, int y, _rfbClientRec *client) noexcept;
    bool onXvp(_rfbClientRec *client, uint8_t code) noexcept;
    bool onPasswordCheck(_rfbClientRec *client, const char *response, int length) noexcept;
    RfbInputHandler *inputHandler() const { return input_; }
    control::ControlService *controlService() const { return control_; }

private:
    void sendDesktopNameToAll();

    _rfbScreenInfo *screen_ = nullptr;
    std::unique_ptr<uint8_t[]> framebuffer_;
    Size size_;
    std::string listenAddress_;  // libvncserver keeps a pointer to it
    // libvncserver reads screen->desktopName without a lock when it sends
    // ServerInit, so every name it was given stays alive here (a deque does
    // not move its elements) until the server goes; a reload adds one.
    mutable std::mutex nameMutex_;
    std::deque<std::string> names_;  // the current one last
    mutable std::mutex passwordMutex_;
    std::optional<VncPasswords> passwords_;  // nullopt: no authentication
    std::atomic<int> maxClients_;
    std::atomic<int> clients_{0};
    std::atomic<uint64_t> nextClientId_{1};
    RfbInputHandler *input_;
    control::ControlService *control_;
    std::atomic<uint8_t> leds_{0};
    std::atomic<bool> hostListening_{true};
};

}  // namespace kvmvnc::rfb
