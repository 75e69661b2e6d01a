/**
 * A strict reader of the Prometheus text exposition format (0.0.4): every line must be a
 * comment, a HELP/TYPE line or a valid sample, and samples must follow their family's TYPE.
 */
export interface Sample {
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
  readonly value: number
}

export interface Exposition {
  readonly types: ReadonlyMap<string, string>
  readonly samples: ReadonlyArray<Sample>
}

const metricName = "[a-zA-Z_:][a-zA-Z0-9_:]*"
const sampleLine = new RegExp(`^(${metricName})(\\{(.*)\\})? (\\S+)( -?\\d+)?$`)
const labelPair = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/y
const types = new Set(["counter", "gauge", "histogram", "summary", "untyped"])

const parseValue = (text: string, line: string): number => {
  if (text === "+Inf") return Number.POSITIVE_INFINITY
  if (text === "-Inf") return Number.NEGATIVE_INFINITY
  if (text === "NaN") return Number.NaN
  const n = Number(text)
  if (Number.isNaN(n)) throw new Error(`bad sample value in: ${line}`)
  return n
}

const parseLabels = (text: string, line: string): Record<string, string> => {
  const labels: Record<string, string> = {}
  labelPair.lastIndex = 0
  while (labelPair.lastIndex < text.length) {
    const m = labelPair.exec(text)
    if (m === null) throw new Error(`bad labels in: ${line}`)
    labels[m[1] as string] = (m[2] as string).replace(/\\n/g, "\n").replace(/\\"/g, '"').replace(/\\\\/g, "\\")
  }
  return labels
}

export const parsePrometheus = (text: string): Exposition => {
  if (text !== "" && !text.endsWith("\n")) throw new Error("exposition must end with a newline")
  const typeOf = new Map<string, string>()
  const samples: Array<Sample> = []
  for (const line of text.split("\n")) {
    if (line === "") continue
    if (line.startsWith("#")) {
      const m = /^# (HELP|TYPE) (\S+)(?: (.*))?$/.exec(line)
      if (m === null) continue // a plain comment
      if (!new RegExp(`^${metricName}$`).test(m[2] as string)) throw new Error(`bad metric name in: ${line}`)
      if (m[1] === "TYPE") {
        if (!types.has(m[3] ?? "")) throw new Error(`bad type in: ${line}`)
        typeOf.set(m[2] as string, m[3] as string)
      }
      continue
    }
    const m = sampleLine.exec(line)
    if (m === null) throw new Error(`not a sample line: ${line}`)
    samples.push({
      name: m[1] as string,
      labels: parseLabels(m[3] ?? "", line),
      value: parseValue(m[4] as string, line)
    })
  }
  return { types: typeOf, samples }
}

export const sampleValue = (exposition: Exposition, name: string): number | undefined =>
  exposition.samples.find((s) => s.name === name)?.value
