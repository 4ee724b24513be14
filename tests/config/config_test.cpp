// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/config/config.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

namespace kvmvnc::config {

namespace {

Config parse(const std::string &text) { return parseConfig(text, "test.ini", "/etc/kvmvnc"); }

std::string errorOf(const std::string &text) {
    try {
        parse(text);
    } catch (const ConfigError &error) {
        return error.what();
    }
    return "(no error)";
}

}  // namespace

TEST(ConfigTest, DefaultsServeTheVirtualTargetOnPort5900) {
    Config config = parse("");
    EXPECT_EQ(config.server.port, 5900);
    EXPECT_EQ(config.server.listen, "0.0.0.0");
    EXPECT_TRUE(config.server.passwdFile.empty());
    EXPECT_EQ(config.capture.source, SourceKind::Virtual);
    EXPECT_FALSE(config.capture.format.has_value());
    EXPECT_EQ(config.capture.firstFrameTimeoutMs, 2000);
    EXPECT_EQ(parse("[capture]\nfirst_frame_timeout_ms = 0\n").capture.firstFrameTimeoutMs, 0);
}

TEST(ConfigTest, ReadsEveryKey) {
    Config config = parse(R"(
# A full configuration.
[server]
listen = ::1
port = 5901
passwd_file = secrets/vncpasswd
desktop_name = Rack 4 server
max_clients = 4

[capture]
source = v4l2   ; inline comment
device = /dev/video2
format = uyvy
width = 1920
height = 1080
fps = 60
input = 3
first_frame_timeout_ms = 5000

[virtual]
boot_seconds = 0
animate = no

[h264]
enabled = yes

[log]
level = debug
)");
    EXPECT_EQ(config.server.listen, "::1");
    EXPECT_EQ(config.server.port, 5901);
    EXPECT_EQ(config.server.passwdFile, "/etc/kvmvnc/secrets/vncpasswd");
    EXPECT_EQ(config.server.desktopName, "Rack 4 server");
    EXPECT_EQ(config.server.maxClients, 4);
    EXPECT_EQ(config.capture.source, SourceKind::V4l2);
    EXPECT_EQ(config.capture.device, "/dev/video2");
    EXPECT_EQ(config.capture.format, capture::PixelFormat::Uyvy);
    EXPECT_EQ(config.capture.width, 1920);
    EXPECT_EQ(config.capture.height, 1080);
    EXPECT_EQ(config.capture.fps, 60);
    EXPECT_EQ(config.capture.input, 3);
    EXPECT_EQ(config.capture.firstFrameTimeoutMs, 5000);
    EXPECT_EQ(config.virtualTarget.bootSeconds, 0);
    EXPECT_FALSE(config.virtualTarget.animate);
    EXPECT_TRUE(config.h264.enabled);
    EXPECT_FALSE(parse("").h264.enabled) << "off unless asked for, for now";
    EXPECT_EQ(config.log.level, log::Level::Debug);
}

TEST(ConfigTest, MouseModeChoosesTheMouse) {
    EXPECT_EQ(parse("").hid.mouseMode, MouseMode::Absolute);
    Config config = parse("[hid]\nmouse_mode = Relative\nrelative_mouse = /dev/hidg5\n");
    EXPECT_EQ(config.hid.mouseMode, MouseMode::Relative);
    EXPECT_EQ(config.hid.relativeMouse, "/dev/hidg5");
    EXPECT_EQ(parse("").hid.relativeMouse, "/dev/hidg2");
}

TEST(ConfigTest, H264EncoderChoosesHardwareOrSoftware) {
    EXPECT_EQ(parse("").h264.encoder, H264EncoderKind::Auto);
    EXPECT_EQ(parse("").h264.encoderDevice, "/dev/video11");
    Config config = parse("[h264]\nencoder = V4L2M2M\nencoder_device = /dev/video12\n");
    EXPECT_EQ(config.h264.encoder, H264EncoderKind::V4l2M2m);
    EXPECT_EQ(config.h264.encoderDevice, "/dev/video12");
    EXPECT_EQ(parse("[h264]\nencoder = software\n").h264.encoder, H264EncoderKind::Software);
    EXPECT_THROW(parse("[h264]\nencoder = vaapi\n"), ConfigError);
    EXPECT_THROW(parse("[h264]\nencoder_device =\n"), ConfigError);
}

TEST(ConfigTest, X11SourceNamesItsDisplay) {
    EXPECT_EQ(parse("").capture.display, "");
    Config config = parse("[capture]\nsource = X11\ndisplay = :99\nfps = 0\n");
    EXPECT_EQ(config.capture.source, SourceKind::X11);
    EXPECT_EQ(config.capture.display, ":99");
    EXPECT_EQ(config.capture.fps, 0);
}

TEST(ConfigTest, AbsolutePasswordPathsStayAsGiven) {
    EXPECT_EQ(parse("[server]\npasswd_file = /var/lib/kvmvnc/passwd\n").server.passwdFile,
              "/var/lib/kvmvnc/passwd");
}

struct BadConfig {
    const char *text;
    const char *error;
};

class ConfigErrorTest : public testing::TestWithParam<BadConfig> {};

TEST_P(ConfigErrorTest, NamesFileLineAndKey) {
    EXPECT_EQ(errorOf(GetParam().text), GetParam().error);
}

INSTANTIATE_TEST_SUITE_P(
    Errors, ConfigErrorTest,
    testing::Values(
        BadConfig{"[server]\nport = 70000\n",
                  "test.ini:2: [server] port: 70000 is out of range 1..65535"},
        BadConfig{"[server]\nport = 59o0\n",
                  "test.ini:2: [server] port: '59o0' is not a whole number"},
        BadConfig{"[server]\n\nprot = 1\n",
                  "test.ini:3: [server] prot: unknown key (see kvmvncd --help-config)"},
        BadConfig{"[sever]\nport = 1\n",
                  "test.ini:2: [sever] port: unknown section (see kvmvncd --help-config)"},
        BadConfig{"[server]\nlisten = localhost\n",
                  "test.ini:2: [server] listen: 'localhost' is not an IPv4 or IPv6 address"},
        BadConfig{"[capture]\nsource = hdmi\n",
                  "test.ini:2: [capture] source: 'hdmi' is not virtual, v4l2 or x11"},
        BadConfig{"[capture]\nformat = NV12\n",
                  "test.ini:2: [capture] format: 'NV12' is not auto, YUYV, UYVY, RGB24, BGR24 or "
                  "MJPEG"},
        BadConfig{"[capture]\nwidth = 100\nheight = 100\n",
                  "test.ini:2: [capture] width: 100 is out of range 0 (auto) or 160..8192"},
        BadConfig{"[capture]\nwidth = 1920\n",
                  "test.ini: [capture] width, height: give both or neither"},
        BadConfig{"[capture]\nfps = 0\nfps = 30\n", "test.ini:3: [capture] fps: given twice"},
        BadConfig{"[capture]\nfirst_frame_timeout_ms = 50\n",
                  "test.ini:2: [capture] first_frame_timeout_ms: 50 is out of range 0 (off) or "
                  "200..60000"},
        BadConfig{"[hid]\nmouse_mode = trackball\n",
                  "test.ini:2: [hid] mouse_mode: 'trackball' is not absolute or relative"},
        BadConfig{"[virtual]\nanimate = maybe\n",
                  "test.ini:2: [virtual] animate: 'maybe' is not true or false"},
        BadConfig{"[server]\nthis line has no equals sign\n",
                  "test.ini:2: syntax error (expected [section] or key = value)"},
        BadConfig{"port = 5900\n",
                  "test.ini:1: [] port: unknown section (see kvmvncd --help-config)"},
        BadConfig{"[hid]\npaste_chord = alt_l,hyper\n",
                  "test.ini:2: [hid] paste_chord: 'alt_l,hyper': 'hyper' is not a key name (a-z, "
                  "0-9, f1-f12, alt_l, ctrl_l, shift_l, super_l, their _r twins, meta_l, escape, "
                  "insert, pause, scroll_lock, print, menu, space)"},
        BadConfig{"[hid]\npaste_chord = p\n",
                  "test.ini:2: [hid] paste_chord: 'p': a chord needs at least two keys (a lone "
                  "key would never reach the target)"},
        BadConfig{"[server]\ndesktop_name = \n",
                  "test.ini:2: [server] desktop_name: must not be empty"}));

TEST(ConfigTest, OverlongLinesAreAnErrorNotAFragment) {
    std::string text = "[server]\ndesktop_name = " + std::string(400, 'x') + "\n";
    EXPECT_EQ(errorOf(text), "test.ini:2: line too long");
}

TEST(ConfigTest, MissingFileIsAClearError) {
    try {
        loadConfig("/nonexistent/kvmvnc.ini");
        FAIL() << "no error";
    } catch (const ConfigError &error) {
        EXPECT_STREQ(error.what(),
                     "/nonexistent/kvmvnc.ini: cannot open: No such file or directory");
    }
}

TEST(ConfigTest, LoadResolvesPathsAgainstTheFilesDirectory) {
    std::string dir = testing::TempDir();
    std::string path = dir + "/kvmvnc-config-test.ini";
    std::ofstream(path) << "[server]\npasswd_file = vncpasswd\n";
    Config config = loadConfig(path);
    std::string expectedDir = dir.back() == '/' ? dir.substr(0, dir.size() - 1) : dir;
    EXPECT_EQ(config.server.passwdFile, expectedDir + "/vncpasswd");
    std::remove(path.c_str());
}

// The commented examples in config/ are what users copy: they must load.
TEST(ConfigTest, ShippedExamplesLoad) {
    int loaded = 0;
    for (const auto &entry : std::filesystem::directory_iterator(KVMVNC_CONFIG_DIR)) {
        if (entry.path().extension() != ".ini")
            continue;
        EXPECT_NO_THROW(loadConfig(entry.path().string())) << entry.path();
        ++loaded;
    }
    EXPECT_GE(loaded, 3);
}

TEST(ConfigTest, HelpListsEveryKeyWithDefaultAndRange) {
    std::string help = describeKeys();
    for (const char *key :
         {"[server]", "listen = 0.0.0.0", "port = 5900", "passwd_file", "desktop_name", "[capture]",
          "source = virtual", "device = /dev/video0", "format = auto", "width = 0", "height = 0",
          "fps = 0", "input = -1", "display = ", "virtual, v4l2 or x11", "[virtual]",
          "boot_seconds = 3", "animate = true", "values: 1..65535"})
        EXPECT_NE(help.find(key), std::string::npos) << key;
}

TEST(ConfigTest, HelpSaysWhatAReloadDoesWithEachKey) {
    std::string help = describeKeys();
    auto after = [&](const std::string &key) {
        size_t at = help.find("\n  " + key + " = ");
        EXPECT_NE(at, std::string::npos) << key;
        size_t reload = help.find("on reload: ", at);
        return help.substr(reload, help.find('\n', reload) - reload);
    };
    EXPECT_EQ(after("desktop_name"), "on reload: applied, viewers stay connected");
    EXPECT_EQ(after("port"), "on reload: needs a restart");
}

// The keys a reload applies; every other one needs a restart.
TEST(ConfigReloadTest, LiveKeysAreExactlyTheOnesTheDaemonCanChange) {
    const std::vector<std::pair<const char *, const char *>> live = {
        {"server", "passwd_file"}, {"server", "desktop_name"},  {"server", "max_clients"},
        {"hid", "layout"},         {"hid", "type_interval_ms"}, {"log", "level"},
        {"capture", "edid"}};
    for (const auto &[section, key] : live)
        EXPECT_EQ(reloadOf(section, key), Reload::Live) << section << " " << key;
    for (const auto &[section, key] :
         std::vector<std::pair<const char *, const char *>>{{"server", "port"},
                                                            {"server", "listen"},
                                                            {"server", "xvp"},
                                                            {"capture", "device"},
                                                            {"hid", "keymaps_dir"},
                                                            {"hid", "mouse_mode"},
                                                            {"hid", "paste_chord"},
                                                            {"atx", "power_button"},
                                                            {"msd", "storage"}})
        EXPECT_EQ(reloadOf(section, key), Reload::Restart) << section << " " << key;
    EXPECT_EQ(reloadOf("server", "prot"), std::nullopt);
}

TEST(ConfigReloadTest, SameFileChangesNothing) {
    const std::string text = "[server]\nport = 5901\n[hid]\nlayout = de\n";
    ReloadPlan plan = planReload(parse(text), parse(text));
    EXPECT_TRUE(plan.applied.empty());
    EXPECT_TRUE(plan.needsRestart.empty());
    EXPECT_EQ(plan.config.server.port, 5901);
    EXPECT_EQ(plan.config.hid.layout, "de");
}

// Every key, each set to something other than its default.
const char *const kEveryKeyChanged = R"(
[server]
listen = ::1
port = 5901
rfb_port = 5902
passwd_file = vncpasswd
desktop_name = Rack 4
max_clients = 4
xvp = false
web_root = /srv/www
stall_timeout_ms = 4000
[capture]
source = v4l2
device = /dev/video2
format = UYVY
width = 1920
height = 1080
fps = 60
input = 3
first_frame_timeout_ms = 0
display = :5
edid = keep
[virtual]
boot_seconds = 0
animate = no
[hid]
target = gadget
keyboard = /dev/hidg5
mouse = /dev/hidg6
relative_mouse = /dev/hidg7
mouse_mode = relative
layout = de(nodeadkeys)
keymaps_dir = /opt/keymaps
type_interval_ms = 50
paste_chord = ctrl_r,ctrl_r,v
[atx]
target = none
chip = gpiochip4
power_button = 5
reset_button = 6
power_led = 7
hdd_led = -1
buttons_active_low = true
leds_active_low = false
click_ms = 200
long_press_ms = 6000
busy_after_ms = 500
wol_mac = aa:bb:cc:dd:ee:ff
wol_address = 192.168.1.255
wol_port = 7
[msd]
target = device
storage = /srv/images
lun = /tmp/lun
partial_max_age_hours = 0
free_space_reserve_mib = 128
[health]
hot_celsius = 70
interval_ms = 500
metrics_listen = ::1
metrics_port = 9100
sysfs_root = /srv/sys
[security]
users_file = /etc/other-users
allow_unencrypted = true
allow_tls_none = true
anonymous_tls = false
tls_cert = /etc/ssl/kvm.pem
tls_key = /etc/ssl/kvm.key
tls_dir = /srv/tls
handshake_timeout_ms = 3000
login_failures_per_minute = 10
web_origins = https://kvm.example, http://127.0.0.1:8080
[h264]
enabled = true
encoder = software
encoder_device = /dev/video31
bitrate_kbps = 2500
max_fps = 24
gop = 60
qp_min = 10
qp_max = 45
motion_percent = 50
motion_frames = 5
still_ms = 600
sharpen = false
[log]
level = debug
)";

