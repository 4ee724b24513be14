// SPDX-License-Identifier: GPL-2.0-or-later
// The panel in Chromium while the target plays a video (type `video` at its
// terminal): with `[h264] enabled` the daemon sends H.264 (encoding 50),
// which the panel decodes with WebCodecs, says so in its status bar and
// counts. Paused, the last H.264 picture stays (`sharpen = false`: nothing
// is sent again as pixels), and the canvas must match the daemon's
// framebuffer, as a second viewer that lists Raw only saves it, within
// 30 dB PSNR. With H.264 off the same video arrives as Tight. The h264_*
// modes break H.264 decoding once while the video plays: the panel must
// give H.264 up (SetEncodings without 50, a full update) and keep showing
// the video, as Tight:
//   h264_corrupt  one picture corrupted: WebCodecs reports an EncodingError
//   h264_refused  VideoDecoder.decode() refuses a picture (throws)
//   h264_throws   noVNC's decode throws (as its parser does on a payload
//                 without a start code, or without WebCodecs)
//
//   node panel_h264_test.mjs MODE KVMVNCD KVMVNCCTL KVMVNC_RAW_SNAPSHOT
import {execFile} from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import {freePort, launchChromium, requireFiles, runTest, scratchFolder, sleep, startDaemon,
        timeoutMs, waitFor, withPage} from './browser_support.mjs';

const [mode, kvmvncd, kvmvncctl, rawSnapshot] = process.argv.slice(2);
const faults = ['h264_corrupt', 'h264_refused', 'h264_throws'];
const usage = `panel_h264_test.mjs h264|tight|${faults.join('|')} KVMVNCD KVMVNCCTL KVMVNC_RAW_SNAPSHOT`;
if (!['h264', 'tight', ...faults].includes(mode)) {
    console.error(`usage: ${usage}`);
    process.exit(2);
}
requireFiles(usage, [kvmvncd, kvmvncctl, rawSnapshot]);
const h264 = mode !== 'tight';

const user = 'alice';
const password = 'correct horse';
const H264 = 50;
const TIGHT = 7;
const minPsnr = 30;
// No 64x64 block much worse: a part of the screen left wrong (not repainted,
// misplaced) shows there long before it moves the whole picture's figure.
const minBlockPsnr = 20;

function run(program, args, env = {}) {
    return new Promise(resolve => {
        execFile(program, args, {env: {...process.env, ...env}}, (error, stdout, stderr) =>
            resolve({status: error ? error.code ?? 1 : 0, out: stdout + stderr}));
    });
}

// What the panel says about the picture: the status bar's encoding badge
// and its counts (panel.js showDecodeStats).
function decodeStats(page) {
    return page.evaluate(() => {
        const badge = document.getElementById('kvm-encoding');
        return {
            text: badge.hidden ? '' : badge.textContent,
            rects: JSON.parse(badge.dataset.rects || '{}'),
            pixels: JSON.parse(badge.dataset.pixels || '{}'),
            h264Frames: Number(badge.dataset.h264Frames || 0),
            h264Errors: Number(badge.dataset.h264Errors || 0),
            h264Failed: badge.dataset.h264Failed === 'true',
        };
    });
}

// A hash of the whole canvas, to see it stop changing.
function canvasHash(page) {
    return page.evaluate(() => {
        const canvas = document.querySelector('#kvm-screen canvas');
        if (!canvas || canvas.width < 100)
            return null;
        const data = canvas.getContext('2d', {willReadFrequently: true})
            .getImageData(0, 0, canvas.width, canvas.height).data;
        let hash = 0;
        for (let i = 0; i < data.length; i += 4)
            hash = (hash * 31 + data[i] + 7 * data[i + 1] + 13 * data[i + 2]) >>> 0;
        return {width: canvas.width, height: canvas.height, hash};
    });
}

// The canvas's pixels, RGBA, as a Buffer.
async function canvasPixels(page) {
    const base64 = await page.evaluate(() => {
        const canvas = document.querySelector('#kvm-screen canvas');
        const data = canvas.getContext('2d', {willReadFrequently: true})
            .getImageData(0, 0, canvas.width, canvas.height).data;
        let text = '';
        for (let i = 0; i < data.length; i += 0x8000)
            text += String.fromCharCode.apply(null, data.subarray(i, i + 0x8000));
        return btoa(text);
    });
    return Buffer.from(base64, 'base64');
}

