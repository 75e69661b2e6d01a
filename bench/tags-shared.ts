// Shared by the command-port benchmark's driver and servers.
export const benchToken = "BenchmarkClusterTokenBenchmarkClusterToken"
export const benchNode = "node-0042"
