// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/control/protocol.h"

#include <algorithm>
#include <limits>

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
void ByteWriter::number(T value) {
    for (int shift = 8 * (static_cast<int>(sizeof(T)) - 1); shift >= 0; shift -= 8)
        bytes_.push_back(static_cast<uint8_t>(value >> shift));
}

template <typename Length>
void ByteWriter::prefixed(std::string_view text) {
    text = text.substr(0, std::numeric_limits<Length>::max());
    number(static_cast<Length>(text.size()));
    raw(text.data(), text.size());
}

void ByteWriter::u16(uint16_t value) { number(value); }
void ByteWriter::u32(uint32_t value) { number(value); }
void ByteWriter::u64(uint64_t value) { number(value); }

void ByteWriter::raw(const void *data, size_t size) {
    const auto *p = static_cast<const uint8_t *>(data);
    bytes_.insert(bytes_.end(), p, p + size);
}

static_assert(kMaxNameLength == std::numeric_limits<uint8_t>::max());
void ByteWriter::name(std::string_view text) { prefixed<uint8_t>(text); }
void ByteWriter::text16(std::string_view text) { prefixed<uint16_t>(text); }

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

std::vector<uint8_t> encode(const Hello &hello) {
    ByteWriter writer;
    writer.u8(hello.versionMajor);
    writer.u8(hello.versionMinor);
    writer.u16(0);
    writer.u32(hello.features);
    writer.u32(hello.maxChunk);
    writer.u8(hello.fullRights ? 1 : 0);
    writer.u8(0);
    writer.u16(0);
    return std::move(writer.bytes());
}

// Later minor versions may append fields: a longer payload is accepted.
std::optional<Hello> decodeHello(const std::vector<uint8_t> &payload) {
    ByteReader reader(payload);
    Hello hello;
    uint8_t rights = 0, reserved8 = 0;
    uint16_t reserved16 = 0;
    if (!reader.u8(hello.versionMajor) || !reader.u8(hello.versionMinor) ||
        !reader.u16(reserved16) || !reader.u32(hello.features) || !reader.u32(hello.maxChunk) ||
        !reader.u8(rights) || !reader.u8(reserved8) || !reader.u16(reserved16))
        return std::nullopt;
    hello.fullRights = rights == 1;
    return hello;
}

std::vector<uint8_t> encode(const Reply &reply) {
    ByteWriter writer;
    writer.u32(reply.requestId);
    writer.u16(static_cast<uint16_t>(reply.status));
    writer.u16(0);
    if (reply.status == Status::Ok)
        writer.raw(reply.result.data(), reply.result.size());
    else
        writer.raw(reply.message.data(), reply.message.size());
    return std::move(writer.bytes());
}

std::optional<Reply> decodeReply(const std::vector<uint8_t> &payload) {
    ByteReader reader(payload);
    Reply reply;
    uint16_t status = 0, reserved = 0;
    if (!reader.u32(reply.requestId) || !reader.u16(status) || !reader.u16(reserved))
        return std::nullopt;
    reply.status = static_cast<Status>(status);
    if (reply.status == Status::Ok)
        reply.result.assign(reader.current(), reader.current() + reader.remaining());
    else
        reply.message.assign(reinterpret_cast<const char *>(reader.current()), reader.remaining());
    return reply;
}

std::vector<uint8_t> encode(const AtxStateBody &state) {
    return {static_cast<uint8_t>((state.powerLed ? 1 : 0) | (state.hddLed ? 2 : 0) |
                                 (state.busy ? 4 : 0))};
}

std::optional<AtxStateBody> decodeAtxState(const std::vector<uint8_t> &payload) {
    ByteReader reader(payload);
    uint8_t flags = 0;
    if (!reader.u8(flags) || !reader.finished())
        return std::nullopt;
    return AtxStateBody{(flags & 1) != 0, (flags & 2) != 0, (flags & 4) != 0};
}

std::vector<uint8_t> encode(const DriveStateBody &state) {
    ByteWriter writer;
    writer.u8(static_cast<uint8_t>((state.inserted ? 1 : 0) | (state.writable ? 2 : 0)));
    writer.u8(state.mode);
    writer.u16(0);
    writer.u64(state.size);
    writer.name(state.name);
    writer.text16(state.problem);
    return std::move(writer.bytes());
}

std::optional<DriveStateBody> decodeDriveState(const std::vector<uint8_t> &payload) {
    ByteReader reader(payload);
    DriveStateBody state;
    uint8_t flags = 0;
    uint16_t reserved = 0;
    if (!reader.u8(flags) || !reader.u8(state.mode) || !reader.u16(reserved) ||
        !reader.u64(state.size) || !reader.name(state.name) || !reader.text16(state.problem) ||
        !reader.finished())
        return std::nullopt;
    state.inserted = flags & 1;
    state.writable = flags & 2;
    return state;
}

std::vector<uint8_t> encode(const UploadProgressBody &progress) {
    ByteWriter writer;
    writer.u64(progress.confirmed);
    writer.u64(progress.size);
    writer.name(progress.name);
    return std::move(writer.bytes());
}

