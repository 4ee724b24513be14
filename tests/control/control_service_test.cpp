// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/control/control_service.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <mutex>

#include "kvmvnc/atx/atx_controller.h"
#include "kvmvnc/input/input_router.h"
#include "kvmvnc/input/text_typer.h"
#include "kvmvnc/msd/drive.h"
#include "kvmvnc/msd/image_store.h"
#include "recording_sink.h"
#include "wait_until.h"

namespace kvmvnc::control {
namespace {

class RecordingSession : public ControlSession {
public:
    RecordingSession(uint64_t id, bool full) : id_(id), full_(full) {}
    uint64_t sessionId() const override { return id_; }
    bool fullRights() const override { return full_; }
    void send(const std::vector<uint8_t> &message) override {
        std::lock_guard lock(mutex_);
        sent_.push_back(message);
    }
    // Server messages with `opcode` so far, as payloads.
    std::vector<std::vector<uint8_t>> sent(ServerMessage opcode) {
        std::lock_guard lock(mutex_);
        std::vector<std::vector<uint8_t>> out;
        for (const auto &message : sent_) {
            if (message.size() >= kServerHeaderSize && message[1] == static_cast<uint8_t>(opcode))
                out.emplace_back(message.begin() + kServerHeaderSize, message.end());
        }
        return out;
    }

private:
    uint64_t id_;
    bool full_;
    std::mutex mutex_;
    std::vector<std::vector<uint8_t>> sent_;
};

class FakeDrive : public msd::Drive {
public:
    msd::StoreResult insert(const std::filesystem::path &path, const std::string &name,
                            msd::DriveMode mode, bool readOnly) override {
        state_ = {true, name, std::filesystem::file_size(path), mode, readOnly, {}};
        insertedPath = path;
        return {};
    }
    msd::StoreResult eject() override {
        state_ = {};
        return {};
    }
    msd::DriveState state() const override { return state_; }
    std::string description() const override { return "fake drive"; }
    std::filesystem::path insertedPath;

private:
    msd::DriveState state_;
};

class FakePins : public atx::AtxPins {
public:
    bool hasButton(atx::Button) const override { return true; }
    bool setButton(atx::Button, bool, std::string &) override { return true; }
    atx::LedLevels readLeds() override { return {true, false}; }
    void waitForLedEdge(std::chrono::milliseconds timeout) override {
        std::this_thread::sleep_for(std::min(timeout, std::chrono::milliseconds{5}));
    }
    std::string description() const override { return "fake pins"; }
};

msd::Sha256 sha256(const std::vector<uint8_t> &data) {
    msd::Sha256 digest{};
    unsigned length = 0;
    EVP_Digest(data.data(), data.size(), digest.data(), &length, EVP_sha256(), nullptr);
    return digest;
}

class ControlServiceTest : public ::testing::Test {
protected:
    void SetUp() override {
        char templ[] = "/tmp/kvmvnc-control-XXXXXX";
        ASSERT_NE(::mkdtemp(templ), nullptr);
        dir_ = templ;
        store_ = std::make_unique<msd::ImageStore>(dir_ + "/images");
        atx::AtxTimings timings;
        timings.click = std::chrono::milliseconds{10};
        // Long enough that a second action, however late the test thread
        // runs, finds the first still busy; destruction does not wait it out.
        timings.busyAfter = std::chrono::seconds{5};
        atx_ = std::make_unique<atx::AtxController>(std::make_unique<FakePins>(), timings,
                                                    std::nullopt);
        service_ = std::make_unique<ControlService>(
            ControlDevices{atx_.get(), false, store_.get(), &drive_});
    }
    void TearDown() override {
        service_.reset();
        std::filesystem::remove_all(dir_);
    }

