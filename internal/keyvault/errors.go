package keyvault

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Key Vault error codes used by the data plane.
const (
	CodeBadParameter       = "BadParameter"
	CodeUnauthorized       = "Unauthorized"
	CodeForbidden          = "Forbidden"
	CodeKeyNotFound        = "KeyNotFound"
	CodeNotFound           = "NotFound"
	CodeConflict           = "Conflict"
	CodeMethodNotAllowed   = "MethodNotAllowed"
	CodeServiceUnavailable = "ServiceUnavailable"
	CodeInternal           = "InternalServerError"
)

// Inner error codes.
const (
	InnerAccessDenied                  = "AccessDenied"
	InnerForbiddenByPolicy             = "ForbiddenByPolicy"
	InnerKeyDisabled                   = "KeyDisabled"
	InnerKeyExpired                    = "KeyExpired"
	InnerKeyNotYetValid                = "KeyNotYetValid"
	InnerObjectIsDeletedButRecoverable = "ObjectIsDeletedButRecoverable"
)

// apiError is a Key Vault error answer. Messages never contain key
// material or tokens.
type apiError struct {
	Status  int
	Code    string
	Message string
	Inner   string
	// RetryAfter, when positive, is sent as Retry-After (seconds).
	RetryAfter time.Duration
	// Challenge, when set, is sent as WWW-Authenticate.
	Challenge string
}

// Error implements error.
func (e *apiError) Error() string { return e.Code + ": " + e.Message }

// errorBody is the JSON shape of a Key Vault error.
type errorBody struct {
	Error struct {
		Code       string `json:"code"`
		Message    string `json:"message"`
		InnerError *struct {
			Code string `json:"code"`
		} `json:"innererror,omitempty"`
	} `json:"error"`
}

// write sends the error.
func (e *apiError) write(w http.ResponseWriter) {
	var b errorBody
	b.Error.Code, b.Error.Message = e.Code, e.Message
	if e.Inner != "" {
		b.Error.InnerError = &struct {
			Code string `json:"code"`
		}{e.Inner}
	}
	if e.Challenge != "" {
		w.Header().Set("WWW-Authenticate", e.Challenge)
	}
	if e.RetryAfter > 0 {
		secs := int64((e.RetryAfter + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
	}
	writeJSON(w, e.Status, b)
}

// writeJSON sends v as JSON with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		body = []byte(`{"error":{"code":"InternalServerError","message":"An internal error occurred."}}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func badParameter(format string, args ...any) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: CodeBadParameter, Message: fmt.Sprintf(format, args...)}
}

func forbidden(inner, format string, args ...any) *apiError {
	return &apiError{Status: http.StatusForbidden, Code: CodeForbidden, Message: fmt.Sprintf(format, args...), Inner: inner}
}

func conflict(inner, format string, args ...any) *apiError {
	return &apiError{Status: http.StatusConflict, Code: CodeConflict, Message: fmt.Sprintf(format, args...), Inner: inner}
}

// keyNotFound is Key Vault's 404 for a key (id is "name" or
// "name/version").
func keyNotFound(id string) *apiError {
	return &apiError{Status: http.StatusNotFound, Code: CodeKeyNotFound, Message: "A key with (name/id) " + id +
		" was not found in this key vault. If you recently deleted this key you may be able to recover it using the correct recovery command. " +
		"For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182"}
}

// deletedKeyNotFound is Key Vault's 404 for a deleted key.
func deletedKeyNotFound(name string) *apiError {
	return &apiError{Status: http.StatusNotFound, Code: CodeKeyNotFound, Message: "Deleted Key not found: " + name}
}

// deletedButRecoverable is Key Vault's 409 for a name held by a deleted key.
func deletedButRecoverable(name string) *apiError {
	return conflict(InnerObjectIsDeletedButRecoverable, "Key %s is currently in a deleted but recoverable state, "+
		"and its name cannot be reused; in this state, the key can only be recovered or purged.", name)
}

// errInternal is the answer to a failure of the server itself.
var errInternal = &apiError{Status: http.StatusInternalServerError, Code: CodeInternal,
	Message: "An internal error occurred. Retry the request; if the problem persists, contact the server's operator."}

// errBackendUnavailable is the answer when the backend holding a key is
// not configured on this server (e.g. the PKCS#11 module was removed).
var errBackendUnavailable = &apiError{Status: http.StatusServiceUnavailable, Code: CodeServiceUnavailable,
	Message: "The key's backend is not available on this server; the operator must configure it."}
