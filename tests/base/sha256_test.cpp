// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/base/sha256.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <string>

namespace kvmvnc {
namespace {

// FIPS 180-2's examples.
constexpr const char *kAbc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
constexpr const char *kEmpty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

Sha256Digest digestOf(std::string_view text) {
    Sha256Hasher hasher;
    hasher.update(text);
    return hasher.finish();
}

TEST(Sha256Test, KnownDigests) {
    EXPECT_EQ(sha256Hex(digestOf("abc")), kAbc);
    EXPECT_EQ(sha256Hex(digestOf("")), kEmpty);
    const std::string abc = "abc";
    EXPECT_EQ(sha256Hex(sha256({reinterpret_cast<const uint8_t *>(abc.data()), abc.size()})), kAbc);
}

TEST(Sha256Test, PiecesHashAsTheWhole) {
    Sha256Hasher hasher;
    hasher.update("a");
    hasher.update("");
    hasher.update("bc");
    EXPECT_EQ(sha256Hex(hasher.finish()), kAbc);
}

TEST(Sha256Test, HexRoundTripsAndRefusesAnythingElse) {
    const Sha256Digest digest = digestOf("abc");
    EXPECT_EQ(parseSha256Hex(kAbc), digest);
    std::string upper = kAbc;
    for (char &c : upper)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    EXPECT_FALSE(parseSha256Hex(upper));
    EXPECT_FALSE(parseSha256Hex(std::string(kAbc).substr(1)));
    EXPECT_FALSE(parseSha256Hex(std::string(kAbc) + "0"));
    EXPECT_FALSE(parseSha256Hex(std::string(63, '0') + "g"));
}

TEST(Sha256Test, FingerprintIsOpensslsForm) {
    EXPECT_EQ(sha256Fingerprint(digestOf("abc")),
              "SHA256:BA:78:16:BF:8F:01:CF:EA:41:41:40:DE:5D:AE:22:23:B0:03:61:A3:96:17:7A:9C:B4:"
              "10:FF:61:F2:00:15:AD");
}

class Sha256FileTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = ::testing::TempDir() + "/kvmvnc-sha256-" + std::to_string(::getpid());
        std::filesystem::create_directories(dir_);
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }
    std::string dir_;
};

TEST_F(Sha256FileTest, AFileLongerThanOneReadHashesAsItsBytes) {
    std::string bytes((3 << 20) + 17, '\0');
    for (size_t i = 0; i < bytes.size(); ++i)
        bytes[i] = static_cast<char>(i * 131 + (i >> 12));
    const std::string path = dir_ + "/image";
    std::ofstream(path, std::ios::binary) << bytes;
    std::string error;
    const std::optional<Sha256Digest> digest = sha256File(path, error);
    ASSERT_TRUE(digest) << error;
    EXPECT_EQ(*digest, digestOf(bytes));
}

TEST_F(Sha256FileTest, AnUnreadableFileSaysWhy) {
    std::string error;
    EXPECT_FALSE(sha256File(dir_ + "/missing", error));
    EXPECT_EQ(error, dir_ + "/missing: No such file or directory");
    // A directory opens but cannot be read.
    error.clear();
    EXPECT_FALSE(sha256File(dir_, error));
    EXPECT_EQ(error, dir_ + ": read error");
}

}  // namespace
}  // namespace kvmvnc
