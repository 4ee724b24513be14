// SPDX-License-Identifier: GPL-2.0-or-later
// kvmvnc's control protocol (docs/protocol.md) spoken over noVNC's own RFB
// connection: power buttons, virtual media, typed text and health ride on
// the same WebSocket as the picture. noVNC has no extension API, so this
// module hooks two of its internals (checked against @novnc/novnc 1.7.0):
//   - RFB.messages.clientEncodings, to append our pseudo-encoding to the
//     SetEncodings message noVNC sends after ServerInit;
//   - RFB.prototype._normalMsg, to take RFB message type 200 off the receive
//     queue before noVNC would fail on an unknown type;
//   - the RFB object's _decoders (one per encoding, each with decodeRect())
//     and RFB.prototype._framebufferUpdate, to count what the picture
//     arrives as; for H.264 also its contexts' _createContext, decode,
//     _configureDecoder, _handleFrame and _handleError (core/decoders/h264.js);
//   - the display's _renderQ and _scanRenderQ (core/display.js) and
//     RFB.prototype._sendEncodings, to go on without H.264 after it failed.
import RFB from './novnc/core/rfb.js';
import { encodings, encodingName } from './novnc/core/encodings.js';

export const KVMVNC_CONTROL_ENCODING = 0x4B564D01;  // "KVM" 0x01
const MSG_TYPE = 200;

// Request opcodes (client to server).
export const Op = Object.freeze({
    AtxGetState: 0x10, AtxAction: 0x11,
    DriveGetState: 0x20, ImageList: 0x21, UploadBegin: 0x22, UploadChunk: 0x23,
    UploadFinish: 0x24, ImageDelete: 0x25, DriveInsert: 0x26, DriveEject: 0x27,
    InputGetState: 0x30, TypeText: 0x31, TypeCancel: 0x32,
    HealthGetState: 0x40,
});

// AtxAction payloads.
export const Atx = Object.freeze({ PowerClick: 1, PowerLong: 2, ResetClick: 3, WakeOnLan: 4 });

// DriveInsert modes.
export const DriveMode = Object.freeze({ CdRom: 0, Flash: 1 });

// ServerHello feature bits.
export const Feature = Object.freeze({ Atx: 1, WakeOnLan: 2, MassStorage: 4, Keyboard: 8, Health: 16 });

// Reply status codes, indexed by code.
export const STATUS_NAMES = [
    'Ok', 'Malformed', 'TooLarge', 'UnknownOpcode', 'PermissionDenied', 'Unsupported',
    'Busy', 'InvalidName', 'NotFound', 'AlreadyExists', 'NoSpace', 'BadOffset',
    'SizeMismatch', 'ChecksumMismatch', 'IoError', 'InUse', 'Failed', 'NotListening',
    'Untypable',
];

export function statusName(status) {
    return STATUS_NAMES[status] || `status ${status}`;
}

// A request the server refused: status is the code, message the server's text.
export class KvmError extends Error {
    constructor(status, text) {
        super(text || statusName(status));
        this.status = status;
        this.statusName = statusName(status);
    }
}

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder();  // replaces bad bytes rather than throwing

// Big-endian reader over one payload. 64-bit fields become Numbers: exact up
// to 2^53 bytes, far beyond any image.
class Reader {
    constructor(bytes) {
        this.bytes = bytes;
        this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        this.pos = 0;
    }
    u8() { return this.view.getUint8(this.pos++); }
    u16() { const v = this.view.getUint16(this.pos); this.pos += 2; return v; }
    u32() { const v = this.view.getUint32(this.pos); this.pos += 4; return v; }
    i32() { const v = this.view.getInt32(this.pos); this.pos += 4; return v; }
    u64() { return this.u32() * 2 ** 32 + this.u32(); }
    raw(n) {
        if (this.pos + n > this.bytes.length) throw new RangeError('payload too short');
        const v = this.bytes.subarray(this.pos, this.pos + n);
        this.pos += n;
        return v;
    }
    str8() { return utf8Decoder.decode(this.raw(this.u8())); }
    str16() { return utf8Decoder.decode(this.raw(this.u16())); }
    rest() { return this.raw(this.bytes.length - this.pos); }
}

