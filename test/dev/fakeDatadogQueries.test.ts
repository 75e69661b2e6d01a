/** The fake Datadog API's reading of `GET /api/v1/query?query=q1,q2,...`. */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { describeQuery, splitQueries } from "../../dev/fakeDatadog/queries.ts"

describe("splitQueries", () => {
  it.each([
    ["avg:a{*}", ["avg:a{*}"]],
    ["avg:a{*},sum:b{*}", ["avg:a{*}", "sum:b{*}"]],
    [
      "avg:nginx.net.request_per_s{kube_container_name:nginx,env:prod}.rollup(30),max:b{a:b}.rollup(avg, 60)",
      ["avg:nginx.net.request_per_s{kube_container_name:nginx,env:prod}.rollup(30)", "max:b{a:b}.rollup(avg, 60)"]
    ],
    ["abs(avg:a{x:1,y:2}),b{*}", ["abs(avg:a{x:1,y:2})", "b{*}"]],
    ["avg:a{*} by {host,pod},b{*}", ["avg:a{*} by {host,pod}", "b{*}"]],
    ["a{*}, b{*}", ["a{*}", "b{*}"]],
    ["a{*},,b{*}", ["a{*}", "", "b{*}"]]
  ])("%s", (input, expected) => {
    expect(splitQueries(input)).toEqual(expected)
  })

  const name = fc.stringMatching(/^[a-z][a-z0-9_.]{0,12}$/)
  const tag = fc.tuple(name, fc.stringMatching(/^[a-z0-9_./-]{1,10}$/)).map(([k, v]) => `${k}:${v}`)
  const query = fc
    .record({
      aggr: fc.constantFrom("avg", "sum", "max", "min"),
      metric: name,
      tags: fc.array(tag, { maxLength: 6 }),
      rollup: fc.option(fc.oneof(fc.integer({ min: 1, max: 3600 }).map(String), fc.constant("avg, 30"))),
      wrap: fc.boolean()
    })
    .map(({ aggr, metric, tags, rollup, wrap }) => {
      const q = `${aggr}:${metric}{${tags.length === 0 ? "*" : tags.join(",")}}${rollup === null ? "" : `.rollup(${rollup})`}`
      return wrap ? `abs(${q})` : q
    })

  it("splits queries joined by commas back exactly, whatever commas their tag lists hold", () => {
    fc.assert(
      fc.property(fc.array(query, { minLength: 1, maxLength: 40 }), (queries) => {
        expect(splitQueries(queries.join(","))).toEqual(queries)
      }),
      { numRuns: 300 }
    )
  })
})

describe("describeQuery", () => {
  it.each([
    [
      "avg:nginx.net.request_per_s{kube_container_name:nginx}.rollup(30)",
      { aggr: "avg", metric: "nginx.net.request_per_s", scope: "kube_container_name:nginx", interval: 30 }
    ],
    ["sum:a.b{x:1,y:2}.rollup(max, 60)", { aggr: "sum", metric: "a.b", scope: "x:1,y:2", interval: 60 }],
    ["system.load.1{*}", { metric: "system.load.1", scope: "*" }],
    ["not a query", { metric: "not a query", scope: "*" }]
  ])("%s", (input, expected) => {
    expect(describeQuery(input)).toEqual(expected)
  })
})
