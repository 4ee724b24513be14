// SPDX-License-Identifier: GPL-2.0-or-later
// noVNC's own power menu against kvmvncd, in a real browser: Debian's noVNC
// (vnc.html, the UI people serve) in Debian's Chromium, driven by
// playwright-core, connected over WebSocket to kvmvncd's RFB port on the
// virtual target. kvmvncd offers xvp by default; noVNC shows its power button; its
// Shutdown presses the power button (the target shuts down: power LED off,
// the viewer gets the no-signal screen) and its Reset powers the target on
// again. The power state is read back with kvmvncctl, over RFB.
//
//   node novnc_power_menu_test.mjs KVMVNCD KVMVNCCTL NOVNC_DIR
//
// Everything listens on loopback only and is stopped at the end.
import {spawn, execFile} from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const [kvmvncd, kvmvncctl, novncDir] = process.argv.slice(2);
if (!kvmvncd || !kvmvncctl || !novncDir) {
    console.error('usage: novnc_power_menu_test.mjs KVMVNCD KVMVNCCTL NOVNC_DIR');
    process.exit(2);
}
for (const file of [kvmvncd, kvmvncctl, path.join(novncDir, 'vnc.html')]) {
    if (!fs.existsSync(file)) {
        console.error(`missing ${file} (Debian packages novnc and chromium: packaging/dev.sh test installs them)`);
        process.exit(1);
    }
}
let chromium;
try {
    ({chromium} = await import('playwright-core'));
} catch {
    console.error(`playwright-core is not installed next to this script: npm ci in ${import.meta.dirname ?? '.'}` +
                  ' (packaging/dev.sh test does)');
    process.exit(1);
}
const chromiumPath = process.env.KVMVNC_CHROMIUM || '/usr/bin/chromium';
const timeoutMs = 30000;
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'kvmvnc-browser-'));
const cleanups = [() => fs.rmSync(work, {recursive: true, force: true})];

function freePort() {
    return new Promise((resolve, reject) => {
        const server = net.createServer();
        server.on('error', reject);
        server.listen(0, '127.0.0.1', () => {
            const {port} = server.address();
            server.close(() => resolve(port));
        });
    });
}

function sleep(ms) {
    return new Promise(resolve => setTimeout(resolve, ms));
}

async function waitFor(what, predicate) {
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

// "power: on|off" from `kvmvncctl atx status`.
function powerState(port) {
    return new Promise(resolve => {
        execFile(kvmvncctl, ['--host', `127.0.0.1:${port}`, 'atx', 'status'], (error, stdout) => {
            const match = /^power: (on|off)$/m.exec(stdout);
            resolve(error || !match ? `error: ${error ? error.message : stdout}` : match[1]);
        });
    });
}

// Serves NOVNC_DIR read-only, as a web server in front of kvmvncd would.
function serveNoVnc(port) {
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
        cleanups.push(() => server.close());
        resolve();
    }));
}

async function main() {
    const vncPort = await freePort();
    const httpPort = await freePort();
    const config = path.join(work, 'kvmvnc.ini');
    fs.writeFileSync(config, [
        '[server]', 'listen = 127.0.0.1', `port = ${vncPort}`,
        '[capture]', 'width = 1024', 'height = 768',
        '[virtual]', 'boot_seconds = 0', 'animate = false', ''].join('\n'));
    const daemonLog = [];
    const daemon = spawn(kvmvncd, ['--config', config], {stdio: ['ignore', 'pipe', 'pipe']});
    daemon.stdout.on('data', chunk => daemonLog.push(chunk.toString()));
    daemon.stderr.on('data', chunk => daemonLog.push(chunk.toString()));
    let daemonExit = null;
    daemon.on('exit', code => { daemonExit = code; });
    cleanups.push(() => { if (daemonExit === null) daemon.kill('SIGTERM'); });
    try {
        await waitFor('kvmvncd to listen', () => daemonExit === null && canConnect(vncPort));
        await serveNoVnc(httpPort);

        const browser = await chromium.launch({
            executablePath: chromiumPath,
            args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
                   '--disable-component-update', '--no-first-run'],
        });
        cleanups.push(() => browser.close());
        const page = await browser.newPage({viewport: {width: 1280, height: 900}});
        page.setDefaultTimeout(timeoutMs);
        const pageLog = [];
        page.on('console', message => pageLog.push(`${message.type()}: ${message.text()}`));
        try {
            await page.goto(`http://127.0.0.1:${httpPort}/vnc.html?host=127.0.0.1&port=${vncPort}` +
                            '&autoconnect=true&reconnect=false&resize=off');
            // Connected, and kvmvncd's xvp Init made noVNC show its power button.
            await page.locator('#noVNC_power_button:not(.noVNC_hidden)').waitFor({state: 'attached'});
            if (await powerState(vncPort) !== 'on')
                throw new Error('the virtual target is not on at the start');

            // Shutdown: the power button is clicked, the target's OS shuts down.
            await page.click('#noVNC_control_bar_handle');
            await page.click('#noVNC_power_button');
            await page.click('#noVNC_shutdown_button');
            await waitFor('the target to power off after Shutdown', async () => await powerState(vncPort) === 'off');
            console.log('Shutdown: the target powered off');

            // Reset: a forced power cycle, which also turns an off target on.
            await page.click('#noVNC_reset_button');
            await waitFor('the target to power on after Reset', async () => await powerState(vncPort) === 'on');
            console.log('Reset: the target powered on');
            if (await page.locator('#noVNC_power_button.noVNC_hidden').count() !== 0)
                throw new Error('the viewer lost its connection');
        } catch (error) {
            const shot = path.join(os.tmpdir(), 'kvmvnc-novnc-failure.png');
            await page.screenshot({path: shot}).catch(() => {});
            console.error(`browser console:\n${pageLog.join('\n')}\nscreenshot: ${shot}`);
            throw error;
        }
        if (daemonExit !== null)
            throw new Error(`kvmvncd exited with ${daemonExit}`);
    } catch (error) {
        console.error(`kvmvncd log:\n${daemonLog.join('')}`);
        throw error;
    }
}

let status = 0;
try {
    await main();
    console.log('1 passed, 0 failed');
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
