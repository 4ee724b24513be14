// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/input/chord_filter.h"

#include <gtest/gtest.h>

#include "kvmvnc/input/key_chord.h"

namespace kvmvnc::input {

namespace {

constexpr uint32_t kAltL = 0xffe9;
constexpr uint32_t kCtrlL = 0xffe3;
constexpr uint32_t kShiftL = 0xffe1;

ViewerKey down(uint32_t keysym) { return {true, keysym, 0, false}; }
ViewerKey up(uint32_t keysym) { return {false, keysym, 0, false}; }

class ChordFilterTest : public testing::Test {
protected:
    // Feeds `events`; what reached the target, and how often the chord fired.
    std::vector<ViewerKey> feed(std::initializer_list<ViewerKey> events) {
        std::vector<ViewerKey> passed;
        for (const ViewerKey &event : events) {
            ChordFilter::Result result = filter.key(event);
            passed.insert(passed.end(), result.pass.begin(), result.pass.end());
            fired += result.triggered ? 1 : 0;
        }
        return passed;
    }

    ChordFilter filter{*parseKeyChord("alt_l,alt_l,p")};
    int fired = 0;
};

TEST_F(ChordFilterTest, TheChordFiresAndNoneOfItsKeysPass) {
    EXPECT_TRUE(feed({down(kAltL), up(kAltL), down(kAltL), up(kAltL), down('p')}).empty());
    EXPECT_EQ(fired, 1);
    // P's auto-repeat and release are the chord's too; what follows passes.
    EXPECT_TRUE(feed({down('p'), up('p')}).empty());
    EXPECT_EQ(feed({down('q'), up('q')}), (std::vector{down('q'), up('q')}));
    EXPECT_EQ(fired, 1);
}

TEST_F(ChordFilterTest, ShiftedPAlsoEndsIt) {
    EXPECT_TRUE(feed({down(kAltL), up(kAltL), down(kAltL), up(kAltL), down('P'), up('p')}).empty());
    EXPECT_EQ(fired, 1);
}

TEST_F(ChordFilterTest, OtherKeysPassAtOnce) {
    EXPECT_EQ(feed({down('a'), up('a'), down('p')}), (std::vector{down('a'), up('a'), down('p')}));
    EXPECT_EQ(fired, 0);
}

TEST_F(ChordFilterTest, AnAltTapIsHeldUntilTheNextKeyThenPassesInOrder) {
    EXPECT_TRUE(feed({down(kAltL), up(kAltL)}).empty());
    EXPECT_TRUE(filter.holding());
    EXPECT_EQ(feed({down('x')}), (std::vector{down(kAltL), up(kAltL), down('x')}));
    EXPECT_FALSE(filter.holding());
    EXPECT_EQ(fired, 0);
}

TEST_F(ChordFilterTest, AltHeldWithAnotherKeyIsAShortcutNotTheChord) {
    EXPECT_EQ(feed({down(kAltL), down('\t'), up('\t'), up(kAltL)}),
              (std::vector{down(kAltL), down('\t'), up('\t'), up(kAltL)}));
    EXPECT_EQ(fired, 0);
}

TEST_F(ChordFilterTest, AltTappedOnceThenPIsNotTheChord) {
    EXPECT_EQ(feed({down(kAltL), up(kAltL), down('p'), up('p')}),
              (std::vector{down(kAltL), up(kAltL), down('p'), up('p')}));
    EXPECT_EQ(fired, 0);
}

TEST_F(ChordFilterTest, ThreeAltTapsThenPFireAfterTheFirstTapPasses) {
    EXPECT_EQ(feed({down(kAltL), up(kAltL), down(kAltL), up(kAltL), down(kAltL), up(kAltL),
                    down('p'), up('p')}),
              (std::vector{down(kAltL), up(kAltL)}));
    EXPECT_EQ(fired, 1);
}

TEST_F(ChordFilterTest, FlushReleasesWhatIsHeldAndStartsOver) {
    feed({down(kAltL), up(kAltL), down(kAltL)});
    EXPECT_EQ(filter.flush(), (std::vector{down(kAltL), up(kAltL), down(kAltL)}));
    EXPECT_FALSE(filter.holding());
    // The Alt still down is the target's now: its release passes, and P is P.
    EXPECT_EQ(feed({up(kAltL), down('p')}), (std::vector{up(kAltL), down('p')}));
    EXPECT_EQ(fired, 0);
}

TEST_F(ChordFilterTest, ExtendedKeyEventsKeepTheirKeycodes) {
    const ViewerKey altDown{true, kAltL, 0x38, true};
    const ViewerKey altUp{false, kAltL, 0x38, true};
    const ViewerKey aDown{true, 'a', 0x1e, true};
    EXPECT_EQ(feed({altDown, altUp, aDown}), (std::vector{altDown, altUp, aDown}));
    const ViewerKey pDown{true, 'p', 0x19, true};
    EXPECT_TRUE(feed({altDown, altUp, altDown, altUp, pDown}).empty());
    EXPECT_EQ(fired, 1);
}

TEST_F(ChordFilterTest, TheChordFiresAgainEachTime) {
    for (int i = 0; i < 3; ++i)
        EXPECT_TRUE(
            feed({down(kAltL), up(kAltL), down(kAltL), up(kAltL), down('p'), up('p')}).empty());
    EXPECT_EQ(fired, 3);
}

TEST(ChordFilterOffTest, NoChordPassesEverything) {
    ChordFilter filter;
    for (const ViewerKey &event : {down(kAltL), up(kAltL), down(kAltL), up(kAltL), down('p')}) {
        ChordFilter::Result result = filter.key(event);
        EXPECT_EQ(result.pass, std::vector{event});
        EXPECT_FALSE(result.triggered);
    }
}

TEST(ChordFilterOtherChordTest, ModifiersOnlyChord) {
    ChordFilter filter(*parseKeyChord("ctrl_l,shift_l,f12"));
    int fired = 0;
    std::vector<ViewerKey> passed;
    for (const ViewerKey &event :
         {down(kCtrlL), up(kCtrlL), down(kShiftL), up(kShiftL), down(0xffc9), up(0xffc9)}) {
        ChordFilter::Result result = filter.key(event);
        passed.insert(passed.end(), result.pass.begin(), result.pass.end());
        fired += result.triggered;
    }
    EXPECT_TRUE(passed.empty());
    EXPECT_EQ(fired, 1);
}

}  // namespace

}  // namespace kvmvnc::input
