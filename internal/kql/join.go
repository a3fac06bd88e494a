package kql

import "strconv"

// join and lookup.

// JoinOp joins the input (left) with Right on On (join, lookup).
type JoinOp struct {
	At     Position
	Lookup bool   // lookup rather than join
	Kind   string // innerunique, inner, leftouter, ...; "" for the default
	Right  *Query
	On     []Expr // key names, or $left.x == $right.y conditions
}

// Pos returns the position of the JoinOp.
func (o *JoinOp) Pos() Position { return o.At }

func (*JoinOp) operatorNode() {}

func (p *parser) join(t token, name string) (Operator, error) {
	op := &JoinOp{At: t.pos, Lookup: name == "lookup"}
	for _, o := range p.options() {
		if o.Name == "kind" {
			op.Kind = o.Value.text
		}
	}
	rt := p.peek()
	switch {
	case rt.kind == tokPunct && rt.text == "(":
		p.advance()
		q, err := p.tabular()
		if err != nil {
			return nil, err
		}
		if _, err := p.expectPunct(")"); err != nil {
			return nil, err
		}
		op.Right = q
	default:
		q, err := p.tabularSource()
		if err != nil {
			return nil, err
		}
		op.Right = q
	}
	for _, o := range p.options() {
		if o.Name == "kind" {
			op.Kind = o.Value.text
		}
	}
	if err := p.expectKeyword("on"); err != nil {
		return nil, err
	}
	for {
		e, err := p.expr()
		if err != nil {
			return nil, err
		}
		op.On = append(op.On, e)
		if !p.isPunct(",") {
			break
		}
		p.advance()
	}
	return op, nil
}

// joinKinds are the kinds of join; lookup takes leftouter and inner.
var joinKinds = map[string]bool{
	"innerunique": true, "inner": true, "leftouter": true, "rightouter": true, "fullouter": true,
	"leftanti": true, "rightanti": true, "leftsemi": true, "rightsemi": true,
	"leftantisemi": true, "rightantisemi": true, "anti": true,
}

// joinStage joins its input with the rows of a plan, by equality of keys.
type joinStage struct {
	kind           string
	right          *Plan
	lslots, rslots []int // key columns, pairwise
	out            []column
	leftOut        []int // the output slot of each left column, or -1
	rightOut       []int // the output slot of each right column, or -1
}

func (s *joinStage) output(in []column) []column { return s.out }

func (s *joinStage) need(in []column, out []bool) []bool {
	n := make([]bool, len(in))
	for i, o := range s.leftOut {
		if o >= 0 && out[o] {
			n[i] = true
		}
	}
	for _, k := range s.lslots {
		n[k] = true
	}
	return n
}

func (s *joinStage) subPlans() []*Plan { return []*Plan{s.right} }

