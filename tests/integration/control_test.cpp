// SPDX-License-Identifier: GPL-2.0-or-later
// kvmvncctl and the control protocol against the real daemon on the virtual
// target: uploads that survive a dropped connection, the power button seen
// on the screen, rights, xvp, the board's health, and requests that must be
// refused.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <random>

#include "daemon_process.h"
#include "kvmvnc/base/sha256.h"
#include "kvmvnc/capture/status_screen.h"
#include "kvmvnc/control/protocol.h"
#include "kvmvnc/ctl/control_client.h"
#include "kvmvnc/door/user_table.h"
#include "kvmvnc/target/virtual_machine.h"
#include "raw_rfb_connection.h"
#include "subprocess.h"
#include "test_timing.h"
#include "test_viewer.h"
#include "virtual_target_picture.h"
#include "wait_until.h"

namespace kvmvnc::testing {
namespace {

using namespace std::chrono_literals;
constexpr auto kTimeout = 20s * kSlowdown;

Sha256Digest sha256Of(const std::string &path) {
    std::string error;
    const std::optional<Sha256Digest> digest = sha256File(path, error);
    EXPECT_TRUE(digest) << error;
    return digest.value_or(Sha256Digest{});
}

std::string readFile(const std::string &path) {
    std::ifstream file(path);
    return {std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
}

// One HTTP request to 127.0.0.1:port; the whole answer (the server closes).
std::string httpGet(int port, const std::string &path) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    std::string answer;
    if (::connect(fd, reinterpret_cast<const sockaddr *>(&address), sizeof(address)) == 0) {
        const std::string request = "GET " + path + " HTTP/1.1\r\nHost: kvmvnc\r\n\r\n";
        if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
            static_cast<ssize_t>(request.size())) {
            char buffer[4096];
            ssize_t got;
            while ((got = ::recv(fd, buffer, sizeof(buffer), 0)) > 0)
                answer.append(buffer, static_cast<size_t>(got));
        }
    }
    ::close(fd);
    return answer;
}

std::string ctlPath() {
    return std::filesystem::path(daemonBinary()).parent_path().parent_path() / "ctl" / "kvmvncctl";
}

class ControlTest : public ::testing::Test {
protected:
    // `files` are created (empty) in the daemon's folder first.
    void start(const std::string &extra = "", int bootSeconds = 0,
               const std::vector<std::string> &files = {}) {
        daemon_ = std::make_unique<DaemonProcess>(
            "passwd_file = " + std::string(KVMVNC_TEST_DATA) + "/full_and_viewonly.passwd\n" +
            "[capture]\nwidth = 800\nheight = 600\n[virtual]\nanimate = false\nboot_seconds = " +
            std::to_string(bootSeconds) + "\n[msd]\nstorage = images\n[atx]\nclick_ms = 50\n" +
            "long_press_ms = 1000\nbusy_after_ms = 100\n" + extra);
        for (const std::string &file : files)
            std::ofstream(daemon_->path(file)).flush();
        ASSERT_TRUE(daemon_->start()) << daemon_->log();
    }
    void TearDown() override {
        if (daemon_) {
            EXPECT_TRUE(daemon_->isRunning()) << daemon_->log();
            EXPECT_EQ(daemon_->stop(), 0) << daemon_->log();
        }
    }

    // Runs kvmvncctl with full rights (or `passwd`); its exit status, with
    // stdout and stderr in out_.
    int ctl(const std::vector<std::string> &args,
            const std::string &passwd = std::string(KVMVNC_TEST_DATA) + "/full_only.passwd") {
        return runCtl({"--passwd-file", passwd}, args, {});
    }
    // Runs kvmvncctl as a users-file account (VeNCrypt X509Plain).
    int ctlAs(const std::string &user, const std::string &password,
              const std::vector<std::string> &args) {
        return runCtl({"--user", user}, args, {"KVMVNC_PASSWORD=" + password});
    }
    int runCtl(const std::vector<std::string> &login, const std::vector<std::string> &args,
               const std::vector<std::string> &env) {
        std::vector<std::string> argv = {ctlPath(), "--host",
                                         "127.0.0.1:" + std::to_string(daemon_->port()),
                                         "--ca-file", daemon_->path("tls/cert.pem")};
        argv.insert(argv.end(), login.begin(), login.end());
        argv.insert(argv.end(), args.begin(), args.end());
        const std::string output = daemon_->path("ctl.out");
        const int status = runCommand(argv, env, 120s, output);
        out_ = readFile(output);
        return status;
    }