    Reply call(ControlSession &session, Request opcode, const std::vector<uint8_t> &payload = {}) {
        const std::vector<uint8_t> message = service_->handle(
            session,
            {static_cast<uint8_t>(opcode), ++requestId_, static_cast<uint32_t>(payload.size())},
            payload);
        EXPECT_EQ(message[1], static_cast<uint8_t>(ServerMessage::Reply));
        auto reply = decodeReply({message.begin() + kServerHeaderSize, message.end()});
        EXPECT_TRUE(reply);
        EXPECT_EQ(reply->requestId, requestId_);
        return reply ? *reply : Reply{};
    }

    // Uploads `data` as `name` in one chunk.
    void upload(ControlSession &session, const std::string &name,
                const std::vector<uint8_t> &data) {
        UploadBeginBody begin{data.size(), sha256(data), name};
        Reply reply = call(session, Request::UploadBegin, encode(begin));
        ASSERT_EQ(reply.status, Status::Ok) << reply.message;
        ByteReader result(reply.result);
        uint32_t id = 0;
        uint64_t resumeAt = 1;
        ASSERT_TRUE(result.u32(id) && result.u64(resumeAt));
        EXPECT_EQ(resumeAt, 0u);
        ByteWriter chunk;
        chunk.u32(id);
        chunk.u64(0);
        chunk.raw(data.data(), data.size());
        ASSERT_EQ(call(session, Request::UploadChunk, chunk.bytes()).status, Status::Ok);
        ByteWriter finish;
        finish.u32(id);
        ASSERT_EQ(call(session, Request::UploadFinish, finish.bytes()).status, Status::Ok);
    }

