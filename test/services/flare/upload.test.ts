// The flare upload (contract §8.3) against the fake Datadog API: where it goes, the HEAD then the
// chunked multipart POST with DD-API-KEY, the fields in the original's order, the case ID, the
// email; the original's wording for success, a refused key (403), a JSON error and a 5xx; retries.
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { Effect, Result } from "effect"
import { afterAll, describe, expect, it } from "vitest"
import {
  addAgentVersionToDomain,
  analyzeResponse,
  flareUrl,
  infraEndpoint,
  multipartBody,
  type UploadOptions,
  uploadFlare
} from "../../../src/services/flare/upload.ts"
import { API_KEY, useFakeDatadog } from "../../layers/datadog/support.ts"

const v = { Major: 7, Minor: 72, Patch: 0 }

describe("where the flare goes", () => {
  it.each([
    ["https://app.datadoghq.com", "https://7-72-0-flare.agent.datadoghq.com"],
    ["https://app.datadoghq.eu", "https://7-72-0-flare.agent.datadoghq.eu"],
    ["https://app.us3.datadoghq.com", "https://7-72-0-flare.agent.us3.datadoghq.com"],
    ["https://app.ddog-gov.com", "https://7-72-0-flare.agent.ddog-gov.com"],
    ["https://app.mrf.datadoghq.com", "https://7-72-0-flare.agent.mrf.datadoghq.com"],
    ["https://app.datad0g.com/", "https://7-72-0-flare.agent.datad0g.com/"],
    // Not a Datadog app domain: a relay, a proxy, the fake.
    ["https://api.datadoghq.com", "https://api.datadoghq.com"],
    ["https://relay.example.com", "https://relay.example.com"],
    ["http://127.0.0.1:8080", "http://127.0.0.1:8080"]
  ])("%s → %s", (url, expected) => {
    expect(addAgentVersionToDomain(url, v)).toBe(expected)
  })

  it("is DD_DD_URL, else app.<site>; the case id is a path segment", () => {
    expect(infraEndpoint(undefined, "datadoghq.eu")).toBe("https://app.datadoghq.eu")
    expect(infraEndpoint("https://relay.example.com", "datadoghq.eu")).toBe("https://relay.example.com")
    expect(flareUrl("https://x/", "")).toBe("https://x/support/flare")
    expect(flareUrl("https://x", "12345")).toBe("https://x/support/flare/12345")
  })
})

describe("the multipart body", () => {
  it("is what Go's multipart writer sends, fields in the original's order", async () => {
    const body = multipartBody(
      "b0undary",
      { caseId: "42", email: "me@example.com", source: "local", agentVersion: "7.72.0", hostname: "node-1" },
      "datadog-agent-x.zip",
      Buffer.from("ZIP")
    )
    expect(body.toString()).toBe(
      [
        "--b0undary",
        'Content-Disposition: form-data; name="case_id"',
        "",
        "42",
        "--b0undary",
        'Content-Disposition: form-data; name="email"',
        "",
        "me@example.com",
        "--b0undary",
        'Content-Disposition: form-data; name="source"',
        "",
        "local",
        "--b0undary",
        'Content-Disposition: form-data; name="flare_file"; filename="datadog-agent-x.zip"',
        "Content-Type: application/octet-stream",
        "",
        "ZIP",
        "--b0undary",
        'Content-Disposition: form-data; name="agent_version"',
        "",
        "7.72.0",
        "--b0undary",
        'Content-Disposition: form-data; name="hostname"',
        "",
        "node-1",
        "--b0undary--",
        ""
      ].join("\r\n")
    )
    // And a standard parser reads it.
    const form = await new Request("http://x/", {
      method: "POST",
      headers: { "content-type": "multipart/form-data; boundary=b0undary" },
      body: new Uint8Array(body)
    }).formData()
    expect([...form.keys()]).toEqual(["case_id", "email", "source", "flare_file", "agent_version", "hostname"])
  })

  it("leaves out an empty case id and email", () => {
    const body = multipartBody(
      "b",
      { caseId: "", email: "", source: "local", agentVersion: "7", hostname: "h" },
      "f.zip",
      Buffer.from("")
    ).toString()
    expect(body).not.toContain("case_id")
    expect(body).not.toContain("email")
  })
})

describe("what the answer means (analyzeResponse)", () => {
  const json = { "content-type": "application/json" }
  it.each([
    [
      { status: 200, statusLine: "200 OK", headers: json, body: '{"case_id":123}' },
      { response: "Your logs were successfully uploaded. For future reference, your internal case id is 123" }
    ],
    [
      { status: 403, statusLine: "403 Forbidden", headers: json, body: "" },
      { response: "", error: "HTTP 403 Forbidden: Make sure your API key is valid. API Key ending with: bcdef" }
    ],
    [
      { status: 200, statusLine: "200 OK", headers: json, body: '{"error":"bad archive","request_uuid":"u-1"}' },
      {
        response:
          "An error occurred while uploading the flare: bad archive. Please contact support by email and facilitate the request uuid: `u-1`.",
        error: "bad archive"
      }
    ],
    [
      { status: 200, statusLine: "200 OK", headers: { "content-type": "text/html" }, body: "<html>" },
      {
        response: "Error: could not deserialize response body -- Please contact support by email.",
        error: "Server returned a 200 but with an unknown content-type text/html\nServer returned:\n<html>"
      }
    ],
    [
      { status: 404, statusLine: "404 Not Found", headers: json, body: "nope" },
      {
        response: "Error: could not deserialize response body -- Please contact support by email.",
        error: "HTTP 404 404 Not Found\nServer returned:\nnope"
      }
    ]
  ])("%#", (answer, expected) => {
    expect(analyzeResponse(answer, API_KEY)).toEqual(expected)
  })

  it("a 403 without a key says the key is missing", () => {
    expect(analyzeResponse({ status: 403, statusLine: "403 Forbidden", headers: {}, body: "" }, "")).toEqual({
      response: "",
      error: "HTTP 403 Forbidden: API key is missing"
    })
  })
})

