/**
 * The root of every error sockslab throws on purpose. Callers branch on `code`, never on the
 * message text; the message says where, what, and (when known) the fix.
 */
export class SockslabError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** Input that a user wrote (configs, YAML, command line) is wrong. CLI exit status 2. */
export class InputError extends SockslabError {}

/** Bytes from a peer do not follow the protocol. Ends that one connection only. */
export class ProtocolError extends SockslabError {}

/** A runtime (Docker, netns) cannot be used here; `reason` is printed instead of a stack. */
export class RuntimeUnavailableError extends SockslabError {
  constructor(
    readonly runtime: string,
    readonly reason: string,
  ) {
    super('E_RUNTIME_UNAVAILABLE', `runtime ${runtime} is unavailable: ${reason}`);
  }
}

export function errorCode(err: unknown): string | undefined {
  if (err && typeof err === 'object' && 'code' in err && typeof err.code === 'string') return err.code;
  return undefined;
}