    std::string dir_;
    std::unique_ptr<msd::ImageStore> store_;
    FakeDrive drive_;
    std::unique_ptr<atx::AtxController> atx_;
    std::unique_ptr<ControlService> service_;
    uint32_t requestId_ = 0;
    RecordingSession full_{1, true};
    RecordingSession viewer_{2, false};
};

TEST_F(ControlServiceTest, AnnounceSendsHelloAndTheStates) {
    service_->announce(full_);
    service_->announce(full_);  // idempotent
    auto hellos = full_.sent(ServerMessage::Hello);
    ASSERT_EQ(hellos.size(), 1u);
    auto hello = decodeHello(hellos[0]);
    ASSERT_TRUE(hello);
    EXPECT_EQ(hello->features, feature::kAtx | feature::kMassStorage);
    EXPECT_TRUE(hello->fullRights);
    EXPECT_EQ(full_.sent(ServerMessage::AtxState).size(), 1u);
    EXPECT_EQ(full_.sent(ServerMessage::DriveState).size(), 1u);
}

TEST_F(ControlServiceTest, ViewOnlyMayLookButNotTouch) {
    EXPECT_EQ(call(viewer_, Request::ImageList).status, Status::Ok);
    EXPECT_EQ(call(viewer_, Request::DriveGetState).status, Status::Ok);
    EXPECT_EQ(call(viewer_, Request::AtxGetState).status, Status::Ok);
    EXPECT_EQ(call(viewer_, Request::AtxAction, {1}).status, Status::PermissionDenied);
    EXPECT_EQ(call(viewer_, Request::DriveEject).status, Status::PermissionDenied);
    EXPECT_EQ(call(viewer_, Request::UploadBegin, encode(UploadBeginBody{1, {}, "a"})).status,
              Status::PermissionDenied);
    EXPECT_FALSE(service_->xvp(viewer_, 2));
}

// xvp's Reset is the controller's power cycle: refused while it runs, and it
// keeps ATX busy for everyone.
TEST_F(ControlServiceTest, XvpResetRunsOnePowerCycleAtATime) {
    EXPECT_FALSE(service_->xvp(viewer_, 4));
    EXPECT_FALSE(atx_->state().busy);
    EXPECT_TRUE(service_->xvp(full_, 4));
    EXPECT_TRUE(atx_->state().busy);
    EXPECT_FALSE(service_->xvp(full_, 4));
    EXPECT_FALSE(service_->xvp(full_, 2));
    EXPECT_EQ(call(full_, Request::AtxAction, {1}).status, Status::Busy);
    EXPECT_FALSE(service_->xvp(full_, 9));
}

TEST_F(ControlServiceTest, MalformedAndUnknownRequestsGetErrors) {
    const Reply unknown = call(full_, static_cast<Request>(0x99));
    EXPECT_EQ(unknown.status, Status::UnknownOpcode);
    EXPECT_EQ(unknown.message, "unknown request 0x99");
    EXPECT_EQ(call(full_, Request::AtxAction).status, Status::Malformed);
    EXPECT_EQ(call(full_, Request::AtxAction, {9}).status, Status::Malformed);
    EXPECT_EQ(call(full_, Request::AtxGetState, {0}).status, Status::Malformed);
    EXPECT_EQ(call(full_, Request::UploadBegin, {1, 2, 3}).status, Status::Malformed);
    EXPECT_EQ(call(full_, Request::UploadChunk, {0, 0, 0, 1}).status, Status::Malformed);
    EXPECT_EQ(call(full_, Request::DriveInsert, {7, 0, 1, 'a'}).status, Status::Malformed);
    const std::vector<uint8_t> refused = ControlService::refuse(5, Status::TooLarge, "too big");
    auto reply = decodeReply({refused.begin() + kServerHeaderSize, refused.end()});
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->status, Status::TooLarge);
}

TEST_F(ControlServiceTest, UploadInsertDeleteAndEject) {
    service_->announce(full_);
    const std::vector<uint8_t> data(10000, 0x5a);
    ASSERT_NO_FATAL_FAILURE(upload(full_, "disk.img", data));
    auto list = decodeImageList(call(full_, Request::ImageList).result);
    ASSERT_TRUE(list);
    ASSERT_EQ(list->size(), 1u);
    EXPECT_EQ((*list)[0], (ImageEntry{"disk.img", 10000, 10000, false}));
    EXPECT_FALSE(full_.sent(ServerMessage::UploadProgress).empty());

    EXPECT_EQ(call(full_, Request::DriveInsert, encode(DriveInsertBody{1, true, "nope"})).status,
              Status::NotFound);
    ASSERT_EQ(
        call(full_, Request::DriveInsert, encode(DriveInsertBody{1, true, "disk.img"})).status,
        Status::Ok);
    EXPECT_EQ(drive_.insertedPath, dir_ + "/images/disk.img");
    auto pushed = decodeDriveState(full_.sent(ServerMessage::DriveState).back());
    ASSERT_TRUE(pushed);
    EXPECT_TRUE(pushed->inserted);
    EXPECT_TRUE(pushed->writable);
    EXPECT_EQ(pushed->name, "disk.img");

    ByteWriter name;
    name.name("disk.img");
    EXPECT_EQ(call(full_, Request::ImageDelete, name.bytes()).status, Status::InUse);
    ASSERT_EQ(call(full_, Request::DriveEject).status, Status::Ok);
    EXPECT_FALSE(decodeDriveState(full_.sent(ServerMessage::DriveState).back())->inserted);
    EXPECT_EQ(call(full_, Request::ImageDelete, name.bytes()).status, Status::Ok);
    EXPECT_TRUE(decodeImageList(call(full_, Request::ImageList).result)->empty());
}

TEST_F(ControlServiceTest, AnUploadBelongsToItsSession) {
    const std::vector<uint8_t> data(100, 1);
    Reply begun =
        call(full_, Request::UploadBegin, encode(UploadBeginBody{100, sha256(data), "x"}));
    ASSERT_EQ(begun.status, Status::Ok);
    ByteReader result(begun.result);
    uint32_t id = 0;
    ASSERT_TRUE(result.u32(id));
    RecordingSession other{3, true};
    ByteWriter chunk;
    chunk.u32(id);
    chunk.u64(0);
    chunk.raw(data.data(), data.size());
    EXPECT_EQ(call(other, Request::UploadChunk, chunk.bytes()).status, Status::NotFound);
    EXPECT_EQ(
        call(other, Request::UploadBegin, encode(UploadBeginBody{100, sha256(data), "x"})).status,
        Status::Busy);
    // Gone: its upload waits for a resume, which another session may do.
    service_->remove(full_);
    EXPECT_EQ(
        call(other, Request::UploadBegin, encode(UploadBeginBody{100, sha256(data), "x"})).status,
        Status::Ok);
}

TEST_F(ControlServiceTest, UploadsOpenPerSessionAreBoundedAndSaySo) {
    const std::vector<uint8_t> data(100, 1);
    const msd::StoreLimits limits;
    for (size_t i = 0; i < limits.uploadsPerSession; ++i)
        ASSERT_EQ(call(full_, Request::UploadBegin,
                       encode(UploadBeginBody{100, sha256(data), "x" + std::to_string(i)}))
                      .status,
                  Status::Ok);
    Reply refused =
        call(full_, Request::UploadBegin, encode(UploadBeginBody{100, sha256(data), "one more"}));
    EXPECT_EQ(refused.status, Status::Busy);
    EXPECT_EQ(refused.message, "this session has " + std::to_string(limits.uploadsPerSession) +
                                   " uploads open, the most one may; finish one first");
    // Another session is not held back by it.
    RecordingSession other{3, true};
    EXPECT_EQ(
        call(other, Request::UploadBegin, encode(UploadBeginBody{100, sha256(data), "one more"}))
            .status,
        Status::Ok);
}

TEST_F(ControlServiceTest, AtxActionsStartAndRefuseWhileBusy) {
    EXPECT_EQ(call(full_, Request::AtxAction, {3}).status, Status::Ok);
    EXPECT_EQ(call(full_, Request::AtxAction, {3}).status, Status::Busy);
    EXPECT_EQ(call(full_, Request::AtxAction, {4}).status, Status::Unsupported)
        << "no Wake-on-LAN target";
}

// The keyboard part: state, pasting text, cancelling, and who hears what.
class ControlServiceTypingTest : public ::testing::Test {
protected:
    ControlServiceTypingTest()
        : router_(std::make_shared<const input::KeysymMap>(
                      input::KeysymMap::forLayout("us", {KVMVNC_KEYMAPS_BUILD_DIR})),
                  sink_),
          typer_(router_, std::chrono::milliseconds{2}),
          service_(ControlDevices{nullptr, false, nullptr, nullptr, &typer_}) {}

