// SPDX-License-Identifier: GPL-2.0-or-later
// kvmvnc_msd_probe: the mass-storage stage driven by hand in the lab guest,
// on the kernel's real configfs LUN and a real file system.
//
//   kvmvnc_msd_probe lun LUN_DIR insert IMAGE flash|cdrom [ro]
//   kvmvnc_msd_probe lun LUN_DIR eject
//   kvmvnc_msd_probe lun LUN_DIR state
//   kvmvnc_msd_probe store DIR upload NAME SOURCE   (in 256 KiB chunks)
//   kvmvnc_msd_probe store DIR list
//
// Prints "ok" or "error=<kind> message=<text>" (exit status 1), and for
// `state` and `list` one line each. The stage's log goes to stderr.
#include <openssl/evp.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "kvmvnc/msd/configfs_drive.h"
#include "kvmvnc/msd/image_store.h"

namespace {

using namespace kvmvnc::msd;

int report(const StoreResult &result) {
    if (result) {
        std::printf("ok\n");
        return 0;
    }
    std::printf("error=%s message=%s\n", storeErrorName(result.error), result.message.c_str());
    return 1;
}

int usage() {
    std::fprintf(stderr,
                 "usage: kvmvnc_msd_probe lun DIR insert IMAGE flash|cdrom [ro] | lun DIR eject |"
                 " lun DIR state | store DIR upload NAME SOURCE | store DIR list\n");
    return 2;
}

int lun(const std::vector<std::string> &args) {
    ConfigfsDrive drive(args[0]);
    const std::string &verb = args[1];
    if (verb == "insert" && args.size() >= 4) {
        const DriveMode mode = args[3] == "cdrom" ? DriveMode::CdRom : DriveMode::Flash;
        const bool readOnly = args.size() > 4 && args[4] == "ro";
        const std::filesystem::path image = args[2];
        return report(drive.insert(image, image.filename().string(), mode, readOnly));
    }
    if (verb == "eject")
        return report(drive.eject());
    if (verb == "state") {
        const DriveState state = drive.state();
        std::printf("inserted=%d image=%s size=%llu mode=%s ro=%d problem=%s\n", state.inserted,
                    state.image.c_str(), static_cast<unsigned long long>(state.size),
                    state.mode == DriveMode::CdRom ? "cdrom" : "flash", state.readOnly,
                    state.problem.c_str());
        return 0;
    }
    return usage();
}

int store(const std::vector<std::string> &args) {
    // The guest's image store is a 64 MiB tmpfs: the daemon's default
    // reserve (64 MiB) would leave no room for the 1 MiB test image.
    ImageStore images(args[0], StoreLimits{.freeSpaceReserve = 1u << 20});
    if (args[1] == "list") {
        for (const ImageInfo &image : images.list())
            std::printf("%s %llu\n", image.name.c_str(),
                        static_cast<unsigned long long>(image.size));
        return 0;
    }
    if (args[1] != "upload" || args.size() != 4)
        return usage();
    const std::string &name = args[2];
    std::ifstream source(args[3], std::ios::binary);
    const std::vector<uint8_t> bytes{std::istreambuf_iterator<char>(source),
                                     std::istreambuf_iterator<char>()};
    Sha256 sha256{};
    unsigned int length = 0;
    EVP_Digest(bytes.data(), bytes.size(), sha256.data(), &length, EVP_sha256(), nullptr);
    constexpr uint64_t kOwner = 1;
    uint64_t at = 0, confirmed = 0;
    if (StoreResult result = images.beginUpload(kOwner, name, bytes.size(), sha256, at); !result)
        return report(result);
    constexpr size_t kChunk = 256 * 1024;
    while (at < bytes.size()) {
        const size_t size = std::min<size_t>(kChunk, bytes.size() - at);
        if (StoreResult result =
                images.writeUpload(kOwner, name, at, bytes.data() + at, size, confirmed);
            !result)
            return report(result);
        at += size;
    }
    return report(images.finishUpload(kOwner, name));
}

}  // namespace

int main(int argc, char **argv) {
    const std::vector<std::string> args(argv + 1, argv + argc);
    if (args.size() < 3)
        return usage();
    const std::vector<std::string> rest(args.begin() + 1, args.end());
    try {
        if (args[0] == "lun")
            return lun(rest);
        if (args[0] == "store")
            return store(rest);
    } catch (const std::exception &error) {
        std::printf("error=exception message=%s\n", error.what());
        return 1;
    }
    return usage();
}
