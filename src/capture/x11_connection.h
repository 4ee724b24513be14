// SPDX-License-Identifier: GPL-2.0-or-later
// X11Capture's connection to the X server (x11_connection.cpp), apart so
// that Xlib's macros (None, Status, Bool, True, Success...) reach only the
// two files that include this one, and only after their other headers.
// Internal to the capture stage.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kvmvnc/capture/x11_capture.h"

#include <X11/Xlib.h>
#include <X11/Xutil.h>
#include <X11/extensions/XShm.h>
#include <X11/extensions/Xdamage.h>
#include <X11/extensions/Xfixes.h>

namespace kvmvnc::capture {

// One connection to the X server and what belongs to it: the mirror of the
// screen (the shared segment, or a buffer of its own without MIT-SHM) and,
// where the server has DAMAGE, the damage object that says which parts of
// the mirror are stale. Destroyed when the connection breaks; a new one is
// opened.
class X11Capture::Connection {
public:
    enum class Grab {
        Picture,    // `frame` holds the root window
        Unchanged,  // nothing was drawn since the last Picture: `frame` untouched
        Skipped,    // no picture this time (a grab raced a resize): try again
        Lost,       // the connection is broken
    };

    // Opens `name`; nullptr, with `status` saying why, when it cannot be
    // opened or its pixels are not XRGB8888.
    static std::unique_ptr<Connection> open(const std::string &name, const X11Options &options,
                                            SourceStatus &status);
    ~Connection();
    Connection(const Connection &) = delete;
    Connection &operator=(const Connection &) = delete;

    Grab grab(Frame &frame);
    bool usesShm() const { return useShm_; }
    bool usesDamage() const { return damage_ != 0; }
    Size size() const { return {static_cast<int>(width_), static_cast<int>(height_)}; }

private:
    // Rows [top, bottom) of the screen.
    struct Band {
        unsigned top;
        unsigned bottom;
    };

    Connection(std::string name, Display *display);
    static void onLost(Display *, void *self) { static_cast<Connection *>(self)->lost_ = true; }

    std::string checkPixels() const;
    void startDamage();
    bool makeShmImage(unsigned width, unsigned height);
    void dropShmImage();
    // The rows drawn on since the last call, merged into bands; false when
    // the server's answer did not come (a broken connection).
    bool takeDamage(std::vector<Band> &bands);
    // Fetches `band` into the mirror; false when the server refused (a
    // resize raced it) or the connection broke.
    bool fetch(Band band);
    const uint8_t *mirror() const {
        return useShm_ ? reinterpret_cast<const uint8_t *>(segment_.shmaddr) : ownMirror_.data();
    }

    std::string name_;
    Display *display_;
    int screen_;
    Window root_;
    bool lost_ = false;  // set by the exit handler: the connection is broken
    bool useShm_ = false;
    bool attached_ = false;  // the server has attached segment_
    XShmSegmentInfo segment_{};
    XImage *shmImage_ = nullptr;      // its data is segment_.shmaddr
    std::vector<uint8_t> ownMirror_;  // the mirror without MIT-SHM
    // The mirror holds the whole screen as of the last Picture, stale only
    // where damage_ has collected drawing since. False after a resize or a
    // failed fetch: the next grab fetches everything.
    bool mirrorValid_ = false;
    XID damage_ = 0;         // Damage on the root window; 0: no DAMAGE, fetch every picture
    XID damagedRegion_ = 0;  // XserverRegion that takeDamage() subtracts into
    unsigned width_ = 0;     // the mirror's size
    unsigned height_ = 0;
    // The root window's size: XGetGeometry once, then its ConfigureNotify.
    bool rootSizeKnown_ = false;
    unsigned rootWidth_ = 0;
    unsigned rootHeight_ = 0;
    std::vector<Band> bands_;  // takeDamage()'s, kept for its capacity

    // The rows each of the last pictures fetched, to refresh a recycled
    // frame that holds one of them (Frame::pictureId) by copying only what
    // changed since instead of the whole mirror. A whole fetch starts over.
    struct Picture {
        uint64_t id = 0;
        std::vector<Band> bands;
    };
    static constexpr size_t kHistory = 8;  // more than the frames in circulation
    std::array<Picture, kHistory> history_;
    size_t historyEnd_ = 0;   // where the next picture goes
    size_t historySize_ = 0;  // pictures since the last whole fetch, at most kHistory
    void remember(uint64_t id, bool whole);
    // Brings `frame`, which holds picture `held` of this size, up to the
    // mirror; false when the history cannot say how.
    bool refresh(Frame &frame, uint64_t held) const;
};

}  // namespace kvmvnc::capture
