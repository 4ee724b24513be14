// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/input/hid_usage.h"

#include <gtest/gtest.h>

namespace kvmvnc::input {

struct XtCase {
    uint32_t keycode;
    uint8_t usage;
    const char *key;
};

class XtKeycodeTest : public testing::TestWithParam<XtCase> {};

TEST_P(XtKeycodeTest, MapsToTheSameKeyOnUsb) {
    auto result = usageForXtKeycode(GetParam().keycode);
    ASSERT_TRUE(result) << GetParam().key;
    EXPECT_EQ(*result, GetParam().usage) << GetParam().key;
}

// As QEMU, TigerVNC and noVNC send them: 0xE0-prefixed keys with 0x80 added.
INSTANTIATE_TEST_SUITE_P(
    Keys, XtKeycodeTest,
    testing::Values(XtCase{0x01, 0x29, "Escape"}, XtCase{0x1e, 0x04, "A"}, XtCase{0x10, 0x14, "Q"},
                    XtCase{0x02, 0x1e, "1"}, XtCase{0x0b, 0x27, "0"}, XtCase{0x1c, 0x28, "Enter"},
                    XtCase{0x39, 0x2c, "Space"}, XtCase{0x3b, 0x3a, "F1"},
                    XtCase{0x58, 0x45, "F12"}, XtCase{0x1d, 0xe0, "Left Control"},
                    XtCase{0x9d, 0xe4, "Right Control"}, XtCase{0x38, 0xe2, "Left Alt"},
                    XtCase{0xb8, 0xe6, "AltGr"}, XtCase{0xdb, 0xe3, "Left Windows"},
                    XtCase{0xdc, 0xe7, "Right Windows"}, XtCase{0xdd, 0x65, "Menu"},
                    XtCase{0xd3, 0x4c, "Delete"}, XtCase{0xc8, 0x52, "Up"},
                    XtCase{0xcb, 0x50, "Left"}, XtCase{0x9c, 0x58, "keypad Enter"},
                    XtCase{0x4f, 0x59, "keypad 1"}, XtCase{0xc6, 0x48, "Pause"},
                    XtCase{0xb7, 0x46, "Print Screen"}, XtCase{0x56, 0x64, "102nd key (< > |)"},
                    XtCase{0x73, 0x87, "Ro"}),
    [](const testing::TestParamInfo<XtCase> &param) {
        std::string name;
        for (const char *c = param.param.key; *c; ++c)
            if (std::isalnum(static_cast<unsigned char>(*c)))
                name += *c;
        return name;
    });

TEST(HidUsageTest, UnknownKeycodesHaveNoUsage) {
    EXPECT_FALSE(usageForXtKeycode(0));
    EXPECT_FALSE(usageForXtKeycode(0x7f));
    EXPECT_FALSE(usageForXtKeycode(0x1234));
}

TEST(HidUsageTest, SpecialKeysymsAreLayoutIndependent) {
    EXPECT_EQ(usageForSpecialKeysym(0xff0d), 0x28);  // Return
    EXPECT_EQ(usageForSpecialKeysym(0xffbe), 0x3a);  // F1
    EXPECT_EQ(usageForSpecialKeysym(0xffc9), 0x45);  // F12
    EXPECT_EQ(usageForSpecialKeysym(0xffca), 0x68);  // F13
    EXPECT_EQ(usageForSpecialKeysym(0xffe1), 0xe1);  // Shift_L
    EXPECT_EQ(usageForSpecialKeysym(0xfe03), 0xe6);  // ISO_Level3_Shift (AltGr)
    EXPECT_EQ(usageForSpecialKeysym(0xffeb), 0xe3);  // Super_L
    EXPECT_EQ(usageForSpecialKeysym(0xffff), 0x4c);  // Delete
    EXPECT_FALSE(usageForSpecialKeysym('a'));
}

TEST(HidUsageTest, ModifierBitsFollowUsages) {
    EXPECT_TRUE(isModifierUsage(usage::kLeftControl));
    EXPECT_FALSE(isModifierUsage(usage::kA));
    EXPECT_EQ(modifierBit(usage::kLeftShift), modifier::kLeftShift);
    EXPECT_EQ(modifierBit(usage::kRightAlt), modifier::kRightAlt);
    EXPECT_EQ(modifierBit(usage::kRightGui), modifier::kRightGui);
}

}  // namespace kvmvnc::input
