// Pure: the elector's timings, all derived from the lease duration as the original derives
// them (RenewDeadline = LeaseDuration/2, RetryPeriod = LeaseDuration/4), plus the two we add:
// how early leader work is told to stop, and how fast a failed renewal is retried.
//
// Why they are safe (kubernetes-notes.md B4): a follower takes over only after it has seen the
// record unchanged for a full lease duration on its own clock, counted from when the answer
// arrived, so from after the leader's last successful write. The leader counts its renew
// deadline from before that write started. So the leader's work has ended
// `leaseDuration - renewDeadline` (half a lease) before anyone may take over, as long as no
// clock runs more than `leaseDuration / renewDeadline` = 2 times faster than another's.

export interface Timings {
  /** How long a record stays valid after a reader saw it change (written to the record, in seconds). */
  readonly leaseDuration: number
  /** Leadership ends when no renewal started within this long succeeded. */
  readonly renewDeadline: number
  /** Between acquire attempts (jittered) and between successful renewals. */
  readonly retryPeriod: number
  /** Acquire attempts wait retryPeriod × (1 + random × jitterFactor), as client-go's. */
  readonly jitterFactor: number
  /** Leader work is interrupted this long before the renew deadline, so it has finished by then. */
  readonly stopGrace: number
  /** After a failed renewal, the next try comes this soon (several tries fit before the stop). */
  readonly renewRetry: number
  /** One attempt (up to a PUT, a GET and a PUT) is abandoned after this long. */
  readonly attemptTimeout: number
}

export const jitterFactor = 1.2

/**
 * Milliseconds, from the lease duration in milliseconds (whole seconds, at least 1: the record
 * stores seconds). With the default 60 s: deadline 30 s, retry 15 s, grace and renew retry 3.75 s.
 * A duration the record cannot carry is a bug in the caller (Config validates it).
 */
export const timingsFor = (leaseDurationMillis: number): Timings => {
  if (!Number.isSafeInteger(leaseDurationMillis / 1000) || leaseDurationMillis < 1000) {
    throw new RangeError(`leader lease duration must be whole seconds, at least 1 s: got ${leaseDurationMillis} ms`)
  }
  const retryPeriod = leaseDurationMillis / 4
  return {
    leaseDuration: leaseDurationMillis,
    renewDeadline: leaseDurationMillis / 2,
    retryPeriod,
    jitterFactor,
    stopGrace: retryPeriod / 4,
    renewRetry: retryPeriod / 4,
    attemptTimeout: retryPeriod / 2
  }
}

/** The wait before the next acquire attempt, for `random` in [0, 1). */
export const acquireDelay = (timings: Timings, random: number): number =>
  timings.retryPeriod * (1 + random * timings.jitterFactor)
