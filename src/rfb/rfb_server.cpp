// SPDX-License-Identifier: GPL-2.0-or-later
// One file, though longer than the others: the frame pump's writes
// (resize(), moveArea(), markModified()) and the viewers' threads meet in
// one locking protocol, which is safe to change only when read whole: a
// viewer's data is published last, after its send lock was made anew
// (onNewClient()); moveArea() tries that lock and never waits for it; a
// resolution change is marked by resize() and judged under the lock by
// beforeUpdate(); the client-gone hook and the destructor end it.
#include "kvmvnc/rfb/rfb_server.h"

#include <arpa/inet.h>
#include <rfb/rfb.h>
#include <sys/mman.h>
#include <sys/socket.h>
// rfbregion.h has no C++ guard of its own.
extern "C" {
#include <rfb/rfbregion.h>
}

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <thread>
#include <utility>

#include "between_updates.h"
#include "continuous_updates.h"
#include "control_extension.h"
#include "h264_updates.h"
#include "kvmvnc/base/error_text.h"
#include "kvmvnc/base/log.h"
#include "kvmvnc/control/control_service.h"
#include "kvmvnc/rfb/viewer_clipboard.h"
#include "qemu_extensions.h"
#include "viewer_outbox.h"

namespace kvmvnc::rfb {

namespace {

constexpr const char *kLog = "rfb";

// libvncserver logs through two global function pointers; route them into
// our log so the daemon has one format. Its messages are chatty
// (per-connection encodings, pixel formats), so they go in at debug level
// except errors.
__attribute__((format(printf, 2, 0))) void forwardLibraryMessage(log::Level level,
                                                                 const char *format, va_list args) {
    if (log::level() > level)
        return;
    char text[512];
    std::vsnprintf(text, sizeof(text), format, args);
    // Viewers come in on a socketpair (adopt()), where TCP_NODELAY has no
    // meaning: libvncserver's complaint about it is no warning here. Nor is
    // a viewer that closed its connection, which libvncserver reports as a
    // failed read or write ("Broken pipe", "Connection reset by peer"):
    // the viewer's disconnection is logged once, by onClientGone().
    if (level == log::Level::Warning &&
        (std::strstr(text, "TCP_NODELAY") || std::strstr(text, errorText(EPIPE).c_str()) ||
         std::strstr(text, errorText(ECONNRESET).c_str())))
        level = log::Level::Debug;
    if (log::level() > level)
        return;
    log::write(level, "vnc", "%s", text);
}

__attribute__((format(printf, 1, 2))) void libraryLog(const char *format, ...) {
    va_list args;
    va_start(args, format);
    forwardLibraryMessage(log::Level::Debug, format, args);
    va_end(args);
}

__attribute__((format(printf, 1, 2))) void libraryError(const char *format, ...) {
    va_list args;
    va_start(args, format);
    forwardLibraryMessage(log::Level::Warning, format, args);
    va_end(args);
}

// The viewer adopt() is handing to libvncserver on this thread.
thread_local const door::ViewerIdentity *adopting = nullptr;

RfbServer *serverOf(rfbClientPtr client) {
    return static_cast<RfbServer *>(client->screen->screenData);
}

enum rfbNewClientAction newClientTrampoline(rfbClientPtr client) {
    return static_cast<enum rfbNewClientAction>(serverOf(client)->onNewClient(client));
}

void clientGoneTrampoline(rfbClientPtr client) { serverOf(client)->onClientGone(client); }

void keyTrampoline(rfbBool down, rfbKeySym keysym, rfbClientPtr client) {
    serverOf(client)->onKey(down, keysym, client);
}

rfbBool xvpTrampoline(rfbClientPtr client, uint8_t version, uint8_t code) {
    return version == 1 && serverOf(client)->onXvp(client, code) ? TRUE : FALSE;
}

// A picture request that libvncserver clipped to zero width or height (one
// starting at the screen's right or bottom edge, or sent so): its region
// code keeps such a rectangle, and its Zlib, Ultra and CoRRE paths then
// divide by the zero width (SIGFPE; found by the fuzzer). The request is
// made one pixel inside the screen instead, which asks for nothing harmful.
void updateRequestHook(rfbClientPtr client, rfbFramebufferUpdateRequestMsg *request) {
    if (request->w > 0 && request->h > 0)
        return;
    const int width = std::max(client->screen->width, 1);
    const int height = std::max(client->screen->height, 1);
    request->x = static_cast<uint16_t>(std::min<int>(request->x, width - 1));
    request->y = static_cast<uint16_t>(std::min<int>(request->y, height - 1));
    request->w = 1;
    request->h = 1;
}

// libvncserver calls these only for viewers that are not view-only.
void cutTextTrampoline(char *text, int length, rfbClientPtr client) {
    serverOf(client)->onCutText(text, length, /*utf8=*/false, client);
}

void cutTextUtf8Trampoline(char *text, int length, rfbClientPtr client) {
    serverOf(client)->onCutText(text, length, /*utf8=*/true, client);
}

void pointerTrampoline(int buttons, int x, int y, rfbClientPtr client) {
    serverOf(client)->onPointer(buttons, x, y, client);
}

// Runs in the output thread after each update, with the send lock held.
void afterUpdate(rfbClientPtr client, int) {
    afterUpdateLocked(client);
    continuousAfterUpdateLocked(client);
}

// Our pipeline's XRGB8888: red in bits 16-23, blue in the low byte.
void setXrgbFormat(rfbScreenInfoPtr screen) {
    rfbPixelFormat &format = screen->serverFormat;
    format.redShift = 16;
    format.greenShift = 8;
    format.blueShift = 0;
    format.redMax = format.greenMax = format.blueMax = 255;
}

// Our data for one viewer, in client->clientData from acceptance until the
// client-gone hook, which libvncserver calls once all its threads are done.
struct ClientTag {
    ClientTag(uint64_t viewerId, rfbClientPtr client, std::chrono::milliseconds stallLimit,
              const std::vector<uint32_t> &pasteChord)
        : id(viewerId),
          outbox(client, viewerId, stallLimit),
          control(client, viewerId, outbox),
          chord(pasteChord) {}
    uint64_t id;
    ViewerOutbox outbox;
    QemuClientState qemu;
    ContinuousUpdateState continuous;
    ViewerControlSession control;
    H264ViewerState h264;
    // Its input thread's: the paste chord taken out of its keys, and the
    // last clipboard it sent, which the chord types.
    input::ChordFilter chord;
    ViewerClipboard clipboard;
    // The resolution changed since the viewer learnt its size: its next
    // update (with the send lock, so never during a SetEncodings) checks
    // that it understands DesktopSize. A connection that never asks for a
    // picture is never judged.
    std::atomic<bool> resizeUndecided{false};
};

uint64_t idOf(rfbClientPtr client) {
    auto *tag = static_cast<ClientTag *>(client->clientData);
    return tag ? tag->id : 0;
}

// A part of the viewer's data; null before it is accepted and after the
// client-gone hook.
template <typename Part>
Part *partOf(rfbClientPtr client, Part ClientTag::*part) {
    auto *tag = static_cast<ClientTag *>(client->clientData);
    return tag ? &(tag->*part) : nullptr;
}

// Our extensions' list nodes for the viewer: libvncserver enabled the
// extensions before asking us about a new viewer, and frees a client
// without their nodes (a refused one, or one that has gone).
void detachExtensions(rfbClientPtr client) {
    detachQemuExtensions(client);
    detachControlExtension(client);
    detachContinuousUpdates(client);
    detachH264Updates(client);
    detachBetweenUpdates(client);
}

// libvncserver's RRE, CoRRE and Zlib encoders size a viewer's encode
// buffers by the screen's size when they encode, but fill them with the
// whole rectangle; an update whose region was taken before a resize that
// shrank the screen would write past them. Grown here, before any encoding
// of the update, to the largest picture ever served (at most 4 bytes a
// pixel), which no rectangle can exceed. They only grow, as libvncserver's
// own code does; it frees them with the viewer.
bool growBuffer(char *&buffer, int &size, size_t wanted) {
    if (buffer && static_cast<size_t>(size) >= wanted)
        return true;
    char *grown = static_cast<char *>(std::realloc(buffer, wanted));
    if (!grown)
        return false;
    buffer = grown;
    size = static_cast<int>(wanted);
    return true;
}

void growEncoderBuffers(rfbClientPtr client, size_t largestPictureBytes) {
    const int encoding = client->preferredEncoding;
    if (encoding != rfbEncodingRRE && encoding != rfbEncodingCoRRE && encoding != rfbEncodingZlib)
        return;
    if (!growBuffer(client->beforeEncBuf, client->beforeEncBufSize, largestPictureBytes) ||
        !growBuffer(client->afterEncBuf, client->afterEncBufSize, largestPictureBytes)) {
        LOG_ERROR(kLog, "closing viewer %s: no memory for its encoder", client->host);
        rfbCloseClient(client);
    }
}

// Runs in each viewer's output thread just before every update, with its
// send lock held. TigerVNC
// rejects Tight rectangles wider than 2048 pixels (today all but solid
// fills; its code says fills will follow). libvncserver keeps its Tight
// rectangles within 2048 except the solid areas it extracts when the viewer
// enabled LastRect, which span the whole update width. On wider screens,
// turn that extraction off for the viewer: solid parts then still go out
// as fills, cut at 2048 like everything else.
constexpr int kMaxTightWidth = 2048;
//
// It also settles a resolution change: a viewer that cannot follow it is
// closed here, and its socket shut down, so the picture of the wrong size
// libvncserver goes on to encode never reaches it.
void beforeUpdate(rfbClientPtr client) {
    if (client->screen->width > kMaxTightWidth)
        client->enableLastRectEncoding = FALSE;
    growEncoderBuffers(client, serverOf(client)->largestPictureBytes());
    auto *tag = static_cast<ClientTag *>(client->clientData);
    if (tag && tag->resizeUndecided.exchange(false) && !client->useNewFBSize) {
        LOG_WARN(kLog,
                 "closing viewer %llu: it cannot follow the resolution change "
                 "(no DesktopSize)",
                 static_cast<unsigned long long>(tag->id));
        tag->outbox.disconnect(nullptr);
        return;
    }
    beforeUpdateLocked(client);
    // Last: it may answer the update itself, as H.264.
    h264BeforeUpdateLocked(client);
}

}  // namespace

QemuClientState *qemuStateOf(rfbClientPtr client) { return partOf(client, &ClientTag::qemu); }

ContinuousUpdateState *continuousStateOf(rfbClientPtr client) {
    return partOf(client, &ClientTag::continuous);
}

ViewerOutbox *outboxOf(rfbClientPtr client) { return partOf(client, &ClientTag::outbox); }

H264ViewerState *h264StateOf(rfbClientPtr client) { return partOf(client, &ClientTag::h264); }

encode::H264Stream *h264StreamOf(rfbClientPtr client) { return serverOf(client)->h264Stream(); }

bool h264MotionNow(rfbClientPtr client) {
    return serverOf(client)->motion().active(MotionPolicy::Clock::now());
}

bool h264Sharpens(rfbClientPtr client) { return serverOf(client)->h264Sharpens(); }

ViewerControlSession *controlSessionOf(rfbClientPtr client) {
    return partOf(client, &ClientTag::control);
}

control::ControlService *controlServiceOf(rfbClientPtr client) {
    return serverOf(client)->controlService();
}

RfbServer::RfbServer(const RfbServerOptions &options)
    : size_(options.initialSize),
      stallTimeout_(options.stallTimeout),
      names_{options.desktopName},
      maxClients_(options.maxClients),
      input_(options.input),
      control_(options.control),
      pasteChord_(options.pasteChord) {
    rfbLog = libraryLog;
    rfbErr = libraryError;
    registerQemuExtensions();
    registerControlExtension();
    registerContinuousUpdates();
    registerH264Updates();
    registerBetweenUpdates();

    if (size_.width <= 0 || size_.height <= 0 || size_.width > kMaxSize.width ||
        size_.height > kMaxSize.height)
        throw std::invalid_argument("framebuffer size out of range");
    // Address space only: pages are committed as the picture is written,
    // and read as zeros (black) before.
    reserved_ = static_cast<size_t>(kMaxSize.width) * kMaxSize.height * 4;
    void *memory = ::mmap(nullptr, reserved_, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (memory == MAP_FAILED)
        throw std::runtime_error(std::string("cannot reserve the framebuffer: ") +
                                 errorText(errno));
    framebuffer_ = static_cast<uint8_t *>(memory);
    largestPictureBytes_ = static_cast<size_t>(size_.width) * size_.height * 4;
    screen_ = rfbGetScreen(nullptr, nullptr, size_.width, size_.height, 8, 3, 4);
    if (!screen_) {
        ::munmap(framebuffer_, reserved_);
        throw std::runtime_error("cannot create the RFB screen");
    }
    setXrgbFormat(screen_);
    screen_->frameBuffer = reinterpret_cast<char *>(framebuffer_);
    screen_->screenData = this;
    screen_->desktopName = names_.back().c_str();
    screen_->newClientHook = newClientTrampoline;
    screen_->displayHook = beforeUpdate;
    // With a hook set, libvncserver sends xvp's Init to every viewer that
    // lists -309, usually in the same TCP segment as the first update. A
    // libvncclient loop that only select()s the socket handles the Init and
    // then waits with the update unread in its buffer (see
    // tests/support/test_viewer.cpp); [server] xvp = false is the way out
    // for such a viewer.
    if (options.xvp && options.control)
        screen_->xvpHook = xvpTrampoline;
    screen_->displayFinishedHook = afterUpdate;
    screen_->kbdAddEvent = keyTrampoline;
    screen_->ptrAddEvent = pointerTrampoline;
    // A viewer's clipboard is kept for its paste chord. libvncserver 0.9.14
    // offers the Extended Clipboard (text, up to 1 MiB) to every viewer
    // that lists it, and hands the text it is provided to the UTF-8 hook.
    screen_->setXCutText = cutTextTrampoline;
    screen_->setXCutTextUTF8 = cutTextUtf8Trampoline;
    // A KVM is watched by several people at once: a new viewer never
    // disconnects the others, whatever its shared flag says.
    screen_->alwaysShared = TRUE;
    // The target's own pointer is part of the captured picture; drawing a
    // server cursor as well would show two.
    screen_->cursor = nullptr;
    // Send as soon as a viewer asks; frames are already paced by capture.
    screen_->deferUpdateTime = 0;
    screen_->deferPtrUpdateTime = 0;
    // libvncserver's own write and read timeout. Its writes judge a socket
    // by select(), which on a socketpair says "writable" only once three
    // quarters of the buffer are free: a viewer reading slowly but steadily
    // would be closed after two of its 5 s waits. So it is set well above
    // the stall limit; the front door's relay, which sees every byte the
    // client takes, judges stalls, and closing its end fails these writes
    // at once.
    screen_->maxClientWait = static_cast<int>(std::max<int64_t>(60000, 6 * stallTimeout_.count()));
    screen_->httpPort = 0;
    screen_->httpDir = nullptr;
    screen_->autoPort = FALSE;

    // No listening sockets: the front door accepts and hands viewers over
    // (adopt()). libvncserver offers None; the door authenticated them.
    screen_->port = 0;
    screen_->ipv6port = 0;
    screen_->authPasswdData = nullptr;

    rfbInitServer(screen_);
    rfbRunEventLoop(screen_, -1, TRUE);
}

RfbServer::~RfbServer() {
    if (!screen_)
        return;
    // libvncserver 0.9.14's rfbShutdownServer steps to the next viewer before
    // closing the current one, dropping its reference: that viewer's thread
    // can free it while the loop still uses it. So close every viewer here,
    // through the iterator that holds a reference, and wait until they have
    // all gone (the client-gone hook counts them) before shutting down.
    rfbClientIteratorPtr iterator = rfbGetClientIterator(screen_);
    while (rfbClientPtr client = rfbClientIteratorNext(iterator)) {
        rfbCloseClient(client);
        // With its own threads libvncserver leaves the socket to the viewer's
        // input thread; an output thread blocked writing to a peer that
        // stopped reading would wait out the whole write timeout (20 s).
        // Shut down (the reference held here keeps the descriptor this
        // viewer's), its next try fails: within libvncserver's 5 s wait for
        // a socket whose peer lives on, at once when the peer has closed, as
        // the front door's relays have by the time the daemon gets here.
        if (client->sock >= 0)
            ::shutdown(client->sock, SHUT_RDWR);
    }
    rfbReleaseClientIterator(iterator);
    // However long it takes: going on would free the screen and this object
    // under threads still using them.
    for (int waited = 1; clients_.load() > 0; ++waited) {
        std::this_thread::sleep_for(std::chrono::milliseconds{10});
        if (waited % 500 == 0)
            LOG_WARN(kLog, "shutdown: still waiting for %d viewers to close (%d s)",
                     clients_.load(), waited / 100);
    }
    // The viewers' threads are past the hook but may still be in
    // libvncserver, which reads the screen after it: wait for them.
    std::vector<pthread_t> gone;
    {
        std::lock_guard lock(goneMutex_);
        gone.swap(goneThreads_);
        reaping_ = true;
    }
    for (pthread_t thread : gone)
        pthread_join(thread, nullptr);
    rfbShutdownServer(screen_, TRUE);
    rfbScreenCleanup(screen_);
    ::munmap(framebuffer_, reserved_);
}

bool RfbServer::adopt(UniqueFd connection, const door::ViewerIdentity &viewer) {
    // One at a time: libvncserver's own listener never runs rfbNewClient
    // concurrently, and it calls the new-client hook from inside it, on this
    // thread: that is where the identity is read.
    std::lock_guard lock(adoptMutex_);
    adopting = &viewer;
    rfbClientPtr client = rfbNewClient(screen_, connection.get());
    adopting = nullptr;
    // From here libvncserver owns the descriptor (a refused client's is
    // already closed).
    connection.release();
    if (!client)
        return false;
    if (!client->onHold)
        rfbStartOnHoldClient(client);
    return true;
}

int RfbServer::onNewClient(rfbClientPtr client) noexcept {
    const uint64_t id = nextClientId_.fetch_add(1);
    const int maxClients = maxClients_.load();
    const door::ViewerIdentity *viewer = adopting;
    if (viewer) {
        // The socketpair has no peer address; the client's goes in its place.
        std::free(client->host);
        client->host = strdup(viewer->peer.c_str());
        client->viewOnly = viewer->viewOnly ? TRUE : FALSE;
    }
    if (clients_.load() >= maxClients) {
        LOG_WARN(kLog, "refusing viewer %s: already serving %d viewers", client->host, maxClients);
        detachExtensions(client);
        return RFB_CLIENT_REFUSE;
    }
    if (!makeSendLockRecursive(client)) {
        LOG_ERROR(kLog, "refusing viewer %s: cannot set up its send lock", client->host);
        detachExtensions(client);
        return RFB_CLIENT_REFUSE;
    }
    clients_.fetch_add(1);
    auto *tag = new (std::nothrow) ClientTag(id, client, stallTimeout_, pasteChord_);
    if (tag) {
        // What ServerInit carries, unless a reload renames the desktop
        // before it is sent: then announcing -307 sends the new name again.
        std::lock_guard lock(nameMutex_);
        tag->qemu.sentName = names_.back();
    }
    client->clientGoneHook = clientGoneTrampoline;
    client->clientFramebufferUpdateRequestHook = updateRequestHook;
    // Published last: the frame pump, which may already see this viewer in
    // the list, takes a viewer without its data (whose send lock was just
    // made anew) for busy.
    __atomic_store_n(&client->clientData, tag, __ATOMIC_RELEASE);
    LOG_INFO(kLog, "viewer %llu connected from %s%s%s (%s%s; %d connected)",
             static_cast<unsigned long long>(id), client->host,
             viewer && !viewer->user.empty() ? " as " : "", viewer ? viewer->user.c_str() : "",
             viewer ? viewer->security.c_str() : "direct", client->viewOnly ? ", view-only" : "",
             clients_.load());
    return RFB_CLIENT_ACCEPT;
}

void RfbServer::onKey(bool down, uint32_t keysym, rfbClientPtr client) noexcept {
    if (input_ && !client->viewOnly)
        routeKey(client, {down, keysym, 0, false});
}

void RfbServer::onExtendedKey(bool down, uint32_t keysym, uint32_t keycode,
                              rfbClientPtr client) noexcept {
    if (input_ && !client->viewOnly)
        routeKey(client, {down, keysym, keycode, true});
}

void RfbServer::forwardKey(uint64_t viewer, const input::ViewerKey &key) {
    if (key.extended)
        input_->scancodeEvent(viewer, key.down, key.xtKeycode, key.keysym);
    else
        input_->keysymEvent(viewer, key.down, key.keysym);
}

// Both key paths (keysyms and QEMU extended key events, which TigerVNC
// sends) carry a keysym, which is what the chord is written in.
void RfbServer::routeKey(rfbClientPtr client, const input::ViewerKey &key) noexcept {
    auto *tag = static_cast<ClientTag *>(client->clientData);
    if (!tag) {
        forwardKey(0, key);
        return;
    }
    try {
        input::ChordFilter::Result result = tag->chord.key(key);
        for (const input::ViewerKey &passed : result.pass)
            forwardKey(tag->id, passed);
        if (result.triggered)
            pasteClipboard(client);
    } catch (const std::exception &e) {
        LOG_ERROR(kLog, "viewer %llu: key lost: %s", static_cast<unsigned long long>(tag->id),
                  e.what());
    }
}

void RfbServer::pasteClipboard(rfbClientPtr client) noexcept {
    auto *tag = static_cast<ClientTag *>(client->clientData);
    const auto id = static_cast<unsigned long long>(tag->id);
    if (!control_) {
        LOG_WARN(kLog, "viewer %llu pressed the paste chord; this server has nothing to type with",
                 id);
        return;
    }
    const std::string &text = tag->clipboard.text();
    if (text.empty()) {
        LOG_INFO(kLog, "viewer %llu pressed the paste chord; its clipboard is empty", id);
        return;
    }
    try {
        const control::ControlService::Typed typed = control_->typeText(tag->control, text);
        if (typed.status == control::Status::Ok)
            LOG_INFO(kLog, "viewer %llu pastes its clipboard (%u characters)", id,
                     typed.characters);
        else
            LOG_WARN(kLog, "viewer %llu: its clipboard is not typed: %s", id,
                     typed.message.c_str());
    } catch (const std::exception &e) {
        LOG_ERROR(kLog, "viewer %llu: paste failed: %s", id, e.what());
    }
}

void RfbServer::onCutText(const char *text, int length, bool utf8, rfbClientPtr client) noexcept {
    auto *tag = static_cast<ClientTag *>(client->clientData);
    if (!tag || client->viewOnly || length < 0)
        return;
    const auto id = static_cast<unsigned long long>(tag->id);
    const std::string_view received(text, static_cast<size_t>(length));
    try {
        switch (utf8 ? tag->clipboard.setUtf8(received) : tag->clipboard.setLatin1(received)) {
        case ViewerClipboard::Outcome::Kept:
            LOG_INFO(kLog, "viewer %llu: clipboard of %zu bytes kept for its paste chord", id,
                     tag->clipboard.text().size());
            break;
        case ViewerClipboard::Outcome::TooLong:
            LOG_WARN(kLog,
                     "viewer %llu: clipboard of %d bytes is over %zu (what one paste types); "
                     "nothing kept to paste",
                     id, length, ViewerClipboard::kMaxBytes);
            break;
        case ViewerClipboard::Outcome::NotUtf8:
            LOG_WARN(kLog, "viewer %llu: clipboard is not UTF-8; nothing kept to paste", id);
            break;
        }
    } catch (const std::exception &e) {
        LOG_ERROR(kLog, "viewer %llu: clipboard lost: %s", id, e.what());
    }
}

void RfbServer::onPointer(int buttons, int x, int y, rfbClientPtr client) noexcept {
    if (!input_ || client->viewOnly)
        return;
    // A click shows that keys held back for the paste chord were not it:
    // they reach the target before it, in their order. Moving alone does
    // not, so a chord is not broken by a hand resting on the mouse.
    auto *tag = static_cast<ClientTag *>(client->clientData);
    if (tag && buttons != 0 && tag->chord.holding()) {
        try {
            for (const input::ViewerKey &held : tag->chord.flush())
                forwardKey(tag->id, held);
        } catch (const std::exception &e) {
            LOG_ERROR(kLog, "viewer %llu: keys lost: %s", static_cast<unsigned long long>(tag->id),
                      e.what());
        }
    }
    input_->pointerEvent(idOf(client), static_cast<uint8_t>(buttons), x, y,
                         {client->screen->width, client->screen->height});
}

bool RfbServer::onXvp(rfbClientPtr client, uint8_t code) noexcept {
    ViewerControlSession *session = controlSessionOf(client);
    if (!control_ || !session)
        return false;
    try {
        return control_->xvp(*session, code);
    } catch (const std::exception &e) {
        LOG_ERROR(kLog, "viewer %s: xvp failed: %s", client->host, e.what());
        return false;
    }
}

void RfbServer::setKeyboardLeds(uint8_t hidLeds) {
    leds_.store(hidLeds);
    rfbClientIteratorPtr iterator = rfbGetClientIterator(screen_);
    while (rfbClientPtr client = rfbClientIteratorNext(iterator))
        sendLedState(client, hidLeds);
    rfbReleaseClientIterator(iterator);
}

void RfbServer::setHostListening(bool listening) {
    hostListening_.store(listening);
    sendDesktopNameToAll();
}

void RfbServer::sendDesktopNameToAll() {
    const std::string name = desktopName();
    rfbClientIteratorPtr iterator = rfbGetClientIterator(screen_);
    while (rfbClientPtr client = rfbClientIteratorNext(iterator))
        sendDesktopName(client, name);
    rfbReleaseClientIterator(iterator);
}

std::string RfbServer::desktopName() const {
    std::string name;
    {
        std::lock_guard lock(nameMutex_);
        name = names_.back();
    }
    return hostListening_.load() ? name : name + " (keyboard not connected)";
}

void RfbServer::setDesktopName(const std::string &name) {
    {
        std::lock_guard lock(nameMutex_);
        if (names_.back() == name)
            return;
        names_.push_back(name);
        // Viewer input threads read the pointer for ServerInit without a
        // lock: one aligned pointer store, to a string that stays alive.
        __atomic_store_n(&screen_->desktopName, names_.back().c_str(), __ATOMIC_RELEASE);
    }
    LOG_INFO(kLog, "desktop name now '%s'", name.c_str());
    sendDesktopNameToAll();
}

void RfbServer::onClientGone(rfbClientPtr client) noexcept {
    auto *tag = static_cast<ClientTag *>(client->clientData);
    if (input_ && tag)
        input_->viewerLeft(tag->id);
    if (control_ && tag)
        control_->remove(tag->control);  // no pushes to it from here on
    // Its writer thread ends before anything it may touch goes.
    if (tag)
        tag->outbox.stop();
    detachExtensions(client);
    client->clientData = nullptr;
    LOG_INFO(kLog, "viewer %llu from %s disconnected (%d connected)",
             static_cast<unsigned long long>(tag ? tag->id : 0), client->host, clients_.load() - 1);
    delete tag;
    reapGoneThreads(client);
    // Last: the destructor waits for this count before joining the threads.
    clients_.fetch_sub(1);
}

// On the leaving viewer's input thread, the only one that calls the hook for
// an accepted viewer while the server runs (rfbScreenCleanup would call it on
// the destructor's thread for a viewer still listed, but the destructor waits
// until none is).
void RfbServer::reapGoneThreads(rfbClientPtr client) noexcept {
    const pthread_t self = pthread_self();
    std::lock_guard lock(goneMutex_);
    // Earlier viewers' threads that have ended since; the rest stay.
    std::erase_if(goneThreads_,
                  [](pthread_t thread) { return pthread_tryjoin_np(thread, nullptr) == 0; });
    if (!reaping_ && pthread_equal(self, client->client_thread)) {
        try {
            goneThreads_.push_back(self);
        } catch (const std::bad_alloc &) {
            pthread_detach(self);  // not joined then, but not leaked either
        }
    }
}

void RfbServer::unlockSenders(const std::vector<rfbClientPtr> &locked) {
    for (rfbClientPtr client : locked) {
        pthread_mutex_unlock(&client->sendMutex);
        rfbDecrClientRef(client);
    }
}

void RfbServer::resize(Size size) {
    if (size == size_)
        return;
    if (size.width <= 0 || size.height <= 0 || size.width > kMaxSize.width ||
        size.height > kMaxSize.height) {
        LOG_ERROR(kLog, "not serving a %dx%d picture (at most %dx%d)", size.width, size.height,
                  kMaxSize.width, kMaxSize.height);
        return;
    }
    // The same memory, another size: an update being encoded for the old
    // size reads stale pixels inside the reserved range and is followed by
    // the DesktopSize and a whole new picture. No viewer is waited for.
    const size_t oldBytes = static_cast<size_t>(size_.width) * size_.height * 4;
    const size_t bytes = static_cast<size_t>(size.width) * size.height * 4;
    std::memset(framebuffer_, 0, bytes);
    if (oldBytes > bytes) {
        // Gives memory the larger picture used back; those pages read as
        // zeros again.
        const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
        const size_t keep = (bytes + page - 1) / page * page;
        if (oldBytes > keep)
            ::madvise(framebuffer_ + keep, oldBytes - keep, MADV_DONTNEED);
    }

    // Before the new size shows: an update taken from here on may be of it.
    if (bytes > largestPictureBytes_.load())
        largestPictureBytes_.store(bytes);
    pthread_mutex_lock(&screen_->cursorMutex);
    screen_->width = size.width;
    screen_->height = size.height;
    screen_->paddedWidthInBytes = size.width * 4;
    screen_->cursorX = std::min(screen_->cursorX, size.width - 1);
    screen_->cursorY = std::min(screen_->cursorY, size.height - 1);
    pthread_mutex_unlock(&screen_->cursorMutex);
    size_ = size;

    rfbClientIteratorPtr iterator = rfbGetClientIterator(screen_);
    while (rfbClientPtr client = rfbClientIteratorNext(iterator)) {
        // Viewers before ServerInit learn the new size from it. The others
        // get a DesktopSize with their next update, whose hook (which holds
        // the send lock, so SetEncodings is not half applied) closes one
        // that does not understand it. A control connection that never
        // asks for a picture never has an update, and stays.
        auto *tag = static_cast<ClientTag *>(client->clientData);
        const bool initialised = client->state == rfbClientRec::RFB_NORMAL;
        if (tag && initialised)
            tag->resizeUndecided = true;
        pthread_mutex_lock(&client->updateMutex);
        sraRgnDestroy(client->modifiedRegion);
        client->modifiedRegion = sraRgnCreateRect(0, 0, size.width, size.height);
        sraRgnMakeEmpty(client->copyRegion);
        client->copyDX = 0;
        client->copyDY = 0;
        if (initialised)
            client->newFBSizePending = TRUE;
        pthread_cond_signal(&client->updateCond);
        pthread_mutex_unlock(&client->updateMutex);
    }
    rfbReleaseClientIterator(iterator);
    LOG_INFO(kLog, "resolution now %dx%d", size.width, size.height);
}

void RfbServer::moveArea(const Rect &to, int fromX, int fromY) {
    const Rect from{fromX, fromY, to.width, to.height};
    const Rect screen{0, 0, size_.width, size_.height};
    if (to.width <= 0 || to.height <= 0 || !screen.contains(to) || !screen.contains(from))
        return;
    // A viewer whose sender is idle takes the move as a copy: holding its
    // send lock, no update of it reads the source half moved (a copy of a
    // torn source would stay wrong: nothing marks its destination again).
    // A sender busy in an update, perhaps blocked on a slow link, is not
    // waited for: its viewer gets the destination as pixels, marked after
    // the move like any change.
    std::vector<rfbClientPtr> idle;
    std::vector<rfbClientPtr> busy;
    bool scaled = false;
    rfbClientIteratorPtr iterator = rfbGetClientIterator(screen_);
    while (rfbClientPtr client = rfbClientIteratorNext(iterator)) {
        rfbIncrClientRef(client);
        if (__atomic_load_n(&client->clientData, __ATOMIC_ACQUIRE) &&
            pthread_mutex_trylock(&client->sendMutex) == 0)
            idle.push_back(client);
        else
            busy.push_back(client);
        // Server-side scaling keeps a scaled copy of the framebuffer that
        // only rfbMarkRectAsModified refreshes.
        scaled = scaled || client->scaledScreen != screen_;
    }
    rfbReleaseClientIterator(iterator);

    // Rows in the order that never overwrites a source row before it is read.
    const size_t bytes = static_cast<size_t>(to.width) * 4;
    uint8_t *base = framebuffer_;
    auto row = [&](int y, int x) { return base + static_cast<size_t>(y) * stride() + x * 4; };
    if (fromY > to.y || (fromY == to.y && fromX > to.x)) {
        for (int i = 0; i < to.height; ++i)
            std::memmove(row(to.y + i, to.x), row(fromY + i, fromX), bytes);
    } else {
        for (int i = to.height - 1; i >= 0; --i)
            std::memmove(row(to.y + i, to.x), row(fromY + i, fromX), bytes);
    }

    if (scaled) {
        unlockSenders(idle);
        for (rfbClientPtr client : busy)
            rfbDecrClientRef(client);
        rfbMarkRectAsModified(screen_, to.x, to.y, to.right(), to.bottom());
        return;
    }
    // What rfbScheduleCopyRect does, without its cursor handling: with no
    // server cursor (screen->cursor is null) 0.9.14 dereferences it for
    // every viewer without cursor shape updates. libvncserver's offsets: the
    // source is the destination minus (dx, dy). Nobody is woken here: the
    // markModified() that follows the differ does that, so the copy and the
    // new lines go out in one update.
    const int dx = to.x - fromX;
    const int dy = to.y - fromY;
    sraRegionPtr destination = sraRgnCreateRect(to.x, to.y, to.right(), to.bottom());
    for (rfbClientPtr client : idle) {
        pthread_mutex_lock(&client->updateMutex);
        if (client->useCopyRect) {
            if (!sraRgnEmpty(client->copyRegion)) {
                if (client->copyDX != dx || client->copyDY != dy) {
                    // A copy not yet sent with another offset goes as pixels.
                    sraRgnOr(client->modifiedRegion, client->copyRegion);
                    sraRgnMakeEmpty(client->copyRegion);
                } else {
                    // Where this copy reads what that copy has not yet
                    // written at the viewer, pixels are needed.
                    sraRegionPtr stale = sraRgnCreateRgn(destination);
                    sraRgnOffset(stale, -dx, -dy);
                    sraRgnAnd(stale, client->copyRegion);
                    sraRgnOr(client->modifiedRegion, stale);
                    sraRgnDestroy(stale);
                }
            }
            sraRgnOr(client->copyRegion, destination);
            client->copyDX = dx;
            client->copyDY = dy;
            // A source the viewer has not been sent yet makes a stale
            // destination: that part goes as pixels (libvncserver drops a
            // modified area from the copy before sending).
            sraRegionPtr stale = sraRgnCreateRgn(client->modifiedRegion);
            sraRgnOffset(stale, dx, dy);
            sraRgnAnd(stale, client->copyRegion);
            sraRgnOr(client->modifiedRegion, stale);
            sraRgnDestroy(stale);
        } else {
            sraRgnOr(client->modifiedRegion, destination);
        }
        pthread_mutex_unlock(&client->updateMutex);
    }
    for (rfbClientPtr client : busy) {
        pthread_mutex_lock(&client->updateMutex);
        sraRgnOr(client->modifiedRegion, destination);
        pthread_mutex_unlock(&client->updateMutex);
        rfbDecrClientRef(client);
    }
    sraRgnDestroy(destination);
    unlockSenders(idle);
    copiesScheduled_ = true;
}

void RfbServer::markModified(const std::vector<Rect> &rects) {
    // One region for the whole frame, marked at once: rectangle by
    // rectangle, an output thread woken by the first sent the frame in two
    // or three updates. (No scaled screens to refresh: scaling is never
    // offered, see ClientMessageFilter.)
    sraRegionPtr region = sraRgnCreate();
    for (const Rect &rect : rects) {
        const int x1 = std::max(rect.x, 0);
        const int y1 = std::max(rect.y, 0);
        const int x2 = std::min(rect.right(), size_.width);
        const int y2 = std::min(rect.bottom(), size_.height);
        if (x1 < x2 && y1 < y2) {
            sraRegionPtr part = sraRgnCreateRect(x1, y1, x2, y2);
            sraRgnOr(region, part);
            sraRgnDestroy(part);
        }
    }
    if (!sraRgnEmpty(region))
        rfbMarkRegionAsModified(screen_, region);
    if (h264Stream_.load()) {
        int64_t changed = 0;
        sraRectangleIterator *it = sraRgnGetIterator(region);
        sraRect rect;
        while (sraRgnIteratorNext(it, &rect))
            changed += static_cast<int64_t>(rect.x2 - rect.x1) * (rect.y2 - rect.y1);
        sraRgnReleaseIterator(it);
        motion_.noteFrame(changed, static_cast<int64_t>(size_.width) * size_.height,
                          MotionPolicy::Clock::now());
    }
    sraRgnDestroy(region);
    // Continuous viewers waiting for a change, and anyone with a copy
    // scheduled by moveArea() and nothing else to wake them.
    const bool copies = std::exchange(copiesScheduled_, false);
    rfbClientIteratorPtr iterator = rfbGetClientIterator(screen_);
    while (rfbClientPtr client = rfbClientIteratorNext(iterator)) {
        continuousArmOnChange(client);
        if (copies) {
            pthread_mutex_lock(&client->updateMutex);
            pthread_cond_signal(&client->updateCond);
            pthread_mutex_unlock(&client->updateMutex);
        }
    }
    rfbReleaseClientIterator(iterator);
}

void RfbServer::attachH264Stream(encode::H264Stream *stream, const H264UpdateOptions &options) {
    motion_.setOptions(options.motion);
    h264Sharpen_ = options.sharpen;
    h264Stream_.store(stream);
}

bool RfbServer::h264Wanted() const {
    if (!h264Stream_.load() || !motion_.active(MotionPolicy::Clock::now()))
        return false;
    // Encoding for no one would cost a core on a Pi: only while a viewer
    // that decodes H.264 is connected.
    return h264ListingViewers() > 0;
}

int RfbServer::h264ListingViewers() const {
    int count = 0;
    rfbClientIteratorPtr iterator = rfbGetClientIterator(screen_);
    while (rfbClientPtr client = rfbClientIteratorNext(iterator))
        count += h264EverListed(client) ? 1 : 0;
    rfbReleaseClientIterator(iterator);
    return count;
}

void RfbServer::wakeH264Viewers() {
    rfbClientIteratorPtr iterator = rfbGetClientIterator(screen_);
    while (rfbClientPtr client = rfbClientIteratorNext(iterator))
        h264Wake(client);
    rfbReleaseClientIterator(iterator);
}

}  // namespace kvmvnc::rfb
