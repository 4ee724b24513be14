// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace kvmvnc::encode {

// NAL unit types (H.264 table 7-1) that matter to RFB viewers: noVNC takes
// 1, 5, 6, 7 and 8 and ends a frame at each slice (1 or 5).
enum class NalType : uint8_t {
    Slice = 1,
    IdrSlice = 5,
    Sei = 6,
    Sps = 7,
    Pps = 8,
    AccessUnitDelimiter = 9,
};

// One NAL unit inside an Annex B byte stream: where its bytes (the header
// byte first, without the start code) are.
struct NalUnit {
    size_t offset = 0;
    size_t size = 0;
    uint8_t type = 0;  // nal_unit_type, the header byte's low 5 bits
};

// The NAL units of an Annex B stream, in order; start codes of 3 or 4 bytes.
// Bytes before the first start code are not a NAL unit and are skipped.
std::vector<NalUnit> splitAnnexB(const uint8_t *data, size_t size);

// What the first bytes of an SPS say (H.264 7.3.2.1.1): profile_idc,
// the constraint flags byte and level_idc, which need no Exp-Golomb decoding.
struct SpsHeader {
    uint8_t profileIdc = 0;
    uint8_t constraintFlags = 0;  // constraint_set0_flag is bit 7
    uint8_t levelIdc = 0;
    bool constraintSet(int n) const { return (constraintFlags & (0x80 >> n)) != 0; }
};

// False when `nal` is not an SPS or too short.
bool readSpsHeader(const uint8_t *data, const NalUnit &nal, SpsHeader &out);

}  // namespace kvmvnc::encode
