/**
 * Polls `check` until it returns a value other than `undefined`/`false`, or throws once the
 * deadline passes (with the last error or value in the message). Use instead of fixed sleeps.
 */
export interface WaitOptions {
  readonly timeoutMs?: number
  readonly intervalMs?: number
  /** Describes what is awaited, for the timeout message. */
  readonly what?: string
}

export const waitFor = async <A>(
  check: () => A | undefined | false | Promise<A | undefined | false>,
  options: WaitOptions = {}
): Promise<A> => {
  const timeoutMs = options.timeoutMs ?? 30_000
  const intervalMs = options.intervalMs ?? 100
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    try {
      const result = await check()
      if (result !== undefined && result !== false) return result
      last = result
    } catch (error) {
      last = error
    }
    if (Date.now() >= deadline) {
      const detail = last instanceof Error ? last.message : String(last)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${options.what ?? "condition"} (last: ${detail})`)
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs))
  }
}
