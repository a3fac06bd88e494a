package kql

import (
	"strconv"
	"strings"
)

// Tables of other workspaces: workspace("id").Table names a table of
// another workspace (by the reference the Query API resolves: its customer
// id, name or resource id). The language does not resolve the reference:
// the table's name, as the Catalog and the Source receive it, is
// QualifiedTable(ref, table), and a Catalog that serves several
// workspaces splits it with SplitQualified. A Catalog that serves one
// workspace answers such a name with ErrTableNotFound, as for any table it
// lacks.

// QualifiedTable returns the name under which the Catalog and the Source
// receive the table of the workspace ref: workspace("ref").table.
func QualifiedTable(ref, table string) string {
	return "workspace(" + strconv.Quote(ref) + ")." + table
}

// SplitQualified splits a name made by QualifiedTable into the workspace
// reference and the table; ok is false for other names.
func SplitQualified(name string) (ref, table string, ok bool) {
	rest, ok := strings.CutPrefix(name, "workspace(")
	if !ok {
		return "", "", false
	}
	i := strings.Index(rest, ").")
	for i >= 0 {
		if r, err := strconv.Unquote(rest[:i]); err == nil {
			return r, rest[i+2:], rest[i+2:] != ""
		}
		j := strings.Index(rest[i+1:], ").")
		if j < 0 {
			break
		}
		i += 1 + j
	}
	return "", "", false
}

// workspaceTable reads the ".Table" after workspace("ref").
func (p *parser) workspaceTable(cs *CallSource) (string, error) {
	p.advance() // .
	if len(cs.Args) != 1 {
		return "", syntaxErr(cs.At, "workspace() expects one string argument")
	}
	lit, ok := cs.Args[0].(*Literal)
	if !ok || lit.Type != TypeString {
		return "", syntaxErr(cs.At, "workspace() expects a string literal")
	}
	t := p.peek()
	var name string
	switch {
	case t.kind == tokIdent:
		p.advance()
		name = t.text
	case t.kind == tokPunct && t.text == "[":
		n, err := p.bracketName()
		if err != nil {
			return "", err
		}
		name = n
	default:
		return "", syntaxErr(t.pos, "expected a table name after workspace(...). but found %s", describe(t))
	}
	return QualifiedTable(lit.Value.(string), name), nil
}
