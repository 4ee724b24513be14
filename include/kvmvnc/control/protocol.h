// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// The kvmvnc control protocol (docs/protocol.md): the wire format only,
// shared by the server (ControlService) and kvmvncctl. No I/O here.
namespace kvmvnc::control {

inline constexpr int32_t kPseudoEncoding = 0x4B564D01;
inline constexpr uint8_t kMessageType = 200;
inline constexpr size_t kRequestHeaderSize = 12;  // including the type byte
inline constexpr size_t kServerHeaderSize = 8;
inline constexpr uint32_t kMaxChunk = 256 * 1024;
inline constexpr uint32_t kMaxRequestPayload = kMaxChunk + 16;
inline constexpr size_t kMaxNameLength = 255;
inline constexpr size_t kMaxTypeText = 64 * 1024;  // UTF-8 bytes in one TypeText
inline constexpr size_t kMaxListedUntypable = 64;
inline constexpr uint8_t kVersionMajor = 1;
inline constexpr uint8_t kVersionMinor = 0;

enum class Request : uint8_t {
    AtxGetState = 0x10,
    AtxAction = 0x11,
    DriveGetState = 0x20,
    ImageList = 0x21,
    UploadBegin = 0x22,
    UploadChunk = 0x23,
    UploadFinish = 0x24,
    ImageDelete = 0x25,
    DriveInsert = 0x26,
    DriveEject = 0x27,
    InputGetState = 0x30,
    TypeText = 0x31,
    TypeCancel = 0x32,
    HealthGetState = 0x40,
    EdidGetState = 0x50,
    HardwareCheck = 0x60,
};

enum class ServerMessage : uint8_t {
    Hello = 0x01,
    Reply = 0x02,
    AtxState = 0x10,
    DriveState = 0x20,
    UploadProgress = 0x21,
    InputState = 0x30,
    TypeProgress = 0x31,
    HealthState = 0x40,
};

enum class Status : uint16_t {
    Ok = 0,
    Malformed = 1,
    TooLarge = 2,
    UnknownOpcode = 3,
    PermissionDenied = 4,
    Unsupported = 5,
    Busy = 6,
    InvalidName = 7,
    NotFound = 8,
    AlreadyExists = 9,
    NoSpace = 10,
    BadOffset = 11,
    SizeMismatch = 12,
    ChecksumMismatch = 13,
    IoError = 14,
    InUse = 15,
    Failed = 16,
    NotListening = 17,
    Untypable = 18,
};
const char *statusName(Status status);

namespace feature {
inline constexpr uint32_t kAtx = 1;
inline constexpr uint32_t kWakeOnLan = 2;
inline constexpr uint32_t kMassStorage = 4;
inline constexpr uint32_t kKeyboard = 8;  // InputState and typing text
inline constexpr uint32_t kHealth = 16;   // HealthState
inline constexpr uint32_t kEdid = 32;     // EdidGetState: the source is a V4L2 device
}  // namespace feature

// Appends big-endian fields. Its members are ByteReader's, and always
// succeed: one list of a body's fields, called with either, both writes
// and reads it (protocol.cpp).
class ByteWriter {
public:
    bool u8(uint8_t value) {
        bytes_.push_back(value);
        return true;
    }
    bool u16(uint16_t value);
    bool u32(uint32_t value);
    bool u64(uint64_t value);
    bool raw(const void *data, size_t size);
    // 1-byte length, then the bytes; longer names are cut at kMaxNameLength.
    bool name(std::string_view text);
    // 2-byte length, then the bytes (cut at 65535).
    bool text16(std::string_view text);
    std::vector<uint8_t> &bytes() { return bytes_; }

private:
    template <typename T>
    bool number(T value);
    // The length as a `Length`, then the bytes (cut at its largest value).
    template <typename Length>
    bool prefixed(std::string_view text);

