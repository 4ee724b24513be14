// SPDX-License-Identifier: GPL-2.0-or-later
#include "test_viewer.h"

#include <rfb/rfbclient.h>

#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <mutex>
#include <string>

namespace kvmvnc::testing {

namespace {

int gViewerTag;

TestViewer *viewerOf(rfbClient *client) {
    return static_cast<TestViewer *>(rfbClientGetClientData(client, &gViewerTag));
}

// libvncclient is chatty: quiet unless KVMVNC_VIEWER_LOG is set.
void quietLog(const char *, ...) {}

}  // namespace

// Fence (-312) and continuous updates (-313), which libvncclient lacks: a
// client extension lists both in SetEncodings and handles the server's
// Fence (248) and EndOfContinuousUpdates (150) messages.
struct ViewerProtocolExtension {
    static constexpr uint8_t kEndOfContinuousUpdates = 150;
    static constexpr uint8_t kFence = 248;
    static constexpr uint32_t kFenceRequest = 1u << 31;
    static constexpr uint32_t kFenceBlockBefore = 1u << 0;
    static constexpr uint32_t kFenceBlockAfter = 1u << 1;

    static void registerOnce() {
        static int encodings[] = {-312, -313, 0};
        static rfbClientProtocolExtension extension{};
        static std::once_flag once;
        std::call_once(once, [] {
            extension.encodings = encodings;
            extension.handleMessage = handleMessage;
            rfbClientRegisterExtension(&extension);
        });
    }

    // libvncclient has read the type byte only.
    static rfbBool handleMessage(rfbClient *client, rfbServerToClientMsg *message) {
        TestViewer *viewer = viewerOf(client);
        if (message->type == kEndOfContinuousUpdates) {
            if (!viewer || !viewer->options_.continuousUpdates || viewer->continuousOn_)
                return TRUE;  // also what a stop confirms
            viewer->continuousOn_ = true;
            const uint16_t w = static_cast<uint16_t>(client->width);
            const uint16_t h = static_cast<uint16_t>(client->height);
            const char enable[10] = {static_cast<char>(150),
                                     1,
                                     0,
                                     0,
                                     0,
                                     0,
                                     static_cast<char>(w >> 8),
                                     static_cast<char>(w & 0xff),
                                     static_cast<char>(h >> 8),
                                     static_cast<char>(h & 0xff)};
            return WriteToRFBServer(client, enable, sizeof(enable));
        }
        if (message->type != kFence)
            return FALSE;
        char head[8];  // padding (3), flags (4), length (1)
        if (!ReadFromRFBServer(client, head, sizeof(head)))
            return FALSE;
        const auto length = static_cast<uint8_t>(head[7]);
        char payload[255];
        if (length > 0 && !ReadFromRFBServer(client, payload, length))
            return FALSE;
        const uint32_t flags = static_cast<uint32_t>(static_cast<uint8_t>(head[3])) << 24 |
                               static_cast<uint32_t>(static_cast<uint8_t>(head[4])) << 16 |
                               static_cast<uint32_t>(static_cast<uint8_t>(head[5])) << 8 |
                               static_cast<uint8_t>(head[6]);
        if (!(flags & kFenceRequest))
            return TRUE;
        // Everything is handled in order here, so these two hold trivially.
        const uint32_t answer = flags & (kFenceBlockBefore | kFenceBlockAfter);
        std::string reply{static_cast<char>(kFence),
                          0,
                          0,
                          0,
                          static_cast<char>(answer >> 24),
                          static_cast<char>(answer >> 16),
                          static_cast<char>(answer >> 8),
                          static_cast<char>(answer),
                          static_cast<char>(length)};
        reply.append(payload, length);
        return WriteToRFBServer(client, reply.data(), static_cast<unsigned>(reply.size()));
    }
};

TestViewer::TestViewer(ViewerOptions options) : options_(std::move(options)) {}

TestViewer::~TestViewer() {
    if (client_) {
        if (client_->frameBuffer) {
            free(client_->frameBuffer);
            client_->frameBuffer = nullptr;
        }
        rfbClientCleanup(client_);
    }
}

bool TestViewer::connect() {
    if (!std::getenv("KVMVNC_VIEWER_LOG")) {
        rfbClientLog = quietLog;
        rfbClientErr = quietLog;
    }
    rfbClient *client = rfbGetClient(8, 3, 4);
    // The pipeline's XRGB8888, so the viewer's bytes compare with frames.
    client->format.redShift = 16;
    client->format.greenShift = 8;
    client->format.blueShift = 0;
    client->format.bigEndian = FALSE;
    client->appData.encodingsString = options_.encodings.c_str();
    client->appData.compressLevel = options_.compressLevel;
    client->appData.enableJPEG = options_.qualityLevel >= 0 ? TRUE : FALSE;
    client->appData.qualityLevel = options_.qualityLevel >= 0 ? options_.qualityLevel : 5;
    free(client->serverHost);  // rfbGetClient's default
    client->serverHost = strdup(options_.host.c_str());
    client->serverPort = options_.port;
    client->readTimeout = static_cast<unsigned>(options_.readTimeoutSeconds);
    client->canHandleNewFBSize = TRUE;
    client->GotFrameBufferUpdate = onRect;
    client->FinishedFrameBufferUpdate = onUpdateDone;
    client->GotCopyRect = onCopyRect;
    client->GetPassword = onPassword;
    client->GetCredential = onCredential;
    ViewerProtocolExtension::registerOnce();
    rfbClientSetClientData(client, &gViewerTag, this);
    if (!rfbInitClient(client, nullptr, nullptr)) {
        // rfbInitClient has freed the client.
        error_ = "connection or authentication failed";
        return false;
    }
    client_ = client;
    alive_ = true;
    return true;
}

bool TestViewer::pump(std::chrono::milliseconds timeout) {
    if (!isConnected())
        return false;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    do {
        auto left = std::chrono::duration_cast<std::chrono::microseconds>(
            deadline - std::chrono::steady_clock::now());
        // libvncclient reads ahead up to 8 KiB into client->buf, but
        // WaitForMessage() only select()s the socket: messages already in
        // that buffer would wait for the server's next bytes, which may never
        // come (the server waits for the request that handling them sends).
        // Remmina and Guacamole check `buffered` the same way (GUAC-1056).
        int ready = client_->buffered > 0
                        ? 1
                        : WaitForMessage(client_,
                                         static_cast<unsigned>(std::max<int64_t>(left.count(), 0)));
        if (ready < 0) {
            alive_ = false;
            error_ = "wait failed";
            return false;
        }
        if (ready > 0 && !HandleRFBServerMessage(client_)) {
            alive_ = false;
            error_ = "server closed the connection";
            return false;
        }
    } while (std::chrono::steady_clock::now() < deadline);
    return true;
}

bool TestViewer::pumpUntil(const std::function<bool()> &done, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
        if (std::chrono::steady_clock::now() >= deadline || !pump(std::chrono::milliseconds{20}))
            return done();
    }
    return true;
}