func (c *compiler) join(op *JoinOp) (stage, error) {
	kind := op.Kind
	switch {
	case kind == "" && op.Lookup:
		kind = "leftouter"
	case kind == "":
		kind = "innerunique"
	case !joinKinds[kind] || op.Lookup && kind != "leftouter" && kind != "inner":
		return nil, semanticErr(op.At, "unknown join kind '%s'", kind)
	}
	switch kind {
	case "anti", "leftantisemi":
		kind = "leftanti"
	case "rightantisemi":
		kind = "rightanti"
	}
	right, err := c.env.plan(op.Right)
	if err != nil {
		return nil, err
	}
	s := &joinStage{kind: kind, right: right}
	rlookup := func(name string) int {
		for i, col := range right.output {
			if col.name == name {
				return i
			}
		}
		return -1
	}
	side := func(e Expr) (string, string, bool) {
		ix, ok := e.(*IndexExpr)
		if !ok {
			return "", "", false
		}
		id, ok1 := ix.X.(*Ident)
		key, ok2 := ix.Key.(*Literal)
		if !ok1 || !ok2 || (id.Name != "$left" && id.Name != "$right") {
			return "", "", false
		}
		name, _ := key.Value.(string)
		return id.Name, name, true
	}
	addKey := func(at Position, l, r string) error {
		ls, rs := c.lookup(l), rlookup(r)
		if ls < 0 {
			return semanticErr(at, "join: the left side has no column '%s'", l)
		}
		if rs < 0 {
			return semanticErr(at, "join: the right side has no column '%s'", r)
		}
		lt, rt := c.scope[ls].t, right.output[rs].t
		if lt.storage() != rt.storage() || lt.isNumeric() != rt.isNumeric() {
			return semanticErr(at, "join: the keys '%s' (%s) and '%s' (%s) are of different types", l, lt, r, rt)
		}
		c.refs[ls] = true
		s.lslots = append(s.lslots, ls)
		s.rslots = append(s.rslots, rs)
		return nil
	}
	var conds []Expr
	var split func(e Expr)
	split = func(e Expr) {
		if b, ok := e.(*BinaryExpr); ok && b.Op == "and" {
			split(b.Left)
			split(b.Right)
			return
		}
		conds = append(conds, e)
	}
	for _, e := range op.On {
		split(e)
	}
	for _, e := range conds {
		switch e := e.(type) {
		case *Ident:
			if err := addKey(e.At, e.Name, e.Name); err != nil {
				return nil, err
			}
		case *BinaryExpr:
			ls, ln, ok1 := side(e.Left)
			rs, rn, ok2 := side(e.Right)
			if e.Op != "==" || !ok1 || !ok2 || ls == rs {
				return nil, semanticErr(e.Pos(), "join: expected $left.column == $right.column")
			}
			if ls == "$right" {
				ln, rn = rn, ln
			}
			if err := addKey(e.At, ln, rn); err != nil {
				return nil, err
			}
		default:
			return nil, semanticErr(e.Pos(), "join: expected a column name or $left.column == $right.column")
		}
	}
	taken := map[string]bool{}
	add := func(name string, t Type) int {
		n := name
		for i := 1; taken[n]; i++ {
			n = name + strconv.Itoa(i)
		}
		taken[n] = true
		s.out = append(s.out, column{n, t})
		return len(s.out) - 1
	}
	s.leftOut = make([]int, len(c.scope))
	s.rightOut = make([]int, len(right.output))
	for i := range s.leftOut {
		s.leftOut[i] = -1
	}
	for i := range s.rightOut {
		s.rightOut[i] = -1
	}
	leftCols := kind != "rightsemi" && kind != "rightanti"
	rightCols := kind != "leftsemi" && kind != "leftanti"
	if leftCols {
		for i, col := range c.scope {
			s.leftOut[i] = add(col.name, col.t)
		}
	}
	if rightCols {
		isKey := map[int]bool{}
		if op.Lookup {
			for k, rs := range s.rslots {
				if right.output[rs].name == c.scope[s.lslots[k]].name {
					isKey[rs] = true
				}
			}
		}
		for i, col := range right.output {
			if !isKey[i] {
				s.rightOut[i] = add(col.name, col.t)
			}
		}
	}
	return s, nil
}

// joinOp is the runtime of a join: a hash table of the right side's rows
// by key, probed by each left row.
type joinOp struct {
	s        *joinStage
	next     operator
	right    *table
	ht       map[string][]int32
	matched  []bool          // right rows matched (right/full outer, semi, anti)
	seenLeft map[string]bool // innerunique: left keys already joined
	buf      []byte
}

func (s *joinStage) operator(next operator) operator { return &joinOp{s: s, next: next} }

func (o *joinOp) build(a *arena) error {
	if o.ht != nil {
		return nil
	}
	if a.env == nil {
		return errUnsupported(Position{Line: 1}, "join outside a run")
	}
	t, err := a.env.materialized(o.s.right)
	if err != nil {
		return err
	}
	o.right = t
	o.ht = map[string][]int32{}
	o.matched = make([]bool, t.n)
	o.seenLeft = map[string]bool{}
	keys := make([]*Vector, len(o.s.rslots))
	for k, rs := range o.s.rslots {
		keys[k] = t.cols[rs]
	}
	for i := 0; i < t.n; i++ {
		key, ok := joinKey(o.buf[:0], keys, i)
		if !ok {
			continue
		}
		o.buf = key
		o.ht[string(key)] = append(o.ht[string(key)], int32(i))
	}
	return nil
}

