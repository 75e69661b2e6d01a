/** Free TCP ports on 127.0.0.1. */
import { createServer } from "node:net"

const listenOnce = (port: number): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen({ host: "127.0.0.1", port, exclusive: true }, () => {
      const address = server.address()
      const bound = typeof address === "object" && address ? address.port : port
      server.close(() => resolve(bound))
    })
  })

/**
 * A port the kernel considers free right now. Another process may still take it before
 * the caller binds it; the window is small and tests on one machine tolerate it.
 */
export const freePort = (): Promise<number> => listenOnce(0)

/** Several distinct free ports. */
export const freePorts = async (count: number): Promise<number[]> => {
  const ports = new Set<number>()
  while (ports.size < count) ports.add(await freePort())
  return [...ports]
}

/** Whether nothing listens on 127.0.0.1:port (binding it succeeds). */
export const isPortFree = (port: number): Promise<boolean> =>
  listenOnce(port).then(
    () => true,
    () => false
  )