// Big-endian writer; parts are collected and joined once.
class Writer {
    constructor() { this.parts = []; this.length = 0; }
    push(bytes) { this.parts.push(bytes); this.length += bytes.length; return this; }
    u8(v) { return this.push(Uint8Array.of(v)); }
    u32(v) { const b = new Uint8Array(4); new DataView(b.buffer).setUint32(0, v); return this.push(b); }
    u64(v) {
        const b = new Uint8Array(8);
        const view = new DataView(b.buffer);
        view.setUint32(0, Math.floor(v / 2 ** 32));
        view.setUint32(4, v >>> 0);
        return this.push(b);
    }
    // A name with a 1-byte length: refuse locally what the byte cannot say.
    name8(text) {
        const b = utf8.encode(text);
        if (b.length > 255) throw new KvmError(7, 'the name is longer than 255 bytes');
        return this.u8(b.length).push(b);
    }
    bytes() {
        const out = new Uint8Array(this.length);
        let at = 0;
        for (const p of this.parts) { out.set(p, at); at += p.length; }
        return out;
    }
}

// --- decoders for the server's messages (and the Get* replies, same layout) ---

function decodeHello(r) {
    const major = r.u8(), minor = r.u8();
    r.u16();
    const features = r.u32(), maxChunk = r.u32(), rights = r.u8();
    return { version: `${major}.${minor}`, features, maxChunk, rights, viewOnly: rights === 0 };
}

function decodeAtx(r) {
    const f = r.u8();
    return { powerLed: !!(f & 1), hddLed: !!(f & 2), busy: !!(f & 4) };
}

function decodeDrive(r) {
    const flags = r.u8(), mode = r.u8();
    r.u16();
    const size = r.u64(), name = r.str8(), problem = r.str16();
    return { inserted: !!(flags & 1), writable: !!(flags & 2), mode, size, name, problem };
}

function decodeUploadProgress(r) {
    return { confirmed: r.u64(), size: r.u64(), name: r.str8() };
}

function decodeInput(r) {
    const f = r.u8();
    return { listening: !!(f & 1), typing: !!(f & 2), layout: r.str8() };
}

function decodeTypeProgress(r) {
    return { typed: r.u32(), total: r.u32(), state: ['typing', 'done', 'cancelled', 'stopped'][r.u8()] };
}

function decodeHealth(r) {
    const flags = r.u8();
    return {
        temperatureKnown: !!(flags & 1), throttlingKnown: !!(flags & 2), tooHot: !!(flags & 4),
        capture: r.u8(), connections: r.u16(), temperature: r.i32() / 1000,
        throttling: r.u32(), fps: r.u32() / 100, width: r.u16(), height: r.u16(),
    };
}

// Pushed messages: opcode -> [event name, decoder, property that keeps the latest].
const PUSHES = {
    0x01: ['serverhello', decodeHello, 'hello'],
    0x10: ['atxstate', decodeAtx, 'atx'],
    0x20: ['drivestate', decodeDrive, 'drive'],
    0x21: ['uploadprogress', decodeUploadProgress, null],
    0x30: ['inputstate', decodeInput, 'input'],
    0x31: ['typeprogress', decodeTypeProgress, null],
    0x40: ['healthstate', decodeHealth, 'health'],
};

// --- announcing the pseudo-encoding ---
// noVNC calls RFB.messages.clientEncodings(this._sock, encs) from
// _sendEncodings() (after ServerInit, and again when quality or compression
// changes). The wrapper appends ours only for the sockets of KvmRfb objects,
// so a plain RFB on the same page stays as it was. Once H.264 failed to
// decode in this page, the KvmRfb connections (this one and those after a
// reconnect) also stop listing encoding 50: the same browser would most
// likely fail on the same stream again.
const kvmSockets = new WeakSet();
let h264FailedInPage = false;
const plainClientEncodings = RFB.messages.clientEncodings;
RFB.messages.clientEncodings = function (sock, list) {
    if (kvmSockets.has(sock)) {
        if (h264FailedInPage) list = list.filter((e) => e !== encodings.encodingH264);
        if (!list.includes(KVMVNC_CONTROL_ENCODING)) list = [...list, KVMVNC_CONTROL_ENCODING];
    }
    return plainClientEncodings.call(this, sock, list);
};

// The VideoDecoders whose decode() is watched for refusals.
const watchedDecoders = new WeakSet();

const UPLOAD_WINDOW = 4;  // chunks in flight: keeps the pipe full without flooding it

