package kql

// union as an operator: T | union U, V is union T, U, V.

// UnionOp appends the rows of other tables to the input (| union ...).
type UnionOp struct {
	At    Position
	Union *UnionSource
}

// Pos returns the position of the UnionOp.
func (o *UnionOp) Pos() Position { return o.At }

func (*UnionOp) operatorNode() {}
