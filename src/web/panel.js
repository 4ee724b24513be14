// SPDX-License-Identifier: GPL-2.0-or-later
// The panel's page logic: one KvmRfb connection shows the screen and feeds
// the side panel; every control is a request on that same connection.
import { KvmRfb, KvmError, Atx, DriveMode, Feature } from './kvmvnc_control.js';

const $ = (id) => document.getElementById(id);

let rfb = null;
let connected = false;     // between noVNC's 'connect' and 'disconnect'
let securityReason = '';
let uploading = false;     // one upload at a time from this page

// ws on an http page, wss on https, to the page's own host; ?port=N picks
// another port on that host (a page served by a plain web server in tests).
function rfbUrl() {
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const port = new URLSearchParams(location.search).get('port');
    const host = port && /^\d{1,5}$/.test(port) ? `${location.hostname}:${port}` : location.host;
    return `${scheme}//${host}/`;
}

function connect() {
    securityReason = '';
    connected = false;
    images = [];
    $('kvm-status').textContent = 'connecting…';
    $('kvm-encoding').hidden = true;
    $('kvm-disconnected').hidden = true;
    for (const message of document.querySelectorAll('.message')) message.textContent = '';
    rfb = new KvmRfb($('kvm-screen'), rfbUrl(), { shared: true });
    rfb.scaleViewport = true;     // the whole target screen, fitted to the window
    rfb.resizeSession = false;    // the target's resolution is not ours to change
    rfb.focusOnClick = true;
    rfb.addEventListener('connect', () => {
        connected = true;
        $('kvm-status').textContent = 'connected';
        $('kvm-login').hidden = true;
        rfb.focus();
    });
    rfb.addEventListener('credentialsrequired', onCredentialsRequired);
    rfb.addEventListener('securityfailure', (e) => { securityReason = e.detail.reason || ''; });
    rfb.addEventListener('disconnect', onDisconnect);
    rfb.addEventListener('desktopname', (e) => {
        document.title = e.detail.name;
        $('kvm-title').textContent = e.detail.name;
    });
    rfb.addEventListener('serverhello', onHello);
    rfb.addEventListener('atxstate', (e) => showAtx(e.detail));
    rfb.addEventListener('drivestate', (e) => { showDrive(e.detail); refreshImages(); });
    rfb.addEventListener('inputstate', (e) => showInput(e.detail));
    rfb.addEventListener('typeprogress', (e) => showTypeProgress(e.detail));
    rfb.addEventListener('healthstate', (e) => showHealth(e.detail));
    rfb.addEventListener('decodestats', (e) => showDecodeStats(e.detail));
    // Another session's upload finishing adds an image to the list.
    rfb.addEventListener('uploadprogress', (e) => {
        if (e.detail.confirmed === e.detail.size) refreshImages();
    });
    updateControls();
}

function onCredentialsRequired(e) {
    const types = e.detail.types || [];
    $('kvm-login-user-row').hidden = !types.includes('username');
    $('kvm-login').hidden = false;
    $('kvm-status').textContent = 'login required';
    (types.includes('username') ? $('kvm-login-user') : $('kvm-login-password')).focus();
}

$('kvm-login').addEventListener('submit', (e) => {
    e.preventDefault();
    const credentials = { password: $('kvm-login-password').value };
    if (!$('kvm-login-user-row').hidden) credentials.username = $('kvm-login-user').value;
    $('kvm-login-password').value = '';
    $('kvm-login').hidden = true;
    $('kvm-status').textContent = 'logging in…';
    rfb.sendCredentials(credentials);
});

function onDisconnect(e) {
    connected = false;
    let reason = e.detail.clean ? 'disconnected' : 'connection lost';
    if (securityReason) reason = `login failed: ${securityReason}`;
    $('kvm-status').textContent = reason;
    $('kvm-disconnect-reason').textContent = reason;
    $('kvm-login').hidden = true;
    $('kvm-disconnected').hidden = false;
    updateControls();
}

$('kvm-reconnect-button').addEventListener('click', connect);

// --- enabling controls: connected, full rights, and the feature configured ---

const FEATURES = { atx: Feature.Atx, msd: Feature.MassStorage, keyboard: Feature.Keyboard };

function updateControls() {
    const hello = rfb && rfb.hello;
    const live = connected && !!hello;
    const full = live && !hello.viewOnly;
    for (const button of document.querySelectorAll('.kvm-action')) {
        const feature = FEATURES[button.dataset.feature];
        button.disabled = !full || (feature !== undefined && !rfb.hasFeature(feature));
    }
    if (uploading) $('kvm-upload-button').disabled = true;
    // ATX actions run one at a time: no presses while one runs.
    if (full && rfb.atx && rfb.atx.busy) {
        for (const id of ['kvm-power-button', 'kvm-power-long-button', 'kvm-reset-button']) {
            $(id).disabled = true;
        }
    }
    $('kvm-view-only').hidden = !(live && hello.viewOnly);
    for (const [section, feature] of [['kvm-power', Feature.Atx], ['kvm-media', Feature.MassStorage],
        ['kvm-keyboard', Feature.Keyboard], ['kvm-health-section', Feature.Health]]) {
        $(section).classList.toggle('absent', live && !rfb.hasFeature(feature));
    }
    renderImages();
}

