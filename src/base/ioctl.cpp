// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/base/ioctl.h"

#include <sys/ioctl.h>

#include <cerrno>

namespace kvmvnc {

int xioctl(int fd, unsigned long request, void *arg) {
    int ret;
    do {
        ret = ::ioctl(fd, request, arg);
    } while (ret < 0 && errno == EINTR);
    return ret < 0 ? -errno : 0;
}

}  // namespace kvmvnc
