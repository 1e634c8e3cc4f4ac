// Package openapi holds the API reference: the OpenAPI 3.1 document of every
// public route, written by hand in openapi.json and embedded in the binary. The
// server serves it at GET /v1/openapi.json and renders the readable reference at
// GET /docs/api from it; the end-to-end tests check every answer against it.
package openapi

import _ "embed"

// Document is the OpenAPI 3.1 document, as JSON.
//
//go:embed openapi.json
var Document []byte