    std::vector<uint8_t> bytes_;
};

// Reads big-endian fields from a payload; every read fails (and leaves the
// reader failed) when the payload is too short.
class ByteReader {
public:
    ByteReader(const uint8_t *data, size_t size) : data_(data), size_(size) {}
    explicit ByteReader(const std::vector<uint8_t> &bytes)
        : ByteReader(bytes.data(), bytes.size()) {}
    bool u8(uint8_t &value);
    bool u16(uint16_t &value);
    bool u32(uint32_t &value);
    bool u64(uint64_t &value);
    bool raw(void *out, size_t size);
    bool name(std::string &text);
    bool text16(std::string &text);
    size_t remaining() const { return failed_ ? 0 : size_ - position_; }
    const uint8_t *current() const { return data_ + position_; }
    // True when everything was read and nothing is left over.
    bool finished() const { return !failed_ && position_ == size_; }

private:
    // `size` bytes, consumed; null (and the reader failed) when fewer are left.
    const uint8_t *take(size_t size);
    template <typename T>
    bool number(T &value);
    template <typename Length>
    bool prefixed(std::string &text);

    const uint8_t *data_;
    size_t size_;
    size_t position_ = 0;
    bool failed_ = false;
};

struct RequestHeader {
    uint8_t opcode = 0;
    uint32_t requestId = 0;
    uint32_t payloadLength = 0;
};
// The 11 bytes after the type byte.
RequestHeader parseRequestHeader(const uint8_t bytes[11]);
// A whole request message (type byte included).
std::vector<uint8_t> encodeRequest(Request opcode, uint32_t requestId,
                                   const std::vector<uint8_t> &payload = {});
// A whole server message (type byte included).
std::vector<uint8_t> encodeServerMessage(ServerMessage opcode, const std::vector<uint8_t> &payload);

// --- Message bodies, each with its encoder and decoder. ---

struct Hello {
    uint8_t versionMajor = kVersionMajor;
    uint8_t versionMinor = kVersionMinor;
    uint32_t features = 0;
    uint32_t maxChunk = kMaxChunk;
    bool fullRights = false;
    bool operator==(const Hello &) const = default;
};
std::vector<uint8_t> encode(const Hello &hello);
std::optional<Hello> decodeHello(const std::vector<uint8_t> &payload);

struct Reply {
    uint32_t requestId = 0;
    Status status = Status::Ok;
    std::vector<uint8_t> result;  // on Ok
    std::string message;          // otherwise
};
std::vector<uint8_t> encode(const Reply &reply);
std::optional<Reply> decodeReply(const std::vector<uint8_t> &payload);

struct AtxStateBody {
    bool powerLed = false;
    bool hddLed = false;
    bool busy = false;
    bool operator==(const AtxStateBody &) const = default;
};
std::vector<uint8_t> encode(const AtxStateBody &state);
std::optional<AtxStateBody> decodeAtxState(const std::vector<uint8_t> &payload);

struct DriveStateBody {
    bool inserted = false;
    bool writable = false;
    uint8_t mode = 0;  // 0 CD-ROM, 1 flash
    uint64_t size = 0;
    std::string name;
    std::string problem;
    bool operator==(const DriveStateBody &) const = default;
};
std::vector<uint8_t> encode(const DriveStateBody &state);
std::optional<DriveStateBody> decodeDriveState(const std::vector<uint8_t> &payload);

struct UploadProgressBody {
    uint64_t confirmed = 0;
    uint64_t size = 0;
    std::string name;
    bool operator==(const UploadProgressBody &) const = default;
};
std::vector<uint8_t> encode(const UploadProgressBody &progress);
std::optional<UploadProgressBody> decodeUploadProgress(const std::vector<uint8_t> &payload);

struct ImageEntry {
    std::string name;
    uint64_t size = 0;
    uint64_t confirmed = 0;
    bool incomplete = false;
    bool operator==(const ImageEntry &) const = default;
};
std::vector<uint8_t> encodeImageList(const std::vector<ImageEntry> &images);
std::optional<std::vector<ImageEntry>> decodeImageList(const std::vector<uint8_t> &payload);

struct UploadBeginBody {
    uint64_t size = 0;
    std::array<uint8_t, 32> sha256{};
    std::string name;
};
std::vector<uint8_t> encode(const UploadBeginBody &body);
std::optional<UploadBeginBody> decodeUploadBegin(const std::vector<uint8_t> &payload);

struct DriveInsertBody {
    uint8_t mode = 0;
    bool writable = false;
    std::string name;
};
std::vector<uint8_t> encode(const DriveInsertBody &body);
std::optional<DriveInsertBody> decodeDriveInsert(const std::vector<uint8_t> &payload);

struct InputStateBody {
    bool hostListening = true;
    bool typing = false;
    std::string layout;
    bool operator==(const InputStateBody &) const = default;
};
std::vector<uint8_t> encode(const InputStateBody &state);
std::optional<InputStateBody> decodeInputState(const std::vector<uint8_t> &payload);

struct TypeTextBody {
    bool skipUntypable = false;  // type the rest when the layout lacks some characters
    std::string text;            // UTF-8
};
std::vector<uint8_t> encode(const TypeTextBody &body);
std::optional<TypeTextBody> decodeTypeText(const std::vector<uint8_t> &payload);

// TypeText's result on Ok: how many characters will be typed, and those
// skipped because the layout cannot type them (at most kMaxListedUntypable).
struct TypeTextResult {
    uint32_t characters = 0;
    std::u32string untypable;
    bool operator==(const TypeTextResult &) const = default;
};
std::vector<uint8_t> encode(const TypeTextResult &result);
std::optional<TypeTextResult> decodeTypeTextResult(const std::vector<uint8_t> &payload);

struct TypeProgressBody {
    enum class State : uint8_t { Typing = 0, Done = 1, Cancelled = 2, NotListening = 3 };
    uint32_t typed = 0;
    uint32_t total = 0;
    State state = State::Typing;
    bool operator==(const TypeProgressBody &) const = default;
};
std::vector<uint8_t> encode(const TypeProgressBody &progress);
std::optional<TypeProgressBody> decodeTypeProgress(const std::vector<uint8_t> &payload);

// The device's own health (docs/protocol.md, HealthState).
struct HealthStateBody {
    bool temperatureKnown = false;
    bool throttlingKnown = false;
    bool hot = false;
    uint8_t signal = 0;  // 0 picture, 1 no signal, ... 6 capture error
    uint16_t viewers = 0;
    int32_t milliCelsius = 0;
    uint32_t throttled = 0;  // the Raspberry Pi firmware's get_throttled bits
    uint32_t fpsHundredths = 0;
    uint16_t width = 0;
    uint16_t height = 0;
    bool operator==(const HealthStateBody &) const = default;
};
inline constexpr uint8_t kMaxSignalState = 6;
std::vector<uint8_t> encode(const HealthStateBody &state);
std::optional<HealthStateBody> decodeHealthState(const std::vector<uint8_t> &payload);

// The capture device's EDID (docs/protocol.md, EdidGetState): what the
// target is told about the monitor it is connected to.
struct EdidStateBody {
    enum class State : uint8_t {
        Unknown = 0,      // no capture device open yet
        Present = 1,      // `edid` is what the device holds
        Empty = 2,        // the device holds no EDID: the target sees no monitor
        Unsupported = 3,  // the device takes no EDID (USB dongles show their own)
        Failed = 4,       // loading failed (`detail`); `edid` is what it holds, if anything
    };
    State state = State::Unknown;
    std::string setting;  // [capture] edid: "default", "keep" or a file
    std::string node;     // the device node holding it
    std::string detail;
    std::vector<uint8_t> edid;  // at most kMaxEdidBytes
    bool operator==(const EdidStateBody &) const = default;
};
inline constexpr size_t kMaxEdidBytes = 256 * 128;  // V4L2's limit
std::vector<uint8_t> encode(const EdidStateBody &state);
std::optional<EdidStateBody> decodeEdidState(const std::vector<uint8_t> &payload);

// What kvmvncd finds of the hardware its configuration needs
// (docs/protocol.md, HardwareCheck): the lines of `kvmvncd
// --check-hardware`, as kvmvncd answers them for itself.
struct HardwareCheckLine {
    uint8_t status = 0;  // 0 OK, 1 warning, 2 failed, 3 skipped
    std::string name;
    std::string finding;
    std::string fix;
    bool operator==(const HardwareCheckLine &) const = default;
};
struct HardwareReportBody {
    std::string configuration;              // the INI file's path; empty for the built-in defaults
    std::vector<HardwareCheckLine> checks;  // at most kMaxHardwareChecks
    bool operator==(const HardwareReportBody &) const = default;
};
inline constexpr size_t kMaxHardwareChecks = 255;
inline constexpr uint8_t kMaxHardwareStatus = 3;
std::vector<uint8_t> encode(const HardwareReportBody &report);
std::optional<HardwareReportBody> decodeHardwareReport(const std::vector<uint8_t> &payload);

}  // namespace kvmvnc::control
