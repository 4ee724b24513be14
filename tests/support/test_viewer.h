// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "kvmvnc/base/geometry.h"

struct _rfbClient;
union _rfbCredential;

namespace kvmvnc::testing {

struct ViewerOptions {
    std::string host = "127.0.0.1";
    int port = 5900;
    std::string encodings = "tight";  // libvncclient encodings string, e.g. "raw", "zrle"
    int qualityLevel = -1;            // -1: no JPEG (lossless); 0..9: Tight JPEG quality
    int compressLevel = 1;
    std::optional<std::string> password;
    std::string user;    // for VeNCrypt's Plain subtypes, with `password`
    std::string caFile;  // for VeNCrypt's X509 subtypes: the server's certificate
    // Turn on continuous updates (-313) when the server offers them. Every
    // viewer lists -312 and -313 and answers the server's fences.
    bool continuousUpdates = false;
    // Gives up a read (the handshake's included) after this long; 0 waits
    // forever, libvncclient's default.
    int readTimeoutSeconds = 0;
};

// A real RFB viewer for tests and benchmarks, built on libvncclient: it
// negotiates like any viewer, keeps a framebuffer in the pipeline's XRGB8888
// format (so pixels compare directly with rendered frames) and records what
// each update carried. Runs in the calling thread; not thread-safe.
class TestViewer {
public:
    explicit TestViewer(ViewerOptions options);
    ~TestViewer();
    TestViewer(const TestViewer &) = delete;
    TestViewer &operator=(const TestViewer &) = delete;

    // Connects and authenticates; false (with lastError()) on refusal.
    bool connect();
    bool isConnected() const { return client_ != nullptr && alive_; }
    const std::string &lastError() const { return error_; }

    // Handles server messages for up to `timeout`; false once the server
    // has closed the connection.
    bool pump(std::chrono::milliseconds timeout);
    // Pumps until `done` holds or `timeout` passes; returns done().
    bool pumpUntil(const std::function<bool()> &done, std::chrono::milliseconds timeout);
    // Pumps until the framebuffer equals `expected` (XRGB8888, width*4
    // stride) or `timeout` passes.
    bool waitForPicture(Size size, const std::vector<uint8_t> &expected,
                        std::chrono::milliseconds timeout);
    // The same for lossy encodings: until the picture is within `minPsnr`
    // dB of `expected`.
    bool waitForSimilarPicture(Size size, const std::vector<uint8_t> &expected, double minPsnr,
                               std::chrono::milliseconds timeout);

    // Input, as a viewer sends it. False when the connection is gone (or,
    // for extended keys, when the server has not offered them).
    bool sendKey(uint32_t keysym, bool down);
    bool sendExtendedKey(uint32_t keysym, uint32_t xtKeycode, bool down);
    bool sendPointer(int x, int y, int buttons);

    Size size() const;
    // The desktop name ServerInit carried (libvncclient does not follow
    // DesktopName, -307); empty before connect().
    std::string desktopName() const;
    // The viewer's picture, XRGB8888 rows of size().width * 4 bytes, the
    // padding byte of each pixel zeroed (encodings differ in what they put
    // there).
    std::vector<uint8_t> picture() const;

    // Called after each complete update, in the pumping thread.
    void onUpdate(std::function<void()> callback) { updateCallback_ = std::move(callback); }
    // The viewer's framebuffer as it is, XRGB8888, size().width * 4 bytes a
    // row (no copy; valid until the next pump()).
    const uint8_t *framebufferData() const;
    // Whether continuous updates are on (asked for and offered).
    bool continuousUpdatesOn() const { return continuousOn_; }

    // What updates have carried since connecting (or resetCounters()).
    uint64_t updates() const { return updates_; }
    uint64_t rects() const { return rects_; }
    uint64_t pixels() const { return pixels_; }
    int widestRect() const { return widestRect_; }
    // CopyRect rectangles among them, and the pixels they moved.
    uint64_t copies() const { return copies_; }
    uint64_t copiedPixels() const { return copiedPixels_; }
    // CopyRects with a source or destination outside the picture (ignored).
    uint64_t badCopies() const { return badCopies_; }
    void resetCounters();
    // Saves the picture as a binary PPM, for looking at failures.
    bool savePicture(const std::string &path) const;

private:
    // pumpUntil() for a judgement of the whole picture, made again only
    // when an update has completed since the last one: comparing a 4K
    // picture after every message would leave little time to receive any.
    bool pumpUntilPicture(const std::function<bool()> &matches, std::chrono::milliseconds timeout);
    static void onRect(_rfbClient *client, int x, int y, int w, int h);
    static void onUpdateDone(_rfbClient *client);
    static void onCopyRect(_rfbClient *client, int srcX, int srcY, int w, int h, int x, int y);
    static char *onPassword(_rfbClient *client);
    static ::_rfbCredential *onCredential(_rfbClient *client, int type);
    friend struct ViewerProtocolExtension;

    ViewerOptions options_;
    _rfbClient *client_ = nullptr;
    bool alive_ = false;
    std::string error_;
    uint64_t updates_ = 0;
    uint64_t rects_ = 0;
    uint64_t pixels_ = 0;
    int widestRect_ = 0;
    uint64_t copies_ = 0;
    uint64_t copiedPixels_ = 0;
    uint64_t badCopies_ = 0;
    bool continuousOn_ = false;
    std::function<void()> updateCallback_;
};

// `pixels` with the padding byte of each XRGB8888 pixel set to zero.
std::vector<uint8_t> withoutPadding(std::vector<uint8_t> pixels);

// "1234 pixels differ, first at (x, y): #rrggbb, expected #rrggbb", or why
// the sizes differ; for test failure messages.
std::string describeDifference(const TestViewer &viewer, Size size,
                               const std::vector<uint8_t> &expected);

// Mean squared error between two XRGB8888 pictures over R, G and B, as
// peak signal-to-noise ratio in dB (infinity when equal).
double psnr(const std::vector<uint8_t> &a, const std::vector<uint8_t> &b);

}  // namespace kvmvnc::testing
