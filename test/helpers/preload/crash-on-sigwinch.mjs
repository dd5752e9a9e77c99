// Test-only preload (`node --import=…`): SIGWINCH (ignored by default, never sent by anything
// else to a daemon) makes the process throw an uncaught exception, so a test can end a running
// server the way a bug would and check what it leaves behind.
process.on('SIGWINCH', () => {
  throw new Error('crash injected by test/helpers/preload/crash-on-sigwinch.mjs');
});
