// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace kvmvnc::capture {

// The parts of a media controller graph (MEDIA_IOC_G_TOPOLOGY) that say
// which subdevice of a capture device may hold its EDID. Drivers built
// around the media controller (a TC358743 behind the Pi 4's unicam in that
// mode, the Pi 5's CFE) leave the bridge's EDID to the bridge's own node,
// /dev/v4l-subdevN, and answer ENOTTY on the video node.
struct MediaGraph {
    struct Entity {
        uint32_t id = 0;
        uint32_t function = 0;  // MEDIA_ENT_F_*
    };
    struct Interface {
        uint32_t id = 0;
        uint32_t type = 0;  // MEDIA_INTF_T_*
        uint32_t major = 0;
        uint32_t minor = 0;
    };
    struct Link {
        uint32_t source = 0;  // for interface links, the interface
        uint32_t sink = 0;    // and the entity it controls
        uint32_t flags = 0;
    };
    std::vector<Entity> entities;
    std::vector<Interface> interfaces;
    std::vector<Link> links;
};

// Reads the graph of an open media device; nullopt when it cannot.
std::optional<MediaGraph> readMediaGraph(int mediaFd);

// The subdevice interfaces of `graph` that may take an EDID: those of HDMI
// receivers (video interface bridges, DV decoders) first, then the others.
std::vector<MediaGraph::Interface> edidCandidates(const MediaGraph &graph);

// "/dev/v4l-subdev2" for a character device number, from
// <sysfsRoot>/dev/char/MAJOR:MINOR/uevent; empty when sysfs does not know it.
std::string deviceNodeOf(uint32_t major, uint32_t minor, const std::string &sysfsRoot = "/sys");

// The subdevice nodes of the media device `videoNode` belongs to that may
// take its EDID, best first; empty without a media device.
std::vector<std::string> edidSubdevicesOf(const std::string &videoNode,
                                          const std::string &sysfsRoot = "/sys");

}  // namespace kvmvnc::capture
