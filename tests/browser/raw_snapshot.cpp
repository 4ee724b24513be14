// SPDX-License-Identifier: GPL-2.0-or-later
// kvmvnc_raw_snapshot: the daemon's framebuffer, exactly, as a binary PPM.
// It connects as one more viewer (VeNCrypt with a user; the password from
// KVMVNC_PASSWORD) that lists Raw only, so nothing lossy stands between the
// framebuffer and the file: the reference the browser tests hold a lossy
// picture (H.264 in the panel) against.
//
//   kvmvnc_raw_snapshot HOST PORT USER CA_FILE OUT.ppm
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "test_viewer.h"

using namespace std::chrono_literals;

int main(int argc, char **argv) {
    if (argc != 6) {
        std::fprintf(stderr, "usage: %s HOST PORT USER CA_FILE OUT.ppm\n", argv[0]);
        return 2;
    }
    const char *password = std::getenv("KVMVNC_PASSWORD");
    kvmvnc::testing::ViewerOptions options;
    options.host = argv[1];
    options.port = std::atoi(argv[2]);
    options.user = argv[3];
    options.caFile = argv[4];
    if (password)
        options.password = password;
    options.encodings = "raw";
    options.readTimeoutSeconds = 10;
    kvmvnc::testing::TestViewer viewer(options);
    if (!viewer.connect()) {
        std::fprintf(stderr, "kvmvnc_raw_snapshot: %s\n", viewer.lastError().c_str());
        return 1;
    }
    // The first request is for the whole screen; its answer may come in
    // several updates. Done when rectangles covering as many pixels as the
    // screen arrived; then a little longer for anything already on its way.
    const auto screenPixels = [&] {
        const kvmvnc::Size size = viewer.size();
        return static_cast<uint64_t>(size.width) * static_cast<uint64_t>(size.height);
    };
    if (!viewer.pumpUntil([&] { return viewer.pixels() >= screenPixels(); }, 10s)) {
        std::fprintf(stderr, "kvmvnc_raw_snapshot: no whole picture within 10 s (%s)\n",
                     viewer.isConnected() ? "connected" : viewer.lastError().c_str());
        return 1;
    }
    viewer.pump(200ms);
    if (!viewer.savePicture(argv[5])) {
        std::fprintf(stderr, "kvmvnc_raw_snapshot: cannot write %s\n", argv[5]);
        return 1;
    }
    return 0;
}
