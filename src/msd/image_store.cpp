// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/msd/image_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <system_error>

#include "kvmvnc/base/log.h"
#include "kvmvnc/base/sha256.h"
#include "kvmvnc/base/unique_fd.h"
#include "kvmvnc/base/utf8.h"

namespace kvmvnc::msd {

namespace {

constexpr const char *kLog = "msd";
// Unsynced bytes an upload may hold before its data is fsynced and the
// confirmed length recorded.
constexpr uint64_t kSyncInterval = 4u << 20;
constexpr size_t kNameMax = 255;
constexpr size_t kRehashChunk = 1u << 20;

StoreResult fail(StoreError error, std::string message) { return {error, std::move(message)}; }

StoreResult ioError(const std::string &what, int error) {
    return fail(StoreError::Io, what + ": " + std::strerror(error));
}

// "64.0 MiB", for messages people read.
std::string bytesText(uint64_t bytes) {
    char text[48];
    if (bytes < (1u << 20))
        std::snprintf(text, sizeof(text), "%llu bytes", static_cast<unsigned long long>(bytes));
    else if (bytes < (1ull << 30))
        std::snprintf(text, sizeof(text), "%.1f MiB", static_cast<double>(bytes) / (1u << 20));
    else
        std::snprintf(text, sizeof(text), "%.1f GiB", static_cast<double>(bytes) / (1ull << 30));
    return text;
}

bool isNoRoom(int error) { return error == ENOSPC || error == EDQUOT || error == EFBIG; }

int fsyncPath(const std::filesystem::path &path, int flags) {
    UniqueFd fd(::open(path.c_str(), flags | O_CLOEXEC));
    if (!fd.isValid() || ::fsync(fd.get()) != 0)
        return errno;
    return 0;
}

// Images are larger than 2 GiB: on 32-bit targets the build asks for a
// 64-bit off_t (_FILE_OFFSET_BITS=64, CMakeLists.txt), without which stat()
// fails on them and pwrite() cannot reach their end.
static_assert(sizeof(off_t) == 8, "disk images need a 64-bit off_t");

int writeAll(int fd, const uint8_t *data, size_t size, off_t offset) {
    while (size > 0) {
        const ssize_t written = ::pwrite(fd, data, size, offset);
        if (written < 0) {
            if (errno == EINTR)
                continue;
            return errno;
        }
        data += written;
        size -= static_cast<size_t>(written);
        offset += written;
    }
    return 0;
}

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

// The suffixes of an upload's hidden files. They end in different letters,
// so ".STEM" plus one of them names one stem's file and no other's.
constexpr std::string_view kSuffixes[] = {".upload", ".state", ".state.tmp"};

// What a state sidecar records.
struct UploadState {
    std::string name;
    uint64_t size = 0;
    Sha256 sha256{};
    uint64_t confirmed = 0;
};

std::optional<UploadState> readState(const std::filesystem::path &path) {
    FILE *file = std::fopen(path.c_str(), "re");
    if (!file)
        return std::nullopt;
    std::string text;
    char buffer[512];
    size_t got = 0;
    while ((got = std::fread(buffer, 1, sizeof(buffer), file)) > 0)
        text.append(buffer, got);
    std::fclose(file);

    UploadState state;
    bool haveName = false, haveSize = false, haveSha = false, haveConfirmed = false;
    std::istringstream lines(text);
    std::string line;
    while (std::getline(lines, line)) {
        const size_t equals = line.find('=');
        if (equals == std::string::npos)
            continue;
        const std::string key = line.substr(0, equals), value = line.substr(equals + 1);
        char *end = nullptr;
        if (key == "name") {
            state.name = value;
            haveName = true;
        } else if (key == "size") {
            state.size = std::strtoull(value.c_str(), &end, 10);
            haveSize = !value.empty() && *end == '\0';
        } else if (key == "sha256") {
            const std::optional<Sha256> digest = parseSha256Hex(value);
            haveSha = digest.has_value();
            if (haveSha)
                state.sha256 = *digest;
        } else if (key == "confirmed") {
            state.confirmed = std::strtoull(value.c_str(), &end, 10);
            haveConfirmed = !value.empty() && *end == '\0';
        }
    }
    if (!haveName || !haveSize || !haveSha || !haveConfirmed || state.confirmed > state.size)
        return std::nullopt;
    return state;
}

}  // namespace

// One upload a session owns. Its file and hash are touched only by the
// call that set `busy` (with the store's mutex released); everything else
// under the mutex.
struct ActiveUpload {
    uint64_t owner = 0;
    UploadState state;
    uint64_t written = 0;  // the current end: confirmed <= written <= size
    UniqueFd fd;
    std::unique_ptr<Sha256Hasher> hash;  // over the first `written` bytes
    bool busy = false;                   // a call works on the file without the mutex
    bool preallocated = false;           // every block of the file is claimed
};

struct ImageStore::Impl {
    std::filesystem::path directory;
    StoreLimits limits;
    std::unique_ptr<DiskSpace> space;
    mutable std::mutex mutex;
    std::condition_variable idle;  // an upload stopped being busy
    std::map<std::string, std::unique_ptr<ActiveUpload>> active;