// Every key the parser sets is one the reload can compare and copy: a
// configuration that sets every key to something other than its default
// differs in every key, and copying all of them gives the new configuration.
TEST(ConfigReloadTest, EveryKeyIsComparedAndCopied) {
    const Config running = parse("");
    const Config next = parse(kEveryKeyChanged);
    ReloadPlan plan = planReload(running, next);
    EXPECT_EQ(plan.applied.size(), 12u);
    // The help lists each key on a line of its own, indented by two spaces.
    size_t keyCount = 0;
    std::istringstream help(describeKeys());
    for (std::string line; std::getline(help, line);)
        keyCount += line.rfind("  ", 0) == 0 && line[2] != ' ';
    EXPECT_GT(keyCount, 30u);
    EXPECT_EQ(plan.applied.size() + plan.needsRestart.size(), keyCount)
        << "a key that differs is missing from the plan";
    // The live keys were copied through their setters: the plan's
    // configuration now differs from the new one only in the other keys.
    EXPECT_TRUE(planReload(plan.config, next).applied.empty());
}

// The table is the only place a default is written: a default-constructed
// Config holds, for every key, the default --help-config prints.
TEST(ConfigTest, DefaultConstructedConfigHoldsTheHelpsDefaults) {
    std::map<std::string, std::string> helpDefaults;  // "[section] key" -> default
    std::istringstream help(describeKeys());
    std::string section;
    for (std::string line; std::getline(help, line);) {
        if (line.rfind("[", 0) == 0)
            section = line;
        else if (line.rfind("  ", 0) == 0 && line[2] != ' ')
            helpDefaults[section + " " + line.substr(2, line.find(" = ") - 2)] =
                line.substr(line.find(" = ") + 3);
    }
    ReloadPlan plan = planReload(Config{}, parse(kEveryKeyChanged));
    std::vector<KeyChange> changes = plan.applied;
    changes.insert(changes.end(), plan.needsRestart.begin(), plan.needsRestart.end());
    ASSERT_EQ(changes.size(), helpDefaults.size());
    for (const KeyChange &change : changes)
        EXPECT_EQ(change.from, helpDefaults[change.key]) << change.key;
    EXPECT_TRUE(planReload(Config{}, parse("")).needsRestart.empty());
    EXPECT_EQ(Config{}.server.port, 5900);
    EXPECT_EQ(Config{}.security.tlsDir, "/var/lib/kvmvnc/tls");
    EXPECT_EQ(Config{}.log.level, log::Level::Info);
}

