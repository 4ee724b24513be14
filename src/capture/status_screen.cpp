// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/capture/status_screen.h"

#include <algorithm>
#include <string>

#include "kvmvnc/gfx/canvas.h"

namespace kvmvnc::capture {

const char *signalStateTitle(SignalState state) {
    switch (state) {
    case SignalState::Ok:
        return "SIGNAL OK";
    case SignalState::NoSignal:
        return "NO SIGNAL";
    case SignalState::NoSync:
        return "NO SYNC";
    case SignalState::OutOfRange:
        return "OUT OF RANGE";
    case SignalState::NoCable:
        return "NO CABLE";
    case SignalState::NoDevice:
        return "NO DEVICE";
    case SignalState::DeviceError:
        return "CAPTURE ERROR";
    }
    return "NO SIGNAL";
}

const char *signalStateName(SignalState state) {
    switch (state) {
    case SignalState::Ok:
        return "ok";
    case SignalState::NoSignal:
        return "no_signal";
    case SignalState::NoSync:
        return "no_sync";
    case SignalState::OutOfRange:
        return "out_of_range";
    case SignalState::NoCable:
        return "no_cable";
    case SignalState::NoDevice:
        return "no_device";
    case SignalState::DeviceError:
        return "device_error";
    }
    return "no_signal";
}

void renderStatusScreen(const SourceStatus &status, Size size, Frame &out) {
    out.allocate(size.width, size.height);
    gfx::Canvas canvas(out.pixels.data(), out.width, out.height, out.stride);
    canvas.fill(gfx::rgb(0x10, 0x12, 0x16));

    const std::string title = signalStateTitle(status.state);
    const int titleScale = std::clamp(size.width / 240, 1, 10);
    const int detailScale = std::max(1, titleScale / 3);
    const int lineHeight = gfx::Font::console().height();
    const int titleWidth = gfx::Canvas::textWidth(title, titleScale);
    const int titleY = size.height / 2 - lineHeight * titleScale;
    canvas.drawText((size.width - titleWidth) / 2, titleY, title, gfx::rgb(0xe8, 0xe8, 0xe8),
                    titleScale);

    // Long details are cut to the width of the screen rather than wrapped.
    std::string detail = status.detail;
    const int maxChars = size.width / (8 * detailScale) - 2;
    if (maxChars > 3 && static_cast<int>(detail.size()) > maxChars)
        detail = detail.substr(0, maxChars - 3) + "...";
    const int detailWidth = gfx::Canvas::textWidth(detail, detailScale);
    canvas.drawText((size.width - detailWidth) / 2, titleY + (lineHeight + 8) * titleScale, detail,
                    gfx::rgb(0xa0, 0xa8, 0xb0), detailScale);
}

}  // namespace kvmvnc::capture