    Reply call(ControlSession &session, Request opcode, const std::vector<uint8_t> &payload = {}) {
        const std::vector<uint8_t> message = service_.handle(
            session, {static_cast<uint8_t>(opcode), 1, static_cast<uint32_t>(payload.size())},
            payload);
        return decodeReply({message.begin() + kServerHeaderSize, message.end()}).value_or(Reply{});
    }
    Reply type(ControlSession &session, const std::string &text, bool skip = false) {
        return call(session, Request::TypeText, encode(TypeTextBody{skip, text}));
    }
    // The session's last TypeProgress once its job has ended.
    std::optional<TypeProgressBody> waitForEnd(RecordingSession &session) {
        std::optional<TypeProgressBody> progress;
        testing::waitUntil(
            [&] {
                auto sent = session.sent(ServerMessage::TypeProgress);
                if (!sent.empty())
                    progress = decodeTypeProgress(sent.back());
                return progress && progress->state != TypeProgressBody::State::Typing;
            },
            std::chrono::seconds{20}, std::chrono::milliseconds{5});
        if (progress && progress->state == TypeProgressBody::State::Typing)
            return std::nullopt;
        return progress;
    }

    // The sessions outlive the service and the typist: the typist's last
    // progress callback may still be telling every announced session that
    // typing stopped after waitForEnd() has seen its TypeProgress.
    RecordingSession full_{1, true};
    RecordingSession other_{2, true};
    RecordingSession viewer_{3, false};
    input::RecordingSink sink_;
    input::InputRouter router_;
    input::TextTyper typer_;
    ControlService service_;
};

TEST_F(ControlServiceTypingTest, AnnounceTellsTheKeyboardState) {
    service_.announce(full_);
    EXPECT_EQ(decodeHello(full_.sent(ServerMessage::Hello).at(0))->features, feature::kKeyboard);
    EXPECT_EQ(decodeInputState(full_.sent(ServerMessage::InputState).at(0)),
              (InputStateBody{true, false, "us"}));
    service_.setHostListening(false);
    service_.setHostListening(false);  // no change, no push
    ASSERT_EQ(full_.sent(ServerMessage::InputState).size(), 2u);
    EXPECT_FALSE(decodeInputState(full_.sent(ServerMessage::InputState)[1])->hostListening);
    Reply state = call(viewer_, Request::InputGetState);
    ASSERT_EQ(state.status, Status::Ok);
    EXPECT_FALSE(decodeInputState(state.result)->hostListening);
}

TEST_F(ControlServiceTypingTest, TypesTextAndTellsOnlyItsSessionHowFarItGot) {
    service_.announce(full_);
    service_.announce(other_);
    Reply reply = type(full_, "Hello, world!\n");
    ASSERT_EQ(reply.status, Status::Ok) << reply.message;
    EXPECT_EQ(decodeTypeTextResult(reply.result), (TypeTextResult{14, {}}));
    auto end = waitForEnd(full_);
    ASSERT_TRUE(end);
    EXPECT_EQ(*end, (TypeProgressBody{14, 14, TypeProgressBody::State::Done}));
    EXPECT_TRUE(other_.sent(ServerMessage::TypeProgress).empty());
    EXPECT_EQ(router_.stats().typedCharacters, 14u);
    // Both heard typing start and stop; the stop goes out just after the
    // owner's last TypeProgress.
    std::vector<std::vector<uint8_t>> states;
    testing::waitUntil(
        [&] {
            states = other_.sent(ServerMessage::InputState);
            return states.size() >= 3;
        },
        std::chrono::seconds{20}, std::chrono::milliseconds{5});
    ASSERT_GE(states.size(), 3u);
    EXPECT_TRUE(decodeInputState(states[1])->typing);
    EXPECT_FALSE(decodeInputState(states.back())->typing);
}

TEST_F(ControlServiceTypingTest, RefusesWhatItCannotTypeFaithfully) {
    EXPECT_EQ(type(viewer_, "a").status, Status::PermissionDenied);
    EXPECT_EQ(type(full_, "caf\xc3").status, Status::Malformed);       // cut UTF-8
    EXPECT_EQ(type(full_, "\xc0\xaf").status, Status::Malformed);      // overlong '/'
    EXPECT_EQ(type(full_, "\xed\xa0\x80").status, Status::Malformed);  // a surrogate
    EXPECT_EQ(call(full_, Request::TypeText).status, Status::Malformed);
    EXPECT_EQ(type(full_, std::string(kMaxTypeText + 1, 'a')).status, Status::Malformed);

    Reply untypable = type(full_, "café €5");
    EXPECT_EQ(untypable.status, Status::Untypable);
    EXPECT_NE(untypable.message.find("U+00E9"), std::string::npos) << untypable.message;
    EXPECT_NE(untypable.message.find("U+20AC"), std::string::npos) << untypable.message;
    EXPECT_TRUE(sink_.keyboardReports().empty()) << "nothing typed when refused";

    service_.announce(full_);
    Reply skipped = type(full_, "café €5", true);
    ASSERT_EQ(skipped.status, Status::Ok);
    EXPECT_EQ(decodeTypeTextResult(skipped.result), (TypeTextResult{5, U"é€"}));
    ASSERT_TRUE(waitForEnd(full_));

    service_.setHostListening(false);
    EXPECT_EQ(type(full_, "a").status, Status::NotListening);
}

TEST_F(ControlServiceTypingTest, OneTextAtATimeAndCancelStopsIt) {
    service_.announce(full_);
    ASSERT_EQ(type(full_, std::string(2000, 'x')).status, Status::Ok);
    EXPECT_EQ(type(other_, "y").status, Status::Busy);
    EXPECT_EQ(call(viewer_, Request::TypeCancel).status, Status::PermissionDenied);
    EXPECT_EQ(call(other_, Request::TypeCancel).status, Status::Ok);
    auto end = waitForEnd(full_);
    ASSERT_TRUE(end);
    EXPECT_EQ(end->state, TypeProgressBody::State::Cancelled);
    EXPECT_LT(end->typed, 2000u);
    EXPECT_EQ(call(other_, Request::TypeCancel).status, Status::NotFound);
}

TEST_F(ControlServiceTypingTest, ALeavingSessionStopsItsTyping) {
    service_.announce(full_);
    ASSERT_EQ(type(full_, std::string(2000, 'x')).status, Status::Ok);
    service_.remove(full_);
    EXPECT_TRUE(testing::waitUntil([&] { return !typer_.busy(); }, std::chrono::seconds{20},
                                   std::chrono::milliseconds{5}));
    EXPECT_LT(router_.stats().typedCharacters, 2000u);
    const auto reports = sink_.keyboardReports();
    EXPECT_TRUE(reports.empty() || reports.back() == input::KeyboardReport{})
        << "a key was left pressed";
}

// The paste chord's way in: TypeText's rules without a request.
TEST_F(ControlServiceTypingTest, TypesAViewersTextWithTypeTextsRules) {
    ControlService::Typed typed = service_.typeText(full_, "ls -l\n");
    ASSERT_EQ(typed.status, Status::Ok) << typed.message;
    EXPECT_EQ(typed.characters, 6u);
    EXPECT_TRUE(testing::waitUntil([&] { return router_.stats().typedCharacters == 6u; },
                                   std::chrono::seconds{20}, std::chrono::milliseconds{5}));
    EXPECT_TRUE(testing::waitUntil([&] { return !typer_.busy(); }, std::chrono::seconds{20},
                                   std::chrono::milliseconds{5}));

    EXPECT_EQ(service_.typeText(viewer_, "a").status, Status::PermissionDenied);
    EXPECT_EQ(service_.typeText(full_, "caf\xc3").status, Status::Malformed);
    ControlService::Typed untypable = service_.typeText(full_, "caf\xc3\xa9");
    EXPECT_EQ(untypable.status, Status::Untypable);
    EXPECT_NE(untypable.message.find("U+00E9"), std::string::npos) << untypable.message;
    EXPECT_EQ(router_.stats().typedCharacters, 6u) << "nothing typed when refused";

    ASSERT_EQ(service_.typeText(full_, std::string(2000, 'x')).status, Status::Ok);
    EXPECT_EQ(service_.typeText(other_, "y").status, Status::Busy);
    EXPECT_EQ(call(other_, Request::TypeCancel).status, Status::Ok);
    EXPECT_TRUE(testing::waitUntil([&] { return !typer_.busy(); }, std::chrono::seconds{20},
                                   std::chrono::milliseconds{5}));

    service_.setHostListening(false);
    EXPECT_EQ(service_.typeText(full_, "a").status, Status::NotListening);
}

TEST(ControlServiceWithoutDevicesTest, TypingTextWithoutAKeyboardIsUnsupported) {
    ControlService service(ControlDevices{});
    RecordingSession full{1, true};
    EXPECT_EQ(service.typeText(full, "a").status, Status::Unsupported);
}

TEST(ControlServiceHealthTest, AnnouncedSessionsGetTheHealthAndEveryChange) {
    ControlDevices devices;
    devices.health = true;
    ControlService service(devices);
    RecordingSession viewer{1, false};
    HealthStateBody first;
    first.temperatureKnown = true;
    first.milliCelsius = 51000;
    first.viewers = 1;
    service.setHealth(first);
    service.announce(viewer);
    EXPECT_EQ(decodeHello(viewer.sent(ServerMessage::Hello).at(0))->features, feature::kHealth);
    auto states = viewer.sent(ServerMessage::HealthState);
    ASSERT_EQ(states.size(), 1u);
    EXPECT_EQ(decodeHealthState(states[0]), first);

    HealthStateBody second = first;
    second.throttlingKnown = true;
    second.throttled = 1;
    service.setHealth(second);
    states = viewer.sent(ServerMessage::HealthState);
    ASSERT_EQ(states.size(), 2u);
    EXPECT_EQ(decodeHealthState(states[1]), second);

    // View-only connections may ask, too.
    const auto message =
        service.handle(viewer, {static_cast<uint8_t>(Request::HealthGetState), 7, 0}, {});
    auto reply = decodeReply({message.begin() + kServerHeaderSize, message.end()});
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->status, Status::Ok);
    EXPECT_EQ(decodeHealthState(reply->result), second);
    const auto malformed =
        service.handle(viewer, {static_cast<uint8_t>(Request::HealthGetState), 8, 1}, {0});
    EXPECT_EQ(decodeReply({malformed.begin() + kServerHeaderSize, malformed.end()})->status,
              Status::Malformed);

