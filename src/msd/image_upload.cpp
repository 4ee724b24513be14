// SPDX-License-Identifier: GPL-2.0-or-later
// ImageStore's resumable uploads: their hidden files (the data, the state
// sidecar), the checksum, room on the disk, and partial uploads nobody came
// back to.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <set>
#include <sstream>
#include <stdexcept>
#include <system_error>

#include "image_store_impl.h"
#include "kvmvnc/base/error_text.h"
#include "kvmvnc/base/log.h"
#include "kvmvnc/base/sha256.h"
#include "kvmvnc/msd/image_store.h"

namespace kvmvnc::msd {

namespace {

// Unsynced bytes an upload may hold before its data is fsynced and the
// confirmed length recorded.
constexpr uint64_t kSyncInterval = 4u << 20;
constexpr size_t kRehashChunk = 1u << 20;

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

// The suffixes of an upload's hidden files. They end in different letters,
// so ".STEM" plus one of them names one stem's file and no other's.
constexpr std::string_view kSuffixes[] = {".upload", ".state", ".state.tmp"};

}  // namespace

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

ActiveUpload::~ActiveUpload() = default;

// The hidden files' common stem: the name itself, or for a name too long
// to carry the prefix and suffixes, '.' and a digest of it (the sidecar
// keeps the name). No name starts with '.', so no name's own stem is
// ever another's digest.
std::string ImageStore::Impl::stem(const std::string &name) const {
    if (name.size() + std::strlen("..state.tmp") <= kNameMax)
        return name;
    return "." + sha256Hex(sha256(name));
}
std::filesystem::path ImageStore::Impl::dataPath(const std::string &name) const {
    return directory / ("." + stem(name) + ".upload");
}
std::filesystem::path ImageStore::Impl::statePath(const std::string &name) const {
    return directory / ("." + stem(name) + ".state");
}

int ImageStore::Impl::syncDirectory() const { return fsyncPath(directory, O_RDONLY | O_DIRECTORY); }

// Replaces the sidecar atomically: temporary file, fsync, rename, fsync
// of the directory. Returns 0 or an errno.
int ImageStore::Impl::writeState(const UploadState &state) const {
    const std::filesystem::path path = statePath(state.name);
    const std::filesystem::path temporary = path.string() + ".tmp";
    const std::string text = "name=" + state.name + "\nsize=" + std::to_string(state.size) +
                             "\nsha256=" + sha256Hex(state.sha256) +
                             "\nconfirmed=" + std::to_string(state.confirmed) + "\n";
    UniqueFd fd(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!fd.isValid())
        return errno;
    int error = writeAll(fd.get(), reinterpret_cast<const uint8_t *>(text.data()), text.size(), 0);
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

// Takes the mutex and the upload of `name` if `owner` holds it and no write
// to it runs; otherwise no upload and why in `refused`.
OwnedUpload ImageStore::Impl::ownedUpload(const std::string &name, uint64_t owner) {
    OwnedUpload owned{std::unique_lock(mutex), nullptr, {}};
    auto it = active.find(name);
    if (it == active.end()) {
        owned.refused = fail(StoreError::NotFound, "no upload of " + name + " has begun");
        return owned;
    }
    ActiveUpload &upload = *it->second;
    if (upload.owner != owner) {
        owned.refused = fail(StoreError::Busy, "another session uploads " + name);
        return owned;
    }
    if (upload.busy) {
        owned.refused = fail(StoreError::Busy, "a write to " + name + " is in progress");
        return owned;
    }
    owned.upload = &upload;
    return owned;
}

// Makes everything written durable and records it. With the upload not
// busy (the caller holds the mutex or set `busy` itself).
int ImageStore::Impl::confirm(ActiveUpload &upload) const {
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

void ImageStore::Impl::discardFiles(const std::string &name) const {
    ::unlink(dataPath(name).c_str());
    ::unlink(statePath(name).c_str());
    syncDirectory();
}

// Opens (creating and preallocating if new) the upload's file and
// hashes its confirmed prefix. Runs with the upload busy, without the
// mutex.
StoreResult ImageStore::Impl::open(ActiveUpload &upload, bool fresh) const {
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
        return fail(StoreError::NoSpace, "no room for " + name + " (" +
                                             bytesText(upload.state.size) + ") in " +
                                             directory.string() + ": " + errorText(claimed));
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
        const size_t want =
            static_cast<size_t>(std::min<uint64_t>(buffer.size(), upload.state.confirmed - done));
        const ssize_t got = ::pread(upload.fd.get(), buffer.data(), want, static_cast<off_t>(done));
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
StoreResult ImageStore::Impl::write(ActiveUpload &upload, const uint8_t *data, size_t size) const {
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
            return noRoom(upload, errorText(error));
        return ioError("writing " + name, error);
    }
    upload.hash->update({data, size});
    upload.written += size;
    if (upload.written - upload.state.confirmed >= kSyncInterval ||
        upload.written == upload.state.size) {
        if (const int error = confirm(upload))
            return isNoRoom(error) ? noRoom(upload, errorText(error))
                                   : ioError("syncing " + name, error);
    }
    return {};
}

// Refuses a chunk the file system has no room for, after recording what
// came before it (the connection may well end here).
StoreResult ImageStore::Impl::noRoom(ActiveUpload &upload, const std::string &why) const {
    const std::string &name = upload.state.name;
    if (const int error = confirm(upload))
        LOG_WARN(kLog, "upload of %s: cannot record its progress: %s", name.c_str(),
                 errorText(error).c_str());
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
void ImageStore::Impl::expire(const std::string *spared) {
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
        const std::optional<UploadState> state = readState(directory / ("." + fileStem + ".state"));
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
                LOG_WARN(kLog, "cannot delete %s: %s", path.c_str(), errorText(errno).c_str());
        }
        removed = true;
    }
    if (removed)
        syncDirectory();
}

// Waits until no call works on `name`'s upload; with `lock` held.
void ImageStore::Impl::waitIdle(std::unique_lock<std::mutex> &lock, const std::string &name) {
    idle.wait(lock, [&] {
        auto it = active.find(name);
        return it == active.end() || !it->second->busy;
    });
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
    auto [lock, owned, refused] = d.ownedUpload(name, owner);
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
    auto [lock, owned, refused] = d.ownedUpload(name, owner);
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
                     errorText(error).c_str());
        it = d.active.erase(it);
    }
}

}  // namespace kvmvnc::msd
