// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kvmvnc::msd {

enum class StoreError : uint8_t {
    None = 0,
    InvalidName,       // empty, too long, '/', "..", leading '.', control characters
    NotFound,          // no such image (or upload)
    AlreadyExists,     // a complete image has that name
    Busy,              // another session uploads that name
    NoSpace,           // the file system cannot hold the declared size
    BadOffset,         // a chunk not at the upload's current end, or past its size
    SizeMismatch,      // finished before all declared bytes arrived
    ChecksumMismatch,  // the bytes' SHA-256 is not the declared one
    Io,                // the file system failed (the message says how)
    InUse,             // the image is inserted
};

struct StoreResult {
    StoreError error = StoreError::None;
    std::string message;  // for people; empty when ok
    explicit operator bool() const { return error == StoreError::None; }
};

struct ImageInfo {
    std::string name;
    uint64_t size = 0;
    bool operator==(const ImageInfo &) const = default;
};

struct UploadProgress {
    std::string name;
    uint64_t confirmed = 0;  // bytes durably written
    uint64_t size = 0;       // declared
    bool active = false;     // a session owns it now (else it waits for a resume)
};

using Sha256 = std::array<uint8_t, 32>;

// What the store allows ([msd] in the configuration).
struct StoreLimits {
    // Uploads open at once (begun and not yet finished or released) by one
    // session, and by all together.
    size_t uploadsPerSession = 4;
    size_t uploads = 16;
    // A partial upload no session holds, whose files went unchanged this
    // long, is deleted; zero keeps them until deleted by hand.
    std::chrono::seconds partialMaxAge = std::chrono::hours(24);
    // Free bytes on the store's file system that uploads never take.
    uint64_t freeSpaceReserve = 64u << 20;
};

// How the store learns and claims room on its file system: statvfs() and
// fallocate(). Tests replace it to play a fuller disk, or one that cannot
// allocate ahead.
class DiskSpace {
public:
    virtual ~DiskSpace() = default;
    // 0 and the bytes an unprivileged writer may still use, or an errno.
    virtual int available(const std::filesystem::path &directory, uint64_t &bytes) = 0;
    // 0 once bytes [0, size) of `fd` have blocks; EOPNOTSUPP when the file
    // system cannot allocate ahead; or another errno (ENOSPC).
    virtual int preallocate(int fd, uint64_t size) = 0;
};

// The folder of images ([msd] storage). A complete image is a regular file
// named as the user chose; an upload in progress lives in hidden files
// (".NAME.upload" with the data, preallocated to the declared size, and
// ".NAME.state" with size, checksum and the confirmed length; a name too
// long for that is replaced by '.' and its SHA-256 in hex, a stem no name
// can spell since names never start with '.') that list() never shows and
// pathOf() never returns, and becomes NAME by rename only once every byte
// is there and its SHA-256 matches.
//
// Uploads are sequential: each chunk must start where the last ended. The
// data is fsynced, and the confirmed length recorded, at least every 4 MiB
// and at the end: after a dropped connection or a crash, beginUpload() of
// the same name, size and checksum resumes at the confirmed length.
//
// Every upload is owned by one session (an id the caller chooses, such as
// the viewer's); a second session cannot write it until the owner releases
// it. The limits bound how many a session and all hold open, keep the
// reserve free (an upload's data file is preallocated; where the file
// system cannot, each chunk is checked against the reserve), and delete
// partial uploads nobody came back to, at start-up and whenever an upload
// begins. Thread-safe.
class ImageStore {
public:
    // Creates the folder if missing and deletes expired partial uploads in
    // it. Throws std::runtime_error when it cannot be created or is not a
    // writable directory. `space` null: the real file system's.
    explicit ImageStore(std::filesystem::path directory, StoreLimits limits = {},
                        std::unique_ptr<DiskSpace> space = nullptr);
    ~ImageStore();
    ImageStore(const ImageStore &) = delete;
    ImageStore &operator=(const ImageStore &) = delete;

    const std::filesystem::path &directory() const;

    // Whether `name` may name an image; `why` says what is wrong with it.
    static bool validName(std::string_view name, std::string &why);

    // Complete images, sorted by name.
    std::vector<ImageInfo> list() const;
    std::optional<ImageInfo> find(const std::string &name) const;
    // The complete image's file; nullopt for unknown or invalid names.
    std::optional<std::filesystem::path> pathOf(const std::string &name) const;

    // Starts or resumes an upload of `size` bytes whose SHA-256 is
    // `sha256`. `resumeAt` is where the first chunk must start: 0, or the
    // confirmed length of an earlier attempt with the same size and
    // checksum. An earlier attempt that differs is discarded. Refuses
    // (NoSpace) when the free space cannot hold what is still missing and
    // the reserve, and (Busy) when the session or the store has as many
    // uploads open as the limits allow.
    StoreResult beginUpload(uint64_t owner, const std::string &name, uint64_t size,
                            const Sha256 &sha256, uint64_t &resumeAt);
    // Writes `size` bytes at `offset` (the upload's current end). On
    // success `confirmed` is the durably written length. A write the file
    // system has no room for (NoSpace) records what came before it, for a
    // resume.
    StoreResult writeUpload(uint64_t owner, const std::string &name, uint64_t offset,
                            const uint8_t *data, size_t size, uint64_t &confirmed);
    // Checks length and checksum, then renames the upload into place.
    // A checksum mismatch discards the upload.
    StoreResult finishUpload(uint64_t owner, const std::string &name);
    // Lets go of every upload `owner` holds, keeping their confirmed data for
    // a resume (a viewer disconnected).
    void releaseUploads(uint64_t owner);
    // Deletes a complete image, or an upload no session holds.
    StoreResult remove(const std::string &name);
    std::vector<UploadProgress> uploads() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

const char *storeErrorName(StoreError error);

}  // namespace kvmvnc::msd
