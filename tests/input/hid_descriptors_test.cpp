// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/input/hid_descriptors.h"

#include <gtest/gtest.h>

#include "kvmvnc/input/hid_reports.h"

namespace kvmvnc::input {

namespace {

struct Layout {
    int inputBits = 0;
    int outputBits = 0;
    int openCollections = 0;
    bool wellFormed = true;
};

// Walks the short items of a report descriptor as a host does, adding up
// the bits of Input and Output main items (HID 1.11, 6.2.2).
Layout parse(std::span<const uint8_t> descriptor) {
    Layout layout;
    int reportSize = 0;
    int reportCount = 0;
    for (size_t i = 0; i < descriptor.size();) {
        const uint8_t prefix = descriptor[i];
        const int size = (prefix & 0x03) == 3 ? 4 : (prefix & 0x03);
        if (i + 1 + size > descriptor.size()) {
            layout.wellFormed = false;
            break;
        }
        uint32_t value = 0;
        for (int b = 0; b < size; ++b)
            value |= uint32_t{descriptor[i + 1 + b]} << (8 * b);
        switch (prefix & 0xfc) {
        case 0x74:  // Report Size
            reportSize = static_cast<int>(value);
            break;
        case 0x94:  // Report Count
            reportCount = static_cast<int>(value);
            break;
        case 0x80:  // Input
            layout.inputBits += reportSize * reportCount;
            break;
        case 0x90:  // Output
            layout.outputBits += reportSize * reportCount;
            break;
        case 0xa0:  // Collection
            ++layout.openCollections;
            break;
        case 0xc0:  // End Collection
            --layout.openCollections;
            break;
        default:
            break;
        }
        i += 1 + static_cast<size_t>(size);
    }
    return layout;
}

}  // namespace

TEST(HidDescriptorsTest, KeyboardDescribesTheBootReportAndLeds) {
    Layout layout = parse(keyboardReportDescriptor());
    EXPECT_TRUE(layout.wellFormed);
    EXPECT_EQ(layout.openCollections, 0);
    EXPECT_EQ(layout.inputBits, 8 * static_cast<int>(KeyboardReport{}.size()));
    EXPECT_EQ(layout.outputBits, 8) << "one LED byte";
}

TEST(HidDescriptorsTest, MouseDescribesTheAbsoluteReport) {
    Layout layout = parse(absoluteMouseReportDescriptor());
    EXPECT_TRUE(layout.wellFormed);
    EXPECT_EQ(layout.openCollections, 0);
    EXPECT_EQ(layout.inputBits, 8 * static_cast<int>(AbsoluteMouseReport{}.size()));
    EXPECT_EQ(layout.outputBits, 0);
}

TEST(HidDescriptorsTest, RelativeMouseDescribesTheBootMouseReport) {
    Layout layout = parse(relativeMouseReportDescriptor());
    EXPECT_TRUE(layout.wellFormed);
    EXPECT_EQ(layout.openCollections, 0);
    EXPECT_EQ(layout.inputBits, 8 * static_cast<int>(RelativeMouseReport{}.size()));
    EXPECT_EQ(layout.outputBits, 0);
}

}  // namespace kvmvnc::input
