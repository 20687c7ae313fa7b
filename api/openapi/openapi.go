// Package openapi holds the OpenAPI 3.1 document of Bright Dawn's HTTP API
// (openapi.yaml): served by the API at GET /api/openapi.json, checked
// against the router's routes by api's tests, and used by the black-box
// tests (devstack/testkit) to validate every response they receive.
// docs/API.md says how to add a route to it.
package openapi

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"sync"

	"go.yaml.in/yaml/v3"
)

// YAML is the document as written.
//
//go:embed openapi.yaml
var YAML []byte

var (
	jsonOnce sync.Once
	jsonDoc  []byte
	jsonErr  error
)

// JSON returns the document as JSON, converted once.
func JSON() ([]byte, error) {
	jsonOnce.Do(func() {
		var doc any
		if jsonErr = yaml.Unmarshal(YAML, &doc); jsonErr != nil {
			jsonErr = fmt.Errorf("openapi.yaml: %w", jsonErr)
			return
		}
		jsonDoc, jsonErr = json.Marshal(doc)
	})
	return jsonDoc, jsonErr
}
