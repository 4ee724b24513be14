// SPDX-License-Identifier: GPL-2.0-or-later
#include "kvmvnc/encode/openh264_encoder.h"

#include <libyuv.h>
#include <wels/codec_api.h>

#include <cstring>

#include "kvmvnc/base/log.h"

namespace kvmvnc::encode {

namespace {

constexpr const char *kLog = "encode";

// OpenH264's own messages (an invalid parameter, a failed allocation) go to
// our log instead of its default, stderr. It warns at every start that rate
// control cannot hold the bitrate without skipping pictures: we keep
// skipping off on purpose (see configure()), so that one is not news.
void traceToLog(void * /*context*/, int level, const char *message) {
    if (level <= WELS_LOG_ERROR)
        LOG_ERROR(kLog, "OpenH264: %s", message);
    else if (level <= WELS_LOG_WARNING &&
             std::strstr(message, "without enabling skip frame") == nullptr)
        LOG_WARN(kLog, "OpenH264: %s", message);
    else
        LOG_DEBUG(kLog, "OpenH264: %s", message);
}

std::string checkOptions(Size size, const H264Options &options) {
    const int minimum = OpenH264Encoder::kMinDimension;
    if (size.width < minimum || size.height < minimum)
        return "picture size " + std::to_string(size.width) + "x" + std::to_string(size.height) +
               " is below H.264's 16x16";
    const int64_t macroblocks =
        static_cast<int64_t>((size.width + 15) / 16) * ((size.height + 15) / 16);
    if (macroblocks > OpenH264Encoder::kMaxMacroblocks)
        return "picture size " + std::to_string(size.width) + "x" + std::to_string(size.height) +
               " is above OpenH264's 36864 macroblocks (4096x2304)";
    return checkH264Options(options, OpenH264Encoder::kMaxFps);
}

}  // namespace

OpenH264Encoder::~OpenH264Encoder() { release(); }

void OpenH264Encoder::release() {
    if (encoder_ != nullptr) {
        encoder_->Uninitialize();
        WelsDestroySVCEncoder(encoder_);
        encoder_ = nullptr;
    }
    size_ = {};
    coded_ = {};
}

bool OpenH264Encoder::configure(Size size, const H264Options &options, std::string &error) {
    release();
    error = checkOptions(size, options);
    if (!error.empty())
        return false;

    if (WelsCreateSVCEncoder(&encoder_) != 0 || encoder_ == nullptr) {
        encoder_ = nullptr;
        error = "OpenH264 could not create an encoder";
        return false;
    }
    WelsTraceCallback callback = traceToLog;
    encoder_->SetOption(ENCODER_OPTION_TRACE_CALLBACK, &callback);

    // 4:2:0 codes luma in pairs of rows and columns: an odd size is encoded
    // one larger (see toI420()).
    const Size coded{(size.width + 1) & ~1, (size.height + 1) & ~1};
    SEncParamExt params;
    encoder_->GetDefaultParams(&params);
    // The camera mode, not the screen-content one: on the bench's moving
    // desktop it takes under half the time for the same PSNR and bytes, and
    // on full-screen video it holds the bitrate where screen content mode
    // (without skipping pictures) sends four times as much
    // (kvmvnc_h264_bench).
    params.iUsageType = CAMERA_VIDEO_REAL_TIME;
    params.iPicWidth = coded.width;
    params.iPicHeight = coded.height;
    params.iRCMode = RC_BITRATE_MODE;
    params.iTargetBitrate = options.bitrateKbps * 1000;
    params.iMaxBitrate = UNSPECIFIED_BIT_RATE;
    params.fMaxFrameRate = static_cast<float>(options.maxFps);
    // A skipped picture would leave viewers on a stale one, for good if the
    // screen then stops changing; rate control raises the quantiser instead,
    // up to maxQp, past which the bitrate is exceeded rather than a picture
    // lost.
    params.bEnableFrameSkip = false;
    params.iMinQp = options.minQp;
    params.iMaxQp = options.maxQp;
    params.uiIntraPeriod = static_cast<unsigned>(options.gop);
    params.iTemporalLayerNum = 1;
    params.iSpatialLayerNum = 1;
    params.iEntropyCodingModeFlag = 0;  // CAVLC: CABAC is not in Baseline
    params.iMultipleThreadIdc = 1;      // threads split slices, and there is one
    // Parameter sets go with every IDR, so their ids may stay the same.
    params.eSpsPpsIdStrategy = CONSTANT_ID;
    params.bPrefixNalAddingCtrl = false;  // no NAL type 14, which noVNC does not take
    params.bEnableFrameCroppingFlag = true;
    // Adaptive quantisation cost time for no PSNR or bytes on the bench;
    // background detection (on) saves bytes on a still desktop.
    params.bEnableAdaptiveQuant = false;

    SSpatialLayerConfig &layer = params.sSpatialLayers[0];
    layer.iVideoWidth = coded.width;
    layer.iVideoHeight = coded.height;
    layer.fFrameRate = params.fMaxFrameRate;
    layer.iSpatialBitrate = params.iTargetBitrate;
    layer.iMaxSpatialBitrate = UNSPECIFIED_BIT_RATE;
    // Constrained Baseline: OpenH264 sets constraint_set0 and 1 for it.
    layer.uiProfileIdc = PRO_BASELINE;
    layer.sSliceArgument.uiSliceMode = SM_SINGLE_SLICE;
    // What toI420() makes: BT.601 (SMPTE 170M) with limited range, from
    // sRGB pixels (BT.709 primaries, sRGB transfer).
    layer.bVideoSignalTypePresent = true;
    layer.uiVideoFormat = VF_UNDEF;
    layer.bFullRange = false;
    layer.bColorDescriptionPresent = true;
    layer.uiColorPrimaries = CP_BT709;
    layer.uiTransferCharacteristics = TRC_IEC61966_2_1;
    layer.uiColorMatrix = CM_SMPTE170M;

    int ret = encoder_->InitializeExt(&params);
    if (ret != cmResultSuccess) {
        release();
        error = "OpenH264 refused the parameters for " + std::to_string(size.width) + "x" +
                std::to_string(size.height) + " (error " + std::to_string(ret) + ")";
        return false;
    }
    int format = videoFormatI420;
    ret = encoder_->SetOption(ENCODER_OPTION_DATAFORMAT, &format);
    if (ret != cmResultSuccess) {
        release();
        error = "OpenH264 refused I420 input (error " + std::to_string(ret) + ")";
        return false;
    }

    size_ = size;
    coded_ = coded;
    options_ = options;
    const size_t lumaSize = static_cast<size_t>(coded.width) * coded.height;
    y_.assign(lumaSize, 0);
    u_.assign(lumaSize / 4, 0);
    v_.assign(lumaSize / 4, 0);
    pictures_ = 0;
    idrRequested_ = false;  // the first picture is one anyway
    return true;
}

// libyuv handles odd sizes itself (the last chroma sample covers one
// column or row); the padding row or column of luma repeats the last, so
// the decoded edge looks like the picture's.
void OpenH264Encoder::toI420(const uint8_t *pixels, int stride) {
    const int chromaStride = coded_.width / 2;
    libyuv::ARGBToI420(pixels, stride, y_.data(), coded_.width, u_.data(), chromaStride, v_.data(),
                       chromaStride, size_.width, size_.height);
    if (coded_.width != size_.width) {
        for (int row = 0; row < size_.height; ++row) {
            uint8_t *line = y_.data() + static_cast<size_t>(row) * coded_.width;
            line[size_.width] = line[size_.width - 1];
        }
    }
    if (coded_.height != size_.height) {
        uint8_t *last = y_.data() + static_cast<size_t>(size_.height) * coded_.width;
        std::memcpy(last, last - coded_.width, static_cast<size_t>(coded_.width));
    }
}

bool OpenH264Encoder::encode(const uint8_t *pixels, int stride, bool forceIdr, EncodedPicture &out,
                             std::string &error) {
    out.bytes.clear();
    out.idr = false;
    if (encoder_ == nullptr) {
        error = "the encoder is not configured";
        return false;
    }
    if (pixels == nullptr || stride < size_.width * 4) {
        error = "no picture, or its rows (" + std::to_string(stride) + " bytes) are shorter than " +
                std::to_string(size_.width) + " pixels";
        return false;
    }

    toI420(pixels, stride);
    SSourcePicture picture{};
    picture.iColorFormat = videoFormatI420;
    picture.iPicWidth = coded_.width;
    picture.iPicHeight = coded_.height;
    picture.iStride[0] = coded_.width;
    picture.iStride[1] = picture.iStride[2] = coded_.width / 2;
    picture.pData[0] = y_.data();
    picture.pData[1] = u_.data();
    picture.pData[2] = v_.data();
    // Rate control spreads the bitrate over the timestamps: the pictures
    // count as coming at the frame rate planned for.
    picture.uiTimeStamp = pictures_ * 1000 / options_.maxFps;

    if (forceIdr || idrRequested_)
        encoder_->ForceIntraFrame(true);
    SFrameBSInfo info{};
    const int ret = encoder_->EncodeFrame(&picture, &info);
    ++pictures_;
    if (ret != cmResultSuccess || info.eFrameType == videoFrameTypeInvalid ||
        info.eFrameType == videoFrameTypeSkip) {
        // Whatever a decoder had may not fit what comes next.
        idrRequested_ = true;
        error = ret != cmResultSuccess
                    ? "OpenH264 failed to encode a picture (error " + std::to_string(ret) + ")"
                    : "OpenH264 produced no picture";
        return false;
    }

    // Each NAL unit already starts with a 4-byte start code, and a layer's
    // units lie one after the other in its buffer.
    for (int l = 0; l < info.iLayerNum; ++l) {
        const SLayerBSInfo &layer = info.sLayerInfo[l];
        size_t bytes = 0;
        for (int n = 0; n < layer.iNalCount; ++n)
            bytes += static_cast<size_t>(layer.pNalLengthInByte[n]);
        out.bytes.insert(out.bytes.end(), layer.pBsBuf, layer.pBsBuf + bytes);
    }
    out.idr = info.eFrameType == videoFrameTypeIDR;
    idrRequested_ = false;
    return true;
}

}  // namespace kvmvnc::encode