// A binary PPM (P6, maxval 255), as kvmvnc_raw_snapshot writes it.
function readPpm(file) {
    const bytes = fs.readFileSync(file);
    const header = bytes.toString('latin1', 0, 64).match(/^P6\s+(\d+)\s+(\d+)\s+255\s/);
    if (!header)
        throw new Error(`${file} is not a binary PPM`);
    const [width, height] = [Number(header[1]), Number(header[2])];
    return {width, height, rgb: bytes.subarray(header[0].length)};
}

// The canvas's RGBA as a binary PPM, to look at a failure.
function writePpm(file, rgba, width, height) {
    const rgb = Buffer.alloc(width * height * 3);
    for (let p = 0; p < width * height; ++p)
        rgba.copy(rgb, p * 3, p * 4, p * 4 + 3);
    fs.writeFileSync(file, Buffer.concat([Buffer.from(`P6\n${width} ${height}\n255\n`), rgb]));
}

// PSNR over R, G and B between an RGBA canvas and an RGB picture; also the
// worst 64x64 block's, so a wrong area shows even when the rest is right.
function psnr(rgba, reference) {
    const {width, height, rgb} = reference;
    const block = 64;
    const blocksX = Math.ceil(width / block);
    const blockErrors = new Float64Array(blocksX * Math.ceil(height / block));
    const blockCounts = new Float64Array(blockErrors.length);
    let total = 0;
    for (let y = 0; y < height; ++y) {
        for (let x = 0; x < width; ++x) {
            const p = y * width + x;
            let error = 0;
            for (let c = 0; c < 3; ++c) {
                const d = rgba[p * 4 + c] - rgb[p * 3 + c];
                error += d * d;
            }
            total += error;
            const b = Math.floor(y / block) * blocksX + Math.floor(x / block);
            blockErrors[b] += error;
            blockCounts[b] += 3;
        }
    }
    const db = mse => (mse === 0 ? Infinity : 10 * Math.log10(255 * 255 / mse));
    let worst = Infinity;
    for (let b = 0; b < blockErrors.length; ++b)
        worst = Math.min(worst, db(blockErrors[b] / blockCounts[b]));
    return {whole: db(total / (width * height * 3)), worstBlock: worst};
}

async function logIn(page) {
    await page.locator('#kvm-login-user').waitFor({state: 'visible'});
    await page.fill('#kvm-login-user', user);
    await page.fill('#kvm-login-password', password);
    await page.click('#kvm-login-button');
}

// Breaks the next picture noVNC hands to WebCodecs. noVNC looks
// EncodedVideoChunk up at each picture, so replacing it once reaches the
// panel's decoder without a hook in the panel.
function breakNextPicture(page, fault) {
    return page.evaluate(fault => {
        const Chunk = window.EncodedVideoChunk;
        window.EncodedVideoChunk = function (init) {
            window.EncodedVideoChunk = Chunk;
            if (fault === 'h264_throws')
                throw new TypeError('no EncodedVideoChunk (injected by the test)');
            if (fault === 'h264_refused')
                return {...init};  // no EncodedVideoChunk: decode() throws a TypeError
            // Every fourth byte from the ninth on (past the start code and
            // the first NAL header) set to 0xff, as the Web Platform Tests'
            // "decode corrupt frame" does.
            const data = new Uint8Array(init.data);
            for (let i = 8; i < data.length; i += 4)
                data[i] = 0xff;
            return new Chunk({...init, data});
        };
    }, fault);
}

const title = {h264: 'H.264 video', tight: 'Tight video', h264_corrupt: 'corrupt H.264 picture',
               h264_refused: 'H.264 picture refused', h264_throws: 'H.264 decode throws'}[mode];
