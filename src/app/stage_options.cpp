// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/app/stage_options.h"

#include "kvmvnc/app/security_setup.h"
#include "kvmvnc/encode/v4l2_m2m_encoder.h"
#include "kvmvnc/input/key_chord.h"
#ifdef KVMVNC_HAVE_OPENH264
#include "kvmvnc/encode/openh264_encoder.h"
#endif

namespace kvmvnc::app {

rfb::RfbServerOptions rfbServerOptionsOf(const config::ServerSection &server) {
    return {.desktopName = server.desktopName,
            .maxClients = server.maxClients,
            .xvp = server.xvp,
            .stallTimeout = std::chrono::milliseconds{server.stallTimeoutMs}};
}

std::vector<uint32_t> pasteChordOf(const config::HidSection &hid) {
    // The key table checked it.
    return input::parseKeyChord(hid.pasteChord).value_or(std::vector<uint32_t>{});
}

door::FrontDoorOptions frontDoorOptionsOf(const config::ServerSection &server,
                                          const config::SecuritySection &security) {
    door::FrontDoorOptions options;
    options.listen = server.listen;
    options.port = server.port;
    options.rfbPort = server.rfbPort == 0 ? -1 : server.rfbPort;
    options.policy = securityPolicyOf(security);
    options.handshakeTimeout = std::chrono::milliseconds{security.handshakeTimeoutMs};
    options.stallTimeout = std::chrono::milliseconds{server.stallTimeoutMs};
    options.throttle.failuresPerMinute = security.loginFailuresPerMinute;
    return options;
}

capture::V4l2Options v4l2OptionsOf(const config::CaptureSection &capture) {
    return {.device = capture.device,
            .format = capture.format,
            .width = capture.width,
            .height = capture.height,
            .fps = capture.fps,
            .input = capture.input,
            .firstFrameTimeout = std::chrono::milliseconds{capture.firstFrameTimeoutMs}};
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
    return {.chip = atx.chip,
            .powerButton = atx.powerButton,
            .resetButton = atx.resetButton,
            .powerLed = atx.powerLed,
            .hddLed = atx.hddLed,
            .buttonsActiveLow = atx.buttonsActiveLow,
            .ledsActiveLow = atx.ledsActiveLow};
}

atx::AtxTimings atxTimingsOf(const config::AtxSection &atx) {
    return {.click = std::chrono::milliseconds{atx.clickMs},
            .longPress = std::chrono::milliseconds{atx.longPressMs},
            .busyAfter = std::chrono::milliseconds{atx.busyAfterMs}};
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
    return {.partialMaxAge = std::chrono::hours(msd.partialMaxAgeHours),
            .freeSpaceReserve = static_cast<uint64_t>(msd.freeSpaceReserveMib) << 20};
}

health::HealthOptions healthOptionsOf(const config::HealthSection &health) {
    return {.interval = std::chrono::milliseconds{health.intervalMs},
            .hotCelsius = health.hotCelsius,
            .sysfsRoot = health.sysfsRoot};
}

encode::H264Options h264OptionsOf(const config::H264Section &h264) {
    return {.bitrateKbps = h264.bitrateKbps,
            .maxFps = h264.maxFps,
            .gop = h264.gop,
            .minQp = h264.qpMin,
            .maxQp = h264.qpMax};
}

rfb::H264UpdateOptions h264UpdateOptionsOf(const config::H264Section &h264) {
    return {.motion = {.areaPercent = h264.motionPercent,
                       .frames = h264.motionFrames,
                       .still = std::chrono::milliseconds{h264.stillMs}},
            .sharpen = h264.sharpen};
}

namespace {

// OpenH264, or null in a build without it; `why` ends the log line.
H264EncoderChoice software(const std::string &why, bool warning) {
    H264EncoderChoice choice;
#ifdef KVMVNC_HAVE_OPENH264
    choice.encoder = std::make_unique<encode::OpenH264Encoder>();
    choice.why = "H.264 by OpenH264 " + why;
#else
    choice.why = "no H.264 (kvmvncd was built without OpenH264) " + why;
#endif
    choice.warning = warning;
    return choice;
}

}  // namespace

H264EncoderChoice chooseH264Encoder(const config::H264Section &h264) {
    if (h264.encoder == config::H264EncoderKind::Software)
        return software("([h264] encoder = software)", false);
    const bool autoChosen = h264.encoder == config::H264EncoderKind::Auto;
    auto device = std::make_unique<encode::V4l2M2mEncoder>(h264.encoderDevice);
    std::string error;
    if (!device->open(error)) {
        if (autoChosen)
            return software("([h264] encoder = auto: " + error + ")", false);
        return software(
            "instead of " + h264.encoderDevice + " ([h264] encoder = v4l2m2m): " + error, true);
    }
    H264EncoderChoice choice;
    choice.why = std::string("H.264 by the ") + device->name() + " ([h264] encoder = " +
                 (autoChosen ? "auto: it opens and encodes H.264)" : "v4l2m2m)");
    choice.encoder = std::move(device);
    return choice;
}

}  // namespace kvmvnc::app
