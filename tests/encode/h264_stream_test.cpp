// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/encode/h264_stream.h"

#include <gtest/gtest.h>

#include <chrono>
#include <vector>

namespace kvmvnc::encode {
namespace {

using namespace std::chrono_literals;
using Result = H264Stream::ReadResult;

constexpr Size kSize{64, 48};

// A stream whose clock the test moves.
struct StreamWithClock {
    explicit StreamWithClock(H264StreamOptions options = {})
        : stream(options, [this] { return now; }) {
        stream.restart(kSize);
    }
    H264Stream::Clock::time_point now{};
    H264Stream stream;
};

std::vector<uint8_t> unitBytes(size_t size, uint8_t tag) { return std::vector<uint8_t>(size, tag); }

std::vector<uint64_t> sequences(const H264Stream::Batch &batch) {
    std::vector<uint64_t> out;
    for (const auto &unit : batch.units)
        out.push_back(unit->sequence);
    return out;
}

TEST(H264Stream, AReaderInStepGetsEveryUnitOnceInOrder) {
    StreamWithClock s;
    H264Stream::Cursor cursor;
    H264Stream::Batch batch;
    EXPECT_EQ(s.stream.publish(unitBytes(10, 1), true), 1u);
    ASSERT_EQ(s.stream.read(cursor, batch), Result::Units);
    EXPECT_TRUE(batch.resetContext) << "the first batch starts the viewer's decoder";
    EXPECT_EQ(sequences(batch), (std::vector<uint64_t>{1}));
    EXPECT_EQ(batch.size, kSize);
    EXPECT_EQ(s.stream.read(cursor, batch), Result::Nothing);

    s.stream.publish(unitBytes(10, 2), false);
    s.stream.publish(unitBytes(10, 3), false);
    ASSERT_EQ(s.stream.read(cursor, batch), Result::Units);
    EXPECT_FALSE(batch.resetContext);
    EXPECT_EQ(sequences(batch), (std::vector<uint64_t>{2, 3}));
    EXPECT_EQ(batch.units[1]->bytes.front(), 3);
    EXPECT_EQ(s.stream.read(cursor, batch), Result::Nothing);
}

TEST(H264Stream, ANewReaderJoinsAtTheNewestIdrWithoutAskingForOne) {
    StreamWithClock s;
    s.stream.publish(unitBytes(10, 1), true);
    s.stream.publish(unitBytes(10, 2), false);
    s.stream.publish(unitBytes(10, 3), true);
    s.stream.publish(unitBytes(10, 4), false);
    H264Stream::Cursor cursor;
    H264Stream::Batch batch;
    ASSERT_EQ(s.stream.read(cursor, batch), Result::Units);
    EXPECT_TRUE(batch.resetContext);
    EXPECT_EQ(sequences(batch), (std::vector<uint64_t>{3, 4}));
    EXPECT_TRUE(batch.units.front()->idr);
    EXPECT_EQ(s.stream.idrsRequested(), 0u);
}

TEST(H264Stream, AReaderWithNoIdrToJoinAtAsksForOneAndWaits) {
    H264StreamOptions options;
    options.maxUnits = 3;
    StreamWithClock s(options);
    for (int i = 0; i < 5; ++i)
        s.stream.publish(unitBytes(10, 1), i == 0);  // the IDR has left the ring
    H264Stream::Cursor cursor;
    H264Stream::Batch batch;
    s.now += 2s;
    EXPECT_FALSE(s.stream.takeIdrRequest()) << "nobody asked yet";
    ASSERT_EQ(s.stream.read(cursor, batch), Result::WaitingForIdr);
    EXPECT_TRUE(batch.units.empty());
    EXPECT_EQ(s.stream.idrsRequested(), 1u);
    EXPECT_TRUE(s.stream.takeIdrRequest());
    EXPECT_FALSE(s.stream.takeIdrRequest()) << "one request, one IDR";
    EXPECT_EQ(s.stream.read(cursor, batch), Result::WaitingForIdr);
    const uint64_t idr = s.stream.publish(unitBytes(10, 9), true);
    ASSERT_EQ(s.stream.read(cursor, batch), Result::Units);
    EXPECT_TRUE(batch.resetContext);
    EXPECT_EQ(sequences(batch), (std::vector<uint64_t>{idr}));
}

TEST(H264Stream, IdrRequestsAreRateLimitedAndOneIdrServesAllWaiting) {
    StreamWithClock s;
    ASSERT_TRUE(s.stream.takeIdrRequest()) << "a new context starts with an IDR";
    s.stream.publish(unitBytes(10, 1), true);
    EXPECT_FALSE(s.stream.takeIdrRequest());

    s.now += 100ms;
    s.stream.requestIdr();
    s.stream.requestIdr();  // a second viewer: the same request
    EXPECT_FALSE(s.stream.takeIdrRequest()) << "100 ms after the last IDR";
    s.now += 850ms;
    EXPECT_FALSE(s.stream.takeIdrRequest()) << "950 ms after the last IDR";
    s.now += 50ms;
    EXPECT_TRUE(s.stream.takeIdrRequest()) << "a second after the last IDR";
    s.stream.publish(unitBytes(10, 2), true);
    EXPECT_FALSE(s.stream.takeIdrRequest());
    EXPECT_EQ(s.stream.idrsRequested(), 1u);
    EXPECT_EQ(s.stream.idrsGranted(), 1u);

    // An IDR the encoder made on its own (its keyframe interval) answers a
    // request too.
    s.stream.requestIdr();
    s.stream.publish(unitBytes(10, 3), true);
    s.now += 5s;
    EXPECT_FALSE(s.stream.takeIdrRequest());
}

TEST(H264Stream, AReaderThatFellBehindSkipsToTheNextIdr) {
    H264StreamOptions options;
    options.maxUnits = 4;
    StreamWithClock s(options);
    H264Stream::Cursor slow;
    H264Stream::Cursor fast;
    H264Stream::Batch batch;
    s.stream.publish(unitBytes(10, 1), true);
    ASSERT_EQ(s.stream.read(slow, batch), Result::Units);
    ASSERT_EQ(s.stream.read(fast, batch), Result::Units);
    for (int i = 0; i < 6; ++i) {
        s.stream.publish(unitBytes(10, 2), false);
        ASSERT_EQ(s.stream.read(fast, batch), Result::Units) << "the producer never waits";
    }
    s.now += 2s;
    EXPECT_EQ(s.stream.read(slow, batch), Result::WaitingForIdr)
        << "units 2 and 3 are gone: what follows cannot be decoded";
    ASSERT_TRUE(s.stream.takeIdrRequest());
    const uint64_t idr = s.stream.publish(unitBytes(10, 3), true);
    const uint64_t after = s.stream.publish(unitBytes(10, 4), false);
    ASSERT_EQ(s.stream.read(slow, batch), Result::Units);
    EXPECT_TRUE(batch.resetContext);
    EXPECT_EQ(sequences(batch), (std::vector<uint64_t>{idr, after}));
    ASSERT_EQ(s.stream.read(fast, batch), Result::Units);
    EXPECT_FALSE(batch.resetContext) << "the reader in step goes on without a reset";
    EXPECT_EQ(sequences(batch), (std::vector<uint64_t>{idr, after}));
}

TEST(H264Stream, ARejoiningReaderIsNotHandedMoreThanHalfTheRing) {
    H264StreamOptions options;
    options.maxBytes = 1000;
    StreamWithClock s(options);
    s.stream.publish(unitBytes(100, 1), true);
    for (int i = 0; i < 6; ++i)
        s.stream.publish(unitBytes(100, 2), false);  // 600 bytes after the IDR
    H264Stream::Cursor cursor;
    H264Stream::Batch batch;
    EXPECT_EQ(s.stream.read(cursor, batch), Result::WaitingForIdr);
    EXPECT_EQ(s.stream.idrsRequested(), 1u);
}

TEST(H264Stream, TheRingIsBoundedByBytesButKeepsTheNewestUnit) {
    H264StreamOptions options;
    options.maxBytes = 100;
    StreamWithClock s(options);
    s.stream.publish(unitBytes(60, 1), true);
    s.stream.publish(unitBytes(60, 2), false);  // 120 bytes: the IDR goes
    H264Stream::Cursor cursor;
    H264Stream::Batch batch;
    EXPECT_EQ(s.stream.read(cursor, batch), Result::WaitingForIdr);
    const uint64_t large = s.stream.publish(unitBytes(500, 3), true);  // larger than the ring
    ASSERT_EQ(s.stream.read(cursor, batch), Result::Units) << "kept, alone";
    EXPECT_EQ(sequences(batch), (std::vector<uint64_t>{large}));
    H264StreamOptions roomy;
    roomy.maxBytes = 100;
    roomy.maxUnits = 2;
    StreamWithClock t(roomy);
    t.stream.publish(unitBytes(10, 1), true);
    t.stream.publish(unitBytes(10, 2), false);
    t.stream.publish(unitBytes(10, 3), false);
    H264Stream::Cursor other;
    EXPECT_EQ(t.stream.read(other, batch), Result::WaitingForIdr) << "bounded by units too";
}

TEST(H264Stream, ARestartStartsANewContextFromItsIdr) {
    StreamWithClock s;
    H264Stream::Cursor cursor;
    H264Stream::Batch batch;
    s.stream.publish(unitBytes(10, 1), true);
    ASSERT_EQ(s.stream.read(cursor, batch), Result::Units);
    const Size larger{128, 96};
    s.stream.restart(larger);
    EXPECT_EQ(s.stream.read(cursor, batch), Result::WaitingForIdr);
    EXPECT_EQ(s.stream.publish(unitBytes(10, 2), false), 0u)
        << "a P picture before the context's first IDR decodes nowhere";
    EXPECT_TRUE(s.stream.takeIdrRequest());
    const uint64_t idr = s.stream.publish(unitBytes(10, 3), true);
    ASSERT_NE(idr, 0u);
    ASSERT_EQ(s.stream.read(cursor, batch), Result::Units);
    EXPECT_TRUE(batch.resetContext);
    EXPECT_EQ(batch.size, larger);
    EXPECT_EQ(batch.units.front()->size, larger);
    EXPECT_EQ(sequences(batch), (std::vector<uint64_t>{idr}));
}

TEST(H264Stream, WithoutAContextNothingIsPublishedOrRead) {
    StreamWithClock s;
    s.stream.restart({});
    H264Stream::Cursor cursor;
    H264Stream::Batch batch;
    EXPECT_EQ(s.stream.publish(unitBytes(10, 1), true), 0u);
    EXPECT_FALSE(s.stream.takeIdrRequest());
    EXPECT_EQ(s.stream.read(cursor, batch), Result::Unavailable);
}

}  // namespace
}  // namespace kvmvnc::encode
