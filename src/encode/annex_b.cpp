// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/encode/annex_b.h"

namespace kvmvnc::encode {

namespace {

// The position after the next start code (00 00 01) at or after `from`, or
// `size` when there is none.
size_t afterStartCode(const uint8_t *data, size_t size, size_t from) {
    for (size_t i = from; i + 3 <= size; ++i) {
        if (data[i] == 0 && data[i + 1] == 0 && data[i + 2] == 1)
            return i + 3;
    }
    return size;
}

}  // namespace

std::vector<NalUnit> splitAnnexB(const uint8_t *data, size_t size) {
    std::vector<NalUnit> units;
    if (data == nullptr)
        return units;
    size_t begin = afterStartCode(data, size, 0);
    while (begin < size) {
        const size_t next = afterStartCode(data, size, begin);
        // A unit ends where the next start code begins; the zero byte in
        // front of a 4-byte start code belongs to the code, not the unit
        // (trailing_zero_8bits, Annex B.1).
        size_t end = next == size ? size : next - 3;
        while (next != size && end > begin && data[end - 1] == 0)
            --end;
        if (end > begin)
            units.push_back({begin, end - begin, static_cast<uint8_t>(data[begin] & 0x1f)});
        begin = next;
    }
    return units;
}

bool readSpsHeader(const uint8_t *data, const NalUnit &nal, SpsHeader &out) {
    if (data == nullptr || nal.type != static_cast<uint8_t>(NalType::Sps) || nal.size < 4)
        return false;
    const uint8_t *sps = data + nal.offset;
    out.profileIdc = sps[1];
    out.constraintFlags = sps[2];
    out.levelIdc = sps[3];
    return true;
}

}  // namespace kvmvnc::encode