export class KvmRfb extends RFB {
    constructor(target, url, options) {
        super(target, url, options);
        kvmSockets.add(this._sock);
        this._nextRequestId = 1;
        this._pending = new Map();  // request-id -> {resolve, reject}
        this.hello = null;          // latest ServerHello, AtxState, ... (null until sent)
        this.atx = null;
        this.drive = null;
        this.input = null;
        this.health = null;
        // What the picture arrives as: rectangles and their pixels by
        // encoding number, the pictures WebCodecs gave back for H.264 and the
        // errors it reported, and the encodings of the latest update that
        // carried pixels.
        // h264Failed: H.264 failed in this page and is no longer listed;
        // h264Dropped: the H.264 rectangles that came after that, skipped.
        this.decodeStats = {
            rects: {}, pixels: {}, h264Frames: 0, h264Errors: 0, latest: [],
            h264Failed: h264FailedInPage, h264Dropped: 0,
        };
        this._updateEncodings = new Set();
        this._countDecoders();
        // Requests still waiting when the connection ends never get a Reply.
        this.addEventListener('disconnect', () => {
            for (const { reject } of this._pending.values()) reject(new Error('disconnected'));
            this._pending.clear();
        });
    }

    hasFeature(bit) { return !!this.hello && (this.hello.features & bit) !== 0; }

    // Wraps this connection's decoders (not their classes: a plain RFB on the
    // same page keeps its own). decodeRect() returns true once the rectangle
    // is consumed and false while it waits for more bytes (then it is called
    // again), so only a true counts.
    _countDecoders() {
        for (const [key, decoder] of Object.entries(this._decoders)) {
            const encoding = Number(key);
            const decodeRect = decoder.decodeRect.bind(decoder);
            const isH264 = encoding === encodings.encodingH264;
            decoder.decodeRect = (x, y, width, height, ...rest) => {
                if (isH264 && this.decodeStats.h264Failed) return this._dropH264Rect();
                const done = decodeRect(x, y, width, height, ...rest);
                if (done && isH264 && this.decodeStats.h264Failed) {
                    this.decodeStats.h264Dropped++;  // the rectangle that failed
                } else if (done) {
                    const { rects, pixels } = this.decodeStats;
                    rects[encoding] = (rects[encoding] || 0) + 1;
                    pixels[encoding] = (pixels[encoding] || 0) + width * height;
                    this._updateEncodings.add(encoding);
                }
                return done;
            };
        }
        // An H.264 rectangle is only handed to WebCodecs; whether it decoded
        // shows in the context's output and error callbacks, asynchronously.
        // A failure, there or when WebCodecs refuses the stream outright, gives
        // H.264 up (_giveUpH264).
        const h264 = this._decoders[encodings.encodingH264];
        if (!h264 || !h264._createContext) return;
        const createContext = h264._createContext.bind(h264);
        h264._createContext = (...args) => {
            const context = createContext(...args);
            const decode = context.decode.bind(context);
            const configureDecoder = context._configureDecoder.bind(context);
            const handleFrame = context._handleFrame.bind(context);
            context.decode = (payload) => {
                let frame;
                try {
                    frame = decode(payload);
                } catch (e) {
                    // No VideoDecoder, a configuration it throws on, a payload
                    // that is no H.264: noVNC would end the connection. (Once
                    // given up, _configureDecoder below throws on purpose.)
                    if (!this.decodeStats.h264Failed) this._giveUpH264(e);
                    return null;
                }
                // A picture of a decoder given up meanwhile would never come.
                return this.decodeStats.h264Failed ? null : frame;
            };
            context._configureDecoder = (...config) => {
                if (this.decodeStats.h264Failed) throw new Error('H.264 was given up');
                configureDecoder(...config);
                // noVNC only logs a picture that decode() refused at once,
                // and its queue then waits for that picture for ever.
                const decoder = context._decoder;
                if (watchedDecoders.has(decoder)) return;
                watchedDecoders.add(decoder);
                const decodeChunk = decoder.decode.bind(decoder);
                decoder.decode = (chunk) => {
                    try {
                        return decodeChunk(chunk);
                    } catch (e) {
                        this._giveUpH264(e);
                        throw e;
                    }
                };
            };
            context._handleFrame = (frame) => {
                this.decodeStats.h264Frames++;
                const shown = handleFrame(frame);
                this._dispatchDecodeStats();
                return shown;
            };
            // noVNC's own handler only throws, and the picture the display
            // waits for never comes: rendering would stop for good.
            context._handleError = (e) => this._giveUpH264(e);
            return context;
        };
    }