bool TestViewer::waitForPicture(Size size, const std::vector<uint8_t> &expected,
                                std::chrono::milliseconds timeout) {
    const std::vector<uint8_t> want = withoutPadding(expected);
    return pumpUntilPicture([&] { return this->size() == size && picture() == want; }, timeout);
}

bool TestViewer::waitForSimilarPicture(Size size, const std::vector<uint8_t> &expected,
                                       double minPsnr, std::chrono::milliseconds timeout) {
    return pumpUntilPicture(
        [&] { return this->size() == size && psnr(picture(), expected) > minPsnr; }, timeout);
}

bool TestViewer::pumpUntilPicture(const std::function<bool()> &matches,
                                  std::chrono::milliseconds timeout) {
    uint64_t judgedAt = ~uint64_t{0};
    bool matched = false;
    pumpUntil(
        [&] {
            if (updates_ != judgedAt) {
                judgedAt = updates_;
                matched = matches();
            }
            return matched;
        },
        timeout);
    return matched;
}

bool TestViewer::sendKey(uint32_t keysym, bool down) {
    return isConnected() && SendKeyEvent(client_, keysym, down ? TRUE : FALSE);
}

bool TestViewer::sendExtendedKey(uint32_t keysym, uint32_t xtKeycode, bool down) {
    return isConnected() && SendExtendedKeyEvent(client_, keysym, xtKeycode, down ? TRUE : FALSE);
}

bool TestViewer::sendPointer(int x, int y, int buttons) {
    return isConnected() && SendPointerEvent(client_, x, y, buttons);
}

Size TestViewer::size() const {
    if (!client_)
        return {};
    return {client_->width, client_->height};
}

std::string TestViewer::desktopName() const {
    return client_ && client_->desktopName ? client_->desktopName : std::string{};
}

std::vector<uint8_t> TestViewer::picture() const {
    if (!client_ || !client_->frameBuffer)
        return {};
    const size_t bytes = static_cast<size_t>(client_->width) * client_->height * 4;
    return withoutPadding(std::vector<uint8_t>(client_->frameBuffer, client_->frameBuffer + bytes));
}

bool TestViewer::savePicture(const std::string &path) const {
    FILE *file = std::fopen(path.c_str(), "wb");
    if (!file)
        return false;
    const Size s = size();
    std::fprintf(file, "P6\n%d %d\n255\n", s.width, s.height);
    const std::vector<uint8_t> pixels = picture();
    for (size_t i = 0; i + 3 < pixels.size(); i += 4) {
        const uint8_t rgb[3] = {pixels[i + 2], pixels[i + 1], pixels[i]};
        std::fwrite(rgb, 1, 3, file);
    }
    return std::fclose(file) == 0;
}

void TestViewer::resetCounters() {
    updates_ = rects_ = pixels_ = copies_ = copiedPixels_ = 0;
    widestRect_ = 0;
}

