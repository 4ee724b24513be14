// SPDX-License-Identifier: GPL-2.0-or-later
// What the browser tests share: a scratch folder, kvmvncd started on a
// config of the test's, Debian's noVNC served over HTTP, headless Chromium,
// waiting with a deadline, and cleanups that run however the test ends.
// Everything listens on loopback only.
import {spawn} from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const timeoutMs = 30000;
const cleanups = [];

// Runs `body`, then every cleanup (newest first); exits 0 or 1.
export async function runTest(name, body) {
    let status = 0;
    try {
        await body();
        console.log(`${name}: passed`);
    } catch (error) {
        console.error(`FAIL: ${error.message}`);
        status = 1;
    }
    for (const cleanup of cleanups.reverse()) {
        try {
            await cleanup();
        } catch {
            // best effort: the next one still runs
        }
    }
    process.exit(status);
}

export function onCleanup(cleanup) {
    cleanups.push(cleanup);
}

export function requireFiles(usage, files) {
    if (files.some(file => !file)) {
        console.error(`usage: ${usage}`);
        process.exit(2);
    }
    for (const file of files) {
        if (!fs.existsSync(file)) {
            console.error(`missing ${file} (Debian packages novnc and chromium: packaging/dev.sh test installs them)`);
            process.exit(1);
        }
    }
}

export function scratchFolder() {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'kvmvnc-browser-'));
    onCleanup(() => fs.rmSync(work, {recursive: true, force: true}));
    return work;
}

export function freePort() {
    return new Promise((resolve, reject) => {
        const server = net.createServer();
        server.on('error', reject);
        server.listen(0, '127.0.0.1', () => {
            const {port} = server.address();
            server.close(() => resolve(port));
        });
    });
}

export function sleep(ms) {
    return new Promise(resolve => setTimeout(resolve, ms));
}

export async function waitFor(what, predicate) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        if (await predicate())
            return;
        if (Date.now() > deadline)
            throw new Error(`timed out waiting for ${what}`);
        await sleep(200);
    }
}

function canConnect(port) {
    return new Promise(resolve => {
        const socket = net.connect(port, '127.0.0.1');
        socket.on('connect', () => { socket.destroy(); resolve(true); });
        socket.on('error', () => resolve(false));
    });
}

// kvmvncd on the virtual target at 1024x768 with `lines` appended to its
// config (in `work`, where its certificate goes too); resolves once it
// listens. log() is what it printed; exited() its exit status, or null.
export async function startDaemon(kvmvncd, work, port, lines = []) {
    const config = path.join(work, 'kvmvnc.ini');
    fs.writeFileSync(config, [
        '[server]', 'listen = 127.0.0.1', `port = ${port}`,
        '[capture]', 'width = 1024', 'height = 768',
        '[virtual]', 'boot_seconds = 0', 'animate = false',
        '[security]', 'tls_dir = tls', ...lines, '[log]', `level = ${process.env.KVMVNC_BROWSER_LOG_LEVEL || 'info'}`, ''].join('\n'));
    const output = [];
    const daemon = spawn(kvmvncd, ['--config', config], {stdio: ['ignore', 'pipe', 'pipe']});
    daemon.stdout.on('data', chunk => output.push(chunk.toString()));
    daemon.stderr.on('data', chunk => output.push(chunk.toString()));
    let exit = null;
    daemon.on('exit', code => { exit = code; });
    onCleanup(() => { if (exit === null) daemon.kill('SIGTERM'); });
    const handle = {log: () => output.join(''), exited: () => exit};
    await waitFor('kvmvncd to listen', () => exit === null && canConnect(port)).catch(error => {
        console.error(`kvmvncd log:\n${handle.log()}`);
        throw error;
    });
    return handle;
}

// Serves NOVNC_DIR read-only, as a web server in front of kvmvncd would.
export function serveNoVnc(novncDir, port) {
    const types = {'.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css',
                   '.svg': 'image/svg+xml', '.png': 'image/png', '.ico': 'image/x-icon',
                   '.json': 'application/json', '.ogg': 'audio/ogg', '.mp3': 'audio/mpeg'};
    const root = fs.realpathSync(novncDir);
    const server = http.createServer((request, response) => {
        const wanted = decodeURIComponent(new URL(request.url, 'http://x').pathname);
        let file = path.join(root, path.normalize(wanted));
        try {
            file = fs.realpathSync(file);  // Debian's noVNC links into other packages
        } catch {
            response.writeHead(404).end();
            return;
        }
        if (!fs.statSync(file).isFile()) {
            response.writeHead(404).end();
            return;
        }
        response.writeHead(200, {'Content-Type': types[path.extname(file)] || 'application/octet-stream'});
        fs.createReadStream(file).pipe(response);
    });
    return new Promise(resolve => server.listen(port, '127.0.0.1', () => {
        onCleanup(() => server.close());
        resolve();
    }));
}

// Debian's Chromium, headless, with the flags a closed network needs.
// `extraArgs` for the test's own (e.g. trusting a self-signed certificate).
export async function launchChromium(extraArgs = []) {
    let chromium;
    try {
        ({chromium} = await import('playwright-core'));
    } catch {
        throw new Error(`playwright-core is not installed next to this script: npm ci in ${import.meta.dirname ?? '.'}` +
                        ' (packaging/dev.sh test does)');
    }
    const browser = await chromium.launch({
        executablePath: process.env.KVMVNC_CHROMIUM || '/usr/bin/chromium',
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
               '--disable-component-update', '--no-first-run', ...extraArgs],
    });
    onCleanup(() => browser.close());
    return browser;
}

// A page whose console is kept; on failure of `body`, a screenshot and the
// console are printed.
export async function withPage(browser, body) {
    const page = await browser.newPage({viewport: {width: 1280, height: 900}});
    page.setDefaultTimeout(timeoutMs);
    const pageLog = [];
    page.on('console', message => pageLog.push(`${message.type()}: ${message.text()}`));
    try {
        await body(page);
    } catch (error) {
        const shot = path.join(os.tmpdir(), 'kvmvnc-browser-failure.png');
        await page.screenshot({path: shot}).catch(() => {});
        console.error(`browser console:\n${pageLog.join('\n')}\nscreenshot: ${shot}`);
        throw error;
    }
}
