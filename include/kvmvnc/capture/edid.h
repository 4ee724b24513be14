// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace kvmvnc::capture {

// One video mode an EDID offers the source.
struct EdidMode {
    int width = 0;
    int height = 0;     // of the frame (both fields when interlaced)
    int refreshHz = 0;  // rounded: 59.94 Hz is 60
    bool interlaced = false;
    bool preferred = false;  // the first detailed timing: what the source should send
    bool operator==(const EdidMode &) const = default;
};

// An EDID (VESA E-EDID 1.x base block and its extensions): the description of
// a monitor that a capture device shows the source. A source that finds none
// sees no monitor and sends nothing, so an HDMI bridge (TC358743) captures
// only once one is loaded into it.
//
// Parsing checks what a device needs (whole 128-byte blocks, the header, each
// block's checksum, the number of extensions the base block announces) and
// reads what people ask about (modes, monitor name, audio, HDMI); the rest
// stays bytes. This is the one EDID parser: kvmvncd validates files with it
// and kvmvncctl describes what the daemon reports.
//
// Immutable; any thread.
class Edid {
public:
    static constexpr size_t kBlockSize = 128;
    // Base block and three extensions; real EDIDs have one or two blocks.
    static constexpr size_t kMaxBlocks = 4;

    // Raw bytes. nullopt with `error` saying what is wrong (size, header,
    // checksum, extension count).
    static std::optional<Edid> parse(std::span<const uint8_t> bytes, std::string &error);
    // A file's contents: the raw bytes, or hex text as `v4l2-ctl --get-edid`
    // and edid-decode write it (pairs of hex digits separated by whitespace,
    // '#' starts a comment).
    static std::optional<Edid> parseFile(std::string_view contents, std::string &error);
    // Reads the file at `path` and parses it; errors start with the path.
    static std::optional<Edid> load(const std::string &path, std::string &error);
    // kvmvnc's own (config/edid/default.hex, built in): a monitor "kvmvnc"
    // preferring 1920x1080 at 60 Hz, then 50 Hz, with 1280x1024, 1280x720,
    // 1024x768, 800x600, 640x480 and the 720x400 text mode; HDMI, no audio.
    static const Edid &kvmvncDefault();

    const std::vector<uint8_t> &bytes() const { return bytes_; }
    size_t blocks() const { return bytes_.size() / kBlockSize; }

    std::string manufacturer() const;  // the three-letter PNP ID, "LNX"
    uint16_t productCode() const;
    std::string monitorName() const;  // empty when it has no name descriptor
    int versionMajor() const { return bytes_[18]; }
    int versionMinor() const { return bytes_[19]; }
    // Every mode, the preferred one first, then the largest first; a mode
    // listed several ways (detailed timing, standard timing, CTA-861 video
    // code) once.
    std::vector<EdidMode> modes() const;
    // A CTA-861 extension block declares audio (basic audio or an audio data
    // block): the source may then send sound along with the picture.
    bool hasAudio() const;
    bool hasCtaExtension() const;
    // The HDMI vendor block's CEC physical address (0x1000 is 1.0.0.0); a
    // sink without it is DVI to the source.
    std::optional<uint16_t> hdmiPhysicalAddress() const;

    // Whether `held`, read back from a device, is this EDID. Receivers write
    // the CEC physical address of their input into the HDMI block when they
    // hand the EDID out (vivid, ADV7604), so those two bytes and their
    // block's checksum may differ.
    bool matchesReadBack(std::span<const uint8_t> held) const;

    // Lines for people: monitor, version and size, HDMI, audio, every mode.
    std::string describe() const;

    bool operator==(const Edid &other) const { return bytes_ == other.bytes_; }

private:
    explicit Edid(std::vector<uint8_t> bytes) : bytes_(std::move(bytes)) {}

    std::vector<uint8_t> bytes_;
};

// "1920x1080 at 60 Hz", "1920x1080i at 60 Hz".
std::string edidModeText(const EdidMode &mode);

}  // namespace kvmvnc::capture
