// SPDX-License-Identifier: GPL-2.0-or-later
// A browser logs in over wss: Debian's noVNC in Debian's Chromium connects
// with encrypt=1 to kvmvncd's RFB port, which answers the TLS ClientHello
// with its self-signed certificate (trusted here with Chromium's
// --ignore-certificate-errors, as a user would accept it once), upgrades to
// WebSocket and offers VeNCrypt Plain inside. The account comes from
// `kvmvncctl passwd`. A wrong password is refused; the right one shows the
// target's screen, and kvmvncd says the login came over wss.
//
//   node novnc_wss_login_test.mjs KVMVNCD KVMVNCCTL NOVNC_DIR
import {execFile} from 'node:child_process';
import path from 'node:path';

import {freePort, launchChromium, requireFiles, runTest, scratchFolder, serveNoVnc, startDaemon,
        waitFor, withPage} from './browser_support.mjs';

const [kvmvncd, kvmvncctl, novncDir] = process.argv.slice(2);
requireFiles('novnc_wss_login_test.mjs KVMVNCD KVMVNCCTL NOVNC_DIR',
             [kvmvncd, kvmvncctl, novncDir && path.join(novncDir, 'vnc.html')]);

function addUser(usersFile, name, password) {
    return new Promise((resolve, reject) => {
        execFile(kvmvncctl, ['passwd', '--users-file', usersFile, name],
                 {env: {...process.env, KVMVNC_PASSWORD: password}}, (error, stdout, stderr) => {
                     if (error)
                         reject(new Error(`kvmvncctl passwd: ${stderr}`));
                     else
                         resolve();
                 });
    });
}

// Opens noVNC on wss and answers its credentials dialog.
async function logIn(page, url, user, password) {
    await page.goto(url);
    await page.locator('#noVNC_username_input').waitFor({state: 'visible'});
    // noVNC moves the focus into its dialog on its own, which can land a
    // fill in the other field: fill until both hold what they should.
    await waitFor('the credentials dialog filled in', async () => {
        await page.fill('#noVNC_username_input', user);
        await page.fill('#noVNC_password_input', password);
        return await page.inputValue('#noVNC_username_input') === user &&
               await page.inputValue('#noVNC_password_input') === password;
    });
    await page.click('#noVNC_credentials_button');
}

await runTest('noVNC over wss with an account', async () => {
    const work = scratchFolder();
    const vncPort = await freePort();
    const httpPort = await freePort();
    await addUser(path.join(work, 'users'), 'alice', 'correct horse');
    // Debian's noVNC is served from another port: another origin.
    const daemon = await startDaemon(kvmvncd, work, vncPort,
                                     ['users_file = users', `web_origins = http://127.0.0.1:${httpPort}`]);
    try {
        await serveNoVnc(novncDir, httpPort);
        const browser = await launchChromium(['--ignore-certificate-errors']);
        const url = `http://127.0.0.1:${httpPort}/vnc.html?host=127.0.0.1&port=${vncPort}` +
                    '&encrypt=1&autoconnect=true&reconnect=false&resize=off';

        await withPage(browser, async page => {
            await logIn(page, url, 'alice', 'battery staple');
            await waitFor('the wrong password to be refused',
                          () => daemon.log().includes("wrong user name or password for 'alice'"));
            console.log('a wrong password: refused');
        });

        await withPage(browser, async page => {
            await logIn(page, url, 'alice', 'correct horse');
            await waitFor('alice to be admitted over wss',
                          () => daemon.log().includes('admitted as alice (Plain over wss)'));
            // The target's desktop, 1024x768, is on noVNC's canvas.
            await waitFor('the picture on the canvas', () => page.evaluate(() => {
                const canvas = document.querySelector('#noVNC_container canvas');
                if (!canvas || canvas.width !== 1024 || canvas.height !== 768)
                    return false;
                const pixels = canvas.getContext('2d').getImageData(0, 0, 1024, 768).data;
                let lit = 0;
                for (let i = 0; i < pixels.length; i += 4 * 97)
                    lit += pixels[i] + pixels[i + 1] + pixels[i + 2] > 0 ? 1 : 0;
                return lit > 1000;
            }));
            console.log('the right password: the target\'s screen, over wss');
        });
        if (daemon.exited() !== null)
            throw new Error(`kvmvncd exited with ${daemon.exited()}`);
    } catch (error) {
        console.error(`kvmvncd log:\n${daemon.log()}`);
        throw error;
    }
});
