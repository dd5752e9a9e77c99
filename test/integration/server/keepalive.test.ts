import { execFileSync } from 'node:child_process';
import { programsInstalled, testWhen } from '../../helpers/interop-tools.ts';
import { echoThrough, socks4, startEcho, startServer, waitFor } from './helpers.ts';

// A destination host that vanishes while the relay waits on it (nothing in flight, the client
// quiet) leaves no event: only TCP keepalive probes find it. So the server's outbound connection
// carries the same keepalive as its client connections; `ss` shows the socket's timer.

// ss (iproute2) reads the socket timers.
const test = testWhen('outbound keepalive', programsInstalled('ss'));

/** The `ss` lines of established sockets whose peer port is `port` (the server's outbound side). */
function toPort(port: number): string {
  return execFileSync('ss', ['-tnoH', 'state', 'established', `( dport = :${port} )`])
    .toString()
    .trim();
}

test('the connection to the destination carries the keepalive timer of the client side', async (t) => {
  const echo = await startEcho(t);
  const s = await startServer(t, { sockdConf: 'permit 0.0.0.0 0.0.0.0\n', keepAliveMs: 45_000 });
  const { socket, reply } = await socks4({ proxy: s, dst: echo.host, port: echo.port });
  t.teardown(() => socket.destroy());
  t.is(reply?.code, 90);
  t.deepEqual(await echoThrough(socket, Buffer.from('ping')), Buffer.from('ping'));
  const line = await waitFor(() => toPort(echo.port) || undefined);
  t.regex(line, /timer:\(keepalive,4[0-5]sec,0\)/);
});

test('with keepalive off (0) the connection to the destination has no keepalive timer', async (t) => {
  const echo = await startEcho(t);
  const s = await startServer(t, { sockdConf: 'permit 0.0.0.0 0.0.0.0\n', keepAliveMs: 0 });
  const { socket, reply } = await socks4({ proxy: s, dst: echo.host, port: echo.port });
  t.teardown(() => socket.destroy());
  t.is(reply?.code, 90);
  t.deepEqual(await echoThrough(socket, Buffer.from('ping')), Buffer.from('ping'));
  const line = await waitFor(() => toPort(echo.port) || undefined);
  t.notRegex(line, /keepalive/);
});