    // After an H.264 failure noVNC 1.7 stops drawing: its display queue waits
    // for a picture the closed decoder never delivers, and the next update
    // waits (RFB._flushing) for that queue to drain. So: close every H.264
    // decoder, take their pictures out of the queue and let it drain, stop
    // listing 50 (the server sends Tight from its next update) and ask for
    // the whole screen, which repaints what the lost pictures left stale.
    _giveUpH264(error) {
        console.error('kvmvnc: H.264 decode error, going on without H.264', error);
        this.decodeStats.h264Errors++;
        if (this.decodeStats.h264Failed) {
            this._dispatchDecodeStats();
            return;
        }
        h264FailedInPage = true;
        this.decodeStats.h264Failed = true;
        this.decodeStats.latest = [];
        this._updateEncodings.delete(encodings.encodingH264);
        const h264 = this._decoders[encodings.encodingH264];
        const lost = new Set();
        for (const context of Object.values(h264._contexts)) {
            for (const pending of context._pendingFrames) lost.add(pending);
            context._pendingFrames = [];
            if (context._decoder && context._decoder.state !== 'closed') {
                try {
                    context._decoder.close();  // no more outputs, nor errors
                } catch {
                    // already closed by its error
                }
            }
        }
        h264._resetAllContexts();
        const display = this._display;
        display._renderQ = display._renderQ.filter((a) => !(a.type === 'frame' && lost.has(a.frame)));
        display._scanRenderQ();  // draws what waited behind them; resolves a flush
        if (this._rfbConnectionState === 'connected') {
            this._sendEncodings();
            RFB.messages.fbUpdateRequest(this._sock, false, 0, 0, this._fbWidth, this._fbHeight);
        }
        this._dispatchDecodeStats();
    }

    // An H.264 rectangle after H.264 was given up (sent before the server
    // saw our SetEncodings): its bytes are skipped, as decodeRect() would
    // read them. False while they are not all in.
    _dropH264Rect() {
        const sock = this._sock;
        if (sock.rQwait('h264 header', 8)) return false;
        const length = new DataView(sock.rQpeekBytes(4).buffer).getUint32(0);
        if (sock.rQwait('h264 payload', 8 + length)) return false;
        sock.rQskipBytes(8 + length);
        this.decodeStats.h264Dropped++;
        return true;
    }

    // noVNC calls this per message while an update's rectangles come in; true
    // means the whole update is in.
    _framebufferUpdate() {
        const done = super._framebufferUpdate();
        if (done && this._updateEncodings.size > 0) {
            this.decodeStats.latest = [...this._updateEncodings].sort((a, b) => a - b);
            this._updateEncodings.clear();
            this._dispatchDecodeStats();
        }
        return done;
    }

    _dispatchDecodeStats() {
        const stats = this.decodeStats;
        this.dispatchEvent(new CustomEvent('decodestats', {
            detail: {
                ...stats,
                rects: { ...stats.rects },
                pixels: { ...stats.pixels },
                latestNames: stats.latest.map(encodingName),
            },
        }));
    }

    // noVNC calls this once per message with at least one byte queued. A
    // type-200 message is handled only once all of it is buffered; returning
    // false tells noVNC to call again when more data arrives, with the queue
    // untouched (we only peeked).
    _normalMsg() {
        const sock = this._sock;
        // Inside a FramebufferUpdate the next bytes are rectangles, not a type.
        if (this._FBU.rects > 0 || sock.rQpeek8() !== MSG_TYPE) return super._normalMsg();
        if (sock.rQwait('kvmvnc header', 8)) return false;
        const header = new DataView(sock.rQpeekBytes(8).buffer);
        const opcode = header.getUint8(1), length = header.getUint32(4);
        if (sock.rQwait('kvmvnc payload', 8 + length)) return false;
        sock.rQskipBytes(8);
        const payload = sock.rQshiftBytes(length);  // a copy: the queue is reused
        try {
            this._kvmMessage(opcode, payload);
        } catch (e) {
            // A malformed message must not take the picture down with it.
            console.error('kvmvnc: bad message', opcode, e);
        }
        return true;
    }

    _kvmMessage(opcode, payload) {
        const r = new Reader(payload);
        if (opcode === 0x02) {  // Reply
            const id = r.u32(), status = r.u16();
            r.u16();
            const waiter = this._pending.get(id);
            if (waiter) {
                this._pending.delete(id);
                waiter.resolve({ status, body: r.rest() });
            }
            return;
        }
        const push = PUSHES[opcode];
        if (!push) return;  // a newer server's message: the length let us skip it
        const [event, decode, keep] = push;
        const detail = decode(r);
        if (keep) this[keep] = detail;
        this.dispatchEvent(new CustomEvent(event, { detail }));
    }

