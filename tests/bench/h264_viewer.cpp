// SPDX-License-Identifier: GPL-2.0-or-later
#include "h264_viewer.h"

#include <rfb/rfbclient.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "h264_test_decoder.h"
#include "kvmvnc/encode/annex_b.h"

namespace kvmvnc::bench {

namespace {

constexpr int32_t kH264 = 50;
constexpr int32_t kTight = 7;
constexpr int32_t kCopyRect = 1;
constexpr int32_t kQualityLevel0 = -32;
constexpr int32_t kCompressLevel0 = -256;
constexpr int32_t kLastRect = -224;
constexpr int32_t kDesktopSize = -223;
constexpr uint32_t kResetContexts = 0x3;  // ResetContext | ResetAllContexts
constexpr uint32_t kMaxUnitBytes = 64u << 20;

int gH264ViewerTag;

void quietLog(const char *, ...) {}

uint32_t getU32(const char *bytes) {
    return uint32_t{static_cast<uint8_t>(bytes[0])} << 24 |
           uint32_t{static_cast<uint8_t>(bytes[1])} << 16 |
           uint32_t{static_cast<uint8_t>(bytes[2])} << 8 | static_cast<uint8_t>(bytes[3]);
}

void putS32(std::string &out, int32_t value) {
    const auto v = static_cast<uint32_t>(value);
    out += {static_cast<char>(v >> 24), static_cast<char>(v >> 16 & 0xff),
            static_cast<char>(v >> 8 & 0xff), static_cast<char>(v & 0xff)};
}

}  // namespace

// Decodes encoding 50 for the clients that are H264Viewers; names no
// encoding, so other libvncclient viewers are unchanged.
struct H264Viewer::Extension {
    static void registerOnce() {
        static rfbClientProtocolExtension extension{};
        static std::once_flag once;
        std::call_once(once, [] {
            extension.handleEncoding = handleEncoding;
            rfbClientRegisterExtension(&extension);
        });
    }

    static rfbBool handleEncoding(rfbClient *client, rfbFramebufferUpdateRectHeader *rect) {
        auto *viewer = static_cast<H264Viewer *>(rfbClientGetClientData(client, &gH264ViewerTag));
        if (!viewer || static_cast<int32_t>(rect->encoding) != kH264)
            return FALSE;
        return viewer->readH264(rect->r.x, rect->r.y, rect->r.w, rect->r.h) ? TRUE : FALSE;
    }

