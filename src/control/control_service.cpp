// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/control/control_service.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdio>
#include <map>
#include <mutex>

#include "kvmvnc/atx/atx_controller.h"
#include "kvmvnc/base/log.h"
#include "kvmvnc/base/utf8.h"
#include "kvmvnc/input/text_typer.h"
#include "kvmvnc/msd/drive.h"
#include "kvmvnc/msd/image_store.h"

namespace kvmvnc::control {

namespace {

constexpr const char *kLog = "control";

Status statusOf(msd::StoreError error) {
    switch (error) {
    case msd::StoreError::None:
        return Status::Ok;
    case msd::StoreError::InvalidName:
        return Status::InvalidName;
    case msd::StoreError::NotFound:
        return Status::NotFound;
    case msd::StoreError::AlreadyExists:
        return Status::AlreadyExists;
    case msd::StoreError::Busy:
        return Status::Busy;
    case msd::StoreError::NoSpace:
        return Status::NoSpace;
    case msd::StoreError::BadOffset:
        return Status::BadOffset;
    case msd::StoreError::SizeMismatch:
        return Status::SizeMismatch;
    case msd::StoreError::ChecksumMismatch:
        return Status::ChecksumMismatch;
    case msd::StoreError::Io:
        return Status::IoError;
    case msd::StoreError::InUse:
        return Status::InUse;
    }
    return Status::Failed;
}

Status statusOf(atx::AtxResult result) {
    switch (result) {
    case atx::AtxResult::Ok:
        return Status::Ok;
    case atx::AtxResult::Busy:
        return Status::Busy;
    case atx::AtxResult::Unsupported:
        return Status::Unsupported;
    case atx::AtxResult::Failed:
        return Status::Failed;
    }
    return Status::Failed;
}

AtxStateBody bodyOf(const atx::AtxState &state) {
    return {state.leds.power, state.leds.hdd, state.busy};
}

DriveStateBody bodyOf(const msd::DriveState &state) {
    DriveStateBody body;
    body.inserted = state.inserted;
    body.writable = state.inserted && !state.readOnly;
    body.mode = static_cast<uint8_t>(state.mode);
    body.size = state.inserted ? state.size : 0;
    body.name = state.image;
    body.problem = state.problem;
    return body;
}

TypeProgressBody bodyOf(const input::TypingProgress &progress) {
    TypeProgressBody body;
    body.typed = progress.typed;
    body.total = progress.total;
    body.state = static_cast<TypeProgressBody::State>(progress.state);
    return body;
}

// "'é' (U+00E9), 'ß' (U+00DF)" for people.
std::string describeCharacters(const std::vector<char32_t> &characters) {
    std::string text;
    for (size_t i = 0; i < characters.size() && i < kMaxListedUntypable; ++i) {
        char code[16];
        std::snprintf(code, sizeof(code), "U+%04X", static_cast<unsigned>(characters[i]));
        text += i ? ", " : "";
        if (characters[i] >= 0x20 && characters[i] != 0x7f) {
            text += '\'';
            appendUtf8(text, characters[i]);
            text += "' ";
        }
        // Appended piece by piece: "(" + std::string(code) + ")" makes GCC 12
        // at -O3 warn (-Wrestrict) about an overlap that cannot happen.
        text += '(';
        text += code;
        text += ')';
    }
    if (characters.size() > kMaxListedUntypable)
        text += ", ...";
    return text;
}

struct Outcome {
    Status status = Status::Ok;
    std::string message;
    std::vector<uint8_t> result;
};

Outcome fail(Status status, std::string message) { return {status, std::move(message), {}}; }

Outcome fromStore(const msd::StoreResult &result) {
    if (result)
        return {};
    return fail(statusOf(result.error), result.message);
}

}  // namespace

struct ControlService::Impl {
    ControlDevices devices;

    std::mutex sessionsMutex;  // guards announced, uploads, nextUploadId
    std::vector<ControlSession *> announced;
    struct Upload {
        uint64_t session;
        std::string name;
        uint64_t size;
        uint64_t lastPushed;
    };
    std::map<uint32_t, Upload> uploads;
    uint32_t nextUploadId = 1;

