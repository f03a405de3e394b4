import { mount } from 'svelte';
import './app.css';
import './lib/theme';
import App from './App.svelte';
import { sentNotices } from './lib/desktop';
import { queueFiles } from './lib/enqueue';
import { trayAction, trayMenu } from './lib/api';

const target = document.getElementById('app');
if (!target) throw new Error('index.html has no #app element');

// For the WebDriver tests, which cannot drag files from the OS: the drop handler's own
// function, the notifications sent (no notification server runs under Xvfb), and the tray
// menu's own actions and labels (no tray host runs there either).
Object.assign(window, { __ferryQueueFiles: queueFiles, __ferryNotices: sentNotices, __ferryTray: { act: trayAction, menu: trayMenu } });

export default mount(App, { target });
