// SPDX-License-Identifier: GPL-2.0-or-later
// kvmvncctl msd: the virtual drive and the images it can hold.
#include <cinttypes>
#include <cstdio>
#include <string>

#include "kvmvnc/ctl/command_line.h"
#include "kvmvnc/ctl/command_support.h"
#include "kvmvnc/ctl/commands.h"
#include "kvmvnc/ctl/upload.h"

namespace kvmvnc::ctl {

using control::Request;

int msdCommand(const Options &options) {
    if (options.words.size() < 2)
        return usage("msd takes one of: status, list, upload, delete, insert, eject");
    const std::string &verb = options.words[1];
    if (verb == "upload")
        return uploadCommand(options);
    const bool takesName = verb == "delete" || verb == "insert";
    if (verb != "status" && verb != "list" && verb != "eject" && !takesName)
        return usage("unknown msd command '" + verb + "'");
    if (options.words.size() != (takesName ? 3u : 2u))
        return usage(takesName ? "msd " + verb + " takes an image name"
                               : "msd " + verb + " takes no arguments");
    ControlClient client;
    if (!connect(client, options))
        return kExitConnection;
    const std::string what = "msd " + verb;
    if (verb == "status") {
        auto reply = client.request(Request::DriveGetState);
        if (int status = check(client, reply, what.c_str()); status != kExitOk)
            return status;
        auto state = control::decodeDriveState(reply->result);
        if (!state)
            return check(client, std::nullopt, what.c_str());
        printDrive(*state);
        return kExitOk;
    }
    if (verb == "list") {
        auto reply = client.request(Request::ImageList);
        if (int status = check(client, reply, what.c_str()); status != kExitOk)
            return status;
        auto images = control::decodeImageList(reply->result);
        if (!images)
            return check(client, std::nullopt, what.c_str());
        for (const control::ImageEntry &image : *images) {
            if (image.incomplete)
                std::printf("%s\t%" PRIu64 "\tincomplete upload, %" PRIu64 " bytes confirmed\n",
                            image.name.c_str(), image.size, image.confirmed);
            else
                std::printf("%s\t%" PRIu64 "\n", image.name.c_str(), image.size);
        }
        return kExitOk;
    }
    if (verb == "eject")
        return check(client, client.request(Request::DriveEject), what.c_str());
    control::ByteWriter name;
    name.name(options.words[2]);
    if (options.words[2].size() > control::kMaxNameLength)
        return usage("image names are at most 255 bytes");
    if (verb == "delete")
        return check(client, client.request(Request::ImageDelete, name.bytes()), what.c_str());
    control::DriveInsertBody insert;
    insert.mode = options.cdrom ? 0 : 1;
    insert.writable = options.writable;
    insert.name = options.words[2];
    return check(client, client.request(Request::DriveInsert, control::encode(insert)),
                 what.c_str());
}

}  // namespace kvmvnc::ctl
