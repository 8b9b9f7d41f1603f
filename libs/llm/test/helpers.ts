// Test helpers shared by the llm integration tests (no lib of ours: libs/llm may not import libs/testing).

/** Reads a whole SSE response and returns its `data:` payloads in order, `[DONE]` included. */
export async function readSse(response: Response): Promise<string[]> {
  const text = await response.text();
  return text
    .split('\n\n')
    .filter((event) => event.trim() !== '')
    .map((event) => {
      const line = event.split('\n').find((l) => l.startsWith('data: '));
      if (!line) throw new Error(`SSE event without data: ${JSON.stringify(event)}`);
      return line.slice('data: '.length);
    });
}

/** Waits until `check` stops throwing (or returns truthy), polling; never a fixed sleep. */
export async function eventually<T>(check: () => T | Promise<T>, timeoutMs = 5_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const value = await check();
      if (value) return value as NonNullable<T>;
      if (Date.now() > deadline) throw new Error('condition still false');
    } catch (err) {
      if (Date.now() > deadline) throw err;
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
