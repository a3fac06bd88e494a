package kql

import "strings"

// project-away, project-keep, project-reorder, project-rename and distinct.

// ProjectAwayOp removes the columns matching Patterns (project-away).
type ProjectAwayOp struct {
	At       Position
	Patterns []string // column names, * matching any run of characters
}

// ProjectKeepOp keeps only the columns matching Patterns, in input order
// (project-keep).
type ProjectKeepOp struct {
	At       Position
	Patterns []string
}

// ProjectReorderOp moves the columns matching Patterns to the front, in
// pattern order (project-reorder).
type ProjectReorderOp struct {
	At       Position
	Patterns []string
}

// ProjectRenameOp renames columns: new = old (project-rename).
type ProjectRenameOp struct {
	At      Position
	Columns []NamedExpr
}

// DistinctOp keeps one row per distinct combination of Columns
// (distinct); a nil Columns is distinct *.
type DistinctOp struct {
	At      Position
	Columns []NamedExpr
}

// Pos returns the position of the ProjectAwayOp.
func (o *ProjectAwayOp) Pos() Position { return o.At }

// Pos returns the position of the ProjectKeepOp.
func (o *ProjectKeepOp) Pos() Position { return o.At }

// Pos returns the position of the ProjectReorderOp.
func (o *ProjectReorderOp) Pos() Position { return o.At }

// Pos returns the position of the ProjectRenameOp.
func (o *ProjectRenameOp) Pos() Position { return o.At }

// Pos returns the position of the DistinctOp.
func (o *DistinctOp) Pos() Position { return o.At }

func (*ProjectAwayOp) operatorNode()    {}
func (*ProjectKeepOp) operatorNode()    {}
func (*ProjectReorderOp) operatorNode() {}
func (*ProjectRenameOp) operatorNode()  {}
func (*DistinctOp) operatorNode()       {}

// columnPattern reads a column name, ['name'] or a wildcard pattern such
// as Col*, *_s or *.
func (p *parser) columnPattern() (string, error) {
	t := p.peek()
	var b strings.Builder
	end := t.pos.Offset
	for {
		tk := p.peek()
		if b.Len() > 0 && tk.pos.Offset != end {
			break
		}
		switch {
		case tk.kind == tokIdent:
			b.WriteString(tk.text)
			end = tk.pos.Offset + len(tk.text)
			p.advance()
			continue
		case tk.kind == tokPunct && tk.text == "*":
			b.WriteString("*")
			end = tk.pos.Offset + 1
			p.advance()
			continue
		case tk.kind == tokPunct && tk.text == "[" && b.Len() == 0:
			name, err := p.bracketName()
			if err != nil {
				return "", err
			}
			return name, nil
		}
		break
	}
	if b.Len() == 0 {
		return "", syntaxErr(t.pos, "expected a column name but found %s", describe(t))
	}
	return b.String(), nil
}

func (p *parser) projectPatterns(t token, name string) (Operator, error) {
	var pats []string
	for {
		pat, err := p.columnPattern()
		if err != nil {
			return nil, err
		}
		pats = append(pats, pat)
		if name == "project-reorder" && (p.isKeyword("asc") || p.isKeyword("desc") || p.isKeyword("granny-asc") || p.isKeyword("granny-desc")) {
			p.advance()
		}
		if !p.isPunct(",") {
			break
		}
		p.advance()
	}
	switch name {
	case "project-away":
		return &ProjectAwayOp{At: t.pos, Patterns: pats}, nil
	case "project-keep":
		return &ProjectKeepOp{At: t.pos, Patterns: pats}, nil
	}
	return &ProjectReorderOp{At: t.pos, Patterns: pats}, nil
}

func (p *parser) distinct(t token) (Operator, error) {
	p.skipOptions()
	if p.isPunct("*") {
		p.advance()
		return &DistinctOp{At: t.pos}, nil
	}
	cols, err := p.namedExprs(false)
	if err != nil {
		return nil, err
	}
	return &DistinctOp{At: t.pos, Columns: cols}, nil
}

// matchColumn reports whether name matches a pattern in which * stands
// for any run of characters. It backtracks only to the last star, so it
// runs in time proportional to len(pattern)*len(name).
func matchColumn(pattern, name string) bool {
	if strings.IndexByte(pattern, '*') < 0 {
		return pattern == name
	}
	pi, ni := 0, 0
	starP, starN := -1, 0
	for ni < len(name) {
		switch {
		case pi < len(pattern) && pattern[pi] == '*':
			starP, starN = pi, ni
			pi++
		case pi < len(pattern) && pattern[pi] == name[ni]:
			pi++
			ni++
		case starP >= 0:
			starN++
			pi, ni = starP+1, starN
		default:
			return false
		}
	}
	for pi < len(pattern) && pattern[pi] == '*' {
		pi++
	}
	return pi == len(pattern)
}
