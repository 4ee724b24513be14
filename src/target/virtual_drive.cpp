// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/target/virtual_drive.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "kvmvnc/base/error_text.h"
#include "kvmvnc/base/unique_fd.h"

namespace kvmvnc::target {

VirtualDrive::VirtualDrive(std::shared_ptr<VirtualMachine> machine)
    : machine_(std::move(machine)) {}

msd::StoreResult VirtualDrive::insert(const std::filesystem::path &path, const std::string &name,
                                      msd::DriveMode mode, bool readOnly) {
    auto failed = [&](const std::string &why) {
        msd::StoreResult result{msd::StoreError::Io, "cannot insert " + path.string() + ": " + why};
        state_.problem = result.message;
        return result;
    };
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    struct stat info {};
    if (!fd.isValid() || ::fstat(fd.get(), &info) != 0)
        return failed(errorText(errno));
    if (!S_ISREG(info.st_mode))
        return failed("not a regular file");
    DriveView view;
    view.name = name;
    view.size = static_cast<uint64_t>(info.st_size);
    view.cdrom = mode == msd::DriveMode::CdRom;
    view.readOnly = view.cdrom || readOnly;
    view.firstBytes.resize(
        static_cast<size_t>(std::min<uint64_t>(view.size, VirtualMachine::kDriveBytesShown)));
    size_t done = 0;
    while (done < view.firstBytes.size()) {
        const ssize_t got = ::pread(fd.get(), view.firstBytes.data() + done,
                                    view.firstBytes.size() - done, static_cast<off_t>(done));
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return failed(got < 0 ? errorText(errno) : "the file is shorter than it says");
        done += static_cast<size_t>(got);
    }

    // Pulled out, then plugged in: what the machine sees of a medium change.
    if (state_.inserted)
        machine_->setDrive(std::nullopt);
    state_ = {true, name, view.size, mode, view.readOnly, ""};
    machine_->setDrive(std::move(view));
    return {};
}

msd::StoreResult VirtualDrive::eject() {
    machine_->setDrive(std::nullopt);
    state_ = {};
    return {};
}

}  // namespace kvmvnc::target
