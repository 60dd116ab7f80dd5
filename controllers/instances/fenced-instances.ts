/**
 * FencedInstances is this member's memory of the instances it fenced: the
 * copies it stopped by itself because it could not renew its heartbeat lease
 * (controllers/membership/fencer.ts). A fenced instance is not started again
 * here at the epoch it was fenced at: only a new placement (another member,
 * or this one at a higher epoch) runs it again. In memory only: a daemon that
 * restarts has a new lease, and its old locks are gone with the old one.
 */

/** FencedInstances maps namespace/name to the placement epoch it was fenced at. */
export class FencedInstances {
  private readonly fenced = new Map<string, number>();

  /** add records that namespace/name was fenced at `epoch`. */
  add(namespace: string, name: string, epoch: number): void {
    this.fenced.set(`${namespace}/${name}`, epoch);
  }

  /** blocks tells whether namespace/name at `epoch` may not start here (fenced at that very epoch). */
  blocks(namespace: string, name: string, epoch: number): boolean {
    return this.fenced.get(`${namespace}/${name}`) === epoch;
  }

  /** forget drops namespace/name (it was re-placed or deleted). */
  forget(namespace: string, name: string): void {
    this.fenced.delete(`${namespace}/${name}`);
  }

  /** size is how many instances are fenced. */
  get size(): number {
    return this.fenced.size;
  }

  /** keys lists the fenced instances as namespace/name. */
  keys(): string[] {
    return [...this.fenced.keys()];
  }
}