    service.remove(viewer);
    service.setHealth(first);
    EXPECT_EQ(viewer.sent(ServerMessage::HealthState).size(), 2u) << "pushed after remove()";
}

TEST(ControlServiceWithoutDevicesTest, SaysWhatIsMissing) {
    ControlService service({});
    RecordingSession session{1, true};
    auto reply = [&](Request opcode) {
        const auto message = service.handle(session, {static_cast<uint8_t>(opcode), 1, 0}, {});
        return decodeReply({message.begin() + kServerHeaderSize, message.end()})->status;
    };
    EXPECT_EQ(reply(Request::AtxGetState), Status::Unsupported);
    EXPECT_EQ(reply(Request::ImageList), Status::Unsupported);
    EXPECT_EQ(reply(Request::InputGetState), Status::Unsupported);
    EXPECT_EQ(reply(Request::HealthGetState), Status::Unsupported);
    EXPECT_EQ(service.features(), 0u);
    EXPECT_FALSE(service.xvp(session, 2));
}

// Every request of docs/protocol.md is known, and a refusal is decided in
// one order: the connection's rights, then the device, then the payload.
TEST(ControlServiceWithoutDevicesTest, RefusesByRightsThenDeviceThenPayload) {
    ControlService service({});
    RecordingSession full{1, true};
    RecordingSession viewOnly{2, false};
    auto status = [&](ControlSession &session, uint8_t opcode, std::vector<uint8_t> payload) {
        const auto message =
            service.handle(session, {opcode, 1, static_cast<uint32_t>(payload.size())}, payload);
        return decodeReply({message.begin() + kServerHeaderSize, message.end()})->status;
    };
    const std::vector<Request> known = {
        Request::AtxGetState,   Request::AtxAction,      Request::DriveGetState,
        Request::ImageList,     Request::UploadBegin,    Request::UploadChunk,
        Request::UploadFinish,  Request::ImageDelete,    Request::DriveInsert,
        Request::DriveEject,    Request::InputGetState,  Request::TypeText,
        Request::TypeCancel,    Request::HealthGetState, Request::EdidGetState,
        Request::HardwareCheck,
    };
    for (unsigned opcode = 0; opcode < 256; ++opcode) {
        const bool isKnown =
            std::find(known.begin(), known.end(), static_cast<Request>(opcode)) != known.end();
        EXPECT_EQ(status(full, static_cast<uint8_t>(opcode), {}) == Status::UnknownOpcode, !isKnown)
            << "opcode " << opcode;
    }

    const uint8_t driveEject = static_cast<uint8_t>(Request::DriveEject);
    EXPECT_EQ(status(viewOnly, driveEject, {1}), Status::PermissionDenied);
    EXPECT_EQ(status(full, driveEject, {1}), Status::Unsupported);
    const uint8_t atxAction = static_cast<uint8_t>(Request::AtxAction);
    EXPECT_EQ(status(viewOnly, atxAction, {9}), Status::PermissionDenied);
    EXPECT_EQ(status(full, atxAction, {9}), Status::Unsupported);
    const uint8_t health = static_cast<uint8_t>(Request::HealthGetState);
    EXPECT_EQ(status(viewOnly, health, {1}), Status::Unsupported);
}