    std::mutex healthMutex;  // guards health
    HealthStateBody health;

    std::mutex driveMutex;  // one drive operation at a time
    std::atomic<bool> hostListening{true};

    void push(ServerMessage opcode, const std::vector<uint8_t> &payload) {
        const std::vector<uint8_t> message = encodeServerMessage(opcode, payload);
        std::lock_guard lock(sessionsMutex);
        for (ControlSession *session : announced)
            session->send(message);
    }

    InputStateBody inputState() const {
        return {hostListening.load(), devices.typer->busy(), devices.typer->layout().name()};
    }
    void pushInputState() {
        if (devices.typer)
            push(ServerMessage::InputState, encode(inputState()));
    }
    // To one session, if it is still announced.
    void sendTo(uint64_t sessionId, ServerMessage opcode, const std::vector<uint8_t> &payload) {
        const std::vector<uint8_t> message = encodeServerMessage(opcode, payload);
        std::lock_guard lock(sessionsMutex);
        for (ControlSession *session : announced)
            if (session->sessionId() == sessionId)
                session->send(message);
    }

    void pushDriveState() {
        if (devices.drive)
            push(ServerMessage::DriveState, encode(bodyOf(devices.drive->state())));
    }

    // Starts `action` (with `cycle`, the hard power cycle that begins with
    // the long press) and logs who asked; the caller has checked the rights
    // and that there is a controller.
    Outcome performAtx(const ControlSession &session, atx::AtxAction action, bool cycle = false) {
        std::string message;
        const atx::AtxResult result =
            cycle ? devices.atx->powerCycle(message) : devices.atx->perform(action, message);
        if (result == atx::AtxResult::Ok)
            LOG_INFO(kLog, "session %llu: ATX %s",
                     static_cast<unsigned long long>(session.sessionId()),
                     atx::atxActionName(action));
        return result == atx::AtxResult::Ok ? Outcome{} : fail(statusOf(result), message);
    }

    // Upload `id` if `session` began it.
    std::optional<Upload> findUpload(const ControlSession &session, uint32_t id) {
        std::lock_guard lock(sessionsMutex);
        auto found = uploads.find(id);
        if (found == uploads.end() || found->second.session != session.sessionId())
            return std::nullopt;
        return found->second;
    }

    // What a request needs of this server; without it, the request is
    // Unsupported.
    enum class Needs : uint8_t { Atx, Media, Keyboard, Health, Edid, Checks };
    // Whether a view-only connection may make the request.
    enum class Effect : bool { Looks, Changes };
    // Empty: the request takes no payload (anything is Malformed); Parsed:
    // the handler reads it.
    enum class Body : bool { Empty, Parsed };
    using Payload = std::vector<uint8_t>;
    using Handler = Outcome (Impl::*)(ControlSession &session, const Payload &payload);
    // One row of the request table: the handler runs once the session's
    // rights, the device and the payload's emptiness have been checked.
    struct Route {
        Request request;
        const char *name;
        Effect effect;
        Needs needs;
        Body body;
        Handler handler;
    };
    static const Route *routeOf(Request request);
    // Why the request cannot be served here, or null when it can.
    const char *missing(Needs needs) const;

