import { describe, expect, it } from "@effect/vitest"
import fc from "fast-check"
import { matches, parseSelector, type Requirement } from "../../../src/services/externalMetricsApi/labelSelector.ts"

const parsed = (input: string): ReadonlyArray<Requirement> => {
  const result = parseSelector(input)
  if (result._tag === "Invalid") throw new Error(`${input}: ${result.problem}`)
  return result.selector
}

describe("parseSelector", () => {
  it.each<[string, ReadonlyArray<Requirement>]>([
    ["", []],
    ["   ", []],
    ["a=b", [{ op: "=", key: "a", value: "b" }]],
    ["a==b", [{ op: "=", key: "a", value: "b" }]],
    ["a!=b", [{ op: "!=", key: "a", value: "b" }]],
    ["a=", [{ op: "=", key: "a", value: "" }]],
    ["a", [{ op: "exists", key: "a" }]],
    ["!a", [{ op: "!", key: "a" }]],
    ["a in (x,y)", [{ op: "in", key: "a", values: ["x", "y"] }]],
    ["a in ( x , y )", [{ op: "in", key: "a", values: ["x", "y"] }]],
    ["a notin (x)", [{ op: "notin", key: "a", values: ["x"] }]],
    ["a in (x,)", [{ op: "in", key: "a", values: ["x", ""] }]],
    ["a in ()", [{ op: "in", key: "a", values: [""] }]],
    ["a in (x,x)", [{ op: "in", key: "a", values: ["x"] }]],
    ["a>1", [{ op: ">", key: "a", value: 1 }]],
    ["a<-2", [{ op: "<", key: "a", value: -2 }]],
    [
      "kube_container_name=nginx,env!=prod, team in (a,b),!debug,zone",
      [
        { op: "=", key: "kube_container_name", value: "nginx" },
        { op: "!=", key: "env", value: "prod" },
        { op: "in", key: "team", values: ["a", "b"] },
        { op: "!", key: "debug" },
        { op: "exists", key: "zone" }
      ]
    ],
    ["app.kubernetes.io/name=web", [{ op: "=", key: "app.kubernetes.io/name", value: "web" }]],
    ["Upper.Case_key-1=Value.With_Caps-9", [{ op: "=", key: "Upper.Case_key-1", value: "Value.With_Caps-9" }]]
  ])("%j", (input, expected) => {
    expect(parsed(input)).toEqual(expected)
  })

  it.each<[string, RegExp]>([
    ["a=b=c", /found "=", expected ',' or end of string/],
    ["a b", /found "b", expected one of/],
    [",a", /found ",", expected a label key/],
    ["a=b,", /found end of string, expected a label key/],
    ["a in x", /expected '\(' after 'in'/],
    ["a in (x", /found end of string, expected ',' or '\)'/],
    ["a in (x y)", /found "y", expected ',' or '\)'/],
    ["a notin", /found end of string, expected '\(' after 'notin'/],
    ["!a=b", /found "=", expected ',' or end of string/],
    ["a>b", /for '>' the value must be an integer/],
    ["a=(b)", /found "\(", expected a label value/],
    ["-a=b", /invalid label key "-a"/],
    ["Foo.Bar/a=b", /invalid label key "Foo.Bar\/a": the prefix must be a lower-case DNS subdomain/],
    ["/a=b", /the prefix must be/],
    ["a=-b", /invalid label value "-b"/],
    [`a=${"x".repeat(64)}`, /invalid label value/],
    [`${"k".repeat(64)}=v`, /invalid label key/],
    ["a in (x,-y)", /invalid label value "-y"/],
    ["a:b=c", /invalid label key "a:b"/]
  ])("refuses %j", (input, problem) => {
    const result = parseSelector(input)
    expect(result._tag).toBe("Invalid")
    if (result._tag === "Invalid") expect(result.problem).toMatch(problem)
  })
})

describe("matches", () => {
  const labels = { app: "web", env: "prod", replicas: "3" }
  it.each<[string, boolean]>([
    ["", true],
    ["app=web", true],
    ["app==web", true],
    ["app=db", false],
    ["app=Web", false],
    ["app!=db", true],
    ["missing!=x", true],
    ["app!=web", false],
    ["app in (db,web)", true],
    ["app in (db)", false],
    ["missing in (x)", false],
    ["app notin (db)", true],
    ["app notin (web)", false],
    ["missing notin (x)", true],
    ["app", true],
    ["missing", false],
    ["!missing", true],
    ["!app", false],
    ["replicas>2", true],
    ["replicas>3", false],
    ["replicas<4", true],
    ["app>1", false],
    ["missing<1", false],
    ["app=web,env=prod", true],
    ["app=web,env=dev", false],
    ["missing=", false]
  ])("%j on {app=web,env=prod,replicas=3} → %s", (input, expected) => {
    expect(matches(parsed(input), labels)).toBe(expected)
  })

  it("an empty value matches a label set to the empty string", () => {
    expect(matches(parsed("a="), { a: "" })).toBe(true)
    expect(matches(parsed("a in ()"), { a: "" })).toBe(true)
  })

  it("the matchLabels selector the HPA sends selects exactly the label sets that contain it", () => {
    const name = fc.stringMatching(/^[a-z]([a-z0-9_]{0,5}[a-z0-9])?$/)
    const value = fc.stringMatching(/^[A-Za-z0-9]{1,6}$/)
    fc.assert(
      fc.property(fc.dictionary(name, value), fc.dictionary(name, value), (wanted, stored) => {
        const selector = Object.entries(wanted)
          .map(([k, v]) => `${k}=${v}`)
          .join(",")
        const expected = Object.entries(wanted).every(([k, v]) => stored[k] === v)
        expect(matches(parsed(selector), stored)).toBe(expected)
        expect(matches(parsed(selector), { ...stored, ...wanted })).toBe(true)
      })
    )
  })
})
