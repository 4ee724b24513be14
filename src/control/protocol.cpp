// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/control/protocol.h"

#include <algorithm>
#include <concepts>
#include <limits>
#include <type_traits>
#include <utility>

namespace kvmvnc::control {

const char *statusName(Status status) {
    switch (status) {
    case Status::Ok:
        return "ok";
    case Status::Malformed:
        return "malformed request";
    case Status::TooLarge:
        return "request too large";
    case Status::UnknownOpcode:
        return "unknown request";
    case Status::PermissionDenied:
        return "permission denied";
    case Status::Unsupported:
        return "not supported";
    case Status::Busy:
        return "busy";
    case Status::InvalidName:
        return "invalid name";
    case Status::NotFound:
        return "not found";
    case Status::AlreadyExists:
        return "already exists";
    case Status::NoSpace:
        return "no space";
    case Status::BadOffset:
        return "bad offset";
    case Status::SizeMismatch:
        return "size mismatch";
    case Status::ChecksumMismatch:
        return "checksum mismatch";
    case Status::IoError:
        return "I/O error";
    case Status::InUse:
        return "in use";
    case Status::Failed:
        return "failed";
    case Status::NotListening:
        return "the target is not listening";
    case Status::Untypable:
        return "the layout cannot type it";
    }
    return "unknown status";
}

template <typename T>
bool ByteWriter::number(T value) {
    for (int shift = 8 * (static_cast<int>(sizeof(T)) - 1); shift >= 0; shift -= 8)
        bytes_.push_back(static_cast<uint8_t>(value >> shift));
    return true;
}

template <typename Length>
bool ByteWriter::prefixed(std::string_view text) {
    text = text.substr(0, std::numeric_limits<Length>::max());
    number(static_cast<Length>(text.size()));
    return raw(text.data(), text.size());
}

bool ByteWriter::u16(uint16_t value) { return number(value); }
bool ByteWriter::u32(uint32_t value) { return number(value); }
bool ByteWriter::u64(uint64_t value) { return number(value); }

bool ByteWriter::raw(const void *data, size_t size) {
    const auto *p = static_cast<const uint8_t *>(data);
    bytes_.insert(bytes_.end(), p, p + size);
    return true;
}

static_assert(kMaxNameLength == std::numeric_limits<uint8_t>::max());
bool ByteWriter::name(std::string_view text) { return prefixed<uint8_t>(text); }
bool ByteWriter::text16(std::string_view text) { return prefixed<uint16_t>(text); }
const uint8_t *ByteReader::take(size_t size) {
    if (failed_ || size > size_ - position_) {
        failed_ = true;
        return nullptr;
    }
    const uint8_t *at = data_ + position_;
    position_ += size;
    return at;
}

template <typename T>
bool ByteReader::number(T &value) {
    const uint8_t *at = take(sizeof(T));
    if (!at)
        return false;
    value = 0;
    for (size_t i = 0; i < sizeof(T); ++i)
        value = static_cast<T>(value << 8 | at[i]);
    return true;
}

template <typename Length>
bool ByteReader::prefixed(std::string &text) {
    Length length = 0;
    const uint8_t *at = number(length) ? take(length) : nullptr;
    if (at)
        text.assign(reinterpret_cast<const char *>(at), length);
    return at != nullptr;
}

bool ByteReader::u8(uint8_t &value) { return number(value); }
bool ByteReader::u16(uint16_t &value) { return number(value); }
bool ByteReader::u32(uint32_t &value) { return number(value); }
bool ByteReader::u64(uint64_t &value) { return number(value); }

bool ByteReader::raw(void *out, size_t size) {
    const uint8_t *at = take(size);
    if (at)
        std::copy_n(at, size, static_cast<uint8_t *>(out));
    return at != nullptr;
}

bool ByteReader::name(std::string &text) { return prefixed<uint8_t>(text); }
bool ByteReader::text16(std::string &text) { return prefixed<uint16_t>(text); }

RequestHeader parseRequestHeader(const uint8_t bytes[11]) {
    ByteReader reader(bytes, 11);
    RequestHeader header;
    uint16_t reserved = 0;
    reader.u8(header.opcode);
    reader.u16(reserved);
    reader.u32(header.requestId);
    reader.u32(header.payloadLength);
    return header;
}

std::vector<uint8_t> encodeRequest(Request opcode, uint32_t requestId,
                                   const std::vector<uint8_t> &payload) {
    ByteWriter writer;
    writer.u8(kMessageType);
    writer.u8(static_cast<uint8_t>(opcode));
    writer.u16(0);
    writer.u32(requestId);
    writer.u32(static_cast<uint32_t>(payload.size()));
    writer.raw(payload.data(), payload.size());
    return std::move(writer.bytes());
}

std::vector<uint8_t> encodeServerMessage(ServerMessage opcode,
                                         const std::vector<uint8_t> &payload) {
    ByteWriter writer;
    writer.u8(kMessageType);
    writer.u8(static_cast<uint8_t>(opcode));
    writer.u16(0);
    writer.u32(static_cast<uint32_t>(payload.size()));
    writer.raw(payload.data(), payload.size());
    return std::move(writer.bytes());
}

// --- Message bodies ---
//
// Each body's fields are listed once, in fields(io, body), for both ways:
// with a ByteWriter and a const body they are written (every call
// succeeds), with a ByteReader they are read into the body (a call fails
// when the payload is too short). Reserved fields are locals: written as
// 0, read and dropped. The helpers below are the fields whose wire form is
// not the body's own type.

namespace {

// `Body` or `const Body`: the same fields() writes the one and reads the other.
template <typename T, typename Body>
concept MaybeConst = std::same_as<std::remove_const_t<T>, Body>;

// An enum, a signed number or a character as the unsigned number of its width.
template <typename T>
bool number(ByteWriter &writer, T value) {
    const auto wire = static_cast<std::make_unsigned_t<T>>(value);
    if constexpr (sizeof(T) == 1)
        return writer.u8(wire);
    else if constexpr (sizeof(T) == 2)
        return writer.u16(wire);
    else
        return writer.u32(wire);
}

template <typename T>
bool number(ByteReader &reader, T &value) {
    std::make_unsigned_t<T> wire = 0;
    bool read = false;
    if constexpr (sizeof(T) == 1)
        read = reader.u8(wire);
    else if constexpr (sizeof(T) == 2)
        read = reader.u16(wire);
    else
        read = reader.u32(wire);
    value = static_cast<T>(wire);
    return read;
}

// One byte of flags, bit 0 first; reading ignores the bits it does not know.
bool flags(ByteWriter &writer, std::same_as<bool> auto... bits) {
    unsigned byte = 0, bit = 1;
    ((byte |= bits ? bit : 0U, bit <<= 1), ...);
    return writer.u8(static_cast<uint8_t>(byte));
}

bool flags(ByteReader &reader, std::same_as<bool> auto &...bits) {
    uint8_t byte = 0;
    if (!reader.u8(byte))
        return false;
    unsigned bit = 1;
    ((bits = (byte & bit) != 0, bit <<= 1), ...);
    return true;
}

// The rest of the payload, as it is.
bool rest(ByteWriter &writer, std::string_view bytes) {
    return writer.raw(bytes.data(), bytes.size());
}
bool rest(ByteWriter &writer, const std::vector<uint8_t> &bytes) {
    return writer.raw(bytes.data(), bytes.size());
}
template <typename Bytes>
bool rest(ByteReader &reader, Bytes &bytes) {
    bytes.resize(reader.remaining());
    return reader.raw(bytes.data(), bytes.size());
}

// A count as a `Count`, then that many items, each through `item`. Writing
// sends the first `Max` items at most; reading rejects a count above `Max`.
template <typename Count, size_t Max = std::numeric_limits<Count>::max(), typename Items,
          typename Item>
bool list(ByteWriter &writer, const Items &items, Item item) {
    const size_t count = std::min(items.size(), Max);
    number(writer, static_cast<Count>(count));
    for (size_t i = 0; i < count; ++i)
        item(items[i]);
    return true;
}

template <typename Count, size_t Max = std::numeric_limits<Count>::max(), typename Items,
          typename Item>
bool list(ByteReader &reader, Items &items, Item item) {
    Count count = 0;
    if (!number(reader, count) || count > Max)
        return false;
    for (Count i = 0; i < count; ++i) {
        typename Items::value_type read{};
        if (!item(read))
            return false;
        items.push_back(std::move(read));
    }
    return true;
}

// The rights byte is a value (0 view-only, 1 full), not a flag: its owner
// turns it into fullRights.
bool fields(auto &io, MaybeConst<Hello> auto &hello, uint8_t &rights) {
    uint8_t reserved8 = 0;
    uint16_t reserved16 = 0;
    return io.u8(hello.versionMajor) && io.u8(hello.versionMinor) && io.u16(reserved16) &&
           io.u32(hello.features) && io.u32(hello.maxChunk) && io.u8(rights) && io.u8(reserved8) &&
           io.u16(reserved16);
}

bool fields(auto &io, MaybeConst<Reply> auto &reply) {
    uint16_t reserved = 0;
    return io.u32(reply.requestId) && number(io, reply.status) && io.u16(reserved) &&
           (reply.status == Status::Ok ? rest(io, reply.result) : rest(io, reply.message));
}

bool fields(auto &io, MaybeConst<AtxStateBody> auto &state) {
    return flags(io, state.powerLed, state.hddLed, state.busy);
}

bool fields(auto &io, MaybeConst<DriveStateBody> auto &state) {
    uint16_t reserved = 0;
    return flags(io, state.inserted, state.writable) && io.u8(state.mode) && io.u16(reserved) &&
           io.u64(state.size) && io.name(state.name) && io.text16(state.problem);
}

bool fields(auto &io, MaybeConst<UploadProgressBody> auto &progress) {
    return io.u64(progress.confirmed) && io.u64(progress.size) && io.name(progress.name);
}

bool fields(auto &io, MaybeConst<std::vector<ImageEntry>> auto &images) {
    return list<uint32_t>(io, images, [&io](auto &image) {
        return io.u64(image.size) && io.u64(image.confirmed) && flags(io, image.incomplete) &&
               io.name(image.name);
    });
}

bool fields(auto &io, MaybeConst<UploadBeginBody> auto &body) {
    return io.u64(body.size) && io.raw(body.sha256.data(), body.sha256.size()) &&
           io.name(body.name);
}

bool fields(auto &io, MaybeConst<DriveInsertBody> auto &body) {
    return io.u8(body.mode) && flags(io, body.writable) && io.name(body.name);
}

bool fields(auto &io, MaybeConst<InputStateBody> auto &state) {
    return flags(io, state.hostListening, state.typing) && io.name(state.layout);
}

bool fields(auto &io, MaybeConst<TypeTextBody> auto &body) {
    return flags(io, body.skipUntypable) && rest(io, body.text);
}

bool fields(auto &io, MaybeConst<TypeTextResult> auto &result) {
    return io.u32(result.characters) &&
           list<uint16_t, kMaxListedUntypable>(
               io, result.untypable, [&io](auto &character) { return number(io, character); });
}

bool fields(auto &io, MaybeConst<TypeProgressBody> auto &progress) {
    return io.u32(progress.typed) && io.u32(progress.total) && number(io, progress.state);
}

bool fields(auto &io, MaybeConst<HealthStateBody> auto &state) {
    return flags(io, state.temperatureKnown, state.throttlingKnown, state.hot) &&
           io.u8(state.signal) && io.u16(state.viewers) && number(io, state.milliCelsius) &&
           io.u32(state.throttled) && io.u32(state.fpsHundredths) && io.u16(state.width) &&
           io.u16(state.height);
}

bool fields(auto &io, MaybeConst<EdidStateBody> auto &state) {
    uint8_t reserved8 = 0;
    uint16_t reserved16 = 0;
    return number(io, state.state) && io.u8(reserved8) && io.u16(reserved16) &&
           io.text16(state.setting) && io.text16(state.node) && io.text16(state.detail) &&
           list<uint16_t, kMaxEdidBytes>(io, state.edid, [&io](auto &byte) { return io.u8(byte); });
}

bool fields(auto &io, MaybeConst<HardwareReportBody> auto &report) {
    return io.text16(report.configuration) &&
           list<uint8_t, kMaxHardwareChecks>(io, report.checks, [&io](auto &check) {
               return io.u8(check.status) && io.name(check.name) && io.text16(check.finding) &&
                      io.text16(check.fix);
           });
}

template <typename Body>
std::vector<uint8_t> encoded(const Body &body) {
    ByteWriter writer;
    fields(writer, body);
    return std::move(writer.bytes());
}

// The body when the payload holds its fields and nothing more, and `valid`
// accepts their values.
template <typename Body>
std::optional<Body> decoded(const std::vector<uint8_t> &payload,
                            bool (*valid)(const Body &) = nullptr) {
    ByteReader reader(payload);
    Body body;
    if (!fields(reader, body) || !reader.finished() || (valid && !valid(body)))
        return std::nullopt;
    return body;
}

}  // namespace

std::vector<uint8_t> encode(const Hello &hello) {
    ByteWriter writer;
    uint8_t rights = hello.fullRights ? 1 : 0;
    fields(writer, hello, rights);
    return std::move(writer.bytes());
}

// Later minor versions may append fields: a longer payload is accepted.
std::optional<Hello> decodeHello(const std::vector<uint8_t> &payload) {
    ByteReader reader(payload);
    Hello hello;
    uint8_t rights = 0;
    if (!fields(reader, hello, rights))
        return std::nullopt;
    hello.fullRights = rights == 1;
    return hello;
}

std::vector<uint8_t> encode(const Reply &reply) { return encoded(reply); }
std::optional<Reply> decodeReply(const std::vector<uint8_t> &payload) {
    return decoded<Reply>(payload);
}

std::vector<uint8_t> encode(const AtxStateBody &state) { return encoded(state); }
std::optional<AtxStateBody> decodeAtxState(const std::vector<uint8_t> &payload) {
    return decoded<AtxStateBody>(payload);
}

std::vector<uint8_t> encode(const DriveStateBody &state) { return encoded(state); }
std::optional<DriveStateBody> decodeDriveState(const std::vector<uint8_t> &payload) {
    return decoded<DriveStateBody>(payload);
}

std::vector<uint8_t> encode(const UploadProgressBody &progress) { return encoded(progress); }
std::optional<UploadProgressBody> decodeUploadProgress(const std::vector<uint8_t> &payload) {
    return decoded<UploadProgressBody>(payload);
}

std::vector<uint8_t> encodeImageList(const std::vector<ImageEntry> &images) {
    return encoded(images);
}
std::optional<std::vector<ImageEntry>> decodeImageList(const std::vector<uint8_t> &payload) {
    return decoded<std::vector<ImageEntry>>(payload);
}

std::vector<uint8_t> encode(const UploadBeginBody &body) { return encoded(body); }
std::optional<UploadBeginBody> decodeUploadBegin(const std::vector<uint8_t> &payload) {
    return decoded<UploadBeginBody>(payload);
}

std::vector<uint8_t> encode(const DriveInsertBody &body) { return encoded(body); }
std::optional<DriveInsertBody> decodeDriveInsert(const std::vector<uint8_t> &payload) {
    return decoded<DriveInsertBody>(payload, [](const DriveInsertBody &body) {
        return body.mode <= 1;  // CD-ROM or flash
    });
}

std::vector<uint8_t> encode(const InputStateBody &state) { return encoded(state); }
std::optional<InputStateBody> decodeInputState(const std::vector<uint8_t> &payload) {
    return decoded<InputStateBody>(payload);
}

std::vector<uint8_t> encode(const TypeTextBody &body) { return encoded(body); }
std::optional<TypeTextBody> decodeTypeText(const std::vector<uint8_t> &payload) {
    return decoded<TypeTextBody>(
        payload, [](const TypeTextBody &body) { return body.text.size() <= kMaxTypeText; });
}

std::vector<uint8_t> encode(const TypeTextResult &result) { return encoded(result); }
std::optional<TypeTextResult> decodeTypeTextResult(const std::vector<uint8_t> &payload) {
    return decoded<TypeTextResult>(payload);
}

std::vector<uint8_t> encode(const TypeProgressBody &progress) { return encoded(progress); }
std::optional<TypeProgressBody> decodeTypeProgress(const std::vector<uint8_t> &payload) {
    return decoded<TypeProgressBody>(payload, [](const TypeProgressBody &progress) {
        return progress.state <= TypeProgressBody::State::NotListening &&
               progress.typed <= progress.total;
    });
}

std::vector<uint8_t> encode(const HealthStateBody &state) { return encoded(state); }
std::optional<HealthStateBody> decodeHealthState(const std::vector<uint8_t> &payload) {
    return decoded<HealthStateBody>(
        payload, [](const HealthStateBody &state) { return state.signal <= kMaxSignalState; });
}

std::vector<uint8_t> encode(const EdidStateBody &state) { return encoded(state); }
std::optional<EdidStateBody> decodeEdidState(const std::vector<uint8_t> &payload) {
    return decoded<EdidStateBody>(payload, [](const EdidStateBody &state) {
        return state.state <= EdidStateBody::State::Failed;
    });
}

std::vector<uint8_t> encode(const HardwareReportBody &report) { return encoded(report); }
std::optional<HardwareReportBody> decodeHardwareReport(const std::vector<uint8_t> &payload) {
    return decoded<HardwareReportBody>(payload, [](const HardwareReportBody &report) {
        return std::ranges::all_of(report.checks, [](const HardwareCheckLine &check) {
            return check.status <= kMaxHardwareStatus;
        });
    });
}

}  // namespace kvmvnc::control
