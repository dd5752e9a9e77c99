// Test-only preload (`node --import=…`): a Node whose process.binding() has no tcp_wrap or
// stream_wrap, as a future Node may be, so the automatic fallback of src/net/production-net.ts
// to node:net runs for real. It lives under test/ and is never shipped: nothing in src/ can turn
// the bindings off. .ci/run puts it in NODE_OPTIONS for one pass of the server suite.
const original = process.binding;
process.binding = function binding(name) {
  if (name === 'tcp_wrap' || name === 'stream_wrap') throw new Error(`No such module: ${name}`);
  return original.call(process, name);
};
