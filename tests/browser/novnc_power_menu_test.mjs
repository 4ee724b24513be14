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
import {execFile} from 'node:child_process';
import path from 'node:path';

import {freePort, launchChromium, requireFiles, runTest, scratchFolder, serveNoVnc, startDaemon,
        waitFor, withPage} from './browser_support.mjs';

const [kvmvncd, kvmvncctl, novncDir] = process.argv.slice(2);
requireFiles('novnc_power_menu_test.mjs KVMVNCD KVMVNCCTL NOVNC_DIR',
             [kvmvncd, kvmvncctl, novncDir && path.join(novncDir, 'vnc.html')]);

// "power: on|off" from `kvmvncctl atx status`.
function powerState(port) {
    return new Promise(resolve => {
        execFile(kvmvncctl, ['--host', `127.0.0.1:${port}`, 'atx', 'status'], (error, stdout) => {
            const match = /^power: (on|off)$/m.exec(stdout);
            resolve(error || !match ? `error: ${error ? error.message : stdout}` : match[1]);
        });
    });
}

await runTest('noVNC power menu', async () => {
    const work = scratchFolder();
    const vncPort = await freePort();
    const httpPort = await freePort();
    // Debian's noVNC is served from another port: another origin.
    const daemon = await startDaemon(kvmvncd, work, vncPort,
                                     [`web_origins = http://127.0.0.1:${httpPort}`]);
    try {
        await serveNoVnc(novncDir, httpPort);
        const browser = await launchChromium();
        await withPage(browser, async page => {
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
        });
        if (daemon.exited() !== null)
            throw new Error(`kvmvncd exited with ${daemon.exited()}`);
    } catch (error) {
        console.error(`kvmvncd log:\n${daemon.log()}`);
        throw error;
    }
});
