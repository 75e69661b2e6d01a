/** Watch helpers for tests, on @kubernetes/client-node's Watch (a real HTTP watch). */
import { type KubeConfig, Watch } from "@kubernetes/client-node"

export interface WatchEvent {
  /** ADDED, MODIFIED, DELETED, BOOKMARK, ERROR; or TIMEOUT when nothing arrived in time. */
  readonly type: string
  // biome-ignore lint/suspicious/noExplicitAny: watch payloads are arbitrary API objects
  readonly object: any
}

/**
 * Opens a watch on `path` (e.g. "/api/v1/namespaces/x/configmaps") and resolves with the
 * first event, then closes the watch. A 410 arrives as `{ type: "ERROR", object: Status }`.
 */
export const firstWatchEvent = (
  kubeConfig: KubeConfig,
  path: string,
  query: Record<string, string | number | boolean | undefined>,
  timeoutMs = 10_000
): Promise<WatchEvent> =>
  new Promise((resolve, reject) => {
    let settled = false
    let controller: AbortController | undefined
    const finish = (event: WatchEvent) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      controller?.abort()
      resolve(event)
    }
    const timer = setTimeout(() => finish({ type: "TIMEOUT", object: undefined }), timeoutMs)
    new Watch(kubeConfig)
      .watch(
        path,
        query,
        (type, object) => finish({ type, object }),
        (error) => {
          if (settled) return
          settled = true
          clearTimeout(timer)
          reject(error ?? new Error(`watch on ${path} ended without an event`))
        }
      )
      .then(
        (c) => {
          controller = c
          if (settled) c.abort()
        },
        (error: unknown) => {
          if (settled) return
          settled = true
          clearTimeout(timer)
          reject(error)
        }
      )
  })
