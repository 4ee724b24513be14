// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/encode/h264_encoder_thread.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <vector>

#include "fake_h264_encoder.h"
#include "wait_until.h"

namespace kvmvnc::encode {
namespace {

using namespace std::chrono_literals;
using kvmvnc::testing::waitUntil;
using testing::FakeH264Encoder;
using Result = H264Stream::ReadResult;

// A picture of `size` whose every byte is `value`, with padding after each
// row (stride) that must not reach the encoder.
struct Picture {
    Picture(Size s, uint8_t value)
        : size(s), stride(s.width * 4 + 8), pixels(static_cast<size_t>(stride) * s.height, value) {}
    Size size;
    int stride;
    std::vector<uint8_t> pixels;
};

struct Fixture {
    explicit Fixture(H264StreamOptions options = {}, const H264Options &encoding = {})
        : stream(options) {
        auto owned = std::make_unique<FakeH264Encoder>();
        encoder = owned.get();
        thread = std::make_unique<H264EncoderThread>(std::move(owned), encoding, stream,
                                                     [this](uint64_t sequence) {
                                                         last.store(sequence);
                                                         published.fetch_add(1);
                                                     });
    }
    void submit(Size size, uint8_t value) {
        Picture picture(size, value);
        thread->submit(picture.pixels.data(), picture.stride, size);
    }
    bool waitEncoded(uint64_t count) {
        return waitUntil([&] { return thread->stats().encoded >= count; }, 5s);
    }

