/**
 * How a lab host's identd answers (RFC 1413): the behaviours the fake identd plays, named in
 * topologies and scenario steps. Defined here, below both, so the identd module that plays them
 * need not import the topology that names them; topology/model.ts re-exports it.
 */
export type IdentdBehaviour =
  | { readonly kind: 'truthful' }
  | { readonly kind: 'down' }
  | { readonly kind: 'silent' }
  | { readonly kind: 'lying'; readonly user: string }
  | { readonly kind: 'error'; readonly error: 'NO-USER' | 'HIDDEN-USER' | 'UNKNOWN-ERROR' }
  | { readonly kind: 'garbage' };
