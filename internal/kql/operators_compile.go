package kql

// Compilation of the operators of operators.go and the family files.

func (c *compiler) operatorMore(op Operator) (stage, error) {
	switch op := op.(type) {
	case *RenderOp:
		return &renderStage{op: op}, nil
	case *AsOp:
		return &passStage{}, nil
	case *SerializeOp:
		if len(op.Columns) == 0 {
			return &passStage{}, nil
		}
		return c.project(op.Columns, true)
	case *SampleOp:
		n, err := c.count(op.Count, "sample")
		if err != nil {
			return nil, err
		}
		return &takeStage{n: n}, nil
	case *DistinctOp:
		by := op.Columns
		if by == nil {
			for _, col := range c.scope {
				by = append(by, NamedExpr{Expr: &Ident{At: op.At, Name: col.name}})
			}
		}
		return c.summarize(&SummarizeOp{At: op.At, By: by})
	case *ProjectAwayOp, *ProjectKeepOp, *ProjectReorderOp, *ProjectRenameOp:
		return c.projectVariant(op)
	case *JoinOp:
		return c.join(op)
	case *UnionOp:
		return c.unionOp(op)
	case *MvExpandOp:
		return c.mvExpand(op)
	case *ParseOp:
		return c.parse(op)
	case *MvApplyOp:
		return c.mvApply(op)
	case *MakeSeriesOp:
		return c.makeSeries(op)
	case *EvaluateOp:
		if op.Name == "pivot" || op.Name == "bag_unpack" {
			return nil, semanticErr(op.At, "evaluate %s() is supported in the query's outermost pipeline only", op.Name)
		}
		return nil, errUnsupported(op.At, "evaluate "+op.Name+"()")
	case *TopNestedOp:
		return c.topNested(op)
	case *GetSchemaOp:
		return c.getSchema(op)
	}
	return nil, semanticErr(op.Pos(), "unsupported operator %T", op)
}

// passStage passes rows through unchanged.
type passStage struct{}

func (s *passStage) output(in []column) []column           { return in }
func (s *passStage) need(in []column, out []bool) []bool   { return out }
func (s *passStage) operator(next operator) operator       { return next }
func (s *renderStage) output(in []column) []column         { return in }
func (s *renderStage) need(in []column, out []bool) []bool { return out }
func (s *renderStage) operator(next operator) operator     { return next }

// renderStage records a render operator; rows pass through.
type renderStage struct{ op *RenderOp }

// Render returns the visualization the query asks for with render, or
// nil. Its Properties must not be modified.
func (p *Plan) Render() *RenderOp {
	var r *RenderOp
	for _, st := range p.stages {
		if rs, ok := st.(*renderStage); ok {
			r = rs.op
		}
	}
	if p.late != nil {
		if lr := p.late.render(); lr != nil {
			return lr
		}
	}
	if r == nil {
		if ps, ok := p.gen.(*planSource); ok {
			return ps.p.Render()
		}
	}
	return r
}

// projectVariant compiles project-away, project-keep, project-reorder and
// project-rename as a projection of columns.
func (c *compiler) projectVariant(op Operator) (stage, error) {
	var cols []NamedExpr
	ident := func(at Position, name string) NamedExpr {
		return NamedExpr{Expr: &Ident{At: at, Name: name}}
	}
	matches := func(pats []string, at Position) ([]bool, error) {
		m := make([]bool, len(c.scope))
		for _, pat := range pats {
			found := false
			for i, col := range c.scope {
				if matchColumn(pat, col.name) {
					m[i], found = true, true
				}
			}
			if !found && !containsStar(pat) {
				return nil, semanticErr(at, "Failed to resolve column named '%s'", pat)
			}
		}
		return m, nil
	}
	switch op := op.(type) {
	case *ProjectAwayOp:
		m, err := matches(op.Patterns, op.At)
		if err != nil {
			return nil, err
		}
		for i, col := range c.scope {
			if !m[i] {
				cols = append(cols, ident(op.At, col.name))
			}
		}
	case *ProjectKeepOp:
		m, err := matches(op.Patterns, op.At)
		if err != nil {
			return nil, err
		}
		for i, col := range c.scope {
			if m[i] {
				cols = append(cols, ident(op.At, col.name))
			}
		}
	case *ProjectReorderOp:
		used := make([]bool, len(c.scope))
		for _, pat := range op.Patterns {
			found := false
			for i, col := range c.scope {
				if !used[i] && matchColumn(pat, col.name) {
					used[i], found = true, true
					cols = append(cols, ident(op.At, col.name))
				}
			}
			if !found && !containsStar(pat) {
				return nil, semanticErr(op.At, "Failed to resolve column named '%s'", pat)
			}
		}
		for i, col := range c.scope {
			if !used[i] {
				cols = append(cols, ident(op.At, col.name))
			}
		}
	case *ProjectRenameOp:
		rename := map[string]string{}
		for _, ne := range op.Columns {
			id, ok := ne.Expr.(*Ident)
			if !ok || ne.Name == "" {
				return nil, semanticErr(ne.Expr.Pos(), "project-rename expects new = old column names")
			}
			if c.lookup(id.Name) < 0 {
				return nil, semanticErr(id.At, "Failed to resolve column named '%s'", id.Name)
			}
			rename[id.Name] = ne.Name
		}
		for _, col := range c.scope {
			ne := ident(op.Pos(), col.name)
			if n, ok := rename[col.name]; ok {
				ne.Name = n
			}
			cols = append(cols, ne)
		}
	}
	return c.project(cols, false)
}

func containsStar(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '*' {
			return true
		}
	}
	return false
}