    H264Stream stream;
    FakeH264Encoder *encoder = nullptr;  // owned by the thread
    std::atomic<uint64_t> last{0};
    std::atomic<uint64_t> published{0};
    std::unique_ptr<H264EncoderThread> thread;
};

TEST(H264EncoderThread, EncodesEachPictureOnceAndPublishesIt) {
    Fixture f;
    f.thread->start();
    H264Stream::Cursor viewerA;
    H264Stream::Cursor viewerB;
    H264Stream::Batch batch;
    f.submit({32, 16}, 7);
    ASSERT_TRUE(f.waitEncoded(1));
    f.submit({32, 16}, 8);
    ASSERT_TRUE(f.waitEncoded(2));
    EXPECT_EQ(f.published.load(), 2u) << "the callback runs once a unit";
    EXPECT_EQ(f.last.load(), f.stream.lastSequence());
    for (H264Stream::Cursor *cursor : {&viewerA, &viewerB}) {
        ASSERT_EQ(f.stream.read(*cursor, batch), Result::Units);
        ASSERT_EQ(batch.units.size(), 2u) << "both viewers read the same two units";
        EXPECT_TRUE(batch.units[0]->idr);
        EXPECT_FALSE(batch.units[1]->idr);
        EXPECT_EQ(batch.units[1]->bytes[5], 8) << "the picture's own bytes";
    }
    f.encoder->inspect([](FakeH264Encoder &e) {
        EXPECT_EQ(e.configured, (std::vector<Size>{{32, 16}}));
        EXPECT_EQ(e.firstBytes.size(), 2u) << "two pictures, two encodes, for two viewers";
    });
}

TEST(H264EncoderThread, APictureNotYetEncodedIsReplacedByANewerOne) {
    Fixture f;
    f.thread->start();
    f.encoder->setHold(true);
    f.submit({32, 16}, 1);
    f.encoder->waitEntered();  // picture 1 is being encoded
    f.submit({32, 16}, 2);
    f.submit({32, 16}, 3);  // replaces 2
    f.encoder->setHold(false);
    ASSERT_TRUE(f.waitEncoded(2));
    EXPECT_FALSE(waitUntil([&] { return f.thread->stats().encoded > 2; }, 200ms));
    f.encoder->inspect([](FakeH264Encoder &e) {
        EXPECT_EQ(e.firstBytes, (std::vector<uint8_t>{1, 3})) << "the newest, never a backlog";
    });
    const H264EncoderStats stats = f.thread->stats();
    EXPECT_EQ(stats.submitted, 3u);
    EXPECT_EQ(stats.replaced, 1u);
}

// [h264] max_fps: within one period the newest picture waits, replacing
// the one before, and is encoded when the period ends.
TEST(H264EncoderThread, EncodesNoMorePicturesASecondThanMaxFps) {
    H264Options slow;
    slow.maxFps = 4;  // a picture every 250 ms
    Fixture f({}, slow);
    f.thread->start();
    // Picture 1 is taken after this instant, so picture 2 not before 250 ms
    // after it: a bound that holds however loaded the machine is.
    const auto before = std::chrono::steady_clock::now();
    f.submit({32, 16}, 1);
    ASSERT_TRUE(f.waitEncoded(1));
    f.submit({32, 16}, 2);
    f.submit({32, 16}, 3);  // replaces 2 while it waits
    ASSERT_TRUE(f.waitEncoded(2));
    EXPECT_GE(std::chrono::steady_clock::now() - before, 250ms) << "not before the period ends";
    f.encoder->inspect([](FakeH264Encoder &e) {
        EXPECT_EQ(e.firstBytes, (std::vector<uint8_t>{1, 3})) << "the newest picture";
    });
}

TEST(H264EncoderThread, ANewSizeReconfiguresAndRestartsTheStream) {
    Fixture f;
    f.thread->start();
    H264Stream::Cursor cursor;
    H264Stream::Batch batch;
    f.submit({32, 16}, 1);
    ASSERT_TRUE(f.waitEncoded(1));
    ASSERT_EQ(f.stream.read(cursor, batch), Result::Units);
    f.submit({48, 32}, 2);
    ASSERT_TRUE(f.waitEncoded(2));
    ASSERT_EQ(f.stream.read(cursor, batch), Result::Units);
    EXPECT_TRUE(batch.resetContext) << "a new context: the viewer's decoder starts again";
    EXPECT_EQ(batch.size, (Size{48, 32}));
    ASSERT_EQ(batch.units.size(), 1u);
    EXPECT_TRUE(batch.units[0]->idr);
    f.encoder->inspect([](FakeH264Encoder &e) {
        EXPECT_EQ(e.configured, (std::vector<Size>{{32, 16}, {48, 32}}));
    });
}

TEST(H264EncoderThread, ASizeTheEncoderRefusesLeavesNoStreamUntilTheNextSize) {
    Fixture f;
    f.encoder->refusedWidth = 4000;  // before the thread starts
    f.thread->start();
    H264Stream::Cursor cursor;
    H264Stream::Batch batch;
    f.submit({4000, 16}, 1);
    ASSERT_TRUE(waitUntil([&] { return f.thread->stats().failed == 1; }, 5s));
    EXPECT_EQ(f.stream.read(cursor, batch), Result::Unavailable);
    f.submit({4000, 16}, 2);
    f.submit({32, 16}, 3);
    ASSERT_TRUE(f.waitEncoded(1));
    ASSERT_EQ(f.stream.read(cursor, batch), Result::Units);
    EXPECT_EQ(batch.size, (Size{32, 16}));
    EXPECT_EQ(f.thread->stats().failed, 1u) << "a refused size is not tried at every picture";
    f.submit({4000, 16}, 4);
    EXPECT_EQ(f.thread->stats().refused, 1u) << "nor even copied for the thread";
}

TEST(H264EncoderThread, AViewersIdrRequestReachesTheEncoder) {
    H264StreamOptions options;
    options.minIdrInterval = 0ms;
    Fixture f(options);
    f.thread->start();
    f.submit({32, 16}, 1);
    ASSERT_TRUE(f.waitEncoded(1));
    f.submit({32, 16}, 2);
    ASSERT_TRUE(f.waitEncoded(2));
    f.stream.requestIdr();
    f.submit({32, 16}, 3);
    ASSERT_TRUE(f.waitEncoded(3));
    f.encoder->inspect([](FakeH264Encoder &e) {
        EXPECT_EQ(e.forced, (std::vector<bool>{true, false, true}));
    });
    H264Stream::Cursor cursor;
    H264Stream::Batch batch;
    ASSERT_EQ(f.stream.read(cursor, batch), Result::Units);
    ASSERT_EQ(batch.units.size(), 1u) << "a new viewer joins at the newest IDR";
    EXPECT_EQ(batch.units[0]->bytes[5], 3);
}

TEST(H264EncoderThread, AFailedEncodePublishesNothingAndTheNextPictureIsAnIdr) {
    Fixture f;
    f.thread->start();
    f.submit({32, 16}, 1);
    ASSERT_TRUE(f.waitEncoded(1));
    f.encoder->inspect([](FakeH264Encoder &e) { e.failNext = true; });
    f.submit({32, 16}, 2);
    ASSERT_TRUE(waitUntil([&] { return f.thread->stats().failed == 1; }, 5s));
    f.submit({32, 16}, 3);
    ASSERT_TRUE(f.waitEncoded(2));
    EXPECT_EQ(f.stream.lastSequence(), 2u) << "the failed picture took no number";
    H264Stream::Cursor cursor;
    H264Stream::Batch batch;
    ASSERT_EQ(f.stream.read(cursor, batch), Result::Units);
    ASSERT_EQ(batch.units.size(), 1u);
    EXPECT_TRUE(batch.units[0]->idr);
    EXPECT_EQ(batch.units[0]->bytes[5], 3);
}

// An encoder that keeps failing must not leave viewers waiting on a stream
// that stopped: the size is given up, the stream becomes unavailable (they
// go back to pixels), and only another size is tried again.
TEST(H264EncoderThread, FailuresInARowGiveUpTheSize) {
    Fixture f;
    f.thread->start();
    f.submit({32, 16}, 1);
    ASSERT_TRUE(f.waitEncoded(1));
    H264Stream::Cursor cursor;
    H264Stream::Batch batch;
    ASSERT_EQ(f.stream.read(cursor, batch), Result::Units);
    f.encoder->inspect([](FakeH264Encoder &e) { e.failAlways = true; });
    for (uint64_t i = 1; i < H264EncoderThread::kFailuresToGiveUp; ++i) {
        f.submit({32, 16}, 2);
        ASSERT_TRUE(waitUntil([&] { return f.thread->stats().failed == i; }, 5s));
        EXPECT_NE(f.stream.read(cursor, batch), Result::Unavailable) << "one failure is not enough";
    }
    f.submit({32, 16}, 2);
    ASSERT_TRUE(waitUntil([&] { return f.stream.read(cursor, batch) == Result::Unavailable; }, 5s));
    f.submit({32, 16}, 3);
    EXPECT_EQ(f.thread->stats().refused, 1u);

    f.encoder->inspect([](FakeH264Encoder &e) { e.failAlways = false; });
    f.submit({48, 16}, 4);
    ASSERT_TRUE(f.waitEncoded(2)) << "another size is tried again";
    ASSERT_EQ(f.stream.read(cursor, batch), Result::Units);
    EXPECT_EQ(batch.size, (Size{48, 16}));
}

TEST(H264EncoderThread, StopsWhileWaitingForAPicture) {
    Fixture f;
    f.thread->start();
    const auto begin = std::chrono::steady_clock::now();
    f.thread->stop();
    EXPECT_LT(std::chrono::steady_clock::now() - begin, 1s);
}

}  // namespace
}  // namespace kvmvnc::encode
