package testkit

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"

	"github.com/codeofconquest/brightdawn/api/openapi"
)

// The black-box tests check every response they receive against the
// OpenAPI document (api/openapi/openapi.yaml) with pb33f's
// libopenapi-validator (OpenAPI 3.1, JSON Schema 2020-12): status, the
// documented headers and the body. Client.Do does it for every call;
// CheckResponse is for tests that speak HTTP on their own.

var (
	specOnce  sync.Once
	specValid validator.Validator
	specErr   error
)

func specValidator() (validator.Validator, error) {
	specOnce.Do(func() {
		doc, err := libopenapi.NewDocument(openapi.YAML)
		if err != nil {
			specErr = fmt.Errorf("openapi.yaml: %w", err)
			return
		}
		v, errs := validator.NewValidator(doc)
		if len(errs) > 0 {
			specErr = fmt.Errorf("openapi.yaml: %v", errs)
			return
		}
		specValid = v
	})
	return specValid, specErr
}

// CheckResponse fails t when resp (whose body is body) does not match the
// OpenAPI document's description of req's operation. Answers of the
// router's fallbacks (404 no such route, 405) to paths or methods the
// document does not have are fine: they are not operations.
func CheckResponse(t testing.TB, req *http.Request, resp *http.Response, body []byte) {
	t.Helper()
	problems, err := responseProblems(req, resp, body)
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) > 0 {
		t.Errorf("%s %s → %d does not match api/openapi/openapi.yaml:\n  %s\n  body: %.500s",
			req.Method, req.URL.Path, resp.StatusCode, strings.Join(problems, "\n  "), body)
	}
}

// notInTheDocument is the one mount the document leaves out on purpose
// (api/openapi_test.go, undocumented): asynqmon's own dashboard and JSON API.
const notInTheDocument = "/ops/queues"

// responseProblems lists how resp differs from the document.
func responseProblems(req *http.Request, resp *http.Response, body []byte) ([]string, error) {
	if req.URL.Path == notInTheDocument || strings.HasPrefix(req.URL.Path, notInTheDocument+"/") {
		return nil, nil
	}
	v, err := specValidator()
	if err != nil {
		return nil, err
	}
	clone := *resp
	clone.Body = io.NopCloser(bytes.NewReader(body))
	ok, errs := v.ValidateHttpResponse(req, &clone)
	if ok {
		return nil, nil
	}
	var problems []string
	for _, e := range errs {
		if (e.IsPathMissingError() || e.IsOperationMissingError()) &&
			(resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusMethodNotAllowed) {
			continue
		}
		p := e.Message
		if e.Reason != "" {
			p += ": " + e.Reason
		}
		for _, se := range e.SchemaValidationErrors {
			p += fmt.Sprintf("\n    at %s: %s", se.FieldPath, se.Reason)
		}
		problems = append(problems, p)
	}
	return problems, nil
}
