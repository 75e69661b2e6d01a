// The Authorization header of each request. Fixed credentials cost nothing per request; a token
// file is re-read when it changes, because the kubelet rotates projected service-account tokens
// (atomically, by swapping a symlink: a new inode) and client-go picks the new one up. We stat
// the file on each request (one syscall) instead of client-go's 60 s cache, so a rotated token
// is used at once; the 10 s re-read bound covers an in-place rewrite of the same size within
// one tick of the file system's coarse timestamps.
import * as Fs from "node:fs"
import type { OutgoingHttpHeaders } from "node:http"
import type { RequestOptions } from "node:https"
import type { Auth } from "./credentials.ts"

/** Produces the header value (undefined = send none). Rejects with a message free of secrets. */
export type Authorizer = () => Promise<string | undefined>

const maxTokenFileAgeMs = 10_000

export const tokenFileAuthorizer = (path: string, now: () => number = () => performance.now()): Authorizer => {
  let cached: { token: string; stamp: string; readAt: number } | undefined
  return async () => {
    try {
      const st = await Fs.promises.stat(path)
      const stamp = `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`
      if (cached !== undefined && cached.stamp === stamp && now() - cached.readAt < maxTokenFileAgeMs) {
        return cached.token
      }
      const token = (await Fs.promises.readFile(path, "utf8")).trim()
      if (token === "") throw new Error("the file is empty")
      cached = { token: `Bearer ${token}`, stamp, readAt: now() }
      return cached.token
    } catch (e) {
      // Mid-rotation the file can be briefly missing or empty: keep the last good token, like client-go.
      if (cached !== undefined) return cached.token
      throw new Error(`cannot read token file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`)
    }
  }
}

export const makeAuthorizer = (auth: Auth): Authorizer => {
  switch (auth._tag) {
    case "None":
      return () => Promise.resolve(undefined)
    case "Header": {
      const value = Promise.resolve(auth.value)
      return () => value
    }
    case "TokenFile":
      return tokenFileAuthorizer(auth.path)
    case "Plugin":
      return async () => {
        const opts: RequestOptions = {}
        try {
          await auth.kubeConfig.applyToHTTPSOptions(opts)
        } catch (e) {
          // Plugin errors can echo their command line, never the token they failed to produce.
          throw new Error(`${auth.kind} credentials failed: ${(e as Error).message}`)
        }
        const value = (opts.headers as OutgoingHttpHeaders | undefined)?.Authorization
        return typeof value === "string" ? value : undefined
      }
  }
}
