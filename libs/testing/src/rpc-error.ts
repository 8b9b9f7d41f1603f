import { RpcCallError } from '@trellis/messaging';

/** The error an RPC was refused with; fails the test when the call succeeded. */
export async function rpcError(call: Promise<unknown>): Promise<RpcCallError> {
  const outcome = await call.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  if (!('error' in outcome)) throw new Error(`expected the call to fail; it answered ${JSON.stringify(outcome.value)}`);
  if (!(outcome.error instanceof RpcCallError)) throw outcome.error;
  return outcome.error;
}