    static void updateDone(rfbClient *client) {
        auto *viewer = static_cast<H264Viewer *>(rfbClientGetClientData(client, &gH264ViewerTag));
        if (!viewer)
            return;
        ++viewer->updates_;
        if (viewer->callback_)
            viewer->callback_();
    }
};

H264Viewer::H264Viewer(int port, int qualityLevel, H264ViewerCounts &counts)
    : port_(port), qualityLevel_(qualityLevel), counts_(counts) {}

H264Viewer::~H264Viewer() {
    if (client_) {
        free(client_->frameBuffer);
        client_->frameBuffer = nullptr;
        rfbClientCleanup(client_);
    }
}

bool H264Viewer::connect() {
    if (!std::getenv("KVMVNC_VIEWER_LOG")) {
        rfbClientLog = quietLog;
        rfbClientErr = quietLog;
    }
    rfbClient *client = rfbGetClient(8, 3, 4);
    // The pipeline's XRGB8888, which is also what the decoder gives.
    client->format.redShift = 16;
    client->format.greenShift = 8;
    client->format.blueShift = 0;
    client->format.bigEndian = FALSE;
    client->appData.encodingsString = "tight copyrect";
    client->appData.compressLevel = 1;
    client->appData.enableJPEG = TRUE;
    client->appData.qualityLevel = qualityLevel_;
    free(client->serverHost);  // rfbGetClient's default
    client->serverHost = strdup("127.0.0.1");
    client->serverPort = port_;
    client->canHandleNewFBSize = TRUE;
    client->FinishedFrameBufferUpdate = Extension::updateDone;
    Extension::registerOnce();
    rfbClientSetClientData(client, &gH264ViewerTag, this);
    if (!rfbInitClient(client, nullptr, nullptr))
        return false;  // rfbInitClient has freed the client
    client_ = client;
    alive_ = true;
    // 50 first, as noVNC lists it; libvncserver picks Tight for the rest.
    const int32_t encodings[] = {
        kH264,     kTight,      kCopyRect, kQualityLevel0 + qualityLevel_, kCompressLevel0 + 1,
        kLastRect, kDesktopSize};
    std::string message{2, 0};
    message += {0, static_cast<char>(std::size(encodings))};
    for (int32_t encoding : encodings)
        putS32(message, encoding);
    alive_ = WriteToRFBServer(client_, message.data(), static_cast<unsigned>(message.size()));
    return alive_;
}

bool H264Viewer::pump(std::chrono::milliseconds timeout) {
    if (!client_ || !alive_)
        return false;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    do {
        const auto left = std::chrono::duration_cast<std::chrono::microseconds>(
            deadline - std::chrono::steady_clock::now());
        // Messages libvncclient already read ahead wait for no select()
        // (see TestViewer::pump).
        const int ready =
            client_->buffered > 0
                ? 1
                : WaitForMessage(client_,
                                 static_cast<unsigned>(std::max<int64_t>(left.count(), 0)));
        if (ready < 0 || (ready > 0 && !HandleRFBServerMessage(client_))) {
            alive_ = false;
            return false;
        }
    } while (std::chrono::steady_clock::now() < deadline);
    return true;
}

Size H264Viewer::size() const { return client_ ? Size{client_->width, client_->height} : Size{}; }

const uint8_t *H264Viewer::framebufferData() const {
    return client_ ? client_->frameBuffer : nullptr;
}

// After the rectangle header: U32 length, U32 flags, `length` bytes of
// Annex B holding one or more access units (one slice each). Each is
// decoded; the last picture goes into the canvas. A unit libavcodec
// refuses is counted and skipped: the stream goes on, as in a browser.
bool H264Viewer::readH264(int x, int y, int width, int height) {
    char head[8];
    if (!ReadFromRFBServer(client_, head, sizeof(head)))
        return false;
    const uint32_t length = getU32(head);
    const uint32_t flags = getU32(head + 4);
    if (length > kMaxUnitBytes)
        return false;
    std::vector<uint8_t> bytes(length);
    if (length > 0 && !ReadFromRFBServer(client_, reinterpret_cast<char *>(bytes.data()), length))
        return false;
    ++counts_.rects;
    if (!decoder_ || (flags & kResetContexts) != 0)
        decoder_ = std::make_unique<encode::testing::H264TestDecoder>();

    encode::testing::DecodedPicture picture;
    bool decoded = false;
    std::vector<uint8_t> unit;
    std::string error;
    for (const encode::NalUnit &nal : encode::splitAnnexB(bytes.data(), bytes.size())) {
        unit.insert(unit.end(), {0, 0, 0, 1});
        unit.insert(unit.end(), bytes.begin() + static_cast<std::ptrdiff_t>(nal.offset),
                    bytes.begin() + static_cast<std::ptrdiff_t>(nal.offset + nal.size));
        if (nal.type != static_cast<uint8_t>(encode::NalType::Slice) &&
            nal.type != static_cast<uint8_t>(encode::NalType::IdrSlice))
            continue;
        if (decoder_->decode(unit, picture, error)) {
            ++counts_.pictures;
            decoded = true;
        } else {
            ++counts_.decodeErrors;
        }
        unit.clear();
    }
    if (!decoded)
        return true;
    const int rows = std::min({height, picture.size.height, client_->height - y});
    const size_t row =
        static_cast<size_t>(std::min({width, picture.size.width, client_->width - x})) * 4;
    for (int r = 0; r < rows; ++r)
        std::memcpy(client_->frameBuffer + (static_cast<size_t>(y + r) * client_->width + x) * 4,
                    picture.pixels.data() + static_cast<size_t>(r) * picture.size.width * 4, row);
    return true;
}

}  // namespace kvmvnc::bench
