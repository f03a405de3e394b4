import { mount } from 'svelte';
import './app.css';
import './lib/theme';
import App from './App.svelte';
import { sentNotices } from './lib/desktop';
import { queueFiles } from './lib/enqueue';

const target = document.getElementById('app');
if (!target) throw new Error('index.html has no #app element');

// For the WebDriver tests, which cannot drag files from the OS: the drop handler's own
// function, and the notifications sent (no notification server runs under Xvfb).
Object.assign(window, { __ferryQueueFiles: queueFiles, __ferryNotices: sentNotices });

export default mount(App, { target });
