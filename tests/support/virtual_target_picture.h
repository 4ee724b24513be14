// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <cstdint>
#include <vector>

#include "kvmvnc/base/geometry.h"
#include "kvmvnc/target/virtual_machine.h"

namespace kvmvnc::testing {

// What the still (non-animated) virtual target shows in `phase` at `size`
// after its first power-on, XRGB8888 with the padding byte zeroed: the
// picture a viewer of `kvmvncd` with `[virtual] animate = false` must get.
// `input` is what its keyboard and mouse have done; `bootCount` how often it
// has been powered on or reset.
std::vector<uint8_t> stillPicture(target::MachinePhase phase, Size size,
                                  const target::InputView &input = {}, unsigned bootCount = 1);

}  // namespace kvmvnc::testing
