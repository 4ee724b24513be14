// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "kvmvnc/capture/frame.h"

namespace kvmvnc::capture {

// Decodes MJPEG frames from USB capture dongles into XRGB8888 with TurboJPEG.
//
// Dongles misbehave in two known ways (FIELD-NOTES): some send JPEGs without
// Huffman tables (the UVC MJPEG convention: the standard tables of JPEG
// Annex K.3 are implied), and some hand over truncated frames. The first are
// repaired, the second are rejected before decoding so a torn picture never
// reaches viewers.
//
// Thread-bound: owns one TurboJPEG handle.
class JpegDecoder {
public:
    enum class Result { Ok, Truncated, Corrupt };

    JpegDecoder();
    ~JpegDecoder();
    JpegDecoder(const JpegDecoder &) = delete;
    JpegDecoder &operator=(const JpegDecoder &) = delete;

    Result decode(const uint8_t *data, size_t size, Frame &out);
    // The size the JPEG's header gives, without decoding the picture;
    // nullopt when the header cannot be read (decode() then says why).
    std::optional<Size> pictureSize(const uint8_t *data, size_t size);

    // Counters for logs and tests.
    uint64_t repairedFrames() const { return repaired_; }
    uint64_t rejectedFrames() const { return rejected_; }

private:
    bool succeeded(int ret) const;

    void *handle_ = nullptr;  // tjhandle
    uint64_t repaired_ = 0;
    uint64_t rejected_ = 0;
};

}  // namespace kvmvnc::capture
