// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "kvmvnc/base/ioctl.h"

namespace kvmvnc::capture {

// One open V4L2 device node, as V4l2Capture uses it: the calls it makes on
// a descriptor, nothing more. The seam between the capture and the kernel:
// openV4l2Device() passes each call to the kernel, and tests play a device
// behind the same calls (a USB dongle that lists modes it cannot deliver),
// which the host kernel, without V4L2, could not give them.
//
// Thread-bound, like the V4l2Capture that owns it. Buffers mapped with map()
// are unmapped before the device is destroyed.
class V4l2Device {
public:
    virtual ~V4l2Device() = default;

    // A VIDIOC_* request: 0 or -errno (EINTR is retried).
    virtual int ioctl(unsigned long request, void *arg) = 0;
    // Maps `length` bytes of the buffer at `offset` (VIDIOC_QUERYBUF's
    // m.offset) for reading: the address, or nullptr with `error` set to
    // -errno.
    virtual void *map(size_t length, off_t offset, int &error) = 0;
    virtual void unmap(void *address, size_t length) = 0;
    // Waits at most `timeout` for `events` (POLLIN, POLLPRI): the events that
    // occurred (POLLERR and POLLHUP among them), 0 when none did or a signal
    // interrupted the wait, or -errno.
    virtual int poll(short events, std::chrono::milliseconds timeout) = 0;
};

// Opens the device node `path`: the device, or nullptr with `error` set to
// -errno.
using V4l2Opener = std::function<std::unique_ptr<V4l2Device>(const std::string &path, int &error)>;

// ioctl(2) on `fd`, again while a signal interrupts it (base/ioctl.h).
using kvmvnc::xioctl;

// The kernel's device: open(2) (read-write, non-blocking), ioctl(2), mmap(2)
// and poll(2) on one descriptor, closed on destruction.
std::unique_ptr<V4l2Device> openV4l2Device(const std::string &path, int &error);

}  // namespace kvmvnc::capture
