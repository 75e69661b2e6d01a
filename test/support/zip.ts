/** Reading the flare's zip archives in tests. */
import * as Fs from "node:fs"
import { unzipSync } from "fflate"

/** Every entry of a zip file, as text, in archive order. */
export const readZip = (path: string): Record<string, string> =>
  Object.fromEntries(
    Object.entries(unzipSync(Fs.readFileSync(path))).map(([name, bytes]) => [name, Buffer.from(bytes).toString("utf8")])
  )