// The keys that name files are taken from the INI file's directory; device
// names, configfs paths and display names are not.
TEST(ConfigTest, PathKeysAreRelativeToTheFile) {
    const Config config = parse(R"(
[server]
passwd_file = a/passwd
web_root = www
[capture]
device = video7
edid = edid/x.hex
display = :5
[hid]
keyboard = hidg0
mouse = ./hidg1
relative_mouse = ../hidg2
keymaps_dir = keymaps
[atx]
chip = gpiochip4
[msd]
storage = images
lun = lun.0
[health]
sysfs_root = sys
[security]
users_file = users
tls_cert = tls/cert.pem
tls_key = tls/key.pem
tls_dir = tls
)");
    EXPECT_EQ(config.server.passwdFile, "/etc/kvmvnc/a/passwd");
    EXPECT_EQ(config.server.webRoot, "/etc/kvmvnc/www");
    EXPECT_EQ(config.capture.edid, "/etc/kvmvnc/edid/x.hex");
    EXPECT_EQ(config.hid.keyboard, "/etc/kvmvnc/hidg0");
    EXPECT_EQ(config.hid.mouse, "/etc/kvmvnc/hidg1");
    EXPECT_EQ(config.hid.relativeMouse, "/etc/hidg2");
    EXPECT_EQ(config.hid.keymapsDir, "/etc/kvmvnc/keymaps");
    EXPECT_EQ(config.msd.storage, "/etc/kvmvnc/images");
    EXPECT_EQ(config.health.sysfsRoot, "/etc/kvmvnc/sys");
    EXPECT_EQ(config.security.usersFile, "/etc/kvmvnc/users");
    EXPECT_EQ(config.security.tlsCert, "/etc/kvmvnc/tls/cert.pem");
    EXPECT_EQ(config.security.tlsKey, "/etc/kvmvnc/tls/key.pem");
    EXPECT_EQ(config.security.tlsDir, "/etc/kvmvnc/tls");
    EXPECT_EQ(config.capture.device, "video7");
    EXPECT_EQ(config.capture.display, ":5");
    EXPECT_EQ(config.atx.chip, "gpiochip4");
    EXPECT_EQ(config.msd.lun, "lun.0");
    // Unset stays unset; a reload copies a resolved path as it is.
    EXPECT_EQ(parse("").server.passwdFile, "");
    EXPECT_EQ(planReload(parse(""), config).config.server.passwdFile, "/etc/kvmvnc/a/passwd");
}

