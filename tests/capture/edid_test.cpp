// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/capture/edid.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <numeric>

#include "subprocess.h"

namespace kvmvnc::capture {
namespace {

const std::string kDefaultFile = KVMVNC_DEFAULT_EDID_FILE;

std::string readFile(const std::string &path) {
    std::ifstream file(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
}

// `bytes` with every block's checksum made right again.
std::vector<uint8_t> withChecksums(std::vector<uint8_t> bytes) {
    for (size_t block = 0; block + Edid::kBlockSize <= bytes.size(); block += Edid::kBlockSize) {
        unsigned sum = std::accumulate(bytes.begin() + static_cast<long>(block),
                                       bytes.begin() + static_cast<long>(block) + 127, 0u);
        bytes[block + 127] = static_cast<uint8_t>(256 - sum % 256);
    }
    return bytes;
}

std::vector<uint8_t> defaultBytes() { return Edid::kvmvncDefault().bytes(); }

std::string parseError(const std::vector<uint8_t> &bytes) {
    std::string error;
    std::optional<Edid> edid = Edid::parse(bytes, error);
    EXPECT_FALSE(edid.has_value());
    return error;
}

EdidMode mode(int width, int height, int hz, bool preferred = false) {
    return {width, height, hz, false, preferred};
}

// The built-in EDID is the file shipped in config/edid, and offers what a
// KVM needs: 1080p at 60 Hz preferred and 50 Hz right after it, the usual
// PC modes, the BIOS's 720x400 text mode, a name, HDMI and no audio.
TEST(EdidTest, TheDefaultOffersWhatAKvmNeeds) {
    std::string error;
    std::optional<Edid> file = Edid::parseFile(readFile(kDefaultFile), error);
    ASSERT_TRUE(file) << error;
    const Edid &edid = Edid::kvmvncDefault();
    EXPECT_EQ(*file, edid);

    ASSERT_EQ(edid.bytes().size(), 256u);
    for (size_t block = 0; block < 2; ++block) {
        unsigned sum =
            std::accumulate(edid.bytes().begin() + static_cast<long>(block * 128),
                            edid.bytes().begin() + static_cast<long>(block * 128 + 128), 0u);
        EXPECT_EQ(sum % 256, 0u) << "block " << block;
    }
    EXPECT_EQ(edid.bytes()[128], 0x02) << "the extension is CTA-861";
    EXPECT_EQ(edid.monitorName(), "kvmvnc");
    EXPECT_EQ(edid.manufacturer(), "LNX");
    EXPECT_EQ(edid.versionMajor(), 1);
    EXPECT_EQ(edid.versionMinor(), 3);
    EXPECT_FALSE(edid.hasAudio());
    EXPECT_EQ(edid.hdmiPhysicalAddress(), 0x1000);

    const std::vector<EdidMode> expected = {
        mode(1920, 1080, 60, true), mode(1920, 1080, 50), mode(1280, 1024, 60),
        mode(1280, 720, 60),        mode(1280, 720, 50),  mode(1024, 768, 60),
        mode(800, 600, 60),         mode(640, 480, 60),   mode(720, 400, 70),
    };
    EXPECT_EQ(edid.modes(), expected);
}

// What kvmvncctl edid show prints for it.
TEST(EdidTest, DescribesTheDefaultForPeople) {
    EXPECT_EQ(Edid::kvmvncDefault().describe(),
              "monitor: kvmvnc (manufacturer LNX, product 0001)\n"
              "EDID: version 1.3, 256 bytes with a CTA-861 extension\n"
              "interface: HDMI, physical address 1.0.0.0\n"
              "audio: none\n"
              "modes:\n"
              "  1920x1080 at 60 Hz (preferred)\n"
              "  1920x1080 at 50 Hz\n"
              "  1280x1024 at 60 Hz\n"
              "  1280x720 at 60 Hz\n"
              "  1280x720 at 50 Hz\n"
              "  1024x768 at 60 Hz\n"
              "  800x600 at 60 Hz\n"
              "  640x480 at 60 Hz\n"
              "  720x400 at 70 Hz\n");
}

// A second opinion, where Debian's edid-decode is installed
// (packaging/dev.sh installs it for the test suite).
TEST(EdidTest, EdidDecodeFindsTheDefaultConforming) {
    if (!testing::haveProgram("edid-decode"))
        GTEST_SKIP() << "edid-decode is not installed";
    const std::string output = (std::filesystem::temp_directory_path() /
                                ("kvmvnc-edid-decode-" + std::to_string(getpid())))
                                   .string();
    const int status = testing::runCommand({"edid-decode", "--check", kDefaultFile}, {},
                                           std::chrono::seconds{30}, output);
    const std::string text = readFile(output);
    std::filesystem::remove(output);
    EXPECT_EQ(status, 0) << text;
    EXPECT_NE(text.find("EDID conformity: PASS"), std::string::npos) << text;
    EXPECT_EQ(text.find("Warnings:"), std::string::npos) << text;
    EXPECT_EQ(text.find("Audio Data Block"), std::string::npos) << text;
    EXPECT_NE(text.find("Display Product Name: 'kvmvnc'"), std::string::npos) << text;
}

TEST(EdidTest, RefusesSizesThatAreNoWholeBlocks) {
    std::vector<uint8_t> bytes = defaultBytes();
    bytes.resize(200);
    EXPECT_EQ(parseError(bytes),
              "200 bytes is not a whole number of 128-byte blocks (an EDID is 128 or 256 bytes)");
    EXPECT_EQ(parseError({}), "holds no EDID (0 bytes)");
    bytes = defaultBytes();
    bytes.resize(640);
    EXPECT_EQ(parseError(bytes), "640 bytes is more than the 4 blocks (512 bytes) kvmvnc loads");
}

TEST(EdidTest, RefusesAWrongHeader) {
    std::vector<uint8_t> bytes = defaultBytes();
    bytes[3] = 0x00;
    EXPECT_EQ(parseError(withChecksums(bytes)),
              "does not start with the EDID header 00 ff ff ff ff ff ff 00");
}

TEST(EdidTest, RefusesAWrongChecksumAndSaysWhichByteIsRight) {
    std::vector<uint8_t> bytes = defaultBytes();
    const uint8_t right = bytes[255];
    bytes[200] = 0x01;  // in the extension block
    char expected[160];
    std::snprintf(expected, sizeof(expected),
                  "block 1 has a wrong checksum: its last byte is 0x%02x, it must be 0x%02x for "
                  "the block to add up to 0",
                  right, (right - 1) & 0xff);
    EXPECT_EQ(parseError(bytes), expected);
    bytes = defaultBytes();
    bytes[127] ^= 0x10;
    EXPECT_NE(parseError(bytes).find("block 0 has a wrong checksum"), std::string::npos);
}

TEST(EdidTest, RefusesAnExtensionCountThatDoesNotMatch) {
    std::vector<uint8_t> bytes = defaultBytes();
    bytes.resize(128);
    EXPECT_EQ(parseError(withChecksums(bytes)),
              "the base block announces 1 extension blocks, but 0 follow");
    bytes = defaultBytes();
    bytes[18] = 2;
    EXPECT_EQ(parseError(withChecksums(bytes)), "EDID version 2.3 is not 1.x");
}

// A base block alone (DVI): 128 bytes are a whole EDID.
TEST(EdidTest, TakesABaseBlockAlone) {
    std::vector<uint8_t> bytes = defaultBytes();
    bytes.resize(128);
    bytes[126] = 0;
    std::string error;
    std::optional<Edid> edid = Edid::parse(withChecksums(bytes), error);
    ASSERT_TRUE(edid) << error;
    EXPECT_EQ(edid->blocks(), 1u);
    EXPECT_FALSE(edid->hasCtaExtension());
    EXPECT_FALSE(edid->hdmiPhysicalAddress());
    EXPECT_NE(edid->describe().find("interface: DVI"), std::string::npos);
    // Without the extension's video codes, 720p at 50 Hz is gone.
    const std::vector<EdidMode> modes = edid->modes();
    EXPECT_EQ(std::count(modes.begin(), modes.end(), mode(1280, 720, 50)), 0);
    EXPECT_EQ(std::count(modes.begin(), modes.end(), mode(1280, 720, 60)), 1);
}

// Hex as v4l2-ctl --get-edid writes it, and as people edit it: any
// whitespace, upper or lower case, runs of digits, comments.
TEST(EdidTest, ReadsHexWithWhitespaceAndComments) {
    std::string text = "# my EDID, \xc3\xa4hnlich\r\n";  // UTF-8 in a comment
    const std::vector<uint8_t> &bytes = defaultBytes();
    char hex[4];
    for (size_t i = 0; i < bytes.size(); ++i) {
        std::snprintf(hex, sizeof(hex), i % 3 ? "%02x" : "%02X", bytes[i]);
        text += hex;
        text += i % 16 == 15 ? "\r\n" : i % 4 == 3 ? "\t " : i % 2 ? " " : "";
        if (i == 127)
            text += "  # the extension block follows\n\n";
    }
    std::string error;
    std::optional<Edid> edid = Edid::parseFile(text, error);
    ASSERT_TRUE(edid) << error;
    EXPECT_EQ(edid->bytes(), bytes);
}

TEST(EdidTest, SaysWhereHexTextGoesWrong) {
    std::string error;
    EXPECT_FALSE(Edid::parseFile("00 ff ff ff\nff ff ff 0\n", error));
    EXPECT_EQ(error, "line 2: '0' has an odd number of hex digits");
    EXPECT_FALSE(Edid::parseFile("00 ff\n\n0x00 ff", error));
    EXPECT_EQ(error,
              "line 3: '0x00' is not hex (an EDID file holds hex digits in pairs, or raw bytes)");
    EXPECT_FALSE(Edid::parseFile("# nothing here\n", error));
    EXPECT_EQ(error, "holds no EDID (0 bytes)");
}

TEST(EdidTest, ReadsBinaryFiles) {
    const std::vector<uint8_t> &bytes = defaultBytes();
    std::string error;
    std::optional<Edid> edid = Edid::parseFile(
        std::string(reinterpret_cast<const char *>(bytes.data()), bytes.size()), error);
    ASSERT_TRUE(edid) << error;
    EXPECT_EQ(edid->bytes(), bytes);
    // Binary that is no EDID: the header says so, not a hex complaint.
    std::string junk(256, '\x01');
    EXPECT_FALSE(Edid::parseFile(junk, error));
    EXPECT_EQ(error, "does not start with the EDID header 00 ff ff ff ff ff ff 00");
}

TEST(EdidTest, LoadNamesTheFileInErrors) {
    const std::filesystem::path dir =
        std::filesystem::temp_directory_path() / ("kvmvnc-edid-test-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir);
    std::string error;
    EXPECT_FALSE(Edid::load((dir / "missing.hex").string(), error));
    EXPECT_EQ(error, (dir / "missing.hex").string() + ": No such file or directory");
    std::ofstream((dir / "short.bin").string(), std::ios::binary)
        .write(reinterpret_cast<const char *>(defaultBytes().data()), 100);
    EXPECT_FALSE(Edid::load((dir / "short.bin").string(), error));
    EXPECT_EQ(error, (dir / "short.bin").string() +
                         ": 100 bytes is not a whole number of 128-byte blocks (an EDID is 128 "
                         "or 256 bytes)");
    std::optional<Edid> edid = Edid::load(kDefaultFile, error);
    ASSERT_TRUE(edid) << error;
    EXPECT_EQ(*edid, Edid::kvmvncDefault());
    std::filesystem::remove_all(dir);
}

// A 256-byte EDID whose CTA-861 extension carries audio, video codes beyond
// the base block's modes (4K, interlaced, native flags) and a detailed
// timing of its own.
TEST(EdidTest, ReadsACtaExtensionsModesAndAudio) {
    std::vector<uint8_t> bytes = defaultBytes();
    std::vector<uint8_t> extension = {
        0x02, 0x03, 0x00, 0x40,                          // revision 3, basic audio; offset below
        0x47, 0x90, 0x05, 0x61, 0x5f, 0x00, 0xff, 0x80,  // video: 16 native, 5, 97, 95, reserved
        0x23, 0x09, 0x07, 0x07,                          // audio: LPCM 2 channels, 32-48 kHz
        0x65, 0x03, 0x0c, 0x00, 0x21, 0x00,              // HDMI, physical address 2.1.0.0
    };
    extension[2] = static_cast<uint8_t>(extension.size());
    // 1366x768 at 60 Hz, 85.5 MHz (a laptop panel), as a detailed timing.
    const uint8_t timing[18] = {0x66, 0x21, 0x56, 0xaa, 0x51, 0x00, 0x1e, 0x30, 0x46,
                                0x8f, 0x33, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1e};
    extension.insert(extension.end(), std::begin(timing), std::end(timing));
    extension.resize(128);
    std::copy(extension.begin(), extension.end(), bytes.begin() + 128);

    std::string error;
    std::optional<Edid> edid = Edid::parse(withChecksums(bytes), error);
    ASSERT_TRUE(edid) << error;
    EXPECT_TRUE(edid->hasAudio());
    EXPECT_EQ(edid->hdmiPhysicalAddress(), 0x2100);
    const std::vector<EdidMode> modes = edid->modes();
    ASSERT_FALSE(modes.empty());
    EXPECT_EQ(modes.front(), mode(1920, 1080, 60, true));
    auto has = [&](const EdidMode &wanted) {
        return std::count(modes.begin(), modes.end(), wanted) == 1;
    };
    EXPECT_TRUE(has(mode(3840, 2160, 60)));           // VIC 97
    EXPECT_TRUE(has(mode(3840, 2160, 30)));           // VIC 95
    EXPECT_TRUE(has({1920, 1080, 60, true, false}));  // VIC 5, interlaced
    EXPECT_TRUE(has(mode(1366, 768, 60)));            // the extension's detailed timing
    EXPECT_FALSE(has(mode(1280, 720, 50)));           // VIC 19 is gone from the list
    EXPECT_EQ(modes[1], mode(3840, 2160, 60)) << "largest first after the preferred mode";
    EXPECT_NE(edid->describe().find("audio: yes"), std::string::npos);
    EXPECT_NE(edid->describe().find("  1920x1080i at 60 Hz\n"), std::string::npos);
}

// A receiver hands the EDID back with its input's CEC physical address in
// the HDMI block (vivid: 0.0.0.0): that is still the EDID it was given.
TEST(EdidTest, AReadBackMayDifferOnlyInThePhysicalAddress) {
    const Edid &edid = Edid::kvmvncDefault();
    std::vector<uint8_t> held = edid.bytes();
    const uint8_t hdmiOui[3] = {0x03, 0x0c, 0x00};  // little-endian 00-0C-03
    const auto address =
        std::search(held.begin() + 128, held.end(), std::begin(hdmiOui), std::end(hdmiOui)) + 3;
    ASSERT_EQ(*address, 0x10);
    *address = 0x00;
    held = withChecksums(held);
    EXPECT_TRUE(edid.matchesReadBack(held));
    EXPECT_TRUE(edid.matchesReadBack(edid.bytes()));

    std::vector<uint8_t> other = held;
    other[0x37] ^= 1;  // the preferred timing's pixel clock
    EXPECT_FALSE(edid.matchesReadBack(withChecksums(other)));
    other = held;
    other[130] ^= 1;  // in the extension, outside the address
    EXPECT_FALSE(edid.matchesReadBack(withChecksums(other)));
    other = held;
    other.resize(128);
    EXPECT_FALSE(edid.matchesReadBack(other));
    EXPECT_FALSE(edid.matchesReadBack({}));
}

}  // namespace
}  // namespace kvmvnc::capture
