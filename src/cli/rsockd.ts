#!/usr/bin/env node
import { holdSignals } from './early-signals.ts';

// Signals first (early-signals.ts): loading the server's modules takes a while, and a SIGHUP in
// that time must not end the process.
const signals = holdSignals();
const { run } = await import('./server-cli.ts');

/** rsockd: the SOCKSified SOCKS server (spec a.2, h). */
run('rsockd', signals);
