// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/capture/edid.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>

#include "kvmvnc/base/error_text.h"

namespace kvmvnc::capture {

// config/edid/default.hex, built in (edid_default.cpp.in).
extern const std::string_view kDefaultEdidHex;

namespace {

constexpr uint8_t kHeader[8] = {0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00};
constexpr size_t kDescriptors = 54;  // four 18-byte descriptors from here
constexpr size_t kDescriptorSize = 18;
constexpr uint8_t kCtaTag = 0x02;
// A file bigger than this is no EDID, whatever it holds.
constexpr size_t kMaxFileSize = 64 * 1024;

std::string hexByte(unsigned value) {
    char text[8];
    std::snprintf(text, sizeof(text), "0x%02x", value & 0xff);
    return text;
}

// The established timings I and II (bytes 35 and 36, most significant bit
// first) and the manufacturer's timing of byte 37.
struct Established {
    int width, height, refreshHz;
    bool interlaced;
};
constexpr Established kEstablished[17] = {
    {720, 400, 70, false},  {720, 400, 88, false},  {640, 480, 60, false},  {640, 480, 67, false},
    {640, 480, 72, false},  {640, 480, 75, false},  {800, 600, 56, false},  {800, 600, 60, false},
    {800, 600, 72, false},  {800, 600, 75, false},  {832, 624, 75, false},  {1024, 768, 87, true},
    {1024, 768, 60, false}, {1024, 768, 70, false}, {1024, 768, 75, false}, {1280, 1024, 75, false},
    {1152, 870, 75, false},
};

// CTA-861 video identification codes 1 to 107 (CTA-861-G table 3), as
// edid-decode names them: pixel-repeated modes keep their doubled widths.
struct Vic {
    uint16_t width, height;
    uint8_t refreshHz;
    bool interlaced;
};
constexpr Vic kVics[] = {
    {0, 0, 0, false},  // VIC 0 is reserved
    {640, 480, 60, false},    {720, 480, 60, false},    {720, 480, 60, false},
    {1280, 720, 60, false},   {1920, 1080, 60, true},   {1440, 480, 60, true},
    {1440, 480, 60, true},    {1440, 240, 60, false},   {1440, 240, 60, false},
    {2880, 480, 60, true},    {2880, 480, 60, true},    {2880, 240, 60, false},
    {2880, 240, 60, false},   {1440, 480, 60, false},   {1440, 480, 60, false},
    {1920, 1080, 60, false},  {720, 576, 50, false},    {720, 576, 50, false},
    {1280, 720, 50, false},   {1920, 1080, 50, true},   {1440, 576, 50, true},
    {1440, 576, 50, true},    {1440, 288, 50, false},   {1440, 288, 50, false},
    {2880, 576, 50, true},    {2880, 576, 50, true},    {2880, 288, 50, false},
    {2880, 288, 50, false},   {1440, 576, 50, false},   {1440, 576, 50, false},
    {1920, 1080, 50, false},  {1920, 1080, 24, false},  {1920, 1080, 25, false},
    {1920, 1080, 30, false},  {2880, 480, 60, false},   {2880, 480, 60, false},
    {2880, 576, 50, false},   {2880, 576, 50, false},   {1920, 1080, 50, true},
    {1920, 1080, 100, true},  {1280, 720, 100, false},  {720, 576, 100, false},
    {720, 576, 100, false},   {1440, 576, 100, true},   {1440, 576, 100, true},
    {1920, 1080, 120, true},  {1280, 720, 120, false},  {720, 480, 120, false},
    {720, 480, 120, false},   {1440, 480, 120, true},   {1440, 480, 120, true},
    {720, 576, 200, false},   {720, 576, 200, false},   {1440, 576, 200, true},
    {1440, 576, 200, true},   {720, 480, 240, false},   {720, 480, 240, false},
    {1440, 480, 240, true},   {1440, 480, 240, true},   {1280, 720, 24, false},
    {1280, 720, 25, false},   {1280, 720, 30, false},   {1920, 1080, 120, false},
    {1920, 1080, 100, false}, {1280, 720, 24, false},   {1280, 720, 25, false},
    {1280, 720, 30, false},   {1280, 720, 50, false},   {1280, 720, 60, false},
    {1280, 720, 100, false},  {1280, 720, 120, false},  {1920, 1080, 24, false},
    {1920, 1080, 25, false},  {1920, 1080, 30, false},  {1920, 1080, 50, false},
    {1920, 1080, 60, false},  {1920, 1080, 100, false}, {1920, 1080, 120, false},
    {1680, 720, 24, false},   {1680, 720, 25, false},   {1680, 720, 30, false},
    {1680, 720, 50, false},   {1680, 720, 60, false},   {1680, 720, 100, false},
    {1680, 720, 120, false},  {2560, 1080, 24, false},  {2560, 1080, 25, false},
    {2560, 1080, 30, false},  {2560, 1080, 50, false},  {2560, 1080, 60, false},
    {2560, 1080, 100, false}, {2560, 1080, 120, false}, {3840, 2160, 24, false},
    {3840, 2160, 25, false},  {3840, 2160, 30, false},  {3840, 2160, 50, false},
    {3840, 2160, 60, false},  {4096, 2160, 24, false},  {4096, 2160, 25, false},
    {4096, 2160, 30, false},  {4096, 2160, 50, false},  {4096, 2160, 60, false},
    {3840, 2160, 24, false},  {3840, 2160, 25, false},  {3840, 2160, 30, false},
    {3840, 2160, 50, false},  {3840, 2160, 60, false},
};
static_assert(std::size(kVics) == 108, "VICs 0 to 107");

// A short video descriptor's VIC (CTA-861-F 7.5.1): values 129 to 192 are
// VICs 1 to 64 flagged native; 0, 128, 254 and 255 are reserved.
int vicOf(uint8_t svd) {
    if (svd >= 129 && svd <= 192)
        return svd & 0x7f;
    if (svd == 0 || svd == 128 || svd >= 254)
        return 0;
    return svd;
}

// A detailed timing descriptor (pixel clock non-zero) as a mode.
std::optional<EdidMode> detailedMode(const uint8_t *d) {
    const unsigned clock10kHz = d[0] | d[1] << 8;
    if (clock10kHz == 0)
        return std::nullopt;
    const int hActive = d[2] | (d[4] & 0xf0) << 4;
    const int hBlank = d[3] | (d[4] & 0x0f) << 8;
    const int vActive = d[5] | (d[7] & 0xf0) << 4;
    const int vBlank = d[6] | (d[7] & 0x0f) << 8;
    const bool interlaced = d[17] & 0x80;
    if (hActive == 0 || vActive == 0)
        return std::nullopt;
    const double total = static_cast<double>(hActive + hBlank) * (vActive + vBlank);
    EdidMode mode;
    mode.width = hActive;
    // An interlaced timing describes one field; the frame has both.
    mode.height = interlaced ? vActive * 2 : vActive;
    mode.interlaced = interlaced;
    mode.refreshHz = static_cast<int>(std::lround(clock10kHz * 10000.0 / total));
    return mode;
}

// A standard timing (two bytes), nullopt when the slot is unused.
std::optional<EdidMode> standardMode(uint8_t first, uint8_t second, int versionMinor) {
    if (first == 0x00 || (first == 0x01 && second == 0x01))
        return std::nullopt;
    EdidMode mode;
    mode.width = (first + 31) * 8;
    switch (second >> 6) {
    case 0:  // 16:10 since EDID 1.3, 1:1 before
        mode.height = versionMinor >= 3 ? mode.width * 10 / 16 : mode.width;
        break;
    case 1:
        mode.height = mode.width * 3 / 4;
        break;
    case 2:
        mode.height = mode.width * 4 / 5;
        break;
    default:
        mode.height = mode.width * 9 / 16;
        break;
    }
    mode.refreshHz = (second & 0x3f) + 60;
    return mode;
}

// Calls `visit(tag, payload, length)` for each data block of a CTA-861
// extension block; stops at the detailed timings or the block's end.
template <typename Visit>
void forEachDataBlock(const uint8_t *block, Visit visit) {
    const size_t end = std::min<size_t>(block[2], Edid::kBlockSize - 1);
    for (size_t at = 4; at < end;) {
        const uint8_t tag = block[at] >> 5;
        const size_t length = block[at] & 0x1f;
        if (at + 1 + length > end)
            break;
        visit(tag, block + at + 1, length);
        at += 1 + length;
    }
}

// Where the first HDMI vendor-specific data block (the HDMI Licensing OUI
// 00-0C-03, little-endian) of the CTA-861 extensions keeps the source's
// physical address: its offset in `bytes`, or nullopt without one.
std::optional<size_t> hdmiAddressOffset(std::span<const uint8_t> bytes) {
    std::optional<size_t> offset;
    for (size_t block = 1; block < bytes.size() / Edid::kBlockSize; ++block) {
        const uint8_t *b = bytes.data() + block * Edid::kBlockSize;
        if (b[0] != kCtaTag)
            continue;
        forEachDataBlock(b, [&](uint8_t tag, const uint8_t *payload, size_t length) {
            if (tag == 3 && length >= 5 && payload[0] == 0x03 && payload[1] == 0x0c &&
                payload[2] == 0x00 && !offset)
                offset = static_cast<size_t>(payload + 3 - bytes.data());
        });
    }
    return offset;
}

bool isHexDigit(char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }

}  // namespace

std::optional<Edid> Edid::parse(std::span<const uint8_t> bytes, std::string &error) {
    if (bytes.empty()) {
        error = "holds no EDID (0 bytes)";
        return std::nullopt;
    }
    if (bytes.size() % kBlockSize != 0) {
        error = std::to_string(bytes.size()) +
                " bytes is not a whole number of 128-byte blocks (an EDID is 128 or 256 bytes)";
        return std::nullopt;
    }
    const size_t blocks = bytes.size() / kBlockSize;
    if (blocks > kMaxBlocks) {
        error = std::to_string(bytes.size()) + " bytes is more than the " +
                std::to_string(kMaxBlocks) + " blocks (" + std::to_string(kMaxBlocks * kBlockSize) +
                " bytes) kvmvnc loads";
        return std::nullopt;
    }
    if (!std::equal(std::begin(kHeader), std::end(kHeader), bytes.begin())) {
        error = "does not start with the EDID header 00 ff ff ff ff ff ff 00";
        return std::nullopt;
    }
    for (size_t block = 0; block < blocks; ++block) {
        unsigned sum = 0;
        for (size_t i = 0; i < kBlockSize; ++i)
            sum += bytes[block * kBlockSize + i];
        if (sum % 256 != 0) {
            const uint8_t last = bytes[block * kBlockSize + kBlockSize - 1];
            error = "block " + std::to_string(block) + " has a wrong checksum: its last byte is " +
                    hexByte(last) + ", it must be " + hexByte(last - sum) +
                    " for the block to add up to 0";
            return std::nullopt;
        }
    }
    if (bytes[18] != 1) {
        error = "EDID version " + std::to_string(bytes[18]) + "." + std::to_string(bytes[19]) +
                " is not 1.x";
        return std::nullopt;
    }
    if (bytes[126] != blocks - 1) {
        error = "the base block announces " + std::to_string(bytes[126]) +
                " extension blocks, but " + std::to_string(blocks - 1) + " follow";
        return std::nullopt;
    }
    return Edid(std::vector<uint8_t>(bytes.begin(), bytes.end()));
}

std::optional<Edid> Edid::parseFile(std::string_view contents, std::string &error) {
    // Binary when it starts like an EDID or holds control bytes no text has
    // (an EDID is full of zeros); UTF-8 in a comment is still text.
    const bool binary = (contents.size() >= sizeof(kHeader) &&
                         std::memcmp(contents.data(), kHeader, sizeof(kHeader)) == 0) ||
                        std::any_of(contents.begin(), contents.end(), [](char c) {
                            const auto byte = static_cast<unsigned char>(c);
                            return byte == 0x7f || (byte < 0x20 && !std::isspace(byte));
                        });
    if (binary) {
        return parse(std::span(reinterpret_cast<const uint8_t *>(contents.data()), contents.size()),
                     error);
    }

    std::vector<uint8_t> bytes;
    int line = 1;
    for (size_t at = 0; at < contents.size();) {
        const char c = contents[at];
        if (c == '\n') {
            ++line;
            ++at;
        } else if (std::isspace(static_cast<unsigned char>(c))) {
            ++at;
        } else if (c == '#') {
            const size_t end = contents.find('\n', at);
            at = end == std::string_view::npos ? contents.size() : end;
        } else {
            size_t end = at;
            while (end < contents.size() &&
                   !std::isspace(static_cast<unsigned char>(contents[end])))
                ++end;
            const std::string_view word = contents.substr(at, end - at);
            const auto bad = std::find_if_not(word.begin(), word.end(), isHexDigit);
            if (bad != word.end()) {
                error = "line " + std::to_string(line) + ": '" + std::string(word) +
                        "' is not hex (an EDID file holds hex digits in pairs, or raw bytes)";
                return std::nullopt;
            }
            if (word.size() % 2 != 0) {
                error = "line " + std::to_string(line) + ": '" + std::string(word) +
                        "' has an odd number of hex digits";
                return std::nullopt;
            }
            for (size_t i = 0; i < word.size(); i += 2)
                bytes.push_back(
                    static_cast<uint8_t>(std::stoi(std::string(word.substr(i, 2)), nullptr, 16)));
            at = end;
        }
    }
    return parse(bytes, error);
}

std::optional<Edid> Edid::load(const std::string &path, std::string &error) {
    std::ifstream file(path, std::ios::binary);
    if (!file) {
        error = path + ": " + errorText(errno);
        return std::nullopt;
    }
    std::string contents;
    contents.resize(kMaxFileSize + 1);
    file.read(contents.data(), static_cast<std::streamsize>(contents.size()));
    if (file.bad()) {
        error = path + ": read error";
        return std::nullopt;
    }
    contents.resize(static_cast<size_t>(file.gcount()));
    if (contents.size() > kMaxFileSize) {
        error = path + ": over " + std::to_string(kMaxFileSize / 1024) + " KiB, no EDID file";
        return std::nullopt;
    }
    std::optional<Edid> edid = parseFile(contents, error);
    if (!edid)
        error = path + ": " + error;
    return edid;
}

const Edid &Edid::kvmvncDefault() {
    static const Edid edid = [] {
        std::string error;
        std::optional<Edid> parsed = parseFile(kDefaultEdidHex, error);
        if (!parsed)  // tests/capture parses it: a build that gets here is broken
            throw std::logic_error("the built-in EDID (config/edid/default.hex) " + error);
        return *parsed;
    }();
    return edid;
}

std::string Edid::manufacturer() const {
    const unsigned id = bytes_[8] << 8 | bytes_[9];
    std::string name;
    for (int shift : {10, 5, 0}) {
        const unsigned letter = (id >> shift) & 0x1f;
        name += letter >= 1 && letter <= 26 ? static_cast<char>('A' + letter - 1) : '?';
    }
    return name;
}

uint16_t Edid::productCode() const { return static_cast<uint16_t>(bytes_[10] | bytes_[11] << 8); }

std::string Edid::monitorName() const {
    for (size_t at = kDescriptors; at < kDescriptors + 4 * kDescriptorSize; at += kDescriptorSize) {
        const uint8_t *d = bytes_.data() + at;
        if (d[0] != 0 || d[1] != 0 || d[3] != 0xfc)
            continue;
        std::string name;
        for (size_t i = 5; i < kDescriptorSize && d[i] != 0x0a; ++i)
            name += d[i] >= 0x20 && d[i] < 0x7f ? static_cast<char>(d[i]) : '?';
        while (!name.empty() && name.back() == ' ')
            name.pop_back();
        return name;
    }
    return {};
}

std::vector<EdidMode> Edid::modes() const {
    std::vector<EdidMode> modes;
    auto add = [&](EdidMode mode) {
        const bool known = std::any_of(modes.begin(), modes.end(), [&](const EdidMode &other) {
            return other.width == mode.width && other.height == mode.height &&
                   other.refreshHz == mode.refreshHz && other.interlaced == mode.interlaced;
        });
        if (!known)
            modes.push_back(mode);
    };

    bool first = true;
    for (size_t at = kDescriptors; at < kDescriptors + 4 * kDescriptorSize; at += kDescriptorSize) {
        const uint8_t *d = bytes_.data() + at;
        if (std::optional<EdidMode> mode = detailedMode(d)) {
            // Since EDID 1.3 the first detailed timing is the preferred mode.
            mode->preferred = first;
            first = false;
            add(*mode);
        } else if (d[0] == 0 && d[1] == 0 && d[3] == 0xfa) {
            for (size_t i = 5; i + 1 < kDescriptorSize - 1; i += 2)
                if (auto standard = standardMode(d[i], d[i + 1], versionMinor()))
                    add(*standard);
        }
    }
    for (size_t block = 1; block < blocks(); ++block) {
        const uint8_t *b = bytes_.data() + block * kBlockSize;
        if (b[0] != kCtaTag)
            continue;
        // Byte 2 is where the detailed timings start (0: none, nor data blocks).
        for (size_t at = b[2]; at >= 4 && at + kDescriptorSize <= kBlockSize - 1;
             at += kDescriptorSize) {
            std::optional<EdidMode> mode = detailedMode(b + at);
            if (!mode)
                break;
            add(*mode);
        }
        forEachDataBlock(b, [&](uint8_t tag, const uint8_t *payload, size_t length) {
            if (tag != 2)  // video data block
                return;
            for (size_t i = 0; i < length; ++i) {
                const int vic = vicOf(payload[i]);
                if (vic > 0 && vic < static_cast<int>(std::size(kVics)))
                    add({kVics[vic].width, kVics[vic].height, kVics[vic].refreshHz,
                         kVics[vic].interlaced, false});
            }
        });
    }
    for (size_t i = 0; i < 8; ++i)
        if (auto standard = standardMode(bytes_[38 + 2 * i], bytes_[39 + 2 * i], versionMinor()))
            add(*standard);
    for (size_t bit = 0; bit < std::size(kEstablished); ++bit) {
        if (bytes_[35 + bit / 8] & (0x80 >> (bit % 8))) {
            const Established &e = kEstablished[bit];
            add({e.width, e.height, e.refreshHz, e.interlaced, false});
        }
    }

    // The preferred mode first, then by size and refresh, largest first.
    std::stable_sort(modes.begin(), modes.end(), [](const EdidMode &a, const EdidMode &b) {
        if (a.preferred != b.preferred)
            return a.preferred;
        const long areaA = static_cast<long>(a.width) * a.height;
        const long areaB = static_cast<long>(b.width) * b.height;
        if (areaA != areaB)
            return areaA > areaB;
        if (a.width != b.width)
            return a.width > b.width;
        return a.refreshHz > b.refreshHz;
    });
    return modes;
}

bool Edid::hasCtaExtension() const {
    for (size_t block = 1; block < blocks(); ++block)
        if (bytes_[block * kBlockSize] == kCtaTag)
            return true;
    return false;
}

bool Edid::hasAudio() const {
    bool audio = false;
    for (size_t block = 1; block < blocks(); ++block) {
        const uint8_t *b = bytes_.data() + block * kBlockSize;
        if (b[0] != kCtaTag)
            continue;
        if (b[3] & 0x40)  // basic audio
            audio = true;
        forEachDataBlock(b, [&](uint8_t tag, const uint8_t *, size_t) {
            if (tag == 1)  // audio data block
                audio = true;
        });
    }
    return audio;
}

std::optional<uint16_t> Edid::hdmiPhysicalAddress() const {
    const std::optional<size_t> at = hdmiAddressOffset(bytes_);
    if (!at)
        return std::nullopt;
    return static_cast<uint16_t>(bytes_[*at] << 8 | bytes_[*at + 1]);
}

bool Edid::matchesReadBack(std::span<const uint8_t> held) const {
    if (held.size() != bytes_.size())
        return false;
    const size_t address = hdmiAddressOffset(bytes_).value_or(bytes_.size());  // size: none
    const size_t checksum = address / kBlockSize * kBlockSize + kBlockSize - 1;
    for (size_t i = 0; i < bytes_.size(); ++i) {
        if (i == address || i == address + 1 || i == checksum)
            continue;
        if (held[i] != bytes_[i])
            return false;
    }
    return true;
}

std::string Edid::describe() const {
    std::ostringstream out;
    const std::string name = monitorName();
    char product[8];
    std::snprintf(product, sizeof(product), "%04x", productCode());
    out << "monitor: " << (name.empty() ? "(no name)" : name) << " (manufacturer " << manufacturer()
        << ", product " << product << ")\n";
    out << "EDID: version " << versionMajor() << "." << versionMinor() << ", " << bytes_.size()
        << " bytes" << (hasCtaExtension() ? " with a CTA-861 extension" : "") << "\n";
    if (std::optional<uint16_t> address = hdmiPhysicalAddress())
        out << "interface: HDMI, physical address " << (*address >> 12) << "."
            << ((*address >> 8) & 0xf) << "." << ((*address >> 4) & 0xf) << "." << (*address & 0xf)
            << "\n";
    else
        out << "interface: DVI (no HDMI vendor block)\n";
    out << "audio: " << (hasAudio() ? "yes" : "none") << "\n";
    out << "modes:\n";
    for (const EdidMode &mode : modes())
        out << "  " << edidModeText(mode) << (mode.preferred ? " (preferred)" : "") << "\n";
    return out.str();
}

std::string edidModeText(const EdidMode &mode) {
    return std::to_string(mode.width) + "x" + std::to_string(mode.height) +
           (mode.interlaced ? "i" : "") + " at " + std::to_string(mode.refreshHz) + " Hz";
}

}  // namespace kvmvnc::capture
