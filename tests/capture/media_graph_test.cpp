// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/capture/media_graph.h"

#include <gtest/gtest.h>
#include <linux/media.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "kvmvnc/capture/edid_mailbox.h"

namespace kvmvnc::capture {
namespace {

// A Raspberry Pi 5's capture graph with a TC358743 (as the CFE driver
// builds it, simplified): the CSI-2 receiver's subdevice, the bridge's
// subdevice, and the video node.
MediaGraph piGraph() {
    MediaGraph graph;
    graph.entities = {{1, MEDIA_ENT_F_VID_IF_BRIDGE},  // csi2 receiver subdevice
                      {2, MEDIA_ENT_F_VID_IF_BRIDGE},  // tc358743 4-000f
                      {3, MEDIA_ENT_F_IO_V4L}};        // rp1-cfe-csi2-ch0
    // Interfaces: the receiver's and the bridge's subdevice nodes, the video node.
    graph.interfaces = {{10, MEDIA_INTF_T_V4L_SUBDEV, 81, 1},
                        {11, MEDIA_INTF_T_V4L_SUBDEV, 81, 2},
                        {12, MEDIA_INTF_T_V4L_VIDEO, 81, 0}};
    graph.links = {{10, 1, MEDIA_LNK_FL_INTERFACE_LINK | MEDIA_LNK_FL_ENABLED},
                   {11, 2, MEDIA_LNK_FL_INTERFACE_LINK | MEDIA_LNK_FL_ENABLED},
                   {12, 3, MEDIA_LNK_FL_INTERFACE_LINK | MEDIA_LNK_FL_ENABLED},
                   {2, 1, MEDIA_LNK_FL_DATA_LINK | MEDIA_LNK_FL_ENABLED}};  // pads, not interfaces
    return graph;
}

// Only subdevice nodes can hold the bridge's EDID; HDMI receivers come
// before other subdevices.
TEST(MediaGraphTest, EdidCandidatesAreSubdevicesReceiversFirst) {
    MediaGraph graph = piGraph();
    graph.entities[0].function = MEDIA_ENT_F_PROC_VIDEO_PIXEL_FORMATTER;  // not a receiver
    std::vector<MediaGraph::Interface> candidates = edidCandidates(graph);
    ASSERT_EQ(candidates.size(), 2u);
    EXPECT_EQ(candidates[0].id, 11u);
    EXPECT_EQ(candidates[0].minor, 2u);
    EXPECT_EQ(candidates[1].id, 10u);

    // An ADV7604-like DV decoder counts as a receiver too.
    graph.entities[1].function = MEDIA_ENT_F_DV_DECODER;
    EXPECT_EQ(edidCandidates(graph).front().id, 11u);

    // Only an interface link ties a node to its entity; without one neither
    // node is known to be a receiver, and the graph's order stands.
    graph.entities[1].function = MEDIA_ENT_F_VID_IF_BRIDGE;
    graph.links[1].flags = MEDIA_LNK_FL_DATA_LINK;
    candidates = edidCandidates(graph);
    ASSERT_EQ(candidates.size(), 2u);
    EXPECT_EQ(candidates[0].id, 10u);
}

TEST(MediaGraphTest, AGraphWithoutSubdevicesHasNoCandidates) {
    MediaGraph graph;  // uvcvideo: entities, a video interface, no subdevice nodes
    graph.entities = {{1, MEDIA_ENT_F_IO_V4L}, {2, MEDIA_ENT_F_CAM_SENSOR}};
    graph.interfaces = {{10, MEDIA_INTF_T_V4L_VIDEO, 81, 0}};
    graph.links = {{10, 1, MEDIA_LNK_FL_INTERFACE_LINK}};
    EXPECT_TRUE(edidCandidates(graph).empty());
}

TEST(MediaGraphTest, DeviceNodesComeFromSysfs) {
    const std::filesystem::path root =
        std::filesystem::temp_directory_path() / ("kvmvnc-sysfs-" + std::to_string(getpid()));
    std::filesystem::create_directories(root / "dev/char/81:2");
    std::ofstream(root / "dev/char/81:2/uevent") << "MAJOR=81\nMINOR=2\nDEVNAME=v4l-subdev1\n";
    EXPECT_EQ(deviceNodeOf(81, 2, root.string()), "/dev/v4l-subdev1");
    EXPECT_EQ(deviceNodeOf(81, 3, root.string()), "");
    std::filesystem::remove_all(root);
}

TEST(MediaGraphTest, NoMediaDeviceNoSubdevices) {
    EXPECT_TRUE(edidSubdevicesOf("/dev/null").empty());  // no media device beside it
    EXPECT_TRUE(edidSubdevicesOf("/nonexistent/video0").empty());
}

// A reload's setting replaces one not yet taken; each is taken once.
TEST(EdidMailboxTest, HandsTheNewestSettingOverOnce) {
    EdidMailbox mailbox({Edid::kvmvncDefault(), "default"});
    EXPECT_EQ(mailbox.current().setting, "default");
    EXPECT_EQ(mailbox.current().state, EdidReport::State::Unknown);
    mailbox.request({std::nullopt, "keep"});
    std::optional<EdidRequest> taken = mailbox.take();
    ASSERT_TRUE(taken);
    EXPECT_EQ(taken->setting, "keep");
    EXPECT_FALSE(taken->edid);
    EXPECT_FALSE(mailbox.take());
    mailbox.report({EdidReport::State::Empty, "keep", "/dev/video0", "", {}});
    EXPECT_EQ(mailbox.current().state, EdidReport::State::Empty);
    EXPECT_EQ(mailbox.current().node, "/dev/video0");
}

}  // namespace
}  // namespace kvmvnc::capture