function onHello(e) {
    const hello = e.detail;
    // The server drops a view-only session's input anyway; this stops
    // noVNC sending it (and grabbing the keyboard).
    if (hello.viewOnly) rfb.viewOnly = true;
    if (!rfb.hasFeature(Feature.Atx)) $('kvm-power-message').textContent = 'no ATX control on this device';
    if (!rfb.hasFeature(Feature.MassStorage)) $('kvm-drive-state').textContent = 'no virtual media on this device';
    if (!rfb.hasFeature(Feature.Health)) $('kvm-health').textContent = 'not available';
    updateControls();
    refreshImages();
}

// A failed request shows "Status: server text" next to its control.
function showError(messageId, err) {
    $(messageId).textContent = err instanceof KvmError ? `${err.statusName}: ${err.message}` : err.message;
}

// Runs a request from a button: clears the section's old message first.
async function run(messageId, action) {
    $(messageId).textContent = '';
    try {
        await action();
        return true;
    } catch (err) {
        showError(messageId, err);
        return false;
    }
}

// --- power ---

function showAtx(atx) {
    $('kvm-power-led').classList.toggle('on', atx.powerLed);
    $('kvm-hdd-led').classList.toggle('on', atx.hddLed);
    $('kvm-atx-busy').classList.toggle('on', atx.busy);
    updateControls();
}

$('kvm-power-button').addEventListener('click', () =>
    run('kvm-power-message', () => rfb.atxAction(Atx.PowerClick)));
$('kvm-power-long-button').addEventListener('click', () => {
    if (confirm('Hold the power button for 5 seconds? The target turns off without shutting down.')) {
        run('kvm-power-message', () => rfb.atxAction(Atx.PowerLong));
    }
});
$('kvm-reset-button').addEventListener('click', () => {
    if (confirm('Press the reset button? The target restarts at once.')) {
        run('kvm-power-message', () => rfb.atxAction(Atx.ResetClick));
    }
});

// --- virtual media ---

function sizeText(bytes) {
    const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0;
    while (bytes >= 1024 && i < units.length - 1) { bytes /= 1024; i++; }
    return i === 0 ? `${bytes} bytes` : `${bytes.toFixed(1)} ${units[i]}`;
}

function showDrive(drive) {
    let text = 'no image inserted';
    if (drive.inserted) {
        const kind = drive.mode === DriveMode.CdRom ? 'CD-ROM'
            : `flash drive, ${drive.writable ? 'writable' : 'read-only'}`;
        text = `inserted: ${drive.name} (${kind})`;
    }
    if (drive.problem) text += ` – ${drive.problem}`;
    $('kvm-drive-state').textContent = text;
    renderImages();
}

let images = [];
let refreshing = null;  // one ImageList at a time; a refresh asked meanwhile runs after it

function refreshImages() {
    if (!rfb || !rfb.hasFeature(Feature.MassStorage)) return;
    if (refreshing) { refreshing.again = true; return; }
    refreshing = { again: false };
    rfb.listImages()
        .then((list) => { images = list; renderImages(); })
        .catch((err) => showError('kvm-media-message', err))
        .finally(() => {
            const again = refreshing.again;
            refreshing = null;
            if (again) refreshImages();
        });
}

function renderImages() {
    const list = $('kvm-image-list');
    const canAct = !$('kvm-eject-button').disabled;  // connected, full rights, media configured
    const inserted = rfb && rfb.drive && rfb.drive.inserted ? rfb.drive.name : null;
    list.replaceChildren(...images.map((image) => {
        const li = document.createElement('li');
        li.dataset.name = image.name;
        li.classList.toggle('inserted', image.name === inserted);
        const label = document.createElement('span');
        label.className = 'name';
        label.textContent = `${image.name} (${sizeText(image.size)}`
            + (image.incomplete ? `, incomplete upload: ${sizeText(image.confirmed)} kept)` : ')');
        li.append(label);
        const button = (text, cls, action, usable = true) => {
            const b = document.createElement('button');
            b.textContent = text;
            b.className = cls;
            b.disabled = !canAct || !usable;
            b.addEventListener('click', action);
            li.append(b);
        };
        const insert = (mode) => () => run('kvm-media-message',
            () => rfb.insert(image.name, mode, $('kvm-writable').checked));
        button('Insert as CD-ROM', 'kvm-insert-cdrom', insert(DriveMode.CdRom), !image.incomplete);
        button('Insert as flash', 'kvm-insert-flash', insert(DriveMode.Flash), !image.incomplete);
        button('Delete', 'kvm-delete', () => {
            if (!confirm(`Delete ${image.name}?`)) return;
            run('kvm-media-message', () => rfb.deleteImage(image.name)).then(refreshImages);
        }, image.name !== inserted);
        return li;
    }));
    if (images.length === 0 && rfb && rfb.hasFeature(Feature.MassStorage)) {
        const li = document.createElement('li');
        li.className = 'empty';
        li.textContent = 'no images: upload one below';
        list.append(li);
    }
}

