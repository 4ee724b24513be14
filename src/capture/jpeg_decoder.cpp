// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/capture/jpeg_decoder.h"

#include <turbojpeg.h>

#include <new>

namespace kvmvnc::capture {

namespace {

// Far above any capture resolution; stops a corrupt header from asking for
// gigabytes of frame buffer.
constexpr int kMaxDimension = 8192;

constexpr uint8_t kMarker = 0xff;
constexpr uint8_t kSoi = 0xd8;
constexpr uint8_t kEoi = 0xd9;
constexpr uint8_t kSos = 0xda;
constexpr uint8_t kDht = 0xc4;

// Length of the picture without the zero bytes some devices pad the buffer
// with after EOI.
size_t unpaddedSize(const uint8_t *data, size_t size) {
    while (size > 0 && data[size - 1] == 0)
        --size;
    return size;
}

// True when the header segments up to the first SOS define no Huffman table,
// i.e. the frame relies on the implied tables of JPEG Annex K.3 (the UVC
// MJPEG convention). False too when the header cannot be walked: TurboJPEG
// then reports the damage itself.
bool usesImpliedHuffmanTables(const uint8_t *data, size_t size) {
    size_t pos = 2;  // after SOI
    while (pos + 4 <= size) {
        if (data[pos] != kMarker)
            return false;
        uint8_t marker = data[pos + 1];
        if (marker == kMarker) {  // fill byte before a marker
            ++pos;
            continue;
        }
        if (marker == kDht)
            return false;
        if (marker == kSos)
            return true;
        // Every marker that may precede SOS carries a 16-bit length that
        // includes itself.
        size_t length = static_cast<size_t>(data[pos + 2]) << 8 | data[pos + 3];
        if (length < 2)
            return false;
        pos += 2 + length;
    }
    return false;
}

}  // namespace

// Warnings ("Corrupt JPEG data: N extraneous bytes", a damaged scan that was
// concealed) still leave a complete picture; only errors lose it.
bool JpegDecoder::succeeded(int ret) const {
    return ret == 0 || tjGetErrorCode(handle_) == TJERR_WARNING;
}

JpegDecoder::JpegDecoder() : handle_(tjInitDecompress()) {
    // tjInitDecompress() fails only when it cannot allocate.
    if (handle_ == nullptr)
        throw std::bad_alloc();
}

JpegDecoder::~JpegDecoder() { tjDestroy(handle_); }

// libjpeg-turbo (checked on 2.1.5) decodes frames without DHT segments by
// itself: when a scan refers to an undefined table it falls back to the
// Annex K.3 tables. So such frames need no rewriting; they are only counted
// as repaired so logs show that a device relies on it. Their test guards the
// fallback.
JpegDecoder::Result JpegDecoder::decode(const uint8_t *data, size_t size, Frame &out) {
    // Reject torn frames before decoding: libjpeg would pad a truncated scan
    // with grey and report only a warning.
    size = data == nullptr ? 0 : unpaddedSize(data, size);
    if (size < 4 || data[0] != kMarker || data[1] != kSoi || data[size - 2] != kMarker ||
        data[size - 1] != kEoi) {
        ++rejected_;
        return Result::Truncated;
    }

    auto jpegSize = static_cast<unsigned long>(size);
    int width = 0;
    int height = 0;
    int subsampling = 0;
    int colorspace = 0;
    if (!succeeded(tjDecompressHeader3(handle_, data, jpegSize, &width, &height, &subsampling,
                                       &colorspace)) ||
        width <= 0 || height <= 0 || width > kMaxDimension || height > kMaxDimension) {
        ++rejected_;
        return Result::Corrupt;
    }

    out.allocate(width, height);
    if (!succeeded(tjDecompress2(handle_, data, jpegSize, out.pixels.data(), width, out.stride,
                                 height, TJPF_BGRX, 0))) {
        ++rejected_;
        return Result::Corrupt;
    }
    if (usesImpliedHuffmanTables(data, size))
        ++repaired_;
    return Result::Ok;
}

std::optional<Size> JpegDecoder::pictureSize(const uint8_t *data, size_t size) {
    if (data == nullptr || size < 4)
        return std::nullopt;
    int width = 0;
    int height = 0;
    int subsampling = 0;
    int colorspace = 0;
    if (!succeeded(tjDecompressHeader3(handle_, data, static_cast<unsigned long>(size), &width,
                                       &height, &subsampling, &colorspace)) ||
        width <= 0 || height <= 0)
        return std::nullopt;
    return Size{width, height};
}

}  // namespace kvmvnc::capture