    std::unique_ptr<DaemonProcess> daemon_;
    std::string out_;
};

// 64 MiB of random bytes in `path`.
void writeRandomImage(const std::string &path) {
    std::mt19937_64 random(42);
    std::ofstream file(path, std::ios::binary);
    std::vector<uint64_t> block(1 << 17);
    for (int i = 0; i < 64; ++i) {  // 64 x 1 MiB
        for (uint64_t &word : block)
            word = random();
        file.write(reinterpret_cast<const char *>(block.data()), 1 << 20);
    }
}

// Over a connection of its own (`client`, left open), begins uploading
// `image` as random.img and sends its first half.
void sendFirstHalf(int port, const std::string &caFile, const std::string &image,
                   std::unique_ptr<ctl::ControlClient> &client) {
    const uint64_t size = std::filesystem::file_size(image);
    client = std::make_unique<ctl::ControlClient>();
    ctl::ConnectOptions connect;
    connect.port = port;
    connect.password = "fullpass";
    connect.caFile = caFile;
    connect.timeoutSeconds = 10;
    ASSERT_TRUE(client->connect(connect)) << client->error();
    control::UploadBeginBody begin;
    begin.size = size;
    begin.sha256 = sha256Of(image);
    begin.name = "random.img";
    auto reply = client->request(control::Request::UploadBegin, control::encode(begin));
    ASSERT_TRUE(reply && reply->status == control::Status::Ok);
    control::ByteReader result(reply->result);
    uint32_t id = 0;
    uint64_t offset = 1;
    ASSERT_TRUE(result.u32(id) && result.u64(offset));
    ASSERT_EQ(offset, 0u);
    std::ifstream file(image, std::ios::binary);
    std::vector<char> chunk(control::kMaxChunk);
    while (offset < size / 2) {
        file.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
        control::ByteWriter message;
        message.u32(id);
        message.u64(offset);
        message.raw(chunk.data(), chunk.size());
        reply = client->request(control::Request::UploadChunk, message.bytes());
        ASSERT_TRUE(reply && reply->status == control::Status::Ok) << reply->message;
        offset += chunk.size();
    }
}

TEST_F(ControlTest, UploadResumesAfterTheConnectionDropsHalfWay) {
    ASSERT_NO_FATAL_FAILURE(start());
    const std::string image = daemon_->path("random.img");
    writeRandomImage(image);
    const uint64_t size = std::filesystem::file_size(image);
    ASSERT_EQ(size, 64u << 20);

    // A client that sends half the image and then vanishes.
    {
        std::unique_ptr<ctl::ControlClient> client;
        ASSERT_NO_FATAL_FAILURE(
            sendFirstHalf(daemon_->port(), daemon_->path("tls/cert.pem"), image, client));
    }
    // Not an image yet: nothing half-written is listed.
    ASSERT_EQ(ctl({"msd", "list"}), 0) << out_;
    EXPECT_NE(out_.find("random.img\t67108864\tincomplete upload"), std::string::npos) << out_;
    EXPECT_FALSE(std::filesystem::exists(daemon_->path("images/random.img")));

    ASSERT_EQ(ctl({"msd", "upload", image}), 0) << out_;
    EXPECT_NE(out_.find("resuming random.img at"), std::string::npos) << out_;
    EXPECT_EQ(out_.find("resuming random.img at 0"), std::string::npos) << out_;
    EXPECT_EQ(sha256Of(daemon_->path("images/random.img")), sha256Of(image));
    ASSERT_EQ(ctl({"msd", "list"}), 0);
    EXPECT_NE(out_.find("random.img\t67108864\n"), std::string::npos) << out_;
}

TEST_F(ControlTest, UploadResumesAfterTheDaemonIsKilledHalfWay) {
    ASSERT_NO_FATAL_FAILURE(start());
    const std::string image = daemon_->path("random.img");
    writeRandomImage(image);
    {
        std::unique_ptr<ctl::ControlClient> client;
        ASSERT_NO_FATAL_FAILURE(
            sendFirstHalf(daemon_->port(), daemon_->path("tls/cert.pem"), image, client));
        // kill -9 mid-upload, with the connection open.
        ASSERT_TRUE(daemon_->sendSignal(SIGKILL));
        ASSERT_EQ(daemon_->waitForExit(10s), -SIGKILL);
    }
    ASSERT_TRUE(daemon_->start()) << daemon_->log();
    ASSERT_EQ(ctl({"msd", "list"}), 0) << out_;
    EXPECT_NE(out_.find("random.img\t67108864\tincomplete upload"), std::string::npos) << out_;
    EXPECT_FALSE(std::filesystem::exists(daemon_->path("images/random.img")));

    ASSERT_EQ(ctl({"msd", "upload", image}), 0) << out_;
    EXPECT_NE(out_.find("resuming random.img at"), std::string::npos) << out_;
    EXPECT_EQ(out_.find("resuming random.img at 0"), std::string::npos) << out_;
    EXPECT_EQ(sha256Of(daemon_->path("images/random.img")), sha256Of(image));
    ASSERT_EQ(ctl({"msd", "list"}), 0);
    EXPECT_NE(out_.find("random.img\t67108864\n"), std::string::npos) << out_;
    EXPECT_EQ(out_.find("incomplete"), std::string::npos) << out_;
}

// The reserve set in the configuration reaches the store, and a refused
// upload tells kvmvncctl and the log why.
TEST_F(ControlTest, UploadThatWouldEatTheFreeSpaceReserveIsRefused) {
    ASSERT_NO_FATAL_FAILURE(start("[msd]\nfree_space_reserve_mib = 1048576\n"));
    const std::string image = daemon_->path("small.img");
    std::ofstream(image) << "a few bytes";
    EXPECT_EQ(ctl({"msd", "upload", image}), 1) << out_;
    EXPECT_NE(out_.find("kvmvncctl: upload: small.img needs 11 bytes more and "), std::string::npos)
        << out_;
    EXPECT_NE(out_.find(" keeps 1024.0 GiB free; it has "), std::string::npos) << out_;
    EXPECT_NE(out_.find("(no space)"), std::string::npos) << out_;
    EXPECT_NE(daemon_->log().find("upload of 'small.img' refused: small.img needs"),
              std::string::npos)
        << daemon_->log();
    ASSERT_EQ(ctl({"msd", "list"}), 0);
    EXPECT_EQ(out_.find("small.img"), std::string::npos) << out_;
}

TEST_F(ControlTest, PowerButtonTurnsTheScreenOffAndOn) {
    ASSERT_NO_FATAL_FAILURE(start("", 60));
    ViewerOptions options;
    options.port = daemon_->port();
    options.encodings = "zlib";
    options.password = "fullpass";
    options.caFile = daemon_->path("tls/cert.pem");
    TestViewer viewer(options);
    ASSERT_TRUE(viewer.connect()) << viewer.lastError();
    const Size bios = target::kBiosTextModeSize;
    ASSERT_TRUE(viewer.pumpUntil([&] { return viewer.size() == bios; }, kTimeout));

    // The BIOS has no operating system to shut down: a click turns it off.
    ASSERT_EQ(ctl({"atx", "power"}), 0) << out_;
    capture::Frame off;
    capture::renderStatusScreen(
        {capture::SignalState::NoSignal, "the virtual target is powered off"}, bios, off);
    EXPECT_TRUE(viewer.waitForPicture(bios, off.pixels, kTimeout));
    ASSERT_EQ(ctl({"atx", "status"}), 0);
    EXPECT_NE(out_.find("power: off"), std::string::npos) << out_;

    // After the busy time, a click turns it on: the BIOS again, second boot.
    std::this_thread::sleep_for(500ms);
    ASSERT_EQ(ctl({"atx", "power"}), 0) << out_;
    EXPECT_TRUE(viewer.waitForPicture(bios, stillPicture(target::MachinePhase::Bios, bios, {}, 2),
                                      kTimeout));
    ASSERT_EQ(ctl({"atx", "status"}), 0);
    EXPECT_NE(out_.find("power: on"), std::string::npos) << out_;
}

TEST_F(ControlTest, ViewOnlyConnectionsMayNotPressOrUpload) {
    ASSERT_NO_FATAL_FAILURE(start());
    const std::string viewOnly = daemon_->path("viewonly.passwd");
    {
        // A vncpasswd file whose full password is the daemon's view-only one.
        std::ifstream both(std::string(KVMVNC_TEST_DATA) + "/full_and_viewonly.passwd",
                           std::ios::binary);
        char bytes[16];
        both.read(bytes, 16);
        std::ofstream(viewOnly, std::ios::binary).write(bytes + 8, 8);
    }
    EXPECT_EQ(ctl({"atx", "power"}, viewOnly), 1);
    EXPECT_NE(out_.find("permission denied"), std::string::npos) << out_;
    EXPECT_EQ(ctl({"atx", "status"}, viewOnly), 0) << out_;
    EXPECT_EQ(ctl({"msd", "eject"}, viewOnly), 1);
    // And a wrong password gets nowhere.
    const std::string wrong = daemon_->path("wrong.passwd");
    std::ofstream(wrong, std::ios::binary).write("\x01\x02\x03\x04\x05\x06\x07\x08", 8);
    EXPECT_EQ(ctl({"atx", "status"}, wrong), 3) << out_;
}

// Accounts from the users file log in with VeNCrypt's X509Plain (kvmvncctl
// --user): a view-only account sees the state but may not press, type or
// change media; a wrong password gets nowhere.
TEST_F(ControlTest, ViewOnlyAccountsMayNotTypeOrPress) {
    const std::string users =
        ::testing::TempDir() + "kvmvnc-control-users-" + std::to_string(::getpid());
    door::UserTable table;
    table.set("alice", "alice-password", door::Access::Full);
    table.set("bob", "bob-password", door::Access::ViewOnly);
    table.save(users);
    ASSERT_NO_FATAL_FAILURE(start("[security]\nusers_file = " + users + "\n"));
    EXPECT_EQ(ctlAs("bob", "bob-password", {"atx", "status"}), 0) << out_;
    EXPECT_EQ(ctlAs("bob", "bob-password", {"atx", "power"}), 1) << out_;
    EXPECT_NE(out_.find("permission denied"), std::string::npos) << out_;
    EXPECT_EQ(ctlAs("bob", "bob-password", {"type", "x"}), 1) << out_;
    EXPECT_EQ(ctlAs("bob", "bob-password", {"msd", "eject"}), 1) << out_;
    EXPECT_EQ(ctlAs("alice", "alice-password", {"atx", "power"}), 0) << out_;
    EXPECT_EQ(ctlAs("alice", "bob-password", {"atx", "status"}), 3) << out_;
    EXPECT_TRUE(daemon_->waitForLog("wrong user name or password for 'alice'", 5s));
    EXPECT_TRUE(daemon_->waitForLog("admitted as bob (X509Plain, view-only)", 5s))
        << daemon_->log();
    std::filesystem::remove(users);
}

// A burst of wrong passwords blocks the address: the right one is then
// refused too, with the reason, until the block runs out.
TEST_F(ControlTest, ABurstOfFailedLoginsIsSlowedDown) {
    ASSERT_NO_FATAL_FAILURE(start());
    const std::string wrong = daemon_->path("wrong.passwd");
    std::ofstream(wrong, std::ios::binary).write("\x01\x02\x03\x04\x05\x06\x07\x08", 8);
    for (int i = 0; i < 4; ++i)
        EXPECT_EQ(ctl({"atx", "status"}, wrong), 3) << out_;
    EXPECT_EQ(ctl({"atx", "status"}), 3) << "the right password, while blocked";
    EXPECT_NE(out_.find("too many failed logins from 127.0.0.1"), std::string::npos) << out_;
    std::this_thread::sleep_for(2500ms);  // the first block is 2 s
    EXPECT_EQ(ctl({"atx", "status"}), 0) << out_;
}

// Failed logins from everywhere beyond [security] login_failures_per_minute
// hold back addresses that never logged in; one that did goes on.
TEST_F(ControlTest, TheOwnerIsNotLockedOutWhenManyLoginsFail) {
    ASSERT_NO_FATAL_FAILURE(start("[security]\nlogin_failures_per_minute = 1\n"));
    EXPECT_EQ(ctl({"atx", "status"}), 0) << out_;
    const std::string wrong = daemon_->path("wrong.passwd");
    std::ofstream(wrong, std::ios::binary).write("\x01\x02\x03\x04\x05\x06\x07\x08", 8);
    for (int i = 0; i < 2; ++i)
        EXPECT_EQ(ctl({"atx", "status"}, wrong), 3) << out_;
    EXPECT_TRUE(daemon_->waitForLog("more than 1 failed logins a minute", 5s)) << daemon_->log();
    EXPECT_EQ(ctl({"atx", "status"}), 0) << out_;
}

TEST_F(ControlTest, ErrorsAreClearAndTheDaemonKeepsServing) {
    // The raw connection below speaks plain VNC authentication.
    ASSERT_NO_FATAL_FAILURE(start("[security]\nallow_unencrypted = true\n"));
    EXPECT_EQ(ctl({"msd", "insert", "missing.iso"}), 1);
    EXPECT_NE(out_.find("no image 'missing.iso'"), std::string::npos) << out_;
    EXPECT_EQ(ctl({"msd", "delete", "../etc/passwd"}), 1);
    EXPECT_NE(out_.find("invalid name"), std::string::npos) << out_;
    EXPECT_EQ(ctl({"msd", "upload", daemon_->path("nonexistent")}), 2);
    EXPECT_EQ(ctl({"atx", "wol"}), 1) << "no wol_mac configured";
    EXPECT_EQ(ctl({"frobnicate"}), 2);

    // Raw protocol abuse on one connection: an oversized request is refused
    // and skipped, an unknown opcode answered; the connection goes on.
    RawRfbConnection raw;
    ASSERT_TRUE(raw.connect(daemon_->port()));
    ASSERT_TRUE(raw.handshakeWithPassword("fullpass"));
    const std::vector<uint8_t> oversized(control::kMaxRequestPayload + 1, 0);
    ASSERT_TRUE(raw.send(control::encodeRequest(control::Request::UploadChunk, 1, oversized)));
    ASSERT_TRUE(raw.send(control::encodeRequest(static_cast<control::Request>(0x7e), 2)));
    ASSERT_TRUE(raw.send(control::encodeRequest(control::Request::AtxGetState, 3)));
    for (auto [id, status] :
         {std::pair{1u, control::Status::TooLarge}, std::pair{2u, control::Status::UnknownOpcode},
          std::pair{3u, control::Status::Ok}}) {
        uint8_t header[control::kServerHeaderSize];
        ASSERT_TRUE(raw.readExactly(header, sizeof(header)));
        ASSERT_EQ(header[0], control::kMessageType);
        ASSERT_EQ(header[1], static_cast<uint8_t>(control::ServerMessage::Reply));
        const uint32_t length = uint32_t{header[4]} << 24 | uint32_t{header[5]} << 16 |
                                uint32_t{header[6]} << 8 | header[7];
        std::vector<uint8_t> payload(length);
        ASSERT_TRUE(raw.readExactly(payload.data(), payload.size()));
        auto reply = control::decodeReply(payload);
        ASSERT_TRUE(reply);
        EXPECT_EQ(reply->requestId, id);
        EXPECT_EQ(reply->status, status) << reply->message;
    }
    EXPECT_EQ(ctl({"atx", "status"}), 0) << out_;
}

// Pasted text reaches the keyboard device as one press and release per
// character, with the Shift and AltGr the target's layout (German here)
// needs; what the layout has no key for is refused, or skipped when asked.
TEST_F(ControlTest, TypePastesTextAsKeystrokesInTheTargetsLayout) {
    ASSERT_NO_FATAL_FAILURE(
        start("[hid]\ntarget = gadget\nkeyboard = kbd\nmouse = mouse\n"
              "layout = de\ntype_interval_ms = 1\n",
              0, {"kbd", "mouse"}));
    ASSERT_EQ(ctl({"type", "Zy@\n"}), 0) << out_ << daemon_->log();
    constexpr uint8_t kShift = 0x02, kAltGr = 0x40;
    auto report = [](uint8_t modifiers, uint8_t key) {
        return std::vector<uint8_t>{modifiers, 0, key, 0, 0, 0, 0, 0};
    };
    std::vector<uint8_t> expected;
    auto stroke = [&](uint8_t modifiers, uint8_t key) {
        for (const auto &bytes : modifiers
                                     ? std::vector{report(modifiers, 0), report(modifiers, key),
                                                   report(modifiers, 0), report(0, 0)}
                                     : std::vector{report(0, key), report(0, 0)})
            expected.insert(expected.end(), bytes.begin(), bytes.end());
    };
    stroke(kShift, 0x1c);  // Z: German keyboards have it where US ones have Y
    stroke(0, 0x1d);       // y
    stroke(kAltGr, 0x14);  // @ is AltGr+Q
    stroke(0, 0x28);       // Return
    auto typed = [&] {
        const std::string bytes = readFile(daemon_->path("kbd"));
        return std::vector<uint8_t>(bytes.begin(), bytes.end());
    };
    EXPECT_EQ(typed(), expected);

    // é needs a dead key on this layout: refused, nothing typed.
    EXPECT_EQ(ctl({"type", "Café"}), 1);
    EXPECT_NE(out_.find("U+00E9"), std::string::npos) << out_;
    EXPECT_EQ(typed(), expected);
    // Skipped when asked, and said so.
    ASSERT_EQ(ctl({"type", "--skip-untypable", "é!"}), 0) << out_;
    EXPECT_NE(out_.find("skipped"), std::string::npos) << out_;
    stroke(kShift, 0x1e);  // !
    EXPECT_EQ(typed(), expected);

    ASSERT_EQ(ctl({"status"}), 0) << out_;
    EXPECT_NE(out_.find("keyboard: layout de, the target is listening"), std::string::npos) << out_;
    EXPECT_EQ(ctl({"type", "--cancel"}), 1) << "nothing is being typed";
    EXPECT_EQ(ctl({"type"}), 2);
}

// A keyboard nobody reads (here a FIFO without a reader): typing is refused
// with a reason, and status says so.
TEST_F(ControlTest, TypingIntoATargetThatIsNotListeningIsRefused) {
    ASSERT_NO_FATAL_FAILURE(
        start("[hid]\ntarget = gadget\nkeyboard = kbd\nmouse = mouse\n", 0, {"mouse"}));
    ASSERT_EQ(::mkfifo(daemon_->path("kbd").c_str(), 0600), 0);
    // The sink retries the device once a second; a FIFO without a reader is
    // a host that is not listening.
    ASSERT_TRUE(waitUntil(
        [&] { return ctl({"status"}) == 0 && out_.find("NOT listening") != std::string::npos; }, 5s,
        100ms))
        << out_;
    EXPECT_EQ(ctl({"type", "hello"}), 1);
    EXPECT_NE(out_.find("not reading its keyboard"), std::string::npos) << out_;
}

// The virtual target's USB host goes away only when it is written to: the
// first keystroke of a text typed to a machine that is off finds it gone,
// inside the router's write. That must stop the typing, not the daemon.
TEST_F(ControlTest, TypingToATargetThatTurnedOffStopsAndNothingHangs) {
    ASSERT_NO_FATAL_FAILURE(start());
    ASSERT_EQ(ctl({"atx", "power"}), 0) << out_;
    ASSERT_TRUE(waitUntil(
        [&] {
            return ctl({"atx", "status"}) == 0 && out_.find("power: off") != std::string::npos;
        },
        10s, 100ms))
        << out_;
    ctl({"type", "hello"});  // refused or stopped, depending on when the host is found gone
    EXPECT_EQ(ctl({"atx", "status"}), 0) << "the daemon still answers: " << out_;
    EXPECT_EQ(ctl({"status"}), 0) << out_;
    EXPECT_NE(out_.find("NOT listening"), std::string::npos) << out_;
}

// noVNC's power menu speaks xvp: Shutdown is the power button.
TEST_F(ControlTest, XvpShutdownPressesThePowerButton) {
    // The raw connection below speaks plain VNC authentication.
    ASSERT_NO_FATAL_FAILURE(
        start("[server]\nxvp = true\n[security]\nallow_unencrypted = true\n", 60));
    RawRfbConnection raw;
    ASSERT_TRUE(raw.connect(daemon_->port()));
    ASSERT_TRUE(raw.handshakeWithPassword("fullpass"));
    ASSERT_TRUE(raw.send({2, 0, 0, 1, 0xff, 0xff, 0xfe, 0xcb}));  // SetEncodings: xvp (-309)
    uint8_t init[4];
    ASSERT_TRUE(raw.readExactly(init, sizeof(init)));
    EXPECT_EQ((std::vector<uint8_t>(init, init + 4)), (std::vector<uint8_t>{250, 0, 1, 1}))
        << "xvp Init";
    ASSERT_TRUE(raw.send({250, 0, 1, 2}));  // xvp Shutdown
    EXPECT_TRUE(waitUntil(
        [&] {
            return ctl({"atx", "status"}) == 0 && out_.find("power: off") != std::string::npos;
        },
        10s, 100ms))
        << out_ << daemon_->log();
}

// The board's health, read from a sysfs tree laid out as on a Raspberry Pi 4
// (61.8 C, under-voltage and throttling now and since boot), reaches
// kvmvncctl status and the Prometheus endpoint.
TEST_F(ControlTest, StatusAndMetricsTellTheBoardsHealth) {
    const int metricsPort = freePort();
    ASSERT_NO_FATAL_FAILURE(start("[health]\nsysfs_root = " + std::string(KVMVNC_SYSFS_TREES) +
                                  "/pi4/sys\nhot_celsius = 60\ninterval_ms = 200\n"
                                  "metrics_port = " +
                                  std::to_string(metricsPort) + "\n"));
    // The first sample may come before the first picture.
    EXPECT_TRUE(waitUntil(
        [&] {
            EXPECT_EQ(ctl({"status"}), 0) << out_;
            return out_.find("capture: picture 800x600 at ") != std::string::npos;
        },
        10s, 100ms))
        << out_;
    EXPECT_NE(out_.find("health: SoC 61.8 C (TOO HOT), under-voltage, throttled NOW; since boot: "
                        "under-voltage, throttled\n"),
              std::string::npos)
        << out_;
    EXPECT_NE(out_.find("viewers: "), std::string::npos) << out_;
    EXPECT_NE(daemon_->log().find("too hot"), std::string::npos) << daemon_->log();

    const std::string metrics = httpGet(metricsPort, "/metrics");
    EXPECT_EQ(metrics.rfind("HTTP/1.1 200 ", 0), 0u) << metrics;
    for (const char *sample :
         {"\nkvmvnc_soc_temperature_celsius 61.835\n", "\nkvmvnc_soc_too_hot 1\n",
          "\nkvmvnc_soc_throttled{flag=\"under_voltage\",when=\"now\"} 1\n",
          "\nkvmvnc_soc_throttled{flag=\"frequency_capped\",when=\"now\"} 0\n",
          "\nkvmvnc_capture_signal{state=\"ok\"} 1\n", "\nkvmvnc_capture_width_pixels 800\n"})
        EXPECT_NE(metrics.find(sample), std::string::npos) << sample << " in\n" << metrics;
    // Two viewers: the metrics see them within a few samples.
    ViewerOptions options;
    options.port = daemon_->port();
    options.password = "fullpass";
    options.caFile = daemon_->path("tls/cert.pem");
    TestViewer first(options);
    TestViewer second(options);
    ASSERT_TRUE(first.connect()) << first.lastError();
    ASSERT_TRUE(second.connect()) << second.lastError();
    EXPECT_TRUE(waitUntil(
        [&] {
            return httpGet(metricsPort, "/metrics").find("\nkvmvnc_viewers 2\n") !=
                   std::string::npos;
        },
        10s, 100ms))
        << httpGet(metricsPort, "/metrics");
    EXPECT_EQ(httpGet(metricsPort, "/").rfind("HTTP/1.1 404 ", 0), 0u);
}

// One viewer - view-only, logged in, the panel open on a frozen laptop -
// asked for a picture and pipelined thousands of requests, and reads
// nothing. The ATX thread used to write each viewer the new state while the
// button was held: a 100 ms click became a press of many seconds (a forced
// power-off), or kvmvncctl hung and no press happened at all. Now the click
// lasts its 50 ms, kvmvncctl answers at once, the viewer goes after the
// stall limit.
TEST_F(ControlTest, AViewerThatStoppedReadingNeverStretchesAPress) {
    ASSERT_NO_FATAL_FAILURE(
        start("[server]\nstall_timeout_ms = 3000\n[security]\nallow_unencrypted = true\n"));
    RawRfbConnection frozen;
    ASSERT_TRUE(frozen.connect(daemon_->port()));
    ASSERT_TRUE(frozen.handshakeWithPassword("viewpass"));
    // SetEncodings: Raw, KvmvncControl, QEMU LED state (-261), DesktopName
    // (-307); then the whole screen (800x600 in Raw: 1.9 MB).
    std::vector<uint8_t> stall = {2,    0,    0,    4,    0,    0,    0,    0,    0x4b, 0x56,
                                  0x4d, 0x01, 0xff, 0xff, 0xfe, 0xfb, 0xff, 0xff, 0xfe, 0xcd,
                                  3,    0,    0,    0,    0,    0,    3,    0x20, 2,    0x58};
    for (uint32_t id = 1; id <= 200000; ++id) {
        const std::vector<uint8_t> request = {200,
                                              0x40,
                                              0,
                                              0,
                                              static_cast<uint8_t>(id >> 24),
                                              static_cast<uint8_t>(id >> 16),
                                              static_cast<uint8_t>(id >> 8),
                                              static_cast<uint8_t>(id),
                                              0,
                                              0,
                                              0,
                                              0};
        stall.insert(stall.end(), request.begin(), request.end());  // HealthGetState
    }
    // Sent from a thread of its own: once every buffer on the way is full,
    // the server stops reading it, and the send waits until the server lets
    // this viewer go.
    std::thread sender([&] { frozen.send(stall); });
    std::this_thread::sleep_for(1s);  // its answers and picture fill every buffer

    const auto before = std::chrono::steady_clock::now();
    ASSERT_EQ(ctl({"atx", "power"}), 0) << out_ << daemon_->log();
    const auto took = std::chrono::steady_clock::now() - before;
    EXPECT_LT(took, 10s) << "kvmvncctl waited for a viewer that reads nothing";
    ASSERT_TRUE(daemon_->waitForLog("power button released after", kTimeout)) << daemon_->log();
    const std::string log = daemon_->log();
    const size_t at = log.find("power button released after ") + 28;
    EXPECT_LT(std::stoi(log.substr(at)), 300) << "the 50 ms click was stretched: " << log;
    EXPECT_NE(log.find("ms: shutting down"), std::string::npos)
        << "a click asks the system to shut down; it is not forced off: " << log;
    EXPECT_TRUE(daemon_->waitForLog("took no byte", kTimeout))
        << "the viewer that stopped reading is let go: " << daemon_->log();
    frozen.shutdown();
    sender.join();
}

// xvp presses buttons only for a viewer that listed its pseudo-encoding
// (-309), as noVNC does before it shows its power menu.
TEST_F(ControlTest, XvpFromAViewerThatNeverListedItPressesNothing) {
    ASSERT_NO_FATAL_FAILURE(start("[server]\nxvp = true\n[security]\nallow_unencrypted = true\n"));
    RawRfbConnection raw;
    ASSERT_TRUE(raw.connect(daemon_->port()));
    ASSERT_TRUE(raw.handshakeWithPassword("fullpass"));
    ASSERT_TRUE(raw.send({2, 0, 0, 1, 0, 0, 0, 0}));  // SetEncodings: Raw only
    ASSERT_TRUE(raw.send({250, 0, 1, 2}));            // xvp Shutdown
    EXPECT_TRUE(raw.closedByServer(5000)) << daemon_->log();
    EXPECT_TRUE(daemon_->waitForLog("without listing its pseudo-encoding", kTimeout))
        << daemon_->log();
    std::this_thread::sleep_for(500ms);
    EXPECT_EQ(daemon_->log().find("power button"), std::string::npos) << daemon_->log();
    ASSERT_EQ(ctl({"atx", "status"}), 0);
    EXPECT_NE(out_.find("power: on"), std::string::npos) << out_;
}

// kvmvncctl edid show on the virtual target, which has no EDID: refused as
// unsupported, for a view-only connection just the same (the request is
// one it may make).
TEST_F(ControlTest, EdidShowSaysTheVirtualTargetHasNone) {
    ASSERT_NO_FATAL_FAILURE(start());
    const std::string viewOnly = daemon_->path("viewonly.passwd");
    {
        std::ifstream both(std::string(KVMVNC_TEST_DATA) + "/full_and_viewonly.passwd",
                           std::ios::binary);
        char bytes[16];
        both.read(bytes, 16);
        std::ofstream(viewOnly, std::ios::binary).write(bytes + 8, 8);
    }
    EXPECT_EQ(ctl({"edid", "show"}), 1) << out_;
    EXPECT_NE(out_.find("kvmvncctl: edid show: this picture source has no EDID ([capture] edid "
                        "is for V4L2 devices) (not supported)"),
              std::string::npos)
        << out_;
    EXPECT_EQ(ctl({"edid", "show"}, viewOnly), 1) << out_;
    EXPECT_NE(out_.find("this picture source has no EDID"), std::string::npos) << out_;
    EXPECT_EQ(ctl({"edid", "list"}), 2) << out_;
}

// With a V4L2 source whose device is not there (yet), kvmvncctl edid show
// says so and names the setting.
TEST_F(ControlTest, EdidShowTellsThatTheCaptureDeviceIsMissing) {
    ASSERT_NO_FATAL_FAILURE(start("[capture]\nsource = v4l2\ndevice = /nonexistent/video7\n"));
    const std::string expected =
        "edid: not known yet: /nonexistent/video7: No such file or "
        "directory ([capture] edid = default)\n";
    waitUntil(
        [&] {
            EXPECT_EQ(ctl({"edid", "show"}), 0) << out_;
            return out_ == expected;
        },
        5s, 250ms);
    EXPECT_EQ(out_, expected);
}

// A bad EDID file stops kvmvncd at start with the reason; --check-config
// finds it too.
TEST(EdidStartupTest, ABadEdidFileIsAStartupError) {
    DaemonProcess daemon(
        "[capture]\nsource = v4l2\ndevice = /nonexistent/video7\n"
        "edid = monitor.bin\n");
    std::ofstream(daemon.path("monitor.bin"), std::ios::binary) << std::string(100, '\x01');
    const std::string reason =
        "[capture] edid: " + daemon.path("monitor.bin") +
        ": 100 bytes is not a whole number of 128-byte blocks (an EDID is 128 or 256 bytes)";
    EXPECT_FALSE(daemon.start(3s));
    EXPECT_EQ(daemon.waitForExit(3s), 1);
    EXPECT_NE(daemon.log().find(reason), std::string::npos) << daemon.log();

    const std::string output = daemon.path("check.out");
    EXPECT_EQ(runCommand({daemonBinary(), "--check-config", "--config", daemon.path("kvmvnc.ini")},
                         {}, 30s, output),
              2);
    EXPECT_NE(readFile(output).find(reason), std::string::npos) << readFile(output);
}

// kvmvncctl doctor on the virtual target: the server is reached, its
// certificate is the CA file's, and its own checks need no hardware; a
// view-only login may ask too.
TEST_F(ControlTest, DoctorOnTheVirtualTargetFindsNothingMissing) {
    ASSERT_NO_FATAL_FAILURE(start());
    const std::string port = std::to_string(daemon_->port());
    EXPECT_EQ(ctl({"doctor"}, std::string(KVMVNC_TEST_DATA) + "/full_and_viewonly.passwd"), 0)
        << out_;
    EXPECT_NE(out_.find("kvmvncd at 127.0.0.1:" + port + ", configuration " +
                        daemon_->path("kvmvnc.ini") + ":\n"),
              std::string::npos)
        << out_;
    EXPECT_NE(out_.find("OK    connection       127.0.0.1:" + port + " answers (RFB 003.008)\n"),
              std::string::npos)
        << out_;
    EXPECT_NE(out_.find(", checked against --ca-file " + daemon_->path("tls/cert.pem") +
                        " when logging in\n"),
              std::string::npos)
        << out_;
    EXPECT_NE(out_.find("SKIP  usb gadget       not needed\n"), std::string::npos) << out_;
    EXPECT_NE(out_.find("OK    listen address   kvmvncd listens on 127.0.0.1:" + port + "\n"),
              std::string::npos)
        << out_;
    EXPECT_TRUE(out_.ends_with("everything the configuration needs is there\n")) << out_;
}

// With a capture device the configuration names but the machine lacks, the
// daemon's own check fails and so does kvmvncctl doctor.
TEST_F(ControlTest, DoctorFailsOverAMissingCaptureDevice) {
    ASSERT_NO_FATAL_FAILURE(
        start("[capture]\nsource = v4l2\ndevice = /nonexistent/video7\n[atx]\ntarget = none\n"
              "[msd]\ntarget = none\n"));
    EXPECT_EQ(ctl({"doctor"}), 1) << out_;
    EXPECT_NE(out_.find("FAIL  capture device   no /nonexistent/video7; fix: connect the capture "
                        "device"),
              std::string::npos)
        << out_;
    EXPECT_NE(out_.find("SKIP  capture formats  no capture device (above)\n"), std::string::npos)
        << out_;
}

// kvmvncd --check-hardware runs the same checks without a daemon: 0 when
// nothing needed is missing, 1 when something is.
TEST(CheckHardwareCommandTest, ExitsZeroOnlyWhenNothingNeededIsMissing) {
    DaemonProcess virtualTarget("");
    const std::string output = virtualTarget.path("check.out");
    EXPECT_EQ(runCommand({daemonBinary(), "--check-hardware", "--config",
                          virtualTarget.path("kvmvnc.ini")},
                         {}, 30s, output),
              0)
        << readFile(output);
    EXPECT_NE(readFile(output).find("SKIP  capture device   not needed: [capture] source = "
                                    "virtual\n"),
              std::string::npos)
        << readFile(output);
    // Nothing listens: kvmvncd is not running, which --check-hardware only
    // mentions.
    EXPECT_NE(readFile(output).find("WARN  listen address   nothing listens on 127.0.0.1:" +
                                    std::to_string(virtualTarget.port()) +
                                    ": kvmvncd is not running; fix: "),
              std::string::npos)
        << readFile(output);

    DaemonProcess missing("[capture]\nsource = v4l2\ndevice = /nonexistent/video7\n");
    EXPECT_EQ(
        runCommand({daemonBinary(), "--check-hardware", "--config", missing.path("kvmvnc.ini")}, {},
                   30s, output),
        1)
        << readFile(output);
    EXPECT_NE(readFile(output).find("FAIL  capture device   no /nonexistent/video7"),
              std::string::npos)
        << readFile(output);

    // kvmvncctl doctor on this machine with no kvmvncd answering runs them
    // too, against --config.
    EXPECT_EQ(runCommand({ctlPath(), "--host", "127.0.0.1:" + std::to_string(missing.port()),
                          "doctor", "--config", missing.path("kvmvnc.ini")},
                         {}, 30s, output),
              1)
        << readFile(output);
    EXPECT_TRUE(readFile(output).starts_with(
        "nothing listens on 127.0.0.1:" + std::to_string(missing.port()) +
        ": kvmvncd is not running here; this machine checked against " +
        missing.path("kvmvnc.ini") + ":\n"))
        << readFile(output);
    EXPECT_NE(readFile(output).find("FAIL  capture device   no /nonexistent/video7"),
              std::string::npos);
}

// noVNC's Reset is a hard power cycle: the power button held until the
// virtual target is forced off, then, busy_after later, a click that turns
// it on again. Another Reset meanwhile is refused (xvp Fail).
TEST(ControlXvpTest, XvpResetForcesTheTargetOffThenTurnsItOn) {
    DaemonProcess daemon("passwd_file = " + std::string(KVMVNC_TEST_DATA) +
                         "/full_and_viewonly.passwd\nxvp = true\n[security]\n"
                         "allow_unencrypted = true\n[capture]\nwidth = 800\nheight = 600\n"
                         "[virtual]\nanimate = false\nboot_seconds = 0\n[atx]\n"
                         "long_press_ms = 4500\n");
    ASSERT_TRUE(daemon.start()) << daemon.log();
    RawRfbConnection raw;
    ASSERT_TRUE(raw.connect(daemon.port()));
    ASSERT_TRUE(raw.handshakeWithPassword("fullpass"));
    ASSERT_TRUE(raw.send({2, 0, 0, 1, 0xff, 0xff, 0xfe, 0xcb}));  // SetEncodings: xvp (-309)
    uint8_t message[4];
    ASSERT_TRUE(raw.readExactly(message, sizeof(message)));  // xvp Init
    ASSERT_TRUE(raw.send({250, 0, 1, 4}));                   // xvp Reset
    ASSERT_TRUE(daemon.waitForLog("power-long: power button pressed for 4500 ms", kTimeout))
        << daemon.log();
    ASSERT_TRUE(raw.send({250, 0, 1, 4}));  // again, while the button is held
    ASSERT_TRUE(raw.readExactly(message, sizeof(message)));
    EXPECT_EQ((std::vector<uint8_t>(message, message + 4)), (std::vector<uint8_t>{250, 0, 1, 0}))
        << "xvp Fail";
    ASSERT_TRUE(daemon.waitForLog("ms: forced off", kTimeout)) << daemon.log();
    ASSERT_TRUE(daemon.waitForLog("ms: powered on", kTimeout)) << daemon.log();
    const std::string log = daemon.log();
    EXPECT_NE(log.find("control: session "), std::string::npos) << log;
    EXPECT_NE(log.find(": ATX power-long\n"), std::string::npos) << log;
    EXPECT_LT(log.find("ms: forced off"), log.find("power: power button pressed for 100 ms"))
        << log;
    EXPECT_EQ(log.find("power cycle:"), std::string::npos) << log;
    raw.shutdown();
    EXPECT_EQ(daemon.stop(), 0) << daemon.log();
}

}  // namespace
}  // namespace kvmvnc::testing
