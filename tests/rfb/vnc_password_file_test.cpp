// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/rfb/vnc_password_file.h"

#include <gtest/gtest.h>

#include <fstream>
#include <stdexcept>

namespace kvmvnc::rfb {

namespace {
std::string data(const char *name) { return std::string(KVMVNC_TEST_DATA) + "/" + name; }

std::string writeTemp(const char *name, const std::vector<uint8_t> &bytes) {
    std::string path = testing::TempDir() + name;
    std::ofstream(path, std::ios::binary)
        .write(reinterpret_cast<const char *>(bytes.data()),
               static_cast<std::streamsize>(bytes.size()));
    return path;
}
}  // namespace

// The fixtures were written by TigerVNC's vncpasswd -f.
TEST(VncPasswordFileTest, ReadsTigerVncFileWithFullPasswordOnly) {
    VncPasswords passwords = loadVncPasswordFile(data("full_only.passwd"));
    EXPECT_EQ(passwords.full, "fullpass");
    EXPECT_EQ(passwords.viewOnly, "");
}

TEST(VncPasswordFileTest, ReadsTigerVncFileWithViewOnlyPassword) {
    VncPasswords passwords = loadVncPasswordFile(data("full_and_viewonly.passwd"));
    EXPECT_EQ(passwords.full, "fullpass");
    EXPECT_EQ(passwords.viewOnly, "viewpass");
}

TEST(VncPasswordFileTest, EncodesWhatVncpasswdWrites) {
    // vncpasswd -f <<< password gives these bytes in every VNC implementation.
    std::vector<uint8_t> expected = {0xdb, 0xd8, 0x3c, 0xfd, 0x72, 0x7a, 0x14, 0x58};
    EXPECT_EQ(encodeVncPasswordFile({"password", ""}), expected);
}

TEST(VncPasswordFileTest, ShortPasswordsRoundTrip) {
    std::string path = writeTemp("kvmvnc-short.passwd", encodeVncPasswordFile({"abc", "v"}));
    VncPasswords passwords = loadVncPasswordFile(path);
    EXPECT_EQ(passwords.full, "abc");
    EXPECT_EQ(passwords.viewOnly, "v");
}

TEST(VncPasswordFileTest, RejectsMissingAndMalformedFiles) {
    EXPECT_THROW(loadVncPasswordFile("/nonexistent/passwd"), std::runtime_error);
    std::string path = writeTemp("kvmvnc-bad.passwd", {1, 2, 3});
    try {
        loadVncPasswordFile(path);
        FAIL() << "no error";
    } catch (const std::runtime_error &error) {
        EXPECT_NE(std::string(error.what()).find("3 bytes, expected 8 or 16"), std::string::npos);
    }
}

}  // namespace kvmvnc::rfb