std::optional<UploadProgressBody> decodeUploadProgress(const std::vector<uint8_t> &payload) {
    ByteReader reader(payload);
    UploadProgressBody progress;
    if (!reader.u64(progress.confirmed) || !reader.u64(progress.size) ||
        !reader.name(progress.name) || !reader.finished())
        return std::nullopt;
    return progress;
}

std::vector<uint8_t> encodeImageList(const std::vector<ImageEntry> &images) {
    ByteWriter writer;
    writer.u32(static_cast<uint32_t>(images.size()));
    for (const ImageEntry &image : images) {
        writer.u64(image.size);
        writer.u64(image.confirmed);
        writer.u8(image.incomplete ? 1 : 0);
        writer.name(image.name);
    }
    return std::move(writer.bytes());
}

std::optional<std::vector<ImageEntry>> decodeImageList(const std::vector<uint8_t> &payload) {
    ByteReader reader(payload);
    uint32_t count = 0;
    if (!reader.u32(count))
        return std::nullopt;
    std::vector<ImageEntry> images;
    for (uint32_t i = 0; i < count; ++i) {
        ImageEntry image;
        uint8_t flags = 0;
        if (!reader.u64(image.size) || !reader.u64(image.confirmed) || !reader.u8(flags) ||
            !reader.name(image.name))
            return std::nullopt;
        image.incomplete = flags & 1;
        images.push_back(std::move(image));
    }
    if (!reader.finished())
        return std::nullopt;
    return images;
}

std::vector<uint8_t> encode(const UploadBeginBody &body) {
    ByteWriter writer;
    writer.u64(body.size);
    writer.raw(body.sha256.data(), body.sha256.size());
    writer.name(body.name);
    return std::move(writer.bytes());
}

std::optional<UploadBeginBody> decodeUploadBegin(const std::vector<uint8_t> &payload) {
    ByteReader reader(payload);
    UploadBeginBody body;
    if (!reader.u64(body.size) || !reader.raw(body.sha256.data(), body.sha256.size()) ||
        !reader.name(body.name) || !reader.finished())
        return std::nullopt;
    return body;
}

std::vector<uint8_t> encode(const DriveInsertBody &body) {
    ByteWriter writer;
    writer.u8(body.mode);
    writer.u8(body.writable ? 1 : 0);
    writer.name(body.name);
    return std::move(writer.bytes());
}

std::optional<DriveInsertBody> decodeDriveInsert(const std::vector<uint8_t> &payload) {
    ByteReader reader(payload);
    DriveInsertBody body;
    uint8_t flags = 0;
    if (!reader.u8(body.mode) || !reader.u8(flags) || !reader.name(body.name) ||
        !reader.finished() || body.mode > 1)
        return std::nullopt;
    body.writable = flags & 1;
    return body;
}

std::vector<uint8_t> encode(const InputStateBody &state) {
    ByteWriter writer;
    writer.u8(static_cast<uint8_t>((state.hostListening ? 1 : 0) | (state.typing ? 2 : 0)));
    writer.name(state.layout);
    return std::move(writer.bytes());
}

std::optional<InputStateBody> decodeInputState(const std::vector<uint8_t> &payload) {
    ByteReader reader(payload);
    InputStateBody state;
    uint8_t flags = 0;
    if (!reader.u8(flags) || !reader.name(state.layout) || !reader.finished())
        return std::nullopt;
    state.hostListening = flags & 1;
    state.typing = flags & 2;
    return state;
}

std::vector<uint8_t> encode(const TypeTextBody &body) {
    ByteWriter writer;
    writer.u8(body.skipUntypable ? 1 : 0);
    writer.raw(body.text.data(), body.text.size());
    return std::move(writer.bytes());
}

std::optional<TypeTextBody> decodeTypeText(const std::vector<uint8_t> &payload) {
    ByteReader reader(payload);
    TypeTextBody body;
    uint8_t flags = 0;
    if (!reader.u8(flags) || reader.remaining() > kMaxTypeText)
        return std::nullopt;
    body.skipUntypable = flags & 1;
    body.text.assign(reinterpret_cast<const char *>(reader.current()), reader.remaining());
    return body;
}

std::vector<uint8_t> encode(const TypeTextResult &result) {
    ByteWriter writer;
    writer.u32(result.characters);
    const size_t listed = std::min(result.untypable.size(), kMaxListedUntypable);
    writer.u16(static_cast<uint16_t>(listed));
    for (size_t i = 0; i < listed; ++i)
        writer.u32(result.untypable[i]);
    return std::move(writer.bytes());
}

std::optional<TypeTextResult> decodeTypeTextResult(const std::vector<uint8_t> &payload) {
    ByteReader reader(payload);
    TypeTextResult result;
    uint16_t count = 0;
    if (!reader.u32(result.characters) || !reader.u16(count) || count > kMaxListedUntypable)
        return std::nullopt;
    for (uint16_t i = 0; i < count; ++i) {
        uint32_t character = 0;
        if (!reader.u32(character))
            return std::nullopt;
        result.untypable.push_back(character);
    }
    if (!reader.finished())
        return std::nullopt;
    return result;
}

