// SPDX-License-Identifier: GPL-2.0-or-later
// X11Capture::Connection: one connection to the X server, its mirror of the
// screen and what DAMAGE says is stale in it.
#include <sys/ipc.h>
#include <sys/shm.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <mutex>

#include "kvmvnc/base/log.h"

// Last: Xlib's macros would reach into the headers above.
#include "x11_connection.h"

#include "kvmvnc/base/error_text.h"

namespace kvmvnc::capture {

namespace {

constexpr unsigned kMaxDimension = 16384;
// Damaged rows closer than this are fetched as one band: a request costs
// more than a few rows of pixels.
constexpr unsigned kBandMergeGap = 16;
constexpr const char *kLog = "capture";

// The code of the last X protocol error on this thread, 0 for none. Xlib has
// one process-wide error handler, called on the thread that reads the error
// (the one that made the request, when it waits for a reply or syncs).
thread_local int tLastError = 0;

int onXError(Display *, XErrorEvent *event) {
    tLastError = event->error_code;
    LOG_DEBUG(kLog, "X error %d (request %d.%d)", event->error_code, event->request_code,
              event->minor_code);
    return 0;
}

// A broken connection. libX11's default handler prints and exits (1.8.4
// still does, whatever the exit handler would do); this one returns, and the
// display's exit handler (XSetIOErrorExitHandler, libX11 1.8) says what
// happens next. The capture thread logs the lost display as a status.
int onXIOError(Display *) { return 0; }

// Xlib's default handlers end the process: on any protocol error (a grab
// racing a resize gets BadMatch) and on a broken connection. They are
// process-wide, so this replaces them for everything in the process.
void installErrorHandlers() {
    static std::once_flag once;
    std::call_once(once, [] {
        XSetErrorHandler(onXError);
        XSetIOErrorHandler(onXIOError);
    });
}

const char *visualClassName(int visualClass) {
    switch (visualClass) {
    case StaticGray:
        return "StaticGray";
    case GrayScale:
        return "GrayScale";
    case StaticColor:
        return "StaticColor";
    case PseudoColor:
        return "PseudoColor";
    case TrueColor:
        return "TrueColor";
    case DirectColor:
        return "DirectColor";
    default:
        return "unknown";
    }
}

// Picture ids, unique in the process (connections come and go).
std::atomic<uint64_t> gLastPictureId{0};
}  // namespace

void X11Capture::Connection::remember(uint64_t id, bool whole) {
    if (whole)
        historySize_ = 0;
    Picture &slot = history_[historyEnd_];
    slot.id = id;
    slot.bands.assign(bands_.begin(), bands_.end());
    historyEnd_ = (historyEnd_ + 1) % kHistory;
    historySize_ = std::min(historySize_ + 1, kHistory);
}

bool X11Capture::Connection::refresh(Frame &frame, uint64_t held) const {
    if (held == 0)
        return false;
    // The pictures after `held`, oldest first, up to the newest.
    size_t first = kHistory;
    for (size_t age = 0; age < historySize_; ++age) {
        const size_t index = (historyEnd_ + kHistory - 1 - age) % kHistory;
        if (history_[index].id == held) {
            first = age;
            break;
        }
    }
    if (first == kHistory)
        return false;  // not one of the pictures since the last whole fetch
    const size_t stride = static_cast<size_t>(frame.stride);
    const uint8_t *source = mirror();
    for (size_t age = first; age-- > 0;) {
        const Picture &picture = history_[(historyEnd_ + kHistory - 1 - age) % kHistory];
        for (const Band &band : picture.bands)
            std::memcpy(frame.pixels.data() + band.top * stride, source + band.top * stride,
                        (band.bottom - band.top) * stride);
    }
    return true;
}

std::unique_ptr<X11Capture::Connection> X11Capture::Connection::open(const std::string &name,
                                                                     const X11Options &options,
                                                                     SourceStatus &status) {
    installErrorHandlers();
    Display *display = XOpenDisplay(name.c_str());
    if (display == nullptr) {
        status = {SignalState::NoDevice, "X display " + name + ": cannot open"};
        return nullptr;
    }
    std::unique_ptr<Connection> connection(new Connection(name, display));
    if (std::string problem = connection->checkPixels(); !problem.empty()) {
        status = {SignalState::DeviceError, "X display " + name + ": " + problem};
        return nullptr;
    }
    if (options.damage)
        connection->startDamage();
    if (!options.sharedMemory)
        return connection;
    int major = 0;
    int minor = 0;
    Bool pixmaps = False;
    connection->useShm_ = XShmQueryVersion(display, &major, &minor, &pixmaps) == True;
    if (!connection->useShm_)
        LOG_WARN(kLog, "X display %s has no MIT-SHM: XGetImage, one allocation per picture",
                 name.c_str());
    return connection;
}

// Asks the server to collect what is drawn on the screen (DAMAGE, with
// XFixes regions to hand it over). Without them every picture is fetched
// whole, and the differ finds what changed.
void X11Capture::Connection::startDamage() {
    int event = 0;
    int error = 0;
    int major = 1;
    int minor = 1;
    if (XDamageQueryExtension(display_, &event, &error) == False ||
        XDamageQueryVersion(display_, &major, &minor) == 0 ||
        XFixesQueryExtension(display_, &event, &error) == False) {
        LOG_WARN(kLog, "X display %s has no DAMAGE: every picture is fetched whole", name_.c_str());
        return;
    }
    major = 2;
    minor = 0;
    if (XFixesQueryVersion(display_, &major, &minor) == 0 || major < 2) {
        LOG_WARN(kLog,
                 "X display %s has XFixes %d.%d, regions need 2.0: every picture is "
                 "fetched whole",
                 name_.c_str(), major, minor);
        return;
    }
    tLastError = 0;
    // NonEmpty: one event when the damage stops being empty, none for each
    // drawing after it; the events are only drained, takeDamage() asks.
    damage_ = XDamageCreate(display_, root_, XDamageReportNonEmpty);
    damagedRegion_ = XFixesCreateRegion(display_, nullptr, 0);
    XSync(display_, False);
    if (tLastError != 0 || lost_) {
        LOG_WARN(kLog,
                 "X display %s refused a damage object (X error %d): every picture is "
                 "fetched whole",
                 name_.c_str(), tLastError);
        damage_ = 0;
        damagedRegion_ = 0;
    }
}

X11Capture::Connection::Connection(std::string name, Display *display)
    : name_(std::move(name)),
      display_(display),
      screen_(DefaultScreen(display)),
      root_(RootWindow(display, screen_)) {
    segment_.shmid = -1;
    // Without it, Xlib's default exit handler would end the process when
    // the server goes away. Returning marks the display broken: later calls
    // on it fail at once.
    XSetIOErrorExitHandler(display_, onLost, this);
    // Size changes arrive as events instead of a round trip per picture.
    XSelectInput(display_, root_, StructureNotifyMask);
}

X11Capture::Connection::~Connection() {
    if (damage_ != 0 && !lost_) {
        XDamageDestroy(display_, damage_);
        XFixesDestroyRegion(display_, damagedRegion_);
    }
    dropShmImage();
    // On a broken connection this runs the handlers once more, harmlessly.
    XCloseDisplay(display_);
}

// Why the root window's pixels are not XRGB8888 as they are, or "".
std::string X11Capture::Connection::checkPixels() const {
    const Visual *visual = DefaultVisual(display_, screen_);
    const int depth = DefaultDepth(display_, screen_);
    int bitsPerPixel = 0;
    int count = 0;
    if (XPixmapFormatValues *formats = XListPixmapFormats(display_, &count)) {
        for (int i = 0; i < count; ++i) {
            if (formats[i].depth == depth)
                bitsPerPixel = formats[i].bits_per_pixel;
        }
        XFree(formats);
    }
    const bool littleEndian = ImageByteOrder(display_) == LSBFirst;
    if (visual->c_class == TrueColor && (depth == 24 || depth == 32) && bitsPerPixel == 32 &&
        visual->red_mask == 0xff0000 && visual->green_mask == 0xff00 && visual->blue_mask == 0xff &&
        littleEndian)
        return {};
    char text[256];
    std::snprintf(text, sizeof(text),
                  "depth %d %s visual (masks %lx/%lx/%lx, %d bits per pixel, %s first) is not "
                  "supported: needs 24-bit TrueColor, masks ff0000/ff00/ff, 32-bit little-endian "
                  "pixels",
                  depth, visualClassName(visual->c_class), visual->red_mask, visual->green_mask,
                  visual->blue_mask, bitsPerPixel, littleEndian ? "LSB" : "MSB");
    return text;
}

// A segment for pictures of this size, attached by the server. False when
// the server cannot attach it (another host, another IPC namespace).
bool X11Capture::Connection::makeShmImage(unsigned width, unsigned height) {
    shmImage_ = XShmCreateImage(display_, DefaultVisual(display_, screen_),
                                static_cast<unsigned>(DefaultDepth(display_, screen_)), ZPixmap,
                                nullptr, &segment_, width, height);
    if (shmImage_ == nullptr)
        return false;
    const size_t bytes =
        static_cast<size_t>(shmImage_->bytes_per_line) * static_cast<size_t>(shmImage_->height);
    segment_.shmid = ::shmget(IPC_PRIVATE, bytes, IPC_CREAT | 0600);
    if (segment_.shmid < 0) {
        LOG_WARN(kLog, "X display %s: shmget(%zu bytes): %s", name_.c_str(), bytes,
                 errorText(errno).c_str());
        dropShmImage();
        return false;
    }
    void *address = ::shmat(segment_.shmid, nullptr, 0);
    // Marked for removal at once, so the segment goes when both sides have
    // detached, even if this process dies first (Linux still lets the
    // server attach it).
    ::shmctl(segment_.shmid, IPC_RMID, nullptr);
    // shmat's documented failure value.
    if (address == reinterpret_cast<void *>(-1)) {  // NOLINT(performance-no-int-to-ptr)
        LOG_WARN(kLog, "X display %s: shmat: %s", name_.c_str(), errorText(errno).c_str());
        dropShmImage();
        return false;
    }
    segment_.shmaddr = static_cast<char *>(address);
    shmImage_->data = segment_.shmaddr;
    segment_.readOnly = False;  // the server writes the pictures into it
    // A refused attach (BadAccess) arrives as an error later: sync for it.
    tLastError = 0;
    attached_ = XShmAttach(display_, &segment_) == True;
    XSync(display_, False);
    if (!attached_ || tLastError != 0 || lost_) {
        attached_ = attached_ && tLastError == 0;
        dropShmImage();
        return false;
    }
    // The segment is the mirror, copied to frames whole: its rows must be
    // a frame's (32 bpp pads to nothing, but say so if a server differs).
    if (static_cast<size_t>(shmImage_->bytes_per_line) !=
        static_cast<size_t>(width) * Frame::kBytesPerPixel) {
        LOG_WARN(kLog, "X display %s: shared image rows of %d bytes for %u pixels", name_.c_str(),
                 shmImage_->bytes_per_line, width);
        dropShmImage();
        return false;
    }
    return true;
}

void X11Capture::Connection::dropShmImage() {
    if (attached_ && !lost_)
        XShmDetach(display_, &segment_);
    attached_ = false;
    if (shmImage_ != nullptr) {
        shmImage_->data = nullptr;  // XDestroyImage would free() it
        XDestroyImage(shmImage_);
        shmImage_ = nullptr;
    }
    if (segment_.shmaddr != nullptr)
        ::shmdt(segment_.shmaddr);
    segment_.shmaddr = nullptr;
    segment_.shmid = -1;
}

bool X11Capture::Connection::takeDamage(std::vector<Band> &bands) {
    bands.clear();
    // Everything drawn so far moves into damagedRegion_, and the damage
    // starts collecting afresh: what is drawn after this is in the next
    // picture, even if this one's fetch already sees part of it.
    tLastError = 0;
    XDamageSubtract(display_, damage_, 0, damagedRegion_);
    int count = 0;
    XRectangle *rectangles = XFixesFetchRegion(display_, damagedRegion_, &count);
    if (lost_ || tLastError != 0) {
        if (rectangles != nullptr)
            XFree(rectangles);
        if (lost_)
            return false;
        // The server refused (it should not): stop trusting the damage
        // rather than report a changing screen as still.
        LOG_WARN(kLog,
                 "X display %s: damage unreadable (X error %d): every picture is fetched "
                 "whole from now on",
                 name_.c_str(), tLastError);
        damage_ = 0;
        bands.push_back({0, height_});
        return true;
    }
    for (int i = 0; i < count; ++i) {
        const int top = std::max(0, static_cast<int>(rectangles[i].y));
        const int bottom = std::min(static_cast<int>(height_),
                                    static_cast<int>(rectangles[i].y) + rectangles[i].height);
        if (top < bottom && rectangles[i].width > 0)
            bands.push_back({static_cast<unsigned>(top), static_cast<unsigned>(bottom)});
    }
    if (rectangles != nullptr)
        XFree(rectangles);
    std::sort(bands.begin(), bands.end(),
              [](const Band &a, const Band &b) { return a.top < b.top; });
    size_t merged = 0;
    for (const Band &band : bands) {
        if (merged > 0 && band.top <= bands[merged - 1].bottom + kBandMergeGap)
            bands[merged - 1].bottom = std::max(bands[merged - 1].bottom, band.bottom);
        else
            bands[merged++] = band;
    }
    bands.resize(merged);
    return true;
}

bool X11Capture::Connection::fetch(Band band) {
    const unsigned rows = band.bottom - band.top;
    const size_t stride = static_cast<size_t>(width_) * Frame::kBytesPerPixel;
    tLastError = 0;
    if (useShm_) {
        // Whole rows are contiguous in the mirror, so the server writes the
        // band straight to its place: an image of the band's size whose
        // data starts at the band's first row (the request carries the
        // offset into the segment).
        XImage band_image = *shmImage_;
        band_image.height = static_cast<int>(rows);
        band_image.data = segment_.shmaddr + band.top * stride;
        return XShmGetImage(display_, root_, &band_image, 0, static_cast<int>(band.top),
                            AllPlanes) == True &&
               !lost_ && tLastError == 0;
    }
    XImage *image =
        XGetImage(display_, root_, 0, static_cast<int>(band.top), width_, rows, AllPlanes, ZPixmap);
    if (image == nullptr || lost_) {
        if (image != nullptr)
            XDestroyImage(image);
        return false;
    }
    const bool fits = image->bits_per_pixel == 32 && image->width == static_cast<int>(width_) &&
                      image->height == static_cast<int>(rows);
    if (fits) {
        for (unsigned row = 0; row < rows; ++row)
            std::memcpy(ownMirror_.data() + (band.top + row) * stride,
                        image->data + static_cast<size_t>(row) * image->bytes_per_line, stride);
    }
    XDestroyImage(image);
    return fits;
}

X11Capture::Connection::Grab X11Capture::Connection::grab(Frame &frame) {
    // Events are read as they come, or they would pile up in Xlib's queue:
    // the root window's ConfigureNotify (a new size, RandR), DamageNotify
    // (only that there is damage: takeDamage() asks what) and those nobody
    // asked for (MappingNotify goes to every client). This also reads the
    // socket, so a server that has gone away is noticed here, through
    // onLost().
    while (!lost_ && XPending(display_) > 0) {
        XEvent event;
        XNextEvent(display_, &event);
        if (event.type == ConfigureNotify && event.xconfigure.window == root_) {
            rootWidth_ = static_cast<unsigned>(std::max(event.xconfigure.width, 0));
            rootHeight_ = static_cast<unsigned>(std::max(event.xconfigure.height, 0));
        }
    }
    if (lost_)
        return Grab::Lost;

    // The size, asked once (the events above follow it) and again after a
    // failed fetch, in case a resize raced it.
    if (!rootSizeKnown_) {
        Window root = 0;
        int x = 0;
        int y = 0;
        unsigned border = 0;
        unsigned depth = 0;
        tLastError = 0;
        if (XGetGeometry(display_, root_, &root, &x, &y, &rootWidth_, &rootHeight_, &border,
                         &depth) == 0 ||
            lost_)
            return lost_ ? Grab::Lost : Grab::Skipped;
        rootSizeKnown_ = true;
    }
    const unsigned width = rootWidth_;
    const unsigned height = rootHeight_;
    if (width == 0 || height == 0 || width > kMaxDimension || height > kMaxDimension)
        return Grab::Skipped;
    if (width != width_ || height != height_) {
        width_ = width;
        height_ = height;
        mirrorValid_ = false;
        if (useShm_) {
            dropShmImage();
            if (!makeShmImage(width, height)) {
                if (lost_)
                    return Grab::Lost;
                useShm_ = false;
                LOG_WARN(kLog,
                         "X display %s: cannot share memory with the server (MIT-SHM): "
                         "XGetImage, one allocation per picture",
                         name_.c_str());
            }
        }
        // Stays empty with MIT-SHM: the segment is the mirror.
        ownMirror_.assign(useShm_ ? 0 : static_cast<size_t>(width) * height * Frame::kBytesPerPixel,
                          0);
    }

    // What to fetch: the damaged rows, or everything when nothing is known
    // (no DAMAGE, a new size, a failed fetch before).
    bool damageKnown = false;
    if (damage_ != 0 && mirrorValid_) {
        if (!takeDamage(bands_))
            return Grab::Lost;
        if (bands_.empty())
            return Grab::Unchanged;
        damageKnown = damage_ != 0;  // takeDamage() gives up on it if unreadable
    } else {
        if (damage_ != 0) {
            // Forget what was collected: all of it is about to be fetched.
            XDamageSubtract(display_, damage_, 0, 0);
        }
        bands_.assign(1, Band{0, height_});
    }
    for (const Band &band : bands_) {
        if (!fetch(band)) {
            mirrorValid_ = false;
            rootSizeKnown_ = false;
            return lost_ ? Grab::Lost : Grab::Skipped;
        }
    }
    mirrorValid_ = true;

    const uint64_t id = gLastPictureId.fetch_add(1) + 1;
    remember(id, !damageKnown);

    // checkPixels() made sure these bytes are XRGB8888 (the X byte is what
    // the server keeps there; nothing downstream reads it). The frame is
    // one the pipeline recycled, holding some older picture: where that is
    // one of ours, only the rows drawn on since are copied.
    const uint64_t held = frame.pictureId;
    const bool sameSize = frame.size() == size();
    frame.allocate(static_cast<int>(width_), static_cast<int>(height_));
    if (!sameSize || !refresh(frame, held))
        std::memcpy(frame.pixels.data(), mirror(), frame.pixels.size());
    frame.pictureId = id;
    // Only the fetched rows can differ from the last picture: the pipeline
    // need not compare the rest.
    frame.forgetDamage();
    if (damageKnown) {
        frame.damageKnown = true;
        for (const Band &band : bands_)
            frame.damage.push_back({0, static_cast<int>(band.top), static_cast<int>(width_),
                                    static_cast<int>(band.bottom - band.top)});
    }
    return Grab::Picture;
}

}  // namespace kvmvnc::capture