describe("against the fake Datadog API", () => {
  const fake = useFakeDatadog()
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "dca-flare-upload-"))
  afterAll(() => Fs.rmSync(dir, { recursive: true, force: true }))
  const archive = Path.join(dir, "datadog-agent-2024-05-01T12-34-56Z-info.zip")
  Fs.writeFileSync(archive, Buffer.from("PK\u0003\u0004 not really a zip"))

  const options = (overrides: Partial<UploadOptions> = {}): UploadOptions => ({
    archivePath: archive,
    caseId: "",
    email: "",
    apiKey: API_KEY,
    endpoint: fake.url,
    hostname: "node-1.example.com",
    version: v,
    agentVersion: "7.72.0",
    userAgent: "datadog-cluster-agent/7.72.0",
    proxy: { noProxy: [], nonExactMatch: false },
    retryDelay: 0,
    ...overrides
  })
  const upload = (overrides: Partial<UploadOptions> = {}) =>
    Effect.runPromise(Effect.result(uploadFlare(options(overrides))))

  it("HEADs then POSTs the archive with DD-API-KEY, the case id in the path and the fields", async () => {
    const result = await upload({ caseId: "4242", email: "me@example.com" })
    expect(result).toEqual(
      Result.succeed("Your logs were successfully uploaded. For future reference, your internal case id is 4242")
    )
    const requests = fake.requests({ path: "/support/flare/4242" })
    expect(requests.map((r) => r.method)).toEqual(["HEAD", "POST"])
    for (const r of requests) expect(r.headers["dd-api-key"]).toBe(API_KEY)
    const post = requests[1]
    expect(post?.headers["content-type"]).toMatch(/^multipart\/form-data; boundary=[0-9a-f]{60}$/)
    expect(post?.headers["transfer-encoding"]).toBe("chunked")
    expect(post?.query).toEqual({})
    const [flare] = fake.flares()
    expect(flare?.pathCaseId).toBe("4242")
    expect(flare?.fields).toEqual({
      case_id: "4242",
      email: "me@example.com",
      source: "local",
      agent_version: "7.72.0",
      hostname: "node-1.example.com"
    })
    expect(flare?.file?.filename).toBe(Path.basename(archive))
    expect(flare?.file?.bytes.equals(Fs.readFileSync(archive))).toBe(true)
  })

  it("without a case id, posts to /support/flare and reports the case Datadog opened", async () => {
    const result = await upload()
    expect(Result.isSuccess(result)).toBe(true)
    const [flare] = fake.flares()
    expect(fake.requests().map((r) => `${r.method} ${r.path}`)).toEqual(["HEAD /support/flare", "POST /support/flare"])
    expect(flare?.fields).toEqual({ source: "local", agent_version: "7.72.0", hostname: "node-1.example.com" })
    expect(result).toEqual(
      Result.succeed(
        `Your logs were successfully uploaded. For future reference, your internal case id is ${flare?.caseId}`
      )
    )
  })

  it("a refused key gives the original's 403 message, naming the key by its last five characters", async () => {
    fake.setAcceptedApiKeys(["ffffffffffffffffffffffffffffffff"])
    const result = await upload()
    expect(Result.isFailure(result) && result.failure.detail).toBe(
      "HTTP 403 Forbidden: Make sure your API key is valid. API Key ending with: bcdef"
    )
    expect(fake.flares()).toEqual([])
  })

  it("so does a 403 on the POST only", async () => {
    fake.inject({ kind: "status", status: 403 }, { method: "POST" })
    const result = await upload()
    expect(Result.isFailure(result) && result.failure.detail).toBe(
      "HTTP 403 Forbidden: Make sure your API key is valid. API Key ending with: bcdef"
    )
  })

  it("tries a 5xx again, three attempts in all", async () => {
    fake.inject({ kind: "status", status: 503 }, { method: "POST", times: 2 })
    expect(Result.isSuccess(await upload())).toBe(true)
    expect(fake.requests({ method: "POST" }).length).toBe(3)

    fake.clearRequests()
    fake.inject({ kind: "status", status: 500 }, { method: "POST" })
    const failed = await upload()
    expect(fake.requests({ method: "POST" }).length).toBe(3)
    expect(Result.isFailure(failed) && failed.failure.detail).toMatch(
      /^failed to send flare after 3 attempts: HTTP 500 Internal Server Error\nServer returned:\n/
    )
  })

  it("an error in the answer is the original's message", async () => {
    fake.inject(
      { kind: "status", status: 200, body: { error: "archive too large", request_uuid: "r-9" } },
      { method: "POST" }
    )
    const result = await upload()
    expect(Result.isFailure(result) && [result.failure.response, result.failure.detail]).toEqual([
      "An error occurred while uploading the flare: archive too large. Please contact support by email and facilitate the request uuid: `r-9`.",
      "archive too large"
    ])
  })

  it("a backend it cannot reach is said so", async () => {
    const result = await upload({ endpoint: "http://127.0.0.1:9" })
    expect(Result.isFailure(result) && result.failure.detail).toMatch(/connection refused/)
  })
})
