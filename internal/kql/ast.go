package kql

// Query is a parsed KQL query: a tabular source followed by a pipeline of
// operators, after the let statements that name values for it. A
// parenthesised subquery is also a Query (without lets).
type Query struct {
	Lets      []*LetStmt // let statements, in order (let.go)
	Source    *TableRef
	Input     Tabular // when not nil, the source is this instead of a table (sources.go)
	Operators []Operator
}

// TableRef names the table a query reads.
type TableRef struct {
	Name string
	At   Position
}

// Operator is a tabular operator of the pipeline (after a '|').
type Operator interface {
	// Pos returns the position of the operator's keyword.
	Pos() Position
	operatorNode()
}

// WhereOp keeps the rows for which Predicate is true ("where", "filter").
type WhereOp struct {
	At        Position
	Predicate Expr
}

// TakeOp keeps at most Count rows ("take", "limit").
type TakeOp struct {
	At    Position
	Count Expr
}

// CountOp replaces the input by one row holding its row count.
type CountOp struct {
	At Position
}

// ProjectOp selects, renames and computes columns.
type ProjectOp struct {
	At      Position
	Columns []NamedExpr
}

// ExtendOp adds computed columns (replacing any of the same name).
type ExtendOp struct {
	At      Position
	Columns []NamedExpr
}

// SortOp orders rows ("sort by", "order by").
type SortOp struct {
	At   Position
	Keys []SortKey
}

// TopOp keeps the first Count rows in the order of Keys.
type TopOp struct {
	At    Position
	Count Expr
	Keys  []SortKey
}

// SummarizeOp groups rows by By and computes Aggregates per group.
type SummarizeOp struct {
	At         Position
	Aggregates []NamedExpr
	By         []NamedExpr
}

// Pos returns the position of the WhereOp.
func (o *WhereOp) Pos() Position { return o.At }

// Pos returns the position of the TakeOp.
func (o *TakeOp) Pos() Position { return o.At }

// Pos returns the position of the CountOp.
func (o *CountOp) Pos() Position { return o.At }

// Pos returns the position of the ProjectOp.
func (o *ProjectOp) Pos() Position { return o.At }

// Pos returns the position of the ExtendOp.
func (o *ExtendOp) Pos() Position { return o.At }

// Pos returns the position of the SortOp.
func (o *SortOp) Pos() Position { return o.At }

// Pos returns the position of the TopOp.
func (o *TopOp) Pos() Position { return o.At }

// Pos returns the position of the SummarizeOp.
func (o *SummarizeOp) Pos() Position { return o.At }

func (*WhereOp) operatorNode()     {}
func (*TakeOp) operatorNode()      {}
func (*CountOp) operatorNode()     {}
func (*ProjectOp) operatorNode()   {}
func (*ExtendOp) operatorNode()    {}
func (*SortOp) operatorNode()      {}
func (*TopOp) operatorNode()       {}
func (*SummarizeOp) operatorNode() {}

// NamedExpr is an expression with an optional output name ("Name = Expr").
type NamedExpr struct {
	Name string // empty when not given
	Expr Expr
	// Names are the names of (a, b, ...) = f(...), which assigns the
	// columns of a function of several results (funcs_series.go).
	Names []string
}

// SortKey is one key of a sort or top.
type SortKey struct {
	Expr Expr
	// Asc is true for ascending order; Kusto's default is descending.
	Asc bool
	// NullsFirst orders nulls before other values. Kusto's default is
	// nulls first for ascending order, nulls last for descending.
	NullsFirst bool
}

// Expr is a scalar expression.
type Expr interface {
	// Pos returns the position of the expression's first token.
	Pos() Position
	exprNode()
}

// Ident refers to a column.
type Ident struct {
	At   Position
	Name string
}

// Literal is a constant. Value is nil for a typed null such as long(null),
// else an int64 (int, long, datetime as ticks since the Unix epoch,
// timespan as ticks; a tick is 100 ns), float64, string (string, guid) or
// bool.
type Literal struct {
	At    Position
	Type  Type
	Value any
}

// BinaryExpr applies a binary operator: arithmetic (+ - * / %),
// comparison (== != < <= > >= =~ !~), logical (and or) or a string operator
// (has, !has, contains, !contains, startswith, !startswith, endswith,
// !endswith and their _cs variants).
type BinaryExpr struct {
	At    Position // position of the operator
	Op    string
	Left  Expr
	Right Expr
}

// UnaryExpr applies unary minus or plus.
type UnaryExpr struct {
	At Position
	Op string
	X  Expr
}

// CallExpr calls a scalar or aggregate function.
type CallExpr struct {
	At   Position
	Name string
	Args []Expr
}

// InExpr tests membership in a list: X in (...), X !in (...), X in~ (...).
type InExpr struct {
	At              Position // position of the operator
	X               Expr
	List            []Expr
	Negated         bool
	CaseInsensitive bool
}

// BetweenExpr tests Lo <= X <= Hi: X between (Lo .. Hi), or !between.
type BetweenExpr struct {
	At      Position // position of the operator
	X       Expr
	Lo, Hi  Expr
	Negated bool
}

// Pos returns the position of the Ident.
func (e *Ident) Pos() Position { return e.At }

// Pos returns the position of the Literal.
func (e *Literal) Pos() Position { return e.At }

// Pos returns the position of the BinaryExpr: that of its leftmost
// operand.
func (e *BinaryExpr) Pos() Position {
	// Chains such as a or b or c nest to the left, as deep as they are
	// long; walk them without recursion.
	var x Expr = e
	for {
		switch y := x.(type) {
		case *BinaryExpr:
			x = y.Left
		case *InExpr:
			x = y.X
		case *BetweenExpr:
			x = y.X
		default:
			return x.Pos()
		}
	}
}

// Pos returns the position of the UnaryExpr.
func (e *UnaryExpr) Pos() Position { return e.At }

// Pos returns the position of the CallExpr.
func (e *CallExpr) Pos() Position { return e.At }

// Pos returns the position of the InExpr.
func (e *InExpr) Pos() Position { return e.X.Pos() }

// Pos returns the position of the BetweenExpr.
func (e *BetweenExpr) Pos() Position { return e.X.Pos() }

func (*Ident) exprNode()       {}
func (*Literal) exprNode()     {}
func (*BinaryExpr) exprNode()  {}
func (*UnaryExpr) exprNode()   {}
func (*CallExpr) exprNode()    {}
func (*InExpr) exprNode()      {}
func (*BetweenExpr) exprNode() {}
