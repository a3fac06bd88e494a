package kql

import "fmt"

// Type is a KQL scalar type.
type Type uint8

// The scalar types. Their names, as the Query API reports them in column
// metadata, are given by Type.String.
const (
	TypeInvalid  Type = iota // no type; the zero value
	TypeBool                 // bool
	TypeDatetime             // datetime, held as ticks (100 ns) since the Unix epoch, UTC
	TypeDynamic              // dynamic, held as JSON text; only carried through
	TypeGUID                 // guid, held as its canonical string
	TypeInt                  // int (32-bit in Kusto), held as int64
	TypeLong                 // long
	TypeReal                 // real (float64)
	TypeString               // string
	TypeTimespan             // timespan, held as ticks (100 ns)
)

var typeNames = [...]string{
	TypeInvalid:  "invalid",
	TypeBool:     "bool",
	TypeDatetime: "datetime",
	TypeDynamic:  "dynamic",
	TypeGUID:     "guid",
	TypeInt:      "int",
	TypeLong:     "long",
	TypeReal:     "real",
	TypeString:   "string",
	TypeTimespan: "timespan",
}

// String returns the Query API name of the type ("long", "datetime", ...).
func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return fmt.Sprintf("Type(%d)", uint8(t))
}

// ParseType returns the type with the given Query API name. It also accepts
// the Kusto aliases "boolean", "date", "double", "int64", "int32",
// "uniqueid" and "time".
func ParseType(name string) (Type, bool) {
	switch name {
	case "bool", "boolean":
		return TypeBool, true
	case "datetime", "date":
		return TypeDatetime, true
	case "dynamic":
		return TypeDynamic, true
	case "guid", "uniqueid":
		return TypeGUID, true
	case "int", "int32":
		return TypeInt, true
	case "long", "int64":
		return TypeLong, true
	case "real", "double":
		return TypeReal, true
	case "string":
		return TypeString, true
	case "timespan", "time":
		return TypeTimespan, true
	}
	return TypeInvalid, false
}

// storage is the physical representation of a type inside a Vector.
type storage uint8

const (
	storeNone storage = iota
	storeInt
	storeReal
	storeStr
	storeBool
)

func (t Type) storage() storage {
	switch t {
	case TypeInt, TypeLong, TypeDatetime, TypeTimespan:
		return storeInt
	case TypeReal:
		return storeReal
	case TypeString, TypeGUID, TypeDynamic:
		return storeStr
	case TypeBool:
		return storeBool
	}
	return storeNone
}

func (t Type) isNumeric() bool { return t == TypeInt || t == TypeLong || t == TypeReal }

func (t Type) isStringy() bool { return t == TypeString || t == TypeGUID }
