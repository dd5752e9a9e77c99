// Moved to src/runtime/agent-protocol.ts (shared by the docker and netns drivers).
export * from '../agent-protocol.ts';
