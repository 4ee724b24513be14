// SPDX-License-Identifier: GPL-2.0-or-later
// kvmvncctl msd upload against a server played by hand: what it declares,
// the chunks it sends from where the server says, a dropped connection
// resumed, and the answers that end it.
#include "kvmvnc/ctl/upload.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "fake_server.h"
#include "kvmvnc/base/sha256.h"
#include "kvmvnc/control/protocol.h"
#include "kvmvnc/ctl/command_support.h"
#include "kvmvnc/ctl/commands.h"
#include "run_ctl.h"

namespace kvmvnc::ctl {
namespace {

using control::Request;
using control::Status;
using testing::FakeRequest;
using testing::readRequest;
using testing::sendReply;

constexpr uint32_t kUploadId = 7;
constexpr uint32_t kChunk = 1000;  // the server's maxChunk: many chunks from a small file

std::vector<uint8_t> uploadStarted(uint64_t offset) {
    control::ByteWriter result;
    result.u32(kUploadId);
    result.u64(offset);
    return result.bytes();
}

class UploadTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = ::testing::TempDir() + "/kvmvnc-upload-" + std::to_string(::getpid());
        std::filesystem::create_directories(dir_);
        image_ = dir_ + "/image.iso";
        bytes_.resize(10000);
        for (size_t i = 0; i < bytes_.size(); ++i)
            bytes_[i] = static_cast<char>(i * 7 + i / 251);
        std::ofstream(image_, std::ios::binary) << bytes_;
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    // The handshake and hello, then UploadBegin, checked and answered with
    // `offset` (or refused with `status`).
    bool begin(int fd, uint64_t offset, Status status = Status::Ok) {
        control::Hello hello;
        hello.maxChunk = kChunk;
        if (!testing::greetWithoutPassword(fd) ||
            !testing::sendAll(fd, testing::helloMessage(hello)))
            return false;
        const std::optional<FakeRequest> request = readRequest(fd);
        if (!request || request->opcode != Request::UploadBegin)
            return false;
        begun_ = control::decodeUploadBegin(request->payload);
        if (status != Status::Ok)
            return sendReply(fd, request->id, status, {}, "no room for it");
        return sendReply(fd, request->id, Status::Ok, uploadStarted(offset));
    }

    // Chunks, checked against the file and confirmed, from `offset` on until
    // `until` bytes; then, when that is the end, UploadFinish. False when
    // anything arrives out of place.
    bool serveChunks(int fd, uint64_t offset, uint64_t until) {
        while (offset < until) {
            const std::optional<FakeRequest> request = readRequest(fd);
            if (!request || request->opcode != Request::UploadChunk)
                return false;
            control::ByteReader chunk(request->payload);
            uint32_t id = 0;
            uint64_t at = 0;
            if (!chunk.u32(id) || !chunk.u64(at) || id != kUploadId || at != offset)
                return false;
            const std::string data(request->payload.begin() + 12, request->payload.end());
            if (data.empty() || data.size() > kChunk || data != bytes_.substr(at, data.size()))
                return false;
            offset += data.size();
            chunksReceived_ += 1;
            if (!sendReply(fd, request->id, Status::Ok))
                return false;
        }
        if (until < bytes_.size())
            return true;
        const std::optional<FakeRequest> finish = readRequest(fd);
        return finish && finish->opcode == Request::UploadFinish &&
               sendReply(fd, finish->id, Status::Ok);
    }

    testing::CtlRun upload(int port, std::vector<std::string> extra = {}) {
        std::vector<std::string> words = {"--host", "127.0.0.1:" + std::to_string(port), "msd",
                                          "upload", image_};
        words.insert(words.end(), extra.begin(), extra.end());
        return testing::runCtl(words);
    }