    // The hidden files' common stem: the name itself, or for a name too long
    // to carry the prefix and suffixes, '.' and a digest of it (the sidecar
    // keeps the name). No name starts with '.', so no name's own stem is
    // ever another's digest.
    std::string stem(const std::string &name) const {
        if (name.size() + std::strlen("..state.tmp") <= kNameMax)
            return name;
        return "." + sha256Hex(sha256(name));
    }
    std::filesystem::path dataPath(const std::string &name) const {
        return directory / ("." + stem(name) + ".upload");
    }
    std::filesystem::path statePath(const std::string &name) const {
        return directory / ("." + stem(name) + ".state");
    }

    int syncDirectory() const { return fsyncPath(directory, O_RDONLY | O_DIRECTORY); }

    // Replaces the sidecar atomically: temporary file, fsync, rename, fsync
    // of the directory. Returns 0 or an errno.
    int writeState(const UploadState &state) const {
        const std::filesystem::path path = statePath(state.name);
        const std::filesystem::path temporary = path.string() + ".tmp";
        const std::string text = "name=" + state.name + "\nsize=" + std::to_string(state.size) +
                                 "\nsha256=" + sha256Hex(state.sha256) +
                                 "\nconfirmed=" + std::to_string(state.confirmed) + "\n";
        UniqueFd fd(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
        if (!fd.isValid())
            return errno;
        int error =
            writeAll(fd.get(), reinterpret_cast<const uint8_t *>(text.data()), text.size(), 0);
        if (error == 0 && ::fsync(fd.get()) != 0)
            error = errno;
        fd.reset();
        if (error == 0 && ::rename(temporary.c_str(), path.c_str()) != 0)
            error = errno;
        if (error != 0) {
            ::unlink(temporary.c_str());
            return error;
        }
        return syncDirectory();
    }

    // Makes everything written durable and records it. With the upload not
    // busy (the caller holds the mutex or set `busy` itself).
    // The upload of `name` if `owner` holds it and no write to it runs;
    // otherwise null and why in `refused`. With mutex held.
    ActiveUpload *ownedUpload(const std::string &name, uint64_t owner, StoreResult &refused) {
        auto it = active.find(name);
        if (it == active.end()) {
            refused = fail(StoreError::NotFound, "no upload of " + name + " has begun");
            return nullptr;
        }
        ActiveUpload &upload = *it->second;
        if (upload.owner != owner) {
            refused = fail(StoreError::Busy, "another session uploads " + name);
            return nullptr;
        }
        if (upload.busy) {
            refused = fail(StoreError::Busy, "a write to " + name + " is in progress");
            return nullptr;
        }
        return &upload;
    }

    int confirm(ActiveUpload &upload) const {
        if (upload.written == upload.state.confirmed)
            return 0;
        if (::fdatasync(upload.fd.get()) != 0)
            return errno;
        UploadState state = upload.state;
        state.confirmed = upload.written;
        if (const int error = writeState(state))
            return error;
        upload.state.confirmed = upload.written;
        return 0;
    }

    void discardFiles(const std::string &name) const {
        ::unlink(dataPath(name).c_str());
        ::unlink(statePath(name).c_str());
        syncDirectory();
    }

    // Opens (creating and preallocating if new) the upload's file and
    // hashes its confirmed prefix. Runs with the upload busy, without the
    // mutex.
    StoreResult open(ActiveUpload &upload, bool fresh) const {
        const std::string &name = upload.state.name;
        const std::filesystem::path path = dataPath(name);
        upload.fd.reset(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
        if (!upload.fd.isValid())
            return ioError("cannot open " + path.string(), errno);
        // Claimed now, the room cannot be taken by whatever fills the disk
        // meanwhile; a resume claims what an earlier attempt did not.
        const int claimed =
            upload.state.size > 0 ? space->preallocate(upload.fd.get(), upload.state.size) : 0;
        if (isNoRoom(claimed))
            return fail(StoreError::NoSpace,
                        "no room for " + name + " (" + bytesText(upload.state.size) + ") in " +
                            directory.string() + ": " + std::strerror(claimed));
        if (claimed != 0 && claimed != EOPNOTSUPP)
            return ioError("cannot preallocate " + path.string(), claimed);
        upload.preallocated = claimed == 0;
        if (!upload.preallocated)
            LOG_INFO(kLog, "%s cannot allocate ahead: each chunk of %s is checked for room",
                     directory.c_str(), name.c_str());
        upload.hash = std::make_unique<Sha256Hasher>();
        std::vector<uint8_t> buffer(kRehashChunk);
        uint64_t done = 0;
        while (done < upload.state.confirmed) {
            const size_t want = static_cast<size_t>(
                std::min<uint64_t>(buffer.size(), upload.state.confirmed - done));
            const ssize_t got =
                ::pread(upload.fd.get(), buffer.data(), want, static_cast<off_t>(done));
            if (got < 0 && errno == EINTR)
                continue;
            if (got <= 0)
                return ioError("cannot read back " + path.string(), got < 0 ? errno : EIO);
            upload.hash->update({buffer.data(), static_cast<size_t>(got)});
            done += static_cast<uint64_t>(got);
        }
        upload.written = upload.state.confirmed;
        if (fresh) {
            if (const int error = writeState(upload.state))
                return ioError("cannot record " + statePath(name).string(), error);
        }
        return {};
    }

    // Writes a chunk at the upload's end. With the upload busy, without the
    // mutex.
    StoreResult write(ActiveUpload &upload, const uint8_t *data, size_t size) const {
        const std::string &name = upload.state.name;
        if (!upload.preallocated) {
            uint64_t available = 0;
            if (const int error = space->available(directory, available))
                return ioError("cannot query the free space of " + directory.string(), error);
            if (size > available || available - size < limits.freeSpaceReserve)
                return noRoom(upload, directory.string() + " has " + bytesText(available) +
                                          " free and keeps " + bytesText(limits.freeSpaceReserve) +
                                          " of it");
        }
        if (const int error =
                writeAll(upload.fd.get(), data, size, static_cast<off_t>(upload.written))) {
            if (isNoRoom(error))
                return noRoom(upload, std::strerror(error));
            return ioError("writing " + name, error);
        }
        upload.hash->update({data, size});
        upload.written += size;
        if (upload.written - upload.state.confirmed >= kSyncInterval ||
            upload.written == upload.state.size) {
            if (const int error = confirm(upload))
                return isNoRoom(error) ? noRoom(upload, std::strerror(error))
                                       : ioError("syncing " + name, error);
        }
        return {};
    }

    // Refuses a chunk the file system has no room for, after recording what
    // came before it (the connection may well end here).
    StoreResult noRoom(ActiveUpload &upload, const std::string &why) const {
        const std::string &name = upload.state.name;
        if (const int error = confirm(upload))
            LOG_WARN(kLog, "upload of %s: cannot record its progress: %s", name.c_str(),
                     std::strerror(error));
        LOG_WARN(kLog, "upload of %s stopped at %llu of %llu bytes: no room (%s)", name.c_str(),
                 static_cast<unsigned long long>(upload.state.confirmed),
                 static_cast<unsigned long long>(upload.state.size), why.c_str());
        return fail(StoreError::NoSpace, "no room to write " + name + ": " + why + "; its first " +
                                             bytesText(upload.state.confirmed) +
                                             " are kept for a resume");
    }

    // Deletes the hidden files of partial uploads no session holds that went
    // unchanged for longer than the limit, and strays in the hidden files'
    // names (an older layout's, a crash's temporary file). `spared` is an
    // upload being begun: someone came back for it. With the mutex held.
    void expire(const std::string *spared) {
        if (limits.partialMaxAge.count() <= 0)
            return;
        std::set<std::string> held;
        for (const auto &[name, upload] : active)
            held.insert(stem(name));
        if (spared)
            held.insert(stem(*spared));
        struct Files {
            std::vector<std::filesystem::path> paths;
            time_t newest = 0;
        };
        std::map<std::string, Files> stems;
        std::error_code error;
        for (const auto &entry : std::filesystem::directory_iterator(directory, error)) {
            const std::string file = entry.path().filename().string();
            if (file.front() != '.')
                continue;
            for (std::string_view suffix : kSuffixes) {
                if (file.size() <= suffix.size() + 1 || !file.ends_with(suffix))
                    continue;
                struct stat info {};
                if (::lstat(entry.path().c_str(), &info) != 0 || !S_ISREG(info.st_mode))
                    break;
                Files &files = stems[file.substr(1, file.size() - 1 - suffix.size())];
                files.paths.push_back(entry.path());
                files.newest = std::max(files.newest, info.st_mtime);
                break;
            }
        }
        const time_t now = ::time(nullptr);
        bool removed = false;
        for (const auto &[fileStem, files] : stems) {
            if (held.count(fileStem) || now - files.newest <= limits.partialMaxAge.count())
                continue;
            const double hours = static_cast<double>(now - files.newest) / 3600;
            const std::optional<UploadState> state =
                readState(directory / ("." + fileStem + ".state"));
            if (state && stem(state->name) == fileStem)
                LOG_INFO(kLog,
                         "deleting the abandoned upload of %s (%llu of %llu bytes), untouched "
                         "for %.1f hours",
                         state->name.c_str(), static_cast<unsigned long long>(state->confirmed),
                         static_cast<unsigned long long>(state->size), hours);
            for (const std::filesystem::path &path : files.paths) {
                if (!state || stem(state->name) != fileStem)
                    LOG_INFO(kLog, "deleting %s, left from an upload and untouched for %.1f hours",
                             path.c_str(), hours);
                if (::unlink(path.c_str()) != 0 && errno != ENOENT)
                    LOG_WARN(kLog, "cannot delete %s: %s", path.c_str(), std::strerror(errno));
            }
            removed = true;
        }
        if (removed)
            syncDirectory();
    }

    // Waits until no call works on `name`'s upload; with `lock` held.
    void waitIdle(std::unique_lock<std::mutex> &lock, const std::string &name) {
        idle.wait(lock, [&] {
            auto it = active.find(name);
            return it == active.end() || !it->second->busy;
        });
    }
};

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
                                 " is not writable: " + std::strerror(errno));
    std::lock_guard lock(impl_->mutex);
    impl_->expire(nullptr);
}

ImageStore::~ImageStore() {
    std::unique_lock lock(impl_->mutex);
    for (auto &[name, upload] : impl_->active) {
        impl_->waitIdle(lock, name);
        if (const int error = impl_->confirm(*upload))
            LOG_WARN(kLog, "upload of %s: cannot record its progress: %s", name.c_str(),
                     std::strerror(error));
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

StoreResult ImageStore::beginUpload(uint64_t owner, const std::string &name, uint64_t size,
                                    const Sha256 &sha256, uint64_t &resumeAt) {
    resumeAt = 0;
    std::string why;
    if (!validName(name, why))
        return fail(StoreError::InvalidName, why);
    Impl &d = *impl_;
    std::unique_lock lock(d.mutex);
    struct stat info {};
    if (::lstat((d.directory / name).c_str(), &info) == 0)
        return fail(StoreError::AlreadyExists, "an image named " + name + " exists");

    if (auto it = d.active.find(name); it != d.active.end()) {
        ActiveUpload &upload = *it->second;
        if (upload.owner != owner)
            return fail(StoreError::Busy, "another session uploads " + name);
        if (upload.busy)
            return fail(StoreError::Busy, "a write to " + name + " is in progress");
        if (upload.state.size == size && upload.state.sha256 == sha256) {
            // The owner starts over (its connection broke unnoticed):
            // continue where the written bytes end.
            if (const int error = d.confirm(upload))
                return ioError("cannot record the upload of " + name, error);
            resumeAt = upload.written;
            return {};
        }
        d.active.erase(it);
        d.discardFiles(name);
    }

    const auto held =
        static_cast<size_t>(std::count_if(d.active.begin(), d.active.end(), [&](const auto &entry) {
            return entry.second->owner == owner;
        }));
    if (held >= d.limits.uploadsPerSession)
        return fail(StoreError::Busy, "this session has " + std::to_string(held) +
                                          " uploads open, the most one may; finish one first");
    if (d.active.size() >= d.limits.uploads)
        return fail(StoreError::Busy,
                    std::to_string(d.active.size()) +
                        " uploads are open, the most the store takes at once; try again when "
                        "one ends");
    d.expire(&name);

    // An earlier attempt on disk resumes if it is the same file.
    bool fresh = true;
    uint64_t allocated = 0;
    const std::optional<UploadState> earlier = readState(d.statePath(name));
    if (earlier && earlier->name == name && earlier->size == size && earlier->sha256 == sha256 &&
        ::stat(d.dataPath(name).c_str(), &info) == 0 &&
        static_cast<uint64_t>(info.st_size) >= earlier->confirmed) {
        fresh = false;
        allocated = static_cast<uint64_t>(info.st_blocks) * 512;
    } else if (earlier || ::access(d.dataPath(name).c_str(), F_OK) == 0) {
        LOG_INFO(kLog, "discarding an earlier, different upload of %s", name.c_str());
        d.discardFiles(name);
    }

    uint64_t available = 0;
    if (const int error = d.space->available(d.directory, available))
        return ioError("cannot query the free space of " + d.directory.string(), error);
    const uint64_t missing = size > allocated ? size - allocated : 0;
    if (missing > 0 && (missing > available || available - missing < d.limits.freeSpaceReserve))
        return fail(StoreError::NoSpace, name + " needs " + bytesText(missing) + " more and " +
                                             d.directory.string() + " keeps " +
                                             bytesText(d.limits.freeSpaceReserve) +
                                             " free; it has " + bytesText(available) + " free");

    auto owned = std::make_unique<ActiveUpload>();
    ActiveUpload &upload = *owned;
    upload.owner = owner;
    upload.state = fresh ? UploadState{name, size, sha256, 0} : *earlier;
    upload.busy = true;
    d.active.emplace(name, std::move(owned));

    // Preallocating or re-hashing a large prefix takes a while: the upload
    // is marked busy and the store stays usable meanwhile.
    lock.unlock();
    StoreResult result = d.open(upload, fresh);
    lock.lock();
    upload.busy = false;
    if (!result) {
        upload.fd.reset();
        d.active.erase(name);
        if (fresh)
            d.discardFiles(name);
    } else {
        resumeAt = upload.written;
        if (!fresh)
            LOG_INFO(kLog, "resuming the upload of %s at %llu of %llu bytes", name.c_str(),
                     static_cast<unsigned long long>(resumeAt),
                     static_cast<unsigned long long>(size));
    }
    d.idle.notify_all();
    return result;
}

StoreResult ImageStore::writeUpload(uint64_t owner, const std::string &name, uint64_t offset,
                                    const uint8_t *data, size_t size, uint64_t &confirmed) {
    Impl &d = *impl_;
    std::unique_lock lock(d.mutex);
    StoreResult refused;
    ActiveUpload *owned = d.ownedUpload(name, owner, refused);
    if (!owned)
        return refused;
    ActiveUpload &upload = *owned;
    confirmed = upload.state.confirmed;
    if (offset != upload.written)
        return fail(StoreError::BadOffset, "a chunk at " + std::to_string(offset) +
                                               ", the upload of " + name + " is at " +
                                               std::to_string(upload.written));
    if (size > upload.state.size - upload.written)
        return fail(StoreError::BadOffset, "the chunk goes past the declared size of " + name);
    if (size == 0)
        return {};

    upload.busy = true;
    lock.unlock();
    StoreResult result = d.write(upload, data, size);
    lock.lock();
    upload.busy = false;
    confirmed = upload.state.confirmed;
    d.idle.notify_all();
    return result;
}

StoreResult ImageStore::finishUpload(uint64_t owner, const std::string &name) {
    Impl &d = *impl_;
    std::unique_lock lock(d.mutex);
    StoreResult refused;
    ActiveUpload *owned = d.ownedUpload(name, owner, refused);
    if (!owned)
        return refused;
    ActiveUpload &upload = *owned;
    if (upload.written != upload.state.size)
        return fail(StoreError::SizeMismatch, name + " has " + std::to_string(upload.written) +
                                                  " of " + std::to_string(upload.state.size) +
                                                  " bytes");
    // From here on the upload is no longer active: whatever happens, its
    // sidecar (confirmed == size) lets a later begin pick it up again.
    const bool matches = upload.hash->finish() == upload.state.sha256;
    UniqueFd fd = std::move(upload.fd);
    d.active.erase(name);  // `upload` is gone from here on
    if (!matches) {
        d.discardFiles(name);
        LOG_WARN(kLog, "upload of %s discarded: its SHA-256 is not the declared one", name.c_str());
        return fail(StoreError::ChecksumMismatch,
                    "the SHA-256 of " + name + " is not the declared one; the upload is discarded");
    }
    if (::fsync(fd.get()) != 0)
        return ioError("syncing " + name, errno);
    fd.reset();
    const std::filesystem::path target = d.directory / name;
    struct stat info {};
    if (::lstat(target.c_str(), &info) == 0)
        return fail(StoreError::AlreadyExists, "an image named " + name + " exists");
    if (::rename(d.dataPath(name).c_str(), target.c_str()) != 0)
        return ioError("cannot move " + name + " into place", errno);
    ::unlink(d.statePath(name).c_str());
    if (const int error = d.syncDirectory())
        return ioError("syncing " + d.directory.string(), error);
    LOG_INFO(kLog, "image %s complete", name.c_str());
    return {};
}

void ImageStore::releaseUploads(uint64_t owner) {
    Impl &d = *impl_;
    std::unique_lock lock(d.mutex);
    for (auto it = d.active.begin(); it != d.active.end();) {
        if (it->second->owner != owner) {
            ++it;
            continue;
        }
        const std::string name = it->first;
        d.waitIdle(lock, name);
        it = d.active.find(name);
        if (it == d.active.end() || it->second->owner != owner) {
            it = d.active.upper_bound(name);
            continue;
        }
        if (const int error = d.confirm(*it->second))
            LOG_WARN(kLog, "upload of %s: cannot record its progress: %s", name.c_str(),
                     std::strerror(error));
        it = d.active.erase(it);
    }
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
