/**
 * What every incremental decoder of protocol/ returns (STYLE habit 1): more bytes needed (at
 * least `need`), or a value and how many bytes of the input it took. Decoders throw
 * ProtocolError for bytes that cannot become a message.
 */
export type Decoded<T> = { readonly need: number } | { readonly value: T; readonly consumed: number };
