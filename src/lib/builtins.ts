// Node built-ins that are loaded with `process.getBuiltinModule` instead of `import`.
//
// - node:http: its ES-module facade copies every export once, which runs the lazy getters
//   `http.WebSocket`, `CloseEvent` and `MessageEvent` and so loads Node's bundled undici,
//   worker_threads, web streams and http2: about 11 MB of RSS that nothing here uses.
//   (node:https, node:tls and node:zlib have no such getters and are imported as usual.)
// - node:http2: only needed when a client negotiates h2 on the command port (gRPC probes of
//   the newest node agents); loading it costs about 3 MB.
import type * as Http from "node:http"
import type * as Http2 from "node:http2"

/** node:http, without its ES-module facade. */
export const nodeHttp = (): typeof Http => process.getBuiltinModule("node:http")

/** node:http2, loaded on first use. */
export const nodeHttp2 = (): typeof Http2 => process.getBuiltinModule("node:http2")
