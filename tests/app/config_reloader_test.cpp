// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/app/config_reloader.h"

#include <gtest/gtest.h>
#include <rfb/rfb.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "free_port.h"
#include "kvmvnc/app/security_setup.h"
#include "kvmvnc/door/front_door.h"
#include "kvmvnc/door/vnc_password_file.h"
#include "kvmvnc/input/input_router.h"
#include "kvmvnc/input/text_typer.h"
#include "kvmvnc/rfb/rfb_server.h"
#include "recording_sink.h"

namespace kvmvnc::app {

namespace {

using kvmvnc::testing::freePort;

std::vector<std::string> keysOf(const std::vector<config::KeyChange> &changes) {
    std::vector<std::string> keys;
    for (const auto &change : changes)
        keys.push_back(change.key);
    return keys;
}

// The running parts a reload changes, built from an INI file as the daemon
// builds them, in a directory of their own.
class ConfigReloaderTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = ::testing::TempDir() + "kvmvnc-reload-" +
               ::testing::UnitTest::GetInstance()->current_test_info()->name();
        std::replace(dir_.begin() + static_cast<std::ptrdiff_t>(::testing::TempDir().size()),
                     dir_.end(), '/', '-');
        std::filesystem::remove_all(dir_);
        std::filesystem::create_directories(dir_);
        savedLevel_ = log::level();
    }
    void TearDown() override {
        reloader.reset();
        typer.reset();
        router.reset();
        door.reset();
        server.reset();
        log::setLevel(savedLevel_);
        std::filesystem::remove_all(dir_);
    }

    std::string path(const std::string &name) const { return dir_ + "/" + name; }
    void writePasswords(const std::string &name, const door::VncPasswords &passwords) {
        const std::vector<uint8_t> bytes = door::encodeVncPasswordFile(passwords);
        std::ofstream(path(name), std::ios::binary)
            .write(reinterpret_cast<const char *>(bytes.data()),
                   static_cast<std::streamsize>(bytes.size()));
    }
    // The INI file: what the test gives, after the keys every test needs.
    void writeConfig(const std::string &serverKeys, const std::string &rest = "") {
        std::ofstream(path("kvmvnc.ini"))
            << "[server]\nlisten = 127.0.0.1\nport = " << port_ << "\n"
            << serverKeys << "[hid]\nkeymaps_dir = " << KVMVNC_KEYMAPS_BUILD_DIR << "\n"
            << rest;
    }
    void start() {
        const config::Config cfg = config::loadConfig(path("kvmvnc.ini"));
        log::setLevel(cfg.log.level);
        rfb::RfbServerOptions options;
        options.desktopName = cfg.server.desktopName;
        options.maxClients = cfg.server.maxClients;
        options.initialSize = {64, 48};
        server = std::make_unique<rfb::RfbServer>(options);
        door::FrontDoorOptions doorOptions;
        doorOptions.listen = cfg.server.listen;
        doorOptions.port = cfg.server.port;
        doorOptions.credentials = loadCredentials(cfg);
        doorOptions.handoff = [this](UniqueFd fd, const door::ViewerIdentity &viewer) {
            return server->adopt(std::move(fd), viewer);
        };
        door = std::make_unique<door::FrontDoor>(doorOptions);
        router = std::make_unique<input::InputRouter>(loadKeyboardLayout(cfg.hid), sink);
        typer = std::make_unique<input::TextTyper>(
            *router, std::chrono::milliseconds{cfg.hid.typeIntervalMs});
        reloader = std::make_unique<ConfigReloader>(
            cfg, ReloadTargets{*server, *door, *router, *typer}, door->credentials());
    }

    // What the door grants a viewer that gives `password` for VNC
    // authentication.
    enum class Access { Refused, Full, ViewOnly };
    Access access(const std::string &password) const {
        const std::shared_ptr<const door::Credentials> credentials = door->credentials();
        if (!credentials->vnc)
            return Access::Refused;
        uint8_t challenge[16];
        std::memset(challenge, 0x5a, sizeof(challenge));
        uint8_t response[16];
        std::memcpy(response, challenge, sizeof(response));
        std::string key = password;
        key.resize(std::max<size_t>(key.size(), 8), '\0');
        rfbEncryptBytes(response, key.data());
        const auto granted = door::checkVncResponse(*credentials->vnc, challenge, response);
        return !granted                         ? Access::Refused
               : *granted == door::Access::Full ? Access::Full
                                                : Access::ViewOnly;
    }
    bool requiresPassword() const { return !door->credentials()->none(); }

    input::RecordingSink sink;
    std::unique_ptr<rfb::RfbServer> server;
    std::unique_ptr<door::FrontDoor> door;
    std::unique_ptr<input::InputRouter> router;
    std::unique_ptr<input::TextTyper> typer;
    std::unique_ptr<ConfigReloader> reloader;

private:
    std::string dir_;
    int port_ = freePort();
    log::Level savedLevel_ = log::Level::Info;
};

}  // namespace