$('kvm-eject-button').addEventListener('click', () => run('kvm-media-message', () => rfb.eject()));

$('kvm-upload-button').addEventListener('click', async () => {
    const file = $('kvm-upload-input').files[0];
    const status = $('kvm-upload-status');
    const progress = $('kvm-upload-progress');
    if (!file) { status.textContent = 'choose a file first'; return; }
    uploading = true;
    $('kvm-upload-button').disabled = true;
    status.textContent = 'reading and hashing…';
    progress.value = 0;
    try {
        await rfb.upload(file, ({ done, size }) => {
            progress.value = size ? done / size : 1;
            status.textContent = `uploading ${Math.floor(progress.value * 100)}%`;
        });
        progress.value = 1;
        status.textContent = 'done';
        $('kvm-upload-input').value = '';
    } catch (err) {
        status.textContent = err instanceof KvmError ? `${err.statusName}: ${err.message}` : err.message;
    }
    uploading = false;
    updateControls();
    refreshImages();
});

// --- keyboard ---

function showInput(input) {
    let text = input.listening ? 'target reads the keyboard' : 'keyboard not connected';
    if (input.layout) text += `; layout ${input.layout}`;
    if (input.typing) text += '; typing…';
    $('kvm-input-state').textContent = text;
}

function showTypeProgress(p) {
    const words = {
        typing: `typed ${p.typed} of ${p.total}`, done: `typed all ${p.total} characters`,
        cancelled: `stopped after ${p.typed} of ${p.total}`,
        stopped: `stopped after ${p.typed} of ${p.total}: the target stopped reading the keyboard`,
    };
    $('kvm-type-status').textContent = words[p.state] || '';
}

$('kvm-type-button').addEventListener('click', () => {
    const text = $('kvm-type-text').value;
    if (!text) return;
    $('kvm-type-status').textContent = '';
    run('kvm-keyboard-message', async () => {
        const { total } = await rfb.typeText(text, 0);
        // TypeProgress may come before this Reply: keep what it said.
        if (!$('kvm-type-status').textContent) {
            $('kvm-type-status').textContent = `typing ${total} characters…`;
        }
    });
});
$('kvm-type-cancel-button').addEventListener('click', () =>
    run('kvm-keyboard-message', () => rfb.typeCancel()));
$('kvm-cad-button').addEventListener('click', () => { rfb.sendCtrlAltDel(); rfb.focus(); });

// --- how the picture arrives ---

// The encodings of the latest update (e.g. "H.264" while the screen moves,
// "Tight" otherwise; "Tight (H.264 failed)" once H.264 failed to decode and
// was given up). The counts ride along as data attributes: rectangles by
// encoding number and their pixels (JSON), pictures H.264 decoded, H.264
// decode errors, whether H.264 was given up and the H.264 rectangles skipped
// since.
function showDecodeStats(stats) {
    const badge = $('kvm-encoding');
    let text = stats.latestNames.join(', ');
    if (stats.h264Failed) text = text ? `${text} (H.264 failed)` : 'H.264 failed';
    if (badge.textContent !== text) badge.textContent = text;
    badge.hidden = text === '';
    badge.dataset.rects = JSON.stringify(stats.rects);
    badge.dataset.pixels = JSON.stringify(stats.pixels);
    badge.dataset.h264Frames = String(stats.h264Frames);
    badge.dataset.h264Errors = String(stats.h264Errors);
    badge.dataset.h264Failed = String(stats.h264Failed);
    badge.dataset.h264Dropped = String(stats.h264Dropped);
    badge.classList.toggle('warning', stats.h264Errors > 0 || stats.h264Failed);
}

// --- health ---

const CAPTURE = ['picture', 'no signal', 'no sync', 'out of range', 'no cable',
    'no capture device', 'capture error'];
const THROTTLING = ['under-voltage', 'ARM frequency capped', 'throttled', 'soft temperature limit'];

function showHealth(h) {
    const parts = [];
    if (h.temperatureKnown) parts.push(`${h.temperature.toFixed(1)} °C${h.tooHot ? ' (too hot!)' : ''}`);
    // get_throttled: bits 0-3 now, bits 16-19 the same since boot.
    const now = THROTTLING.filter((_, i) => h.throttling & (1 << i)).map((w) => `${w} now`);
    const past = THROTTLING.filter((_, i) => h.throttling & (1 << (16 + i))).map((w) => `${w} since boot`);
    if (now.length || past.length) parts.push(...now, ...past);
    else if (h.throttlingKnown) parts.push('no throttling');
    parts.push(h.capture === 0 ? `${h.width}×${h.height} at ${h.fps.toFixed(1)} fps`
        : (CAPTURE[h.capture] || `capture state ${h.capture}`));
    parts.push(`${h.connections} connection${h.connections === 1 ? '' : 's'}`);
    $('kvm-health').textContent = parts.join(', ');
    $('kvm-health').classList.toggle('warning', h.tooHot || (h.throttling & 0xf) !== 0);
}

connect();
