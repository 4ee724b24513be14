// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <pthread.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "kvmvnc/base/geometry.h"
#include "kvmvnc/base/unique_fd.h"
#include "kvmvnc/door/viewer_identity.h"
#include "kvmvnc/input/chord_filter.h"
#include "kvmvnc/rfb/motion_policy.h"

namespace kvmvnc::control {
class ControlService;
}

namespace kvmvnc::encode {
class H264Stream;
}

struct _rfbScreenInfo;  // NOLINT(bugprone-reserved-identifier): libvncserver's tag
struct _rfbClientRec;   // NOLINT(bugprone-reserved-identifier): libvncserver's tag

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
    std::string desktopName = "kvmvnc";
    int maxClients = 16;
    Size initialSize{1024, 768};
    RfbInputHandler *input = nullptr;  // borrowed; must outlive the server
    // Power and media requests (docs/protocol.md) and xvp; borrowed, must
    // outlive the server. Null: viewers are told there are no such features.
    control::ControlService *control = nullptr;
    // Offer xvp (power menu) to viewers that ask; needs `control`.
    bool xvp = false;
    // A viewer whose socket takes no byte for this long while something
    // waits to be sent to it is disconnected ([server] stall_timeout_ms).
    std::chrono::milliseconds stallTimeout{10000};
    // The keys a viewer presses to have its clipboard typed on the target
    // ([hid] paste_chord, kvmvnc/input/key_chord.h): keysyms, every one but
    // the last tapped, the last pressed; none of them reaches the target.
    // Empty: no chord. Typing needs `control`.
    std::vector<uint32_t> pasteChord{0xffe9, 0xffe9, 'p'};  // Left Alt twice, then P
};

// When and how viewers get H.264 ([h264]): the MotionPolicy's thresholds,
// and `sharpen`: when motion ends, what changed during it is sent again as
// pixels.
struct H264UpdateOptions {
    MotionPolicy::Options motion;
    bool sharpen = true;
};

// The RFB server: libvncserver in threaded mode, serving one XRGB8888
// framebuffer that this class owns. It listens on nothing: the front door
// (door::FrontDoor) accepts, authenticates and hands each viewer over with
// adopt(), on a socketpair whose other end it relays to the client; here
// libvncserver offers only security type None.
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
// that caught a half-written rectangle gets it again. The framebuffer lives
// in one address range reserved for the largest picture (kMaxSize) and is
// never moved or freed while the server runs: resize() only changes the
// size in place, so an update that was being encoded for the old size reads
// (stale) pixels inside that range, never freed memory, and resize() waits
// for no viewer. Nothing the producer or another shared thread (ATX, HID,
// health) does waits on a viewer's socket: what they send goes through that
// viewer's outbox (rfb/viewer_outbox.h). Callbacks from libvncserver threads
// never throw: a failure closes that one viewer.
//
// Viewers' bytes must reach adopt()'s connection through a
// ClientMessageFilter (kvmvnc/rfb/client_message_filter.h), as the front
// door's relay does: it is what keeps format changes between updates and
// view-only viewers without effect.
//
// A reload changes the desktop name and the viewer limit while viewers stay
// connected (thread-safe setters): each applies to viewers that connect
// afterwards.
class RfbServer {
public:
    // Starts libvncserver's threads; throws std::runtime_error when it cannot.
    explicit RfbServer(const RfbServerOptions &options);
    ~RfbServer();
    RfbServer(const RfbServer &) = delete;
    RfbServer &operator=(const RfbServer &) = delete;

    // The largest picture served; larger frames are not shown (the producer
    // checks). 8K UHD: any HDMI source a capture device takes.
    static constexpr Size kMaxSize{7680, 4320};

    Size size() const { return size_; }
    uint8_t *framebuffer() { return framebuffer_; }
    int stride() const { return size_.width * 4; }

    // A live resolution change, at most kMaxSize: viewers that support
    // DesktopSize or ExtendedDesktopSize follow it; the others are
    // disconnected before their next picture, since they would draw it at
    // the wrong size. A connection that has asked for no picture yet (a
    // control client) stays until it asks. The new picture starts black.
    void resize(Size size);
    void markModified(const std::vector<Rect> &rects);
    // The area `to` now shows what the framebuffer held at (fromX, fromY),
    // an area of the same size (a scroll): moves those pixels in the
    // framebuffer and has viewers that support CopyRect copy them on their
    // side instead of receiving them; the others, and viewers busy sending
    // an update right now, get the pixels. Sent with the changes of the
    // next markModified() call, which must follow (with no rectangles if
    // nothing else changed). Producer thread only.
    void moveArea(const Rect &to, int fromX, int fromY);

