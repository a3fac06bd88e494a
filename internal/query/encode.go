package query

import (
	"bufio"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
)

// writeResponse streams a successful response: rows are encoded one at a
// time into a small buffer, so a result of tens of megabytes is never held
// twice (once as values, once as JSON). The partial error, if any, follows
// the tables, as Azure places it.
func writeResponse(w http.ResponseWriter, res *response) error {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	if len(res.applied) > 0 {
		w.Header().Set("Preference-Applied", strings.Join(res.applied, ","))
	}
	w.WriteHeader(http.StatusOK)
	return encodeResponse(w, res)
}

// encodeResponse writes the JSON body of a successful response to w.
func encodeResponse(w io.Writer, res *response) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	buf := make([]byte, 0, 4<<10)
	buf = append(buf, `{"tables":[`...)
	for ti, t := range res.Tables {
		if ti > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, `{"name":`...)
		buf = appendString(buf, t.Name)
		buf = append(buf, `,"columns":`...)
		cols, err := json.Marshal(t.Columns)
		if err != nil {
			return err
		}
		buf = append(buf, cols...)
		buf = append(buf, `,"rows":[`...)
		for ri, row := range t.Rows {
			if ri > 0 {
				buf = append(buf, ',')
			}
			buf = append(buf, '[')
			for ci, v := range row {
				if ci > 0 {
					buf = append(buf, ',')
				}
				if buf, err = appendValue(buf, v); err != nil {
					return err
				}
			}
			buf = append(buf, ']')
			if len(buf) >= 32<<10 {
				if _, err := bw.Write(buf); err != nil {
					return err
				}
				buf = buf[:0]
			}
		}
		buf = append(buf, "]}"...)
	}
	buf = append(buf, ']')
	if res.Statistics != nil {
		buf = append(buf, `,"statistics":`...)
		buf = append(buf, res.Statistics...)
	}
	if res.Render != nil {
		buf = append(buf, `,"render":`...)
		buf = append(buf, res.Render...)
	}
	if res.Error != nil {
		e, err := json.Marshal(res.Error)
		if err != nil {
			return err
		}
		buf = append(buf, `,"error":`...)
		buf = append(buf, e...)
	}
	buf = append(buf, "}\n"...)
	if _, err := bw.Write(buf); err != nil {
		return err
	}
	return bw.Flush()
}

// appendValue appends the JSON of a result value: nil, bool, int64,
// float64 or string (what kql.Result holds), anything else through
// encoding/json.
func appendValue(dst []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(dst, "null"...), nil
	case bool:
		return strconv.AppendBool(dst, x), nil
	case int64:
		return strconv.AppendInt(dst, x, 10), nil
	case int:
		return strconv.AppendInt(dst, int64(x), 10), nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return append(dst, "null"...), nil
		}
		b, err := json.Marshal(x)
		return append(dst, b...), err
	case string:
		return appendString(dst, x), nil
	}
	b, err := json.Marshal(v)
	return append(dst, b...), err
}

// appendString appends s as a JSON string, escaped as encoding/json
// escapes it (HTML-safe, invalid UTF-8 replaced).
func appendString(dst []byte, s string) []byte {
	simple := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' || c >= 0x80 {
			simple = false
			break
		}
	}
	if simple {
		dst = append(dst, '"')
		dst = append(dst, s...)
		return append(dst, '"')
	}
	b, _ := json.Marshal(s)
	return append(dst, b...)
}