await runTest(`the panel, ${title}`, async () => {
    const work = scratchFolder();
    const port = await freePort();
    const users = path.join(work, 'users');
    const added = await run(kvmvncctl, ['passwd', '--users-file', users, user],
                            {KVMVNC_PASSWORD: password});
    if (added.status !== 0)
        throw new Error(`kvmvncctl passwd: ${added.out}`);
    const daemon = await startDaemon(kvmvncd, work, port, [
        'users_file = users', '[h264]', `enabled = ${h264}`, ...(h264 ? ['sharpen = false'] : [])]);
    try {
        if (h264 && !daemon.log().includes('H.264 (encoding 50) on'))
            throw new Error('kvmvncd does not send H.264 (built without OpenH264?)');
        const browser = await launchChromium(['--ignore-certificate-errors']);
        await withPage(browser, async page => {
            // The page's WebSockets, for the test to cut the panel's. Plain
            // ones: noVNC wants the properties on the object's prototype.
            await page.addInitScript(() => {
                const Native = window.WebSocket;
                window.kvmTestSockets = [];
                window.WebSocket = Object.assign(function (...args) {
                    const socket = new Native(...args);
                    window.kvmTestSockets.push(socket);
                    return socket;
                }, {CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3, prototype: Native.prototype});
            });
            await page.goto(`https://127.0.0.1:${port}/`);
            await logIn(page);
            await waitFor('the target\'s screen', async () => {
                const canvas = await canvasHash(page);
                return canvas && canvas.width === 1024 && canvas.height === 768;
            });
            // noVNC lists encoding 50 only where WebCodecs decodes H.264
            // (a secure page, a browser that decodes its probe frame).
            const support = await page.evaluate(async () => ({
                secure: window.isSecureContext,
                videoDecoder: 'VideoDecoder' in window,
                novnc: (await import('./novnc/core/util/browser.js')).supportsWebCodecsH264Decode,
            }));
            if (!support.novnc)
                throw new Error(`noVNC finds no H.264 decoding in this browser: ${JSON.stringify(support)}`);

            await page.locator('#kvm-screen canvas').click({position: {x: 400, y: 200}});
            await page.keyboard.type('video');
            await page.keyboard.press('Enter');

            if (faults.includes(mode)) {
                await waitFor('H.264 pictures decoded in the panel', async () => {
                    const stats = await decodeStats(page);
                    if (stats.h264Errors > 0)
                        throw new Error(`H.264 decode errors before the test broke one: ${JSON.stringify(stats)}`);
                    return stats.text === 'H.264' && stats.h264Frames >= 20;
                });
                await breakNextPicture(page, mode);
                await waitFor('the panel to notice the broken picture', async () =>
                    (await decodeStats(page)).h264Errors > 0);
                const failed = await decodeStats(page);
                console.log(`failed: ${JSON.stringify(failed)}`);

                // The video goes on as Tight: many full pictures of it, the
                // canvas changing all along, and the badge says why.
                const hashes = new Set();
                await waitFor('the video as Tight after the decode error', async () => {
                    const stats = await decodeStats(page);
                    hashes.add((await canvasHash(page)).hash);
                    const tight = (stats.pixels[TIGHT] || 0) - (failed.pixels[TIGHT] || 0);
                    return stats.text === 'Tight (H.264 failed)' && stats.h264Failed &&
                           tight > 20 * 1024 * 768 && hashes.size >= 10;
                });
                const after = await decodeStats(page);
                console.log(`after: ${JSON.stringify(after)}`);
                if (after.h264Errors !== failed.h264Errors)
                    throw new Error(`more H.264 decode errors: ${after.h264Errors}`);
                // Pictures already on their way were dropped, not decoded.
                if (after.rects[H264] !== failed.rects[H264] || after.h264Frames !== failed.h264Frames)
                    throw new Error('H.264 was still decoded after the decode error: ' +
                                    `${JSON.stringify(failed)} then ${JSON.stringify(after)}`);

                // A new connection from this page does not list 50 again: the
                // video, still playing, comes as Tight only (its counts start
                // from zero).
                await page.evaluate(() => window.kvmTestSockets.at(-1).close());
                await page.locator('#kvm-reconnect-button').click();
                await logIn(page);
                await waitFor('the video as Tight only after reconnecting', async () => {
                    const stats = await decodeStats(page);
                    return stats.text === 'Tight (H.264 failed)' && !stats.rects[H264] &&
                           !stats.h264Frames && (stats.pixels[TIGHT] || 0) > 20 * 1024 * 768;
                });
                console.log(`reconnected: ${JSON.stringify(await decodeStats(page))}`);
            } else if (h264) {
                await waitFor('H.264 pictures decoded in the panel', async () => {
                    const stats = await decodeStats(page);
                    if (stats.h264Errors > 0)
                        throw new Error(`H.264 decode errors: ${JSON.stringify(stats)}`);
                    return stats.text === 'H.264' && stats.rects[H264] > 0 && stats.h264Frames >= 20;
                });
                const playing = await decodeStats(page);
                console.log(`playing: ${JSON.stringify(playing)}`);

                // Paused: the daemon sends the last moving picture as H.264
                // and then, without the sharpening pass, nothing more than
                // the player's small "paused" change.
                await page.keyboard.press('Space');
                let last = null;
                let stillSince = Date.now();
                const deadline = Date.now() + timeoutMs;
                for (;;) {
                    const now = {canvas: await canvasHash(page), stats: await decodeStats(page)};
                    const same = last && now.canvas.hash === last.canvas.hash &&
                                 now.stats.h264Frames === last.stats.h264Frames;
                    if (!same)
                        stillSince = Date.now();
                    else if (Date.now() - stillSince >= 2000)
                        break;
                    if (Date.now() > deadline)
                        throw new Error('the picture did not settle after pausing');
                    last = now;
                    await sleep(250);
                }
                const paused = await decodeStats(page);
                console.log(`paused: ${JSON.stringify(paused)}`);
                if (paused.h264Errors > 0)
                    throw new Error(`H.264 decode errors: ${paused.h264Errors}`);
                const pixelsSince = encoding =>
                    (paused.pixels[encoding] || 0) - (playing.pixels[encoding] || 0);
                const otherPixels = Object.keys(paused.pixels).filter(e => Number(e) !== H264)
                    .reduce((sum, e) => sum + pixelsSince(e), 0);
                if (otherPixels > 1024 * 768 / 10)
                    throw new Error(`${otherPixels} pixels came as other encodings after pausing: ` +
                                    'the picture compared would not be H.264\'s');

                const referenceFile = path.join(work, 'reference.ppm');
                const snapshot = await run(rawSnapshot, [
                    '127.0.0.1', String(port), user, path.join(work, 'tls', 'cert.pem'),
                    referenceFile], {KVMVNC_PASSWORD: password});
                if (snapshot.status !== 0)
                    throw new Error(`kvmvnc_raw_snapshot: ${snapshot.out}`);
                const reference = readPpm(referenceFile);
                const canvas = await canvasPixels(page);
                if ((await canvasHash(page)).hash !== last.canvas.hash)
                    throw new Error('the canvas changed while the reference was taken');
                if (reference.width !== 1024 || reference.height !== 768 ||
                    canvas.length !== 1024 * 768 * 4)
                    throw new Error(`sizes differ: reference ${reference.width}x${reference.height}, ` +
                                    `canvas ${canvas.length} bytes`);
                const quality = psnr(canvas, reference);
                console.log(`paused picture against the framebuffer: ${quality.whole.toFixed(2)} dB ` +
                            `(worst 64x64 block ${quality.worstBlock.toFixed(2)} dB)`);
                if (!(quality.whole >= minPsnr) || !(quality.worstBlock >= minBlockPsnr)) {
                    const saved = path.join(path.dirname(work), 'kvmvnc-h264-reference.ppm');
                    fs.copyFileSync(referenceFile, saved);
                    writePpm(path.join(path.dirname(work), 'kvmvnc-h264-canvas.ppm'), canvas, 1024, 768);
                    throw new Error(`the panel's picture is ${quality.whole.toFixed(2)} dB from the ` +
                                    `framebuffer (worst block ${quality.worstBlock.toFixed(2)} dB), ` +
                                    `below ${minPsnr} dB (${minBlockPsnr} dB); reference: ${saved}, canvas next to it`);
                }
            } else {
                // The video changes most of the screen every frame: wait for
                // a good number of updates of it, all Tight.
                let first = null;
                await waitFor('the video as Tight', async () => {
                    const stats = await decodeStats(page);
                    first ??= stats.pixels[TIGHT] || 0;
                    return stats.text === 'Tight' && (stats.pixels[TIGHT] || 0) - first > 20 * 1024 * 768;
                });
                const stats = await decodeStats(page);
                console.log(`playing: ${JSON.stringify(stats)}`);
                if (stats.rects[H264] || stats.h264Frames)
                    throw new Error(`H.264 arrived although the daemon has it off: ${JSON.stringify(stats)}`);
            }
        });
        if (daemon.exited() !== null)
            throw new Error(`kvmvncd exited with ${daemon.exited()}`);
    } catch (error) {
        console.error(`kvmvncd log:\n${daemon.log()}`);
        throw error;
    }
});
