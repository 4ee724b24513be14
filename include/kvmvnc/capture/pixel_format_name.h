// SPDX-License-Identifier: GPL-2.0-or-later
#pragma once

#include <cctype>
#include <optional>
#include <string_view>

namespace kvmvnc::capture {

// The capture formats and their names, with nothing behind them (no V4L2,
// no conversion): the configuration names a format without linking
// capture's libraries. pixel_format.h has the rest.

// Capture formats we accept from V4L2 devices.
enum class PixelFormat {
    Yuyv,   // V4L2_PIX_FMT_YUYV: Y0 U Y1 V (USB dongles at low resolutions)
    Uyvy,   // V4L2_PIX_FMT_UYVY: U Y0 V Y1 (TC358743)
    Rgb24,  // V4L2_PIX_FMT_RGB24: R G B in memory
    Bgr24,  // V4L2_PIX_FMT_BGR24: B G R in memory
    Mjpeg,  // V4L2_PIX_FMT_MJPEG: one JPEG per buffer (USB dongles)
};

inline constexpr PixelFormat kAllPixelFormats[] = {PixelFormat::Yuyv, PixelFormat::Uyvy,
                                                   PixelFormat::Rgb24, PixelFormat::Bgr24,
                                                   PixelFormat::Mjpeg};

namespace detail {

struct PixelFormatNames {
    PixelFormat format;
    std::string_view name;
    std::string_view fourcc;  // the V4L2 fourcc as text
};

inline constexpr PixelFormatNames kPixelFormatNames[] = {
    {PixelFormat::Yuyv, "YUYV", "YUYV"},   {PixelFormat::Uyvy, "UYVY", "UYVY"},
    {PixelFormat::Rgb24, "RGB24", "RGB3"}, {PixelFormat::Bgr24, "BGR24", "BGR3"},
    {PixelFormat::Mjpeg, "MJPEG", "MJPG"},
};

inline bool equalsIgnoringCase(std::string_view text, std::string_view name) {
    if (text.size() != name.size())
        return false;
    for (size_t i = 0; i < text.size(); ++i)
        if (std::toupper(static_cast<unsigned char>(text[i])) != name[i])
            return false;
    return true;
}

}  // namespace detail

// "YUYV", "UYVY", "RGB24", "BGR24", "MJPEG".
inline const char *pixelFormatName(PixelFormat format) {
    for (const detail::PixelFormatNames &entry : detail::kPixelFormatNames)
        if (entry.format == format)
            return entry.name.data();
    return detail::kPixelFormatNames[0].name.data();  // unreachable for valid enum values
}

// Accepts the names above and the V4L2 fourccs (YUYV, UYVY, RGB3, BGR3, MJPG),
// case-insensitively.
inline std::optional<PixelFormat> parsePixelFormat(std::string_view text) {
    for (const detail::PixelFormatNames &entry : detail::kPixelFormatNames)
        if (detail::equalsIgnoringCase(text, entry.name) ||
            detail::equalsIgnoringCase(text, entry.fourcc))
            return entry.format;
    return std::nullopt;
}

}  // namespace kvmvnc::capture
