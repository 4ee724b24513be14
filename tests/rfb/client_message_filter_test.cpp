// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/rfb/client_message_filter.h"

#include <gtest/gtest.h>

#include <climits>
#include <cstdint>
#include <string>
#include <vector>

namespace kvmvnc::rfb {

namespace {

using Bytes = std::vector<uint8_t>;

Bytes u16(int value) { return {static_cast<uint8_t>(value >> 8), static_cast<uint8_t>(value)}; }

Bytes s32(int64_t value) {
    const auto v = static_cast<uint32_t>(value);
    return {static_cast<uint8_t>(v >> 24), static_cast<uint8_t>(v >> 16),
            static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)};
}

Bytes operator+(Bytes a, const Bytes &b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

Bytes setEncodings(std::initializer_list<int32_t> encodings) {
    Bytes message = Bytes{2, 0} + u16(static_cast<int>(encodings.size()));
    for (int32_t encoding : encodings)
        message = message + s32(encoding);
    return message;
}

// bpp (and depth), true colour, each channel's maximum, the shifts.
Bytes setPixelFormat(int bpp, bool trueColour, int max, int redShift, int greenShift, int blueShift,
                     int blueMax = -1) {
    const Bytes head = {0,
                        0,
                        0,
                        0,
                        static_cast<uint8_t>(bpp),
                        static_cast<uint8_t>(bpp),
                        0,
                        static_cast<uint8_t>(trueColour)};
    const Bytes shifts = {static_cast<uint8_t>(redShift),
                          static_cast<uint8_t>(greenShift),
                          static_cast<uint8_t>(blueShift),
                          0,
                          0,
                          0};
    return head + u16(max) + u16(max) + u16(blueMax < 0 ? max : blueMax) + shifts;
}

const Bytes kUpdateRequest = Bytes{3, 1} + u16(0) + u16(0) + u16(640) + u16(480);
const Bytes kKey = Bytes{4, 1, 0, 0} + s32(0x61);
const Bytes kPointer = Bytes{5, 1} + u16(10) + u16(20);
const Bytes kXvpReset = {250, 0, 1, 4};
const Bytes kQemuKey = Bytes{255, 0} + u16(1) + s32(0x61) + s32(0x1e);
const Bytes kSetScale = {8, 2, 0, 0};
constexpr int32_t kControlPseudoEncoding = 0x4B564D01;

Bytes controlRequest(const Bytes &payload) {
    return Bytes{200, 0x40, 0, 0} + s32(7) + s32(static_cast<int64_t>(payload.size())) + payload;
}

Bytes cutText(const std::string &text) {
    return Bytes{6, 0, 0, 0} + s32(static_cast<int64_t>(text.size())) +
           Bytes(text.begin(), text.end());
}

Bytes betweenUpdates(const Bytes &message) { return Bytes{kBetweenUpdatesMessage} + message; }

// Feeds `input` (after the ClientInit byte) in one piece.
struct Filtered {
    bool ok;
    Bytes output;
    std::string reason;
};

Filtered feed(bool viewOnly, const Bytes &input) {
    ClientMessageFilter filter(viewOnly);
    Filtered run;
    run.ok = filter.feed(Bytes{1} + input, run.output);
    run.reason = filter.closeReason();
    if (!run.output.empty())
        run.output.erase(run.output.begin());  // the ClientInit
    return run;
}

// The same, one byte at a time: the answer may not depend on how TCP cut it.
Filtered feedBytewise(bool viewOnly, const Bytes &input) {
    ClientMessageFilter filter(viewOnly);
    Filtered run{true, {}, {}};
    const Bytes all = Bytes{1} + input;
    for (uint8_t byte : all) {
        if (!filter.feed(Bytes{byte}, run.output)) {
            run.ok = false;
            break;
        }
    }
    run.reason = filter.closeReason();
    if (!run.output.empty())
        run.output.erase(run.output.begin());
    return run;
}

}  // namespace

TEST(ClientMessageFilterTest, OrdinaryViewerTrafficPassesUnchanged) {
    const Bytes input = kUpdateRequest + kKey + kPointer + kUpdateRequest;
    for (const Filtered &run : {feed(false, input), feedBytewise(false, input)}) {
        EXPECT_TRUE(run.ok) << run.reason;
        EXPECT_EQ(run.output, input);
    }
}

TEST(ClientMessageFilterTest, ClientInitIsPassedFirst) {
    ClientMessageFilter filter(false);
    Bytes output;
    ASSERT_TRUE(filter.feed(Bytes{0}, output));
    EXPECT_EQ(output, Bytes{0}) << "the shared flag, as the viewer sent it";
}

TEST(ClientMessageFilterTest, FormatAndEncodingChangesGoInBetweenUpdates) {
    const Bytes format =
        setPixelFormat(8, true, 7, 0, 3, 6, 3);  // BGR233  // an 8-bit true-colour viewer
    const Bytes encodings = setEncodings({5, 0, -223});
    const Bytes input = format + kUpdateRequest + encodings;
    for (const Filtered &run : {feed(false, input), feedBytewise(false, input)}) {
        EXPECT_TRUE(run.ok) << run.reason;
        EXPECT_EQ(run.output, betweenUpdates(format) + kUpdateRequest + betweenUpdates(encodings));
    }
}

TEST(ClientMessageFilterTest, PixelFormatsLibvncserverCannotTranslateToAreRefused) {
    EXPECT_TRUE(feed(false, setPixelFormat(32, true, 255, 16, 8, 0)).ok);
    EXPECT_TRUE(feed(false, setPixelFormat(16, true, 31, 11, 5, 0)).ok);
    EXPECT_TRUE(feed(false, setPixelFormat(8, false, 0, 0, 0, 0)).ok) << "a colour map at 8 bits";

    const Filtered bpp24 = feed(false, setPixelFormat(24, true, 255, 16, 8, 0));
    EXPECT_FALSE(bpp24.ok);
    EXPECT_NE(bpp24.reason.find("24 bits per pixel"), std::string::npos) << bpp24.reason;
    EXPECT_FALSE(feed(false, setPixelFormat(0, true, 255, 16, 8, 0)).ok);
    EXPECT_FALSE(feed(false, setPixelFormat(32, false, 0, 0, 0, 0)).ok) << "a 32-bit colour map";
    EXPECT_FALSE(feed(false, setPixelFormat(32, true, 255, 200, 8, 0)).ok) << "shift past 32";
    EXPECT_FALSE(feed(false, setPixelFormat(16, true, 255, 12, 5, 0)).ok) << "red past 16 bits";
    EXPECT_TRUE(feed(false, setPixelFormat(16, true, 255, 12, 5, 0)).output.empty())
        << "nothing of a refused message goes on";
}

TEST(ClientMessageFilterTest, AViewOnlyViewersInputNeverArrives) {
    const Bytes input = setEncodings({0, -258, -308}) + kKey + kPointer + kQemuKey + Bytes{251, 0} +
                        u16(800) + u16(600) + Bytes{1, 0} + s32(0) + u16(0) + u16(0) + u16(800) +
                        u16(600) + s32(0) + kUpdateRequest;
    for (const Filtered &run : {feed(true, input), feedBytewise(true, input)}) {
        EXPECT_TRUE(run.ok) << run.reason;
        EXPECT_EQ(run.output, betweenUpdates(setEncodings({0, -258, -308})) + kUpdateRequest)
            << "keys, pointer, QEMU keys and SetDesktopSize are dropped; the picture request "
               "goes on";
    }
    const Filtered full = feed(false, input);
    EXPECT_TRUE(full.ok);
    EXPECT_EQ(full.output.size(), input.size() + 1) << "a full viewer's input all arrives";
}

TEST(ClientMessageFilterTest, ControlRequestsPassWithTheirPayloadsWhateverTheRights) {
    const Bytes payload(70000, 0x5a);
    const Bytes input = controlRequest(payload) + kUpdateRequest;
    for (bool viewOnly : {false, true}) {
        for (const Filtered &run : {feed(viewOnly, input), feedBytewise(viewOnly, input)}) {
            EXPECT_TRUE(run.ok) << run.reason;
            EXPECT_EQ(run.output, input) << "the service answers a view-only request itself";
        }
    }
}

TEST(ClientMessageFilterTest, ExtensionMessagesNeedTheirPseudoEncodingListed) {
    const Filtered xvp = feed(false, kXvpReset);
    EXPECT_FALSE(xvp.ok) << "an xvp reset without -309 must not press anything";
    EXPECT_NE(xvp.reason.find("xvp"), std::string::npos) << xvp.reason;
    EXPECT_TRUE(feed(false, setEncodings({0, -309}) + kXvpReset).ok);
    EXPECT_EQ(feed(false, setEncodings({0, -309}) + kXvpReset).output,
              betweenUpdates(setEncodings({0, -309})) + kXvpReset);

    EXPECT_FALSE(feed(false, kQemuKey).ok);
    EXPECT_TRUE(feed(false, setEncodings({-258}) + kQemuKey).ok);
    const Bytes fence = Bytes{248, 0, 0, 0} + s32(0x80000004) + Bytes{0};
    EXPECT_FALSE(feed(false, fence).ok);
    EXPECT_TRUE(feed(false, setEncodings({-312}) + fence).ok);
    const Bytes enable = Bytes{150, 1} + u16(0) + u16(0) + u16(64) + u16(48);
    EXPECT_FALSE(feed(false, enable).ok);
    EXPECT_TRUE(feed(false, setEncodings({-313}) + enable).ok);
    const Bytes desktopSize = Bytes{251, 0} + u16(800) + u16(600) + Bytes{0, 0};
    EXPECT_FALSE(feed(false, desktopSize).ok);
    EXPECT_TRUE(feed(false, setEncodings({-308}) + desktopSize).ok);
    EXPECT_TRUE(feed(false, setEncodings({-309}) + setEncodings({0}) + kXvpReset).ok)
        << "what was announced stays announced, as libvncserver's extensions stay enabled";
}

TEST(ClientMessageFilterTest, ServerSideScalingIsNotOffered) {
    for (const Bytes &scale : {kSetScale, Bytes{15, 2, 0, 0}}) {
        const Filtered run = feed(false, scale + kUpdateRequest);
        EXPECT_TRUE(run.ok) << run.reason;
        EXPECT_EQ(run.output, kUpdateRequest) << "dropped; the stream goes on";
    }
}

TEST(ClientMessageFilterTest, ClipboardTextGoesIn) {
    // Kept for the paste chord.
    const Bytes text = cutText(std::string(5000, 'x'));
    const Bytes input = text + kUpdateRequest;
    for (const Filtered &run : {feed(false, input), feedBytewise(false, input)}) {
        EXPECT_TRUE(run.ok) << run.reason;
        EXPECT_EQ(run.output, input);
    }
    // Up to libvncserver's bound.
    const Bytes most = cutText(std::string(ClientMessageFilter::kMaxCutText, 'y'));
    EXPECT_EQ(feed(false, most).output, most);
}

TEST(ClientMessageFilterTest, AViewOnlyViewersClipboardIsDropped) {
    const Filtered run = feed(true, cutText("secret") + kUpdateRequest);
    EXPECT_TRUE(run.ok) << run.reason;
    EXPECT_EQ(run.output, kUpdateRequest);
}

TEST(ClientMessageFilterTest, ExtendedClipboardProvidedTextGoesInAndTheRestIsDropped) {
    const Bytes list = setEncodings({static_cast<int32_t>(0xC0A1E5CE)});
    // Provide | text, with 6 bytes of (zlib) data.
    const Bytes provide = Bytes{6, 0, 0, 0} + s32(-10) + s32(0x10000001) + Bytes(6, 'z');
    const Bytes input = list + provide + kUpdateRequest;
    for (const Filtered &run : {feed(false, input), feedBytewise(false, input)}) {
        EXPECT_TRUE(run.ok) << run.reason;
        EXPECT_EQ(run.output, betweenUpdates(list) + provide + kUpdateRequest);
    }
    // Capabilities (which could turn the extension off in libvncserver),
    // requests, peeks, and a message too short for its flags.
    for (const Bytes &other : {Bytes{6, 0, 0, 0} + s32(-8) + s32(0x01000001) + s32(1024),
                               Bytes{6, 0, 0, 0} + s32(-4) + s32(0x02000001),
                               Bytes{6, 0, 0, 0} + s32(-4) + s32(0x04000000),
                               Bytes{6, 0, 0, 0} + s32(-2) + Bytes{0, 0}}) {
        for (const Filtered &run : {feed(false, list + other + kUpdateRequest),
                                    feedBytewise(false, list + other + kUpdateRequest)}) {
            EXPECT_TRUE(run.ok) << run.reason;
            EXPECT_EQ(run.output, betweenUpdates(list) + kUpdateRequest);
        }
    }
    // Without the extension listed, a negative length is a (huge) plain one.
    const Filtered unlisted = feed(false, Bytes{6, 0, 0, 0} + s32(-10) + Bytes(100, 'q'));
    EXPECT_TRUE(unlisted.ok) << unlisted.reason;
    EXPECT_TRUE(unlisted.output.empty());
}

TEST(ClientMessageFilterTest, ClipboardTextOverTheBoundIsSkipped) {
    // TigerVNC sends the local clipboard on every copy: a big one must not
    // cost the viewer its connection.
    const Bytes huge = Bytes{6, 0, 0, 0} + s32((1 << 20) + 1) + Bytes((1 << 20) + 1, 'x');
    const Filtered run = feed(false, huge + kUpdateRequest);
    EXPECT_TRUE(run.ok) << run.reason;
    EXPECT_EQ(run.output, kUpdateRequest);
    ClientMessageFilter filter(false);
    Bytes output;
    EXPECT_TRUE(filter.feed(Bytes{1, 6, 0, 0, 0} + s32(0x7fffffff), output))
        << "2 GiB announced: skipped as it comes, nothing held";
    EXPECT_TRUE(filter.feed(Bytes(100000, 'y'), output));
    EXPECT_EQ(output, Bytes{1});
    // The extended form's most negative length is 2 GiB too.
    const Bytes list = setEncodings({static_cast<int32_t>(0xC0A1E5CE)});
    ClientMessageFilter extended(false);
    Bytes out;
    EXPECT_TRUE(extended.feed(
        Bytes{1} + list + Bytes{6, 0, 0, 0} + s32(INT32_MIN) + s32(0x10000001) + Bytes(1000, 'y'),
        out));
    EXPECT_EQ(out, Bytes{1} + betweenUpdates(list)) << "the list only";
}

TEST(ClientMessageFilterTest, OversizedOrMalformedMessagesClose) {
    const Filtered encodings = feed(false, Bytes{2, 0} + u16(60000));
    EXPECT_FALSE(encodings.ok) << "60000 encodings";
    EXPECT_NE(encodings.reason.find("60000"), std::string::npos) << encodings.reason;
    EXPECT_FALSE(feed(false, setEncodings({-312}) + Bytes{248, 0, 0, 0} + s32(0) + Bytes{65}).ok)
        << "a fence payload over 64 bytes";
    EXPECT_FALSE(feed(false, setEncodings({-258}) + Bytes{255, 1, 0, 0}).ok) << "QEMU audio";
}

TEST(ClientMessageFilterTest, LimitsAreInclusive) {
    Bytes most = Bytes{2, 0} + u16(ClientMessageFilter::kMaxEncodings);
    for (uint32_t i = 0; i < ClientMessageFilter::kMaxEncodings; ++i)
        most = most + s32(static_cast<int64_t>(i));
    Bytes tooMany = Bytes{2, 0} + u16(ClientMessageFilter::kMaxEncodings + 1);
    EXPECT_TRUE(feed(false, most).ok);
    EXPECT_FALSE(feed(false, tooMany).ok);

    auto desktopSize = [](int screens) {
        Bytes message =
            Bytes{251, 0} + u16(800) + u16(600) + Bytes{static_cast<uint8_t>(screens), 0};
        for (int i = 0; i < screens; ++i)
            message = message + s32(i) + u16(0) + u16(0) + u16(800) + u16(600) + s32(0);
        return message;
    };
    const Bytes listed = setEncodings({-308});
    EXPECT_TRUE(feed(false, listed + desktopSize(ClientMessageFilter::kMaxDesktopScreens)).ok);
    EXPECT_FALSE(feed(false, listed + desktopSize(ClientMessageFilter::kMaxDesktopScreens + 1)).ok);

    const Bytes fence64 = Bytes{248, 0, 0, 0} + s32(0x80000000) + Bytes{64} + Bytes(64, 'f');
    const Filtered fence = feed(false, setEncodings({-312}) + fence64);
    EXPECT_TRUE(fence.ok) << fence.reason;
    EXPECT_EQ(fence.output, betweenUpdates(setEncodings({-312})) + fence64);
}

TEST(ClientMessageFilterTest, ExtensionMessagesWithPayloadsSurviveAnyCut) {
    const Bytes fence = Bytes{248, 0, 0, 0} + s32(0x80000004) + Bytes{4, 'a', 'b', 'c', 'd'};
    const Bytes enable = Bytes{150, 1} + u16(0) + u16(0) + u16(64) + u16(48);
    const Bytes desktopSize = Bytes{251, 0} + u16(800) + u16(600) + Bytes{2, 0} + s32(1) + u16(0) +
                              u16(0) + u16(400) + u16(600) + s32(0) + s32(2) + u16(400) + u16(0) +
                              u16(400) + u16(600) + s32(0);
    const Bytes listed = setEncodings({-312, -313, -308});
    const Bytes input = listed + fence + enable + desktopSize + kUpdateRequest;
    for (const Filtered &run : {feed(false, input), feedBytewise(false, input)}) {
        EXPECT_TRUE(run.ok) << run.reason;
        EXPECT_EQ(run.output,
                  betweenUpdates(listed) + fence + enable + desktopSize + kUpdateRequest);
    }
}

TEST(ClientMessageFilterTest, UnknownTypesAndTheDoorsOwnMarkerClose) {
    for (uint8_t type : Bytes{1, 7, 9, 10, 11, 12, 127, 252, 253, 254, kBetweenUpdatesMessage}) {
        const Filtered run = feed(false, Bytes{type, 0, 0, 0, 0, 0, 0, 0});
        EXPECT_FALSE(run.ok) << "type " << int{type};
        EXPECT_TRUE(run.output.empty()) << "type " << int{type};
        EXPECT_NE(run.reason.find(std::to_string(type)), std::string::npos) << run.reason;
    }
}

TEST(ClientMessageFilterTest, ARefusalIsFinal) {
    ClientMessageFilter filter(false);
    Bytes output;
    EXPECT_FALSE(filter.feed(Bytes{1, 7}, output));
    output.clear();
    EXPECT_FALSE(filter.feed(kUpdateRequest, output));
    EXPECT_TRUE(output.empty());
}

TEST(ClientMessageFilterTest, ControlPseudoEncodingPassesLikeAnyOther) {
    const Bytes encodings = setEncodings({7, 0, kControlPseudoEncoding});
    EXPECT_EQ(feed(true, encodings).output, betweenUpdates(encodings));
}

}  // namespace kvmvnc::rfb