// EdidGetState answers what the capture device holds, to view-only
// connections too, and only where the source has an EDID.
TEST(ControlServiceEdidTest, AnswersTheCaptureDevicesEdidToEveryone) {
    EdidStateBody edid;
    edid.state = EdidStateBody::State::Present;
    edid.setting = "default";
    edid.node = "/dev/video0";
    edid.edid = {0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00};
    int asked = 0;
    ControlDevices devices;
    devices.edid = [&] {
        ++asked;
        return edid;
    };
    ControlService service(devices);
    EXPECT_EQ(service.features(), feature::kEdid);
    RecordingSession viewOnly{1, false};
    auto ask = [&](std::vector<uint8_t> payload) {
        const auto message = service.handle(
            viewOnly,
            {static_cast<uint8_t>(Request::EdidGetState), 5, static_cast<uint32_t>(payload.size())},
            payload);
        return *decodeReply({message.begin() + kServerHeaderSize, message.end()});
    };
    Reply reply = ask({});
    ASSERT_EQ(reply.status, Status::Ok) << reply.message;
    EXPECT_EQ(decodeEdidState(reply.result), edid);
    EXPECT_EQ(asked, 1);
    edid.state = EdidStateBody::State::Empty;
    edid.edid.clear();
    EXPECT_EQ(decodeEdidState(ask({}).result), edid) << "asked again, not cached";
    EXPECT_EQ(ask({0}).status, Status::Malformed);

    ControlService without({});
    const auto message =
        without.handle(viewOnly, {static_cast<uint8_t>(Request::EdidGetState), 6, 0}, {});
    reply = *decodeReply({message.begin() + kServerHeaderSize, message.end()});
    EXPECT_EQ(reply.status, Status::Unsupported);
    EXPECT_EQ(reply.message,
              "this picture source has no EDID ([capture] edid is for V4L2 devices)");
}

