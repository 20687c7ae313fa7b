// Package web is Bright Dawn's browser client: plain ES modules and
// hand-written CSS, no build step, embedded into the conquest binary and
// served by the API at / (see api/web.go).
package web

import "embed"

// Files holds index.html and everything under static/.
//
//go:embed index.html static
var Files embed.FS
