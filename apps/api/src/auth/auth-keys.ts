/**
 * Redis keys of authentication and request bounds, under the farm's prefix like every other key.
 * (They belong with `Keys` in @joblet/queue; kept here while that file is being edited elsewhere.)
 */
export class AuthKeys {
  constructor(readonly prefix: string) {}
  /** Hash: one API token's record (hash of its secret, role, name, dates, creator). */
  token(id: string): string {
    return `${this.prefix}:token:${id}`;
  }
  /** Set of token ids, for listing; members whose record has expired are pruned lazily. */
  get tokens(): string {
    return `${this.prefix}:tokens`;
  }
  /** Counter of one client's requests in one fixed window (expires with the window). */
  rate(client: string, window: number): string {
    return `${this.prefix}:rate:${client}:${window}`;
  }
}
