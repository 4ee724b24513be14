// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/app/stage_options.h"

#include "kvmvnc/app/security_setup.h"

namespace kvmvnc::app {

rfb::RfbServerOptions rfbServerOptionsOf(const config::ServerSection &server) {
    rfb::RfbServerOptions options;
    options.desktopName = server.desktopName;
    options.maxClients = server.maxClients;
    options.stallTimeout = std::chrono::milliseconds{server.stallTimeoutMs};
    options.xvp = server.xvp;
    return options;
}

door::FrontDoorOptions frontDoorOptionsOf(const config::ServerSection &server,
                                          const config::SecuritySection &security) {
    door::FrontDoorOptions options;
    options.listen = server.listen;
    options.port = server.port;
    options.policy = securityPolicyOf(security);
    options.handshakeTimeout = std::chrono::milliseconds{security.handshakeTimeoutMs};
    options.stallTimeout = std::chrono::milliseconds{server.stallTimeoutMs};
    options.throttle.failuresPerMinute = security.loginFailuresPerMinute;
    return options;
}

capture::V4l2Options v4l2OptionsOf(const config::CaptureSection &capture) {
    capture::V4l2Options options;
    options.device = capture.device;
    options.format = capture.format;
    options.width = capture.width;
    options.height = capture.height;
    options.fps = capture.fps;
    options.input = capture.input;
    options.firstFrameTimeout = std::chrono::milliseconds{capture.firstFrameTimeoutMs};
    return options;
}

#ifdef KVMVNC_HAVE_X11
capture::X11Options x11OptionsOf(const config::CaptureSection &capture) {
    capture::X11Options options;
    options.display = capture.display;
    if (capture.fps > 0)
        options.fps = capture.fps;
    return options;
}
#endif

target::MachineOptions machineOptionsOf(const config::CaptureSection &capture,
                                        const config::VirtualSection &virtualTarget) {
    target::MachineOptions options;
    if (capture.width > 0)
        options.desktopSize = {capture.width, capture.height};
    options.biosDuration = std::chrono::seconds{virtualTarget.bootSeconds};
    return options;
}

atx::GpioAtxOptions gpioAtxOptionsOf(const config::AtxSection &atx) {
    atx::GpioAtxOptions options;
    options.chip = atx.chip;
    options.powerButton = atx.powerButton;
    options.resetButton = atx.resetButton;
    options.powerLed = atx.powerLed;
    options.hddLed = atx.hddLed;
    options.buttonsActiveLow = atx.buttonsActiveLow;
    options.ledsActiveLow = atx.ledsActiveLow;
    return options;
}

atx::AtxTimings atxTimingsOf(const config::AtxSection &atx) {
    atx::AtxTimings timings;
    timings.click = std::chrono::milliseconds{atx.clickMs};
    timings.longPress = std::chrono::milliseconds{atx.longPressMs};
    timings.busyAfter = std::chrono::milliseconds{atx.busyAfterMs};
    return timings;
}

std::optional<atx::WakeOnLanTarget> wakeOnLanOf(const config::AtxSection &atx) {
    if (atx.wolMac.empty())
        return std::nullopt;
    atx::WakeOnLanTarget target;
    atx::parseMacAddress(atx.wolMac, target.mac);  // validated by the config
    target.address = atx.wolAddress;
    target.port = static_cast<uint16_t>(atx.wolPort);
    return target;
}

msd::StoreLimits storeLimitsOf(const config::MsdSection &msd) {
    msd::StoreLimits limits;
    limits.partialMaxAge = std::chrono::hours(msd.partialMaxAgeHours);
    limits.freeSpaceReserve = static_cast<uint64_t>(msd.freeSpaceReserveMib) << 20;
    return limits;
}

health::HealthOptions healthOptionsOf(const config::HealthSection &health) {
    health::HealthOptions options;
    options.interval = std::chrono::milliseconds{health.intervalMs};
    options.hotCelsius = health.hotCelsius;
    options.sysfsRoot = health.sysfsRoot;
    return options;
}

}  // namespace kvmvnc::app
