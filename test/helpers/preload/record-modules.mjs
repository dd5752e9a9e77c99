// Preloaded with --import: records the URL of every module the process loads, and writes the
// list (one per line) to the file named by SOCKSLAB_RECORD_MODULES when the process exits.
import { writeFileSync } from 'node:fs';
import { register } from 'node:module';
import { MessageChannel } from 'node:worker_threads';

const out = process.env.SOCKSLAB_RECORD_MODULES;
const urls = [];
const { port1, port2 } = new MessageChannel();
port1.on('message', (url) => urls.push(url));
port1.unref();
const hooks = `let port;
export function initialize(data) { port = data.port; }
export async function load(url, context, next) { port.postMessage(url); return next(url, context); }`;
register(`data:text/javascript,${encodeURIComponent(hooks)}`, {
  data: { port: port2 },
  transferList: [port2],
});
process.on('exit', () => {
  // A CommonJS package imported from ESM (prom-client) shows up by its entry file only.
  if (out) writeFileSync(out, urls.join('\n'));
});
