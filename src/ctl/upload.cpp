// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/ctl/upload.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <optional>
#include <thread>
#include <vector>

#include "kvmvnc/base/sha256.h"
#include "kvmvnc/ctl/command_line.h"
#include "kvmvnc/ctl/command_support.h"
#include "kvmvnc/ctl/commands.h"

namespace kvmvnc::ctl {

namespace {

using control::Request;

// A progress line on a terminal: bar, percentage, rate and time left.
class ProgressBar {
public:
    explicit ProgressBar(uint64_t total)
        : total_(total),
          enabled_(::isatty(STDERR_FILENO) == 1),
          start_(std::chrono::steady_clock::now()) {}
    void restart(uint64_t from) {
        base_ = from;
        start_ = std::chrono::steady_clock::now();
    }
    void show(uint64_t done) {
        if (!enabled_)
            return;
        const auto now = std::chrono::steady_clock::now();
        if (done < total_ && now - lastShown_ < std::chrono::milliseconds{200})
            return;
        lastShown_ = now;
        const double seconds = std::chrono::duration<double>(now - start_).count();
        std::fprintf(stderr, "\r%s", progressLine(total_, base_, done, seconds).c_str());
        std::fflush(stderr);
    }
    void finish() {
        if (enabled_)
            std::fputc('\n', stderr);
    }

private:
    uint64_t total_;
    uint64_t base_ = 0;
    bool enabled_;
    std::chrono::steady_clock::time_point start_;
    std::chrono::steady_clock::time_point lastShown_{};
};

enum class Attempt { Done, Refused, ConnectionLost, LocalError };

// One connection's worth of upload: begin (or resume), chunks with a window
// of requests in flight, finish.
Attempt uploadOnce(const Options &options, const std::string &path, const std::string &name,
                   uint64_t size, const Sha256Digest &digest, ProgressBar &progress) {
    ControlClient client;
    if (!client.connect(options.connect)) {
        std::fprintf(stderr, "kvmvncctl: %s\n", client.error().c_str());
        return Attempt::ConnectionLost;
    }
    control::UploadBeginBody begin;
    begin.size = size;
    begin.sha256 = digest;
    begin.name = name;
    auto reply = client.request(Request::UploadBegin, control::encode(begin));
    if (!reply)
        return Attempt::ConnectionLost;
    if (check(client, reply, "upload") != kExitOk)
        return Attempt::Refused;
    control::ByteReader result(reply->result);
    uint32_t id = 0;
    uint64_t offset = 0;
    if (!result.u32(id) || !result.u64(offset) || offset > size) {
        std::fprintf(stderr, "kvmvncctl: upload: the server's answer makes no sense\n");
        return Attempt::Refused;
    }
    if (offset > 0)
        std::fprintf(stderr, "kvmvncctl: resuming %s at %s\n", name.c_str(),
                     sizeText(offset).c_str());
    progress.restart(offset);

    std::ifstream file(path, std::ios::binary);
    file.seekg(static_cast<std::streamoff>(offset));
    if (!file) {
        std::fprintf(stderr, "kvmvncctl: %s: cannot read\n", path.c_str());
        return Attempt::LocalError;
    }
    const uint32_t chunkSize = std::min(client.hello().maxChunk, control::kMaxChunk);
    constexpr size_t kWindow = 8;
    std::deque<uint32_t> inFlight;
    std::vector<char> buffer(chunkSize);
    auto settleOldest = [&]() -> Attempt {
        auto answer = client.waitForReply(inFlight.front());
        inFlight.pop_front();
        if (!answer)
            return Attempt::ConnectionLost;
        if (check(client, answer, "upload") != kExitOk)
            return Attempt::Refused;
        return Attempt::Done;
    };
    while (offset < size) {
        const auto length = static_cast<uint32_t>(std::min<uint64_t>(chunkSize, size - offset));
        file.read(buffer.data(), length);
        if (static_cast<uint32_t>(file.gcount()) != length) {
            std::fprintf(stderr, "kvmvncctl: %s: changed while uploading\n", path.c_str());
            return Attempt::LocalError;
        }
        control::ByteWriter chunk;
        chunk.u32(id);
        chunk.u64(offset);
        chunk.raw(buffer.data(), length);
        const uint32_t requestId = client.send(Request::UploadChunk, chunk.bytes());
        if (requestId == 0)
            return Attempt::ConnectionLost;
        inFlight.push_back(requestId);
        offset += length;
        if (inFlight.size() >= kWindow) {
            if (Attempt attempt = settleOldest(); attempt != Attempt::Done)
                return attempt;
        }
        progress.show(offset);
    }
    while (!inFlight.empty()) {
        if (Attempt attempt = settleOldest(); attempt != Attempt::Done)
            return attempt;
    }
    control::ByteWriter finish;
    finish.u32(id);
    reply = client.request(Request::UploadFinish, finish.bytes());
    if (!reply)
        return Attempt::ConnectionLost;
    return check(client, reply, "upload") == kExitOk ? Attempt::Done : Attempt::Refused;
}

}  // namespace

std::string progressLine(uint64_t total, uint64_t base, uint64_t done, double seconds) {
    const double rate = seconds > 0 ? static_cast<double>(done - base) / seconds : 0;
    const double fraction = total ? static_cast<double>(done) / total : 1.0;
    constexpr int kWidth = 30;
    std::string bar(static_cast<size_t>(fraction * kWidth), '#');
    bar.resize(kWidth, '.');
    long eta = rate > 0 ? static_cast<long>(static_cast<double>(total - done) / rate) : 0;
    char text[128];
    std::snprintf(text, sizeof(text), "[%s] %3d%%  %s/s  ETA %ld:%02ld ", bar.c_str(),
                  static_cast<int>(fraction * 100), sizeText(static_cast<uint64_t>(rate)).c_str(),
                  eta / 60, eta % 60);
    return text;
}

int uploadCommand(const Options &options) {
    if (options.words.size() != 3)
        return usage("msd upload takes a file");
    const std::string path = options.words[2];
    std::error_code error;
    const uint64_t size = std::filesystem::file_size(path, error);
    if (error) {
        std::fprintf(stderr, "kvmvncctl: %s: %s\n", path.c_str(), error.message().c_str());
        return kExitUsage;
    }
    const std::string name = options.uploadName.empty()
                                 ? std::filesystem::path(path).filename().string()
                                 : options.uploadName;
    std::string problem;
    const std::optional<Sha256Digest> digest = sha256File(path, problem);
    if (!digest) {
        std::fprintf(stderr, "kvmvncctl: %s\n", problem.c_str());
        return kExitUsage;
    }
    ProgressBar progress(size);
    // A dropped connection is resumed where the server's confirmed data ends.
    constexpr int kAttempts = 5;
    for (int attempt = 1; attempt <= kAttempts; ++attempt) {
        switch (uploadOnce(options, path, name, size, *digest, progress)) {
        case Attempt::Done:
            progress.finish();
            std::printf("uploaded %s (%s)\n", name.c_str(), sizeText(size).c_str());
            return kExitOk;
        case Attempt::Refused:
            progress.finish();
            return kExitRefused;
        case Attempt::LocalError:
            progress.finish();
            return kExitUsage;
        case Attempt::ConnectionLost:
            if (attempt < kAttempts) {
                std::fprintf(stderr, "\nkvmvncctl: connection lost, retrying\n");
                std::this_thread::sleep_for(std::chrono::seconds{attempt});
            }
            break;
        }
    }
    progress.finish();
    std::fprintf(stderr, "kvmvncctl: upload: gave up after %d connection failures\n", kAttempts);
    return kExitConnection;
}

}  // namespace kvmvnc::ctl
