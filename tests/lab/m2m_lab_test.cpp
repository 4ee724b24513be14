// SPDX-License-Identifier: GPL-2.0-or-later
// encode::V4l2M2mEncoder on a real V4L2 stateful encoder: vicodec (built out
// of tree with v4l2-mem2mem), multi-planar as the Pi's bcm2835-codec, coding
// FWHT where the Pi codes H.264. kvmvnc-m2m-probe drives one encoder through
// the steps of guest/scenario-m2m.sh's `probe` verb.
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "lab_test.h"

namespace kvmvnc::lab {
namespace {

// The probe's own lines (configure, picture, counters, closed), without the
// stage's log lines.
std::vector<std::string> probeLines(const std::string &output) {
    std::vector<std::string> found;
    std::istringstream lines(output);
    std::string line;
    while (std::getline(lines, line)) {
        for (const char *prefix : {"configure ", "picture ", "counters ", "closed", "sh "}) {
            if (line.rfind(prefix, 0) == 0) {
                found.push_back(line);
                break;
            }
        }
    }
    return found;
}

// "picture N bytes=B idr=I": B and I, or -1 when the line is not one.
struct Picture {
    int bytes = -1;
    int idr = -1;
};

Picture picture(const std::string &line) {
    Picture p;
    int number = 0;
    if (std::sscanf(line.c_str(), "picture %d bytes=%d idr=%d", &number, &p.bytes, &p.idr) != 3)
        return {};
    return p;
}

class M2mLab : public LabTest {
protected:
    M2mLab() : LabTest("m2m") {}
};

// Queue setup on vicodec's encoder (XBGR32 in, our byte order, no
// conversion), pictures in and coded pictures out, the first of a stream
// intra coded. Without FORCE_KEY_FRAME an IDR request is a reset (a drain,
// CAPTURE off and on); a new size is a drain and new formats; a size vicodec
// does not code (it clamps to 640x360 at least) fails with the reason and
// leaves the encoder unconfigured until a size it codes; closing drains.
TEST_F(M2mLab, EncodesResetsResizesAndDrains) {
    const LabVm::Reply reply =
        run("probe configure 640x480 encode 3 idr encode 2 configure 800x600 encode 2 "
            "configure 320x240 encode 1 configure 640x360 encode 1 close");
    std::printf("%s", reply.output.c_str());
    const std::vector<std::string> lines = probeLines(reply.output);
    ASSERT_EQ(lines.size(), 18u) << reply.output;

    EXPECT_EQ(lines[0], "configure 640x480 ok raw=XR24 max=4096x2160 keyframes=reset");
    EXPECT_EQ(lines[1], "counters resets=0 drains=0");
    const int expectedIdr[] = {1, 0, 0, 1, 0};
    for (int i = 0; i < 5; ++i) {
        const Picture p = picture(lines[2 + i]);
        EXPECT_GT(p.bytes, 0) << lines[2 + i];
        EXPECT_EQ(p.idr, expectedIdr[i]) << lines[2 + i];
    }
    // Resized: the reset's drain and the one before the new formats.
    EXPECT_EQ(lines[7], "configure 800x600 ok raw=XR24 max=4096x2160 keyframes=reset");
    EXPECT_EQ(lines[8], "counters resets=1 drains=2");
    EXPECT_EQ(picture(lines[9]).idr, 1) << lines[9];
    EXPECT_GT(picture(lines[9]).bytes, picture(lines[2]).bytes)
        << "800x600 codes more than 640x480";
    EXPECT_EQ(picture(lines[10]).idr, 0) << lines[10];

    EXPECT_NE(lines[11].find("configure 320x240 error="), std::string::npos) << lines[11];
    EXPECT_NE(lines[11].find("does not code 320x240 pictures (it offers 640x360 XR24)"),
              std::string::npos)
        << lines[11];
    EXPECT_EQ(lines[12], "counters resets=1 drains=3");
    EXPECT_EQ(lines[13], "picture 8 error=the encoder is not configured");

    EXPECT_EQ(lines[14], "configure 640x360 ok raw=XR24 max=4096x2160 keyframes=reset");
    EXPECT_EQ(lines[15], "counters resets=1 drains=3");
    EXPECT_EQ(picture(lines[16]).idr, 1) << lines[16];
    EXPECT_GT(picture(lines[16]).bytes, 0) << lines[16];
    EXPECT_EQ(lines[17], "closed drains=4 configured=0");
    for (int i : {2, 9, 16})
        EXPECT_NE(lines[i].find(" fwht=rgb:"), std::string::npos) << "XBGR32 is RGB: " << lines[i];
}

// The conversions, for a device without our byte order (bcm2835-codec may
// list only YUV): YUV420 and NV12 forced on vicodec, which then codes 4:2:0
// YUV (its header says so), at a size whose chroma rows are odd (640x362).
// vicodec codes both from the same planes (it reads NV12's interleaved
// chroma apart), so the same pictures code to the same sizes: one conversion
// putting a plane or a row elsewhere than the other would change them.
TEST_F(M2mLab, EncodesFromYuv420AndNv12) {
    std::vector<std::vector<int>> sizes;
    for (const char *raw : {"YU12", "NV12"}) {
        sizes.emplace_back();
        const LabVm::Reply reply =
            run(std::string("probe-raw ") + raw + " configure 640x362 encode 2 idr encode 1 close");
        std::printf("%s", reply.output.c_str());
        const std::vector<std::string> lines = probeLines(reply.output);
        ASSERT_EQ(lines.size(), 6u) << reply.output;
        EXPECT_EQ(lines[0], std::string("configure 640x362 ok raw=") + raw +
                                " max=4096x2160 keyframes=reset");
        const int expectedIdr[] = {1, 0, 1};
        for (int i = 0; i < 3; ++i) {
            const Picture p = picture(lines[2 + i]);
            EXPECT_GT(p.bytes, 0) << lines[2 + i];
            EXPECT_EQ(p.idr, expectedIdr[i]) << lines[2 + i];
            EXPECT_NE(lines[2 + i].find(" fwht=yuv:3:420"), std::string::npos) << lines[2 + i];
            sizes.back().push_back(p.bytes);
        }
        EXPECT_EQ(lines[5], "closed drains=2 configured=0");
    }
    EXPECT_EQ(sizes[0], sizes[1]) << "YUV420 and NV12 coded differently";
}

// kvmvncd's choice: vicodec's node exists and opens, but codes no H.264, so
// auto and v4l2m2m both end with OpenH264, each saying why in one line. A
// size above the device's largest is refused. Then the device goes away under an encoder between
// two pictures (vicodec unbound): the picture fails with ENODEV, configure() fails (the node is
// gone), neither crashes the probe nor the guest's kernel.
TEST_F(M2mLab, FallsBackToSoftwareAndSurvivesTheDeviceGoing) {
    LabVm::Reply daemon = run("kvmvncd-h264 auto");
    std::printf("%s", daemon.output.c_str());
    EXPECT_NE(daemon.output.find("H.264 by OpenH264 ([h264] encoder = auto:"), std::string::npos)
        << daemon.output;
    EXPECT_NE(daemon.output.find("does not encode H264"), std::string::npos) << daemon.output;
    daemon = run("kvmvncd-h264 v4l2m2m");
    std::printf("%s", daemon.output.c_str());
    EXPECT_NE(daemon.output.find("H.264 by OpenH264 instead of"), std::string::npos)
        << daemon.output;

    // Above the largest size the device lists (ENUM_FRAMESIZES): refused
    // before any format is set.
    const LabVm::Reply tooLarge = run("probe configure 4104x2160 encode 1 close");
    std::printf("%s", tooLarge.output.c_str());
    const std::vector<std::string> refused = probeLines(tooLarge.output);
    ASSERT_EQ(refused.size(), 4u) << tooLarge.output;
    EXPECT_NE(refused[0].find("configure 4104x2160 error="), std::string::npos) << refused[0];
    EXPECT_NE(refused[0].find("codes at most 4096x2160, not 4104x2160"), std::string::npos)
        << refused[0];
    EXPECT_EQ(refused[2], "picture 1 error=the encoder is not configured");
    EXPECT_EQ(refused[3], "closed drains=0 configured=0");

    const LabVm::Reply reply =
        run("probe configure 640x480 encode 2 sh /tmp/unbind encode 1 configure 640x480 close");
    std::printf("%s", reply.output.c_str());
    const std::vector<std::string> lines = probeLines(reply.output);
    ASSERT_EQ(lines.size(), 9u) << reply.output;
    EXPECT_EQ(picture(lines[2]).idr, 1) << lines[2];
    EXPECT_EQ(picture(lines[3]).idr, 0) << lines[3];
    EXPECT_EQ(lines[4], "sh status=0");
    EXPECT_NE(lines[5].find("picture 3 error="), std::string::npos) << lines[5];
    EXPECT_NE(lines[5].find("No such device"), std::string::npos) << lines[5];
    EXPECT_NE(lines[6].find("configure 640x480 error="), std::string::npos) << lines[6];
    EXPECT_NE(lines[6].find("No such file or directory"), std::string::npos) << lines[6];
    EXPECT_EQ(lines[8], "closed drains=0 configured=0");
    const LabVm::Reply dmesg = run("dmesg");
    EXPECT_EQ(dmesg.output.find("Oops"), std::string::npos) << dmesg.output;
    EXPECT_EQ(dmesg.output.find("BUG"), std::string::npos) << dmesg.output;
}

}  // namespace
}  // namespace kvmvnc::lab
