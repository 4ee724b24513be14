// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/msd/image_store.h"

#include <openssl/evp.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <fstream>
#include <iterator>
#include <random>

using namespace std::string_literals;

namespace kvmvnc::msd {
namespace {

namespace fs = std::filesystem;

std::vector<uint8_t> randomBytes(size_t size, uint32_t seed = 1) {
    std::mt19937 random(seed);
    std::vector<uint8_t> bytes(size);
    for (uint8_t &byte : bytes)
        byte = static_cast<uint8_t>(random());
    return bytes;
}

Sha256 sha256(const std::vector<uint8_t> &bytes) {
    Sha256 digest{};
    unsigned int length = 0;
    EVP_Digest(bytes.data(), bytes.size(), digest.data(), &length, EVP_sha256(), nullptr);
    return digest;
}

std::vector<uint8_t> readAll(const fs::path &path) {
    std::ifstream file(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
}

std::vector<std::string> filesIn(const fs::path &directory) {
    std::vector<std::string> names;
    for (const auto &entry : fs::directory_iterator(directory))
        names.push_back(entry.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
}

// A file system whose free space the test sets, and that may be unable to
// allocate ahead.
class FakeDiskSpace : public DiskSpace {
public:
    int available(const fs::path &, uint64_t &bytes) override {
        bytes = free;
        return 0;
    }
    int preallocate(int, uint64_t) override { return canPreallocate ? 0 : EOPNOTSUPP; }

    std::atomic<uint64_t> free = 1ull << 40;
    std::atomic<bool> canPreallocate = true;
};

// Moves the modification time of every hidden file of `name`'s upload
// `hours` into the past.
void age(const fs::path &directory, const std::string &name, int hours) {
    for (const auto &entry : fs::directory_iterator(directory)) {
        if (entry.path().filename().string().starts_with("." + name + "."))
            fs::last_write_time(entry.path(),
                                fs::file_time_type::clock::now() - std::chrono::hours(hours));
    }
}

class ImageStoreTest : public testing::Test {
protected:
    void SetUp() override {
        char templ[] = "/tmp/kvmvnc-msd-XXXXXX";
        ASSERT_NE(::mkdtemp(templ), nullptr);
        dir = templ;
        store = std::make_unique<ImageStore>(dir / "images");
    }
    void TearDown() override {
        store.reset();
        fs::remove_all(dir);
    }

    // A store on the same folder with these limits and, if asked, a fake
    // file system (returned, owned by the store).
    FakeDiskSpace *reopen(StoreLimits limits, bool fakeSpace = false) {
        store.reset();
        auto space = fakeSpace ? std::make_unique<FakeDiskSpace>() : nullptr;
        FakeDiskSpace *fake = space.get();
        store = std::make_unique<ImageStore>(dir / "images", limits, std::move(space));
        return fake;
    }

    // Writes bytes [from, to) in chunks of `chunk`; the last confirmed length.
    uint64_t send(uint64_t owner, const std::string &name, const std::vector<uint8_t> &bytes,
                  size_t from, size_t to, size_t chunk = 64 * 1024) {
        uint64_t confirmed = 0;
        for (size_t at = from; at < to; at += chunk) {
            const size_t size = std::min(chunk, to - at);
            StoreResult result =
                store->writeUpload(owner, name, at, bytes.data() + at, size, confirmed);
            EXPECT_TRUE(result) << storeErrorName(result.error) << ": " << result.message;
            if (!result)
                break;
        }
        return confirmed;
    }

    // A whole upload of `bytes` as `name`.
    StoreResult upload(uint64_t owner, const std::string &name, const std::vector<uint8_t> &bytes) {
        uint64_t resumeAt = 1;
        StoreResult result = store->beginUpload(owner, name, bytes.size(), sha256(bytes), resumeAt);
        if (!result)
            return result;
        EXPECT_EQ(resumeAt, 0u);
        send(owner, name, bytes, 0, bytes.size());
        return store->finishUpload(owner, name);
    }

    fs::path dir;
    std::unique_ptr<ImageStore> store;
};

TEST_F(ImageStoreTest, CreatesItsFolder) {
    EXPECT_TRUE(fs::is_directory(dir / "images"));
    EXPECT_EQ(store->directory(), dir / "images");
    EXPECT_TRUE(store->list().empty());
}

TEST_F(ImageStoreTest, ThrowsWhenTheFolderIsAFile) {
    std::ofstream(dir / "file").put('x');
    EXPECT_THROW(ImageStore(dir / "file"), std::runtime_error);
}

TEST_F(ImageStoreTest, WholeUploadIsListedWithItsBytes) {
    const std::vector<uint8_t> bytes = randomBytes(5 * 1024 * 1024 + 123);
    ASSERT_TRUE(upload(7, "debian.iso", bytes));
    ASSERT_TRUE(upload(7, "b.img", randomBytes(1000, 2)));

    EXPECT_EQ(store->list(),
              (std::vector<ImageInfo>{{"b.img", 1000}, {"debian.iso", bytes.size()}}));
    EXPECT_EQ(store->find("debian.iso"), (ImageInfo{"debian.iso", bytes.size()}));
    std::optional<fs::path> path = store->pathOf("debian.iso");
    ASSERT_TRUE(path);
    EXPECT_EQ(*path, dir / "images" / "debian.iso");
    EXPECT_EQ(readAll(*path), bytes);
    // No hidden leftovers.
    EXPECT_EQ(filesIn(dir / "images"), (std::vector<std::string>{"b.img", "debian.iso"}));
    EXPECT_TRUE(store->uploads().empty());
}

TEST_F(ImageStoreTest, EmptyImage) {
    ASSERT_TRUE(upload(1, "empty", {}));
    EXPECT_EQ(store->list(), (std::vector<ImageInfo>{{"empty", 0}}));
}

TEST_F(ImageStoreTest, PartialUploadIsNeverVisible) {
    const std::vector<uint8_t> bytes = randomBytes(300000);
    uint64_t resumeAt = 0;
    ASSERT_TRUE(store->beginUpload(1, "x.img", bytes.size(), sha256(bytes), resumeAt));
    send(1, "x.img", bytes, 0, 100000);
    EXPECT_TRUE(store->list().empty());
    EXPECT_FALSE(store->find("x.img"));
    EXPECT_FALSE(store->pathOf("x.img"));
    EXPECT_FALSE(store->pathOf(".x.img.upload"));
    EXPECT_FALSE(store->pathOf(".x.img.state"));
    // The data file is preallocated to the declared size.
    EXPECT_EQ(fs::file_size(dir / "images" / ".x.img.upload"), bytes.size());

    std::vector<UploadProgress> uploads = store->uploads();
    ASSERT_EQ(uploads.size(), 1u);
    EXPECT_EQ(uploads[0].name, "x.img");
    EXPECT_EQ(uploads[0].size, bytes.size());
    EXPECT_TRUE(uploads[0].active);
}

TEST_F(ImageStoreTest, HiddenFilesAreNeverListed) {
    std::ofstream(dir / "images" / ".hidden").put('x');
    std::ofstream(dir / "images" / ".y.upload").put('x');
    fs::create_directory(dir / "images" / "folder");
    std::ofstream(dir / "images" / "visible").put('x');
    EXPECT_EQ(store->list(), (std::vector<ImageInfo>{{"visible", 1}}));
    EXPECT_FALSE(store->pathOf(".hidden"));
    EXPECT_FALSE(store->pathOf("folder"));
}

TEST_F(ImageStoreTest, ResumesAfterReleaseAtTheConfirmedLength) {
    const std::vector<uint8_t> bytes = randomBytes(10 * 1024 * 1024 + 5);
    const Sha256 digest = sha256(bytes);
    uint64_t resumeAt = 0;
    ASSERT_TRUE(store->beginUpload(1, "big.img", bytes.size(), digest, resumeAt));
    // Past one sync interval (4 MiB), then some unsynced bytes.
    const uint64_t confirmed = send(1, "big.img", bytes, 0, 4 * 1024 * 1024 + 100000);
    EXPECT_EQ(confirmed, 4u * 1024 * 1024);

    store->releaseUploads(1);
    std::vector<UploadProgress> uploads = store->uploads();
    ASSERT_EQ(uploads.size(), 1u);
    EXPECT_FALSE(uploads[0].active);
    // Release records everything written.
    EXPECT_EQ(uploads[0].confirmed, 4u * 1024 * 1024 + 100000);

    // Another session picks it up where it stood.
    ASSERT_TRUE(store->beginUpload(2, "big.img", bytes.size(), digest, resumeAt));
    EXPECT_EQ(resumeAt, 4u * 1024 * 1024 + 100000);
    send(2, "big.img", bytes, resumeAt, bytes.size());
    StoreResult result = store->finishUpload(2, "big.img");
    ASSERT_TRUE(result) << result.message;
    EXPECT_EQ(readAll(*store->pathOf("big.img")), bytes);
}

TEST_F(ImageStoreTest, ResumesAfterARestartAtTheConfirmedLength) {
    const std::vector<uint8_t> bytes = randomBytes(9 * 1024 * 1024 + 77, 3);
    const Sha256 digest = sha256(bytes);
    uint64_t resumeAt = 0;
    ASSERT_TRUE(store->beginUpload(1, "restart.img", bytes.size(), digest, resumeAt));
    EXPECT_EQ(send(1, "restart.img", bytes, 0, 8 * 1024 * 1024 + 4096), 8u * 1024 * 1024);

    // The daemon stops (cleanly) and starts again.
    store.reset();
    store = std::make_unique<ImageStore>(dir / "images");
    std::vector<UploadProgress> uploads = store->uploads();
    ASSERT_EQ(uploads.size(), 1u);
    EXPECT_EQ(uploads[0].name, "restart.img");
    EXPECT_FALSE(uploads[0].active);
    EXPECT_TRUE(store->list().empty());

    ASSERT_TRUE(store->beginUpload(5, "restart.img", bytes.size(), digest, resumeAt));
    EXPECT_EQ(resumeAt, 8u * 1024 * 1024 + 4096);
    send(5, "restart.img", bytes, resumeAt, bytes.size());
    ASSERT_TRUE(store->finishUpload(5, "restart.img"));
    EXPECT_EQ(readAll(*store->pathOf("restart.img")), bytes);
}

TEST_F(ImageStoreTest, ResumesAfterACrashAtTheLastRecordedLength) {
    const std::vector<uint8_t> bytes = randomBytes(6 * 1024 * 1024, 4);
    const Sha256 digest = sha256(bytes);
    uint64_t resumeAt = 0;
    ASSERT_TRUE(store->beginUpload(1, "crash.img", bytes.size(), digest, resumeAt));
    EXPECT_EQ(send(1, "crash.img", bytes, 0, 5 * 1024 * 1024), 4u * 1024 * 1024);
    // A crash: the sidecar is as last recorded (4 MiB); simulated by a
    // second store on the same folder while the first never records more.
    ImageStore restarted(dir / "images");
    ASSERT_TRUE(restarted.beginUpload(2, "crash.img", bytes.size(), digest, resumeAt));
    EXPECT_EQ(resumeAt, 4u * 1024 * 1024);
    uint64_t confirmed = 0;
    ASSERT_TRUE(restarted.writeUpload(2, "crash.img", resumeAt, bytes.data() + resumeAt,
                                      bytes.size() - resumeAt, confirmed));
    EXPECT_EQ(confirmed, bytes.size());
    ASSERT_TRUE(restarted.finishUpload(2, "crash.img"));
    EXPECT_EQ(readAll(*restarted.pathOf("crash.img")), bytes);
}

TEST_F(ImageStoreTest, DifferentEarlierAttemptIsDiscarded) {
    const std::vector<uint8_t> first = randomBytes(200000, 5), second = randomBytes(150000, 6);
    uint64_t resumeAt = 0;
    ASSERT_TRUE(store->beginUpload(1, "a.img", first.size(), sha256(first), resumeAt));
    send(1, "a.img", first, 0, 100000);
    store->releaseUploads(1);
    ASSERT_TRUE(store->beginUpload(1, "a.img", second.size(), sha256(second), resumeAt));
    EXPECT_EQ(resumeAt, 0u);
    send(1, "a.img", second, 0, second.size());
    ASSERT_TRUE(store->finishUpload(1, "a.img"));
    EXPECT_EQ(readAll(*store->pathOf("a.img")), second);
}

TEST_F(ImageStoreTest, ChunkAtTheWrongOffsetIsRefused) {
    const std::vector<uint8_t> bytes = randomBytes(1000);
    uint64_t resumeAt = 0, confirmed = 0;
    ASSERT_TRUE(store->beginUpload(1, "a", bytes.size(), sha256(bytes), resumeAt));
    ASSERT_TRUE(store->writeUpload(1, "a", 0, bytes.data(), 100, confirmed));
    EXPECT_EQ(store->writeUpload(1, "a", 50, bytes.data() + 50, 100, confirmed).error,
              StoreError::BadOffset);
    EXPECT_EQ(store->writeUpload(1, "a", 200, bytes.data() + 200, 100, confirmed).error,
              StoreError::BadOffset);
    // Past the declared size.
    std::vector<uint8_t> tooMuch(1000);
    EXPECT_EQ(store->writeUpload(1, "a", 100, tooMuch.data(), 1000, confirmed).error,
              StoreError::BadOffset);
    // The right one still works.
    ASSERT_TRUE(store->writeUpload(1, "a", 100, bytes.data() + 100, 900, confirmed));
    EXPECT_EQ(confirmed, 1000u);
    ASSERT_TRUE(store->finishUpload(1, "a"));
}

TEST_F(ImageStoreTest, WrongChecksumDiscardsTheUpload) {
    const std::vector<uint8_t> bytes = randomBytes(100000);
    Sha256 wrong = sha256(bytes);
    wrong[0] ^= 1;
    uint64_t resumeAt = 0;
    ASSERT_TRUE(store->beginUpload(1, "bad.img", bytes.size(), wrong, resumeAt));
    send(1, "bad.img", bytes, 0, bytes.size());
    StoreResult result = store->finishUpload(1, "bad.img");
    EXPECT_EQ(result.error, StoreError::ChecksumMismatch);
    EXPECT_NE(result.message.find("SHA-256"), std::string::npos) << result.message;
    EXPECT_TRUE(store->list().empty());
    EXPECT_TRUE(store->uploads().empty());
    EXPECT_TRUE(filesIn(dir / "images").empty());
}

TEST_F(ImageStoreTest, FinishingEarlyIsASizeMismatch) {
    const std::vector<uint8_t> bytes = randomBytes(100000);
    uint64_t resumeAt = 0;
    ASSERT_TRUE(store->beginUpload(1, "short.img", bytes.size(), sha256(bytes), resumeAt));
    send(1, "short.img", bytes, 0, 50000);
    StoreResult result = store->finishUpload(1, "short.img");
    EXPECT_EQ(result.error, StoreError::SizeMismatch);
    EXPECT_EQ(result.message, "short.img has 50000 of 100000 bytes");
    EXPECT_TRUE(store->list().empty());
    // Still resumable by its owner.
    send(1, "short.img", bytes, 50000, bytes.size());
    EXPECT_TRUE(store->finishUpload(1, "short.img"));
}

TEST_F(ImageStoreTest, SecondSessionIsBusyUntilTheOwnerReleases) {
    const std::vector<uint8_t> bytes = randomBytes(1000);
    uint64_t resumeAt = 0, confirmed = 0;
    ASSERT_TRUE(store->beginUpload(1, "a", bytes.size(), sha256(bytes), resumeAt));
    EXPECT_EQ(store->beginUpload(2, "a", bytes.size(), sha256(bytes), resumeAt).error,
              StoreError::Busy);
    EXPECT_EQ(store->writeUpload(2, "a", 0, bytes.data(), 10, confirmed).error, StoreError::Busy);
    EXPECT_EQ(store->finishUpload(2, "a").error, StoreError::Busy);
    EXPECT_EQ(store->remove("a").error, StoreError::Busy);
    store->releaseUploads(1);
    EXPECT_TRUE(store->beginUpload(2, "a", bytes.size(), sha256(bytes), resumeAt));
    EXPECT_EQ(store->writeUpload(1, "a", 0, bytes.data(), 10, confirmed).error, StoreError::Busy);
}

TEST_F(ImageStoreTest, WritingWithoutBeginIsNotFound) {
    uint64_t confirmed = 0;
    uint8_t byte = 0;
    EXPECT_EQ(store->writeUpload(1, "a", 0, &byte, 1, confirmed).error, StoreError::NotFound);
    EXPECT_EQ(store->finishUpload(1, "a").error, StoreError::NotFound);
}

TEST_F(ImageStoreTest, BadNamesAreRefused) {
    const std::string names[] = {"",
                                 "a/b",
                                 "/abs",
                                 "..",
                                 ".",
                                 ".hidden",
                                 std::string(300, 'x'),
                                 "tab\there",
                                 "new\nline",
                                 "nul\0x"s,
                                 "\x7f",
                                 "\xc2\x85",
                                 "\xff\xfe",
                                 "\xc0\xaf",
                                 "\xed\xa0\x80"};
    for (const std::string &name : names) {
        uint64_t resumeAt = 0;
        StoreResult result = store->beginUpload(1, name, 10, Sha256{}, resumeAt);
        EXPECT_EQ(result.error, StoreError::InvalidName) << "'" << name << "'";
        EXPECT_FALSE(result.message.empty());
        EXPECT_EQ(store->remove(name).error, StoreError::InvalidName) << "'" << name << "'";
        EXPECT_FALSE(store->pathOf(name));
    }
    std::string why;
    EXPECT_TRUE(ImageStore::validName("Ubuntu 24.04 (amd64) – désktop.iso", why)) << why;
    EXPECT_TRUE(ImageStore::validName(std::string(255, 'x'), why)) << why;
    EXPECT_FALSE(ImageStore::validName(std::string(256, 'x'), why));
    EXPECT_EQ(why, "the name is longer than 255 bytes");
    EXPECT_FALSE(ImageStore::validName("a/b", why));
    EXPECT_EQ(why, "the name contains '/'");
}

TEST_F(ImageStoreTest, LongestNameUploads) {
    // ".NAME.state.tmp" would not fit a 255-byte file name: the hidden files
    // use a digest of the name instead.
    const std::string name(255, 'n');
    const std::vector<uint8_t> bytes = randomBytes(5000);
    uint64_t resumeAt = 0;
    ASSERT_TRUE(store->beginUpload(1, name, bytes.size(), sha256(bytes), resumeAt));
    send(1, name, bytes, 0, 3000);
    store->releaseUploads(1);
    ASSERT_EQ(store->uploads().size(), 1u);
    EXPECT_EQ(store->uploads()[0].name, name);
    ASSERT_TRUE(store->beginUpload(1, name, bytes.size(), sha256(bytes), resumeAt));
    EXPECT_EQ(resumeAt, 3000u);
    send(1, name, bytes, 3000, bytes.size());
    ASSERT_TRUE(store->finishUpload(1, name));
    EXPECT_EQ(store->list(), (std::vector<ImageInfo>{{name, 5000}}));
}

// A long name's hidden files are named after its digest. A short name that
// spells that digest the way the files once did ("~" and 64 hex digits)
// shared them: its begin discarded the long name's upload, and two sessions
// wrote one file.
TEST_F(ImageStoreTest, NoTwoNamesShareHiddenFiles) {
    const std::string longName(255, 'n');
    static constexpr char kDigits[] = "0123456789abcdef";
    const Sha256 digest = sha256(std::vector<uint8_t>(longName.begin(), longName.end()));
    std::string shortName = "~";
    for (uint8_t byte : digest) {
        shortName += kDigits[byte >> 4];
        shortName += kDigits[byte & 15];
    }
    const std::vector<uint8_t> longBytes = randomBytes(5000, 7), shortBytes = randomBytes(4000, 8);
    uint64_t resumeAt = 0;
    ASSERT_TRUE(store->beginUpload(1, longName, longBytes.size(), sha256(longBytes), resumeAt));
    send(1, longName, longBytes, 0, 3000);
    store->releaseUploads(1);

    // Both at once, each resumable where it stood.
    ASSERT_TRUE(store->beginUpload(2, shortName, shortBytes.size(), sha256(shortBytes), resumeAt));
    EXPECT_EQ(resumeAt, 0u);
    send(2, shortName, shortBytes, 0, 1000);
    ASSERT_TRUE(store->beginUpload(1, longName, longBytes.size(), sha256(longBytes), resumeAt));
    EXPECT_EQ(resumeAt, 3000u);
    send(1, longName, longBytes, 3000, longBytes.size());
    send(2, shortName, shortBytes, 1000, shortBytes.size());
    StoreResult result = store->finishUpload(1, longName);
    EXPECT_TRUE(result) << result.message;
    result = store->finishUpload(2, shortName);
    EXPECT_TRUE(result) << result.message;
    ASSERT_TRUE(store->pathOf(longName));
    ASSERT_TRUE(store->pathOf(shortName));
    EXPECT_EQ(readAll(*store->pathOf(longName)), longBytes);
    EXPECT_EQ(readAll(*store->pathOf(shortName)), shortBytes);
    EXPECT_TRUE(store->uploads().empty());
}

TEST_F(ImageStoreTest, ExistingImageRefusesAnUpload) {
    ASSERT_TRUE(upload(1, "a.iso", randomBytes(100)));
    uint64_t resumeAt = 0;
    StoreResult result = store->beginUpload(2, "a.iso", 100, Sha256{}, resumeAt);
    EXPECT_EQ(result.error, StoreError::AlreadyExists);
    EXPECT_EQ(result.message, "an image named a.iso exists");
}

TEST_F(ImageStoreTest, AbsurdSizeIsNoSpace) {
    uint64_t resumeAt = 0;
    StoreResult result = store->beginUpload(1, "huge.img", 1ull << 50, Sha256{}, resumeAt);
    EXPECT_EQ(result.error, StoreError::NoSpace);
    EXPECT_NE(result.message.find("free"), std::string::npos) << result.message;
    EXPECT_TRUE(filesIn(dir / "images").empty());
    EXPECT_TRUE(store->uploads().empty());
}

TEST_F(ImageStoreTest, UploadsOpenPerSessionAndInAllAreBounded) {
    StoreLimits limits;
    limits.uploadsPerSession = 2;
    limits.uploads = 3;
    reopen(limits);
    const std::vector<uint8_t> bytes = randomBytes(1000);
    const Sha256 digest = sha256(bytes);
    uint64_t resumeAt = 0;
    ASSERT_TRUE(store->beginUpload(1, "a", bytes.size(), digest, resumeAt));
    ASSERT_TRUE(store->beginUpload(1, "b", bytes.size(), digest, resumeAt));
    StoreResult result = store->beginUpload(1, "c", bytes.size(), digest, resumeAt);
    EXPECT_EQ(result.error, StoreError::Busy);
    EXPECT_EQ(result.message,
              "this session has 2 uploads open, the most one may; finish one first");
    // Beginning one it holds again takes no other place.
    ASSERT_TRUE(store->beginUpload(1, "a", bytes.size(), digest, resumeAt));

    ASSERT_TRUE(store->beginUpload(2, "d", bytes.size(), digest, resumeAt));
    result = store->beginUpload(2, "e", bytes.size(), digest, resumeAt);
    EXPECT_EQ(result.error, StoreError::Busy);
    EXPECT_EQ(result.message,
              "3 uploads are open, the most the store takes at once; try again when one ends");

    // A finished upload and a released session give their places back.
    send(1, "a", bytes, 0, bytes.size());
    ASSERT_TRUE(store->finishUpload(1, "a"));
    EXPECT_TRUE(store->beginUpload(2, "e", bytes.size(), digest, resumeAt));
    store->releaseUploads(1);
    EXPECT_TRUE(store->beginUpload(1, "c", bytes.size(), digest, resumeAt));
}

TEST_F(ImageStoreTest, AbandonedPartialUploadsExpireAtStartUp) {
    const std::vector<uint8_t> bytes = randomBytes(10000);
    ASSERT_TRUE(upload(1, "image.iso", bytes));
    uint64_t resumeAt = 0;
    for (const char *name : {"old.img", "new.img"}) {
        ASSERT_TRUE(store->beginUpload(1, name, bytes.size(), sha256(bytes), resumeAt));
        send(1, name, bytes, 0, 5000);
    }
    store->releaseUploads(1);
    age(dir / "images", "old.img", 25);
    // Strays in the hidden files' names (an older layout's), and files
    // that are none of the store's.
    std::ofstream(dir / "images" / ".~0123.upload").put('x');
    age(dir / "images", "~0123", 25);
    std::ofstream(dir / "images" / ".fresh.state.tmp").put('x');
    std::ofstream(dir / "images" / ".profile").put('x');
    age(dir / "images", "profile", 25);
    fs::last_write_time(dir / "images" / "image.iso",
                        fs::file_time_type::clock::now() - std::chrono::hours(1000));

    reopen({});
    std::vector<UploadProgress> uploads = store->uploads();
    ASSERT_EQ(uploads.size(), 1u);
    EXPECT_EQ(uploads[0].name, "new.img");
    EXPECT_EQ(filesIn(dir / "images"),
              (std::vector<std::string>{".fresh.state.tmp", ".new.img.state", ".new.img.upload",
                                        ".profile", "image.iso"}));

    // Zero keeps them all.
    age(dir / "images", "new.img", 100000);
    StoreLimits forever;
    forever.partialMaxAge = std::chrono::seconds(0);
    reopen(forever);
    EXPECT_EQ(store->uploads().size(), 1u);
}

TEST_F(ImageStoreTest, ExpirySparesUploadsHeldOrBeingResumed) {
    StoreLimits limits;
    limits.partialMaxAge = std::chrono::hours(1);
    reopen(limits);
    const std::vector<uint8_t> bytes = randomBytes(10000);
    const Sha256 digest = sha256(bytes);
    uint64_t resumeAt = 0;
    ASSERT_TRUE(store->beginUpload(1, "held", bytes.size(), digest, resumeAt));
    send(1, "held", bytes, 0, 1000);
    for (const char *name : {"abandoned", "resumed"}) {
        ASSERT_TRUE(store->beginUpload(2, name, bytes.size(), digest, resumeAt));
        send(2, name, bytes, 0, 2000);
    }
    store->releaseUploads(2);
    for (const char *name : {"held", "abandoned", "resumed"})
        age(dir / "images", name, 2);

    // Beginning one expires the others nobody holds, not itself.
    ASSERT_TRUE(store->beginUpload(3, "resumed", bytes.size(), digest, resumeAt));
    EXPECT_EQ(resumeAt, 2000u);
    std::vector<UploadProgress> uploads = store->uploads();
    ASSERT_EQ(uploads.size(), 2u);
    EXPECT_EQ(uploads[0].name, "held");
    EXPECT_EQ(uploads[1].name, "resumed");

    send(1, "held", bytes, 1000, bytes.size());
    ASSERT_TRUE(store->finishUpload(1, "held"));
    EXPECT_EQ(readAll(*store->pathOf("held")), bytes);
    send(3, "resumed", bytes, 2000, bytes.size());
    ASSERT_TRUE(store->finishUpload(3, "resumed"));
    EXPECT_EQ(readAll(*store->pathOf("resumed")), bytes);
}

TEST_F(ImageStoreTest, BeginKeepsTheReserveFree) {
    StoreLimits limits;
    limits.freeSpaceReserve = 4u << 20;
    FakeDiskSpace *space = reopen(limits, true);
    space->free = 10u << 20;
    uint64_t resumeAt = 0;
    StoreResult result = store->beginUpload(1, "a.img", (6u << 20) + 1, Sha256{}, resumeAt);
    EXPECT_EQ(result.error, StoreError::NoSpace);
    EXPECT_EQ(result.message, "a.img needs 6.0 MiB more and " + (dir / "images").string() +
                                  " keeps 4.0 MiB free; it has 10.0 MiB free");
    EXPECT_TRUE(filesIn(dir / "images").empty());
    EXPECT_TRUE(store->beginUpload(1, "a.img", 6u << 20, Sha256{}, resumeAt));
}

TEST_F(ImageStoreTest, PreallocatedUploadGoesOnWhenTheDiskFills) {
    FakeDiskSpace *space = reopen({}, true);
    const std::vector<uint8_t> bytes = randomBytes(3 * 1024 * 1024);
    uint64_t resumeAt = 0;
    ASSERT_TRUE(store->beginUpload(1, "a.img", bytes.size(), sha256(bytes), resumeAt));
    space->free = 0;
    send(1, "a.img", bytes, 0, bytes.size());
    ASSERT_TRUE(store->finishUpload(1, "a.img"));
    EXPECT_EQ(readAll(*store->pathOf("a.img")), bytes);
}

TEST_F(ImageStoreTest, WriteIntoTheReserveIsRefusedAndResumable) {
    StoreLimits limits;
    limits.freeSpaceReserve = 1u << 20;
    FakeDiskSpace *space = reopen(limits, true);
    space->canPreallocate = false;
    const std::vector<uint8_t> bytes = randomBytes(6 * 1024 * 1024 + 99, 9);
    const Sha256 digest = sha256(bytes);
    uint64_t resumeAt = 0, confirmed = 0;
    ASSERT_TRUE(store->beginUpload(1, "a.img", bytes.size(), digest, resumeAt));
    EXPECT_EQ(send(1, "a.img", bytes, 0, 5 * 1024 * 1024), 4u * 1024 * 1024);

    // The rest of the disk fills: 256 KiB more would leave less than the
    // reserve.
    space->free = (1u << 20) + 100000;
    const size_t at = 5 * 1024 * 1024;
    StoreResult result =
        store->writeUpload(1, "a.img", at, bytes.data() + at, 256 * 1024, confirmed);
    EXPECT_EQ(result.error, StoreError::NoSpace);
    EXPECT_EQ(result.message, "no room to write a.img: " + (dir / "images").string() +
                                  " has 1.1 MiB free and keeps 1.0 MiB of it; its first 5.0 "
                                  "MiB are kept for a resume");
    // Everything before the refused chunk is recorded.
    EXPECT_EQ(confirmed, at);
    EXPECT_TRUE(store->list().empty());

    // After a crash and room made, it resumes there.
    store.reset();
    space = reopen(limits, true);
    space->canPreallocate = false;
    ASSERT_TRUE(store->beginUpload(2, "a.img", bytes.size(), digest, resumeAt));
    EXPECT_EQ(resumeAt, at);
    send(2, "a.img", bytes, at, bytes.size());
    ASSERT_TRUE(store->finishUpload(2, "a.img"));
    EXPECT_EQ(readAll(*store->pathOf("a.img")), bytes);
}

TEST_F(ImageStoreTest, RemoveDeletesImagesAndWaitingUploads) {
    ASSERT_TRUE(upload(1, "a.iso", randomBytes(100)));
    EXPECT_TRUE(store->remove("a.iso"));
    EXPECT_TRUE(store->list().empty());
    EXPECT_EQ(store->remove("a.iso").error, StoreError::NotFound);

    const std::vector<uint8_t> bytes = randomBytes(1000);
    uint64_t resumeAt = 0;
    ASSERT_TRUE(store->beginUpload(1, "b.iso", bytes.size(), sha256(bytes), resumeAt));
    send(1, "b.iso", bytes, 0, 500);
    EXPECT_EQ(store->remove("b.iso").error, StoreError::Busy);
    store->releaseUploads(1);
    EXPECT_TRUE(store->remove("b.iso"));
    EXPECT_TRUE(store->uploads().empty());
    EXPECT_TRUE(filesIn(dir / "images").empty());
}

TEST_F(ImageStoreTest, ErrorNamesAreReadable) {
    EXPECT_STREQ(storeErrorName(StoreError::ChecksumMismatch), "checksum mismatch");
    EXPECT_STREQ(storeErrorName(StoreError::None), "none");
}

}  // namespace
}  // namespace kvmvnc::msd
