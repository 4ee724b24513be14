// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include "kvmvnc/base/geometry.h"
#include "kvmvnc/capture/frame.h"
#include "kvmvnc/capture/frame_source.h"

namespace kvmvnc::capture {

// Renders the screen viewers see while a source has no picture: the state in
// large letters ("NO SIGNAL") and the detail below it ("/dev/video0: No such
// file or directory"). The picture depends only on the status and size, so a
// lasting outage is a static screen and costs nothing on the wire.
void renderStatusScreen(const SourceStatus &status, Size size, Frame &out);

}  // namespace kvmvnc::capture
