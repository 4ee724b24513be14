// SPDX-License-Identifier: GPL-2.0-or-later
// ImageStore: the folder, the names an image may have, the images in it,
// deleting them, and the list of uploads. The uploads themselves are in
// image_upload.cpp.
#include "kvmvnc/msd/image_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>

#include "image_store_impl.h"
#include "kvmvnc/base/error_text.h"
#include "kvmvnc/base/log.h"
#include "kvmvnc/base/utf8.h"

namespace kvmvnc::msd {

namespace {

class SystemDiskSpace final : public DiskSpace {
public:
    int available(const std::filesystem::path &directory, uint64_t &bytes) override {
        struct statvfs fs {};
        if (::statvfs(directory.c_str(), &fs) != 0)
            return errno;
        bytes = static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize;
        return 0;
    }
    int preallocate(int fd, uint64_t size) override {
        // Not posix_fallocate(): where the file system cannot allocate
        // ahead, glibc's stand-in writes into every block, slowly, and on a
        // copy-on-write file system claims nothing.
        while (::fallocate(fd, 0, 0, static_cast<off_t>(size)) != 0) {
            if (errno != EINTR)
                return errno;
        }
        return 0;
    }
};

}  // namespace

ImageStore::ImageStore(std::filesystem::path directory, StoreLimits limits,
                       std::unique_ptr<DiskSpace> space)
    : impl_(std::make_unique<Impl>()) {
    impl_->directory = std::move(directory);
    impl_->limits = limits;
    impl_->space = space ? std::move(space) : std::make_unique<SystemDiskSpace>();
    std::error_code error;
    std::filesystem::create_directories(impl_->directory, error);
    if (error)
        throw std::runtime_error("cannot create the image folder " + impl_->directory.string() +
                                 ": " + error.message());
    if (!std::filesystem::is_directory(impl_->directory))
        throw std::runtime_error("the image folder " + impl_->directory.string() +
                                 " is not a directory");
    if (::access(impl_->directory.c_str(), W_OK | X_OK) != 0)
        throw std::runtime_error("the image folder " + impl_->directory.string() +
                                 " is not writable: " + errorText(errno));
    std::lock_guard lock(impl_->mutex);
    impl_->expire(nullptr);
}

ImageStore::~ImageStore() {
    std::unique_lock lock(impl_->mutex);
    for (auto &[name, upload] : impl_->active) {
        impl_->waitIdle(lock, name);
        if (const int error = impl_->confirm(*upload))
            LOG_WARN(kLog, "upload of %s: cannot record its progress: %s", name.c_str(),
                     errorText(error).c_str());
    }
}

const std::filesystem::path &ImageStore::directory() const { return impl_->directory; }

bool ImageStore::validName(std::string_view name, std::string &why) {
    if (name.empty()) {
        why = "the name is empty";
        return false;
    }
    if (name.size() > kNameMax) {
        why = "the name is longer than 255 bytes";
        return false;
    }
    if (name == "." || name == "..") {
        why = "\".\" and \"..\" are not names";
        return false;
    }
    if (name.front() == '.') {
        why = "the name starts with '.'";
        return false;
    }
    size_t i = 0;
    while (i < name.size()) {
        const std::optional<char32_t> code = decodeUtf8At(name, i);
        if (!code) {
            why = "the name is not valid UTF-8";
            return false;
        }
        if (*code == '/') {
            why = "the name contains '/'";
            return false;
        }
        if (*code < 0x20 || (*code >= 0x7f && *code <= 0x9f)) {
            why = "the name contains a control character";
            return false;
        }
    }
    return true;
}

std::vector<ImageInfo> ImageStore::list() const {
    std::vector<ImageInfo> images;
    std::error_code error;
    for (const auto &entry : std::filesystem::directory_iterator(impl_->directory, error)) {
        const std::string name = entry.path().filename().string();
        std::string why;
        std::error_code statError;
        if (!validName(name, why) || !entry.is_regular_file(statError))
            continue;
        const uint64_t size = entry.file_size(statError);
        if (!statError)
            images.push_back({name, size});
    }
    std::sort(images.begin(), images.end(),
              [](const ImageInfo &a, const ImageInfo &b) { return a.name < b.name; });
    return images;
}

std::optional<ImageInfo> ImageStore::find(const std::string &name) const {
    std::string why;
    if (!validName(name, why))
        return std::nullopt;
    struct stat info {};
    if (::stat((impl_->directory / name).c_str(), &info) != 0 || !S_ISREG(info.st_mode))
        return std::nullopt;
    return ImageInfo{name, static_cast<uint64_t>(info.st_size)};
}

std::optional<std::filesystem::path> ImageStore::pathOf(const std::string &name) const {
    if (!find(name))
        return std::nullopt;
    return impl_->directory / name;
}

StoreResult ImageStore::remove(const std::string &name) {
    std::string why;
    if (!validName(name, why))
        return fail(StoreError::InvalidName, why);
    Impl &d = *impl_;
    std::lock_guard lock(d.mutex);
    if (d.active.count(name))
        return fail(StoreError::Busy, "a session uploads " + name);
    const std::filesystem::path path = d.directory / name;
    struct stat info {};
    if (::lstat(path.c_str(), &info) == 0) {
        if (::unlink(path.c_str()) != 0)
            return ioError("cannot delete " + name, errno);
        d.syncDirectory();
        return {};
    }
    if (::access(d.statePath(name).c_str(), F_OK) == 0 ||
        ::access(d.dataPath(name).c_str(), F_OK) == 0) {
        d.discardFiles(name);
        return {};
    }
    return fail(StoreError::NotFound, "no image or upload named " + name);
}

std::vector<UploadProgress> ImageStore::uploads() const {
    const Impl &d = *impl_;
    std::lock_guard lock(d.mutex);
    std::vector<UploadProgress> progress;
    for (const auto &[name, upload] : d.active)
        progress.push_back({name, upload->state.confirmed, upload->state.size, true});
    std::error_code error;
    for (const auto &entry : std::filesystem::directory_iterator(d.directory, error)) {
        const std::string file = entry.path().filename().string();
        if (file.size() < 7 || file.front() != '.' || !file.ends_with(".state"))
            continue;
        std::optional<UploadState> state = readState(entry.path());
        if (!state || d.active.count(state->name) || d.statePath(state->name) != entry.path())
            continue;
        progress.push_back({state->name, state->confirmed, state->size, false});
    }
    std::sort(progress.begin(), progress.end(),
              [](const UploadProgress &a, const UploadProgress &b) { return a.name < b.name; });
    return progress;
}

const char *storeErrorName(StoreError error) {
    switch (error) {
    case StoreError::None:
        return "none";
    case StoreError::InvalidName:
        return "invalid name";
    case StoreError::NotFound:
        return "not found";
    case StoreError::AlreadyExists:
        return "already exists";
    case StoreError::Busy:
        return "busy";
    case StoreError::NoSpace:
        return "no space";
    case StoreError::BadOffset:
        return "bad offset";
    case StoreError::SizeMismatch:
        return "size mismatch";
    case StoreError::ChecksumMismatch:
        return "checksum mismatch";
    case StoreError::Io:
        return "I/O error";
    case StoreError::InUse:
        return "in use";
    }
    return "unknown";
}

}  // namespace kvmvnc::msd