void TestViewer::onRect(rfbClient *client, int, int, int w, int h) {
    TestViewer *viewer = viewerOf(client);
    ++viewer->rects_;
    viewer->pixels_ += static_cast<uint64_t>(w) * h;
    viewer->widestRect_ = std::max(viewer->widestRect_, w);
}

void TestViewer::onUpdateDone(rfbClient *client) {
    TestViewer *viewer = viewerOf(client);
    ++viewer->updates_;
    if (viewer->updateCallback_)
        viewer->updateCallback_();
}

// Does what libvncclient's own handler does (a move within the picture,
// overlap allowed), and counts it.
void TestViewer::onCopyRect(rfbClient *client, int srcX, int srcY, int w, int h, int x, int y) {
    TestViewer *viewer = viewerOf(client);
    ++viewer->copies_;
    viewer->copiedPixels_ += static_cast<uint64_t>(w) * h;
    auto inside = [&](int left, int top) {
        return left >= 0 && top >= 0 && w >= 0 && h >= 0 && left + w <= client->width &&
               top + h <= client->height;
    };
    if (!inside(srcX, srcY) || !inside(x, y)) {
        ++viewer->badCopies_;  // a server bug: the test fails on it, the picture stays
        return;
    }
    const size_t stride = static_cast<size_t>(client->width) * 4;
    auto *pixels = reinterpret_cast<uint8_t *>(client->frameBuffer);
    auto row = [&](int r, int c) { return pixels + static_cast<size_t>(r) * stride + c * 4; };
    if (srcY > y || (srcY == y && srcX > x)) {
        for (int i = 0; i < h; ++i)
            std::memmove(row(y + i, x), row(srcY + i, srcX), static_cast<size_t>(w) * 4);
    } else {
        for (int i = h - 1; i >= 0; --i)
            std::memmove(row(y + i, x), row(srcY + i, srcX), static_cast<size_t>(w) * 4);
    }
}

const uint8_t *TestViewer::framebufferData() const {
    return client_ ? reinterpret_cast<const uint8_t *>(client_->frameBuffer) : nullptr;
}

char *TestViewer::onPassword(rfbClient *client) {
    TestViewer *viewer = viewerOf(client);
    // libvncclient frees what this returns.
    return strdup(viewer->options_.password.value_or("").c_str());
}

rfbCredential *TestViewer::onCredential(rfbClient *client, int type) {
    const ViewerOptions &options = viewerOf(client)->options_;
    // libvncclient frees the credential and its strings with free().
    auto *credential = static_cast<rfbCredential *>(calloc(1, sizeof(rfbCredential)));
    if (type == rfbCredentialTypeX509 && !options.caFile.empty()) {
        credential->x509Credential.x509CACertFile = strdup(options.caFile.c_str());
        return credential;
    }
    if (type == rfbCredentialTypeUser && !options.user.empty()) {
        credential->userCredential.username = strdup(options.user.c_str());
        credential->userCredential.password = strdup(options.password.value_or("").c_str());
        return credential;
    }
    free(credential);
    return nullptr;
}

std::vector<uint8_t> withoutPadding(std::vector<uint8_t> pixels) {
    for (size_t i = 3; i < pixels.size(); i += 4)
        pixels[i] = 0;
    return pixels;
}

std::string describeDifference(const TestViewer &viewer, Size size,
                               const std::vector<uint8_t> &expected) {
    char text[160];
    if (viewer.size() != size) {
        std::snprintf(text, sizeof(text), "viewer is %dx%d, expected %dx%d", viewer.size().width,
                      viewer.size().height, size.width, size.height);
        return text;
    }
    const std::vector<uint8_t> got = viewer.picture();
    const std::vector<uint8_t> want = withoutPadding(expected);
    size_t differing = 0;
    size_t first = 0;
    for (size_t i = 0; i + 3 < got.size() && i + 3 < want.size(); i += 4) {
        if (std::memcmp(&got[i], &want[i], 3) != 0 && differing++ == 0)
            first = i;
    }
    if (differing == 0)
        return "pictures are equal";
    const size_t pixel = first / 4;
    std::snprintf(text, sizeof(text),
                  "%zu pixels differ, first at (%zu, %zu): #%02x%02x%02x, expected #%02x%02x%02x",
                  differing, pixel % size.width, pixel / size.width, got[first + 2], got[first + 1],
                  got[first], want[first + 2], want[first + 1], want[first]);
    return text;
}

double psnr(const std::vector<uint8_t> &a, const std::vector<uint8_t> &b) {
    if (a.size() != b.size() || a.empty())
        return 0.0;
    double sum = 0.0;
    size_t samples = 0;
    for (size_t i = 0; i < a.size(); i += 4) {
        for (size_t c = 0; c < 3; ++c) {
            double d = static_cast<double>(a[i + c]) - static_cast<double>(b[i + c]);
            sum += d * d;
            ++samples;
        }
    }
    if (sum == 0.0)
        return std::numeric_limits<double>::infinity();
    double mse = sum / static_cast<double>(samples);
    return 10.0 * std::log10(255.0 * 255.0 / mse);
}

}  // namespace kvmvnc::testing