TEST_F(ConfigReloaderTest, AppliesTheLiveKeysAndLeavesTheOthers) {
    writePasswords("vncpasswd", {"first", ""});
    writeConfig("passwd_file = vncpasswd\ndesktop_name = old name\nmax_clients = 4\n",
                "layout = us\n[capture]\nfps = 30\n[log]\nlevel = info\n");
    start();
    const int port = reloader->running().server.port;

    writePasswords("vncpasswd", {"second", "viewer"});
    writeConfig("passwd_file = vncpasswd\ndesktop_name = new name\nmax_clients = 2\n",
                "layout = de\ntype_interval_ms = 40\nmouse_mode = relative\n"
                "[capture]\nfps = 60\n[log]\nlevel = warning\n");
    const ReloadResult result = reloader->reload();
    ASSERT_TRUE(result.ok) << result.error;
    EXPECT_EQ(keysOf(result.applied),
              (std::vector<std::string>{"[server] desktop_name", "[server] max_clients",
                                        "[hid] layout", "[hid] type_interval_ms", "[log] level"}));
    EXPECT_EQ(keysOf(result.needsRestart),
              (std::vector<std::string>{"[capture] fps", "[hid] mouse_mode"}));
    EXPECT_TRUE(result.credentialsChanged);

    EXPECT_EQ(access("first"), Access::Refused);
    EXPECT_EQ(access("second"), Access::Full);
    EXPECT_EQ(access("viewer"), Access::ViewOnly);
    EXPECT_EQ(server->desktopName(), "new name");
    EXPECT_EQ(router->layout().name(), "de");
    EXPECT_EQ(log::level(), log::Level::Warning);
    const config::Config &running = reloader->running();
    EXPECT_EQ(running.server.desktopName, "new name");
    EXPECT_EQ(running.server.maxClients, 2);
    EXPECT_EQ(running.hid.typeIntervalMs, 40);
    EXPECT_EQ(running.capture.fps, 30) << "needs a restart: keeps its running value";
    EXPECT_EQ(running.hid.mouseMode, config::MouseMode::Absolute);
    EXPECT_EQ(running.server.port, port);
}

TEST_F(ConfigReloaderTest, SameFileAgainChangesNothing) {
    writePasswords("vncpasswd", {"first", ""});
    writeConfig("passwd_file = vncpasswd\n");
    start();
    const ReloadResult result = reloader->reload();
    ASSERT_TRUE(result.ok) << result.error;
    EXPECT_TRUE(result.applied.empty());
    EXPECT_TRUE(result.needsRestart.empty());
    EXPECT_FALSE(result.credentialsChanged);
    EXPECT_EQ(access("first"), Access::Full);
}

// A new file that does not load leaves everything as it ran, even the keys
// of it that were fine.
struct BadReload {
    const char *name;
    const char *server;  // [server] keys besides listen and port
    const char *rest;    // after [hid] keymaps_dir
    const char *error;   // part of the message
};

void PrintTo(const BadReload &bad, std::ostream *out) { *out << bad.name; }

class BadReloadTest : public ConfigReloaderTest, public ::testing::WithParamInterface<BadReload> {};

TEST_P(BadReloadTest, ChangesNothing) {
    writePasswords("vncpasswd", {"first", "viewer"});
    writeConfig("passwd_file = vncpasswd\ndesktop_name = old name\n",
                "layout = us\n[log]\nlevel = info\n");
    start();
    const config::Config before = reloader->running();

    writePasswords("next.passwd", {"second", ""});
    std::ofstream(path("short.passwd")) << "abc";
    writeConfig(GetParam().server, GetParam().rest);
    const ReloadResult result = reloader->reload();
    EXPECT_FALSE(result.ok);
    EXPECT_NE(result.error.find(GetParam().error), std::string::npos) << result.error;
    EXPECT_TRUE(result.applied.empty());

    EXPECT_EQ(access("first"), Access::Full);
    EXPECT_EQ(access("viewer"), Access::ViewOnly);
    EXPECT_EQ(access("second"), Access::Refused);
    EXPECT_EQ(server->desktopName(), "old name");
    EXPECT_EQ(router->layout().name(), "us");
    EXPECT_EQ(log::level(), log::Level::Info);
    EXPECT_EQ(reloader->running().server.desktopName, before.server.desktopName);
    EXPECT_EQ(reloader->running().hid.layout, before.hid.layout);
    EXPECT_EQ(reloader->running().log.level, before.log.level);
}

