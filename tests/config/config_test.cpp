// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/config/config.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

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

[virtual]
boot_seconds = 0
animate = no

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
    EXPECT_EQ(config.virtualTarget.bootSeconds, 0);
    EXPECT_FALSE(config.virtualTarget.animate);
    EXPECT_EQ(config.log.level, log::Level::Debug);
}

TEST(ConfigTest, MouseModeChoosesTheMouse) {
    EXPECT_EQ(parse("").hid.mouseMode, MouseMode::Absolute);
    Config config = parse("[hid]\nmouse_mode = Relative\nrelative_mouse = /dev/hidg5\n");
    EXPECT_EQ(config.hid.mouseMode, MouseMode::Relative);
    EXPECT_EQ(config.hid.relativeMouse, "/dev/hidg5");
    EXPECT_EQ(parse("").hid.relativeMouse, "/dev/hidg2");
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
                  "test.ini:2: [capture] source: 'hdmi' is not virtual or v4l2"},
        BadConfig{"[capture]\nformat = NV12\n",
                  "test.ini:2: [capture] format: 'NV12' is not auto, YUYV, UYVY, RGB24, BGR24 or "
                  "MJPEG"},
        BadConfig{"[capture]\nwidth = 100\nheight = 100\n",
                  "test.ini:2: [capture] width: 100 is out of range 0 (auto) or 160..8192"},
        BadConfig{"[capture]\nwidth = 1920\n",
                  "test.ini: [capture] width, height: give both or neither"},
        BadConfig{"[capture]\nfps = 0\nfps = 30\n", "test.ini:3: [capture] fps: given twice"},
        BadConfig{"[hid]\nmouse_mode = trackball\n",
                  "test.ini:2: [hid] mouse_mode: 'trackball' is not absolute or relative"},
        BadConfig{"[virtual]\nanimate = maybe\n",
                  "test.ini:2: [virtual] animate: 'maybe' is not true or false"},
        BadConfig{"[server]\nthis line has no equals sign\n",
                  "test.ini:2: syntax error (expected [section] or key = value)"},
        BadConfig{"port = 5900\n",
                  "test.ini:1: [] port: unknown section (see kvmvncd --help-config)"},
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
    for (const char *key : {"[server]", "listen = 0.0.0.0", "port = 5900", "passwd_file",
                            "desktop_name", "[capture]", "source = virtual", "device = /dev/video0",
                            "format = auto", "width = 0", "height = 0", "fps = 0", "input = -1",
                            "[virtual]", "boot_seconds = 3", "animate = true", "values: 1..65535"})
        EXPECT_NE(help.find(key), std::string::npos) << key;
}

}  // namespace kvmvnc::config