TEST(ConfigReloadTest, LiveKeysAreAppliedAndTheRestKeepTheirRunningValues) {
    const Config running = parse(R"(
[server]
port = 5900
passwd_file = old.passwd
desktop_name = old name
max_clients = 16
[capture]
fps = 30
[hid]
layout = us
type_interval_ms = 10
mouse_mode = absolute
[log]
level = info
)");
    const Config next = parse(R"(
[server]
port = 5901
passwd_file = new.passwd
desktop_name = new name
max_clients = 2
[capture]
fps = 60
[hid]
layout = de
type_interval_ms = 40
mouse_mode = relative
[log]
level = warning
)");
    ReloadPlan plan = planReload(running, next);
    std::vector<std::string> applied;
    for (const KeyChange &change : plan.applied)
        applied.push_back(change.key);
    EXPECT_EQ(applied, (std::vector<std::string>{"[server] passwd_file", "[server] desktop_name",
                                                 "[server] max_clients", "[hid] layout",
                                                 "[hid] type_interval_ms", "[log] level"}));
    ASSERT_EQ(plan.needsRestart.size(), 3u);
    EXPECT_EQ(plan.needsRestart[0].key, "[server] port");
    EXPECT_EQ(plan.needsRestart[0].from, "5900");
    EXPECT_EQ(plan.needsRestart[0].to, "5901");
    EXPECT_EQ(plan.needsRestart[1].key, "[capture] fps");
    EXPECT_EQ(plan.needsRestart[2].key, "[hid] mouse_mode");
    EXPECT_EQ(plan.needsRestart[2].to, "relative");

    const Config &after = plan.config;
    EXPECT_EQ(after.server.passwdFile, "/etc/kvmvnc/new.passwd");
    EXPECT_EQ(after.server.desktopName, "new name");
    EXPECT_EQ(after.server.maxClients, 2);
    EXPECT_EQ(after.hid.layout, "de");
    EXPECT_EQ(after.hid.typeIntervalMs, 40);
    EXPECT_EQ(after.log.level, log::Level::Warning);
    EXPECT_EQ(after.server.port, 5900);
    EXPECT_EQ(after.capture.fps, 30);
    EXPECT_EQ(after.hid.mouseMode, MouseMode::Absolute);
}