INSTANTIATE_TEST_SUITE_P(
    Files, BadReloadTest,
    ::testing::Values(
        BadReload{"SyntaxError", "passwd_file = next.passwd\ndesktop_name = new name\nport\n",
                  "layout = de\n", "syntax error"},
        BadReload{"ValueOutOfRange", "passwd_file = next.passwd\ndesktop_name = new name\n",
                  "layout = de\n[log]\nlevel = loud\n", "[log] level"},
        BadReload{"MissingPasswordFile", "passwd_file = missing.passwd\ndesktop_name = new name\n",
                  "layout = de\n[log]\nlevel = debug\n", "cannot open password file"},
        BadReload{"MalformedPasswordFile", "passwd_file = short.passwd\ndesktop_name = new name\n",
                  "layout = de\n[log]\nlevel = debug\n", "not a vncpasswd file"},
        BadReload{"UnknownLayout", "passwd_file = next.passwd\ndesktop_name = new name\n",
                  "layout = klingon\n[log]\nlevel = debug\n", "klingon"}),
    [](const ::testing::TestParamInfo<BadReload> &paramInfo) { return paramInfo.param.name; });

TEST_F(ConfigReloaderTest, MissingConfigFileChangesNothing) {
    writeConfig("desktop_name = old name\n");
    start();
    std::filesystem::remove(path("kvmvnc.ini"));
    const ReloadResult result = reloader->reload();
    EXPECT_FALSE(result.ok);
    EXPECT_NE(result.error.find("cannot open"), std::string::npos) << result.error;
    EXPECT_EQ(server->desktopName(), "old name");
}

TEST_F(ConfigReloaderTest, PasswordFileTurnsAuthenticationOn) {
    writeConfig("");
    start();
    EXPECT_FALSE(requiresPassword());
    writePasswords("vncpasswd", {"first", ""});
    writeConfig("passwd_file = vncpasswd\n");
    const ReloadResult result = reloader->reload();
    ASSERT_TRUE(result.ok) << result.error;
    EXPECT_EQ(keysOf(result.applied), (std::vector<std::string>{"[server] passwd_file"}));
    EXPECT_TRUE(requiresPassword());
    EXPECT_EQ(access("first"), Access::Full);
}

TEST_F(ConfigReloaderTest, RemovingThePasswordFileNeedsARestart) {
    writePasswords("vncpasswd", {"first", ""});
    writeConfig("passwd_file = vncpasswd\n");
    start();
    writePasswords("vncpasswd", {"second", ""});
    writeConfig("desktop_name = new name\n");
    const ReloadResult result = reloader->reload();
    ASSERT_TRUE(result.ok) << result.error;
    EXPECT_EQ(keysOf(result.needsRestart), (std::vector<std::string>{"[server] passwd_file"}));
    EXPECT_EQ(keysOf(result.applied), (std::vector<std::string>{"[server] desktop_name"}));
    // The file the daemon runs with is still read: it is what checks viewers.
    EXPECT_TRUE(requiresPassword());
    EXPECT_EQ(access("second"), Access::Full);
    EXPECT_EQ(access("first"), Access::Refused);
}

TEST_F(ConfigReloaderTest, TheUsersFileAndTheSecurityPolicyAreLive) {
    door::UserTable users;
    users.set("alice", "first-password", door::Access::Full);
    users.save(path("users"));
    writeConfig("", "[security]\nusers_file = users\n");
    start();
    EXPECT_TRUE(door->credentials()->users.verify("alice", "first-password"));

    users.set("alice", "second-password", door::Access::ViewOnly);
    users.save(path("users"));
    writeConfig("", "[security]\nusers_file = users\nallow_unencrypted = true\n");
    const ReloadResult result = reloader->reload();
    ASSERT_TRUE(result.ok) << result.error;
    EXPECT_TRUE(result.credentialsChanged);
    EXPECT_EQ(keysOf(result.applied), (std::vector<std::string>{"[security] allow_unencrypted"}));
    EXPECT_FALSE(door->credentials()->users.verify("alice", "first-password"));
    EXPECT_EQ(door->credentials()->users.verify("alice", "second-password"),
              door::Access::ViewOnly);

    // A users file that does not load changes nothing.
    std::ofstream(path("users")) << "alice:full:not-a-hash\n";
    EXPECT_FALSE(reloader->reload().ok);
    EXPECT_EQ(door->credentials()->users.verify("alice", "second-password"),
              door::Access::ViewOnly);
}

