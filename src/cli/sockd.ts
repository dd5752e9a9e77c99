#!/usr/bin/env node
import { holdSignals } from './early-signals.ts';

// Signals first (early-signals.ts): loading the server's modules takes a while, and a SIGHUP in
// that time must not end the process.
const signals = holdSignals();
const { run } = await import('./server-cli.ts');

/** sockd: rsockd with routing fixed to direct (spec a.1, h). */
run('sockd', signals);