std::vector<uint8_t> encode(const TypeProgressBody &progress) {
    ByteWriter writer;
    writer.u32(progress.typed);
    writer.u32(progress.total);
    writer.u8(static_cast<uint8_t>(progress.state));
    return std::move(writer.bytes());
}

std::optional<TypeProgressBody> decodeTypeProgress(const std::vector<uint8_t> &payload) {
    ByteReader reader(payload);
    TypeProgressBody progress;
    uint8_t state = 0;
    if (!reader.u32(progress.typed) || !reader.u32(progress.total) || !reader.u8(state) ||
        !reader.finished() || state > 3 || progress.typed > progress.total)
        return std::nullopt;
    progress.state = static_cast<TypeProgressBody::State>(state);
    return progress;
}

std::vector<uint8_t> encode(const HealthStateBody &state) {
    ByteWriter writer;
    writer.u8(static_cast<uint8_t>((state.temperatureKnown ? 1 : 0) |
                                   (state.throttlingKnown ? 2 : 0) | (state.hot ? 4 : 0)));
    writer.u8(state.signal);
    writer.u16(state.viewers);
    writer.u32(static_cast<uint32_t>(state.milliCelsius));
    writer.u32(state.throttled);
    writer.u32(state.fpsHundredths);
    writer.u16(state.width);
    writer.u16(state.height);
    return std::move(writer.bytes());
}

std::optional<HealthStateBody> decodeHealthState(const std::vector<uint8_t> &payload) {
    ByteReader reader(payload);
    HealthStateBody state;
    uint8_t flags = 0;
    uint32_t milliCelsius = 0;
    if (!reader.u8(flags) || !reader.u8(state.signal) || !reader.u16(state.viewers) ||
        !reader.u32(milliCelsius) || !reader.u32(state.throttled) ||
        !reader.u32(state.fpsHundredths) || !reader.u16(state.width) || !reader.u16(state.height) ||
        !reader.finished() || state.signal > kMaxSignalState)
        return std::nullopt;
    state.temperatureKnown = flags & 1;
    state.throttlingKnown = flags & 2;
    state.hot = flags & 4;
    state.milliCelsius = static_cast<int32_t>(milliCelsius);
    return state;
}

std::vector<uint8_t> encode(const EdidStateBody &state) {
    ByteWriter writer;
    writer.u8(static_cast<uint8_t>(state.state));
    writer.u8(0);
    writer.u16(0);
    writer.text16(state.setting);
    writer.text16(state.node);
    writer.text16(state.detail);
    const size_t size = std::min(state.edid.size(), kMaxEdidBytes);
    writer.u16(static_cast<uint16_t>(size));
    writer.raw(state.edid.data(), size);
    return std::move(writer.bytes());
}

std::optional<EdidStateBody> decodeEdidState(const std::vector<uint8_t> &payload) {
    ByteReader reader(payload);
    EdidStateBody state;
    uint8_t code = 0;
    uint8_t reserved8 = 0;
    uint16_t reserved16 = 0;
    uint16_t size = 0;
    if (!reader.u8(code) || !reader.u8(reserved8) || !reader.u16(reserved16) ||
        !reader.text16(state.setting) || !reader.text16(state.node) ||
        !reader.text16(state.detail) || !reader.u16(size) || size > kMaxEdidBytes ||
        code > static_cast<uint8_t>(EdidStateBody::State::Failed))
        return std::nullopt;
    state.state = static_cast<EdidStateBody::State>(code);
    state.edid.resize(size);
    if (!reader.raw(state.edid.data(), size) || !reader.finished())
        return std::nullopt;
    return state;
}

std::vector<uint8_t> encode(const HardwareReportBody &report) {
    ByteWriter writer;
    writer.text16(report.configuration);
    const size_t count = std::min(report.checks.size(), kMaxHardwareChecks);
    writer.u8(static_cast<uint8_t>(count));
    for (size_t i = 0; i < count; ++i) {
        const HardwareCheckLine &check = report.checks[i];
        writer.u8(check.status);
        writer.name(check.name);
        writer.text16(check.finding);
        writer.text16(check.fix);
    }
    return std::move(writer.bytes());
}

std::optional<HardwareReportBody> decodeHardwareReport(const std::vector<uint8_t> &payload) {
    ByteReader reader(payload);
    HardwareReportBody report;
    uint8_t count = 0;
    if (!reader.text16(report.configuration) || !reader.u8(count))
        return std::nullopt;
    for (uint8_t i = 0; i < count; ++i) {
        HardwareCheckLine check;
        if (!reader.u8(check.status) || check.status > kMaxHardwareStatus ||
            !reader.name(check.name) || !reader.text16(check.finding) || !reader.text16(check.fix))
            return std::nullopt;
        report.checks.push_back(std::move(check));
    }
    if (!reader.finished())
        return std::nullopt;
    return report;
}

}  // namespace kvmvnc::control
