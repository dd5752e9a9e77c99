/**
 * A line of async steps: each step starts once the one given before it has settled, whatever its
 * result. Used where interleaved steps would corrupt shared state (a fake identd's listener
 * switches, a lab's link-fault rules, the probes of `sockslab up`). The caller gets its own step's
 * result or failure; a failure does not hold up the steps after it.
 */
export function oneAtATime(): <T>(step: () => Promise<T>) => Promise<T> {
  let last: Promise<unknown> = Promise.resolve();
  return <T>(step: () => Promise<T>): Promise<T> => {
    const result = last.then(step);
    last = result.catch(() => {});
    return result;
  };
}
