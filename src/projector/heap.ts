import { setFlagsFromString } from "node:v8";

/**
 * The projector's heap policy, set once per process that runs the project role (and by the
 * projector benchmark, so it measures what runs).
 *
 * Nearly all the projector's JavaScript garbage is kafkajs's message objects of batches in
 * flight: they outlive a young-generation collection and die in the old generation. V8 lets the
 * old generation grow to up to 4x what survived the last full collection before collecting
 * again; with 22-57 MB live that let heapUsed peak at 234-266 MB in benchmark rounds (target
 * < 256 MB). A growth factor of at most 3x kept the peaks at 154-172 MB for the same machine
 * CPU per row (118.7 vs 121.7 us, README: Projector). 1.5x halved throughput: full collections
 * then run too often. It is a heuristic, not a cap: a larger live set still fits.
 */
export function setProjectorHeapPolicy(): void {
  setFlagsFromString("--heap-growing-percent=200");
}
