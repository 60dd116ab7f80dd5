/**
 * rejects awaits a promise that must fail and returns what it threw, so the
 * test can look at the error's class, code or errno; a promise that
 * fulfils fails the test.
 */
export async function rejects(p: Promise<unknown>): Promise<Error & { code?: string; errno?: number }> {
  try {
    await p;
  } catch (err) {
    return err as Error & { code?: string; errno?: number };
  }
  throw new Error('expected a rejection');
}
