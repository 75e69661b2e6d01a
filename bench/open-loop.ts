// An open-loop load generator: requests are sent on a fixed schedule (not when the previous one
// returns), and each latency is measured from when the request was DUE, so a stalled server
// cannot hide its stall by slowing the sender (coordinated omission). Used for the fixed-rate
// phase of bench/tags-http.ts and bench/external-metrics.ts; autocannon measures saturation
// throughput.
import * as Https from "node:https"

export interface OpenLoopResult {
  readonly sent: number
  readonly ok: number
  readonly errors: number
  readonly p50: number
  readonly p99: number
  readonly max: number
}

export const openLoop = (options: {
  readonly url: string
  readonly headers: Readonly<Record<string, string>>
  readonly rate: number
  readonly seconds: number
  readonly connections: number
  /** A client certificate to present (PEM), e.g. the aggregator's front-proxy certificate. */
  readonly clientCertificate?: { readonly cert: string; readonly key: string }
}): Promise<OpenLoopResult> =>
  new Promise((resolve) => {
    const agent = new Https.Agent({
      keepAlive: true,
      maxSockets: options.connections,
      rejectUnauthorized: false,
      ...options.clientCertificate
    })
    const latencies: Array<number> = []
    let errors = 0
    let ok = 0
    let sent = 0
    let done = 0
    const total = options.rate * options.seconds
    const tickMs = 1
    const intervalMs = 1000 / options.rate
    const start = performance.now()
    const finish = () => {
      agent.destroy()
      const sorted = latencies.sort((a, b) => a - b)
      const at = (q: number) =>
        Number((sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0).toFixed(2))
      resolve({ sent, ok, errors, p50: at(0.5), p99: at(0.99), max: at(1) })
    }
    const fire = (due: number) => {
      sent++
      const req = Https.request(options.url, { agent, headers: options.headers }, (res) => {
        res.resume()
        res.on("end", () => {
          latencies.push(performance.now() - due)
          if (res.statusCode === 200) ok++
          else errors++
          if (++done === total) finish()
        })
      })
      req.on("error", () => {
        errors++
        if (++done === total) finish()
      })
      req.end()
    }
    const tick = () => {
      const elapsed = performance.now() - start
      // Everything due by now is sent now, stamped with when it was due.
      const due = Math.min(total, Math.floor(elapsed / intervalMs) + 1)
      while (sent < due) fire(start + sent * intervalMs)
      if (sent < total) setTimeout(tick, tickMs)
    }
    tick()
  })
