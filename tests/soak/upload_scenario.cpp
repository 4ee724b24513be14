// SPDX-License-Identifier: GPL-2.0-or-later
// kill -9 in the middle of an upload, a restart on the same image folder,
// and a resume: the stored image must have the SHA-256 of what was sent,
// and until it is whole nothing may list it as an image or insert it.
#include <signal.h>
#include <stdlib.h>

#include <algorithm>
#include <array>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "kvmvnc/base/sha256.h"
#include "kvmvnc/control/protocol.h"
#include "kvmvnc/ctl/control_client.h"
#include "scenarios.h"
#include "soak_daemon.h"

namespace kvmvnc::soak {

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;
using control::Request;
using control::Status;
using Sha256 = Sha256Digest;

constexpr char kImageName[] = "soak.img";
constexpr double kMiB = 1 << 20;

// The image's bytes: a fixed pseudo-random stream (splitmix64 of each
// 8-byte word's index), made from any offset, the same in every run.
void fillImage(uint64_t offset, uint8_t *out, size_t size) {
    for (size_t i = 0; i < size;) {
        const uint64_t at = offset + i;
        uint64_t z = at / 8 + 0x9e3779b97f4a7c15ull;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        z ^= z >> 31;
        for (unsigned byte = at % 8; byte < 8 && i < size; ++byte, ++i)
            out[i] = static_cast<uint8_t>(z >> (8 * byte));
    }
}

Sha256 imageDigest(uint64_t size) {
    Sha256Hasher hasher;
    std::vector<uint8_t> buffer(4 << 20);
    for (uint64_t offset = 0; offset < size; offset += buffer.size()) {
        const size_t n = static_cast<size_t>(std::min<uint64_t>(buffer.size(), size - offset));
        fillImage(offset, buffer.data(), n);
        hasher.update({buffer.data(), n});
    }
    return hasher.finish();
}

std::optional<Sha256> fileDigest(const std::filesystem::path &path) {
    std::string error;
    return sha256File(path.string(), error);
}

struct Attempt {
    bool began = false;
    std::string refused;  // why UploadBegin or UploadFinish failed
    uint64_t resumeAt = 0;
    uint64_t sent = 0;       // bytes sent in this attempt
    uint64_t confirmed = 0;  // the highest confirmed count seen
    bool finished = false;
    double seconds = 0;
};

std::string statusText(const std::optional<control::Reply> &reply) {
    if (!reply)
        return "no reply (connection lost)";
    return std::string(control::statusName(reply->status)) +
           (reply->message.empty() ? "" : ": " + reply->message);
}

// One connection's worth of upload, as kvmvncctl does it (8 chunks in
// flight). With `killAt`, `kill` runs once that much is confirmed and the
// attempt ends there.
Attempt upload(ctl::ControlClient &client, uint64_t size, const Sha256 &digest,
               std::optional<uint64_t> killAt, const std::function<void()> &kill) {
    Attempt attempt;
    const Clock::time_point start = Clock::now();
    control::UploadBeginBody begin;
    begin.size = size;
    begin.sha256 = digest;
    begin.name = kImageName;
    const std::optional<control::Reply> reply =
        client.request(Request::UploadBegin, control::encode(begin));
    uint32_t id = 0;
    if (!reply || reply->status != Status::Ok) {
        attempt.refused = "UploadBegin: " + statusText(reply);
        return attempt;
    }
    control::ByteReader result(reply->result);
    if (!result.u32(id) || !result.u64(attempt.resumeAt) || attempt.resumeAt > size) {
        attempt.refused = "UploadBegin: an answer that makes no sense";
        return attempt;
    }
    attempt.began = true;
    const uint32_t chunkSize = std::min(client.hello().maxChunk, control::kMaxChunk);
    std::vector<uint8_t> data(chunkSize);
    std::deque<uint32_t> inFlight;
    auto settleOldest = [&]() {
        const std::optional<control::Reply> answer = client.waitForReply(inFlight.front());
        inFlight.pop_front();
        uint64_t confirmed = 0;
        if (!answer || answer->status != Status::Ok) {
            attempt.refused = "UploadChunk: " + statusText(answer);
            return false;
        }
        control::ByteReader reader(answer->result);
        if (reader.u64(confirmed))
            attempt.confirmed = std::max(attempt.confirmed, confirmed);
        return true;
    };
    for (uint64_t offset = attempt.resumeAt; offset < size;) {
        const auto length = static_cast<uint32_t>(std::min<uint64_t>(chunkSize, size - offset));
        fillImage(offset, data.data(), length);
        control::ByteWriter chunk;
        chunk.u32(id);
        chunk.u64(offset);
        chunk.raw(data.data(), length);
        const uint32_t requestId = client.send(Request::UploadChunk, chunk.bytes());
        if (requestId == 0) {
            attempt.refused = "UploadChunk: connection lost";
            return attempt;
        }
        inFlight.push_back(requestId);
        offset += length;
        attempt.sent += length;
        if (inFlight.size() >= 8 && !settleOldest())
            return attempt;
        if (killAt && attempt.confirmed >= *killAt) {
            attempt.seconds = std::chrono::duration<double>(Clock::now() - start).count();
            kill();
            return attempt;
        }
    }
    while (!inFlight.empty())
        if (!settleOldest())
            return attempt;
    control::ByteWriter finish;
    finish.u32(id);
    const std::optional<control::Reply> done =
        client.request(Request::UploadFinish, finish.bytes());
    attempt.finished = done && done->status == Status::Ok;
    if (!attempt.finished)
        attempt.refused = "UploadFinish: " + statusText(done);
    attempt.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    return attempt;
}

std::optional<control::ImageEntry> listed(ctl::ControlClient &client, bool &answered) {
    const std::optional<control::Reply> reply = client.request(Request::ImageList);
    std::optional<std::vector<control::ImageEntry>> images;
    if (reply && reply->status == Status::Ok)
        images = control::decodeImageList(reply->result);
    answered = images.has_value();
    if (images)
        for (const control::ImageEntry &image : *images)
            if (image.name == kImageName)
                return image;
    return std::nullopt;
}

}  // namespace

