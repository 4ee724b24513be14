// SPDX-License-Identifier: GPL-2.0-or-later
#include "virtual_target_picture.h"

#include "kvmvnc/target/virtual_screen.h"
#include "test_viewer.h"

namespace kvmvnc::testing {

std::vector<uint8_t> stillPicture(target::MachinePhase phase, Size size,
                                  const target::InputView &input, unsigned bootCount) {
    target::MachineView view;
    view.input = input;
    view.phase = phase;
    view.outputSize = size;
    view.bootCount = bootCount;
    capture::Frame frame;
    target::renderVirtualScreen(target::stillInputs(view, 30), frame);
    return withoutPadding(std::move(frame.pixels));
}

}  // namespace kvmvnc::testing
