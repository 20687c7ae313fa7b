// Package stack runs the project's local servers as child processes on
// loopback: Postgres with pgvector (PGlite behind pglite-socket, from
// devstack/), Redis (redis-server) and S3 (versitygw built from a pinned
// module version; docs/STORAGE.md). No container engine is needed; Go,
// Node/npm and apt are. A dev stack starts the app once Postgres and Redis
// answer; the S3 server comes up beside it.
//
// A dev stack uses fixed ports and keeps its data in .stack/data; a test
// stack takes free ports, keeps its data in a temporary folder and exports
// STACK_TMP and CONQUEST_TEST_STACK=1, so any number of test stacks and one
// dev stack can run side by side. Before its servers a test stack builds the
// word-vector and WordNet tables once into .stack/wordvecs (EnsureWordVecs)
// and exports WORDVEC_TABLE and WORDNET_TABLE unless set. A server whose URL is already in the
// environment (DATABASE_URL, REDIS_URL, S3_ENDPOINT) is not started.
//
// Children run in their own process groups with Pdeathsig set, and the stack
// process is a child subreaper, so neither a crashed stack nor a leaky test
// leaves processes behind.
package devstack
