/**
 * The SOCKS client that runs inside a container of the image smoke test (as `node -e`), so that
 * all traffic stays on the test's internal network. Written from the wire formats (SOCKS 4: a
 * CONNECT with USERID; SOCKS 5: no-auth greeting, then CONNECT to an IPv4 address), independently
 * of the project's codecs. Prints one JSON line: what each request got back.
 */
export const containerClientScript = String.raw`
const net = require('node:net');
const [proxy, target, targetPort] = process.argv.slice(1);
const ip = Buffer.from(target.split('.').map(Number));
const port = Buffer.from([Number(targetPort) >> 8, Number(targetPort) & 255]);

function session(steps) {
  return new Promise((resolve) => {
    const s = net.connect(1080, proxy);
    let buf = Buffer.alloc(0);
    const got = [];
    let i = 0;
    const timer = setTimeout(() => { s.destroy(); resolve({ got, error: 'timeout at step ' + i }); }, 20000);
    const next = () => {
      while (i < steps.length && buf.length >= steps[i].need) {
        got.push([...buf.subarray(0, steps[i].need)]);
        buf = buf.subarray(steps[i].need);
        i++;
        if (i < steps.length) s.write(steps[i].send);
      }
      if (i === steps.length) { clearTimeout(timer); s.destroy(); resolve({ got }); }
    };
    s.on('connect', () => s.write(steps[0].send));
    s.on('data', (c) => { buf = Buffer.concat([buf, c]); next(); });
    s.on('error', (e) => { clearTimeout(timer); resolve({ got, error: e.code || String(e) }); });
    s.on('close', () => { clearTimeout(timer); resolve({ got, error: 'closed at step ' + i }); });
  });
}

// Containers start in seconds on a loaded machine: every wait below is bounded by a minute of
// wall time, never by a count of short pauses.
const patienceMs = 60000;

async function withRetry(steps) {
  // rsockd may still be starting: a refused connection is retried for a while.
  const until = Date.now() + patienceMs;
  for (;;) {
    const r = await session(steps);
    if (r.error !== 'ECONNREFUSED' || Date.now() > until) return r;
    await new Promise((w) => setTimeout(w, 200));
  }
}

function accepts(host, p) {
  return new Promise((resolve) => {
    const s = net.connect(p, host);
    s.on('connect', () => { s.destroy(); resolve(true); });
    s.on('error', () => resolve(false));
  });
}

// The echo container was started first, but its node may not listen yet: rsockd's connect to it
// would be refused and the grant become a 91. Wait for it directly (same network) first.
async function echoListening() {
  const until = Date.now() + patienceMs;
  while (!(await accepts(target, Number(targetPort))) && Date.now() < until) {
    await new Promise((w) => setTimeout(w, 200));
  }
}

(async () => {
  await echoListening();
  const p4 = Buffer.from('socks4 through the image\n');
  const socks4 = await withRetry([
    { send: Buffer.concat([Buffer.from([4, 1]), port, ip, Buffer.from('x\0')]), need: 8 },
    { send: p4, need: p4.length },
  ]);
  const p5 = Buffer.from('socks5 through the image\n');
  const socks5 = await withRetry([
    { send: Buffer.from([5, 1, 0]), need: 2 },
    { send: Buffer.concat([Buffer.from([5, 1, 0, 1]), ip, port]), need: 10 },
    { send: p5, need: p5.length },
  ]);
  const text = (r, k) => (r.got[k] ? Buffer.from(r.got[k]).toString() : null);
  process.stdout.write(JSON.stringify({
    socks4: { reply: socks4.got[0] || null, echo: text(socks4, 1), error: socks4.error || null },
    socks5: { method: socks5.got[0] || null, reply: socks5.got[1] || null, echo: text(socks5, 2), error: socks5.error || null },
  }) + '\n');
})();
`;
