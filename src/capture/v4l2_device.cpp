// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/capture/v4l2_device.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include <cerrno>
#include <utility>

#include "kvmvnc/base/unique_fd.h"

namespace kvmvnc::capture {

namespace {

class KernelV4l2Device final : public V4l2Device {
public:
    explicit KernelV4l2Device(UniqueFd fd) : fd_(std::move(fd)) {}

    int ioctl(unsigned long request, void *arg) override { return xioctl(fd_.get(), request, arg); }

    void *map(size_t length, off_t offset, int &error) override {
        void *address =
            ::mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd_.get(), offset);
        if (address == MAP_FAILED) {
            error = -errno;
            return nullptr;
        }
        return address;
    }

    void unmap(void *address, size_t length) override { ::munmap(address, length); }

    int poll(short events, std::chrono::milliseconds timeout) override {
        pollfd pfd{fd_.get(), events, 0};
        int ret = ::poll(&pfd, 1, static_cast<int>(timeout.count()));
        if (ret < 0)
            return errno == EINTR ? 0 : -errno;
        return ret == 0 ? 0 : pfd.revents;
    }

private:
    UniqueFd fd_;
};

}  // namespace

std::unique_ptr<V4l2Device> openV4l2Device(const std::string &path, int &error) {
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC));
    if (!fd.isValid()) {
        error = -errno;
        return nullptr;
    }
    return std::make_unique<KernelV4l2Device>(std::move(fd));
}

}  // namespace kvmvnc::capture