    // H.264 (RFB encoding 50, see rfb/h264_updates.h): the shared stream
    // viewers that list 50 are sent while the MotionPolicy sees motion;
    // borrowed, it must outlive the server (null: none, the default).
    // Set before viewers connect and the producer starts.
    void attachH264Stream(encode::H264Stream *stream, const H264UpdateOptions &options = {});
    bool h264Sharpens() const { return h264Sharpen_; }
    encode::H264Stream *h264Stream() const { return h264Stream_.load(); }
    // Whether pictures should be encoded now: a stream is attached, the
    // screen is in motion and a viewer that listed 50 is connected. For the producer (the frame
    // pump), after markModified(). Thread-safe.
    bool h264Wanted() const;
    // Viewers connected that listed 50 (in any SetEncodings so far).
    // Thread-safe.
    int h264ListingViewers() const;
    // Wakes the output threads of viewers sending H.264 or waiting for a
    // unit: after each unit published (the encoder thread's callback), and
    // now and then while the screen is still, so that they leave H.264 and
    // get the sharp picture once motion has ended. Takes no send lock;
    // thread-safe.
    void wakeH264Viewers();
    const MotionPolicy &motion() const { return motion_; }

    int clientCount() const { return clients_.load(); }
    // Bytes of the largest picture served so far, at 4 bytes a pixel: what
    // no rectangle of any update can exceed, whenever it was taken.
    size_t largestPictureBytes() const { return largestPictureBytes_.load(); }

    // Takes an admitted viewer: libvncserver starts the RFB handshake on
    // `connection` (offering None) and serves it from its own threads.
    // Returns false when the viewer is refused (viewer limit); `connection`
    // is closed then. Thread-safe.
    bool adopt(UniqueFd connection, const door::ViewerIdentity &viewer);
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
    // Called from libvncserver threads through trampolines.
    int onNewClient(_rfbClientRec *client) noexcept;
    void onClientGone(_rfbClientRec *client) noexcept;
    void onKey(bool down, uint32_t keysym, _rfbClientRec *client) noexcept;
    void onExtendedKey(bool down, uint32_t keysym, uint32_t keycode,
                       _rfbClientRec *client) noexcept;
    void onPointer(int buttons, int x, int y, _rfbClientRec *client) noexcept;
    // ClientCutText: Latin-1, or UTF-8 from the Extended Clipboard.
    void onCutText(const char *text, int length, bool utf8, _rfbClientRec *client) noexcept;
    bool onXvp(_rfbClientRec *client, uint8_t code) noexcept;
    RfbInputHandler *inputHandler() const { return input_; }
    control::ControlService *controlService() const { return control_; }

private:
    void sendDesktopNameToAll();
    // A viewer's key on its way to the target, through its paste chord.
    void routeKey(_rfbClientRec *client, const input::ViewerKey &key) noexcept;
    void forwardKey(uint64_t viewer, const input::ViewerKey &key);
    void pasteClipboard(_rfbClientRec *client) noexcept;
    void reapGoneThreads(_rfbClientRec *client) noexcept;
    static void unlockSenders(const std::vector<_rfbClientRec *> &locked);

    _rfbScreenInfo *screen_ = nullptr;
    // kMaxSize's worth of address space (mmap, no memory committed until
    // written); the first size_.width * size_.height pixels are the picture.
    uint8_t *framebuffer_ = nullptr;
    size_t reserved_ = 0;
    Size size_;
    std::atomic<size_t> largestPictureBytes_{0};  // raised before the size changes
    std::chrono::milliseconds stallTimeout_;
    // libvncserver reads screen->desktopName without a lock when it sends
    // ServerInit, so every name it was given stays alive here (a deque does
    // not move its elements) until the server goes; a reload adds one.
    mutable std::mutex nameMutex_;
    std::deque<std::string> names_;  // the current one last
    std::mutex adoptMutex_;          // adopt() calls rfbNewClient one at a time
    std::atomic<int> maxClients_;
    // Viewers accepted and not yet through the client-gone hook.
    std::atomic<int> clients_{0};
    // libvncserver unlinks a leaving viewer, calls the client-gone hook on
    // the viewer's own input thread and goes on using the screen after it;
    // nothing in 0.9.14 joins that thread. The hook leaves its thread here:
    // the next hook joins those already finished (so connections do not
    // leak threads), the destructor waits for every hook and joins the rest
    // before freeing the screen (reaping_: it has taken them).
    std::mutex goneMutex_;
    std::vector<pthread_t> goneThreads_;
    bool reaping_ = false;
    std::atomic<uint64_t> nextClientId_{1};
    RfbInputHandler *input_;
    control::ControlService *control_;
    std::atomic<uint8_t> leds_{0};
    std::atomic<bool> hostListening_{true};
    bool copiesScheduled_ = false;  // producer thread: moveArea() until markModified()
    std::atomic<encode::H264Stream *> h264Stream_{nullptr};
    MotionPolicy motion_;  // noted by markModified()
    bool h264Sharpen_ = true;
    const std::vector<uint32_t> pasteChord_;
};

}  // namespace kvmvnc::rfb
