// Structured logs: one JSON object per line on stdout, at the level of DD_LOG_LEVEL.
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import type * as LogLevel from "effect/LogLevel"
import * as References from "effect/References"

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

export const loggingLayer = (level: keyof typeof logLevelOf) =>
  Layer.mergeAll(Logger.layer([Logger.consoleJson]), Layer.succeed(References.MinimumLogLevel, logLevelOf[level]))
