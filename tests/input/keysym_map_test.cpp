// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/input/keysym_map.h"

#include <gtest/gtest.h>

#include <stdexcept>

#include "kvmvnc/input/hid_usage.h"

namespace kvmvnc::input {

namespace {
constexpr uint8_t kShift = modifier::kLeftShift;
constexpr uint8_t kAltGr = modifier::kAltGr;

KeysymMap layout(const std::string &name) {
    return KeysymMap::forLayout(name, {KVMVNC_KEYMAPS_BUILD_DIR});
}
}  // namespace

struct LayoutCase {
    const char *layout;
    uint32_t keysym;
    KeyStroke stroke;
    const char *what;
};

class KeysymMapLayoutTest : public testing::TestWithParam<LayoutCase> {};

// What a person sees on that layout's keyboard.
TEST_P(KeysymMapLayoutTest, TypesTheCharacterAsOnThatKeyboard) {
    const LayoutCase &c = GetParam();
    auto stroke = layout(c.layout).lookup(c.keysym);
    ASSERT_TRUE(stroke) << c.layout << ": " << c.what;
    EXPECT_EQ(stroke->usage, c.stroke.usage) << c.layout << ": " << c.what;
    EXPECT_EQ(stroke->modifiers, c.stroke.modifiers) << c.layout << ": " << c.what;
}

INSTANTIATE_TEST_SUITE_P(
    Layouts, KeysymMapLayoutTest,
    testing::Values(LayoutCase{"us", 'a', {0x04, 0}, "a"},
                    LayoutCase{"us", 'A', {0x04, kShift}, "A"},
                    LayoutCase{"us", ':', {0x33, kShift}, "colon"},
                    LayoutCase{"us", '@', {0x1f, kShift}, "at"},
                    LayoutCase{"us", '\\', {0x31, 0}, "backslash"},
                    LayoutCase{"de", 'z', {0x1c, 0}, "z on the Y key"},
                    LayoutCase{"de", 'y', {0x1d, 0}, "y on the Z key"},
                    LayoutCase{"de", ':', {0x37, kShift}, "colon is Shift+period"},
                    LayoutCase{"de", '@', {0x14, kAltGr}, "at is AltGr+Q"},
                    LayoutCase{"de", '|', {0x64, kAltGr}, "bar on the 102nd key"},
                    LayoutCase{"de", 0xdf, {0x2d, 0}, "sharp s"},
                    LayoutCase{"de", 0x20ac, {0x08, kAltGr}, "euro is AltGr+E"},
                    LayoutCase{"de", 0xfe52, {0x35, 0}, "dead circumflex (a dead key)"},
                    LayoutCase{"de", 0xfe51, {0x2e, 0}, "dead acute (a dead key)"},
                    LayoutCase{"de(nodeadkeys)", '^', {0x35, 0}, "circumflex without dead keys"},
                    LayoutCase{"fr", 'a', {0x14, 0}, "a on the Q key"},
                    LayoutCase{"fr", 'q', {0x04, 0}, "q on the A key"},
                    LayoutCase{"fr", '1', {0x1e, kShift}, "digits need Shift"},
                    LayoutCase{"fr", 0xe9, {0x1f, 0}, "e acute on the 2 key"},
                    LayoutCase{"fr", '@', {0x27, kAltGr}, "at is AltGr+0"},
                    LayoutCase{"ru", 0x6c1, {0x09, 0}, "Cyrillic a on the F key"},
                    LayoutCase{"ru", 0x01000430, {0x09, 0}, "Cyrillic a as a Unicode keysym"},
                    LayoutCase{"ru", 0x6c6, {0x04, 0}, "Cyrillic ef on the A key"},
                    LayoutCase{"ru", 0x6e1, {0x09, kShift}, "capital Cyrillic A"}),
    [](const testing::TestParamInfo<LayoutCase> &param) {
        std::string name = param.param.layout;
        for (char &c : name)
            if (!std::isalnum(static_cast<unsigned char>(c)))
                c = '_';
        return name + "_" + std::to_string(param.index);
    });

TEST(KeysymMapTest, SpecialKeysAreTheSameOnEveryLayout) {
    for (const char *name : {"us", "de", "fr", "ru"}) {
        KeysymMap map = layout(name);
        EXPECT_EQ(map.lookup(0xff0d), (KeyStroke{0x28, 0})) << name << " Return";
        EXPECT_EQ(map.lookup(0xffe1), (KeyStroke{0xe1, 0})) << name << " Shift_L";
        EXPECT_EQ(map.lookup(0xffbf), (KeyStroke{0x3b, 0})) << name << " F2";
    }
}

TEST(KeysymMapTest, CharactersALayoutCannotTypeAreNotGuessed) {
    EXPECT_FALSE(layout("us").lookup(0xe9));        // é on a US keyboard
    EXPECT_FALSE(layout("us").lookup(0x01004e2d));  // a CJK character
}

TEST(KeysymMapTest, InverseGivesTheKeysymOfAKey) {
    KeysymMap de = layout("de");
    EXPECT_EQ(de.keysymFor({0x1c, 0}), uint32_t{'z'});
    EXPECT_EQ(de.keysymFor({0x14, kAltGr}), uint32_t{'@'});
}

TEST(KeysymMapTest, CharactersBecomeTheKeysymsViewersSend) {
    EXPECT_EQ(KeysymMap::keysymForCharacter(U'a'), 0x61u);
    EXPECT_EQ(KeysymMap::keysymForCharacter(U'é'), 0xe9u);
    EXPECT_EQ(KeysymMap::keysymForCharacter(U'€'), 0x010020acu);
    EXPECT_EQ(KeysymMap::keysymForCharacter(U'\n'), 0xff0du);
    EXPECT_EQ(KeysymMap::characterForKeysym(0x010020ac), U'€');
    EXPECT_EQ(KeysymMap::characterForKeysym(0xff0d), 0u);
}

TEST(KeysymMapTest, MalformedTablesAndMissingLayoutsAreClearErrors) {
    EXPECT_THROW(KeysymMap::fromText("0x61 0x04\n", "bad"), std::runtime_error);
    EXPECT_THROW(KeysymMap::fromText("0x61 0x104 0x00\n", "bad"), std::runtime_error);
    EXPECT_THROW(KeysymMap::fromText("# only a comment\n", "empty"), std::runtime_error);
    try {
        KeysymMap::fromText("0x61 0x04 0x00\nnonsense\n", "table.kmap");
        FAIL();
    } catch (const std::runtime_error &error) {
        EXPECT_STREQ(error.what(), "table.kmap:2: expected 'keysym usage modifiers' in hex");
    }
    EXPECT_THROW(layout("klingon"), std::runtime_error);
    EXPECT_THROW(layout("../us"), std::runtime_error);
    EXPECT_THROW(layout("de/../us"), std::runtime_error);
}

TEST(KeysymMapTest, EveryGeneratedTableLoads) {
    // Spot-check breadth: the generator covers xkb's layouts and variants.
    for (const char *name :
         {"gb", "es", "it", "se", "jp", "br", "us(dvorak)", "ch(fr)", "ua", "il", "gr"}) {
        try {
            EXPECT_GT(layout(name).size(), 40u) << name;
        } catch (const std::runtime_error &error) {
            ADD_FAILURE() << error.what();
        }
    }
}

}  // namespace kvmvnc::input
