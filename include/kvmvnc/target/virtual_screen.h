// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "kvmvnc/capture/frame_source.h"
#include "kvmvnc/target/virtual_machine.h"

namespace kvmvnc::target {

// Everything a virtual-target picture depends on. Equal inputs render equal
// pixels, which is what lets tests compare a viewer's picture with the one
// the target rendered.
struct ScreenInputs {
    MachineView view;
    std::chrono::milliseconds animationTime{};  // drives the moving element
    std::string clock;                          // text of the desktop clock
    int refreshRate = 30;
    bool operator==(const ScreenInputs &other) const {
        return view.phase == other.view.phase && view.outputSize == other.view.outputSize &&
               view.sincePowerOn == other.view.sincePowerOn &&
               view.biosProgress == other.view.biosProgress &&
               view.bootCount == other.view.bootCount &&
               view.input.version == other.view.input.version &&
               view.shuttingDown == other.view.shuttingDown && view.hddLed == other.view.hddLed &&
               view.drive == other.view.drive && view.video == other.view.video &&
               animationTime == other.animationTime && clock == other.clock &&
               refreshRate == other.refreshRate;
    }
};

// Renders the virtual target's display for `inputs` into `out` (resized to
// inputs.view.outputSize): the BIOS text screen or the desktop.
void renderVirtualScreen(const ScreenInputs &inputs, capture::Frame &out);

// The inputs of the still picture shown when animation is off: time stands
// still at zero, so the picture depends on the phase and size only.
ScreenInputs stillInputs(const MachineView &view, int refreshRate);

// The virtual target's video output as a capture source: renders the
// machine at the configured refresh rate, and reports "no signal" while it is
// off, as a capture card would. Without animation a picture is rendered only
// when the machine's phase or resolution changes. A rate below 1 fps is
// taken as 1.
//
// Thread-bound to the capture thread; the machine it watches is shared.
class VirtualScreen final : public capture::FrameSource {
public:
    VirtualScreen(std::shared_ptr<const VirtualMachine> machine, int fps, bool animate);

    capture::CaptureResult capture(capture::Frame &frame,
                                   std::chrono::milliseconds timeout) override;
    capture::SourceStatus status() const override { return status_; }
    std::string description() const override;

private:
    using Clock = std::chrono::steady_clock;

    std::shared_ptr<const VirtualMachine> machine_;
    int fps_;
    bool animate_;
    Clock::duration period_;
    Clock::time_point start_;
    Clock::time_point nextFrameAt_;
    capture::SourceStatus status_;
    ScreenInputs lastInputs_;
    bool rendered_ = false;
};

}  // namespace kvmvnc::target
