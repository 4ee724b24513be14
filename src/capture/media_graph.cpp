// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/capture/media_graph.h"

#include <fcntl.h>
#include <linux/media.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <filesystem>
#include <fstream>

#include "kvmvnc/base/unique_fd.h"
#include "kvmvnc/capture/v4l2_device.h"

namespace kvmvnc::capture {

namespace {

bool isHdmiReceiver(uint32_t function) {
    return function == MEDIA_ENT_F_VID_IF_BRIDGE || function == MEDIA_ENT_F_DV_DECODER;
}

std::string charDevice(const std::string &sysfsRoot, dev_t device) {
    return sysfsRoot + "/dev/char/" + std::to_string(major(device)) + ":" +
           std::to_string(minor(device));
}

}  // namespace

std::optional<MediaGraph> readMediaGraph(int mediaFd) {
    media_v2_topology topology{};
    if (xioctl(mediaFd, MEDIA_IOC_G_TOPOLOGY, &topology) < 0)
        return std::nullopt;
    // The graph may grow between the call that counts and the one that
    // fills (ENOSPC): count again.
    for (int attempt = 0; attempt < 4; ++attempt) {
        std::vector<media_v2_entity> entities(topology.num_entities);
        std::vector<media_v2_interface> interfaces(topology.num_interfaces);
        std::vector<media_v2_link> links(topology.num_links);
        topology.ptr_entities = reinterpret_cast<uintptr_t>(entities.data());
        topology.ptr_interfaces = reinterpret_cast<uintptr_t>(interfaces.data());
        topology.ptr_links = reinterpret_cast<uintptr_t>(links.data());
        topology.ptr_pads = 0;
        const int ret = xioctl(mediaFd, MEDIA_IOC_G_TOPOLOGY, &topology);
        if (ret == -ENOSPC)
            continue;
        if (ret < 0)
            return std::nullopt;
        MediaGraph graph;
        for (size_t i = 0; i < std::min<size_t>(topology.num_entities, entities.size()); ++i)
            graph.entities.push_back({entities[i].id, entities[i].function});
        for (size_t i = 0; i < std::min<size_t>(topology.num_interfaces, interfaces.size()); ++i)
            graph.interfaces.push_back({interfaces[i].id, interfaces[i].intf_type,
                                        interfaces[i].devnode.major, interfaces[i].devnode.minor});
        for (size_t i = 0; i < std::min<size_t>(topology.num_links, links.size()); ++i)
            graph.links.push_back({links[i].source_id, links[i].sink_id, links[i].flags});
        return graph;
    }
    return std::nullopt;
}

std::vector<MediaGraph::Interface> edidCandidates(const MediaGraph &graph) {
    auto receiver = [&](const MediaGraph::Interface &interface) {
        for (const MediaGraph::Link &link : graph.links) {
            if ((link.flags & MEDIA_LNK_FL_LINK_TYPE) != MEDIA_LNK_FL_INTERFACE_LINK ||
                link.source != interface.id)
                continue;
            for (const MediaGraph::Entity &entity : graph.entities)
                if (entity.id == link.sink && isHdmiReceiver(entity.function))
                    return true;
        }
        return false;
    };
    std::vector<MediaGraph::Interface> candidates;
    for (const MediaGraph::Interface &interface : graph.interfaces)
        if (interface.type == MEDIA_INTF_T_V4L_SUBDEV)
            candidates.push_back(interface);
    std::stable_partition(candidates.begin(), candidates.end(), receiver);
    return candidates;
}

std::string deviceNodeOf(uint32_t major, uint32_t minor, const std::string &sysfsRoot) {
    std::ifstream uevent(charDevice(sysfsRoot, makedev(major, minor)) + "/uevent");
    std::string line;
    while (std::getline(uevent, line)) {
        if (line.starts_with("DEVNAME=") && line.size() > 8)
            return "/dev/" + line.substr(8);
    }
    return {};
}

std::vector<std::string> edidSubdevicesOf(const std::string &videoNode,
                                          const std::string &sysfsRoot) {
    struct stat status {};
    if (::stat(videoNode.c_str(), &status) != 0 || !S_ISCHR(status.st_mode))
        return {};
    // The media device is a child of the video node's parent device, as
    // v4l-utils finds it (media-info.cpp).
    std::string mediaNode;
    std::error_code error;
    for (const auto &entry : std::filesystem::directory_iterator(
             charDevice(sysfsRoot, status.st_rdev) + "/device", error)) {
        const std::string name = entry.path().filename().string();
        if (name.size() > 5 && name.starts_with("media") &&
            std::all_of(name.begin() + 5, name.end(),
                        [](unsigned char c) { return std::isdigit(c) != 0; })) {
            mediaNode = "/dev/" + name;
            break;
        }
    }
    if (mediaNode.empty())
        return {};
    UniqueFd media(::open(mediaNode.c_str(), O_RDONLY | O_CLOEXEC));
    if (!media.isValid())
        return {};
    std::optional<MediaGraph> graph = readMediaGraph(media.get());
    if (!graph)
        return {};
    std::vector<std::string> nodes;
    for (const MediaGraph::Interface &interface : edidCandidates(*graph)) {
        std::string node = deviceNodeOf(interface.major, interface.minor, sysfsRoot);
        if (!node.empty())
            nodes.push_back(std::move(node));
    }
    return nodes;
}

}  // namespace kvmvnc::capture
