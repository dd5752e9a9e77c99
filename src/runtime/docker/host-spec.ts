// Moved to src/runtime/host-spec.ts (shared by the docker and netns drivers).
export * from '../host-spec.ts';
