// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/input/key_chord.h"

#include <gtest/gtest.h>

namespace kvmvnc::input {

namespace {

TEST(KeyChordTest, ParsesTheDefault) {
    EXPECT_EQ(parseKeyChord("alt_l,alt_l,p"), (std::vector<uint32_t>{0xffe9, 0xffe9, 'p'}));
    EXPECT_EQ(parseKeyChord(" Alt_L , alt_l, P "), (std::vector<uint32_t>{0xffe9, 0xffe9, 'p'}));
}

TEST(KeyChordTest, OffIsNoChord) {
    EXPECT_EQ(parseKeyChord("off"), std::vector<uint32_t>{});
    EXPECT_EQ(parseKeyChord("OFF"), std::vector<uint32_t>{});
}

TEST(KeyChordTest, NamesFunctionKeysAndDigits) {
    EXPECT_EQ(parseKeyChord("ctrl_r,f1,f12,0"),
              (std::vector<uint32_t>{0xffe4, 0xffbe, 0xffc9, '0'}));
}

TEST(KeyChordTest, RefusesWhatIsNoChord) {
    std::string problem;
    for (const char *bad : {"", "p", "alt_l,,p", "alt_l,hyper,p", "f13,p", "f0,p", "fx,p",
                            "a,b,c,d,e,f,g,h,i", "alt_l;p"}) {
        problem.clear();
        EXPECT_FALSE(parseKeyChord(bad, &problem)) << bad;
        EXPECT_FALSE(problem.empty()) << bad;
    }
}

}  // namespace

}  // namespace kvmvnc::input