    Outcome dispatch(ControlSession &session, Request opcode, const Payload &payload);
    Outcome atxGetState(ControlSession &session, const Payload &payload);
    Outcome atxAction(ControlSession &session, const Payload &payload);
    Outcome driveGetState(ControlSession &session, const Payload &payload);
    Outcome imageList(ControlSession &session, const Payload &payload);
    Outcome uploadBegin(ControlSession &session, const Payload &payload);
    Outcome uploadChunk(ControlSession &session, const Payload &payload);
    Outcome uploadFinish(ControlSession &session, const Payload &payload);
    Outcome imageDelete(ControlSession &session, const Payload &payload);
    Outcome driveInsert(ControlSession &session, const Payload &payload);
    Outcome driveEject(ControlSession &session, const Payload &payload);
    Outcome inputGetState(ControlSession &session, const Payload &payload);
    Outcome typeText(ControlSession &session, const Payload &payload);
    Outcome typeCancel(ControlSession &session, const Payload &payload);
    // TypeText's work once the payload is read.
    Outcome type(ControlSession &session, std::string_view utf8, bool skipUntypable);
    Outcome healthGetState(ControlSession &session, const Payload &payload);
    Outcome edidGetState(ControlSession &session, const Payload &payload);
    Outcome hardwareCheck(ControlSession &session, const Payload &payload);
};

ControlService::ControlService(ControlDevices devices) : impl_(std::make_unique<Impl>()) {
    impl_->devices = devices;
    if (devices.atx) {
        Impl *impl = impl_.get();
        devices.atx->setListener([impl](const atx::AtxState &state) {
            impl->push(ServerMessage::AtxState, encode(bodyOf(state)));
        });
    }
}

ControlService::~ControlService() {
    if (impl_->devices.atx)
        impl_->devices.atx->setListener({});
    if (impl_->devices.typer)
        impl_->devices.typer->cancelAndWait();  // its callback reaches into impl_
}

uint32_t ControlService::features() const {
    uint32_t features = 0;
    if (impl_->devices.atx)
        features |= feature::kAtx;
    if (impl_->devices.atx && impl_->devices.wakeOnLan)
        features |= feature::kWakeOnLan;
    if (impl_->devices.store && impl_->devices.drive)
        features |= feature::kMassStorage;
    if (impl_->devices.typer)
        features |= feature::kKeyboard;
    if (impl_->devices.health)
        features |= feature::kHealth;
    if (impl_->devices.edid)
        features |= feature::kEdid;
    return features;
}

void ControlService::announce(ControlSession &session) {
    Hello hello;
    hello.features = features();
    hello.fullRights = session.fullRights();
    std::lock_guard lock(impl_->sessionsMutex);
    if (std::find(impl_->announced.begin(), impl_->announced.end(), &session) !=
        impl_->announced.end())
        return;
    // Under the lock, so no push overtakes the first state.
    session.send(encodeServerMessage(ServerMessage::Hello, encode(hello)));
    if (impl_->devices.atx)
        session.send(encodeServerMessage(ServerMessage::AtxState,
                                         encode(bodyOf(impl_->devices.atx->state()))));
    if (impl_->devices.drive)
        session.send(encodeServerMessage(ServerMessage::DriveState,
                                         encode(bodyOf(impl_->devices.drive->state()))));
    if (impl_->devices.typer)
        session.send(encodeServerMessage(ServerMessage::InputState, encode(impl_->inputState())));
    if (impl_->devices.health) {
        std::lock_guard healthLock(impl_->healthMutex);
        session.send(encodeServerMessage(ServerMessage::HealthState, encode(impl_->health)));
    }
    impl_->announced.push_back(&session);
}

void ControlService::remove(ControlSession &session) {
    {
        std::lock_guard lock(impl_->sessionsMutex);
        std::erase(impl_->announced, &session);
        std::erase_if(impl_->uploads, [&](const auto &entry) {
            return entry.second.session == session.sessionId();
        });
    }
    if (impl_->devices.store)
        impl_->devices.store->releaseUploads(session.sessionId());
    // What it was typing stops with it (the typist holds no key between
    // characters, so nothing stays pressed).
    if (impl_->devices.typer)
        impl_->devices.typer->cancel(session.sessionId());
}

void ControlService::setHostListening(bool listening) {
    if (impl_->hostListening.exchange(listening) != listening)
        impl_->pushInputState();
}

void ControlService::setHealth(const HealthStateBody &health) {
    {
        std::lock_guard lock(impl_->healthMutex);
        impl_->health = health;
    }
    if (impl_->devices.health)
        impl_->push(ServerMessage::HealthState, encode(health));
}

std::vector<uint8_t> ControlService::refuse(uint32_t requestId, Status status,
                                            const std::string &message) {
    Reply reply;
    reply.requestId = requestId;
    reply.status = status;
    reply.message = message;
    return encodeServerMessage(ServerMessage::Reply, encode(reply));
}

std::vector<uint8_t> ControlService::handle(ControlSession &session, const RequestHeader &header,
                                            const std::vector<uint8_t> &payload) {
    Outcome outcome = impl_->dispatch(session, static_cast<Request>(header.opcode), payload);
    if (outcome.status != Status::Ok && outcome.message.empty())
        outcome.message = statusName(outcome.status);
    Reply reply;
    reply.requestId = header.requestId;
    reply.status = outcome.status;
    reply.message = std::move(outcome.message);
    reply.result = std::move(outcome.result);
    return encodeServerMessage(ServerMessage::Reply, encode(reply));
}

const ControlService::Impl::Route *ControlService::Impl::routeOf(Request request) {
    using enum Effect;
    using enum Needs;
    using enum Body;
    static constexpr Route kRoutes[] = {
        {Request::AtxGetState, "AtxGetState", Looks, Atx, Empty, &Impl::atxGetState},
        {Request::AtxAction, "AtxAction", Changes, Atx, Parsed, &Impl::atxAction},
        {Request::DriveGetState, "DriveGetState", Looks, Media, Empty, &Impl::driveGetState},
        {Request::ImageList, "ImageList", Looks, Media, Empty, &Impl::imageList},
        {Request::UploadBegin, "UploadBegin", Changes, Media, Parsed, &Impl::uploadBegin},
        {Request::UploadChunk, "UploadChunk", Changes, Media, Parsed, &Impl::uploadChunk},
        {Request::UploadFinish, "UploadFinish", Changes, Media, Parsed, &Impl::uploadFinish},
        {Request::ImageDelete, "ImageDelete", Changes, Media, Parsed, &Impl::imageDelete},
        {Request::DriveInsert, "DriveInsert", Changes, Media, Parsed, &Impl::driveInsert},
        {Request::DriveEject, "DriveEject", Changes, Media, Empty, &Impl::driveEject},
        {Request::InputGetState, "InputGetState", Looks, Keyboard, Empty, &Impl::inputGetState},
        {Request::TypeText, "TypeText", Changes, Keyboard, Parsed, &Impl::typeText},
        {Request::TypeCancel, "TypeCancel", Changes, Keyboard, Empty, &Impl::typeCancel},
        {Request::HealthGetState, "HealthGetState", Looks, Health, Empty, &Impl::healthGetState},
        {Request::EdidGetState, "EdidGetState", Looks, Edid, Empty, &Impl::edidGetState},
        {Request::HardwareCheck, "HardwareCheck", Looks, Checks, Empty, &Impl::hardwareCheck},
    };
    for (const Route &route : kRoutes)
        if (route.request == request)
            return &route;
    return nullptr;
}

const char *ControlService::Impl::missing(Needs needs) const {
    switch (needs) {
    case Needs::Atx:
        return devices.atx ? nullptr : "no ATX control is configured";
    case Needs::Media:
        return devices.store && devices.drive ? nullptr : "no virtual media is configured";
    case Needs::Keyboard:
        return devices.typer ? nullptr : "no keyboard is configured";
    case Needs::Health:
        return devices.health ? nullptr : "no health monitor runs";
    case Needs::Edid:
        return devices.edid
                   ? nullptr
                   : "this picture source has no EDID ([capture] edid is for V4L2 devices)";
    case Needs::Checks:
        return devices.hardwareCheck ? nullptr : "this server does not check its hardware";
    }
    return "not supported";
}

// Rights first, then the device, then the payload: a view-only connection
// learns nothing more than "no", and a request for a device this server does
// not have is Unsupported whatever it carries.
Outcome ControlService::Impl::dispatch(ControlSession &session, Request opcode,
                                       const Payload &payload) {
    const Route *route = routeOf(opcode);
    if (!route) {
        std::array<char, 8> hex{};
        std::snprintf(hex.data(), hex.size(), "%02x", static_cast<unsigned>(opcode));
        return fail(Status::UnknownOpcode, std::string("unknown request 0x") + hex.data());
    }
    if (route->effect == Effect::Changes && !session.fullRights())
        return fail(Status::PermissionDenied, "this connection is view-only");
    if (const char *why = missing(route->needs))
        return fail(Status::Unsupported, why);
    if (route->body == Body::Empty && !payload.empty())
        return fail(Status::Malformed, std::string(route->name) + " takes no payload");
    return (this->*route->handler)(session, payload);
}

Outcome ControlService::Impl::atxGetState(ControlSession &, const Payload &) {
    return {Status::Ok, {}, encode(bodyOf(devices.atx->state()))};
}

Outcome ControlService::Impl::atxAction(ControlSession &session, const Payload &payload) {
    if (payload.size() != 1 || payload[0] < 1 || payload[0] > 4)
        return fail(Status::Malformed, "AtxAction takes one byte, 1 to 4");
    return performAtx(session, static_cast<atx::AtxAction>(payload[0]));
}

Outcome ControlService::Impl::driveGetState(ControlSession &, const Payload &) {
    return {Status::Ok, {}, encode(bodyOf(devices.drive->state()))};
}

Outcome ControlService::Impl::imageList(ControlSession &, const Payload &) {
    std::vector<ImageEntry> entries;
    for (const msd::ImageInfo &image : devices.store->list())
        entries.push_back({image.name, image.size, image.size, false});
    for (const msd::UploadProgress &upload : devices.store->uploads())
        entries.push_back({upload.name, upload.size, upload.confirmed, true});
    return {Status::Ok, {}, encodeImageList(entries)};
}

Outcome ControlService::Impl::uploadBegin(ControlSession &session, const Payload &payload) {
    std::optional<UploadBeginBody> body = decodeUploadBegin(payload);
    if (!body)
        return fail(Status::Malformed, "UploadBegin takes a size, a SHA-256 and a name");
    uint64_t resumeAt = 0;
    msd::StoreResult result = devices.store->beginUpload(session.sessionId(), body->name,
                                                         body->size, body->sha256, resumeAt);
    if (!result) {
        LOG_INFO(kLog, "session %llu: upload of '%s' refused: %s",
                 static_cast<unsigned long long>(session.sessionId()), body->name.c_str(),
                 result.message.c_str());
        return fromStore(result);
    }
    uint32_t id = 0;
    {
        std::lock_guard lock(sessionsMutex);
        // A session beginning the same name again replaces its earlier handle.
        std::erase_if(uploads, [&](const auto &entry) {
            return entry.second.session == session.sessionId() && entry.second.name == body->name;
        });
        id = nextUploadId++;
        if (nextUploadId == 0)
            nextUploadId = 1;
        uploads[id] = {session.sessionId(), body->name, body->size, resumeAt};
    }
    LOG_INFO(kLog, "session %llu: upload of '%s' (%llu bytes) %s at %llu",
             static_cast<unsigned long long>(session.sessionId()), body->name.c_str(),
             static_cast<unsigned long long>(body->size), resumeAt ? "resumes" : "starts",
             static_cast<unsigned long long>(resumeAt));
    ByteWriter writer;
    writer.u32(id);
    writer.u64(resumeAt);
    return {Status::Ok, {}, std::move(writer.bytes())};
}

Outcome ControlService::Impl::uploadChunk(ControlSession &session, const Payload &payload) {
    ByteReader reader(payload);
    uint32_t id = 0;
    uint64_t offset = 0;
    if (!reader.u32(id) || !reader.u64(offset) || reader.remaining() == 0 ||
        reader.remaining() > kMaxChunk)
        return fail(Status::Malformed, "UploadChunk takes an upload id, an offset and 1 to " +
                                           std::to_string(kMaxChunk) + " bytes");
    std::optional<Upload> known = findUpload(session, id);
    if (!known)
        return fail(Status::NotFound, "no upload " + std::to_string(id) + " here");
    const Upload upload = *known;
    uint64_t confirmed = 0;
    msd::StoreResult result = devices.store->writeUpload(
        session.sessionId(), upload.name, offset, reader.current(), reader.remaining(), confirmed);
    if (!result) {
        // A failing disk ends the upload; the store logs running out of
        // room itself, and a stray offset ends only its chunk.
        if (result.error == msd::StoreError::Io)
            LOG_WARN(kLog, "session %llu: upload of '%s' failed: %s",
                     static_cast<unsigned long long>(session.sessionId()), upload.name.c_str(),
                     result.message.c_str());
        return fromStore(result);
    }
    bool progressed = false;
    {
        std::lock_guard lock(sessionsMutex);
        auto found = uploads.find(id);
        if (found != uploads.end() && confirmed > found->second.lastPushed) {
            found->second.lastPushed = confirmed;
            progressed = true;
        }
    }
    if (progressed)
        push(ServerMessage::UploadProgress,
             encode(UploadProgressBody{confirmed, upload.size, upload.name}));
    ByteWriter writer;
    writer.u64(confirmed);
    return {Status::Ok, {}, std::move(writer.bytes())};
}

Outcome ControlService::Impl::uploadFinish(ControlSession &session, const Payload &payload) {
    ByteReader reader(payload);
    uint32_t id = 0;
    if (!reader.u32(id) || !reader.finished())
        return fail(Status::Malformed, "UploadFinish takes an upload id");
    std::optional<Upload> known = findUpload(session, id);
    if (!known)
        return fail(Status::NotFound, "no upload " + std::to_string(id) + " here");
    const Upload upload = *known;
    msd::StoreResult result = devices.store->finishUpload(session.sessionId(), upload.name);
    if (result || result.error == msd::StoreError::ChecksumMismatch) {
        // Done, or discarded: either way the handle is spent.
        std::lock_guard lock(sessionsMutex);
        uploads.erase(id);
    }
    if (!result) {
        LOG_WARN(kLog, "upload of '%s' not finished: %s", upload.name.c_str(),
                 result.message.c_str());
        return fromStore(result);
    }
    LOG_INFO(kLog, "image '%s' uploaded (%llu bytes)", upload.name.c_str(),
             static_cast<unsigned long long>(upload.size));
    push(ServerMessage::UploadProgress,
         encode(UploadProgressBody{upload.size, upload.size, upload.name}));
    return {};
}

Outcome ControlService::Impl::imageDelete(ControlSession &, const Payload &payload) {
    ByteReader reader(payload);
    std::string name;
    if (!reader.name(name) || !reader.finished())
        return fail(Status::Malformed, "ImageDelete takes a name");
    std::lock_guard lock(driveMutex);
    const msd::DriveState drive = devices.drive->state();
    if (drive.inserted && drive.image == name)
        return fail(Status::InUse, "'" + name + "' is inserted; eject it first");
    Outcome outcome = fromStore(devices.store->remove(name));
    if (outcome.status == Status::Ok)
        LOG_INFO(kLog, "deleted image '%s'", name.c_str());
    return outcome;
}

Outcome ControlService::Impl::driveInsert(ControlSession &, const Payload &payload) {
    std::optional<DriveInsertBody> body = decodeDriveInsert(payload);
    if (!body)
        return fail(Status::Malformed, "DriveInsert takes a mode (0 or 1), flags and a name");
    std::optional<std::filesystem::path> path = devices.store->pathOf(body->name);
    if (!path)
        return fail(Status::NotFound, "no image '" + body->name + "'");
    const auto mode = static_cast<msd::DriveMode>(body->mode);
    const bool readOnly = mode == msd::DriveMode::CdRom || !body->writable;
    Outcome outcome;
    {
        std::lock_guard lock(driveMutex);
        outcome = fromStore(devices.drive->insert(*path, body->name, mode, readOnly));
    }
    if (outcome.status == Status::Ok)
        LOG_INFO(kLog, "inserted '%s' as %s%s", body->name.c_str(),
                 mode == msd::DriveMode::CdRom ? "CD-ROM" : "flash drive",
                 readOnly ? "" : ", writable");
    pushDriveState();
    return outcome;
}

Outcome ControlService::Impl::driveEject(ControlSession &, const Payload &) {
    Outcome outcome;
    {
        std::lock_guard lock(driveMutex);
        outcome = fromStore(devices.drive->eject());
    }
    pushDriveState();
    return outcome;
}

Outcome ControlService::Impl::inputGetState(ControlSession &, const Payload &) {
    return {Status::Ok, {}, encode(inputState())};
}

Outcome ControlService::Impl::typeText(ControlSession &session, const Payload &payload) {
    std::optional<TypeTextBody> body = decodeTypeText(payload);
    if (!body)
        return fail(Status::Malformed, "TypeText takes flags and up to " +
                                           std::to_string(kMaxTypeText) + " bytes of text");
    return type(session, body->text, body->skipUntypable);
}

Outcome ControlService::Impl::type(ControlSession &session, std::string_view utf8,
                                   bool skipUntypable) {
    std::optional<std::u32string> text = decodeUtf8Strict(utf8);
    if (!text)
        return fail(Status::Malformed, "the text is not UTF-8");
    input::TypingPlan plan = devices.typer->plan(*text);
    const std::string &layout = devices.typer->layout().name();
    if (!plan.untypable.empty() && !skipUntypable)
        return fail(Status::Untypable,
                    "layout '" + layout + "' has no key for " + describeCharacters(plan.untypable));
    if (!hostListening)
        return fail(Status::NotListening,
                    "the target is not reading its keyboard (off, asleep or unplugged)");
    TypeTextResult result;
    result.characters = static_cast<uint32_t>(plan.strokes.size());
    result.untypable.assign(plan.untypable.begin(), plan.untypable.end());
    if (!plan.strokes.empty()) {
        const uint64_t owner = session.sessionId();
        const bool started = devices.typer->start(
            owner, std::move(plan.strokes), [this, owner](const input::TypingProgress &progress) {
                sendTo(owner, ServerMessage::TypeProgress, encode(bodyOf(progress)));
                if (progress.state != input::TypingProgress::State::Typing)
                    pushInputState();
            });
        if (!started)
            return fail(Status::Busy, "another text is being typed (TypeCancel stops it)");
        LOG_INFO(kLog, "session %llu: typing %u characters on layout %s%s",
                 static_cast<unsigned long long>(owner), result.characters, layout.c_str(),
                 plan.untypable.empty() ? "" : " (skipping some it cannot type)");
        pushInputState();
    }
    return {Status::Ok, {}, encode(result)};
}

Outcome ControlService::Impl::typeCancel(ControlSession &, const Payload &) {
    if (!devices.typer->cancel())
        return fail(Status::NotFound, "nothing is being typed");
    return {};
}

Outcome ControlService::Impl::healthGetState(ControlSession &, const Payload &) {
    std::lock_guard lock(healthMutex);
    return {Status::Ok, {}, encode(health)};
}

Outcome ControlService::Impl::edidGetState(ControlSession &, const Payload &) {
    return {Status::Ok, {}, encode(devices.edid())};
}

Outcome ControlService::Impl::hardwareCheck(ControlSession &, const Payload &) {
    return {Status::Ok, {}, encode(devices.hardwareCheck())};
}

ControlService::Typed ControlService::typeText(ControlSession &session, std::string_view utf8) {
    Outcome outcome;
    if (!session.fullRights())
        outcome = fail(Status::PermissionDenied, "this connection is view-only");
    else if (const char *why = impl_->missing(Impl::Needs::Keyboard))
        outcome = fail(Status::Unsupported, why);
    else
        outcome = impl_->type(session, utf8, /*skipUntypable=*/false);
    Typed typed{outcome.status, std::move(outcome.message), 0};
    if (typed.status == Status::Ok) {
        std::optional<TypeTextResult> result = decodeTypeTextResult(outcome.result);
        typed.characters = result ? result->characters : 0;
    }
    return typed;
}

bool ControlService::xvp(ControlSession &session, uint8_t code) {
    constexpr uint8_t kShutdown = 2, kReboot = 3, kReset = 4;
    if (!session.fullRights() || !impl_->devices.atx)
        return false;
    switch (code) {
    case kShutdown:
        return impl_->performAtx(session, atx::AtxAction::PowerClick).status == Status::Ok;
    case kReboot:
        return impl_->performAtx(session, atx::AtxAction::ResetClick).status == Status::Ok;
    case kReset:  // a hard power cycle: the long press, then the controller's click
        return impl_->performAtx(session, atx::AtxAction::PowerLongPress, /*cycle=*/true).status ==
               Status::Ok;
    default:
        return false;
    }
}

}  // namespace kvmvnc::control
