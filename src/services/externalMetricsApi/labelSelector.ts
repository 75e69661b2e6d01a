// Kubernetes label selectors as they arrive in `?labelSelector=` (k8s.io/apimachinery
// pkg/labels/selector.go): requirements joined by commas (AND), each one of `k=v`, `k==v`,
// `k!=v`, `k in (a,b)`, `k notin (a)`, `k`, `!k`, `k>1`, `k<1`. Keys and values are validated
// like the API server does, so a selector it would refuse is refused here with the same kind
// of reason. The HPA sends its metricSelector.matchLabels as `k=v,k2=v2`.

export type Requirement =
  | { readonly op: "=" | "!="; readonly key: string; readonly value: string }
  | { readonly op: "in" | "notin"; readonly key: string; readonly values: ReadonlyArray<string> }
  | { readonly op: "exists" | "!"; readonly key: string }
  | { readonly op: ">" | "<"; readonly key: string; readonly value: number }

/** An empty list selects everything. */
export type Selector = ReadonlyArray<Requirement>

export type ParseResult =
  | { readonly _tag: "Selector"; readonly selector: Selector }
  | { readonly _tag: "Invalid"; readonly problem: string }

type Token =
  | { readonly t: "id"; readonly text: string }
  | { readonly t: "op"; readonly text: "=" | "==" | "!=" | "!" | "(" | ")" | "," | ">" | "<" }
  | { readonly t: "end" }

const single = new Set(["=", "!", "(", ")", ",", ">", "<"])
const isSpace = (c: string) => c === " " || c === "\t" || c === "\n" || c === "\r"

class Invalid extends Error {}

const tokenize = (input: string): Array<Token> => {
  const out: Array<Token> = []
  let i = 0
  while (i < input.length) {
    const c = input.charAt(i)
    if (isSpace(c)) {
      i++
    } else if (c === "=" || c === "!") {
      if (input.charAt(i + 1) === "=") {
        out.push({ t: "op", text: c === "=" ? "==" : "!=" })
        i += 2
      } else {
        out.push({ t: "op", text: c })
        i++
      }
    } else if (single.has(c)) {
      out.push({ t: "op", text: c as "(" | ")" | "," | ">" | "<" })
      i++
    } else {
      let j = i
      while (j < input.length && !isSpace(input.charAt(j)) && !single.has(input.charAt(j))) j++
      out.push({ t: "id", text: input.slice(i, j) })
      i = j
    }
  }
  out.push({ t: "end" })
  return out
}

// apimachinery validation: a qualified name (optional DNS-subdomain prefix + "/") and label values.
const namePart = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/
const dnsSubdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/

const checkKey = (key: string) => {
  const slash = key.lastIndexOf("/")
  const [prefix, name] = slash === -1 ? [undefined, key] : [key.slice(0, slash), key.slice(slash + 1)]
  if (prefix !== undefined && (prefix.length === 0 || prefix.length > 253 || !dnsSubdomain.test(prefix))) {
    throw new Invalid(`invalid label key "${key}": the prefix must be a lower-case DNS subdomain`)
  }
  if (name.length === 0 || name.length > 63 || !namePart.test(name)) {
    throw new Invalid(
      `invalid label key "${key}": a name must be 63 characters or less, alphanumeric, '-', '_' or '.', starting and ending with an alphanumeric character`
    )
  }
}

const checkValue = (value: string) => {
  if (value.length > 0 && (value.length > 63 || !namePart.test(value))) {
    throw new Invalid(
      `invalid label value "${value}": must be empty or 63 characters or less, alphanumeric, '-', '_' or '.', starting and ending with an alphanumeric character`
    )
  }
}

const describe = (token: Token) => (token.t === "end" ? "end of string" : `"${token.text}"`)

class Parser {
  private i = 0
  private readonly tokens: ReadonlyArray<Token>
  constructor(tokens: ReadonlyArray<Token>) {
    this.tokens = tokens
  }

  private peek(): Token {
    return this.tokens[this.i] ?? { t: "end" }
  }
  private next(): Token {
    const token = this.peek()
    this.i++
    return token
  }
  private isOp(token: Token, ...ops: ReadonlyArray<string>) {
    return token.t === "op" && ops.includes(token.text)
  }
  private atRequirementEnd() {
    const token = this.peek()
    return token.t === "end" || this.isOp(token, ",")
  }