    std::string dir_;
    std::string image_;
    std::string bytes_;
    std::optional<control::UploadBeginBody> begun_;
    int chunksReceived_ = 0;
};

TEST_F(UploadTest, DeclaresTheImageAndSendsItFromWhereTheServerSays) {
    bool served = false;
    testing::CtlRun run;
    {
        testing::FakeServer server([&](int fd) {
            served = begin(fd, 4000) && serveChunks(fd, 4000, bytes_.size());
            if (served)
                testing::waitForClose(fd);
        });
        run = upload(server.port(), {"--name", "disk.img"});
    }  // the server's thread has ended
    EXPECT_TRUE(served);
    EXPECT_EQ(run.status, kExitOk) << run.err;
    EXPECT_EQ(run.out, "uploaded disk.img (9.8 KiB)\n");
    EXPECT_EQ(run.err, "kvmvncctl: resuming disk.img at 3.9 KiB\n");
    ASSERT_TRUE(begun_);
    EXPECT_EQ(begun_->name, "disk.img");
    EXPECT_EQ(begun_->size, bytes_.size());
    EXPECT_EQ(begun_->sha256, sha256(bytes_));
    EXPECT_EQ(chunksReceived_, 6);
}

TEST_F(UploadTest, ALostConnectionIsResumedWhereTheServerConfirmed) {
    bool served = false;
    testing::CtlRun run;
    {
        testing::FakeServer server(
            [&](int fd, int connection) {
                if (connection == 0) {
                    // Two chunks confirmed, then the connection drops.
                    if (begin(fd, 0) && serveChunks(fd, 0, 2 * kChunk))
                        ::shutdown(fd, SHUT_RDWR);
                    return;
                }
                served = begin(fd, 2 * kChunk) && serveChunks(fd, 2 * kChunk, bytes_.size());
                if (served)
                    testing::waitForClose(fd);
            },
            2);
        run = upload(server.port());
    }
    EXPECT_TRUE(served);
    EXPECT_EQ(run.status, kExitOk) << run.err;
    EXPECT_EQ(run.out, "uploaded image.iso (9.8 KiB)\n");
    EXPECT_NE(run.err.find("kvmvncctl: connection lost, retrying\n"), std::string::npos) << run.err;
    EXPECT_NE(run.err.find("kvmvncctl: resuming image.iso at 2.0 KiB\n"), std::string::npos)
        << run.err;
    EXPECT_EQ(chunksReceived_, 10);
}

TEST_F(UploadTest, ARefusalEndsIt) {
    testing::FakeServer server([&](int fd) {
        begin(fd, 0, Status::NoSpace);
        testing::waitForClose(fd);
    });
    const testing::CtlRun run = upload(server.port());
    EXPECT_EQ(run.status, kExitRefused);
    EXPECT_EQ(run.err, std::string("kvmvncctl: upload: no room for it (") +
                           control::statusName(Status::NoSpace) + ")\n");
    EXPECT_EQ(run.out, "");
}

TEST_F(UploadTest, AResumePointPastTheEndIsRefused) {
    testing::FakeServer server([&](int fd) {
        begin(fd, bytes_.size() + 1);
        testing::waitForClose(fd);
    });
    const testing::CtlRun run = upload(server.port());
    EXPECT_EQ(run.status, kExitRefused);
    EXPECT_EQ(run.err, "kvmvncctl: upload: the server's answer makes no sense\n");
    EXPECT_EQ(chunksReceived_, 0);
}

TEST_F(UploadTest, AFileThatIsNotThereIsALocalError) {
    const testing::CtlRun run =
        testing::runCtl({"--host", "127.0.0.1:1", "msd", "upload", dir_ + "/missing.iso"});
    EXPECT_EQ(run.status, kExitUsage);
    EXPECT_EQ(run.err, "kvmvncctl: " + dir_ + "/missing.iso: No such file or directory\n");
}

TEST(ProgressLineTest, BarPercentageRateAndTimeLeft) {
    EXPECT_EQ(progressLine(1000, 0, 500, 1.0),
              "[###############...............]  50%  500 B/s  ETA 0:01 ");
    // Resumed at half: the rate counts what this attempt sent.
    EXPECT_EQ(progressLine(1 << 20, 1 << 19, 3 << 18, 2.0),
              "[######################........]  75%  128.0 KiB/s  ETA 0:02 ");
    EXPECT_EQ(progressLine(0, 0, 0, 0), "[##############################] 100%  0 B/s  ETA 0:00 ");
    EXPECT_EQ(progressLine(6000ull << 20, 0, 60ull << 20, 1.0),
              "[..............................]   1%  60.0 MiB/s  ETA 1:39 ");
}

TEST(SizeTextTest, PicksTheUnit) {
    EXPECT_EQ(sizeText(0), "0 B");
    EXPECT_EQ(sizeText(1023), "1023 B");
    EXPECT_EQ(sizeText(1024), "1.0 KiB");
    EXPECT_EQ(sizeText(3ull << 20), "3.0 MiB");
    EXPECT_EQ(sizeText(5ull << 30), "5.0 GiB");
}

}  // namespace
}  // namespace kvmvnc::ctl