TEST(ConfigReloadTest, AddingAPasswordFileIsLiveRemovingItNeedsARestart) {
    const Config open = parse("");
    const Config locked = parse("[server]\npasswd_file = /etc/kvmvnc/vncpasswd\n");
    ReloadPlan adding = planReload(open, locked);
    ASSERT_EQ(adding.applied.size(), 1u);
    EXPECT_EQ(adding.applied[0].key, "[server] passwd_file");
    EXPECT_EQ(adding.config.server.passwdFile, "/etc/kvmvnc/vncpasswd");

    ReloadPlan removing = planReload(locked, open);
    EXPECT_TRUE(removing.applied.empty());
    ASSERT_EQ(removing.needsRestart.size(), 1u);
    EXPECT_EQ(removing.needsRestart[0].key, "[server] passwd_file");
    EXPECT_EQ(removing.needsRestart[0].to, "");
    EXPECT_EQ(removing.config.server.passwdFile, "/etc/kvmvnc/vncpasswd")
        << "the running passwords stay";
}

// [capture] edid: kvmvnc's EDID unless told otherwise; keep and default in
// any case; a file relative to the INI file's folder; a reload applies it.
TEST(ConfigTest, EdidIsDefaultKeepOrAFile) {
    EXPECT_EQ(parse("").capture.edid, "default");
    EXPECT_EQ(parse("[capture]\nedid = Keep\n").capture.edid, "keep");
    EXPECT_EQ(parse("[capture]\nedid = DEFAULT\n").capture.edid, "default");
    EXPECT_EQ(parse("[capture]\nedid = edid/monitor.hex\n").capture.edid,
              "/etc/kvmvnc/edid/monitor.hex");
    EXPECT_EQ(parse("[capture]\nedid = /usr/share/kvmvnc/edid/default.hex\n").capture.edid,
              "/usr/share/kvmvnc/edid/default.hex");
    EXPECT_EQ(errorOf("[capture]\nedid =\n"),
              "test.ini:2: [capture] edid: must not be empty (default, keep or a file)");
    ReloadPlan plan = planReload(parse(""), parse("[capture]\nedid = keep\n"));
    ASSERT_EQ(plan.applied.size(), 1u);
    EXPECT_EQ(plan.applied[0].key, "[capture] edid");
    EXPECT_EQ(plan.config.capture.edid, "keep");
    const std::string help = describeKeys();
    EXPECT_NE(help.find("  edid = default\n"), std::string::npos);
    EXPECT_NE(help.find("the virtual target and X11 have none"), std::string::npos);
}

}  // namespace kvmvnc::config

namespace kvmvnc::config {

TEST(ConfigTest, H264QuantiserBoundsMustBeInOrder) {
    try {
        parseConfig("[h264]\nqp_min = 40\nqp_max = 30\n", "k.ini", "/etc/kvmvnc");
        FAIL() << "accepted";
    } catch (const ConfigError &error) {
        EXPECT_STREQ(error.what(), "k.ini: [h264] qp_min, qp_max: 40 is above 30");
    }
}

}  // namespace kvmvnc::config
