// Structured logs: one JSON object per line on stdout, at the level of DD_LOG_LEVEL. The last lines
// are also kept in memory (a bounded ring) for the flare.
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import type * as LogLevel from "effect/LogLevel"
import * as References from "effect/References"
import { recentLogs } from "../services/flare/logRing.ts"

/** The original's level words mapped onto Effect's levels (`critical` is Fatal). */
export const logLevelOf = {
  trace: "Trace",
  debug: "Debug",
  info: "Info",
  warn: "Warn",
  error: "Error",
  critical: "Fatal",
  off: "None"
} as const satisfies Record<string, LogLevel.LogLevel>

/** Logger.consoleJson, each line also kept in `recentLogs`. */
const consoleJsonKept = Logger.withConsoleLog(
  Logger.map(Logger.formatJson, (line) => {
    recentLogs.push(line)
    return line
  })
)

export const loggingLayer = (level: keyof typeof logLevelOf) =>
  Layer.mergeAll(Logger.layer([consoleJsonKept]), Layer.succeed(References.MinimumLogLevel, logLevelOf[level]))
