// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/capture/frame_mailbox.h"

#include <gtest/gtest.h>

#include <thread>

namespace kvmvnc::capture {

using std::chrono::milliseconds;

TEST(FrameMailboxTest, ConsumerGetsTheNewestFrame) {
    FrameMailbox mailbox;
    for (uint64_t i = 1; i <= 3; ++i) {
        auto frame = mailbox.acquire();
        frame->sequence = i;
        mailbox.publish(std::move(frame));
    }
    auto frame = mailbox.waitNext(milliseconds{10});
    ASSERT_TRUE(frame);
    EXPECT_EQ(frame->sequence, 3u);
    EXPECT_EQ(mailbox.replaced(), 2u);
    EXPECT_EQ(mailbox.waitNext(milliseconds{1}), nullptr);
}

// A frame the consumer never saw hands its damage to the one replacing it,
// so the damage the consumer gets holds against the frame it took last; one
// frame with unknown damage makes the merged damage unknown.
TEST(FrameMailboxTest, AReplacedFrameLeavesItsDamageToTheNext) {
    FrameMailbox mailbox;
    auto publish = [&](bool known, std::vector<Rect> damage) {
        auto frame = mailbox.acquire();
        frame->forgetDamage();
        frame->damageKnown = known;
        frame->damage = std::move(damage);
        mailbox.publish(std::move(frame));
    };
    publish(true, {{0, 0, 10, 10}});
    publish(true, {{0, 50, 10, 10}});
    publish(true, {{0, 90, 10, 10}});
    auto frame = mailbox.waitNext(milliseconds{10});
    ASSERT_TRUE(frame);
    EXPECT_TRUE(frame->damageKnown);
    EXPECT_EQ(frame->damage, (std::vector<Rect>{{0, 90, 10, 10}, {0, 50, 10, 10}, {0, 0, 10, 10}}));
    mailbox.recycle(std::move(frame));

    // Taken frames lend nothing: the next one keeps its own.
    publish(true, {{5, 5, 1, 1}});
    frame = mailbox.waitNext(milliseconds{10});
    ASSERT_TRUE(frame);
    EXPECT_EQ(frame->damage, (std::vector<Rect>{{5, 5, 1, 1}}));
    mailbox.recycle(std::move(frame));

    publish(true, {{0, 0, 10, 10}});
    publish(false, {});
    publish(true, {{0, 90, 10, 10}});
    frame = mailbox.waitNext(milliseconds{10});
    ASSERT_TRUE(frame);
    EXPECT_FALSE(frame->damageKnown);
    EXPECT_TRUE(frame->damage.empty());
    mailbox.recycle(std::move(frame));

    // A consumer that stalls for many frames gets them compared whole
    // rather than a list that grows without end.
    for (int i = 0; i <= static_cast<int>(Frame::kMaxDamage); ++i)
        publish(true, {{0, i, 10, 1}});
    frame = mailbox.waitNext(milliseconds{10});
    ASSERT_TRUE(frame);
    EXPECT_FALSE(frame->damageKnown);
}

TEST(FrameMailboxTest, RecycledFramesKeepTheirBuffers) {
    FrameMailbox mailbox;
    auto frame = mailbox.acquire();
    frame->allocate(64, 64);
    const uint8_t *buffer = frame->pixels.data();
    mailbox.publish(std::move(frame));
    mailbox.recycle(mailbox.waitNext(milliseconds{10}));
    auto again = mailbox.acquire();
    again->allocate(64, 64);
    EXPECT_EQ(again->pixels.data(), buffer);
}

TEST(FrameMailboxTest, CloseWakesAWaitingConsumer) {
    FrameMailbox mailbox;
    std::thread closer([&] {
        std::this_thread::sleep_for(milliseconds{20});
        mailbox.close();
    });
    auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(mailbox.waitNext(milliseconds{5000}), nullptr);
    EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds{4000});
    closer.join();
}

TEST(FrameMailboxTest, HandsFramesAcrossThreadsInOrder) {
    FrameMailbox mailbox;
    constexpr uint64_t kFrames = 2000;
    std::thread producer([&] {
        for (uint64_t i = 1; i <= kFrames; ++i) {
            auto frame = mailbox.acquire();
            frame->sequence = i;
            mailbox.publish(std::move(frame));
        }
    });
    uint64_t last = 0;
    while (last < kFrames) {
        auto frame = mailbox.waitNext(milliseconds{1000});
        ASSERT_TRUE(frame);
        EXPECT_GT(frame->sequence, last);  // never an older frame after a newer one
        last = frame->sequence;
        mailbox.recycle(std::move(frame));
    }
    producer.join();
}

}  // namespace kvmvnc::capture
