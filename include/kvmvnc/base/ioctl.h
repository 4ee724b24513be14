// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

namespace kvmvnc {

// ioctl(2) on `fd`, again while a signal interrupts it: 0 or -errno. For
// every kernel device the stages drive (capture, the media graph, the
// memory-to-memory encoder) and the doctor's probe alike.
int xioctl(int fd, unsigned long request, void *arg);

}  // namespace kvmvnc