TEST_F(ConfigReloaderTest, LayoutChangeStopsTheTextBeingTypedAndReleasesHeldKeys) {
    writeConfig("", "layout = us\ntype_interval_ms = 20\n");
    start();
    router->keysymEvent(7, true, 'a');
    input::TypingPlan plan = typer->plan(std::u32string(500, U'x'));
    ASSERT_TRUE(typer->start(1, std::move(plan.strokes), nullptr));
    writeConfig("", "layout = de\ntype_interval_ms = 20\n");
    const ReloadResult result = reloader->reload();
    ASSERT_TRUE(result.ok) << result.error;
    EXPECT_FALSE(typer->busy());
    EXPECT_EQ(sink.keyboardReports().back(), (input::KeyboardReport{}));
    EXPECT_EQ(router->layout().name(), "de");
    // Switching back uses the table loaded first.
    const input::KeysymMap *de = &router->layout();
    writeConfig("", "layout = us\n");
    ASSERT_TRUE(reloader->reload().ok);
    EXPECT_EQ(router->layout().name(), "us");
    EXPECT_EQ(router->usedLayout("de").get(), de);
}

TEST_F(ConfigReloaderTest, WithoutAConfigFileThereIsNothingToReload) {
    writeConfig("");
    start();
    ConfigReloader defaults(config::Config{}, ReloadTargets{*server, *door, *router, *typer},
                            door->credentials());
    const ReloadResult result = defaults.reload();
    EXPECT_FALSE(result.ok);
    EXPECT_NE(result.error.find("without --config"), std::string::npos) << result.error;
}

// [capture] edid: a reload reads the EDID file again, whether its name
// changed or not, and asks the capture device to load only an EDID that
// differs from the one it was given (loading makes the target see its
// monitor unplugged and back); a bad file changes nothing.
TEST_F(ConfigReloaderTest, AChangedEdidIsHandedToTheCaptureDeviceABadOneIsNot) {
    writeConfig("", "[capture]\nsource = v4l2\nedid = default\n");
    start();
    const config::Config cfg = config::loadConfig(path("kvmvnc.ini"));
    capture::EdidMailbox mailbox(loadEdidRequest(cfg.capture));
    ASSERT_TRUE(mailbox.take());  // the capture thread takes the first at start
    ConfigReloader edidReloader(cfg, ReloadTargets{*server, *door, *router, *typer, &mailbox},
                                door->credentials());

    ReloadResult result = edidReloader.reload();
    ASSERT_TRUE(result.ok) << result.error;
    EXPECT_FALSE(result.edidChanged);
    EXPECT_FALSE(mailbox.take()) << "the same EDID again";

    // The default with another monitor name, in hex: a file of our own.
    std::vector<uint8_t> bytes = capture::Edid::kvmvncDefault().bytes();
    auto writeEdid = [&](char letter) {
        bytes[114] = static_cast<uint8_t>(letter);  // the name's second letter
        unsigned sum = 0;
        for (size_t i = 0; i < 127; ++i)
            sum += bytes[i];
        bytes[127] = static_cast<uint8_t>(256 - sum % 256);
        std::ofstream file(path("monitor.hex"));
        for (uint8_t byte : bytes)
            file << std::hex << static_cast<int>(byte) / 16 << static_cast<int>(byte) % 16 << ' ';
    };
    writeEdid('X');
    writeConfig("", "[capture]\nsource = v4l2\nedid = monitor.hex\n");
    result = edidReloader.reload();
    ASSERT_TRUE(result.ok) << result.error;
    EXPECT_TRUE(result.edidChanged);
    std::optional<capture::EdidRequest> taken = mailbox.take();
    ASSERT_TRUE(taken && taken->edid);
    EXPECT_EQ(taken->setting, path("monitor.hex"));
    EXPECT_EQ(taken->edid->monitorName(), "kXmvnc");

    // Same key, new contents: read again and loaded.
    writeEdid('Y');
    ASSERT_TRUE(edidReloader.reload().ok);
    taken = mailbox.take();
    ASSERT_TRUE(taken && taken->edid);
    EXPECT_EQ(taken->edid->monitorName(), "kYmvnc");

    // A broken checksum: the reload fails and nothing is handed over.
    bytes[127] ^= 1;
    {
        std::ofstream file(path("monitor.hex"), std::ios::binary);
        file.write(reinterpret_cast<const char *>(bytes.data()),
                   static_cast<std::streamsize>(bytes.size()));
    }
    result = edidReloader.reload();
    EXPECT_FALSE(result.ok);
    EXPECT_NE(result.error.find("[capture] edid: " + path("monitor.hex") +
                                ": block 0 has a wrong checksum"),
              std::string::npos)
        << result.error;
    EXPECT_FALSE(mailbox.take());
    EXPECT_EQ(mailbox.requested().edid->monitorName(), "kYmvnc");

    writeConfig("", "[capture]\nsource = v4l2\nedid = keep\n");
    result = edidReloader.reload();
    ASSERT_TRUE(result.ok) << result.error;
    taken = mailbox.take();
    ASSERT_TRUE(taken);
    EXPECT_FALSE(taken->edid);
    EXPECT_EQ(taken->setting, "keep");
}

}  // namespace kvmvnc::app