    // Sends one request; resolves with the Reply's status and body (the result
    // on Ok, the server's text otherwise). Rejects only if the connection ends.
    request(opcode, payload = new Uint8Array(0)) {
        if (this._rfbConnectionState !== 'connected') {
            return Promise.reject(new Error('not connected'));
        }
        const id = this._nextRequestId;
        this._nextRequestId = (id + 1) >>> 0 || 1;
        const message = new Writer().u8(MSG_TYPE).u8(opcode).push(new Uint8Array(2))
            .u32(id).u32(payload.length).push(payload).bytes();
        const promise = new Promise((resolve, reject) => this._pending.set(id, { resolve, reject }));
        // noVNC flushes after each of its messages, so the send queue is empty
        // here and ours goes out whole, never interleaved with noVNC's bytes.
        this._sock.sQpushBytes(message);
        this._sock.flush();
        return promise;
    }

    // Like request(), but a status other than Ok throws a KvmError; resolves
    // with a Reader over the result.
    async _call(opcode, payload) {
        const { status, body } = await this.request(opcode, payload);
        if (status !== 0) throw new KvmError(status, utf8Decoder.decode(body));
        return new Reader(body);
    }

    async atxAction(action) { await this._call(Op.AtxAction, Uint8Array.of(action)); }
    async atxState() { return decodeAtx(await this._call(Op.AtxGetState)); }
    async driveState() { return decodeDrive(await this._call(Op.DriveGetState)); }
    async inputState() { return decodeInput(await this._call(Op.InputGetState)); }
    async healthState() { return decodeHealth(await this._call(Op.HealthGetState)); }

    // [{name, size, confirmed, incomplete}]
    async listImages() {
        const r = await this._call(Op.ImageList);
        const images = [];
        for (let n = r.u32(); n > 0; n--) {
            const size = r.u64(), confirmed = r.u64(), flags = r.u8();
            images.push({ size, confirmed, incomplete: !!(flags & 1), name: r.str8() });
        }
        return images;
    }

    async insert(name, mode, writable = false) {
        await this._call(Op.DriveInsert,
            new Writer().u8(mode).u8(writable ? 1 : 0).name8(name).bytes());
    }
    async eject() { await this._call(Op.DriveEject); }
    async deleteImage(name) { await this._call(Op.ImageDelete, new Writer().name8(name).bytes()); }

    // Resolves with {total, skipped: [code points]}; progress comes as
    // 'typeprogress' events. flags bit 0: leave out what the layout cannot type.
    async typeText(text, flags = 0) {
        const r = await this._call(Op.TypeText, new Writer().u8(flags).push(utf8.encode(text)).bytes());
        const total = r.u32(), skipped = [];
        for (let n = r.u16(); n > 0; n--) skipped.push(r.u32());
        return { total, skipped };
    }
    async typeCancel() { await this._call(Op.TypeCancel); }

    // Uploads a File (or Blob with a name) as image `name`. onProgress({done,
    // size}) follows the chunk replies; the upload resumes where an earlier
    // attempt with the same name, size and checksum stopped.
    async upload(file, onProgress = () => {}, name = file.name) {
        if (!crypto.subtle) {
            // Browsers offer SHA-256 only to secure pages (https, or localhost).
            throw new Error('uploading needs the page over https (no crypto.subtle here)');
        }
        // digest() wants the whole image in memory: read it once, reuse it for
        // the chunks. Fine for ISOs up to a few GiB on a desktop browser.
        const data = new Uint8Array(await file.arrayBuffer());
        const sha256 = new Uint8Array(await crypto.subtle.digest('SHA-256', data));
        const size = data.length;
        const begin = await this._call(Op.UploadBegin,
            new Writer().u64(size).push(sha256).name8(name).bytes());
        const uploadId = begin.u32();
        let offset = begin.u64();
        const chunkSize = Math.min((this.hello && this.hello.maxChunk) || 262144, 262144);
        onProgress({ done: offset, size });

        const inFlight = [];  // [promise of the reply, end offset of the chunk]
        const settleOldest = async () => {
            const [reply, end] = inFlight.shift();
            await reply;
            onProgress({ done: end, size });
        };
        while (offset < size) {
            const end = Math.min(offset + chunkSize, size);
            const payload = new Writer().u32(uploadId).u64(offset)
                .push(data.subarray(offset, end)).bytes();
            const reply = this._call(Op.UploadChunk, payload);
            // After a refusal the later chunks fail too (BadOffset) and nobody
            // awaits them: keep those rejections from counting as unhandled.
            reply.catch(() => {});
            inFlight.push([reply, end]);
            offset = end;
            if (inFlight.length >= UPLOAD_WINDOW) await settleOldest();
        }
        while (inFlight.length > 0) await settleOldest();
        await this._call(Op.UploadFinish, new Writer().u32(uploadId).bytes());
        return name;
    }
}

export default KvmRfb;
