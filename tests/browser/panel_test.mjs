// SPDX-License-Identifier: GPL-2.0-or-later
// kvmvnc's own browser panel, as a user meets it: Chromium opens
// https://<kvmvncd>/ (the daemon's self-signed certificate accepted, as a
// user would once), logs in with an account, sees the virtual target's
// screen, types into it, uploads a small image and inserts it as a flash
// drive (kvmvncctl confirms), then presses the power button and watches the
// target shut down: the power LED goes out and the screen goes dark.
//
//   node panel_test.mjs KVMVNCD KVMVNCCTL
import {execFile} from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import {freePort, launchChromium, requireFiles, runTest, scratchFolder, startDaemon, waitFor,
        withPage} from './browser_support.mjs';

const [kvmvncd, kvmvncctl] = process.argv.slice(2);
requireFiles('panel_test.mjs KVMVNCD KVMVNCCTL', [kvmvncd, kvmvncctl]);

const user = 'alice';
const password = 'correct horse';

function ctl(args, env = {}) {
    return new Promise(resolve => {
        execFile(kvmvncctl, args, {env: {...process.env, ...env}}, (error, stdout, stderr) =>
            resolve({status: error ? error.code ?? 1 : 0, out: stdout + stderr}));
    });
}

// Sums of the canvas's pixels: the whole picture's mean brightness, and a
// fingerprint of a region (the virtual desktop's terminal).
function canvasFacts(page) {
    return page.evaluate(() => {
        const canvas = document.querySelector('canvas');
        if (!canvas || canvas.width < 100)
            return null;
        const context = canvas.getContext('2d', {willReadFrequently: true});
        const all = context.getImageData(0, 0, canvas.width, canvas.height).data;
        let brightness = 0;
        for (let i = 0; i < all.length; i += 4 * 13)
            brightness += all[i] + all[i + 1] + all[i + 2];
        const region = context.getImageData(0, 0, Math.min(720, canvas.width),
                                            Math.min(330, canvas.height)).data;
        let fingerprint = 0;
        for (let i = 0; i < region.length; i += 4)
            fingerprint = (fingerprint * 31 + region[i] + 7 * region[i + 1] + 13 * region[i + 2]) >>> 0;
        return {width: canvas.width, mean: brightness / (all.length / (4 * 13)) / 3, fingerprint};
    });
}

await runTest('the browser panel', async () => {
    const work = scratchFolder();
    const port = await freePort();
    const users = path.join(work, 'users');
    const added = await ctl(['passwd', '--users-file', users, user], {KVMVNC_PASSWORD: password});
    if (added.status !== 0)
        throw new Error(`kvmvncctl passwd: ${added.out}`);
    const daemon = await startDaemon(kvmvncd, work, port, [
        'users_file = users', '[atx]', 'target = virtual', 'click_ms = 50', '[msd]',
        'target = virtual', 'storage = images']);
    const asAlice = args => ctl(['--host', `127.0.0.1:${port}`, '--user', user, '--ca-file',
                                 path.join(work, 'tls', 'cert.pem'), ...args],
                                {KVMVNC_PASSWORD: password});
    try {
        if (!daemon.log().includes('browser panel on https://'))
            throw new Error('kvmvncd serves no panel');
        const browser = await launchChromium(['--ignore-certificate-errors']);
        await withPage(browser, async page => {
            // Plain HTTP is sent to HTTPS: logins must not travel in the clear.
            await page.goto(`http://127.0.0.1:${port}/`);
            if (!page.url().startsWith('https://'))
                throw new Error(`not redirected to https: ${page.url()}`);

            await page.locator('#kvm-login-user').waitFor({state: 'visible'});
            await page.fill('#kvm-login-user', user);
            await page.fill('#kvm-login-password', password);
            await page.click('#kvm-login-button');
            await waitFor('the target\'s screen', async () => {
                const facts = await canvasFacts(page);
                return facts && facts.width === 1024 && facts.mean > 20;
            });
            const desktop = (await canvasFacts(page)).mean;
            await waitFor('the power LED lit', async () =>
                page.locator('#kvm-power-led.on').count().then(n => n === 1));
            console.log('logged in: the screen, the power LED on');

            // Typing into the target's terminal changes it.
            const before = (await canvasFacts(page)).fingerprint;
            await page.locator('canvas').click({position: {x: 400, y: 200}});
            await page.keyboard.type('echo kvm');
            await waitFor('the typed text on the target\'s screen', async () =>
                (await canvasFacts(page)).fingerprint !== before);
            console.log('typed: the terminal changed');

            // A small image, uploaded and inserted as a flash drive.
            const image = path.join(work, 'rescue.img');
            fs.writeFileSync(image, crypto.randomBytes(300 * 1024));
            await page.setInputFiles('#kvm-upload-input', image);
            await page.click('#kvm-upload-button');
            await page.locator('#kvm-upload-status', {hasText: 'done'}).waitFor();
            const entry = page.locator('#kvm-image-list li[data-name="rescue.img"]');
            await entry.waitFor();
            await entry.locator('button', {hasText: /flash/i}).click();
            await page.locator('#kvm-drive-state', {hasText: 'rescue.img'}).waitFor();
            const status = await asAlice(['msd', 'status']);
            if (!/rescue\.img/.test(status.out))
                throw new Error(`kvmvncctl does not see the drive inserted: ${status.out}`);
            console.log('uploaded and inserted: rescue.img');

            // The power button: the target shuts down, the screen goes dark.
            await page.click('#kvm-power-button');
            await waitFor('the power LED to go out', async () =>
                page.locator('#kvm-power-led.on').count().then(n => n === 0));
            // The no-signal screen: dark grey with a little text.
            await waitFor('the screen to go dark',
                          async () => (await canvasFacts(page)).mean < desktop / 2);
            console.log('power: the LED went out and the screen dark');
        });
        if (daemon.exited() !== null)
            throw new Error(`kvmvncd exited with ${daemon.exited()}`);
    } catch (error) {
        console.error(`kvmvncd log:\n${daemon.log()}`);
        throw error;
    }
});
