package arm

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
)

// Error is a Resource Manager error: an HTTP status and the body
// {"error":{"code","message","target","details"}}.
type Error struct {
	Status  int      `json:"-"`
	Code    string   `json:"code"`
	Message string   `json:"message"`
	Target  string   `json:"target,omitempty"`
	Details []*Error `json:"details,omitempty"`
}

// Error implements error.
func (e *Error) Error() string {
	return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message)
}

// Errorf returns an *Error with a formatted message.
func Errorf(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Common errors.
var (
	// ErrMissingAPIVersion is returned when a request has no api-version.
	ErrMissingAPIVersion = &Error{Status: http.StatusBadRequest, Code: "MissingApiVersionParameter",
		Message: "The api-version query parameter (?api-version=) is required for all requests."}
)

// BadRequest returns a 400 error with the given code.
func BadRequest(code, format string, args ...any) *Error {
	return Errorf(http.StatusBadRequest, code, format, args...)
}

// NotFound returns the 404 ResourceNotFound error for a resource.
func NotFound(resourceType, name string) *Error {
	return Errorf(http.StatusNotFound, "ResourceNotFound",
		"The Resource '%s/%s' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix", resourceType, name)
}

// Conflict returns a 409 error with the given code.
func Conflict(code, format string, args ...any) *Error {
	return Errorf(http.StatusConflict, code, format, args...)
}

// AsError reports whether err is (or wraps) an *Error and returns it.
func AsError(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	return nil, false
}

// WriteError writes err in the ARM envelope. Errors that are not *Error are
// internal: the client sees a 500 InternalServerError that names the
// correlation id only, never the error text.
func WriteError(w http.ResponseWriter, err error, correlationID string) {
	e, ok := AsError(err)
	if !ok {
		e = Errorf(http.StatusInternalServerError, "InternalServerError",
			"The server encountered an internal error. Correlation id: %s.", correlationID)
	}
	if e.Status == http.StatusUnauthorized && w.Header().Get("WWW-Authenticate") == "" {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	}
	WriteJSON(w, e.Status, struct {
		Error *Error `json:"error"`
	}{e})
}

// WriteJSON writes v as a JSON response with the given status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":{"code":"InternalServerError","message":"response encoding failed"}}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// DeleteStatus is the status of a synchronous DELETE: 204 No Content when
// the resource did not exist (gone), else 200 OK.
func DeleteStatus(gone bool) int {
	if gone {
		return http.StatusNoContent
	}
	return http.StatusOK
}
