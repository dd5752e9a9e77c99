import test from 'ava';
import { encodeSocks4Request } from '../../../src/protocol/socks4.ts';
import { connectTcp, readBytes, socks4, startEcho, startServer, waitFor } from './helpers.ts';

// onQuiet: the moments when no client of the server waits for its reply (quiet-gc.ts collects there).

const permitAll = 'permit 127.0.0.0 255.0.0.0\n';

test('the server is quiet only once no client waits for its reply', async (t) => {
  const echo = await startEcho(t);
  const quiet: (() => boolean)[] = [];
  const s = await startServer(t, { sockdConf: permitAll, onQuiet: (stillQuiet) => quiet.push(stillQuiet) });

  // A has sent half of its request: it waits for its reply from here on.
  const a = await connectTcp(s.host, s.port);
  const request = encodeSocks4Request({ command: 'connect', port: echo.port, address: echo.host, user: 'a' });
  a.write(request.subarray(0, 5));
  await waitFor(() => s.server.activeSessions === 1);

  const b = await socks4({ proxy: s, dst: echo.host, port: echo.port, user: 'b' });
  t.is(b.reply?.code, 90);
  t.is(quiet.length, 0, 'B has its reply, but A still waits');

  a.write(request.subarray(5));
  const reply = await readBytes(a, 8);
  t.is(reply[1], 90);
  await waitFor(() => quiet.length === 1);
  t.true(quiet[0]!(), 'quiet while nobody waits');

  // A new client waits again: the moment has passed.
  const c = await connectTcp(s.host, s.port);
  await waitFor(() => s.server.activeSessions === 3);
  t.false(quiet[0]!(), 'not quiet while C waits');

  // C leaves without a request: nobody waits any more.
  c.destroy();
  await waitFor(() => quiet.length === 2);
  t.true(quiet[1]!());
  t.is(quiet.length, 2, 'relaying sessions never count as waiting');
  a.destroy();
  b.socket.destroy();
});

test('a refused client ends its wait with its reply', async (t) => {
  const echo = await startEcho(t);
  let quiet = 0;
  const s = await startServer(t, { sockdConf: 'deny 127.0.0.0 255.0.0.0\n', onQuiet: () => quiet++ });
  const r = await socks4({ proxy: s, dst: echo.host, port: echo.port, user: 'r' });
  t.is(r.reply?.code, 91);
  await waitFor(() => quiet === 1);
  r.socket.destroy();
  await waitFor(() => s.server.activeSessions === 0);
  t.is(quiet, 1, 'the end of a session that already replied is not a second quiet moment');
});
