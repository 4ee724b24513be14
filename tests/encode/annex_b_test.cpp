// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/encode/annex_b.h"

#include <gtest/gtest.h>

#include <vector>

namespace kvmvnc::encode {
namespace {

TEST(AnnexB, SplitsOnThreeAndFourByteStartCodes) {
    const std::vector<uint8_t> stream = {
        0xff,                                            // before any start code: not a unit
        0,    0, 0, 1,    0x67, 0x42, 0xc0, 0x1f, 0x8c,  // SPS, 4-byte start code
        0,    0, 1, 0x68, 0xce,                          // PPS, 3-byte start code
        0,    0, 0, 1,    0x65, 0x88, 0x84,              // IDR slice
        0,    0, 1, 0x41, 0x9a,                          // non-IDR slice
    };
    const std::vector<NalUnit> units = splitAnnexB(stream.data(), stream.size());
    ASSERT_EQ(units.size(), 4u);
    EXPECT_EQ(units[0].type, static_cast<uint8_t>(NalType::Sps));
    EXPECT_EQ(units[0].offset, 5u);
    EXPECT_EQ(units[0].size, 5u);  // the zero of the next 4-byte code is not in it
    EXPECT_EQ(units[1].type, static_cast<uint8_t>(NalType::Pps));
    EXPECT_EQ(units[1].size, 2u);
    EXPECT_EQ(units[2].type, static_cast<uint8_t>(NalType::IdrSlice));
    EXPECT_EQ(units[2].size, 3u);
    EXPECT_EQ(units[3].type, static_cast<uint8_t>(NalType::Slice));
    EXPECT_EQ(units[3].offset, stream.size() - 2);
    EXPECT_EQ(units[3].size, 2u);

    SpsHeader sps;
    ASSERT_TRUE(readSpsHeader(stream.data(), units[0], sps));
    EXPECT_EQ(sps.profileIdc, 66);
    EXPECT_TRUE(sps.constraintSet(0));
    EXPECT_TRUE(sps.constraintSet(1));
    EXPECT_FALSE(sps.constraintSet(2));
    EXPECT_EQ(sps.levelIdc, 31);
    EXPECT_FALSE(readSpsHeader(stream.data(), units[1], sps));
}

TEST(AnnexB, NothingWithoutAStartCode) {
    const std::vector<uint8_t> stream = {0x67, 0x42, 0, 0, 2};
    EXPECT_TRUE(splitAnnexB(stream.data(), stream.size()).empty());
    EXPECT_TRUE(splitAnnexB(nullptr, 0).empty());
}

}  // namespace
}  // namespace kvmvnc::encode
