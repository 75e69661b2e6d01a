// Structured logs: one JSON object per line on stdout, at the level of DD_LOG_LEVEL.
import { Layer, Logger, type LogLevel, References } from "effect"

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