// joinKey encodes the key of row i; ok is false when a key is null.
func joinKey(dst []byte, keys []*Vector, i int) ([]byte, bool) {
	for _, v := range keys {
		if v.IsNull(i) {
			return dst, false
		}
	}
	return encodeKey(dst, keys, i), true
}

func (o *joinOp) push(a *arena, c *chunk) (bool, error) {
	if err := o.build(a); err != nil {
		return false, err
	}
	keys := make([]*Vector, len(o.s.lslots))
	for k, ls := range o.s.lslots {
		keys[k] = c.cols[ls]
	}
	var lidx, ridx []int32
	kind := o.s.kind
	for _, i := range selection(a, c) {
		key, ok := joinKey(o.buf[:0], keys, int(i))
		o.buf = key
		var rows []int32
		if ok {
			rows = o.ht[string(key)]
		}
		switch kind {
		case "innerunique":
			if len(rows) == 0 || o.seenLeft[string(key)] {
				continue
			}
			o.seenLeft[string(key)] = true
			fallthrough
		case "inner", "rightouter", "fullouter":
			for _, r := range rows {
				lidx, ridx = append(lidx, i), append(ridx, r)
				o.matched[r] = true
			}
			if kind == "fullouter" && len(rows) == 0 {
				lidx, ridx = append(lidx, i), append(ridx, -1)
			}
		case "leftouter":
			if len(rows) == 0 {
				lidx, ridx = append(lidx, i), append(ridx, -1)
			}
			for _, r := range rows {
				lidx, ridx = append(lidx, i), append(ridx, r)
			}
		case "leftsemi", "leftanti":
			if (len(rows) > 0) == (kind == "leftsemi") {
				lidx, ridx = append(lidx, i), append(ridx, -1)
			}
		case "rightsemi", "rightanti":
			for _, r := range rows {
				o.matched[r] = true
			}
		}
	}
	if len(lidx) == 0 {
		return true, nil
	}
	return o.next.push(a, o.emit(a, c, lidx, ridx))
}

// emit builds the output rows pairing left rows lidx (-1: none) of c with
// right rows ridx (-1: none).
func (o *joinOp) emit(a *arena, c *chunk, lidx, ridx []int32) *chunk {
	n := len(lidx)
	cols := make([]*Vector, len(o.s.out))
	gather := func(src *Vector, t Type, idx []int32) *Vector {
		v := a.vec(t, n)
		for k, i := range idx {
			s := nullScalar
			if i >= 0 && src != nil {
				s = scalarAt(src, int(i))
			}
			setScalar(a, v, n, k, s)
		}
		return v
	}
	for i, slot := range o.s.leftOut {
		if slot >= 0 {
			var src *Vector
			if c != nil {
				src = c.cols[i]
			}
			cols[slot] = gather(src, o.s.out[slot].t, lidx)
		}
	}
	for i, slot := range o.s.rightOut {
		if slot >= 0 {
			cols[slot] = gather(o.right.cols[i], o.s.out[slot].t, ridx)
		}
	}
	return &chunk{n: n, cols: cols}
}

func (o *joinOp) finish(a *arena) error {
	if err := o.build(a); err != nil {
		return err
	}
	var ridx []int32
	switch o.s.kind {
	case "rightouter", "fullouter", "rightanti":
		for r, m := range o.matched {
			if !m {
				ridx = append(ridx, int32(r))
			}
		}
	case "rightsemi":
		for r, m := range o.matched {
			if m {
				ridx = append(ridx, int32(r))
			}
		}
	}
	if len(ridx) > 0 {
		lidx := make([]int32, len(ridx))
		for i := range lidx {
			lidx[i] = -1
		}
		if _, err := o.next.push(a, o.emit(a, nil, lidx, ridx)); err != nil {
			return err
		}
	}
	return o.next.finish(a)
}
