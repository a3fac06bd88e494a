package kql

// extend and project whose expressions read columns defined earlier in the
// same operator (extend b = a + 1, c = b * 2), as Kusto allows: the
// operator is compiled as a chain of extends, each of columns that do not
// read one another, and, for project, a projection of the results.

// chainStage runs stages one after the other as one operator.
type chainStage struct{ stages []stage }

func (s *chainStage) output(in []column) []column {
	for _, st := range s.stages {
		in = st.output(in)
	}
	return in
}

func (s *chainStage) need(in []column, out []bool) []bool {
	schemas := make([][]column, len(s.stages))
	for i, st := range s.stages {
		schemas[i] = in
		in = st.output(in)
	}
	for i := len(s.stages) - 1; i >= 0; i-- {
		out = s.stages[i].need(schemas[i], out)
	}
	return out
}

func (s *chainStage) operator(next operator) operator {
	for i := len(s.stages) - 1; i >= 0; i-- {
		next = s.stages[i].operator(next)
	}
	return next
}

// projectChained compiles an extend or project of columns that read
// earlier ones of the same operator; ok is false when none does.
func (c *compiler) projectChained(cols []NamedExpr, extend bool) (st stage, ok bool, err error) {
	defined := map[string]bool{}
	var groups [][]NamedExpr
	var cur []NamedExpr
	for _, col := range cols {
		if readsAny(col.Expr, defined) {
			groups = append(groups, cur)
			cur, defined = nil, map[string]bool{}
		}
		cur = append(cur, col)
		if col.Name != "" {
			defined[col.Name] = true
		}
	}
	if len(groups) == 0 {
		return nil, false, nil
	}
	groups = append(groups, cur)
	in := c.scope
	defer func() { c.scope, c.index = in, nil }()
	chain := &chainStage{}
	for _, g := range groups {
		s, err := c.projectPlain(g, true)
		if err != nil {
			return nil, true, err
		}
		chain.stages = append(chain.stages, s)
		c.scope, c.index = s.output(c.scope), nil
	}
	if !extend {
		// The projection keeps the operator's columns, named as it names
		// them, in its order.
		var keep []NamedExpr
		auto := 0
		for _, col := range cols {
			name := col.Name
			if name == "" {
				name = autoName(col.Expr, &auto)
			}
			keep = append(keep, NamedExpr{Expr: &Ident{At: col.Expr.Pos(), Name: name}})
		}
		s, err := c.projectPlain(keep, false)
		if err != nil {
			return nil, true, err
		}
		chain.stages = append(chain.stages, s)
	}
	return chain, true, nil
}

// readsAny reports whether e reads a column named in names.
func readsAny(e Expr, names map[string]bool) bool {
	if len(names) == 0 {
		return false
	}
	stack := []Expr{e}
	for len(stack) > 0 {
		x := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		switch x := x.(type) {
		case *Ident:
			if names[x.Name] {
				return true
			}
		case *BinaryExpr:
			stack = append(stack, x.Left, x.Right)
		case *UnaryExpr:
			stack = append(stack, x.X)
		case *CallExpr:
			stack = append(stack, x.Args...)
		case *InExpr:
			stack = append(stack, x.X)
			stack = append(stack, x.List...)
		case *BetweenExpr:
			stack = append(stack, x.X, x.Lo, x.Hi)
		case *IndexExpr:
			stack = append(stack, x.X, x.Key)
		case *ListOpExpr:
			stack = append(stack, x.X)
			stack = append(stack, x.List...)
		}
	}
	return false
}
