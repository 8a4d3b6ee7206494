// Package sketches holds the mergeable, bounded-memory summaries behind every
// non-counter metric: quantiles (DDSketch), heavy hitters (Space-Saving),
// distinct counts (HyperLogLog), per-second rates, fixed-bound histograms and
// the deterministic hash they share.
//
// Every sketch has the same shape: a validating constructor, Add /
// AddWithCount, Merge, a query (Quantile, Top, Estimate, Cumulative) and a
// Reset that keeps its memory so a window's buckets can be recycled. The Add
// paths allocate nothing once warm; tests prove it with testing.AllocsPerRun.
//
// None of the types are safe for concurrent use: each is owned by one handler
// goroutine, and windows are merged after the owner hands them over.
package sketches