ScenarioReport runUpload(const Settings &settings) {
    const uint64_t size = settings.uploadBytes;
    ScenarioReport report(
        "upload", format("kill -9 during a %.0f MiB upload, restart on the same folder, resume",
                         static_cast<double>(size) / kMiB));
    char folder[] = "/tmp/kvmvnc-soak-images-XXXXXX";
    if (!::mkdtemp(folder)) {
        report.fail("cannot make an image folder");
        return report;
    }
    struct Cleanup {
        std::string path;
        ~Cleanup() { std::filesystem::remove_all(path); }
    } cleanup{folder};
    DaemonOptions options;
    options.name = "upload";
    options.storage = folder;
    const Sha256 digest = imageDigest(size);

    // The first daemon dies half way.
    Attempt first;
    {
        SoakDaemon daemon(settings, options);
        if (!daemon.start(report))
            return report;
        ctl::ControlClient client;
        if (!client.connect(daemon.controlOptions(30))) {
            report.fail("the control client could not connect: " + client.error());
            return report;
        }
        // An image the disk cannot hold is refused before a byte is sent.
        control::UploadBeginBody huge;
        huge.size = 1ull << 60;
        huge.name = "too-big.img";
        const std::optional<control::Reply> refused =
            client.request(Request::UploadBegin, control::encode(huge));
        const bool noSpace = refused && refused->status == Status::NoSpace;
        report.add("an upload of 1 EiB",
                   refused ? control::statusName(refused->status) : "no reply",
                   noSpace ? Verdict::Ok : Verdict::Note,
                   noSpace ? "" : "not refused for space at the start");

        first = upload(client, size, digest, size / 2, [&] { daemon.endWith(SIGKILL); });
        const int status = daemon.process().waitForExit(10s);
        report.add("before kill -9",
                   format("%.1f MiB sent, %.1f MiB confirmed, %.0f MiB/s",
                          static_cast<double>(first.sent) / kMiB,
                          static_cast<double>(first.confirmed) / kMiB,
                          static_cast<double>(first.sent) / kMiB / std::max(first.seconds, 1e-3)),
                   first.began ? Verdict::Info : Verdict::Fail, first.refused);
        if (status != -SIGKILL) {
            report.fail(format("kvmvncd was not killed (status %d)", status));
            return report;
        }
    }
    bool partialVisible = std::filesystem::exists(std::filesystem::path(folder) / kImageName);

    // A new one on the same folder.
    SoakDaemon daemon(settings, options);
    const Clock::time_point restart = Clock::now();
    if (!daemon.start(report))
        return report;
    report.add("restart until it accepts",
               format("%.2f s", std::chrono::duration<double>(Clock::now() - restart).count()));
    ctl::ControlClient client;
    if (!client.connect(daemon.controlOptions(30))) {
        report.fail("the control client could not connect: " + client.error());
        daemon.stopAndCheck(report);
        return report;
    }
    bool answered = false;
    const std::optional<control::ImageEntry> partial = listed(client, answered);
    partialVisible = partialVisible || (partial && !partial->incomplete);
    report.add("the partial image after the restart",
               !answered  ? "the list failed"
               : !partial ? "not listed"
                          : (partial->incomplete
                                 ? format("listed as an incomplete upload, %.1f MiB confirmed",
                                          static_cast<double>(partial->confirmed) / kMiB)
                                 : "listed as a complete image"),
               answered && !partialVisible ? Verdict::Ok : Verdict::Fail,
               partialVisible ? "a partial image is visible" : "");
    control::DriveInsertBody insert;
    insert.mode = 1;
    insert.name = kImageName;
    const std::optional<control::Reply> inserted =
        client.request(Request::DriveInsert, control::encode(insert));
    const bool insertRefused = inserted && inserted->status != Status::Ok;
    report.add("inserting the partial image", statusText(inserted),
               insertRefused ? Verdict::Ok : Verdict::Fail,
               insertRefused ? "" : "a partial image can be inserted");

    const Attempt second = upload(client, size, digest, std::nullopt, [] {});
    report.add("resumed at", format("%.1f MiB", static_cast<double>(second.resumeAt) / kMiB),
               second.resumeAt > 0 ? Verdict::Ok : Verdict::Note,
               second.resumeAt > 0 ? "" : "started over");
    report.add(
        "the rest of the upload",
        second.finished
            ? format("finished, %.1f MiB at %.0f MiB/s", static_cast<double>(second.sent) / kMiB,
                     static_cast<double>(second.sent) / kMiB / std::max(second.seconds, 1e-3))
            : second.refused,
        second.finished ? Verdict::Ok : Verdict::Fail);
    const std::optional<control::ImageEntry> whole = listed(client, answered);
    const bool listedWhole = whole && !whole->incomplete && whole->size == size;
    report.add("listed afterwards", listedWhole ? "complete, the declared size" : "not as a whole",
               listedWhole ? Verdict::Ok : Verdict::Fail);
    const std::optional<Sha256> stored = fileDigest(std::filesystem::path(folder) / kImageName);
    const bool equal = stored && *stored == digest;
    report.add("SHA-256 of the stored image", !stored ? "no file" : (equal ? "equal" : "differs"),
               equal ? Verdict::Ok : Verdict::Fail);

    report.json()
        .add("mib", static_cast<double>(size) / kMiB)
        .add("mib_sent_before_kill", static_cast<double>(first.sent) / kMiB)
        .add("mib_confirmed_before_kill", static_cast<double>(first.confirmed) / kMiB)
        .add("mib_resumed_at", static_cast<double>(second.resumeAt) / kMiB)
        .add("finished", second.finished)
        .add("partial_visible", partialVisible)
        .add("sha256_equal", equal);
    daemon.stopAndCheck(report);
    return report;
}

}  // namespace kvmvnc::soak
