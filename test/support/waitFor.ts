/** The tests' polling helper; it lives in dev/ because the demo and the scripts use it too. */
export { type WaitOptions, waitFor } from "../../dev/waitFor.ts"