  selector(): Selector {
    const requirements: Array<Requirement> = []
    if (this.peek().t === "end") return requirements
    for (;;) {
      requirements.push(this.requirement())
      const token = this.next()
      if (token.t === "end") return requirements
      if (!this.isOp(token, ",")) throw new Invalid(`found ${describe(token)}, expected ',' or end of string`)
    }
  }

  private key(): string {
    const token = this.next()
    if (token.t !== "id") throw new Invalid(`found ${describe(token)}, expected a label key`)
    checkKey(token.text)
    return token.text
  }

  /** An exact value: an identifier, or nothing (`k=` selects the empty value, as in Kubernetes). */
  private value(): string {
    if (this.atRequirementEnd()) return ""
    const token = this.next()
    if (token.t !== "id") throw new Invalid(`found ${describe(token)}, expected a label value`)
    checkValue(token.text)
    return token.text
  }

  /** `(a,b)`, as lenient as apimachinery: an empty place (`()`, `(a,)`, `(,a)`) is the value "". */
  private values(op: string): ReadonlyArray<string> {
    const open = this.next()
    if (!this.isOp(open, "(")) throw new Invalid(`found ${describe(open)}, expected '(' after '${op}'`)
    const values = new Set<string>()
    if (this.isOp(this.peek(), ")")) {
      this.next()
      return [""]
    }
    for (;;) {
      const token = this.next()
      if (token.t === "id") {
        checkValue(token.text)
        values.add(token.text)
        const after = this.peek()
        if (this.isOp(after, ")")) {
          this.next()
          return [...values]
        }
        if (!this.isOp(after, ",")) throw new Invalid(`found ${describe(after)}, expected ',' or ')'`)
      } else if (this.isOp(token, ",")) {
        if (values.size === 0) values.add("")
        const after = this.peek()
        if (this.isOp(after, ")")) {
          this.next()
          values.add("")
          return [...values]
        }
        if (this.isOp(after, ",")) {
          this.next()
          values.add("")
        }
      } else {
        throw new Invalid(`found ${describe(token)}, expected ',' or a label value`)
      }
    }
  }

  private requirement(): Requirement {
    if (this.isOp(this.peek(), "!")) {
      this.next()
      const key = this.key()
      if (!this.atRequirementEnd()) throw new Invalid(`found ${describe(this.peek())}, expected ',' or end of string`)
      return { op: "!", key }
    }
    const key = this.key()
    if (this.atRequirementEnd()) return { op: "exists", key }
    const op = this.next()
    if (op.t === "id" && (op.text === "in" || op.text === "notin")) {
      return { op: op.text, key, values: this.values(op.text) }
    }
    if (this.isOp(op, "=", "==")) return { op: "=", key, value: this.value() }
    if (this.isOp(op, "!=")) return { op: "!=", key, value: this.value() }
    if (op.t === "op" && (op.text === ">" || op.text === "<")) {
      const token = this.next()
      if (token.t !== "id" || !/^-?\d+$/.test(token.text)) {
        throw new Invalid(`for '${op.text}' the value must be an integer, found ${describe(token)}`)
      }
      return { op: op.text, key, value: Number(token.text) }
    }
    throw new Invalid(`found ${describe(op)}, expected one of '=', '==', '!=', 'in', 'notin', '>', '<'`)
  }
}

/** Pure: the selector of a `labelSelector` string; "" (or absent) selects everything. */
export const parseSelector = (input: string): ParseResult => {
  try {
    return { _tag: "Selector", selector: new Parser(tokenize(input)).selector() }
  } catch (e) {
    if (e instanceof Invalid) return { _tag: "Invalid", problem: e.message }
    throw e
  }
}

const integer = (text: string | undefined): number | undefined =>
  text !== undefined && /^-?\d+$/.test(text) ? Number(text) : undefined

const matchesOne = (r: Requirement, labels: Readonly<Record<string, string>>): boolean => {
  const has = Object.hasOwn(labels, r.key)
  const value = has ? labels[r.key] : undefined
  switch (r.op) {
    case "=":
      return has && value === r.value
    case "!=":
      return !has || value !== r.value
    case "in":
      return has && r.values.includes(value as string)
    case "notin":
      return !has || !r.values.includes(value as string)
    case "exists":
      return has
    case "!":
      return !has
    case ">": {
      const n = integer(value)
      return n !== undefined && n > r.value
    }
    case "<": {
      const n = integer(value)
      return n !== undefined && n < r.value
    }
  }
}

/** Pure: whether a label set satisfies every requirement. */
export const matches = (selector: Selector, labels: Readonly<Record<string, string>>): boolean =>
  selector.every((r) => matchesOne(r, labels))
