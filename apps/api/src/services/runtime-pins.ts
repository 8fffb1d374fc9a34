/**
 * Retention pins (`rnx runtime pin|unpin name@version`): one JSON object per pinned version under
 * `pins/` in the artifact store, beside the index it protects (so a pin is as durable as the
 * version, and needs no Redis). The garbage collector never removes a pinned version, and
 * `remove` refuses one until it is unpinned — a version an operator must keep (an audited
 * release, a long-running pipeline's toolchain) cannot disappear by retention or by mistake.
 */
import { RuntimePin } from '@joblet/spec';
import { StorePrefix, parsePinKey, pinKey, type ArtifactStore } from '@joblet/storage';

/** `name@version` → its pin. */
export type PinMap = ReadonlyMap<string, RuntimePin>;

export class RuntimePins {
  constructor(private readonly store: ArtifactStore) {}

  /** Every pin in the store (objects under `pins/` that are not a valid pin are ignored). */
  async all(): Promise<PinMap> {
    const out = new Map<string, RuntimePin>();
    for await (const obj of this.store.list(StorePrefix.PINS)) {
      const at = parsePinKey(obj.key);
      if (!at) continue;
      const pin = RuntimePin.safeParse(await this.store.getJson(obj.key));
      if (pin.success) out.set(`${at.name}@${at.version}`, pin.data);
    }
    return out;
  }

  async get(name: string, version: string): Promise<RuntimePin | undefined> {
    const pin = RuntimePin.safeParse(await this.store.getJson(pinKey(name, version)));
    return pin.success ? pin.data : undefined;
  }

  async pin(name: string, version: string, pin: RuntimePin): Promise<void> {
    await this.store.putJson(pinKey(name, version), pin);
  }

  async unpin(name: string, version: string): Promise<void> {
    await this.store.delete(pinKey(name, version));
  }
}