// HardwareCheck runs the checks anew for each asker, view-only included:
// they change nothing.
TEST(ControlServiceHardwareTest, RunsTheChecksForEveryone) {
    HardwareReportBody report;
    report.configuration = "/etc/kvmvnc/kvmvncd.ini";
    report.checks = {{2, "usb gadget", "gadget kvmvnc is not bound", "kvmvnc-gadget up"}};
    int asked = 0;
    ControlDevices devices;
    devices.hardwareCheck = [&] {
        ++asked;
        return report;
    };
    ControlService service(devices);
    RecordingSession viewOnly{1, false};
    auto ask = [&](ControlService &to, std::vector<uint8_t> payload) {
        const auto message = to.handle(viewOnly,
                                       {static_cast<uint8_t>(Request::HardwareCheck), 7,
                                        static_cast<uint32_t>(payload.size())},
                                       payload);
        return *decodeReply({message.begin() + kServerHeaderSize, message.end()});
    };
    Reply reply = ask(service, {});
    ASSERT_EQ(reply.status, Status::Ok) << reply.message;
    EXPECT_EQ(decodeHardwareReport(reply.result), report);
    report.checks[0].status = 0;
    EXPECT_EQ(decodeHardwareReport(ask(service, {}).result), report) << "asked again, run again";
    EXPECT_EQ(asked, 2);
    EXPECT_EQ(ask(service, {1}).status, Status::Malformed);

    ControlService without({});
    reply = ask(without, {});
    EXPECT_EQ(reply.status, Status::Unsupported);
    EXPECT_EQ(reply.message, "this server does not check its hardware");
}

}  // namespace
}  // namespace kvmvnc::control
