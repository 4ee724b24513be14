// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/control/protocol.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <utility>

namespace kvmvnc::control {
namespace {

TEST(ProtocolTest, RequestFramingIsBigEndianWithTheDocumentedHeader) {
    const std::vector<uint8_t> message = encodeRequest(Request::AtxAction, 0x01020304, {3});
    const std::vector<uint8_t> expected = {200, 0x11, 0, 0, 1, 2, 3, 4, 0, 0, 0, 1, 3};
    EXPECT_EQ(message, expected);
    const RequestHeader header = parseRequestHeader(message.data() + 1);
    EXPECT_EQ(header.opcode, 0x11);
    EXPECT_EQ(header.requestId, 0x01020304u);
    EXPECT_EQ(header.payloadLength, 1u);
}

// The bytes of every message body, as docs/protocol.md lays them out and
// kvmvnc has always sent them: a change to the encoders that round-trips
// still fails here.
TEST(ProtocolTest, EveryBodyEncodesToItsDocumentedBytes) {
    auto bytes = [](std::string_view hex) {
        std::vector<uint8_t> out;
        for (size_t i = 0; i + 1 < hex.size(); i += 2)
            out.push_back(
                static_cast<uint8_t>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
        return out;
    };
    Hello hello;
    hello.features = 0x2d;
    hello.fullRights = true;
    EXPECT_EQ(encode(hello), bytes("010000000000002d0004000001000000"));
    EXPECT_EQ(encode(Reply{0x01020304, Status::Ok, {9, 8}, {}}), bytes("01020304000000000908"));
    EXPECT_EQ(encode(Reply{5, Status::NoSpace, {}, "full"}), bytes("00000005000a000066756c6c"));
    EXPECT_EQ(encode(AtxStateBody{true, true, false}), bytes("03"));
    EXPECT_EQ(encode(DriveStateBody{true, false, 1, 0x0102030405ULL, "a.iso", "busy"}),
              bytes("01010000000000010203040505612e69736f000462757379"));
    EXPECT_EQ(encode(UploadProgressBody{0x10, 0x20, "d"}),
              bytes("000000000000001000000000000000200164"));
    EXPECT_EQ(encodeImageList({{"a", 3, 2, true}, {"bc", 0x100, 0x100, false}}),
              bytes("000000020000000000000003000000000000000201016100000000000001000000000000000100"
                    "00026263"));
    UploadBeginBody begin;
    begin.size = 0x0a0b;
    begin.sha256.fill(0xab);
    begin.name = "x";
    EXPECT_EQ(encode(begin), bytes("0000000000000a0babababababababababababababababababababababababa"
                                   "babababababababab0178"));
    EXPECT_EQ(encode(DriveInsertBody{1, true, "u"}), bytes("01010175"));
    EXPECT_EQ(encode(InputStateBody{false, true, "de"}), bytes("02026465"));
    EXPECT_EQ(encode(TypeTextBody{true, "h\xc3\xa9"}), bytes("0168c3a9"));
    EXPECT_EQ(encode(TypeTextResult{7, U"\u00e9\u00df"}), bytes("000000070002000000e9000000df"));
    EXPECT_EQ(encode(TypeProgressBody{3, 9, TypeProgressBody::State::Cancelled}),
              bytes("000000030000000902"));
    HealthStateBody health;
    health.temperatureKnown = true;
    health.hot = true;
    health.signal = 2;
    health.viewers = 3;
    health.milliCelsius = -1500;
    health.throttled = 0x50005;
    health.fpsHundredths = 2997;
    health.width = 1920;
    health.height = 1080;
    EXPECT_EQ(encode(health), bytes("05020003fffffa240005000500000bb507800438"));
    EdidStateBody edid;
    edid.state = EdidStateBody::State::Failed;
    edid.setting = "keep";
    edid.node = "/dev/v4l-subdev2";
    edid.detail = "no";
    edid.edid = {0, 0xff, 0x7f};
    EXPECT_EQ(encode(edid),
              bytes("0400000000046b65657000102f6465762f76346c2d7375626465763200026e6f000300ff7f"));
    HardwareReportBody report;
    report.configuration = "/etc/k.ini";
    report.checks = {{2, "gpio", "line 23 busy", "free it"}, {0, "hid", "", ""}};
    EXPECT_EQ(encode(report), bytes("000a2f6574632f6b2e696e690202046770696f000c6c696e65203233206275"
                                    "7379000766726565206974000368696400000000"));
    EXPECT_EQ(encodeRequest(Request::TypeText, 0x0a0b0c0d, {1, 2}),
              bytes("c83100000a0b0c0d000000020102"));
    EXPECT_EQ(encodeServerMessage(ServerMessage::HealthState, {4, 5, 6}),
              bytes("c840000000000003040506"));
}

TEST(ProtocolTest, ServerMessagesRoundTrip) {
    Hello hello;
    hello.features = feature::kAtx | feature::kMassStorage;
    hello.fullRights = true;
    EXPECT_EQ(encode(hello).size(), 16u);
    EXPECT_EQ(decodeHello(encode(hello)), hello);

    const AtxStateBody atx{true, false, true};
    EXPECT_EQ(encode(atx), std::vector<uint8_t>{0x05});
    EXPECT_EQ(decodeAtxState(encode(atx)), atx);

    DriveStateBody drive;
    drive.inserted = true;
    drive.writable = true;
    drive.mode = 1;
    drive.size = 0x123456789aULL;
    drive.name = "debian.iso";
    drive.problem = "the host holds the medium";
    EXPECT_EQ(decodeDriveState(encode(drive)), drive);

    const UploadProgressBody progress{4 << 20, 64 << 20, "disk.img"};
    EXPECT_EQ(decodeUploadProgress(encode(progress)), progress);

    const std::vector<ImageEntry> images = {{"a.iso", 2048, 2048, false},
                                            {"b.img", 1 << 20, 4096, true}};
    EXPECT_EQ(decodeImageList(encodeImageList(images)), images);

    Reply ok{7, Status::Ok, {1, 2, 3}, {}};
    auto decoded = decodeReply(encode(ok));
    ASSERT_TRUE(decoded);
    EXPECT_EQ(decoded->requestId, 7u);
    EXPECT_EQ(decoded->result, (std::vector<uint8_t>{1, 2, 3}));
    Reply error{8, Status::NoSpace, {}, "disk full"};
    decoded = decodeReply(encode(error));
    ASSERT_TRUE(decoded);
    EXPECT_EQ(decoded->status, Status::NoSpace);
    EXPECT_EQ(decoded->message, "disk full");
}

TEST(ProtocolTest, RequestBodiesRoundTrip) {
    UploadBeginBody begin;
    begin.size = 64 << 20;
    begin.sha256.fill(0xab);
    begin.name = "image.iso";
    auto decodedBegin = decodeUploadBegin(encode(begin));
    ASSERT_TRUE(decodedBegin);
    EXPECT_EQ(decodedBegin->size, begin.size);
    EXPECT_EQ(decodedBegin->sha256, begin.sha256);
    EXPECT_EQ(decodedBegin->name, begin.name);

    DriveInsertBody insert{1, true, "usb.img"};
    auto decodedInsert = decodeDriveInsert(encode(insert));
    ASSERT_TRUE(decodedInsert);
    EXPECT_EQ(decodedInsert->mode, 1);
    EXPECT_TRUE(decodedInsert->writable);
    EXPECT_EQ(decodedInsert->name, "usb.img");
}

// Every truncation of a valid body, and every body with a byte too many, is
// rejected rather than read past its end or half-understood.
TEST(ProtocolTest, TruncatedOrOverlongBodiesAreRejected) {
    UploadBeginBody begin;
    begin.size = 10;
    begin.name = "x.iso";
    const std::vector<uint8_t> validBegin = encode(begin);
    DriveStateBody drive;
    drive.name = "a";
    drive.problem = "b";
    const std::vector<uint8_t> validDrive = encode(drive);
    const std::vector<uint8_t> validInsert = encode(DriveInsertBody{0, false, "a.iso"});
    const std::vector<uint8_t> validList = encodeImageList({{"a", 1, 1, false}});
    for (size_t cut = 0; cut < validBegin.size(); ++cut)
        EXPECT_FALSE(decodeUploadBegin({validBegin.begin(), validBegin.begin() + cut})) << cut;
    for (size_t cut = 0; cut < validDrive.size(); ++cut)
        EXPECT_FALSE(decodeDriveState({validDrive.begin(), validDrive.begin() + cut})) << cut;
    for (size_t cut = 0; cut < validInsert.size(); ++cut)
        EXPECT_FALSE(decodeDriveInsert({validInsert.begin(), validInsert.begin() + cut})) << cut;
    for (size_t cut = 0; cut < validList.size(); ++cut)
        EXPECT_FALSE(decodeImageList({validList.begin(), validList.begin() + cut})) << cut;
    auto longer = [](std::vector<uint8_t> body) {
        body.push_back(0);
        return body;
    };
    EXPECT_FALSE(decodeUploadBegin(longer(validBegin)));
    EXPECT_FALSE(decodeDriveState(longer(validDrive)));
    EXPECT_FALSE(decodeDriveInsert(longer(validInsert)));
    EXPECT_FALSE(decodeImageList(longer(validList)));
    EXPECT_FALSE(decodeAtxState({}));
    EXPECT_FALSE(decodeAtxState({1, 2}));
    EXPECT_FALSE(decodeReply({0, 0, 0}));
    EXPECT_FALSE(decodeHello({1, 0, 0}));
    // A mode other than CD-ROM (0) or flash (1).
    EXPECT_FALSE(decodeDriveInsert({2, 0, 1, 'a'}));
    // An image count promising more entries than there are.
    EXPECT_FALSE(decodeImageList({0xff, 0xff, 0xff, 0xff}));
}

// The same rule for every body read to its end: each truncation of a valid
// payload and the payload with a byte too many are rejected.
TEST(ProtocolTest, EveryBodyRejectsItsTruncationsAndATrailingByte) {
    EdidStateBody edid;
    edid.setting = "keep";
    edid.edid = {1, 2};
    HardwareReportBody report;
    report.checks = {{1, "a", "b", "c"}};
    const std::vector<std::pair<std::vector<uint8_t>, bool (*)(const std::vector<uint8_t> &)>>
        bodies = {
            {encode(AtxStateBody{true, false, true}),
             [](const auto &payload) { return decodeAtxState(payload).has_value(); }},
            {encode(DriveStateBody{true, true, 1, 5, "a", "b"}),
             [](const auto &payload) { return decodeDriveState(payload).has_value(); }},
            {encode(UploadProgressBody{1, 2, "c"}),
             [](const auto &payload) { return decodeUploadProgress(payload).has_value(); }},
            {encodeImageList({{"a", 1, 1, true}}),
             [](const auto &payload) { return decodeImageList(payload).has_value(); }},
            {encode(UploadBeginBody{3, {}, "d"}),
             [](const auto &payload) { return decodeUploadBegin(payload).has_value(); }},
            {encode(DriveInsertBody{1, true, "e"}),
             [](const auto &payload) { return decodeDriveInsert(payload).has_value(); }},
            {encode(InputStateBody{true, true, "us"}),
             [](const auto &payload) { return decodeInputState(payload).has_value(); }},
            {encode(TypeTextResult{2, U"x"}),
             [](const auto &payload) { return decodeTypeTextResult(payload).has_value(); }},
            {encode(TypeProgressBody{1, 2, TypeProgressBody::State::Done}),
             [](const auto &payload) { return decodeTypeProgress(payload).has_value(); }},
            {encode(HealthStateBody{}),
             [](const auto &payload) { return decodeHealthState(payload).has_value(); }},
            {encode(edid),
             [](const auto &payload) { return decodeEdidState(payload).has_value(); }},
            {encode(report),
             [](const auto &payload) { return decodeHardwareReport(payload).has_value(); }},
        };
    for (size_t body = 0; body < bodies.size(); ++body) {
        const auto &[valid, decodes] = bodies[body];
        EXPECT_TRUE(decodes(valid)) << body;
        for (size_t cut = 0; cut < valid.size(); ++cut)
            EXPECT_FALSE(decodes({valid.begin(), valid.begin() + cut})) << body << " cut " << cut;
        std::vector<uint8_t> longer = valid;
        longer.push_back(0);
        EXPECT_FALSE(decodes(longer)) << body;
    }
}

// Hello may grow (later minor versions append fields), Reply and TypeText
// end with the rest of the payload: only their fixed parts can be cut.
TEST(ProtocolTest, OpenEndedBodiesRejectOnlyACutFixedPart) {
    const std::vector<uint8_t> hello = encode(Hello{});
    for (size_t cut = 0; cut < hello.size(); ++cut)
        EXPECT_FALSE(decodeHello({hello.begin(), hello.begin() + cut})) << cut;
    std::vector<uint8_t> longerHello = hello;
    longerHello.insert(longerHello.end(), {1, 2, 3});
    EXPECT_EQ(decodeHello(longerHello), Hello{});

    const std::vector<uint8_t> reply = encode(Reply{3, Status::Ok, {}, {}});
    ASSERT_EQ(reply.size(), 8u);
    for (size_t cut = 0; cut < reply.size(); ++cut)
        EXPECT_FALSE(decodeReply({reply.begin(), reply.begin() + cut})) << cut;
    const auto empty = decodeReply(reply);
    ASSERT_TRUE(empty);
    EXPECT_EQ(empty->requestId, 3u);
    EXPECT_TRUE(empty->result.empty());

    const auto noText = decodeTypeText({1});
    ASSERT_TRUE(noText);
    EXPECT_TRUE(noText->skipUntypable);
    EXPECT_EQ(noText->text, "");
}

// Flag bits a body does not define are ignored; Hello's rights byte is a
// value (0 view-only, 1 full), not a flag: anything else is not full rights.
TEST(ProtocolTest, UnknownFlagBitsAreIgnoredAndRightsAreAValue) {
    EXPECT_EQ(decodeAtxState({0xff}), (AtxStateBody{true, true, true}));
    EXPECT_EQ(decodeInputState({0xfc, 0}), (InputStateBody{false, false, ""}));
    const auto image =
        decodeImageList({0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xfe, 0});
    ASSERT_TRUE(image);
    ASSERT_EQ(image->size(), 1u);
    EXPECT_FALSE(image->front().incomplete);
    const auto insert = decodeDriveInsert({1, 0xff, 0});
    ASSERT_TRUE(insert);
    EXPECT_TRUE(insert->writable);
    const auto text = decodeTypeText({0xfe, 'a'});
    ASSERT_TRUE(text);
    EXPECT_FALSE(text->skipUntypable);

    Hello hello;
    hello.fullRights = true;
    std::vector<uint8_t> bytes = encode(hello);
    ASSERT_EQ(bytes[12], 1);
    EXPECT_TRUE(decodeHello(bytes)->fullRights);
    bytes[12] = 3;
    EXPECT_FALSE(decodeHello(bytes)->fullRights);
}

// Counts that the encoder caps are rejected above the cap when decoding.
TEST(ProtocolTest, CountsAboveTheirCapsAreRejected) {
    ByteWriter result;
    result.u32(1);
    result.u16(static_cast<uint16_t>(kMaxListedUntypable + 1));
    for (size_t i = 0; i < kMaxListedUntypable + 1; ++i)
        result.u32('x');
    EXPECT_FALSE(decodeTypeTextResult(result.bytes()));

    ByteWriter edid;
    edid.u8(0);
    edid.u8(0);
    edid.u16(0);
    edid.text16("");
    edid.text16("");
    edid.text16("");
    edid.u16(static_cast<uint16_t>(kMaxEdidBytes + 1));
    const std::vector<uint8_t> block(kMaxEdidBytes + 1, 0);
    edid.raw(block.data(), block.size());
    EXPECT_FALSE(decodeEdidState(edid.bytes()));
    EdidStateBody large;
    large.edid.assign(kMaxEdidBytes + 10, 7);
    const auto decoded = decodeEdidState(encode(large));
    ASSERT_TRUE(decoded) << "the encoder sends at most kMaxEdidBytes";
    EXPECT_EQ(decoded->edid.size(), kMaxEdidBytes);
}

TEST(ProtocolTest, KeyboardMessagesRoundTripAndRejectWhatDoesNotFit) {
    const InputStateBody input{false, true, "de(nodeadkeys)"};
    EXPECT_EQ(encode(input)[0], 0x02);  // bit 0 listening clear, bit 1 typing set
    EXPECT_EQ(decodeInputState(encode(input)), input);

    const TypeTextBody text{true, "Grüße\n"};
    auto decodedText = decodeTypeText(encode(text));
    ASSERT_TRUE(decodedText);
    EXPECT_TRUE(decodedText->skipUntypable);
    EXPECT_EQ(decodedText->text, text.text);
    EXPECT_FALSE(decodeTypeText({}));  // no flags byte
    std::vector<uint8_t> tooLong(1 + kMaxTypeText + 1, 'a');
    EXPECT_FALSE(decodeTypeText(tooLong));
    tooLong.pop_back();
    EXPECT_TRUE(decodeTypeText(tooLong));

    const TypeTextResult result{12, U"é€"};
    EXPECT_EQ(encode(result).size(), 4u + 2 + 8);
    EXPECT_EQ(decodeTypeTextResult(encode(result)), result);
    TypeTextResult many{1, std::u32string(100, U'x')};
    EXPECT_EQ(decodeTypeTextResult(encode(many))->untypable.size(), kMaxListedUntypable);

    const TypeProgressBody progress{16, 40, TypeProgressBody::State::Cancelled};
    EXPECT_EQ(decodeTypeProgress(encode(progress)), progress);

    const std::vector<uint8_t> validInput = encode(input);
    const std::vector<uint8_t> validResult = encode(result);
    const std::vector<uint8_t> validProgress = encode(progress);
    for (size_t cut = 0; cut < validInput.size(); ++cut)
        EXPECT_FALSE(decodeInputState({validInput.begin(), validInput.begin() + cut})) << cut;
    for (size_t cut = 0; cut < validResult.size(); ++cut)
        EXPECT_FALSE(decodeTypeTextResult({validResult.begin(), validResult.begin() + cut})) << cut;
    for (size_t cut = 0; cut < validProgress.size(); ++cut)
        EXPECT_FALSE(decodeTypeProgress({validProgress.begin(), validProgress.begin() + cut}))
            << cut;
    EXPECT_FALSE(decodeTypeProgress({0, 0, 0, 1, 0, 0, 0, 1, 9}));  // unknown state
    EXPECT_FALSE(decodeTypeProgress({0, 0, 0, 2, 0, 0, 0, 1, 0}));  // typed more than total
}

TEST(ProtocolTest, HealthStateRoundTripsAndRejectsWhatDoesNotFit) {
    HealthStateBody health;
    health.temperatureKnown = true;
    health.throttlingKnown = true;
    health.hot = true;
    health.signal = 1;
    health.viewers = 3;
    health.milliCelsius = -5250;  // signed: a cold start outdoors
    health.throttled = 0x50005;
    health.fpsHundredths = 5994;
    health.width = 1920;
    health.height = 1080;
    const std::vector<uint8_t> bytes = encode(health);
    ASSERT_EQ(bytes.size(), 20u);
    EXPECT_EQ(bytes[0], 0x07);
    EXPECT_EQ(decodeHealthState(bytes), health);
    for (size_t cut = 0; cut < bytes.size(); ++cut)
        EXPECT_FALSE(decodeHealthState({bytes.begin(), bytes.begin() + cut})) << cut;
    std::vector<uint8_t> longer = bytes;
    longer.push_back(0);
    EXPECT_FALSE(decodeHealthState(longer));
    std::vector<uint8_t> unknownSignal = bytes;
    unknownSignal[1] = kMaxSignalState + 1;
    EXPECT_FALSE(decodeHealthState(unknownSignal));
}

TEST(ProtocolTest, ReaderNeverReadsPastTheEnd) {
    const uint8_t bytes[3] = {1, 2, 3};
    ByteReader reader(bytes, sizeof(bytes));
    uint32_t value = 0;
    EXPECT_FALSE(reader.u32(value));
    uint8_t small = 0;
    EXPECT_FALSE(reader.u8(small)) << "a failed reader stays failed";
    std::string name;
    const uint8_t longName[2] = {200, 'a'};  // says 200 bytes, has 1
    ByteReader nameReader(longName, sizeof(longName));
    EXPECT_FALSE(nameReader.name(name));
}

TEST(ProtocolTest, NamesAreCutAtTheirLengthField) {
    ByteWriter writer;
    writer.name(std::string(300, 'n'));
    EXPECT_EQ(writer.bytes().size(), 1u + kMaxNameLength);
    EXPECT_EQ(writer.bytes()[0], kMaxNameLength);
}

TEST(ProtocolTest, EdidStateRoundTripsAndRejectsWhatDoesNotFit) {
    EdidStateBody state;
    state.state = EdidStateBody::State::Failed;
    state.setting = "/etc/kvmvnc/monitor.hex";
    state.node = "/dev/v4l-subdev2";
    state.detail = "takes at most 2 blocks";
    state.edid.assign(256, 0xa5);
    const std::vector<uint8_t> bytes = encode(state);
    ASSERT_EQ(bytes.size(), 4u + 2 + 23 + 2 + 16 + 2 + 22 + 2 + 256);
    EXPECT_EQ(bytes[0], 4);
    EXPECT_EQ(decodeEdidState(bytes), state);
    for (size_t cut = 0; cut < bytes.size(); cut += 7)
        EXPECT_FALSE(decodeEdidState({bytes.begin(), bytes.begin() + cut})) << cut;
    std::vector<uint8_t> longer = bytes;
    longer.push_back(0);
    EXPECT_FALSE(decodeEdidState(longer));
    std::vector<uint8_t> unknownState = bytes;
    unknownState[0] = 5;
    EXPECT_FALSE(decodeEdidState(unknownState));
    // Nothing known yet: empty strings and no bytes.
    EXPECT_EQ(decodeEdidState(encode(EdidStateBody{})), EdidStateBody{});
}

TEST(ProtocolTest, HardwareReportRoundTripsAndRejectsWhatDoesNotFit) {
    HardwareReportBody report;
    report.configuration = "/etc/kvmvnc/kvmvncd.ini";
    report.checks = {{0, "usb gadget", "kvmvnc bound to fe980000.usb", ""},
                     {2, "capture device", "no /dev/video0", "connect it"},
                     {3, "gpio chip", "not needed", ""}};
    const std::vector<uint8_t> bytes = encode(report);
    ASSERT_EQ(bytes.size(), 2u + 23 + 1 + (1 + 1 + 10 + 2 + 28 + 2) +
                                (1 + 1 + 14 + 2 + 14 + 2 + 10) + (1 + 1 + 9 + 2 + 10 + 2));
    EXPECT_EQ(bytes[25], 3) << "the count";
    EXPECT_EQ(decodeHardwareReport(bytes), report);
    for (size_t cut = 0; cut < bytes.size(); cut += 5)
        EXPECT_FALSE(decodeHardwareReport({bytes.begin(), bytes.begin() + cut})) << cut;
    std::vector<uint8_t> longer = bytes;
    longer.push_back(0);
    EXPECT_FALSE(decodeHardwareReport(longer));
    std::vector<uint8_t> unknownStatus = bytes;
    unknownStatus[26] = 4;
    EXPECT_FALSE(decodeHardwareReport(unknownStatus));
    EXPECT_EQ(decodeHardwareReport(encode(HardwareReportBody{})), HardwareReportBody{});
}

}  // namespace
}  // namespace kvmvnc::control
