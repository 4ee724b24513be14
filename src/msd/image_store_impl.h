// SPDX-License-Identifier: GPL-2.0-or-later
// ImageStore's state, shared by image_store.cpp (the folder: names, images,
// deleting, the list of uploads) and image_upload.cpp (resumable uploads:
// their hidden files, checksums and room on the disk). Internal to the msd
// stage.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "kvmvnc/base/error_text.h"
#include "kvmvnc/base/sha256.h"
#include "kvmvnc/base/unique_fd.h"
#include "kvmvnc/msd/image_store.h"

namespace kvmvnc::msd {

constexpr const char *kLog = "msd";
constexpr size_t kNameMax = 255;

inline StoreResult fail(StoreError error, std::string message) {
    return {error, std::move(message)};
}

inline StoreResult ioError(const std::string &what, int error) {
    return fail(StoreError::Io, what + ": " + errorText(error));
}

// What a state sidecar records.
struct UploadState {
    std::string name;
    uint64_t size = 0;
    Sha256 sha256{};
    uint64_t confirmed = 0;
};

std::optional<UploadState> readState(const std::filesystem::path &path);

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
    ~ActiveUpload();                     // where Sha256Hasher is complete
};

// An upload its owner works on, with the store's mutex held.
struct OwnedUpload {
    std::unique_lock<std::mutex> lock;
    ActiveUpload *upload = nullptr;  // null: `refused` says why
    StoreResult refused;
};

struct ImageStore::Impl {
    std::filesystem::path directory;
    StoreLimits limits;
    std::unique_ptr<DiskSpace> space;
    mutable std::mutex mutex;
    std::condition_variable idle;  // an upload stopped being busy
    std::map<std::string, std::unique_ptr<ActiveUpload>> active;

    // The upload's hidden files and its writes (image_upload.cpp).
    std::string stem(const std::string &name) const;
    std::filesystem::path dataPath(const std::string &name) const;
    std::filesystem::path statePath(const std::string &name) const;
    int syncDirectory() const;
    int writeState(const UploadState &state) const;
    OwnedUpload ownedUpload(const std::string &name, uint64_t owner);
    int confirm(ActiveUpload &upload) const;
    void discardFiles(const std::string &name) const;
    StoreResult open(ActiveUpload &upload, bool fresh) const;
    StoreResult write(ActiveUpload &upload, const uint8_t *data, size_t size) const;
    StoreResult noRoom(ActiveUpload &upload, const std::string &why) const;
    void expire(const std::string *spared);
    void waitIdle(std::unique_lock<std::mutex> &lock, const std::string &name);
};

}  // namespace kvmvnc::msd
