// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/base/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "kvmvnc/base/error_text.h"
#include "kvmvnc/base/unique_fd.h"

namespace kvmvnc {

void replaceFileAtomically(const std::string &path, std::string_view data, mode_t mode,
                           bool keepExisting) {
    const std::filesystem::path target(path);
    std::filesystem::path directory = target.parent_path();
    if (directory.empty())
        directory = ".";

    auto owner = static_cast<uid_t>(-1);
    auto group = static_cast<gid_t>(-1);
    struct stat existing {};
    const bool exists = keepExisting && ::stat(path.c_str(), &existing) == 0;
    if (exists) {
        mode = existing.st_mode & 07777;
        group = existing.st_gid;
        // Only root may give a file away; anyone else owns what they write.
        if (::geteuid() == 0)
            owner = existing.st_uid;
    } else if (keepExisting && errno != ENOENT) {
        throw std::runtime_error(path + ": " + errorText(errno));
    }

    std::string temporary = (directory / ("." + target.filename().string() + ".XXXXXX")).string();
    UniqueFd fd(::mkostemp(temporary.data(), O_CLOEXEC));
    if (!fd.isValid())
        throw std::runtime_error(directory.string() +
                                 ": cannot create a temporary file: " + errorText(errno));
    // From here on a failure must not leave the temporary file behind.
    auto fail = [&](const char *what) {
        const int error = errno;
        ::unlink(temporary.c_str());
        throw std::runtime_error(path + ": " + what + ": " + errorText(error));
    };
    // chown before chmod: changing the owner may clear set-id bits.
    if ((owner != static_cast<uid_t>(-1) || group != static_cast<gid_t>(-1)) &&
        ::fchown(fd.get(), owner, group) != 0)
        fail("cannot keep the owner and group");
    if (::fchmod(fd.get(), mode) != 0)
        fail("cannot set the mode");
    for (size_t done = 0; done < data.size();) {
        const ssize_t wrote = ::write(fd.get(), data.data() + done, data.size() - done);
        if (wrote < 0 && errno == EINTR)
            continue;
        if (wrote < 0)
            fail("cannot write");
        done += static_cast<size_t>(wrote);
    }
    if (::fsync(fd.get()) != 0)
        fail("cannot sync");
    if (::close(fd.release()) != 0)
        fail("cannot write");
    if (::rename(temporary.c_str(), path.c_str()) != 0)
        fail("cannot replace");
    // The rename itself lasts only once the directory is on disk.
    UniqueFd directoryFd(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!directoryFd.isValid() || ::fsync(directoryFd.get()) != 0)
        throw std::runtime_error(directory.string() + ": cannot sync: " + errorText(errno));
}

}  // namespace kvmvnc
