// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/rfb/client_message_filter.h"

#include <algorithm>
#include <bit>

#include "kvmvnc/base/log.h"

namespace kvmvnc::rfb {

namespace {

constexpr const char *kLog = "rfb";

// Client message types (RFC 6143 and the registered extensions).
constexpr uint8_t kSetPixelFormat = 0;
constexpr uint8_t kSetEncodings = 2;
constexpr uint8_t kFramebufferUpdateRequest = 3;
constexpr uint8_t kKeyEvent = 4;
constexpr uint8_t kPointerEvent = 5;
constexpr uint8_t kClientCutText = 6;
constexpr uint8_t kSetScale = 8;
constexpr uint8_t kPalmVncSetScaleFactor = 15;
constexpr uint8_t kEnableContinuousUpdates = 150;
constexpr uint8_t kControl = 200;  // docs/protocol.md
constexpr uint8_t kFence = 248;
constexpr uint8_t kXvp = 250;
constexpr uint8_t kSetDesktopSize = 251;
constexpr uint8_t kQemu = 255;
constexpr uint8_t kQemuExtendedKeyEvent = 0;

constexpr int32_t kEncodingExtendedDesktopSize = -308;
constexpr int32_t kEncodingXvp = -309;
constexpr int32_t kEncodingQemuExtendedKeyEvent = -258;
constexpr int32_t kEncodingFence = -312;
constexpr int32_t kEncodingContinuousUpdates = -313;
constexpr int32_t kEncodingExtendedClipboard = static_cast<int32_t>(0xC0A1E5CE);

constexpr size_t kControlHeader = 12;
// Extended Clipboard: the flags word that begins an extended ClientCutText,
// and the actions in it.
constexpr uint32_t kClipboardCaps = 1u << 24;
constexpr uint32_t kClipboardRequest = 1u << 25;
constexpr uint32_t kClipboardPeek = 1u << 26;
constexpr uint32_t kClipboardProvide = 1u << 28;
constexpr size_t kMaxFencePayload = 64;

uint16_t u16(const std::vector<uint8_t> &bytes, size_t at) {
    return static_cast<uint16_t>(bytes[at] << 8 | bytes[at + 1]);
}

uint32_t u32(const std::vector<uint8_t> &bytes, size_t at) {
    return uint32_t{bytes[at]} << 24 | uint32_t{bytes[at + 1]} << 16 |
           uint32_t{bytes[at + 2]} << 8 | bytes[at + 3];
}

// What libvncserver can translate our pixels into without undefined
// behaviour: 8, 16 or 32 bits; a colour map only at 8 bits (it installs
// BGR233); true colour with each channel's maximum, shifted, inside the
// pixel (its tables shift by the client's values).
bool pixelFormatUsable(const std::vector<uint8_t> &message, std::string &why) {
    const uint8_t bpp = message[4];
    const bool trueColour = message[7] != 0;
    if (bpp != 8 && bpp != 16 && bpp != 32) {
        why = "pixel format with " + std::to_string(bpp) + " bits per pixel (8, 16 or 32 work)";
        return false;
    }
    if (!trueColour) {
        if (bpp != 8) {
            why = "a colour map at " + std::to_string(bpp) + " bits per pixel (only 8 works)";
            return false;
        }
        return true;
    }
    for (int channel = 0; channel < 3; ++channel) {
        const uint16_t max = u16(message, 8 + 2 * channel);
        const uint8_t shift = message[14 + channel];
        if (shift >= bpp || shift + std::bit_width(max) > bpp) {
            why = "a true-colour format whose channel " + std::to_string(channel) + " (max " +
                  std::to_string(max) + ", shift " + std::to_string(shift) + ") does not fit its " +
                  std::to_string(bpp) + " bits";
            return false;
        }
    }
    return true;
}

}  // namespace

bool ClientMessageFilter::extendedCutText() const {
    return (announced_ & kListedExtendedClipboard) && (u32(head_, 4) & 0x80000000u);
}

bool ClientMessageFilter::refuse(std::string reason) {
    failed_ = true;
    closeReason_ = std::move(reason);
    return false;
}

size_t ClientMessageFilter::headSize() const {
    switch (head_[0]) {
    case kSetPixelFormat:
        return 20;
    case kSetEncodings:
        return head_.size() < 4 ? 4 : 4 + 4 * size_t{u16(head_, 2)};
    case kFramebufferUpdateRequest:
        return 10;
    case kKeyEvent:
        return 8;
    case kPointerEvent:
        return 6;
    case kClientCutText:
        // An extended one's flags too, when it has them.
        return head_.size() < 8 || !extendedCutText() || 0u - u32(head_, 4) < 4 ? 8 : 12;
    case kSetScale:
    case kPalmVncSetScaleFactor:
    case kXvp:
        return 4;
    case kEnableContinuousUpdates:
        return 10;
    case kControl:
        return kControlHeader;
    case kFence:
        return head_.size() < 9 ? 9 : 9 + size_t{head_[8]};
    case kSetDesktopSize:
        return head_.size() < 8 ? 8 : 8 + 16 * size_t{head_[6]};
    case kQemu:
        return head_.size() < 2 ? 2 : 12;
    default:
        return 0;
    }
}

bool ClientMessageFilter::judge(std::vector<uint8_t> &output) {
    const uint8_t type = head_[0];
    auto pass = [&] { output.insert(output.end(), head_.begin(), head_.end()); };
    auto passBetweenUpdates = [&] {
        output.push_back(kBetweenUpdatesMessage);
        pass();
    };
    auto drop = [&] { ++dropped_; };
    auto needs = [&](uint32_t what, const char *name) {
        if (announced_ & what)
            return true;
        refuse(std::string(name) + " without listing its pseudo-encoding");
        return false;
    };

    switch (type) {
    case kSetPixelFormat: {
        std::string why;
        if (!pixelFormatUsable(head_, why))
            return refuse("unusable " + why);
        passBetweenUpdates();
        return true;
    }
    case kSetEncodings: {
        const uint16_t count = u16(head_, 2);
        for (size_t i = 0; i < count; ++i) {
            switch (static_cast<int32_t>(u32(head_, 4 + 4 * i))) {
            case kEncodingXvp:
                announced_ |= kListedXvp;
                break;
            case kEncodingExtendedDesktopSize:
                announced_ |= kListedExtendedDesktopSize;
                break;
            case kEncodingQemuExtendedKeyEvent:
                announced_ |= kListedQemuKeys;
                break;
            case kEncodingFence:
                announced_ |= kListedFence;
                break;
            case kEncodingContinuousUpdates:
                announced_ |= kListedContinuousUpdates;
                break;
            case kEncodingExtendedClipboard:
                announced_ |= kListedExtendedClipboard;
                break;
            default:
                break;
            }
        }
        passBetweenUpdates();
        return true;
    }
    case kFramebufferUpdateRequest:
        pass();
        return true;
    case kKeyEvent:
    case kPointerEvent:
        viewOnly_ ? drop() : pass();
        return true;
    case kClientCutText: {
        // With the extended clipboard a negative length means its format.
        const bool extended = extendedCutText();
        uint32_t length = u32(head_, 4);
        if (extended)
            length = 0u - length;
        bool wanted = !viewOnly_ && length <= kMaxCutText;
        if (extended && length >= 4) {
            // Only text provided: the capabilities would let libvncserver
            // turn the extension off while this filter still reads negative
            // lengths as extended (and a viewer's requests and peeks ask
            // for a server clipboard kvmvncd never sets).
            const uint32_t flags = u32(head_, 8);
            wanted = wanted && (flags & kClipboardProvide) &&
                     !(flags & (kClipboardCaps | kClipboardRequest | kClipboardPeek));
            length -= 4;
        } else if (extended) {
            wanted = false;  // too short for its flags: libvncserver would close
        }
        if (!viewOnly_ && length > kMaxCutText)
            LOG_INFO(kLog, "a viewer's clipboard of %u bytes is over %u: not kept", length,
                     kMaxCutText);
        // However long: a viewer sends its clipboard unasked (TigerVNC on
        // every copy), and skipping costs nothing but the bytes.
        wanted ? pass() : drop();
        payloadLeft_ = length;
        payloadPasses_ = wanted;
        return true;
    }
    case kSetScale:
    case kPalmVncSetScaleFactor:
        if (!scalingLogged_) {
            LOG_INFO(kLog,
                     "a viewer asked the server to scale its picture; not offered (the "
                     "viewer can scale on its side)");
            scalingLogged_ = true;
        }
        drop();
        return true;
    case kEnableContinuousUpdates:
        if (!needs(kListedContinuousUpdates, "EnableContinuousUpdates"))
            return false;
        pass();
        return true;
    case kControl:
        pass();
        payloadLeft_ = u32(head_, 8);
        payloadPasses_ = true;
        return true;
    case kFence:
        if (!needs(kListedFence, "Fence"))
            return false;
        pass();
        return true;
    case kXvp:
        if (!needs(kListedXvp, "xvp"))
            return false;
        pass();
        return true;
    case kSetDesktopSize:
        if (!needs(kListedExtendedDesktopSize, "SetDesktopSize"))
            return false;
        viewOnly_ ? drop() : pass();
        return true;
    case kQemu:
        if (!needs(kListedQemuKeys, "QEMU extended key event"))
            return false;
        viewOnly_ ? drop() : pass();
        return true;
    default:
        return refuse("message type " + std::to_string(type));
    }
}

bool ClientMessageFilter::feed(std::span<const uint8_t> input, std::vector<uint8_t> &output) {
    if (failed_)
        return false;
    size_t at = 0;
    if (!clientInitSeen_ && !input.empty()) {
        output.push_back(input[0]);  // ClientInit: the shared flag
        clientInitSeen_ = true;
        at = 1;
    }
    while (at < input.size()) {
        if (payloadLeft_ > 0) {
            const size_t take =
                static_cast<size_t>(std::min<uint64_t>(payloadLeft_, input.size() - at));
            if (payloadPasses_)
                output.insert(output.end(), input.begin() + at, input.begin() + at + take);
            payloadLeft_ -= take;
            at += take;
            continue;
        }
        if (head_.empty()) {
            head_.push_back(input[at++]);
            if (headSize() == 0)
                return refuse("message type " + std::to_string(head_[0]) +
                              ", which kvmvncd does not take");
        }
        // Grows as the head tells more (a count, a length), re-read each pass.
        for (size_t need = headSize(); head_.size() < need && at < input.size();
             need = headSize()) {
            const size_t take = std::min(need - head_.size(), input.size() - at);
            head_.insert(head_.end(), input.begin() + at, input.begin() + at + take);
            at += take;
            if (head_[0] == kSetEncodings && head_.size() == 4 && u16(head_, 2) > kMaxEncodings)
                return refuse("SetEncodings with " + std::to_string(u16(head_, 2)) +
                              " encodings (at most " + std::to_string(kMaxEncodings) + ")");
            if (head_[0] == kSetDesktopSize && head_.size() == 8 && head_[6] > kMaxDesktopScreens)
                return refuse("SetDesktopSize with " + std::to_string(head_[6]) + " screens");
            if (head_[0] == kFence && head_.size() == 9 && head_[8] > kMaxFencePayload)
                return refuse("a fence with " + std::to_string(head_[8]) + " bytes (at most 64)");
            if (head_[0] == kQemu && head_.size() == 2 && head_[1] != kQemuExtendedKeyEvent)
                return refuse("QEMU message sub-type " + std::to_string(head_[1]));
        }
        if (head_.size() < headSize())
            break;  // the rest comes with the next read
        if (!judge(output))
            return false;
        head_.clear();
    }
    return true;
}

}  // namespace kvmvnc::rfb
