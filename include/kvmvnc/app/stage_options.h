// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kvmvnc/atx/atx_controller.h"
#include "kvmvnc/atx/gpio_atx_pins.h"
#include "kvmvnc/capture/v4l2_options.h"
#include "kvmvnc/config/config.h"
#include "kvmvnc/door/front_door.h"
#include "kvmvnc/encode/h264_encoder.h"
#include "kvmvnc/health/health_monitor.h"
#include "kvmvnc/msd/image_store.h"
#include "kvmvnc/rfb/rfb_server.h"
#include "kvmvnc/target/virtual_machine.h"
#ifdef KVMVNC_HAVE_X11
#include "kvmvnc/capture/x11_capture.h"
#endif

// What each stage is given from its configuration section, one translator
// per options struct. The structs keep defaults of their own (the stages'
// tests build them without a Config); tests/app checks that those are the
// key table's. Whatever is not configuration (the server's input handler,
// the door's credentials and hand-over, the machine's keyboard layout) is
// the daemon's to fill in.
namespace kvmvnc::app {

rfb::RfbServerOptions rfbServerOptionsOf(const config::ServerSection &server);
// RfbServerOptions::pasteChord: the keysyms of [hid] paste_chord.
std::vector<uint32_t> pasteChordOf(const config::HidSection &hid);

// Without the web root: where the panel is found is the daemon's to say.
door::FrontDoorOptions frontDoorOptionsOf(const config::ServerSection &server,
                                          const config::SecuritySection &security);

capture::V4l2Options v4l2OptionsOf(const config::CaptureSection &capture);

#ifdef KVMVNC_HAVE_X11
capture::X11Options x11OptionsOf(const config::CaptureSection &capture);
#endif

// The virtual target: the configured size, else its own.
target::MachineOptions machineOptionsOf(const config::CaptureSection &capture,
                                        const config::VirtualSection &virtualTarget);

atx::GpioAtxOptions gpioAtxOptionsOf(const config::AtxSection &atx);
atx::AtxTimings atxTimingsOf(const config::AtxSection &atx);
// nullopt without [atx] wol_mac.
std::optional<atx::WakeOnLanTarget> wakeOnLanOf(const config::AtxSection &atx);

msd::StoreLimits storeLimitsOf(const config::MsdSection &msd);

health::HealthOptions healthOptionsOf(const config::HealthSection &health);

// [h264]: the encoder's part and the RFB server's (when and how viewers get it).
encode::H264Options h264OptionsOf(const config::H264Section &h264);
rfb::H264UpdateOptions h264UpdateOptionsOf(const config::H264Section &h264);

// [h264] encoder and encoder_device: the encoder made, and the log line
// that says which and why. auto takes the M2M device when it opens and
// encodes H.264, else OpenH264; v4l2m2m takes the device, else OpenH264
// with a warning (never no daemon); software takes OpenH264. `encoder` is
// null only in a build without OpenH264 whose device did not do.
struct H264EncoderChoice {
    std::unique_ptr<encode::H264Encoder> encoder;
    std::string why;
    bool warning = false;  // encoder = v4l2m2m, and the device failed
};
H264EncoderChoice chooseH264Encoder(const config::H264Section &h264);

}  // namespace kvmvnc::app
