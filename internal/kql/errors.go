package kql

import (
	"errors"
	"fmt"
)

// Error kinds reported in Error.Kind. The Query API reports both as HTTP 400
// BadArgumentError with the kind as the inner error code.
const (
	KindSyntax   = "SyntaxError"
	KindSemantic = "SemanticError"
)

// Error is a query error attributable to the query text: a syntax error
// found by Parse or a semantic error found by Compile.
type Error struct {
	Kind    string // KindSyntax or KindSemantic
	Message string // human-readable, without the position
	Line    int    // 1-based line of the offending token
	Pos     int    // 0-based column (in characters) within Line
}

// Error formats the error with its kind and position.
func (e *Error) Error() string {
	return fmt.Sprintf("%s: %s (line %d, pos %d)", e.Kind, e.Message, e.Line, e.Pos)
}

// ErrTableNotFound is returned (possibly wrapped) by Catalog.Table when the
// table does not exist; Compile turns it into a SemanticError.
var ErrTableNotFound = errors.New("kql: table not found")

func syntaxErr(p Position, format string, args ...any) *Error {
	return &Error{Kind: KindSyntax, Message: fmt.Sprintf(format, args...), Line: p.Line, Pos: p.Col}
}

func semanticErr(p Position, format string, args ...any) *Error {
	return &Error{Kind: KindSemantic, Message: fmt.Sprintf(format, args...), Line: p.Line, Pos: p.Col}
}
